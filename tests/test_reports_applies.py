"""``applies = "if_supported"``: a privacy check whose metric the sample cannot support (context
``supported = 0``, e.g. TPR at 0.1% FPR on a small holdout) is NOT_APPLICABLE: no share of the
gate's error, no say in the verdict, listed with why in every rendering (reports/verdict.py)."""

from __future__ import annotations

import dataclasses
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

import privsynth.cli.commands  # noqa: F401  (registers the commands)
from attacks import ATTACKS, AuditData
from attacks.results import AttackResult, AuditResult, Estimate, Metric
from privsynth.cli.app import app
from privsynth.errors import InputError
from reports.datasheet import render_datasheet
from reports.gate import make_report
from reports.model import Report, UtilitySection
from reports.policy import Check, Policy, load_policy, parse_policy
from reports.render_html import render_html
from reports.render_junit import render_junit
from reports.render_markdown import render_markdown
from reports.render_terminal import render_terminal
from reports.verdict import check_shares, evaluate, is_applicable, not_applicable_checks

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "report.schema.json").read_text())
LOW = ("membership-distance-tpr-0.1pct", "membership-density-tpr-0.1pct")
REASON = "needs about 2,995 non-members per fitting half; this holdout is too small"


def _low_checks(applies: str = "if_supported") -> list[dict]:
    return [
        {
            "id": cid,
            "metric": f"membership.{kind}.tpr_at_fpr_0.1pct",
            "max": 0.004,
            "fail": "significant",
            "applies": applies,
        }
        for cid, kind in zip(LOW, ("distance", "density"), strict=True)
    ]


BASE = [
    {"id": "distance-auc", "metric": "membership.distance.auc", "max": 0.6},
    {"id": "density-auc", "metric": "membership.density.auc", "max": 0.6},
]


@pytest.fixture(scope="module")
def small_audit(adult: pd.DataFrame) -> AuditResult:
    """The two membership attacks on a bundled-Adult split of 2,400 / 600 records (each fitting
    half holds ~300 non-members, far below the 2,995 that 0.1% FPR needs) against a fresh
    sample of other Adult rows."""
    df = adult.sample(5400, random_state=11).reset_index(drop=True)
    train, holdout, syn = df.iloc[:2400], df.iloc[2400:3000], df.iloc[3000:]
    data = AuditData.prepare(*(t.reset_index(drop=True) for t in (train, holdout, syn)), seed=3)
    wanted = ("membership.distance", "membership.density")
    return AuditResult(
        [c.from_data(data).evaluate() for c in ATTACKS if c.name in wanted], dict(data.settings)
    )


def test_unsupported_level_is_not_applicable_and_leaves_the_verdict_alone(
    small_audit: AuditResult,
) -> None:
    metrics = small_audit.metrics()
    for kind in ("distance", "density"):
        ctx = metrics[f"membership.{kind}.tpr_at_fpr_0.1pct"].context
        assert ctx["supported"] == 0.0 and ctx["nonmembers_per_half"] < 2995
    base = parse_policy({"checks": BASE})
    with_low = parse_policy({"checks": [*BASE, *_low_checks()]})
    results0, verdict0, code0, _ = evaluate(base, small_audit)
    results, verdict, code, summary = evaluate(with_low, small_audit)
    by_id = {r.id: r for r in results}
    assert [by_id[c].status for c in LOW] == ["NOT_APPLICABLE"] * 2
    assert all(REASON in by_id[c].explanation for c in LOW)
    assert by_id[LOW[0]].estimate is None and by_id[LOW[0]].observed is None
    # the verdict and the other checks' outcomes are those of the policy without the new checks
    assert (verdict, code) == (verdict0, code0)
    assert [(r.id, r.status, r.observed) for r in results0] == [
        (r.id, r.status, r.observed) for r in results if r.id not in LOW
    ]
    assert "not applicable to this audit: " + ", ".join(LOW) in summary
    # the same checks applying "always" are INCONCLUSIVE at this size: never a PASS
    always = parse_policy({"checks": [*BASE, *_low_checks("always")]})
    results2, verdict2, _, _ = evaluate(always, small_audit)
    assert verdict2 == "INCONCLUSIVE"
    assert {r.status for r in results2 if r.id in LOW} == {"INCONCLUSIVE"}
    # ... saying why, not showing a Bonferroni-stretched [0, 1] (it read [-0.01, 1.54])
    for r in results2:
        if r.id in LOW:
            assert r.explanation.startswith(f"not measurable at this size ({REASON})")
            assert "straddles" not in r.explanation and "Bonferroni" not in r.explanation


