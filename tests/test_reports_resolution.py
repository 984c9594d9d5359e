"""The copy check's resolution (reports/resolution.py): the model against a simulation of the
exact test, the search, and the sentence a real audit's exact-copies check carries.

Tolerances measured (20,000 simulated audits per setting, seed 0): at 12,800 / 3,200 with 2
holdout records copied by chance the model gives 0.669 / 0.921 for 38 / 50 copies against
0.671 / 0.922 simulated (the binomial limit of the hypergeometric p-value); at 2,000 / 500 it
gives 0.077 against 0.137 (conservative, as documented). 8,000 draws here: SE <= 0.006.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from attacks import AuditData, AuditResult, ExactMatchAttack
from reports.policy import load_policy
from reports.resolution import copy_detection_power, detectable_copies
from reports.verdict import evaluate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.gate_calibration import privacy_only  # noqa: E402
from benchmarks.leak_catalogue import make  # noqa: E402

LEVEL, THRESHOLD = 0.00375, 0.0015  # standard's exact-copies share and tolerance


def _simulated(n_t: int, n_h: int, chance: float, m: int, draws: int = 8000) -> float:
    rng = np.random.default_rng(0)
    x = m + rng.binomial(n_t - m, chance, draws)
    y = rng.binomial(n_h, chance, draws)
    p = sps.hypergeom.sf(x - 1, n_t + n_h, n_t, x + y)
    return float(np.mean((p <= LEVEL) & (x / n_t - y / n_h > THRESHOLD)))


@pytest.mark.parametrize(("n_t", "n_h", "hits", "m"), [(12800, 3200, 2, 38), (12800, 3200, 10, 60)])
def test_power_matches_a_simulation_of_the_exact_test(n_t, n_h, hits, m) -> None:
    model = copy_detection_power(m, n_t, n_h, hits / n_h, LEVEL, THRESHOLD)
    assert abs(model - _simulated(n_t, n_h, hits / n_h, m)) < 0.025


def test_power_never_overstates_the_exact_test_on_small_tables() -> None:
    model = copy_detection_power(20, 2000, 500, 1 / 500, LEVEL, THRESHOLD)
    assert model <= _simulated(2000, 500, 1 / 500, 20) + 0.02


def test_detectable_copies_is_the_smallest_leak_at_80_percent() -> None:
    c = 2 / 3200
    m = detectable_copies(12800, 3200, c, LEVEL, THRESHOLD)
    assert m is not None and 30 < m < 60
    assert copy_detection_power(m, 12800, 3200, c, LEVEL, THRESHOLD) >= 0.8
    assert copy_detection_power(m - 1, 12800, 3200, c, LEVEL, THRESHOLD) < 0.8
    # more chance copies need a larger leak; a larger holdout sees a smaller one (as a share)
    assert detectable_copies(12800, 3200, 10 / 3200, LEVEL, THRESHOLD) > m
    larger = detectable_copies(51200, 12800, c, LEVEL, THRESHOLD)
    assert larger is not None and larger / 51200 < m / 12800


def test_real_copy_checks_state_their_resolution_and_a_fail_does_not() -> None:
    pol = privacy_only(load_policy("standard"))
    said = {}
    for scenario in ("fresh", "copies_3pct"):
        s, syn = make(scenario, 0, n_real=10_000)
        data = AuditData.prepare(s.train, s.holdout, syn, seed=0, n_jobs=1)
        audit = AuditResult([ExactMatchAttack.from_data(data).evaluate()], dict(data.settings))
        results, _, _, _ = evaluate(pol, audit)
        said[scenario] = next(r for r in results if r.id == "exact-copies")
        said[f"{scenario} near"] = next(r for r in results if r.id == "near-copies")
    fresh, leak = said["fresh"], said["copies_3pct"]
    near = said["fresh near"]
    assert near.status == "PASS"
    found_near = re.search(
        r"near copies \(identical on all columns but one\) of about ([0-9.]+)% of the training",
        near.explanation,
    )
    # the near-copy chance rate is higher than the verbatim one, so its resolution is coarser
    assert found_near and 0.2 < float(found_near.group(1)) < 5.0
    assert fresh.status == "PASS" and leak.status == "FAIL"
    found = re.search(
        r"verbatim copies of about ([0-9.]+)% of the training records", fresh.explanation
    )
    assert found and 0.1 < float(found.group(1)) < 2.0
    assert "verbatim copies of about" not in leak.explanation
    assert not re.search(r"\b\d{3,}\b records", fresh.explanation)  # no record count printed
    assert float(found_near.group(1)) > float(found.group(1))
