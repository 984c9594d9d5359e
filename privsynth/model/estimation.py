"""Fit a graphical model to noisy marginal measurements (Private-PGM style, numpy only).

Objective (a convex function of the model's clique marginals ``mu``)::

    L(mu) = sum_r ||mu_r - y_r||^2 / sigma_r^2

where ``mu_r`` is the model's marginal (counts, scaled to ``total``) on measurement ``r``'s clique.
It is minimised by entropic mirror descent on the log-potentials: ``theta <- theta - alpha * dL/dmu``
followed by belief propagation, which keeps ``mu`` a consistent set of marginals of one
distribution. The step size starts at the safe ``1/(2 N W)`` (``N`` the total, ``W`` the summed
weights: the objective's smoothness constant on the simplex in the l1 norm) and is adapted with an
Armijo backtracking line search (halve on failure, grow on success), so the loss never increases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from privsynth.domain import Domain
from privsynth.model.factor import Factor, logsumexp_axes
from privsynth.model.graphical_model import GraphicalModel, calibrate
from privsynth.model.junction_tree import JunctionTree

__all__ = ["Measurement", "estimate", "estimate_total"]

Clique = tuple[str, ...]
_CLIP = 2.0  # max |log-space change| per cell in one scaled step
_MAX_HALVINGS = 12
_SCALED_TRIES = 4  # scaled-step trials (step, /2, /4, /8) before falling back to mirror descent
_NOISE_TOL = 1e4  # noisy fits stop when 5 steps gain < tol * _NOISE_TOL * sqrt(measured cells) each
_USE_SCALED = True  # False: plain mirror descent (kept for comparison benchmarks)


@dataclass
class Measurement:
    """Noisy counts of one marginal: ``values`` flattened C-order over ``clique`` (in its order)."""

    clique: tuple[str, ...]
    values: np.ndarray
    sigma: float

    def __post_init__(self) -> None:
        self.clique = tuple(self.clique)
        self.values = np.asarray(self.values, dtype=np.float64).ravel()
        self.sigma = float(self.sigma)
        if not self.sigma > 0:
            raise ValueError("Measurement: sigma must be positive")


def estimate_total(measurements: Sequence[Measurement], domain: Domain) -> float:
    """Inverse-variance weighted mean of the measured sums (floored at 1): the record count."""
    num = den = 0.0
    for m in measurements:
        var = m.sigma**2 * domain.size(m.clique)
        num += float(m.values.sum()) / var
        den += 1.0 / var
    if den == 0.0:
        return 1.0
    return max(num / den, 1.0)


@dataclass
class _Group:
    """All measurements of one clique, merged: weight ``w`` = sum 1/sigma^2, target = weighted mean."""

    host: Clique  # maximal clique holding it
    clique: Clique  # the measured attributes, canonical order
    sum_axes: tuple[int, ...]  # host axes summed out to reach the clique
    bshape: tuple[int, ...]  # clique marginal's broadcast shape in the host
    target: np.ndarray  # canonical-order array
    weight: float
    const: float  # loss offset from merging: sum_r w_r ||y_r||^2 - w ||ybar||^2
    feasible: np.ndarray | None = None  # target projected onto {x >= 0, sum x = total}


def _simplex_projection(y: np.ndarray, total: float) -> np.ndarray:
    """Euclidean projection of ``y`` onto ``{x >= 0, sum(x) = total}`` (sort-based, exact)."""
    flat = y.ravel()
    srt = np.sort(flat)[::-1]
    css = np.cumsum(srt) - total
    ks = np.arange(1, flat.size + 1)
    rho = np.nonzero(srt - css / ks > 0)[0][-1]
    return np.maximum(flat - css[rho] / (rho + 1), 0.0).reshape(y.shape)


def _groups(
    domain: Domain, tree: JunctionTree, measurements: Sequence[Measurement]
) -> list[_Group]:
    """Merge measurements per clique and attach each to its smallest containing maximal clique."""
    acc: dict[Clique, list] = {}
    for m in measurements:
        canon = domain.canonical(m.clique)
        if len(canon) != len(m.clique):
            raise ValueError(f"measurement clique {m.clique} has unknown or repeated attributes")
        shape = domain.project(m.clique).shape
        if m.values.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"measurement on {m.clique}: {m.values.size} values for shape {shape}")
        y = m.values.reshape(shape).transpose([m.clique.index(a) for a in canon])
        w = 1.0 / m.sigma**2
        entry = acc.setdefault(canon, [0.0, np.zeros(domain.project(canon).shape), 0.0])
        entry[0] += w
        entry[1] = entry[1] + w * y
        entry[2] += w * float(np.sum(y * y))
    out = []
    for canon, (w, wy, wyy) in acc.items():
        host = tree.containing(canon)
        target = wy / w
        out.append(
            _Group(
                host=host,
                clique=canon,
                sum_axes=tuple(i for i, a in enumerate(host) if a not in canon),
                bshape=tuple(domain[a] if a in canon else 1 for a in host),
                target=target,
                weight=w,
                const=wyy - w * float(np.sum(target * target)),
            )
        )
    return out


def _loss_grad(
    groups: list[_Group], mu: dict[Clique, np.ndarray]
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """Loss, per-group marginals and per-group gradients dL/dmu_r."""
    loss = 0.0
    margs, grads = [], []
    done: list[tuple[Clique, set[str], np.ndarray]] = []  # marginals computed so far (reused)
    for g in groups:  # largest first (see _by_size)
        src = None
        for attrs, aset, arr in done:
            if set(g.clique) <= aset and (src is None or arr.size < src[2].size):
                src = (attrs, aset, arr)
        if src is None:
            m = mu[g.host].sum(axis=g.sum_axes) if g.sum_axes else mu[g.host]
        else:
            axes = tuple(i for i, a in enumerate(src[0]) if a not in g.clique)
            m = src[2].sum(axis=axes) if axes else src[2]
        done.append((g.clique, set(g.clique), m))
        diff = m - g.target
        loss += g.weight * float(np.sum(diff * diff)) + g.const
        margs.append(m)
        grads.append(2.0 * g.weight * diff)
    return loss, margs, grads


def _by_size(groups: list[_Group]) -> list[_Group]:
    """``groups`` ordered largest clique first, so that :func:`_loss_grad` can sum small marginals
    from already-computed bigger ones instead of from the whole host clique."""
    return sorted(groups, key=lambda g: -g.target.size)


def _warm_theta(
    domain: Domain, tree: JunctionTree, warm: GraphicalModel
) -> dict[Clique, np.ndarray]:
    """Carry a previous model's log-potentials into a new tree.

    A potential whose clique fits inside a new maximal clique is added there (exact: the new model
    starts as the old distribution). One that fits nowhere (the old tree had fill-in the new one
    lacks) is log-marginalised onto its largest overlap with a new clique: an approximate start.
    """
    theta = {c: np.zeros(domain.project(c).shape) for c in tree.maximal_cliques}
    for c, f in warm.potentials.items():
        host = tree.containing(c)
        if host is not None:
            theta[host] += Factor(domain.project(c), f.values)._aligned(domain.project(host))
            continue
        host = max(tree.maximal_cliques, key=lambda h: (len(set(h) & set(c)), -domain.size(h)))
        shared = tuple(a for a in c if a in host)
        if not shared:
            continue
        drop = tuple(i for i, a in enumerate(c) if a not in shared)
        vals = logsumexp_axes(f.values, drop)
        theta[host] += Factor(domain.project(shared), vals)._aligned(domain.project(host))
    return theta


def estimate(
    domain: Domain,
    measurements: Sequence[Measurement],
    *,
    total: float | None = None,
    cliques: Iterable[tuple[str, ...]] = (),
    warm_start: GraphicalModel | None = None,
    iters: int = 1000,
    tol: float = 1e-6,
    callback: Callable[[int, float], bool | None] | None = None,
) -> GraphicalModel:
    """Fit a junction-tree model to ``measurements`` by mirror descent with Armijo backtracking.

    ``callback(iteration, loss)`` is called after every accepted step; returning True stops early.
    Stops when ``iters`` steps are done or the loss improves by less than ``tol`` (relative) for 5
    steps in a row. ``model.fit_info`` records loss, iterations, step size and convergence.
    """
    measurements = list(measurements)
    if total is None:
        total = estimate_total(measurements, domain)
    total = float(total)
    all_cliques = [tuple(m.clique) for m in measurements] + [tuple(c) for c in cliques]
    tree = JunctionTree(domain, all_cliques)
    groups = _by_size(_groups(domain, tree, measurements))

    if warm_start is not None:
        theta = _warm_theta(domain, tree, warm_start)
    else:
        theta = {c: np.zeros(domain.project(c).shape) for c in tree.maximal_cliques}

    model = GraphicalModel(domain, tree, total=total)
    mu, log_z = calibrate(tree, theta, total)
    loss, margs, grads = _loss_grad(groups, mu)
    w_sum = sum(g.weight for g in groups)
    alpha_safe = 1.0 / (2.0 * total * w_sum) if groups else 0.0
    alpha_md = alpha_safe
    beta = 1.0 / max(1, len(groups))  # scaled-step size; 1/(#groups) is the GIS-safe damping
    if warm_start is not None:
        alpha_md = max(alpha_safe, float(warm_start.fit_info.get("step_md", alpha_safe)))
        beta = float(warm_start.fit_info.get("step_scaled", beta))
    floor = 1e-9 * total
    for g in groups:
        g.feasible = _simplex_projection(g.target, total)
    cooldown = 0  # iterations to wait before retrying the scaled step after it failed
    backoff = 2
    scale = w_sum * total**2  # loss units: an l2 error of `total` on every measurement
    stall = 0
    it = 0
    n_md = 0
    converged = not groups

    n_cells = sum(g.target.size for g in groups)
    noise_floor = 0.5 * n_cells  # loss well above 0 at the optimum: the measurements are noisy
    noise_step = tol * _NOISE_TOL * np.sqrt(n_cells)
    n_calib = 1
    recent: list[float] = []

    def trial(direction: dict[Clique, np.ndarray], step: float):
        nonlocal n_calib
        new_theta = dict(theta)
        for h, dh in direction.items():
            new_theta[h] = np.add(theta[h], np.multiply(dh, step))  # dh may be broadcast-shaped
        new_mu, new_log_z = calibrate(tree, new_theta, total)
        n_calib += 1
        new_loss, new_margs, new_grads = _loss_grad(groups, new_mu)
        # decrease predicted by the gradient: <dL/dmu, mu_old - mu_new> over measured marginals
        pred = sum(
            float(np.sum(gr * (m0 - m1)))
            for gr, m0, m1 in zip(grads, margs, new_margs, strict=True)
        )
        ok = pred > 0 and new_loss <= loss - 0.5 * pred
        return ok, (new_theta, new_mu, new_log_z, new_loss, new_margs, new_grads)

    while it < iters and groups:
        it += 1
        # (1) scaled step: diagonal Newton in log-marginal coordinates, -(mu_r - y_r) / mu_r per
        # measured cell (exact in one step for a lone clique; IPF-like), damped by a line search.
        scaled: dict[Clique, np.ndarray] = {}
        md: dict[Clique, np.ndarray] = {}
        for g, m, gr in zip(groups, margs, grads, strict=True):
            d = (g.feasible - m) / np.maximum(m, floor)
            np.clip(d, -_CLIP, _CLIP, out=d)
            d = d.reshape(g.bshape)
            b = -gr.reshape(g.bshape)
            scaled[g.host] = scaled[g.host] + d if g.host in scaled else d
            md[g.host] = md[g.host] + b if g.host in md else b
        accepted = None
        used_md = False
        if _USE_SCALED and cooldown == 0:
            step = beta
            for k in range(_SCALED_TRIES):
                ok, res = trial(scaled, step)
                if ok:
                    accepted = res
                    beta = min(1.0, step * 1.5) if k == 0 else step  # grow only after a clean step
                    backoff = 2
                    break
                step *= 0.5
            if accepted is None:  # not a descent direction here: back off, use mirror descent
                cooldown, backoff = backoff, min(2 * backoff, 64)
        else:
            cooldown = max(cooldown - 1, 0)
        if accepted is None:
            # (2) entropic mirror descent step (always a descent direction)
            n_md += 1
            used_md = True
            clean = True
            while True:
                ok, res = trial(md, alpha_md)
                if ok or alpha_md <= alpha_safe:
                    accepted = res
                    alpha_md *= 1.5 if clean else 1.0
                    break
                alpha_md = max(alpha_md * 0.5, alpha_safe)
                clean = False
        new_loss = accepted[3]
        improvement = loss - new_loss
        theta, mu, log_z, loss, margs, grads = accepted
        if callback is not None and callback(it, loss):
            break
        small = improvement <= tol * max(loss, 1e-12 * scale)
        # noise-aware stop: the loss sits at its noise level and, over the last 5 steps, moved by
        # less than a small fraction of its statistical spread (~sqrt(cells)) per step
        recent.append(improvement)
        if len(recent) > 5:
            recent.pop(0)
        if len(recent) == 5 and loss > noise_floor and sum(recent) <= 5 * noise_step:
            converged = True
            break
        if used_md:
            # convergence is judged on mirror-descent steps only (their fixed point is the optimum)
            stall = stall + 1 if small else 0
            if stall >= 5:
                converged = True
                break
        elif small:  # scaled steps stalled (their own fixed point): hand over to mirror descent
            cooldown, backoff = backoff, min(2 * backoff, 64)

    model.potentials = {c: Factor(domain.project(c), theta[c]) for c in tree.maximal_cliques}
    model._set_marginals(mu, log_z)
    model.fit_info = {
        "loss": loss,
        "iterations": it,
        "step_md": alpha_md,
        "step_scaled": beta,
        "md_fallbacks": n_md,
        "converged": converged,
        "calibrations": n_calib,
        "size_mb": tree.size_mb(),
    }
    return model