def test_every_rendering_lists_the_check_and_why(small_audit: AuditResult) -> None:
    policy = parse_policy({"checks": [*BASE, *_low_checks()]})
    policy.source = "test"
    for audience in ("internal", "public"):
        report = make_report(small_audit, policy, audience=audience, seed=3)
        data = json.loads(report.to_json())
        jsonschema.validate(data, SCHEMA)
        assert Report.from_dict(data).to_dict() == data
        assert report.counts()["NOT_APPLICABLE"] == 2 and len(report.not_applicable()) == 2
        console = Console(record=True, width=400, file=io.StringIO())
        render_terminal(report, console)
        texts = {
            "terminal": console.export_text(),
            "html": render_html(report),
            "markdown": render_markdown(report),
            "junit": render_junit(report),
            "json": report.to_json(),
        }
        for name, text in texts.items():
            for cid in LOW:
                assert cid in text, (name, cid)
            assert REASON in text, name
        # each check's own row says NOT APPLICABLE, never PASS
        rows = {
            "terminal": _row(texts["terminal"], f"│ {LOW[0]} "),
            "html": _row(texts["html"], f"<tr><td><b>{LOW[0]}</b>"),
            "markdown": _row(texts["markdown"], f"| `{LOW[0]}` |"),
        }
        for name, row in rows.items():
            assert "NOT APPLICABLE" in row and "PASS" not in row, (name, row)
        assert data["checks"][2]["status"] == "NOT_APPLICABLE"
        suite = ET.fromstring(texts["junit"]).find("testsuite")
        assert suite.get("skipped") == "2"
        skipped = [
            c.get("name") for c in suite.findall("testcase") if c.find("skipped") is not None
        ]
        assert skipped == list(LOW)
        assert "did not run" in render_datasheet(report)
    # the public report names the constant need, never the holdout's exact size
    public = make_report(small_audit, policy, audience="public", seed=3)
    per_half = small_audit.metrics()["membership.distance.tpr_at_fpr_0.1pct"].context
    exact = str(int(per_half["nonmembers_per_half"]))
    for text in (public.to_json(), render_html(public), render_markdown(public)):
        assert f"{exact} non-members" not in text and "nonmembers_per_half" not in text


def _row(text: str, start: str) -> str:
    """The one line of ``text`` that starts with ``start`` (a check's row in a table)."""
    (line,) = [line for line in text.splitlines() if line.startswith(start)]
    return line


def _tpr(value: float, lo: float, hi: float, supported: float | None) -> AuditResult:
    ctx = {"target_fpr": 0.001}
    if supported is not None:
        ctx["supported"] = supported
    m = Metric(
        "membership.distance.tpr_at_fpr_0.1pct",
        Estimate(value, lo, hi, 0.95),
        null_value=0.001,
        context=ctx,
    )
    return AuditResult([AttackResult("membership.distance", "ok", [m])])


def test_a_supported_level_is_gated_as_usual() -> None:
    policy = parse_policy({"checks": _low_checks()[:1]})
    # supported: PASS when the upper bound is under the threshold, FAIL on a demonstrated leak
    results, verdict, code, _ = evaluate(policy, _tpr(0.0008, 0.0003, 0.002, 1.0))
    assert (results[0].status, verdict, code) == ("PASS", "PASS", 0)
    results, verdict, code, _ = evaluate(policy, _tpr(0.03, 0.028, 0.033, 1.0))
    assert (results[0].status, verdict, code) == ("FAIL", "FAIL", 1)
    results, verdict, _, _ = evaluate(policy, _tpr(0.003, 0.0005, 0.006, 1.0))
    assert (results[0].status, verdict) == ("INCONCLUSIVE", "INCONCLUSIVE")
    # no "supported" in the context: always in play
    results, _, _, _ = evaluate(policy, _tpr(0.03, 0.028, 0.033, None))
    assert results[0].status == "FAIL"
    # unsupported, even with a leak-sized estimate: not applicable, and a policy whose only
    # privacy check drops out decided nothing: INCONCLUSIVE, never PASS
    results, verdict, code, summary = evaluate(policy, _tpr(0.5, 0.0, 1.0, 0.0))
    assert results[0].status == "NOT_APPLICABLE"
    assert (verdict, code) == ("INCONCLUSIVE", 3) and "no privacy check applies" in summary


