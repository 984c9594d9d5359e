"""Noisy marginal measurements and the free post-processing every method applies to them.

A :class:`Measurement` is one noisy marginal: counts over a clique with the Gaussian scale
``sigma`` it was measured at (the estimator weighs it by ``1 / sigma^2``). Everything here is
post-processing of released values, so it costs no privacy budget:

- :func:`estimate_total`: the record count as the inverse-variance weighted mean of the
  measurements' noisy sums (a measurement over ``k`` cells has a sum of variance ``k sigma^2``);
  the true count is never read;
- :func:`project_simplex`: the least-squares valid table ``{x >= 0, sum x = total}`` closest to
  noisy counts (better than clipping negatives and rescaling, which inflates every small cell).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from privsynth.domain import Domain

__all__ = ["Measurement", "estimate_total", "project_simplex", "weighted_total"]


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


def weighted_total(sums_and_variances: Iterable[tuple[float, float]]) -> float:
    """Inverse-variance weighted mean of noisy totals ``(sum, variance)``, floored at 1 (1 if none).

    The one total estimate of the package: :func:`estimate_total`, the independent baseline and
    MST's compressed domains all call it.
    """
    num = den = 0.0
    for total, var in sums_and_variances:
        num += float(total) / var
        den += 1.0 / var
    if den == 0.0:
        return 1.0
    return max(num / den, 1.0)


def estimate_total(measurements: Sequence[Measurement], domain: Domain | Sequence[Domain]) -> float:
    """The record count from noisy measurements: :func:`weighted_total` of their sums.

    ``domain`` gives each measurement's cell count (one domain for all, or one per measurement,
    as for MST's one-way marginals measured before the domain was compressed).
    """
    domains = [domain] * len(measurements) if isinstance(domain, Domain) else list(domain)
    if len(domains) != len(measurements):
        raise ValueError("estimate_total: one domain per measurement")
    return weighted_total(
        (float(m.values.sum()), m.sigma**2 * d.size(m.clique))
        for m, d in zip(measurements, domains, strict=True)
    )


def project_simplex(y: np.ndarray, total: float) -> np.ndarray:
    """Euclidean projection of ``y`` onto ``{x >= 0, sum(x) = total}`` (sort-based, exact).

    Any shape (projected as one flat vector, returned in ``y``'s shape); ``total <= 0`` gives zeros.
    """
    y = np.asarray(y, dtype=float)
    if total <= 0:
        return np.zeros_like(y)
    flat = y.ravel()
    srt = np.sort(flat)[::-1]
    css = np.cumsum(srt) - total
    ks = np.arange(1, flat.size + 1)
    rho = np.flatnonzero(srt - css / ks > 0)[-1]
    return np.maximum(flat - css[rho] / (rho + 1), 0.0).reshape(y.shape)
