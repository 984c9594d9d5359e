"""Power and validity of the rare-event statistics (attacks/rates.py conditional_difference,
singling out on rare-unique records, partial copies) on the bundled Adult.

Tolerances measured (benchmarks/results/gate_calibration_2026-12-01_power.md; Adult 12,800 /
3,200 / 12,800 records, declared quasi-identifiers): fresh-null upper bounds of
``singling_out.max_excess`` at most 0.0024 over 100 seeds (threshold 0.002 since session 6:
one fresh null of 100 is INCONCLUSIVE on it) and of
``exact_match.partial_copy_excess`` at most 0.028 (threshold 0.03); 3% QI-unique combinations
give a singling-out estimate of 0.0072-0.0084 (3/3 FAIL), 10% linkage partial copies a
partial-copy estimate of 0.046-0.056 (3/3 FAIL; 0.032-0.045 before the leak copied education-num
with education, gate_calibration_2026-12-01_w6_gate2.md). The simulated false-alarm rate of the
conditional lower bound is measured at 0.0%, 0.95% and 1.85% (nominal 2.5%) for the three
rates below (4,000 draws each).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from attacks import AuditData, AuditResult, ExactMatchAttack, SinglingOutAttack
from attacks.rates import conditional_difference
from attacks.singling_out import rare_unique
from attacks.stats import newcombe_diff
from reports.policy import load_policy
from reports.verdict import evaluate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.gate_calibration import privacy_only  # noqa: E402
from benchmarks.leak_catalogue import QI, make  # noqa: E402


@pytest.mark.parametrize("rate", [0.0005, 0.002, 0.01])
def test_conditional_lower_bound_keeps_its_level_under_the_null(rate: float) -> None:
    """Equal rates on both sides (12,800 vs 3,200 records): the 95% interval's lower end
    excludes 0 in at most 2.5% of 4,000 draws (+ Monte Carlo slack; ~4 s each, distinct count
    pairs evaluated once)."""
    rng = np.random.default_rng(int(rate * 1e6))
    k_t, k_h = rng.binomial(12_800, rate, 4_000), rng.binomial(3_200, rate, 4_000)
    pairs, counts = np.unique(np.column_stack([k_t, k_h]), axis=0, return_counts=True)
    alarms = sum(
        n * (conditional_difference(int(a), 12_800, int(b), 3_200, 0.95).ci_low > 0)
        for (a, b), n in zip(pairs, counts, strict=True)
    )
    assert alarms / 4_000 <= 0.025 + 0.008


def test_conditional_bound_has_power_where_newcombe_has_little() -> None:
    """49 of 12,800 training records vs 1 of 3,200 holdout records (the 1% QI-unique leak of
    the catalogue): the exact conditional test (p = 2e-4) clears 0 at the 99.9% level, where
    Newcombe's interval does not."""
    est = conditional_difference(49, 12_800, 1, 3_200, 0.999)
    lo_newcombe, _ = newcombe_diff(49, 12_800, 1, 3_200, 0.999)
    assert est.ci_low > 0 > lo_newcombe
    assert est.value == pytest.approx(49 / 12_800 - 1 / 3_200)
    # the upper end is never narrower than Newcombe's
    assert est.ci_high >= newcombe_diff(49, 12_800, 1, 3_200, 0.999)[1] - 1e-12


def test_rare_unique_needs_uniqueness_on_the_leave_one_out_projections() -> None:
    keys = np.array([0, 1, 2, 2, 3])  # records 0, 1, 4 unique on the whole set
    loo = [np.array([0, 0, 1, 1, 2]), np.array([0, 1, 2, 2, 3])]
    assert rare_unique(keys, loo, slack=0).tolist() == [False, False, False, False, True]
    assert rare_unique(keys, loo, slack=1).tolist() == [True, True, False, False, True]
    assert rare_unique(keys, [], slack=0).tolist() == [True, True, False, False, True]


def _check(scenario: str, seed: int, attack, check_id: str):
    s, syn = make(scenario, seed)
    data = AuditData.prepare(s.train, s.holdout, syn, seed=seed, n_jobs=1, qi=QI)
    audit = AuditResult([attack.from_data(data).evaluate()], dict(data.settings))
    results, _, _, _ = evaluate(privacy_only(load_policy("standard")), audit)
    return next(r for r in results if r.id == check_id)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "attack", "check_id"),
    [
        ("qi_unique_3pct", SinglingOutAttack, "singling-out"),
        ("linkage_10pct", ExactMatchAttack, "partial-copies"),
    ],
)
def test_partial_leaks_fail_standard_and_fresh_data_passes(scenario, attack, check_id) -> None:
    leak = _check(scenario, 0, attack, check_id)
    assert leak.status == "FAIL", leak.explanation
    null = _check("fresh", 0, attack, check_id)
    assert null.status == "PASS", null.explanation


