"""Calibration (no false alarm on fresh population samples) and power (planted leaks are
flagged by the responsible attack) on the bundled Adult table."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attacks import AuditResult, run_audit

ADULT = Path(__file__).resolve().parents[1] / "privsynth" / "data" / "adult.csv.gz"
N = 5_000
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


@lru_cache(maxsize=1)
def adult() -> pd.DataFrame:
    return pd.read_csv(ADULT, skipinitialspace=True, na_values=["?"])


def triple(seed: int, n: int = N) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Disjoint train, holdout and a fresh 'synthetic' sample of the population."""
    df = adult()
    p = np.random.default_rng(seed).permutation(len(df))
    parts = [df.iloc[p[i * n : (i + 1) * n]].reset_index(drop=True) for i in range(3)]
    return parts[0], parts[1], parts[2]


def flagged(res: AuditResult, name: str) -> bool:
    """True when the metric's interval excludes its null value in the risky direction."""
    m = res.metric(name)
    if m.higher_is_riskier:
        return m.estimate.ci_low > m.null_value
    return m.estimate.ci_high < m.null_value


def alarms(res: AuditResult) -> list[str]:
    return [n for n, m in res.metrics().items() if m.null_value is not None and flagged(res, n)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fresh_sample_shows_no_risk(seed):
    train, holdout, synthetic = triple(seed)
    res = run_audit(train, holdout, synthetic, seed=seed)
    assert res.ok, [(a.attack, a.message) for a in res.attacks]
    assert alarms(res) == []
