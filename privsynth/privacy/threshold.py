"""The thresholded histogram (stability-based private key selection) and its exact delta.

Mechanism (OpenDP ``make_gaussian_threshold``; Rogers 2023): count the records under each key
present, add discrete Gaussian noise ``Z ~ N_Z(0, sigma^2)`` to each count, release the keys whose
noisy count is ``>= T`` with their noisy counts. OpenDP releases a key when ``count + Z >= T``
(checked: the smallest value it releases is ``T``).

Privacy under add/remove-one-record neighbours (one record changes one key's count by one):

- keys present in both tables: the Gaussian on counts, ``rho = 1 / (2 sigma^2)`` (zCDP);
- the one key that exists in only one table (count 1 there): it is released with probability
  ``P(1 + Z >= T) = P(Z >= T - 1)``; otherwise the outputs have the same distribution. So the
  mechanism is ``(rho, delta)``-approximately zCDP with ``delta = P(Z >= T - 1)``.

OpenDP 0.16's map reports ``P(Z > T - 1)`` (it misses the mass at ``Z = T - 1``; at sigma 1,
T 4 it says 1.35e-3 while a one-record key is released 4.6e-3 of the time). We charge
``max(discrete_gaussian_tail(sigma, T - 1), OpenDP's delta)``.

``discrete_gaussian_tail(sigma, k)`` is a rigorous upper bound on ``P(Z >= k)``:

    P(Z >= k) = N / S,   N = sum_{z >= k} exp(-z^2 / (2 sigma^2)),   S = sum_{z in Z} exp(-z^2 / (2 sigma^2))

- ``S >= max(sqrt(2 pi) sigma, partial sum)``: by Poisson summation
  ``S = sqrt(2 pi) sigma * (1 + 2 sum_{j >= 1} exp(-2 pi^2 sigma^2 j^2)) >= sqrt(2 pi) sigma``, and any
  partial sum of positive terms is a lower bound too (it matters for sigma < 1);
- ``N <= sum_{z=k}^{m-1} f(z) + f(m) / (1 - exp(-m / sigma^2))`` with ``f(z) = exp(-z^2/(2 sigma^2))``,
  since for ``z >= m``, ``f(z) <= f(m) exp(-m (z - m) / sigma^2)`` (a geometric series); for very
  large sigma (over 2 million terms) ``N <= f(k) + sigma sqrt(pi/2) erfc(k / (sigma sqrt 2))``
  (f is decreasing on ``z >= k >= 0``, so the sum is below ``f(k)`` plus the integral);
- floating point: each term's exponent has relative error below 4 ulp and the arguments are below
  745, so each ``exp`` is off by less than 1e-12 relative; summing at most 2e6 positive terms adds
  less than 5e-10; the result is multiplied by ``1 + 1e-8`` (and ``S`` by ``1 - 1e-8``).

``tests/test_threshold.py`` checks the bound against a direct sum and the release rate of a
one-record key over many OpenDP draws against the charged delta.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.noise import NoiseSource, opendp_dp

_INFLATE = 1e-8
_MAX_TERMS = 2_000_000
# Adding or removing one record changes one key's count by one: (l0, l2, linf) = (1, 1, 1).
COUNT_BY_DISTANCE = (1, 1, 1)
MECHANISM = "discrete Gaussian thresholded histogram (OpenDP make_gaussian_threshold)"


def _terms(z: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-(z * z) / (2.0 * sigma * sigma))


def _normaliser_lower(sigma: float) -> float:
    """A lower bound on ``S = sum_z exp(-z^2 / (2 sigma^2))``."""
    poisson = math.sqrt(2.0 * math.pi) * sigma
    if sigma >= 4.0:  # the theta-function correction is below 1e-130: the bound is exact
        return poisson * (1.0 - _INFLATE)
    z = np.arange(1.0, math.ceil(40.0 * sigma) + 2.0)
    partial = 1.0 + 2.0 * float(np.sum(_terms(z, sigma)))
    return max(poisson, partial) * (1.0 - _INFLATE)


def _numerator_upper(sigma: float, k: int) -> float:
    """An upper bound on ``N = sum_{z >= k} exp(-z^2 / (2 sigma^2))`` for ``k >= 0``."""
    n_terms = math.ceil(20.0 * sigma) + 2
    if n_terms > _MAX_TERMS:
        head = math.exp(-(k * k) / (2.0 * sigma * sigma))
        integral = sigma * math.sqrt(math.pi / 2.0) * math.erfc(k / (sigma * math.sqrt(2.0)))
        return (head + integral) * (1.0 + _INFLATE)
    z = np.arange(float(k), float(k + n_terms))
    head = float(np.sum(_terms(z, sigma)))
    m = float(k + n_terms)
    rest = math.exp(-(m * m) / (2.0 * sigma * sigma)) / -math.expm1(-m / (sigma * sigma))
    return (head + rest) * (1.0 + _INFLATE)


def discrete_gaussian_tail(sigma: float, k: int) -> float:
    """A rigorous upper bound on ``P(Z >= k)`` for ``Z ~ N_Z(0, sigma^2)`` (module docstring)."""
    if not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
    if k <= 0:
        return 1.0
    return min(_numerator_upper(sigma, int(k)) / _normaliser_lower(sigma), 1.0)


@functools.lru_cache(maxsize=1024)
def opendp_threshold(sigma: float, threshold: int) -> object:
    """OpenDP's thresholded Gaussian histogram on string keys (the measurement a release runs)."""
    dp = opendp_dp()
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T="i64"))
    metric = dp.l02inf_distance(dp.absolute_distance(T="i64"))
    return dp.m.make_gaussian_threshold(
        domain, metric, scale=float(sigma), threshold=int(threshold)
    )


