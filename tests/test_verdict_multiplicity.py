"""The gate's joint multiplicity correction (reports/verdict.py): one Bonferroni over every
sub-test of every privacy check, split by the checks' weights, exact p-values where an attack
has them, Holm's step-down over the checks; and its validity on simulated leak-free families."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from attacks import rates
from attacks.results import AttackResult, AuditResult, Estimate, Metric
from privsynth.errors import InputError
from reports.fmt import num as fmt_num
from reports.policy import Check, Policy, parse_policy
from reports.verdict import (
    adjusted_bounds,
    check_shares,
    evaluate,
    evaluate_check,
    family_factor,
    metric_range,
    pass_bound,
    stretch_factor,
)

Z = sps.norm.ppf


def _check(cid: str = "c", metric: str = "exact_match.excess", thr: float = 0.002, w: float = 1.0):
    return Check(
        id=cid,
        metric=metric,
        comparison="max",
        threshold=thr,
        statistic="upper",
        fail="significant",
        weight=w,
    )


def _normal_metric(value: float, half: float, test_conf: float, name: str = "m") -> Metric:
    """An excess whose interval is a normal one built at ``test_conf`` per sub-test."""
    return Metric(
        name,
        Estimate(value, value - half, value + half, 0.95),
        null_value=0.0,
        context={"test_confidence": test_conf},
    )


def test_stretch_starts_from_the_sub_tests_level_not_the_family_level():
    # partial copies: 20 subsets at 1 - 0.05/20 each; one check of 15 equal shares
    t_sub = 0.05 / 20 / 2
    f = stretch_factor(1 / 15, 1 - 0.05 / 20)
    # the stretched bound sits at Bonferroni's joint z for 15 x 20 one-sided tests at 2.5%
    assert Z(1 - t_sub) * f == pytest.approx(Z(1 - 0.025 / 300), rel=1e-12)
    assert Z(1 - 0.025 / 300) == pytest.approx(3.77, abs=0.01)
    # the old rule (gate factor from the family level applied on top) reached z 4.53
    assert Z(1 - t_sub) * family_factor(15, 0.95) == pytest.approx(4.53, abs=0.01)
    # one-test checks are unchanged: family_factor is stretch_factor at share 1/m
    assert family_factor(15, 0.95) == pytest.approx(stretch_factor(1 / 15, 0.95), rel=1e-12)


def test_missing_test_confidence_reads_the_metric_level_which_is_conservative():
    m_known = _normal_metric(0.01, 0.006, 1 - 0.05 / 20)
    m_unknown = Metric("m", m_known.estimate, null_value=0.0)
    lo_known, _ = adjusted_bounds(m_known, 1 / 15)
    lo_unknown, _ = adjusted_bounds(m_unknown, 1 / 15)
    assert lo_unknown < lo_known  # reading the family level stretches more: never less safe


def test_exact_p_value_decides_at_the_checks_share():
    level = 0.025 / 15
    c = _check(thr=0.0015)
    for p, want in ((level * 0.99, "FAIL"), (level * 1.01, "INCONCLUSIVE")):
        m = Metric(
            "exact_match.excess",
            Estimate(0.003, -0.001, 0.004, 0.95),
            null_value=0.0,
            context={"p_value": p, "test_confidence": 0.95},
        )
        assert evaluate_check(c, m, share=1 / 15).status == want
    # the estimate must still be beyond the threshold
    m = Metric(
        "exact_match.excess",
        Estimate(0.001, 0.0005, 0.004, 0.95),
        null_value=0.0,
        context={"p_value": 1e-9},
    )
    assert evaluate_check(c, m, share=1 / 15).status == "INCONCLUSIVE"


def test_conditional_p_is_the_hypergeometric_tail_and_matches_the_bound():
    # 44 of 12,800 training vs 2 of 3,200 holdout records hit
    p = rates.conditional_p(44, 12_800, 2, 3_200)
    assert p == pytest.approx(sps.hypergeom.sf(43, 16_000, 12_800, 46), rel=1e-12)
    assert 2.0e-3 < p < 3.0e-3
    # duality with the reported interval: its lower end clears 0 where p is below the tail
    for kt, kh in ((44, 2), (46, 1), (43, 3), (20, 0)):
        p = rates.conditional_p(kt, 12_800, kh, 3_200)
        for conf in (0.95, 0.99, 0.999):
            lo = rates.conditional_difference(kt, 12_800, kh, 3_200, conf).ci_low
            # the bound uses the binomial (a little wider than the hypergeometric)
            assert not (lo > 0 and p > (1 - conf) / 2)
    assert rates.conditional_p(0, 12_800, 3, 3_200) == 1.0


def test_family_p_value_is_scaled_by_the_familys_own_share():
    conf = rates.bonferroni(0.95, 4)
    comps = [
        rates.compare_binary(f"s{i}", np.r_[np.ones(k), np.zeros(1000 - k)], np.zeros(250), conf)
        for i, k in enumerate((0, 5, 12, 3))
    ]
    metric, _ = rates.family_maximum("x", comps, 0.95, lambda w: w.label)
    smallest = min(c.p_value for c in comps)
    assert metric.context["p_value"] == pytest.approx(min(1.0, smallest * 4), rel=1e-9)
    assert metric.context["test_confidence"] == pytest.approx(conf)


def test_holm_step_down_adds_fails_only_to_a_failing_verdict():
    def m(name: str, p: float) -> Metric:
        est = Estimate(0.01, -0.01, 0.02, 0.95)
        return Metric(name, est, null_value=0.0, context={"p_value": p, "test_confidence": 0.95})

    checks = [
        _check("a", "exact_match.excess", 0.001),
        _check("b", "exact_match.near_copy_excess", 0.001),
    ]
    pol = Policy(name="t", checks=checks)

    def audit(pa: float, pb: float) -> AuditResult:
        metrics = [m("exact_match.excess", pa), m("exact_match.near_copy_excess", pb)]
        return AuditResult([AttackResult("exact_match", "ok", metrics)])

    # a at p = 0.001 <= 0.0125 FAILs; b at 0.02 > 0.0125 but <= 0.025 FAILs once a is removed
    results, verdict, _, _ = evaluate(pol, audit(0.001, 0.02))
    assert verdict == "FAIL" and [r.status for r in results] == ["FAIL", "FAIL"]
    # nothing below 0.0125: no step-down, the verdict is not FAIL
    results, verdict, _, _ = evaluate(pol, audit(0.02, 0.02))
    assert verdict == "INCONCLUSIVE" and {r.status for r in results} == {"INCONCLUSIVE"}


def test_weights_split_the_error_and_are_validated():
    pol = Policy(name="t", checks=[_check("a", w=3.0), _check("b", w=1.0)])
    assert check_shares(pol) == {"a": 0.75, "b": 0.25}
    assert check_shares(pol, frozenset({"a"})) == {"b": 1.0}
    base = {"metric": "exact_match.excess", "max": 0.002, "fail": "significant"}
    for bad in (0, -1, 101, True, "2", float("inf")):
        with pytest.raises(InputError, match="weight"):
            parse_policy({"checks": [{**base, "weight": bad}]})
    assert parse_policy({"checks": [{**base, "weight": 2}]}).checks[0].weight == 2.0


def test_joint_rule_keeps_the_family_wise_error_on_simulated_nulls():
    """Leak-free gates of 6 checks (3 exact p-values, 3 normal families of 1, 5 and 20 sub-tests
    with correlated statistics): the share of gates with any FAIL stays at most 2.5% (3 SE).
    Measured: 0.0227 over 4,000 gates (Bonferroni is nearly exact for nearly independent checks,
    so the lower bound of 0.005 catches a correction that spends far less than it may)."""
    rng = np.random.default_rng(7)
    checks = [
        _check(f"c{i}", "exact_match.excess", 0.0, w=(2.0 if i < 2 else 1.0)) for i in range(6)
    ]
    reps, fails = 2000, 0
    for _ in range(reps):
        shared = rng.normal()
        fired = False
        for i, c in enumerate(checks):
            if i < 3:
                p = float(rng.uniform())
                est = Estimate(0.01, -0.01, 0.02, 0.95)
                metric = Metric("m", est, null_value=0.0, context={"p_value": p})
            else:
                m = (1, 5, 20)[i - 3]
                conf = rates.bonferroni(0.95, m)
                z = 0.7 * shared + np.sqrt(1 - 0.49) * rng.normal(size=m)
                half = Z(0.5 + conf / 2)
                # each sub-test's estimate z (true value 0, SE 1); the family reports [max lo, max hi]
                est = Estimate(
                    float(z.max()), float((z - half).max()), float((z + half).max()), 0.95
                )
                metric = Metric("m", est, null_value=0.0, context={"test_confidence": conf})
            share = c.weight / sum(x.weight for x in checks)
            fired |= evaluate_check(c, metric, share=share).status == "FAIL"
        fails += fired
    rate = fails / reps
    assert rate <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / reps)
    assert rate > 0.005  # the test has power to see a broken correction


# --- the PASS side of a family: intersection-union (reports/verdict.py ``pass_bound``) -------
def _family(z: np.ndarray, m: int, pass_side: bool) -> Metric:
    """A maximum over ``m`` normal sub-tests (SE 1): [max lower, max upper] of the Bonferroni
    intervals, and (``pass_side``) the largest of the sub-tests' own 95% upper bounds."""
    conf = rates.bonferroni(0.95, m)
    half = Z(0.5 + conf / 2)
    est = Estimate(float(z.max()), float((z - half).max()), float((z + half).max()), 0.95)
    ctx: dict[str, float] = {"test_confidence": conf}
    if pass_side:
        ctx["pass_upper"] = float((z + Z(0.975)).max())
    return Metric("m", est, null_value=0.0, context=ctx)


