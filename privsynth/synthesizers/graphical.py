"""What AIM, MWEM and MST share: noisy marginal measurements, a graphical model fitted to them, and
sampling from that model.

Every measurement goes through :func:`privsynth.privacy.mechanisms.measure_marginal` (one ledger
entry each) and is kept as a :class:`~privsynth.model.estimation.Measurement` with the sigma it
was measured at, so the estimator weighs it by ``1 / sigma^2``. The record count is never read
from the data: it is the inverse-variance weighted mean of the measurements' noisy sums.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from privsynth.domain import Domain
from privsynth.model.estimation import estimate
from privsynth.model.factor import Factor
from privsynth.model.graphical_model import GraphicalModel, systematic_round
from privsynth.model.junction_tree import JunctionTree
from privsynth.model.measurements import Measurement, estimate_total, project_simplex
from privsynth.privacy.budget import Budget
from privsynth.privacy.mechanisms import gaussian_rho, gaussian_scale, measure_marginal
from privsynth.synthesizers.affordable import (
    capped_weights,
    drowned,
    one_way_weights,
    shrunk_one_ways,
    size_order,
    top_up,
    total_sd,
)
from privsynth.synthesizers.base import Synthesizer
from privsynth.synthesizers.workload import (
    Clique,
    check_positive,
    check_sample_method,
    freeze_workload,
    workload_param,
)

# Floor (in records) put under every cell of a closed-form starting model, so that a cell that the
# noisy one-way marginals put at zero can still gain mass in later (multiplicative) fitting steps.
_CELL_FLOOR = 0.01


def independent_model(
    domain: Domain, measurements: list[Measurement], total: float
) -> GraphicalModel:
    """The least-squares model of one-way measurements alone, in closed form (no iterations).

    With only one-way cliques the marginal polytope is a product of simplices, so the estimator's
    optimum is each column's noisy counts (inverse-variance averaged if measured twice) projected
    onto ``{x >= 0, sum x = total}``. Attributes without a measurement stay uniform.
    """
    acc: dict[str, list[np.ndarray | float]] = {}
    for m in measurements:
        if len(m.clique) != 1:
            raise ValueError("independent_model takes one-way measurements only")
        w = 1.0 / m.sigma**2
        entry = acc.setdefault(m.clique[0], [0.0, 0.0])
        entry[0] = entry[0] + w * m.values
        entry[1] = entry[1] + w
    tree = JunctionTree(domain, [(a,) for a in domain.attrs])
    potentials = {}
    for a in domain.attrs:
        if a not in acc:
            continue
        wy, w = acc[a]
        p = project_simplex(np.asarray(wy) / float(w), total)
        potentials[(a,)] = Factor(domain.project((a,)), np.log(np.maximum(p, _CELL_FLOOR)))
    return GraphicalModel(domain, tree, potentials, total=total)


class Compression:
    """Rare values of one column merged into one code (MST's domain compression).

    ``keep`` are the original codes that stay (in order, new codes ``0..len(keep)-1``); every
    other original code maps to the merged code ``len(keep)``. ``weights`` (over ``merged``, the
    original codes merged, summing to 1) spread the merged code back over its values when decoding.
    Built from noisy counts only, so using it is post-processing.
    """

    def __init__(self, size: int, keep: np.ndarray, weights_all: np.ndarray) -> None:
        keep = np.asarray(keep, dtype=np.int64)
        mask = np.zeros(size, dtype=bool)
        mask[keep] = True
        self.size = int(size)
        self.keep = keep
        self.merged = np.flatnonzero(~mask)
        w = np.maximum(np.asarray(weights_all, dtype=float)[self.merged], 0.0)
        self.weights = (
            w / w.sum()
            if w.sum() > 0
            else np.full(self.merged.size, 1.0 / max(self.merged.size, 1))
        )
        self.forward = np.full(size, keep.size, dtype=np.int64)
        self.forward[keep] = np.arange(keep.size)

    @property
    def new_size(self) -> int:
        return int(self.keep.size + 1)

    def encode(self, col: np.ndarray) -> np.ndarray:
        return self.forward[col]

    def decode(self, col: np.ndarray, rng: np.random.Generator, method: str) -> np.ndarray:
        """Original codes: kept codes map back; merged ones are spread by ``weights``."""
        col = np.asarray(col, dtype=np.int64)
        out = np.empty_like(col)
        hit = col == self.keep.size
        out[~hit] = self.keep[col[~hit]]
        rows = np.flatnonzero(hit)
        if rows.size:
            if method == "sampling":
                out[rows] = rng.choice(self.merged, size=rows.size, p=self.weights)
            else:
                n = np.array([float(rows.size)])
                u = rng.uniform(1e-9, 1 - 1e-9, size=1)
                counts = systematic_round(self.weights[None, :] * n[0], n, u)[0]
                out[rng.permutation(rows)] = np.repeat(self.merged, counts)
        return out

    def expand(self, counts: np.ndarray, axis: int) -> np.ndarray:
        """Counts over the compressed codes (along ``axis``) spread over the original codes."""
        counts = np.moveaxis(np.asarray(counts, dtype=float), axis, -1)
        out = np.zeros(counts.shape[:-1] + (self.size,))
        out[..., self.keep] = counts[..., : self.keep.size]
        out[..., self.merged] = counts[..., -1:] * self.weights
        return np.moveaxis(out, -1, axis)


class GraphicalSynthesizer(Synthesizer):
    """Base of the marginal-based methods: measure, fit a graphical model, sample from it."""

    def __init__(
        self,
        epsilon: float | Budget = 1.0,
        delta: float = 1e-9,
        *,
        pgm_iters: int = 1000,
        sample_method: str = "rounding",
        seed: int | None = None,
        noise_seed: int | None = None,
        quiet: bool = True,
        progress: Any = None,
    ) -> None:
        super().__init__(
            epsilon, delta, seed=seed, noise_seed=noise_seed, quiet=quiet, progress=progress
        )
        self.pgm_iters = pgm_iters
        self.sample_method = sample_method

    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive("pgm_iters", self.pgm_iters, integer=True)
        check_sample_method(self.sample_method)

    def _public_value(self, name: str, value: Any) -> Any:
        if name == "workload":  # as JSON: a name or [[clique, weight], ...]
            return workload_param(freeze_workload(value, getattr(self, "target", None)))
        return super()._public_value(name, value)

    # -- helpers for _fit -----------------------------------------------------------------------
    def _start(self) -> None:
        self.measurements_: list[Measurement] = []
        # the domain the model lives on: the data's, or a compressed one (MST); see _compress
        self.fit_domain_: Domain = self.domain_
        self.compression_: dict[str, Compression] = {}
        # columns left out of the one-way passes and uniform in the fallback (_drowned_now)
        self.skipped_: list[str] = []

    def _drowned_now(self, attr: str) -> bool:
        """Whether ``attr`` is left out: already, or :func:`drowned` now, at the noisy total of
        the measurements so far and its public standard error (then for good). A function of DP
        outputs and public numbers; never before a first measurement, never the last column."""
        if attr in self.skipped_:
            return True
        if not self.measurements_ or len(self.skipped_) >= len(self.fit_domain_) - 1:
            return False
        sd = total_sd(self.measurements_, self.fit_domain_)
        if attr not in drowned(self.fit_domain_, self.ledger_.rho_budget, self._noisy_total(), sd):
            return False
        self.skipped_.append(attr)
        self.reporter.note(
            f"{self.name}: {attr} would be noise whatever it got: no more budget, left uniform "
            "if the run ends with one-way marginals only"
        )
        return True

    def _measure_one_ways(self, codes: np.ndarray, per: dict[str, float], rest: bool) -> None:
        """Measure each column of ``per`` at its rho, smallest domain first, unless
        :meth:`_drowned_now`; with ``rest`` the last column measured takes exactly what is left
        (one more charge on it if the last one planned was left out)."""
        order = size_order(self.fit_domain_, list(per))
        done = None
        for j, attr in enumerate(order):
            if self._drowned_now(attr):
                continue
            last = rest and j == len(order) - 1
            self._measure(codes, (attr,), self.ledger_.rho_remaining if last else per[attr])
            done = attr
        if rest and self.ledger_.rho_remaining > 1e-12 * self.ledger_.rho_budget:
            keep = [a for a in self.fit_domain_.attrs if a not in self.skipped_]
            self._measure(codes, (done or keep[0],), self.ledger_.rho_remaining)

    def _usable(self, cliques: list[Clique]) -> list[Clique]:
        """``cliques`` without those that hold a column :meth:`_drowned_now` left out."""
        skip = set(self.skipped_)
        return [c for c in cliques if not skip.intersection(c)] if skip else cliques

    def _measure(self, codes: np.ndarray, clique: Clique, rho: float) -> np.ndarray:
        """Measure ``clique`` at the rho share ``rho`` (one ledger entry); keep it.

        ``codes`` must be over :attr:`fit_domain_` (compressed codes once a compression is set).
        """
        y = measure_marginal(
            codes, self.fit_domain_, clique, rho, ledger=self.ledger_, noise=self.noise_
        )
        self.measurements_.append(Measurement(tuple(clique), y, gaussian_scale(rho)))
        return y

    def _noisy_total(self) -> float:
        """Record count estimated from the noisy measurements only (never from the data)."""
        return estimate_total(self.measurements_, self.fit_domain_)

    def _estimate(self, warm: GraphicalModel | None, iters: int) -> GraphicalModel:
        return estimate(
            self.fit_domain_,
            self.measurements_,
            total=self._noisy_total(),
            warm_start=warm,
            iters=int(iters),
        )

    def _probe(self, codes: np.ndarray, domain: Domain, rho: float) -> None:
        """The one-way probe (AIM and MWEM): ``rho`` split by :func:`one_way_weights`
        (``k^(2/3)``), smallest columns first, a drowned one left out (:meth:`_measure_one_ways`)."""
        weights = one_way_weights(domain)
        self._measure_one_ways(
            codes, {a: rho * w for a, w in zip(domain.attrs, weights, strict=True)}, False
        )

    def _one_way_pass(
        self, codes: np.ndarray, domain: Domain, rho: float | None, n_hat: float
    ) -> None:
        """Spend ``rho`` (``None``: all that is left, the last column measured taking exactly
        the rest) on the one-way marginals after the probe (AIM and MWEM).

        Each column's total is brought towards its :func:`capped_weights` share of all the
        one-way budget (:func:`top_up`) at the noisy total ``n_hat``, the columns
        :meth:`_drowned_now` left out at a share of 0: a function of a DP output and of the
        public charges. The estimator weighs each measurement by ``1 / sigma^2``, so two
        measurements of a column at rho ``a`` and ``b`` are worth one at ``a + b``.
        """
        ledger = self.ledger_
        everything = rho is None or rho >= ledger.rho_remaining * (1.0 - 1e-9)
        total = ledger.rho_remaining if everything else float(rho)
        spent = np.zeros(len(domain))
        for m in self.measurements_:
            if len(m.clique) == 1:
                spent[domain.attrs.index(m.clique[0])] += gaussian_rho(m.sigma)
        weights = capped_weights(domain, spent.sum() + total, n_hat)
        weights[[domain.attrs.index(a) for a in self.skipped_]] = 0.0
        per = top_up(spent, total, weights / weights.sum())
        todo = {a: float(x) for a, x in zip(domain.attrs, per, strict=True) if x > 1e-12 * total}
        self._measure_one_ways(codes, todo, everything)

    def _final_model(self, model: GraphicalModel | None) -> GraphicalModel:
        """The last fit: with one-way measurements only, the independent model with each column
        shrunk by its risk estimate (:func:`shrunk_one_ways`, post-processing of the noisy
        counts; a column :meth:`_drowned_now` left out stays uniform); otherwise ``pgm_iters``
        iterations warm-started from ``model``."""
        if all(len(m.clique) == 1 for m in self.measurements_):
            total = self._noisy_total()
            shrunk = shrunk_one_ways(self.measurements_, total, self.skipped_)
            return independent_model(self.fit_domain_, shrunk, total)
        return self._estimate(model, self.pgm_iters)

    def _finish(self, model: GraphicalModel) -> None:
        self.model_ = model
        self.total_ = float(model.total)
        self.cliques_ = [m.clique for m in self.measurements_]

    def _budget_text(self) -> str:
        return f"rho {self.ledger_.rho_spent:.4g}/{self.ledger_.rho_budget:.4g}"

    # -- sampling -------------------------------------------------------------------------------
    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        codes = self.model_.sample(n, rng, method=self.sample_method)
        comp = getattr(self, "compression_", {})
        for j, a in enumerate(self.fit_domain_.attrs if comp else ()):
            if a in comp:
                codes[:, j] = comp[a].decode(codes[:, j], rng, self.sample_method)
        return codes

    def project(self, attrs: Clique) -> np.ndarray:
        """The fitted model's marginal on ``attrs`` (original domain; compressed codes spread)."""
        self._check_fitted()
        attrs = tuple(attrs)
        out = np.asarray(self.model_.project(attrs), dtype=float)
        for i, a in enumerate(attrs):
            if a in getattr(self, "compression_", {}):
                out = self.compression_[a].expand(out, i)
        return out
