"""Bounds of the dp-audit: exact formulas, and a null study measuring the false-alarm rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from privsynth.dpaudit.bounds import (
    cp_upper,
    eps_from_rates,
    game_bounds,
    gdp_epsilon,
    mu_from_rates,
)
from privsynth.errors import InputError


def test_clopper_pearson_matches_closed_form_at_zero_and_coverage() -> None:
    # k = 0: the upper bound solves (1 - p)^n = 1 - level
    assert float(cp_upper(0, 50, 0.975)) == pytest.approx(1 - 0.025 ** (1 / 50), rel=1e-9)
    assert float(cp_upper(50, 50, 0.975)) == 1.0
    # coverage: P(p <= upper) >= level for a binomial p, over many draws
    rng = np.random.default_rng(1)
    k = rng.binomial(40, 0.3, size=20000)
    assert np.mean(cp_upper(k, 40, 0.975) >= 0.3) >= 0.975


def test_epsilon_and_mu_from_rates() -> None:
    # a perfect test is bounded only by the rates' upper bounds
    assert float(eps_from_rates(0.1, 0.1, 0.0)) == pytest.approx(math.log(9.0))
    assert float(eps_from_rates(0.5, 0.5, 0.0)) == 0.0
    assert float(eps_from_rates(0.9, 0.9, 0.0)) == 0.0
    # mu of an exact Gaussian trade-off point is recovered
    a = 0.2
    b = stats.norm.cdf(stats.norm.isf(a) - 1.3)
    assert float(mu_from_rates(a, b)) == pytest.approx(1.3, rel=1e-9)


def test_gdp_epsilon_inverts_the_gdp_delta() -> None:
    mu, eps = 1.0, gdp_epsilon(1.0, 1e-5)
    d = stats.norm.cdf(-eps / mu + mu / 2) - math.exp(eps) * stats.norm.cdf(-eps / mu - mu / 2)
    assert d == pytest.approx(1e-5, rel=1e-6)
    assert gdp_epsilon(0.0, 1e-5) == 0.0


def _games(
    mu: float, n: int, games: int, seed: int, discrete: bool = False, select: float = 0.5
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(games):
        if discrete:  # heavily tied scores, as counts are
            o, i = rng.poisson(3.0, n).astype(float), rng.poisson(3.0, n).astype(float)
        else:
            o, i = rng.normal(0, 1, n), rng.normal(mu, 1, n)
        decoy = (rng.normal(0, 1, n), rng.normal(0, 1, n))
        g = game_bounds({"s": (o, i), "t": decoy}, delta=1e-5, select_fraction=select)
        out.append((g.epsilon.epsilon_lb, g.mu.mu_lb))
    return np.array(out)


@pytest.mark.slow
def test_null_study_false_alarm_rate_is_below_the_level() -> None:
    """Identical worlds: a positive bound is a false alarm; at 95% it must be rarer than 5%.

    Measured (60 runs per world, two scores to select from): 0 false alarms for epsilon and for
    mu in 200 games with continuous scores, 200 with tied scores and 100 with a 25% selection
    share (Bonferroni and the held-out runs make the bound conservative).
    """
    cont = _games(0.0, 60, 200, seed=11)
    tied = _games(0.0, 60, 200, seed=12, discrete=True)
    small_selection = _games(0.0, 60, 100, seed=14, select=0.25)
    for res in (cont, tied, small_selection):
        assert np.mean(res[:, 0] > 0) <= 0.05
        assert np.mean(res[:, 1] > 0) <= 0.05


@pytest.mark.slow
def test_coverage_when_the_worlds_differ() -> None:
    """A 1-GDP pair of worlds: the mu bound exceeds 1 (and epsilon its GDP value) rarely.

    Measured at 400 runs per world: median mu bound 0.59, epsilon 0.66 (100 games).
    """
    res = _games(1.0, 400, 100, seed=13)
    assert np.mean(res[:, 1] > 1.0) <= 0.05
    assert np.mean(res[:, 0] > gdp_epsilon(1.0, 1e-5)) <= 0.05
    assert np.median(res[:, 1]) > 0.3  # and it does detect the difference


def test_bad_input_is_an_input_error() -> None:
    with pytest.raises(InputError, match="confidence"):
        game_bounds({"s": (np.zeros(10), np.zeros(10))}, delta=1e-5, confidence=1.0)
    with pytest.raises(InputError, match="at least 4 runs"):
        game_bounds({"s": (np.zeros(2), np.zeros(2))}, delta=1e-5)
