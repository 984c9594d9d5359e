"""The independent baseline: noisy one-way marginals, columns sampled independently.

Every column's histogram is measured once with discrete Gaussian noise, the budget (rho) split
equally: each column takes ``rho_remaining / columns left``, so the last takes exactly the rest.
It keeps each column's distribution and none of the relations between columns: the floor that
every other method must beat.
"""

from __future__ import annotations

import numpy as np

from privsynth.domain import Domain
from privsynth.model.measurements import project_simplex, weighted_total
from privsynth.privacy.mechanisms import gaussian_scale, measure_marginal
from privsynth.synthesizers.base import Synthesizer


class IndependentSynthesizer(Synthesizer):
    """Noisy one-way marginals; each column sampled independently of the others."""

    name = "independent"

    def _fit(self, codes: np.ndarray, domain: Domain) -> None:
        d = len(domain)
        noisy: list[np.ndarray] = []
        sigmas: list[float] = []
        with self.reporter.task("measuring one-way marginals", total=d) as advance:
            for i, attr in enumerate(domain.attrs):
                # an equal share of what is left: the last column takes exactly the rest
                share = self.ledger_.rho_remaining / (d - i)
                noisy.append(
                    measure_marginal(
                        codes, domain, (attr,), share, ledger=self.ledger_, noise=self.noise_
                    )
                )
                sigmas.append(gaussian_scale(share))
                advance()
        # The row count is private: estimate it from the noisy marginals' sums (free).
        self.total_ = weighted_total(
            (float(y.sum()), s**2 * y.size) for s, y in zip(sigmas, noisy, strict=True)
        )
        self.probabilities_ = []
        for y in noisy:
            p = project_simplex(y, self.total_)
            self.probabilities_.append(p / p.sum() if p.sum() > 0 else np.full(y.size, 1 / y.size))

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        cols = [rng.choice(p.size, size=n, p=p) for p in self.probabilities_]
        return np.column_stack(cols).astype(np.int64)
