"""Fit a graphical model to noisy marginal measurements (Private-PGM style, numpy only).

**The seam.** An :class:`Estimator` (a Protocol, as Private-PGM's ``mbi`` estimators) turns
measurements over a domain into a :class:`~privsynth.model.GraphicalModel`; the synthesizers call
one through :func:`estimate`. Its parts live in their own modules: the objective (measurements
merged per clique, loss and gradient) in :mod:`privsynth.model.objective`, the marginal oracle
(belief propagation) in :mod:`privsynth.model.calibration`, the record count in
:mod:`privsynth.model.measurements`.

**The hybrid estimator** (:class:`HybridEstimator`) minimises the convex objective
``L(mu) = sum_r ||mu_r - y_r||^2 / sigma_r^2`` over the model's clique marginals ``mu`` with two
kinds of step on the log-potentials ``theta``, each followed by calibration (which keeps ``mu`` a
consistent set of marginals of one distribution) and accepted only under an Armijo test (the
loss falls by at least half the decrease the gradient predicts), so the loss never increases:

- :class:`ScaledStep`, tried first: a diagonal Newton step in log-marginal coordinates,
  ``(feasible_r - mu_r) / mu_r`` per measured cell (clipped to ``±2``; exact in one step for a lone
  clique, IPF-like), at step ``beta`` (starts at ``1/#groups``, the GIS-safe damping; grows 1.5x
  after a first-try success) halved up to 3 times. When it fails it *backs off*: mirror descent
  takes the next ``2, 4, ... 64`` iterations;
- :class:`MirrorStep`, the fallback: entropic mirror descent ``theta <- theta - alpha dL/dmu``, at
  ``alpha`` adapted by backtracking (halve on failure, grow 1.5x on a clean success) but never
  below the safe ``1/(2 N W)`` (``N`` the total, ``W`` the summed weights: the objective's
  smoothness constant on the simplex in the l1 norm), where it is always accepted.

**The stopping rule** (:class:`StopRule`), besides ``iters`` and the caller's callback: converged
when five mirror-descent steps in a row each gain less than ``tol`` (relative), or when the loss
sits at its noise level (above half the number of measured cells) and the last five steps gained
less than ``tol * 1e4 * sqrt(cells)`` each, or by the **gap rule** below; a stalled scaled step
hands over to mirror descent (only mirror descent's fixed point is the optimum).

*The gap rule* (``gap_stop=True``; off by default: measured below) stops a fit whose remaining
error is far inside the noise. ``L`` is a quadratic in the measured marginals ``A mu`` with Hessian ``2W``
(``W = 1/sigma^2``) and the model's marginals form a convex set, so at the optimum ``mu*``,
``L(mu) - L(mu*) >= ||A(mu - mu*)||_W^2`` for every ``mu``: a loss gap ``G`` puts the fitted
measured marginals within ``sqrt(G)`` noise units of the optimum's. The optimum's own error is
about ``p`` such units, ``p`` the degrees of freedom the fit used, estimated as in least squares
by ``n - L`` (``n`` the measured values: ``E[L*] = n - p``). After ``k >= 50`` accepted steps the
gap is estimated as ``k`` times the mean gain per step over the last ``k/4`` steps (a ``1/k``
rate leaves ``C/k`` to gain and this estimates ``4C/3k``: conservative); the fit stops when that
is below ``0.05 (n - L)`` and the loss it heads to, ``L - G``, is at least ``0.1 n`` (evidently
noisy: noiseless fits, whose optimum is 0, never stop by it). The extra error is then at most
5% of the optimum's in squared noise units (about 2.5% in norm) on the measured marginals;
the bound says nothing of the marginals no measurement covers. Measured (docs/model.md): it
halves AIM's final fit at 2M rows (1,000 -> 511 steps, 18 CPU s) and leaves AIM at epsilon 1
unchanged, but made AIM on adult_pgm at epsilon 10 worse in both seeds tried (mean 2-way TVD
0.01875 -> 0.01888, 0.01898 -> 0.01938), so the synthesizers do not use it. ``model.fit_info`` records loss, iterations,
both step sizes (a warm start resumes from them), fallbacks, calibrations and convergence.

*Coordinates.* The steps move the potentials in the measured groups' own coordinates
(:class:`~privsynth.model.potentials.Potentials`: the starting potentials plus one group-shaped
array per measured group, broadcast into its host), and each trial point is calibrated by
:func:`~privsynth.model.calibration.calibrate_potentials`, which builds a large clique's
``exp(theta + messages)`` as a product of small factors instead of one host-sized ``exp``. The
same arithmetic up to rounding (the replayed 2M fits' losses agree to 1e-13 relative after 300
steps), 2.1x less CPU on AIM's fits at 2M rows (docs/model.md).

Estimation is post-processing of the noisy measurements: it never reads data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from privsynth.domain import Domain
from privsynth.model.calibration import calibrate_potentials
from privsynth.model.factor import Factor, one_blas_thread
from privsynth.model.graphical_model import GraphicalModel
from privsynth.model.junction_tree import JunctionTree
from privsynth.model.measurements import Measurement, estimate_total
from privsynth.model.objective import (
    MarginalPlan,
    MeasuredGroup,
    group_measurements,
    loss_and_gradients,
    plan_marginals,
    warm_theta,
)
from privsynth.model.potentials import PotentialLayout, Potentials

__all__ = [
    "Estimator",
    "FitState",
    "HybridEstimator",
    "Measurement",
    "MirrorStep",
    "MomentumStep",
    "Objective",
    "ScaledStep",
    "StopRule",
    "descent",
    "estimate",
    "estimate_total",
]

Clique = tuple[str, ...]
Direction = list[np.ndarray]  # one array per measured group (the objective's order)
_CLIP = 2.0  # max |log-space change| per cell in one scaled step
_SCALED_TRIES = 4  # scaled-step trials (step, /2, /4, /8) before falling back to mirror descent
_NOISE_TOL = 1e4  # noisy fits stop when 5 steps gain < tol * _NOISE_TOL * sqrt(measured cells) each
_WINDOW = 5  # steps looked back on by both stop rules
_MAX_BACKOFF = 64
_GAP_MIN = 50  # the gap rule needs this many accepted steps (the rate is read off the last 1/4)
_GAP_SHARE = 0.05  # stop when the estimated loss still to gain is below this share of the noise
_GAP_FLOOR = 0.1  # ... and the loss it heads to is at least this many units per measured value


@runtime_checkable
class Estimator(Protocol):
    """Turns noisy measurements over ``domain`` into a fitted model (post-processing only)."""

    def estimate(
        self,
        domain: Domain,
        measurements: Sequence[Measurement],
        *,
        total: float | None = None,
        cliques: Iterable[Clique] = (),
        warm_start: GraphicalModel | None = None,
    ) -> GraphicalModel: ...


@dataclass(frozen=True)
class FitState:
    """A point of the descent: potentials, their calibrated marginals and the loss there."""

    theta: Potentials
    mu: dict[Clique, np.ndarray]
    log_z: float
    loss: float
    margs: list[np.ndarray]  # per group (the objective's order)
    grads: list[np.ndarray]


@dataclass
class Objective:
    """The loss over one tree's measured groups; counts the calibrations it runs."""

    tree: JunctionTree
    groups: list[MeasuredGroup]
    total: float
    calibrations: int = 0
    plan: MarginalPlan | None = None  # built from the groups when not given

    def __post_init__(self) -> None:
        if self.plan is None:
            self.plan = plan_marginals(self.tree.domain, self.groups)

    def start(self, base: dict[Clique, np.ndarray] | None) -> FitState:
        """The first point: potentials ``base`` (None: zero) per maximal clique, calibrated."""
        shapes = {c: self.tree.domain.project(c).shape for c in self.tree.maximal_cliques}
        layout = PotentialLayout.build(
            shapes, base, [g.host for g in self.groups], [g.bshape for g in self.groups]
        )
        return self.at(Potentials.start(layout, [g.target.shape for g in self.groups]))

    def at(self, theta: Potentials) -> FitState:
        """Calibrate ``theta`` and evaluate the loss there."""
        mu, log_z = calibrate_potentials(self.tree, theta, self.total)
        self.calibrations += 1
        loss, margs, grads = loss_and_gradients(self.groups, mu, self.plan)
        return FitState(theta, mu, log_z, loss, margs, grads)

    def trial(self, state: FitState, direction: Direction, step: float) -> tuple[bool, FitState]:
        """``state`` moved by ``step * direction``, and whether that passes the Armijo test."""
        new = self.at(state.theta.moved(direction, step))
        # decrease predicted by the gradient: <dL/dmu, mu_old - mu_new> over measured marginals
        pred = sum(
            float(np.sum(gr * (m0 - m1)))
            for gr, m0, m1 in zip(state.grads, state.margs, new.margs, strict=True)
        )
        return pred > 0 and new.loss <= state.loss - 0.5 * pred, new


