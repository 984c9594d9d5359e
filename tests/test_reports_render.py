"""Every rendering of one report: JSON (schema, round trip), HTML (offline, plots), Markdown,
JUnit (failure count), terminal; suppression, the public audience, and no record values."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from reports.build import build_report
from reports.datasheet import render_datasheet
from reports.examples import example_audit
from reports.gate import FILES, external_references, gate_audit, make_report, render_all
from reports.model import Report
from reports.policy import load_policy
from reports.provenance import budget_from_manifest, build_provenance
from reports.render_html import render_html
from reports.render_junit import render_junit
from reports.render_markdown import render_markdown
from reports.render_terminal import render_terminal

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "report.schema.json").read_text())
SECRET = "ZQX-planted-record-7731"


@pytest.fixture(scope="module")
def tables(adult: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    df = adult.sample(3000, random_state=1).reset_index(drop=True)
    train, holdout = df.iloc[:2400].reset_index(drop=True), df.iloc[2400:].reset_index(drop=True)
    train = train.copy()
    train.loc[5, "native-country"] = SECRET  # one unique value in one training record
    rng = np.random.default_rng(0)
    synthetic = pd.DataFrame({c: rng.permutation(holdout[c].to_numpy()) for c in holdout.columns})
    return train, holdout, synthetic


@pytest.fixture(scope="module")
def report(tables) -> Report:
    train, holdout, synthetic = tables
    return make_report(
        example_audit(leaky=True),
        "standard",
        train=train,
        holdout=holdout,
        synthetic=synthetic,
        target="income",
        seed=7,
    )


def test_json_validates_and_round_trips(report: Report) -> None:
    data = json.loads(report.to_json())
    jsonschema.validate(data, SCHEMA)
    assert data["format"] == "privsynth-report" and data["version"] == "1"
    again = Report.from_dict(data)
    assert again.to_dict() == data


def test_junit_failure_count_equals_failed_checks(report: Report) -> None:
    root = ET.fromstring(render_junit(report))
    suite = root.find("testsuite")
    n_failed = len(report.failed())
    assert n_failed > 0
    assert int(suite.get("failures")) == n_failed == len(suite.findall("testcase/failure"))
    assert int(suite.get("tests")) == len(report.checks)


def test_html_is_offline_and_has_plots(report: Report) -> None:
    html = render_html(report)
    assert external_references(html) == []
    assert "<script" not in html and "http" not in html
    plots = html.split("<h2>Privacy budget")[0]  # the utility section adds its own (fidelity)
    assert plots.count("<svg") == 4  # DCR histogram, ROC, attribute risk, marginal heat map
    assert "FAIL" in html


def test_external_reference_detector() -> None:
    for bad in (
        '<img src="https://x/y.png">',
        "<style>@import 'a.css'</style>",
        '<a href="//cdn.example/x">',
        "<script>1</script>",
        '<link rel="x" href="a">',
    ):
        assert external_references(bad), bad


def test_markdown_and_terminal(report: Report) -> None:
    md = render_markdown(report)
    assert md.startswith("## privsynth risk report: ") and "FAIL" in md.splitlines()[0]
    assert "| `exact-copies` |" in md
    console = Console(record=True, width=120)
    render_terminal(report, console)
    text = console.export_text()
    assert text.index("verdict: FAIL") < text.index("exact-copies")
    assert "guarantee is UNKNOWN" in text
    worst = report.subgroups[0]  # the terminal names the worst subgroup, as Markdown does
    line = (
        f"worst subgroups (membership AUC [95% simultaneous]): {worst['column']}={worst['level']}"
    )
    assert line in " ".join(text.split())
    assert f"| {worst['column']} | {worst['level']} |" in md


def test_utility_names_worst_columns_and_ml(report: Report) -> None:
    u = report.utility
    assert u is not None and u.ml is not None
    names = {m.name for m in u.metrics}
    assert {
        "utility.marginal_1way.max_tvd",
        "utility.marginal_2way.max_tvd",
        "utility.correlation.max_abs_diff",
        "utility.ml.tstr",
        "utility.ml.trtr",
    } <= names
    assert u.worst_columns[0]["column"] in report.plots.marginal_heatmap["columns"]
    assert len(u.worst_pairs[0]["columns"]) == 2
    # column-shuffled holdout keeps 1-way marginals but destroys associations
    one = {m.name: m.estimate.value for m in u.metrics}
    assert one["utility.marginal_1way.max_tvd"] < one["utility.marginal_2way.max_tvd"]
    assert u.ml["tstr"] < u.ml["trtr"]


def test_small_bins_are_suppressed(report: Report) -> None:
    h = report.plots.dcr_histogram
    assert h is not None and h["suppressed"]
    for i in h["suppressed"]:
        assert h["train"][i] == h["holdout"][i] == 0
    assert all(c == 0 or c >= report.min_count for c in h["train"] + h["holdout"])


def test_public_audience_omits_records_and_seed(tables) -> None:
    train, holdout, synthetic = tables
    internal = make_report(example_audit(), "standard", seed=7)
    public = make_report(example_audit(), "standard", seed=7, audience="public")
    assert internal.records and internal.provenance.seed == 7
    assert public.records == {} and public.provenance.seed is None
    assert "seed" not in public.provenance.settings and "12345" not in public.to_json()
    jsonschema.validate(public.to_dict(), SCHEMA)


def test_budget_from_manifest() -> None:
    manifest = {
        "format": "privsynth-manifest/1",
        "method": "aim",
        "privacy": {
            "neighbouring": "add/remove one record",
            "total": {"epsilon": 1.0, "delta": 1e-9, "rho": 0.01},
            "ledger": {
                "accounting": "zCDP",
                "entries": [
                    {
                        "what": "age",
                        "mechanism": "gaussian",
                        "rho": 0.005,
                        "delta": 0.0,
                        "scale": 10.0,
                    }
                ],
            },
        },
    }
    b = budget_from_manifest(manifest)
    assert b.known and b.epsilon == 1.0 and len(b.entries) == 1 and "aim" in b.statement
    assert not budget_from_manifest(None).known


@pytest.mark.slow
def test_no_training_value_in_any_output(tables, tmp_path: Path) -> None:
    train, holdout, synthetic = tables
    code = gate_audit(
        example_audit(leaky=True),
        "standard",
        tmp_path,
        train=train,
        holdout=holdout,
        synthetic=synthetic,
        target="native-country",
        seed=1,
    )
    assert code == 1
    sheet = render_datasheet(Report.from_json((tmp_path / "report.json").read_text()))
    (tmp_path / "datasheet.md").write_text(sheet)
    files = [tmp_path / f for f in FILES.values()] + [tmp_path / "datasheet.md"]
    for f in files:
        assert f.is_file()
        assert SECRET not in f.read_text(), f.name
    # and the whole ID-like record (all values of row 5) never appears either
    row = ",".join(str(v) for v in train.iloc[5].tolist())
    for f in files:
        assert row not in f.read_text()


def test_build_rejects_unknown_audience() -> None:
    prov = build_provenance(inputs=[], policy={}, seed=None)
    with pytest.raises(ValueError):
        build_report(
            example_audit(),
            load_policy("standard"),
            budget=budget_from_manifest(None),
            provenance=prov,
            audience="everyone",
        )


def test_render_all_writes_every_file(tmp_path: Path) -> None:
    report = make_report(example_audit(errored="membership.distance"), "strict")
    paths = render_all(report, tmp_path / "out")
    assert set(paths) == set(FILES) and report.exit_code == 3
    root = ET.fromstring(paths["junit"].read_text())
    assert int(root.find("testsuite").get("errors")) >= 1


def test_a_negative_zero_bound_prints_as_zero():
    """A deterministic bound of minus a zero share was shown as "[-0, 0.0003]"."""
    from reports.fmt import num

    assert num(-0.0) == "0"
    assert num(-1e-9) == "-1e-09"
    assert num(0.0001152) == "0.0001152"
