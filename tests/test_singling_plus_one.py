"""Singling out on the declared quasi-identifiers plus one other column
(``singling_out.plus_one.max_excess``; attacks/knowledge.py ``plus_one_sets``).

The catalogue's partial-knowledge attribute leak (3% of the training records' QIs with their
occupation and income, other columns drawn afresh) is what the family is for: on the QIs alone
those records are rarely rare-unique, on the QIs with their occupation many are. Figures measured
in benchmarks/results/gate_calibration_2026-12-03_s15.md (Adult 12,800 / 3,200 records).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from attacks import AuditData, AuditResult, SinglingOutAttack
from attacks.knowledge import plus_one_sets
from attacks.singling_out import PLUS_ONE_METRIC
from reports.build import knowledge_summary
from reports.policy import load_policy
from reports.verdict import evaluate, evaluate_check

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.gate_calibration import privacy_only  # noqa: E402
from benchmarks.leak_catalogue import QI, make  # noqa: E402


def _audit(scenario: str, seed: int, qi=QI) -> AuditResult:
    s, syn = make(scenario, seed)
    data = AuditData.prepare(s.train, s.holdout, syn, seed=seed, n_jobs=1, qi=qi)
    return AuditResult([SinglingOutAttack.from_data(data).evaluate()], dict(data.settings))


def _check(audit: AuditResult, preset: str, check_id: str):
    results, verdict, _, _ = evaluate(privacy_only(load_policy(preset)), audit)
    return next(r for r in results if r.id == check_id), verdict


def test_plus_one_sets_add_one_column_to_the_declared_set() -> None:
    cols = ["a", "b", "c", "d", "w"]
    sets = plus_one_sets(cols, ["b", "a"], exclude=["w"])
    assert [s.name for s in sets] == ["declared+c", "declared+d"]
    assert [s.columns for s in sets] == [("a", "b", "c"), ("a", "b", "d")]  # table order
    assert plus_one_sets(cols, None) == [] and plus_one_sets(cols, []) == []
    # declared = every column but one: the only extra set would be every column (``all``)
    assert plus_one_sets(["a", "b", "c"], ["a", "b"]) == []


def test_plus_one_family_skips_redundant_and_near_unique_columns() -> None:
    """On Adult, education-num is one code per education level (it adds nothing to the declared
    education and would make every record unique on its leave-one-out projections) and fnlwgt
    is near-unique: neither is an extra column; the seven others are, and all are tested."""
    res = _audit("fresh", 0).attacks[0]
    names = set(res.details["knowledge_plus_one"])
    assert "declared+education-num" not in names and "declared+fnlwgt" not in names
    assert names == {
        f"declared+{c}"
        for c in (
            "workclass",
            "occupation",
            "relationship",
            "capital-gain",
            "capital-loss",
            "hours-per-week",
            "income",
        )
    }
    assert res.details["tested_plus_one"] == 7


@pytest.mark.parametrize("seed", [6, 17])
def test_partial_attribute_leak_fails_on_the_qis_plus_its_secret(seed: int) -> None:
    """Partial attribute 3%: singling out's own family p-value is 0.13 (seed 6) and 0.66
    (seed 17), far above its share; with the occupation added to the QIs the records the leak
    reproduced are rare-unique and the plus-one check FAILs (family p 3.3e-6 and 2.6e-4,
    estimates 0.0050 and 0.0042 above the 0.0035 tolerance), under standard and strict."""
    audit = _audit("partial_attr_3pct", seed)
    metric = audit.metric(PLUS_ONE_METRIC)
    assert metric.estimate.ci_low > 0 and metric.context["p_value"] < 3e-4
    assert audit.metric("singling_out.max_excess").context["p_value"] > 0.1
    for preset in ("standard", "strict"):
        check, _ = _check(audit, preset, "singling-out-plus-one")
        assert check.status == "FAIL", (preset, check.explanation)
        base, _ = _check(audit, preset, "singling-out")
        assert base.status != "FAIL", base.explanation
    rows = [k for k in knowledge_summary(audit) if k["metric"] == PLUS_ONE_METRIC]
    assert len(rows) == 1 and rows[0]["worst"] == "declared+occupation"


def test_plus_one_not_applicable_without_declared_quasi_identifiers() -> None:
    """No declared QIs: the family has no set, the metric says so (supported = 0) and the
    preset's check, which applies if_supported, is NOT_APPLICABLE (no share of the error, no say
    in the verdict) with the reason in public terms."""
    audit = _audit("fresh", 1, qi=None)
    metric = audit.metric(PLUS_ONE_METRIC)
    assert metric.context["supported"] == 0.0
    assert (metric.estimate.ci_low, metric.estimate.ci_high) == (0.0, 1.0)
    check, _ = _check(audit, "standard", "singling-out-plus-one")
    assert check.status == "NOT_APPLICABLE"
    assert "needs declared quasi-identifiers" in check.explanation
    assert not [k for k in knowledge_summary(audit) if k["metric"] == PLUS_ONE_METRIC]
    # a user policy that applies the check always: INCONCLUSIVE (never PASS), saying what to do
    policy = privacy_only(load_policy("standard"))
    check = next(c for c in policy.checks if c.id == "singling-out-plus-one")
    always = replace(check, applies="always")
    result = evaluate_check(always, metric)
    assert result.status == "INCONCLUSIVE"
    assert "declare them to decide" in result.explanation