@dataclass
class ScaledStep:
    """Diagonal Newton steps in log-marginal coordinates, with back-off when they fail."""

    beta: float
    floor: float  # marginal counts below this are treated as this (no division by ~0)
    cooldown: int = 0  # iterations before the scaled step is tried again
    backoff: int = 2

    def direction(self, objective: Objective, state: FitState) -> Direction:
        parts = []
        for g, m in zip(objective.groups, state.margs, strict=True):
            d = (g.feasible - m) / np.maximum(m, self.floor)
            np.clip(d, -_CLIP, _CLIP, out=d)
            parts.append(d)
        return parts

    def ready(self) -> bool:
        """Whether to try a scaled step this iteration (counts down a cooldown otherwise)."""
        if self.cooldown == 0:
            return True
        self.cooldown = max(self.cooldown - 1, 0)
        return False

    def take(self, objective: Objective, state: FitState) -> FitState | None:
        """A scaled step at ``beta``, halved up to ``_SCALED_TRIES - 1`` times; None: backed off."""
        direction = self.direction(objective, state)
        step = self.beta
        for k in range(_SCALED_TRIES):
            ok, new = objective.trial(state, direction, step)
            if ok:
                self.beta = min(1.0, step * 1.5) if k == 0 else step  # grow only after a clean step
                self.backoff = 2
                return new
            step *= 0.5
        self.back_off()  # not a descent direction here: use mirror descent for a while
        return None

    def back_off(self) -> None:
        self.cooldown, self.backoff = self.backoff, min(2 * self.backoff, _MAX_BACKOFF)