def test_pass_reads_the_sub_tests_own_upper_bounds_fail_still_the_joint_one():
    z = np.array([-1.0, 0.5, -0.3, 0.2])  # four sub-tests, largest own upper 0.5 + 1.96
    check = _check(thr=2.6)
    assert evaluate_check(check, _family(z, 4, True), share=0.1).status == "PASS"
    # without the key the family's Bonferroni upper (0.5 + 2.50) decides: INCONCLUSIVE
    assert evaluate_check(check, _family(z, 4, False), share=0.1).status == "INCONCLUSIVE"
    res = evaluate_check(check, _family(z, 4, True), share=0.1)
    assert res.observed == pytest.approx(0.5 + Z(0.975))
    assert "intersection-union" in res.explanation  # the report says which bound PASSed
    # a utility check or a min check ignores the key (it is for privacy maxima only)
    util = Check(id="u", metric="utility.x", comparison="max", threshold=2.6, statistic="upper")
    assert evaluate_check(util, _family(z, 4, True)).status != "PASS"
    # FAIL is unchanged: it needs the joint (stretched) test whatever the PASS side reads
    big = np.array([6.0, 0.0, 0.0, 0.0])
    fail = evaluate_check(_check(thr=1.0), _family(big, 4, True), share=0.1)
    assert fail.status == "FAIL"


