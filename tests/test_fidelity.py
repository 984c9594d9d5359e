"""Report fidelity views: rule satisfaction as a policy check, k-suppressed distributions,
subgroup fidelity and fairness deltas, association matrices, fit-for verdicts, rendering."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from privsynth.io import example_path
from privsynth.schema import Schema
from reports.datasheet import render_datasheet
from reports.examples import example_audit
from reports.fidelity import distributions, sensitive_columns
from reports.gate import external_references, make_report
from reports.policy import parse_policy
from reports.render_html import render_html
from reports.render_markdown import render_markdown
from reports.utility import compute_utility
from reports.verdict import evaluate

REPORT_SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "report.schema.json").read_text())
RULES = ['marital-status == "Never-married" or age >= 18', "capital-gain == 0 or age >= 20"]


@pytest.fixture(scope="module")
def schema() -> Schema:
    data = json.loads(example_path("adult-schema.json").read_text())
    data["constraints"] = RULES
    return Schema.from_dict(data)


@pytest.fixture(scope="module")
def split(adult: pd.DataFrame):
    df = adult.sample(4000, random_state=3).reset_index(drop=True)
    return df.iloc[:3000].reset_index(drop=True), df.iloc[3000:].reset_index(drop=True)


@pytest.mark.slow
def test_copy_of_real_data_has_zero_subgroup_error_and_fairness_deltas(split, schema) -> None:
    train, holdout = split
    sec, _ = compute_utility(
        train, holdout, train.copy(), target="income", constraints=schema.rules,
        subgroups=["sex", "race"], min_count=10, seed=1,
        column_types={c.name: c.type for c in schema.synth_columns},
    )  # fmt: skip
    values = {m.name: m.estimate.value for m in sec.metrics}
    assert values["utility.subgroup.max_mean_tvd"] == 0.0
    assert values["utility.fairness.demographic_parity_delta"] == 0.0
    assert values["utility.fairness.equalized_odds_delta"] == 0.0
    expected = schema.rules.satisfaction(train)["all"]
    assert values["utility.constraints.satisfaction"] == pytest.approx(expected)
    fid = sec.fidelity
    race = next(c for c in fid["subgroups"]["columns"] if c["column"] == "race")
    counts = train["race"].value_counts()
    small = int((counts < 10).sum() + 0)
    assert race["suppressed_groups"] >= small  # groups under k never shown
    assert all(g["n_train"] >= 10 for g in race["groups"])
    corr = fid["correlations"]
    assert np.allclose(corr["real"], corr["synthetic"])


@pytest.mark.slow
def test_shuffled_synthetic_shows_bias_loss_and_fails_fit(split, schema) -> None:
    train, holdout = split
    rng = np.random.default_rng(0)
    shuffled = pd.DataFrame({c: rng.permutation(train[c].to_numpy()) for c in train.columns})
    sec, _ = compute_utility(
        train, holdout, shuffled, target="income", subgroups=["sex"], min_count=10, seed=1,
        column_types={c.name: c.type for c in schema.synth_columns},
    )  # fmt: skip
    values = {m.name: m.estimate.value for m in sec.metrics}
    # independent columns erase the sex/income link: the real model's parity gap (~0.2) is lost
    assert values["utility.fairness.demographic_parity_delta"] > 0.1
    fits = {f["use"]: f["fit"] for f in sec.fidelity["fit_for"]}
    assert (
        not fits["pairwise relationships and cross-tabulations"]
        or values["utility.marginal_2way.mean_tvd"] <= 0.10
    )
    assert not fits["training a model for the target, validated on real data"]


def test_satisfaction_is_a_policy_check(split, schema) -> None:
    train, holdout = split
    good = train[schema.rules.satisfied(train)].reset_index(drop=True)
    bad = good.copy()
    bad.loc[:99, "age"] = 17
    bad.loc[:99, "marital-status"] = "Widowed"  # 100 rows break the first rule
    policy = parse_policy(
        {
            "checks": [
                {
                    "id": "rules",
                    "metric": "utility.constraints.satisfaction",
                    "min": 0.999,
                    "statistic": "value",
                }
            ]
        }  # fmt: skip
    )
    for table, status in ((good, "PASS"), (bad, "FAIL")):
        sec, _ = compute_utility(train, holdout, table, constraints=schema.rules)
        checks, *_ = evaluate(policy, example_audit(), sec)
        assert checks[0].status == status
    assert sec.fidelity["constraints"]["all"] == pytest.approx(1 - 100 / len(bad))


def test_distributions_use_synthetic_labels_and_suppress_small_bins(split) -> None:
    train, _ = split
    train = train.copy()
    train.loc[0, "native-country"] = "Atlantis"  # a real-only value: must never be a label
    synth = train.sample(frac=1.0, random_state=0).reset_index(drop=True)
    synth.loc[0, "native-country"] = "United-States"
    out = {d["column"]: d for d in distributions(train, synth, {"native-country": False}, k=10)}
    nc = out["native-country"]
    assert "Atlantis" not in nc["labels"] and nc["suppressed"] >= 1
    real_counts = train["native-country"].value_counts()
    for label in nc["labels"]:
        if label in real_counts:
            assert real_counts[label] >= 10
    num = distributions(train, synth, {"age": True}, k=10)[0]
    assert abs(sum(num["real"]) - 1) < 0.05 and len(num["labels"]) <= 17


@pytest.mark.slow
def test_report_renders_fidelity_and_validates(split, schema) -> None:
    train, holdout = split
    report = make_report(
        example_audit(), "standard", train=train, holdout=holdout, synthetic=holdout,
        target="income", constraints=schema.rules, subgroups=["sex"],
    )  # fmt: skip
    jsonschema.validate(json.loads(report.to_json()), REPORT_SCHEMA)
    html = render_html(report)
    assert "What this table is fit for" in html and "Business rules" in html
    assert html.count("<svg") >= 10 and "Association: synthetic" in html
    assert external_references(html) == []
    md = render_markdown(report)
    assert "business rules:" in md and "subgroups of `sex`" in md
    sheet = render_datasheet(report, schema=schema)
    assert "of rows meet every schema rule" in sheet and "Fit for" in sheet


def test_sensitive_columns_checks_names(schema) -> None:
    assert sensitive_columns(schema, ["sex"]) == ["sex"]
    with pytest.raises(Exception, match="not a synthesized column"):
        sensitive_columns(schema, ["nope"])
    with pytest.raises(Exception, match="categorical"):
        sensitive_columns(schema, ["age"])


@pytest.mark.slow
def test_audit_gate_reports_rules_and_subgroups(tmp_path: Path, split, schema) -> None:
    from typer.testing import CliRunner

    import privsynth.cli.commands  # noqa: F401
    from privsynth.cli.app import app

    train, holdout = split
    paths = {}
    for name, df in (("train", train), ("holdout", holdout), ("synthetic", holdout)):
        paths[name] = tmp_path / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(schema.to_json())
    base = ["audit", "--train", str(paths["train"]), "--holdout", str(paths["holdout"]),
            "--synthetic", str(paths["synthetic"]), "--schema", str(schema_path), "-q",
            "--jobs", "1"]  # fmt: skip
    runner = CliRunner()
    r = runner.invoke(app, [*base, "--subgroup", "nope", "--policy", "standard"])
    assert r.exit_code == 2 and "not a synthesized column" in r.output
    out = tmp_path / "rep"
    r = runner.invoke(
        app, [*base, "--policy", "standard", "--report", str(out), "--subgroup", "sex",
              "--target", "income"],
    )  # fmt: skip
    assert r.exit_code in (0, 1, 3), r.output
    data = json.loads((out / "report.json").read_text())
    fid = data["utility"]["fidelity"]
    assert fid["constraints"]["rules"][0]["rule"] == RULES[0]
    assert fid["subgroups"]["columns"][0]["column"] == "sex"
