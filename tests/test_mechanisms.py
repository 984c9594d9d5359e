"""Noise and selection: distributions, costs and reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from privsynth.privacy.accounting import exponential_mechanism_rho
from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.mechanisms import select
from privsynth.privacy.noise import NoiseSource, sample_discrete_gaussian


@pytest.mark.parametrize("sigma", [0.7, 3.0, 25.0])
def test_seeded_discrete_gaussian_has_the_right_spread(sigma: float) -> None:
    x = sample_discrete_gaussian(np.random.default_rng(0), sigma, (200_000,))
    assert x.dtype == np.int64
    assert abs(x.mean()) < 5 * sigma / np.sqrt(x.size)
    # For sigma >= 1 the variance is sigma^2 to within 1e-3; at 0.7 it is a little lower.
    assert x.var() == pytest.approx(sigma**2, rel=0.03 if sigma >= 1 else 0.15)


def test_opendp_noise_has_the_right_spread() -> None:
    noisy = NoiseSource(None).discrete_gaussian(np.full(20_000, 100), 5.0)
    assert noisy.std() == pytest.approx(5.0, rel=0.05)
    assert abs(noisy.mean() - 100) < 0.2


def test_seeded_noise_reproduces() -> None:
    a = NoiseSource(7).discrete_gaussian(np.zeros(100, dtype=np.int64), 3.0)
    b = NoiseSource(7).discrete_gaussian(np.zeros(100, dtype=np.int64), 3.0)
    c = NoiseSource(8).discrete_gaussian(np.zeros(100, dtype=np.int64), 3.0)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("seed", [None, 3])
def test_selection_costs_eps_squared_over_8_and_finds_a_clear_winner(seed: int | None) -> None:
    ledger = PrivacyLedger.for_rho(1.0)
    scores = np.array([0.0, 1.0, 200.0, 2.0])
    rho = exponential_mechanism_rho(1.0)
    idx = select(scores, sensitivity=1.0, rho=rho, ledger=ledger, noise=NoiseSource(seed), what="t")
    assert idx == 2
    assert ledger.rho_spent == pytest.approx(rho, rel=1e-15) and ledger.rho_spent <= rho
    assert ledger.entries[0].meta["epsilon"] == pytest.approx(1.0, rel=1e-15)


def test_selection_is_the_exponential_mechanism() -> None:
    # P(i) must be proportional to exp(eps * q_i / (2 * sensitivity)).
    noise = NoiseSource(11)
    scores = np.array([0.0, 1.0, 2.0])
    eps, n = 2.0, 5_000
    ledger = PrivacyLedger.for_rho(n * exponential_mechanism_rho(eps) * 1.01)
    rho = exponential_mechanism_rho(eps)
    picks = [
        select(scores, sensitivity=1.0, rho=rho, ledger=ledger, noise=noise, what="t")
        for _ in range(n)
    ]
    freq = np.bincount(picks, minlength=3) / n
    expected = np.exp(eps * scores / 2)
    expected /= expected.sum()
    assert np.allclose(freq, expected, atol=0.03)