@pytest.mark.parametrize("m", [1, 20])
def test_intersection_union_pass_is_valid_at_the_boundary(m: int):
    """The worst case for a false PASS: every sub-test's true value exactly at the threshold
    (any sub-test above it makes PASS rarer). A false PASS needs every own upper bound at or
    below the threshold; measured rate <= 2.5% for every family size, with power to see a
    wrong bound (a 90% bound would PASS 5% of the time at m = 1)."""
    rng = np.random.default_rng(m)
    thr, reps = 3.0, 4000
    check = _check(thr=thr)
    # PASS iff pass_bound <= threshold (evaluate_check, test above)
    rate = np.mean(
        [pass_bound(check, _family(thr + rng.normal(size=m), m, True)) <= thr for _ in range(reps)]
    )
    assert rate <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / reps)
    if m == 1:
        assert rate > 0.015  # exactly 2.5% for one sub-test: the simulation sees the level


def test_stretched_bounds_are_shown_inside_the_metrics_range_decisions_unchanged():
    """A TPR of 0.004 [0.0005, 0.02] stretched to a share of 1/20 passes below 0 (a negative
    TPR); the explanation shows it at 0, and the status is what the unclipped bounds give."""
    check = Check(
        id="tpr",
        metric="membership.density.tpr_at_fpr_0.1pct",
        comparison="max",
        threshold=0.01,
        statistic="upper",
    )
    m = Metric(check.metric, Estimate(0.004, 0.0005, 0.02, 0.95), null_value=0.001)
    lo, hi = adjusted_bounds(m, 1 / 20)
    assert lo < 0 < hi
    r = evaluate_check(check, m, share=1 / 20)
    assert r.status == "INCONCLUSIVE"
    assert f"[0, {fmt_num(hi)}]" in r.explanation
    assert fmt_num(lo) not in r.explanation
    # an excess keeps its negative lower bound (its range is [-1, 1])
    ex = _normal_metric(0.001, 0.004, 0.95, name="exact_match.excess")
    r = evaluate_check(_check(thr=0.002), ex, share=1 / 20)
    assert f"[{fmt_num(adjusted_bounds(ex, 1 / 20)[0])}," in r.explanation
    assert metric_range("membership.distance.tpr_at_fpr_0.1pct") == (0.0, 1.0)
    assert metric_range("dcr.nndr_ratio") == (0.0, float("inf"))
    assert metric_range("attribute.a.b.excess") == (-1.0, 1.0)