def test_a_missing_metric_stays_error() -> None:
    policy = parse_policy({"checks": _low_checks()[:1]})
    audit = AuditResult([AttackResult("membership.distance", "error", [], "boom")])
    results, verdict, _, _ = evaluate(policy, audit)
    assert results[0].status == "ERROR" and verdict == "INCONCLUSIVE"
    assert is_applicable(policy.checks[0], None)


def test_a_not_applicable_check_takes_no_share() -> None:
    checks = [
        Check(id="a", metric="exact_match.excess", comparison="max", threshold=0.002,
              statistic="upper", weight=3.0),
        Check(id="b", metric="membership.distance.auc", comparison="max", threshold=0.6,
              statistic="upper"),
        Check(id="low", metric="membership.distance.tpr_at_fpr_0.1pct", comparison="max",
              threshold=0.004, statistic="upper", fail="significant", applies="if_supported"),
    ]  # fmt: skip
    pol = Policy(name="t", checks=checks)
    assert check_shares(pol) == {"a": 0.6, "b": 0.2, "low": 0.2}
    assert check_shares(pol, not_applicable=frozenset({"low"})) == {"a": 0.75, "b": 0.25}
    assert check_shares(pol, frozenset({"a"}), frozenset({"low"})) == {"b": 1.0}
    # the multiplicity path: an exact-copies p-value of 0.017 lies between the levels of the
    # two shares (0.6 x 0.025 = 0.015 < 0.017 <= 0.75 x 0.025 = 0.01875), so it FAILs only
    # when the unsupported check takes no share
    copies = Metric(
        "exact_match.excess",
        Estimate(0.01, 0.001, 0.02, 0.95),
        null_value=0.0,
        context={"p_value": 0.017, "test_confidence": 0.95},
    )
    auc = Metric("membership.distance.auc", Estimate(0.5, 0.48, 0.52, 0.95), null_value=0.5)
    low = _tpr(0.5, 0.0, 1.0, 0.0).attacks[0].metrics[0]
    pol_sig = Policy(
        name="t",
        checks=[
            Check(id="a", metric="exact_match.excess", comparison="max", threshold=0.002,
                  statistic="upper", fail="significant", weight=3.0),
            *checks[1:],
        ],
    )  # fmt: skip
    audit = AuditResult(
        [
            AttackResult("exact_match", "ok", [copies]),
            AttackResult("membership.distance", "ok", [auc, low]),
        ]
    )
    assert not_applicable_checks(pol_sig, audit.metrics()) == frozenset({"low"})
    results, verdict, _, _ = evaluate(pol_sig, audit)
    assert [r.status for r in results] == ["FAIL", "PASS", "NOT_APPLICABLE"] and verdict == "FAIL"
    assert "0.019" in results[0].explanation  # 0.75 * 0.025 = 0.01875
    # had the check applied "always" (supported or not), a's share is 0.6: p 0.017 > 0.015
    always = Policy(
        name="t", checks=[*pol_sig.checks[:2], dataclasses.replace(checks[2], applies="always")]
    )
    results, _, _, _ = evaluate(always, audit)
    assert results[0].status != "FAIL" and results[2].status == "INCONCLUSIVE"


@pytest.mark.parametrize("bad", ["sometimes", "", 1, True, ["if_supported"]])
def test_bad_applies_values_are_rejected_with_one_line(bad: object) -> None:
    with pytest.raises(InputError) as err:
        parse_policy({"checks": [{**_low_checks()[0], "applies": bad}]})
    text = str(err.value)
    assert "\n" not in text and "applies" in text and LOW[0] in text
    assert "'always', 'if_supported'" in text


