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
from privsynth.model.estimation import Measurement, estimate, estimate_total
from privsynth.model.factor import Factor
from privsynth.model.graphical_model import GraphicalModel
from privsynth.model.junction_tree import JunctionTree
from privsynth.privacy.mechanisms import measure_marginal
from privsynth.synthesizers.base import Synthesizer
from privsynth.synthesizers.postprocess import project_simplex
from privsynth.synthesizers.workload import Clique, check_positive, check_sample_method

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


class GraphicalSynthesizer(Synthesizer):
    """Base of the marginal-based methods: measure, fit a graphical model, sample from it."""

    def __init__(
        self,
        epsilon: float = 1.0,
        delta: float = 1e-9,
        *,
        pgm_iters: int = 1000,
        sample_method: str = "rounding",
        seed: int | None = None,
        quiet: bool = True,
        progress: Any = None,
    ) -> None:
        super().__init__(epsilon, delta, seed=seed, quiet=quiet, progress=progress)
        check_positive("pgm_iters", pgm_iters, integer=True)
        self.pgm_iters = int(pgm_iters)
        self.sample_method = check_sample_method(sample_method)

    def params(self) -> dict[str, Any]:
        out = super().params()
        out.update({"pgm_iters": self.pgm_iters, "sample_method": self.sample_method})
        return out

    # -- helpers for _fit -----------------------------------------------------------------------
    def _start(self) -> None:
        self.measurements_: list[Measurement] = []

    def _measure(self, codes: np.ndarray, clique: Clique, sigma: float) -> np.ndarray:
        """Measure ``clique`` with Gaussian noise ``sigma`` (one ledger entry); keep it."""
        y = measure_marginal(
            codes, self.domain_, clique, sigma, ledger=self.ledger_, noise=self.noise_
        )
        self.measurements_.append(Measurement(tuple(clique), y, sigma))
        return y

    def _noisy_total(self) -> float:
        """Record count estimated from the noisy measurements only (never from the data)."""
        return estimate_total(self.measurements_, self.domain_)

    def _estimate(self, warm: GraphicalModel | None, iters: int) -> GraphicalModel:
        return estimate(
            self.domain_,
            self.measurements_,
            total=self._noisy_total(),
            warm_start=warm,
            iters=iters,
        )

    def _finish(self, model: GraphicalModel) -> None:
        self.model_ = model
        self.total_ = float(model.total)
        self.cliques_ = [m.clique for m in self.measurements_]

    def _budget_text(self) -> str:
        return f"rho {self.ledger_.rho_spent:.4g}/{self.ledger_.rho_budget:.4g}"

    # -- sampling -------------------------------------------------------------------------------
    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.model_.sample(n, rng, method=self.sample_method)