@dataclass
class MirrorStep:
    """Entropic mirror descent on the log-potentials (always a descent direction)."""

    alpha: float
    alpha_safe: float  # 1 / (2 N W): accepted whatever the Armijo test says
    taken: int = 0

    def take(
        self, objective: Objective, state: FitState, direction: Direction | None = None
    ) -> FitState:
        """One step along ``direction`` (default: :func:`descent`), backtracking on ``alpha``."""
        self.taken += 1
        direction = descent(objective, state) if direction is None else direction
        clean = True
        while True:
            ok, new = objective.trial(state, direction, self.alpha)
            if ok or self.alpha <= self.alpha_safe:  # the safe step is taken whatever the test
                self.alpha *= 1.5 if clean else 1.0
                return new
            self.alpha = max(self.alpha * 0.5, self.alpha_safe)
            clean = False


def descent(objective: Objective, state: FitState) -> Direction:
    """Mirror descent's direction on the log-potentials: ``-dL/dmu`` per measured group (each
    broadcast into its host clique: :class:`~privsynth.model.potentials.Potentials`)."""
    return [-gr for gr in state.grads]


@dataclass
class MomentumStep:
    """Mirror descent with Nesterov momentum on the log-potentials, kept monotone by restarts.

    From ``theta_k`` (with ``theta_{k-1}`` before it) the trial point is
    ``theta_k + beta_j (theta_k - theta_{k-1}) - alpha dL/dmu(theta_k)`` with
    ``beta_j = j / (j + 3)`` after ``j`` accepted momentum steps in a row (Nesterov's sequence).
    It is accepted under the same Armijo test as the other steps (the loss falls by at least half
    the decrease the gradient predicts for the move made); otherwise the momentum restarts
    (``j = 0``) and the iteration is a plain :class:`MirrorStep` (Armijo backtracking down to the safe step, always a
    descent), so the loss never increases and every fixed point is mirror descent's, the optimum.
    One calibration per accepted step, as mirror descent. On AIM's final fit at 2M rows it reached
    in 150 steps the loss 1,000 plain mirror-descent steps reach (docs/model.md).
    """

    run: int = 0  # accepted momentum steps since the last restart
    restarts: int = 0
    previous: Potentials | None = None  # the potentials one step back

    def take(self, objective: Objective, state: FitState, mirror: MirrorStep) -> FitState:
        direction = descent(objective, state)
        if self.previous is not None:
            beta = self.run / (self.run + 3.0)
            move = []
            for th, old, d in zip(state.theta.deltas, self.previous.deltas, direction, strict=True):
                v = np.subtract(th, old)
                v *= beta
                v += mirror.alpha * d
                move.append(v)
            ok, new = objective.trial(state, move, 1.0)
            if ok:
                if self.run == 0:  # a clean plain step (no velocity yet): grow as mirror descent
                    mirror.alpha *= 1.5
                self.run += 1
                self.previous = state.theta
                return new
            self.run, self.restarts = 0, self.restarts + 1
        self.previous = state.theta
        return mirror.take(objective, state, direction)

    def forget(self) -> None:
        """Drop the velocity (the next step starts without momentum)."""
        self.previous, self.run = None, 0