def test_partial_copy_subsets_follow_a_public_rule() -> None:
    from attacks.knowledge import partial_copy_sets

    cols = [f"c{i}" for i in range(15)]
    subsets = partial_copy_sets(cols, 20, 2 / 3)
    assert len(subsets) == 20 and all(len(s) == 10 for s in subsets)
    # the column names alone decide the draw, not their order
    again = partial_copy_sets(cols[::-1], 20, 2 / 3)
    assert [set(s) for s in again] == [set(s) for s in subsets]
    assert partial_copy_sets(["a", "b"], 20, 2 / 3) == []
    assert all(len(s) == 2 for s in partial_copy_sets(["a", "b", "c"], 3, 0.1))


def test_sets_without_rare_unique_records_are_bounded_not_tested() -> None:
    """On Adult the public-rule subsets of 2-4 columns have almost no rare-unique records: they
    leave the Bonferroni family and carry deterministic bounds."""
    s, syn = make("fresh", 3)
    res = SinglingOutAttack.from_tables(s.train, s.holdout, syn, seed=3, qi=QI).evaluate()
    info = res.details["knowledge"]
    assert res.details["tested_sets"] == 2
    for name in ("subset-1", "subset-2", "subset-3"):
        row = next(m for m in res.metrics if m.name == f"singling_out.{name}.excess")
        assert row.estimate.method.startswith("not tested")
        assert row.estimate.ci_high == pytest.approx(row.context["rare_unique_train"])
    assert info["declared"]["ci_low"] <= 0 <= info["declared"]["ci_high"]


@pytest.mark.slow
def test_exact_copies_p_value_decides_under_the_joint_correction() -> None:
    """0.3% of the training records copied, seed 13 (41 of 12,800 training records vs 2 of 3,200
    holdout records copied; benchmarks/results/gate_calibration_2026-12-01_w7_copies.md): the
    unweighted exact p = 4.6e-3 is above exact-copies' share 3/19 of the gate's 2.5% (3.9e-3),
    the rarity-weighted p = 2.0e-3 is below it: FAIL; at an equal share 1/15 (1.7e-3)
    INCONCLUSIVE."""
    from dataclasses import replace

    from attacks.rates import conditional_p

    s, syn = make("copies_0.3pct", 13)
    data = AuditData.prepare(s.train, s.holdout, syn, seed=13, n_jobs=1, qi=QI)
    audit = AuditResult([ExactMatchAttack.from_data(data).evaluate()], dict(data.settings))
    metric = audit.metric("exact_match.excess")
    ctx = metric.context
    counts = (ctx["unique_training_records_copied"], 12_800, ctx["unique_holdout_records_copied"])
    assert ctx["unweighted_p_value"] == pytest.approx(conditional_p(*counts, 3_200), rel=1e-12)
    assert 4e-3 < ctx["unweighted_p_value"] < 5e-3
    assert 1.7e-3 < ctx["p_value"] < 3.9e-3
    standard = privacy_only(load_policy("standard"))
    results, verdict, _, _ = evaluate(standard, audit)
    check = next(r for r in results if r.id == "exact-copies")
    assert verdict == "FAIL" and check.status == "FAIL" and "p = " in check.explanation
    equal = replace(standard, checks=[replace(c, weight=1.0) for c in standard.checks])
    check = next(r for r in evaluate(equal, audit)[0] if r.id == "exact-copies")
    assert check.status == "INCONCLUSIVE"


