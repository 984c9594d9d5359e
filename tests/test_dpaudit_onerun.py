"""One-run auditing: the p-value, its validity on an exactly epsilon-DP mechanism, the CLI."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from privsynth.cli import commands  # noqa: F401  (registers the commands)
from privsynth.cli.app import app
from privsynth.dpaudit.onerun import OneRunConfig, one_run_epsilon, p_value
from privsynth.errors import InputError

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "naive_generator.py"


def test_p_value_without_delta_is_the_binomial_tail() -> None:
    q = 1 / (1 + math.exp(-0.7))
    assert p_value(0.7, 500, 100, 70, 0.0) == pytest.approx(stats.binom.sf(69, 100, q))
    vals = [p_value(e, 500, 100, 70, 1e-5) for e in (0.0, 0.5, 1.0, 2.0)]
    assert vals == sorted(vals) and vals[0] < 0.01 < vals[-1]


@pytest.mark.slow
def test_bound_is_valid_on_randomized_response() -> None:
    """Each canary's output bit is randomized response on its inclusion at epsilon 1 (exactly
    1-DP per canary, and the top guesses are then exactly on the null's boundary): at 95% the
    bound may exceed 1 in 5% of games; 100 games allow up to 9 (the 95% quantile of
    Bin(100, 0.05)). Measured: 4 of 100, median bound 0.60."""
    rng = np.random.default_rng(3)
    m, k, eps0 = 1000, 100, 1.0
    q0 = math.exp(eps0) / (1 + math.exp(eps0))
    bounds = []
    for _ in range(100):
        inside = rng.random(m) < 0.5
        said_in = np.where(rng.random(m) < q0, inside, ~inside)
        order = np.lexsort((rng.random(m), said_in.astype(float)))
        correct = int(inside[order[m - k :]].sum())
        bounds.append(one_run_epsilon(m, k, correct, 1e-5))
    assert np.sum(np.array(bounds) > eps0) <= 9
    assert np.median(bounds) > 0.3


def test_config_is_validated() -> None:
    with pytest.raises(InputError, match="at least 10"):
        OneRunConfig(canaries=5)
    with pytest.raises(InputError, match="guesses"):
        OneRunConfig(canaries=20, guess_in=30)
    assert OneRunConfig(canaries=1000).k_in == 100


@pytest.mark.slow
def test_cli_one_run_flags_a_copying_generator() -> None:
    gen = f"{sys.executable} {EXAMPLE} --in {{train}} --out {{out}} --seed {{seed}} --mode copy"
    res = CliRunner().invoke(
        app,
        [
            "dp-audit", "--example", "--columns", "workclass,marital-status,race,sex,relationship",
            "--worst-case-base", "30", "--generator", gen, "--epsilon", "1", "--one-run", "1000",
            "-q",
        ],
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "VIOLATION" in res.output and "100 of 100 guesses correct" in res.output