@dataclass
class StopRule:
    """When the descent has converged (see the module docstring for the three rules)."""

    tol: float
    scale: float  # loss units: an l2 error of ``total`` on every measurement
    noise_floor: float  # the loss at the optimum of noisy measurements is about this or more
    noise_step: float  # a gain per step below this is noise-level progress
    values: float = 0.0  # measured values (each one unit of noise in loss units); 0: no gap rule
    stall: int = 0  # mirror-descent steps in a row with a small gain
    recent: list[float] = field(default_factory=list)  # the last gains
    losses: list[float] = field(default_factory=list)  # the loss after every accepted step

    @classmethod
    def for_groups(
        cls, groups: list[MeasuredGroup], total: float, tol: float, values: int = 0
    ) -> StopRule:
        n_cells = sum(g.target.size for g in groups)
        return cls(
            tol=tol,
            scale=sum(g.weight for g in groups) * total**2,
            noise_floor=0.5 * n_cells,
            noise_step=tol * _NOISE_TOL * np.sqrt(n_cells),
            values=float(values),
        )

    def within_noise(self, loss: float) -> bool:
        """The gap rule: the loss still to gain, estimated as ``k`` times the mean gain per step
        over the last quarter of the ``k`` steps (what a ``1/k`` rate leaves), is below
        ``_GAP_SHARE`` of the estimator's own noise energy ``values - loss`` (the degrees of
        freedom the fit used), and the loss it is heading to is evidently noisy (at least
        ``_GAP_FLOOR * values``). Below that gap the fitted marginals are within
        ``sqrt(gap)`` noise units of the optimum's (module docstring)."""
        k = len(self.losses)
        if self.values <= 0.0 or k < _GAP_MIN:
            return False
        q = k // 4
        gap = k * (self.losses[-1 - q] - loss) / q
        return gap <= _GAP_SHARE * (self.values - loss) and loss - gap >= _GAP_FLOOR * self.values

    def update(self, gain: float, loss: float, mirror: bool) -> tuple[bool, bool]:
        """Record one accepted step: ``(converged, hand_over)``; ``hand_over``: the scaled steps
        stalled at their own fixed point and should give way to mirror descent."""
        small = gain <= self.tol * max(loss, 1e-12 * self.scale)
        self.recent.append(gain)
        self.losses.append(loss)
        if len(self.recent) > _WINDOW:
            self.recent.pop(0)
        if (
            len(self.recent) == _WINDOW
            and loss > self.noise_floor
            and sum(self.recent) <= _WINDOW * self.noise_step
        ) or self.within_noise(loss):
            return True, False
        if mirror:  # convergence is judged on mirror-descent steps only
            self.stall = self.stall + 1 if small else 0
            return self.stall >= _WINDOW, False
        return False, small