@pytest.mark.slow
def test_exact_copies_weight_six_fails_a_copy_leak_weight_three_left_open() -> None:
    """0.3% of the training records copied, seed 6 (benchmarks/results/
    gate_calibration_2026-12-02_s11.md): the rarity-weighted exact p = 3.9e-3 is above the
    share exact-copies had at weight 3 (3/23 of the 2.5% in this one-attack audit, 3.3e-3):
    INCONCLUSIVE; at the presets' weight 6 (standard: 6/26, 5.8e-3) FAIL, in standard and strict."""
    from dataclasses import replace

    s, syn = make("copies_0.3pct", 6)
    data = AuditData.prepare(s.train, s.holdout, syn, seed=6, n_jobs=1, qi=QI)
    audit = AuditResult([ExactMatchAttack.from_data(data).evaluate()], dict(data.settings))
    p = audit.metric("exact_match.excess").context["p_value"]
    assert 3.5e-3 < p < 4.5e-3
    for name in ("standard", "strict"):
        policy = privacy_only(load_policy(name))
        assert next(c for c in policy.checks if c.id == "exact-copies").weight == 6
        check = next(r for r in evaluate(policy, audit)[0] if r.id == "exact-copies")
        assert check.status == "FAIL", (name, check.explanation)
        old = replace(
            policy,
            checks=[replace(c, weight=3.0) if c.id == "exact-copies" else c for c in policy.checks],
        )
        check = next(r for r in evaluate(old, audit)[0] if r.id == "exact-copies")
        assert check.status == "INCONCLUSIVE", (name, check.explanation)


@pytest.mark.slow
def test_singling_out_weighted_p_value_decides() -> None:
    """QI-unique 1%, seed 5 (benchmarks/results/gate_calibration_2026-12-01_w7_copies.md): the
    count of rare-unique records gives a family p of 5.3e-3 (above singling-out's 3.75e-3), the
    special-uniqueness-weighted test 4.2e-4, and the estimate (0.0028) is above the threshold
    (0.002): FAIL."""
    s, syn = make("qi_unique_1pct", 5)
    data = AuditData.prepare(s.train, s.holdout, syn, seed=5, n_jobs=1, qi=QI)
    audit = AuditResult([SinglingOutAttack.from_data(data).evaluate()], dict(data.settings))
    ctx = audit.metric("singling_out.max_excess").context
    assert 4e-3 < 2 * ctx["unweighted_p_value"] < 7e-3  # Bonferroni over the 2 tested sets
    assert 1e-4 < ctx["p_value"] < 1e-3
    results, verdict, _, _ = evaluate(privacy_only(load_policy("standard")), audit)
    check = next(r for r in results if r.id == "singling-out")
    assert verdict == "FAIL" and check.status == "FAIL", check.explanation


def test_partial_attribute_leak_is_not_passed_by_singling_out() -> None:
    """Partial-knowledge attribute 3%, seed 7 (gate_calibration_2026-12-01_s6_singling.md): every
    check PASSed at the old singling-out threshold 0.0025 (bound 0.00234), so the whole gate did;
    at 0.002 singling-out, and with it the gate, is not PASS."""
    s, syn = make("partial_attr_3pct", 7)
    data = AuditData.prepare(s.train, s.holdout, syn, seed=7, n_jobs=1, qi=QI)
    audit = AuditResult([SinglingOutAttack.from_data(data).evaluate()], dict(data.settings))
    standard = privacy_only(load_policy("standard"))
    check = next(r for r in evaluate(standard, audit)[0] if r.id == "singling-out")
    assert 0.002 < check.observed < 0.0025, check.explanation
    assert check.status == "INCONCLUSIVE", check.explanation


def test_class_inference_tolerance_fails_a_demonstrated_rare_class_leak() -> None:
    """The rare-class attribute leak, seed 7 (benchmarks/results/gate_calibration_2026-12-03_s14.md):
    every leaked record reproduced, excess 0.464 [0.262, 0.701] because the class's holdout
    control reaches 0.536 by chance. At the old tolerance 0.5 the check was INCONCLUSIVE; at 0.45
    it FAILs, in standard and strict."""
    from dataclasses import replace

    from attacks.attribute_match import MatchInferenceAttack

    s, syn = make("rare_class_attr", 7)
    data = AuditData.prepare(s.train, s.holdout, syn, seed=7, n_jobs=1, qi=QI)
    audit = AuditResult([MatchInferenceAttack.from_data(data).evaluate()], dict(data.settings))
    est = audit.metric("attribute_match.class.max_excess").estimate
    assert 0.45 < est.value < 0.5 and est.ci_low > 0.2
    for name in ("standard", "strict"):
        policy = privacy_only(load_policy(name))
        check = next(r for r in evaluate(policy, audit)[0] if r.id == "class-inference")
        assert check.status == "FAIL", (name, check.explanation)
        old = replace(
            policy,
            checks=[
                replace(c, threshold=0.5) if c.id == "class-inference" else c for c in policy.checks
            ],
        )
        check = next(r for r in evaluate(old, audit)[0] if r.id == "class-inference")
        assert check.status == "INCONCLUSIVE", (name, check.explanation)