def threshold_cost(sigma: float, threshold: int) -> tuple[float, float]:
    """(rho, delta) charged for one thresholded histogram: OpenDP's rho, the exact tail's delta."""
    od_rho, od_delta = opendp_threshold(float(sigma), int(threshold)).map(COUNT_BY_DISTANCE)
    exact = discrete_gaussian_tail(sigma, int(threshold) - 1)
    return float(od_rho), max(exact, float(od_delta))


def threshold_for(sigma: float, delta: float) -> int:
    """Smallest integer threshold whose charged delta (a one-record key released) is <= ``delta``."""
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")

    def leak(t: int) -> float:
        return threshold_cost(sigma, t)[1]

    lo, hi = 1, 2
    while leak(hi) > delta:
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # leak(lo) > delta >= leak(hi), or lo is the start
        mid = (lo + hi) // 2
        if leak(mid) > delta:
            lo = mid
        else:
            hi = mid
    return hi if leak(lo) > delta else lo


@functools.lru_cache(maxsize=1024)
def threshold_scale(rho: float) -> float:
    """Noise scale of a thresholded histogram whose OpenDP rho is at most the share ``rho``."""
    if not math.isfinite(rho) or rho <= 0:
        raise ValueError(f"a rho share must be finite and > 0, got {rho!r}")
    sigma = 1.0 / math.sqrt(2.0 * rho)
    for _ in range(64):
        od_rho, _ = opendp_threshold(sigma, 2).map(COUNT_BY_DISTANCE)
        if float(od_rho) <= rho:
            return sigma
        sigma = math.nextafter(sigma, math.inf)
    raise RuntimeError(f"could not calibrate a noise scale to rho={rho!r}")  # pragma: no cover


def private_keys(
    keys: Callable[[], pd.Series],
    rho: float,
    delta: float,
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
    what: str,
) -> dict[str, int]:
    """The keys of ``keys()`` whose noisy count reaches the threshold, with their noisy counts.

    Spends at most the shares ``rho`` and ``delta``: the scale is ``threshold_scale(rho)``, the
    threshold ``threshold_for(sigma, delta)``, and the ledger is charged ``threshold_cost`` before
    ``keys()`` reads the data.
    """
    return private_key_counts(
        lambda: keys().value_counts(sort=False),
        rho,
        delta,
        ledger=ledger,
        noise=noise,
        what=what,
    )


def private_key_counts(
    counts: Callable[[], pd.Series],
    rho: float,
    delta: float,
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
    what: str,
) -> dict[str, int]:
    """:func:`private_keys` on counts already made: ``counts()`` gives each present key's count
    (an engine counted them). The same mechanism and charge; ``counts()`` is called after the
    ledger is charged. Seeded noise is drawn in sorted key order, so that it does not depend
    on the order in which an engine lists the keys."""
    sigma = threshold_scale(float(rho))
    threshold = threshold_for(sigma, float(delta))
    charge_rho, charge_delta = threshold_cost(sigma, threshold)
    ledger.charge(
        charge_rho,
        delta=charge_delta,
        what=what,
        mechanism=MECHANISM,
        sensitivity=1.0,
        scale=sigma,
        threshold=threshold,
    )
    got = counts()
    ordered = got.iloc[np.argsort(got.index.astype(str).to_numpy(), kind="stable")]
    if noise.seeded:
        noisy = noise.discrete_gaussian(ordered.to_numpy(dtype=np.int64), sigma)
        keep = noisy >= threshold
        return {str(k): int(v) for k, v in zip(ordered.index[keep], noisy[keep], strict=True)}
    measurement = opendp_threshold(sigma, threshold)
    released = measurement({str(k): int(v) for k, v in ordered.items()})  # type: ignore[operator]
    return {str(k): int(v) for k, v in released.items()}
