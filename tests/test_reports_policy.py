"""Policy files and the verdict: check semantics, exit codes, configuration errors."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from attacks.results import Estimate, Metric
from privsynth.errors import InputError
from reports.examples import example_audit
from reports.policy import PRESETS, Check, load_policy, parse_policy
from reports.verdict import evaluate, evaluate_check


def _check(**kw) -> Check:
    base = dict(
        id="c", metric="membership.distance.auc", comparison="max", threshold=0.6, statistic="upper"
    )
    return Check(**{**base, **kw})


def _metric(v: float, lo: float, hi: float) -> Metric:
    return Metric("membership.distance.auc", Estimate(v, lo, hi))


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_with_rationale_and_source(name: str) -> None:
    policy = load_policy(name)
    assert policy.checks and len(policy.sha256) == 64 and policy.source == f"preset:{name}"
    for c in policy.checks:
        assert c.rationale and c.source, c.id


def test_default_statistic_is_the_conservative_end() -> None:
    p = parse_policy(
        {
            "checks": [
                {"metric": "dcr.share_closer_to_train", "max": 0.6},
                {"metric": "dcr.nndr_ratio", "min": 0.9},
            ]
        }
    )
    assert [c.statistic for c in p.checks] == ["upper", "lower"]


@pytest.mark.parametrize(
    "data, fragment",
    [
        (
            {"checks": [{"metric": "dcr.share_closer_to_train", "max": 0.6, "maxx": 1}]},
            "unknown key",
        ),
        (
            {"checks": [{"metric": "dcr.share_closer_to_train", "max": 0.6}], "extra": 1},
            "unknown key",
        ),
        ({"checks": [{"metric": "no.such.metric", "max": 0.6}]}, "unknown metric"),
        ({"checks": [{"metric": "dcr.share_closer_to_train"}]}, "exactly one"),
        ({"checks": [{"metric": "dcr.share_closer_to_train", "max": 1, "min": 0}]}, "exactly one"),
        (
            {"checks": [{"metric": "dcr.share_closer_to_train", "max": 0.6, "statistic": "mean"}]},
            "statistic",
        ),
        ({"checks": []}, "at least one"),
        ({"checks": [{"metric": "dcr.share_closer_to_train", "max": "x"}]}, "number"),
        (
            {"report": {"min_count": 0}, "checks": [{"metric": "dcr.nndr_ratio", "min": 1}]},
            "min_count",
        ),
        (
            {
                "checks": [
                    {"id": "a", "metric": "dcr.nndr_ratio", "min": 1},
                    {"id": "a", "metric": "dcr.nndr_ratio", "min": 1},
                ]
            },
            "duplicate",
        ),
    ],
)
def test_bad_policies_are_input_errors(data: dict, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        parse_policy(data)


def test_policy_file_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_policy(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("checks = [\n")
    with pytest.raises(InputError, match="TOML"):
        load_policy(bad)
    good = tmp_path / "p.toml"
    good.write_text(
        '[[checks]]\nmetric = "attribute.income.risk"\nmax = 0.1\n'
        '[[checks]]\nmetric = "utility.ml.gap"\nmax = 0.1\nstatistic = "value"\n'
    )
    p = load_policy(good)
    assert [c.kind for c in p.checks] == ["privacy", "utility"]


@pytest.mark.parametrize(
    "stat, v, lo, hi, expected",
    [
        ("upper", 0.50, 0.48, 0.52, "PASS"),
        ("upper", 0.58, 0.55, 0.61, "INCONCLUSIVE"),  # straddles: never PASS
        ("upper", 0.70, 0.65, 0.75, "FAIL"),
        ("value", 0.58, 0.55, 0.61, "PASS"),
        ("value", 0.62, 0.59, 0.65, "FAIL"),
        ("lower", 0.62, 0.59, 0.65, "PASS"),
        ("lower", 0.70, 0.65, 0.75, "FAIL"),
    ],
)
def test_check_statuses(stat: str, v: float, lo: float, hi: float, expected: str) -> None:
    assert evaluate_check(_check(statistic=stat), _metric(v, lo, hi)).status == expected


def test_min_checks() -> None:
    c = _check(metric="dcr.nndr_ratio", comparison="min", threshold=0.9, statistic="lower")
    assert evaluate_check(c, _metric(1.0, 0.95, 1.05)).status == "PASS"
    assert evaluate_check(c, _metric(0.92, 0.85, 0.99)).status == "INCONCLUSIVE"
    assert evaluate_check(c, _metric(0.5, 0.45, 0.55)).status == "FAIL"


def test_missing_metric_is_error() -> None:
    r = evaluate_check(_check(), None, "attack could not run")
    assert r.status == "ERROR" and "could not run" in r.explanation


def test_verdicts_and_exit_codes() -> None:
    policy = load_policy("standard")
    _, verdict, code, _ = evaluate(policy, example_audit())
    assert (verdict, code) == ("PASS", 0)
    checks, verdict, code, summary = evaluate(policy, example_audit(leaky=True))
    assert (verdict, code) == ("FAIL", 1)
    assert "exact-copies" in summary and "membership-distance-auc" in summary
    checks, verdict, code, summary = evaluate(policy, example_audit(errored="membership.density"))
    assert (verdict, code) == ("INCONCLUSIVE", 3)
    errs = [c for c in checks if c.status == "ERROR"]
    assert {c.metric for c in errs} == {
        "membership.density.auc",
        "membership.density.tpr_at_fpr_1pct",
        # a missing metric is ERROR even where the check applies "if_supported"
        "membership.density.tpr_at_fpr_0.1pct",
    }
    assert "could not run" in errs[0].explanation


def test_errored_attack_not_in_policy_still_blocks_pass() -> None:
    policy = parse_policy({"checks": [{"metric": "dcr.excess", "max": 0.05}]})
    _, verdict, code, summary = evaluate(policy, example_audit(errored="membership.distance"))
    assert (verdict, code) == ("INCONCLUSIVE", 3) and "membership.distance" in summary


def test_utility_check_without_utility_is_error() -> None:
    policy = parse_policy({"checks": [{"metric": "utility.ml.gap", "max": 0.1}]})
    checks, verdict, code, _ = evaluate(policy, example_audit())
    assert checks[0].status == "ERROR" and code == 3


def _excess(v: float, lo: float, hi: float) -> Metric:
    return Metric("exact_match.excess", Estimate(v, lo, hi), null_value=0.0)


def test_significant_fail_rule_needs_the_null_excluded_and_the_estimate_beyond() -> None:
    """fail = "significant": FAIL when the (adjusted) interval excludes the no-leak value and
    the estimate is beyond the threshold; PASS and the default rule are unchanged."""
    sig = _check(metric="exact_match.excess", threshold=0.0015, fail="significant")
    default = _check(metric="exact_match.excess", threshold=0.0015)
    leak = _excess(0.0029, 0.0012, 0.0046)  # 0.3% copies on a 3,200-record holdout
    assert evaluate_check(default, leak).status == "INCONCLUSIVE"
    r = evaluate_check(sig, leak)
    assert r.status == "FAIL" and "no-leak value" in r.explanation
    # below the threshold, or the null not excluded: never FAIL, whatever the rule
    assert evaluate_check(sig, _excess(0.0012, 0.0002, 0.0030)).status == "INCONCLUSIVE"
    assert evaluate_check(sig, _excess(0.0029, -0.0001, 0.0046)).status == "INCONCLUSIVE"
    assert evaluate_check(sig, _excess(0.0002, -0.0010, 0.0012)).status == "PASS"
    # the Bonferroni stretch applies to the null test too: 11 checks push 0.0008 below 0
    weaker = _excess(0.0029, 0.0008, 0.0046)
    assert evaluate_check(sig, weaker).status == "FAIL"
    assert evaluate_check(sig, weaker, family=11).status == "INCONCLUSIVE"
    # a min check (lower is riskier): mirror image around the null value 1
    ratio = Metric("dcr.nndr_ratio", Estimate(0.85, 0.8, 0.95), null_value=1.0)
    c = _check(metric="dcr.nndr_ratio", comparison="min", threshold=0.9, statistic="lower")
    assert evaluate_check(c, ratio).status == "INCONCLUSIVE"
    assert evaluate_check(replace(c, fail="significant"), ratio).status == "FAIL"
    # a metric without a null value cannot use the rule
    no_null = Metric("exact_match.excess", Estimate(0.0029, 0.0012, 0.0046))
    assert evaluate_check(sig, no_null).status == "INCONCLUSIVE"


def test_fail_rule_is_parsed_and_validated() -> None:
    p = parse_policy({"checks": [{"metric": "dcr.excess", "max": 0.05, "fail": "significant"}]})
    assert p.checks[0].fail == "significant"
    assert parse_policy({"checks": [{"metric": "dcr.excess", "max": 0.05}]}).checks[0].fail == (
        "interval"
    )
    with pytest.raises(InputError, match="fail must be one of"):
        parse_policy({"checks": [{"metric": "dcr.excess", "max": 0.05, "fail": "often"}]})
    bad = {"metric": "utility.ml.gap", "max": 0.1, "statistic": "value", "fail": "significant"}
    with pytest.raises(InputError, match="interval statistic"):
        parse_policy({"checks": [bad]})
    with pytest.raises(ValueError, match="fail must be"):
        _check(fail="sometimes")
    with pytest.raises(dataclasses.FrozenInstanceError):
        _check().threshold = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("name", PRESETS)
def test_presets_gate_every_knowledge_family_and_fail_on_demonstrated_leaks(name: str) -> None:
    policy = load_policy(name)
    metrics = {c.metric for c in policy.checks}
    assert {"attribute.rare_class.max_excess", "singling_out.max_excess"} <= metrics
    assert {"linkability.max_excess", "exact_match.excess"} <= metrics
    assert all(c.fail == "significant" for c in policy.checks if c.kind == "privacy")