def test_applies_is_for_privacy_checks_only() -> None:
    check = {"metric": "utility.marginal_1way.mean_tvd", "max": 0.2, "applies": "if_supported"}
    with pytest.raises(InputError, match="privacy checks only"):
        parse_policy({"checks": [check]})
    ok = parse_policy({"checks": [{**check, "applies": "always"}]})
    assert ok.checks[0].applies == "always"
    with pytest.raises(ValueError, match="applies"):
        Check(id="x", metric="m", comparison="max", threshold=1.0, statistic="upper",
              applies="never")  # fmt: skip


def test_cli_rejects_a_bad_applies_with_exit_2(tmp_path: Path, adult: pd.DataFrame) -> None:
    rows = adult.head(200)
    for name in ("t", "h"):
        rows.to_csv(tmp_path / f"{name}.csv", index=False)
    policy = tmp_path / "p.toml"
    policy.write_text(
        '[[checks]]\nid = "low"\nmetric = "membership.distance.tpr_at_fpr_0.1pct"\n'
        'max = 0.004\napplies = "whenever"\n'
    )
    out = tmp_path / "report"
    args = ["audit", "-t", str(tmp_path / "t.csv"), "-H", str(tmp_path / "h.csv")]
    args += ["-S", str(tmp_path / "h.csv"), "--policy", str(policy), "--report", str(out), "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "applies must be one of" in result.output and "'low'" in result.output
    assert "Traceback" not in result.output and not out.exists()
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


def test_presets_parse_with_the_key() -> None:
    for name in ("standard", "strict"):
        policy = load_policy(name)
        assert all(c.applies in ("always", "if_supported") for c in policy.checks)


def test_a_policy_without_privacy_checks_is_judged_as_before() -> None:
    """The "no privacy check applies" rule needs a privacy check that dropped out: a
    utility-only policy PASSes on its utility checks as it always did."""
    policy = parse_policy(
        {"checks": [{"metric": "utility.marginal_1way.max_tvd", "max": 0.2, "statistic": "value"}]}
    )
    tvd = Metric("utility.marginal_1way.max_tvd", Estimate(0.05, 0.05, 0.05, 0.95))
    results, verdict, code, _ = evaluate(policy, AuditResult([]), UtilitySection(metrics=[tvd]))
    assert (results[0].status, verdict, code) == ("PASS", "PASS", 0)


def _membership_audit(train: pd.DataFrame, holdout: pd.DataFrame, syn: pd.DataFrame) -> AuditResult:
    data = AuditData.prepare(train, holdout, syn, seed=0, n_jobs=1)
    wanted = ("membership.distance", "membership.density")
    return AuditResult(
        [c.from_data(data).evaluate() for c in ATTACKS if c.name in wanted], dict(data.settings)
    )


@pytest.mark.slow
def test_a_large_holdout_runs_the_low_fpr_checks_of_the_presets(adult: pd.DataFrame) -> None:
    """6,000 records each of train, holdout and a fresh synthetic sample of the bundled Adult
    (the smallest supported shape of benchmarks/lowfpr_threshold.py, ``--nulls small``: the
    fresh null PASSed both checks in 30/30 seeds under standard); then 3% of train copied
    verbatim over synthetic rows (1% already FAILed 30/30 in the MST study)."""
    p = np.random.default_rng(0).permutation(len(adult))
    train, holdout, syn = (
        adult.iloc[p[i * 6000 : (i + 1) * 6000]].reset_index(drop=True) for i in range(3)
    )
    policy = load_policy("standard")
    results, _, _, summary = evaluate(policy, _membership_audit(train, holdout, syn))
    low = {r.id: r for r in results if r.id in LOW}
    assert [low[c].status for c in LOW] == ["PASS", "PASS"], summary
    assert "not applicable" not in summary
    leaky = syn.copy()
    at = np.random.default_rng(1).choice(len(syn), size=180, replace=False)
    leaky.iloc[at] = train.iloc[at].to_numpy()
    results, verdict, _, _ = evaluate(policy, _membership_audit(train, holdout, leaky))
    low = {r.id: r for r in results if r.id in LOW}
    assert low[LOW[0]].status == "FAIL" and verdict == "FAIL", low[LOW[0]].explanation
