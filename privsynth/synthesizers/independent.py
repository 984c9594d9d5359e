"""The independent baseline: noisy one-way marginals, columns sampled independently.

Every column's histogram is measured once with discrete Gaussian noise, the budget split equally.
It keeps each column's distribution and none of the relations between columns: the floor that
every other method must beat.
"""

from __future__ import annotations

import numpy as np

from privsynth.domain import Domain
from privsynth.privacy.mechanisms import gaussian_sigma, measure_marginal
from privsynth.synthesizers.base import Synthesizer
from privsynth.synthesizers.postprocess import project_simplex


def total_from_measurements(sums: np.ndarray, variances: np.ndarray) -> float:
    """Inverse-variance weighted mean of the noisy totals of several measurements (at least 1)."""
    w = 1.0 / np.asarray(variances, dtype=float)
    return max(float(np.sum(w * sums) / np.sum(w)), 1.0)


class IndependentSynthesizer(Synthesizer):
    """Noisy one-way marginals; each column sampled independently of the others."""

    name = "independent"

    def _fit(self, codes: np.ndarray, domain: Domain) -> None:
        d = len(domain)
        sigma = gaussian_sigma(self.ledger_.rho_budget / d)
        noisy: list[np.ndarray] = []
        with self.progress.task("measuring one-way marginals", total=d) as advance:
            for attr in domain.attrs:
                noisy.append(
                    measure_marginal(
                        codes, domain, (attr,), sigma, ledger=self.ledger_, noise=self.noise_
                    )
                )
                advance()
        # The row count is private: estimate it from the noisy marginals' sums (free).
        sums = np.array([y.sum() for y in noisy])
        variances = np.array([sigma**2 * y.size for y in noisy])
        self.total_ = total_from_measurements(sums, variances)
        self.probabilities_ = []
        for y in noisy:
            p = project_simplex(y, self.total_)
            self.probabilities_.append(p / p.sum() if p.sum() > 0 else np.full(y.size, 1 / y.size))

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        cols = [rng.choice(p.size, size=n, p=p) for p in self.probabilities_]
        return np.column_stack(cols).astype(np.int64)