@dataclass(frozen=True, kw_only=True)
class HybridEstimator:
    """Scaled steps with a mirror-descent fallback (module docstring); an :class:`Estimator`.

    ``iters``: the most steps; ``tol``: relative gain below which a step counts as stalled;
    ``callback(iteration, loss)`` is called after every accepted step; returning True stops;
    ``momentum``: first-order steps are :class:`MomentumStep`'s (False: plain
    :class:`MirrorStep`, the estimator before momentum, for comparisons); ``gap_stop``: also
    stop by the gap rule of the module docstring (off by default: it cost utility at epsilon 10).
    """

    iters: int = 1000
    tol: float = 1e-6
    callback: Callable[[int, float], bool | None] | None = None
    momentum: bool = True
    gap_stop: bool = False

    def estimate(
        self,
        domain: Domain,
        measurements: Sequence[Measurement],
        *,
        total: float | None = None,
        cliques: Iterable[Clique] = (),
        warm_start: GraphicalModel | None = None,
    ) -> GraphicalModel:
        with one_blas_thread():
            return self._estimate(domain, list(measurements), total, cliques, warm_start)

    def _estimate(
        self,
        domain: Domain,
        measurements: list[Measurement],
        total: float | None,
        cliques: Iterable[Clique],
        warm_start: GraphicalModel | None,
    ) -> GraphicalModel:
        total = float(estimate_total(measurements, domain) if total is None else total)
        tree = JunctionTree(domain, [m.clique for m in measurements] + [tuple(c) for c in cliques])
        groups = group_measurements(domain, tree, measurements, total)
        objective = Objective(tree, groups, total)
        state = objective.start(
            None if warm_start is None else warm_theta(domain, tree, warm_start)
        )
        scaled, mirror = _steps(groups, total, warm_start)
        accel = MomentumStep()
        values = sum(m.values.size for m in measurements) if self.gap_stop else 0
        stop = StopRule.for_groups(groups, total, self.tol, values)
        it, converged = 0, not groups
        while it < self.iters and groups:
            it += 1
            new = scaled.take(objective, state) if scaled.ready() else None
            used_mirror = new is None
            if not used_mirror:  # the velocity restarts from the scaled step
                accel.previous, accel.run = state.theta, 0
            elif self.momentum:
                new = accel.take(objective, state, mirror)
            else:
                new = mirror.take(objective, state)
            gain, state = state.loss - new.loss, new
            if self.callback is not None and self.callback(it, state.loss):
                break
            converged, hand_over = stop.update(gain, state.loss, used_mirror)
            if converged:
                break
            if hand_over:
                scaled.back_off()
        return _fitted_model(
            domain,
            tree,
            state,
            total,
            objective,
            {
                "iterations": it,
                "step_md": mirror.alpha,
                "step_scaled": scaled.beta,
                "md_fallbacks": mirror.taken,
                "momentum_restarts": accel.restarts,
                "converged": converged,
            },
        )


def _steps(
    groups: list[MeasuredGroup], total: float, warm: GraphicalModel | None
) -> tuple[ScaledStep, MirrorStep]:
    """Both steps at their starting sizes (a warm start resumes from the previous fit's)."""
    w_sum = sum(g.weight for g in groups)
    alpha_safe = 1.0 / (2.0 * total * w_sum) if groups else 0.0
    alpha, beta = alpha_safe, 1.0 / max(1, len(groups))  # 1/(#groups): GIS-safe damping
    if warm is not None:
        alpha = max(alpha_safe, float(warm.fit_info.get("step_md", alpha_safe)))
        beta = float(warm.fit_info.get("step_scaled", beta))
    return ScaledStep(beta=beta, floor=1e-9 * total), MirrorStep(alpha=alpha, alpha_safe=alpha_safe)


def _fitted_model(
    domain: Domain,
    tree: JunctionTree,
    state: FitState,
    total: float,
    objective: Objective,
    info: dict,
) -> GraphicalModel:
    """The model at ``state`` (already calibrated there), with its ``fit_info``."""
    dense = state.theta.dense()
    pots = {c: Factor(domain.project(c), dense[c]) for c in tree.maximal_cliques}
    model = GraphicalModel(domain, tree, pots, total=total)
    model.adopt_calibration(state.mu, state.log_z)
    model.fit_info = {
        "loss": state.loss,
        **info,
        "calibrations": objective.calibrations,
        "size_mb": tree.size_mb(),
    }
    return model


def estimate(
    domain: Domain,
    measurements: Sequence[Measurement],
    *,
    total: float | None = None,
    cliques: Iterable[Clique] = (),
    warm_start: GraphicalModel | None = None,
    iters: int = 1000,
    tol: float = 1e-6,
    callback: Callable[[int, float], bool | None] | None = None,
    momentum: bool = True,
    gap_stop: bool = False,
) -> GraphicalModel:
    """Fit a junction-tree model to ``measurements`` with :class:`HybridEstimator`.

    ``total`` defaults to :func:`estimate_total`; ``cliques`` are extra cliques the tree must hold;
    ``warm_start`` a previous fit to start from (its potentials and step sizes).
    """
    est = HybridEstimator(
        iters=iters, tol=tol, callback=callback, momentum=momentum, gap_stop=gap_stop
    )
    return est.estimate(domain, measurements, total=total, cliques=cliques, warm_start=warm_start)
