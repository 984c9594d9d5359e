"""The thresholded histogram's delta: the exact discrete Gaussian tail P(Z >= T - 1), rounded up,
checked against a direct sum and against the release rate of a one-record key under OpenDP."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from privsynth.privacy.budget import Budget
from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.noise import NoiseSource
from privsynth.privacy.threshold import (
    COUNT_BY_DISTANCE,
    discrete_gaussian_tail,
    opendp_threshold,
    private_keys,
    threshold_cost,
    threshold_for,
    threshold_scale,
)


def _direct_tail(sigma: float, k: int) -> float:
    """P(Z >= k) by summing the pmf over +-80 sigma (the rest is below 1e-1000)."""
    z = np.arange(-math.ceil(80 * sigma) - 5, math.ceil(80 * sigma) + 5, dtype=float)
    f = np.exp(-(z * z) / (2 * sigma * sigma))
    return float(f[z >= k].sum() / f.sum())


@pytest.mark.parametrize(
    ("sigma", "k"), [(0.3, 1), (0.5, 2), (1.0, 3), (2.7, 18), (23.0, 149), (210.0, 1374)]
)
def test_tail_is_an_upper_bound_within_1e_7(sigma: float, k: int) -> None:
    exact = _direct_tail(sigma, k)
    bound = discrete_gaussian_tail(sigma, k)
    assert exact <= bound <= exact * (1 + 1e-7)


def test_tail_for_huge_sigma_uses_the_integral_bound() -> None:
    sigma, k = 3e6, 20_000_000
    # continuous Gaussian tail; the discrete one differs by far less than 1e-6 relative here
    approx = 0.5 * math.erfc(k / (sigma * math.sqrt(2)))
    bound = discrete_gaussian_tail(sigma, k)
    assert approx <= bound <= approx * (1 + 1e-5)


@pytest.mark.slow
def test_one_record_key_release_rate_is_within_the_charged_delta() -> None:
    """100,000 one-record keys through OpenDP's own measurement at sigma 1, T 4."""
    sigma, threshold = 1.0, 4
    rho, delta = threshold_cost(sigma, threshold)
    n = 100_000
    released = opendp_threshold(sigma, threshold)({f"k{i}": 1 for i in range(n)})
    rate = len(released) / n
    # two-sided 1e-6 binomial test of "rate == charged delta": a wrong delta fails it
    lo, hi = binom.ppf([1e-6, 1 - 1e-6], n, delta) / n
    assert lo <= rate <= hi, (rate, delta)
    # OpenDP 0.16's own map (P(Z > T - 1)) is far below what is observed: the bug this fixes
    od_delta = float(opendp_threshold(sigma, threshold).map(COUNT_BY_DISTANCE)[1])
    assert od_delta < lo
    assert rho == pytest.approx(0.5, rel=1e-15)


def test_threshold_is_the_smallest_that_meets_delta() -> None:
    for sigma, delta in [(1.0, 1e-3), (10.0, 1e-10), (23.0, 1e-11)]:
        t = threshold_for(sigma, delta)
        assert threshold_cost(sigma, t)[1] <= delta < threshold_cost(sigma, t - 1)[1]
        assert _direct_tail(sigma, t - 1) <= delta


@pytest.mark.parametrize("noise_seed", [None, 4])
def test_private_keys_charges_its_shares_and_releases_common_keys(noise_seed: int | None) -> None:
    ledger = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6, delta_reserve=5e-7))
    rho, delta = ledger.rho_remaining, ledger.delta_remaining
    values = pd.Series(["a"] * 5000 + ["b"] * 3000 + ["rare"])
    out = private_keys(
        lambda: values, rho, delta, ledger=ledger, noise=NoiseSource(noise_seed), what="t"
    )
    assert set(out) == {"a", "b"}
    (entry,) = ledger.entries
    sigma = threshold_scale(rho)
    assert entry.scale == sigma and entry.rho <= rho and entry.delta <= delta
    assert entry.rho == pytest.approx(1 / (2 * sigma**2), rel=1e-15)
    assert entry.delta == discrete_gaussian_tail(sigma, entry.meta["threshold"] - 1)
