"""The registry commands and the --registry/--source/--parent hooks of synth and certify."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from privsynth.cli import commands  # noqa: F401  (registers the commands)
from privsynth.cli.app import app
from privsynth.io import EXAMPLE_SCHEMA, example_path
from privsynth.registry import open_registry
from privsynth.registry.testing import backend, registry_url  # noqa: F401

runner = CliRunner()
SCHEMA = str(example_path(EXAMPLE_SCHEMA))


def _run(*args: str) -> object:
    return runner.invoke(app, [str(a) for a in args])


def _json(*args: str) -> object:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def small(adult: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "adult-small.csv"
    adult.sample(3000, random_state=5).to_csv(path, index=False)
    return path


def _one_line_exit_2(result: object, words: str) -> None:
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert result.output.strip().count("\n") == 0 or "error:" in result.output.splitlines()[0]
    assert "Traceback" not in result.output


def test_source_commands_and_refusals(registry_url: str) -> None:  # noqa: F811
    src = _json("source", "add", "cust", "--budget", "epsilon=2,delta=1e-9", "-r", registry_url)
    assert src["cap"]["epsilon"] == pytest.approx(2.0, abs=1e-9) and src["spent"]["rho"] == 0
    assert [s["id"] for s in _json("source", "list", "-r", registry_url)] == ["cust"]
    _one_line_exit_2(
        _run("source", "add", "x", "--budget", "epsilon=2", "-r", registry_url), "needs a delta"
    )
    _one_line_exit_2(_run("source", "show", "ghost", "-r", registry_url), "'ghost' is not in")
    _one_line_exit_2(_run("release", "show", "r-nope", "-r", registry_url), "not in the registry")
    _one_line_exit_2(
        _run("release", "suspend", "r-nope", "--reason", "x", "-r", registry_url), "not in"
    )
    assert _json("release", "list", "-r", registry_url) == []


def test_bad_registry_locations_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database\n" * 50)
    before = junk.read_bytes()
    _one_line_exit_2(_run("source", "list", "-r", junk), "not a privsynth registry")
    assert junk.read_bytes() == before
    _one_line_exit_2(_run("source", "list", "-r", "ftp://host/db"), "unsupported scheme")
    _one_line_exit_2(_run("source", "list", "-r", tmp_path / "none.db"), "no such file")
    assert not (tmp_path / "none.db").exists()
    _one_line_exit_2(_run("source", "list"), "no registry")
    try:  # a machine without the [postgres] extra is told which extra to install
        import psycopg  # noqa: F401

        expected = "cannot connect"
    except ImportError:
        expected = "needs the PostgreSQL driver"
    _one_line_exit_2(_run("source", "list", "-r", "postgresql://u:pw@127.0.0.1:1/db"), expected)


def test_synth_spends_from_the_source_and_refuses_past_the_cap(
    registry_url: str,  # noqa: F811
    small: Path,
    tmp_path: Path,
) -> None:
    _json("source", "add", "adult", "--budget", "epsilon=1.3,delta=1e-9", "-r", registry_url)
    out = tmp_path / "syn.csv"
    base = [
        "synth",
        small,
        "--schema",
        SCHEMA,
        "-m",
        "independent",
        "-q",
        "--registry",
        registry_url,
    ]
    result = _run(*base, "-e", "1", "-o", out, "--source", "adult")
    assert result.exit_code == 0, result.output
    (rel,) = _json("release", "list", "-r", registry_url)
    manifest = Path(str(out) + ".manifest.json")
    assert rel["status"] == "active" and rel["kind"] == "synth" and rel["method"] == "independent"
    assert rel["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert rel["ledger_rho"] <= rel["rho"]  # the run spent no more than it reserved
    shown = _json("release", "show", rel["id"], "-r", registry_url)
    assert len(shown["ledger"]) == len(
        json.loads(manifest.read_text())["privacy"]["ledger"]["entries"]
    )
    # epsilon 1 is spent; another does not fit in a cap of 1.3 (zCDP: two epsilon-1 runs are ~1.45)
    out2 = tmp_path / "syn2.csv"
    refused = _run(*base, "-e", "1", "-o", out2, "--source", "adult")
    _one_line_exit_2(refused, "is left of its lifetime cap")
    assert not out2.exists() and not Path(str(out2) + ".manifest.json").exists()
    # a child release with lineage fits in what is left
    child = _run(*base, "-e", "0.3", "-o", out2, "--source", "adult", "--parent", rel["id"])
    assert child.exit_code == 0, child.output
    chain = _json(
        "release",
        "show",
        _json("release", "list", "-r", registry_url)[-1]["id"],
        "-r",
        registry_url,
    )
    assert chain["lineage"][-1] == rel["id"] and chain["version"] == 2
    src = _json("source", "show", "adult", "-r", registry_url)
    assert src["spent_units"] <= src["cap_units"] and len(src["per_release"]) == 2
    kept = _json("release", "retention", rel["id"], "--until", "2020-01-31", "-r", registry_url)
    assert kept["retention_until"] == "2020-01-31" and kept["past_retention"] is True
    listed = _run("release", "list", "-r", registry_url)
    assert "past retention" in listed.output
    _one_line_exit_2(
        _run("release", "retention", rel["id"], "--until", "31/01/2020", "-r", registry_url),
        "YYYY-MM-DD",
    )


def test_failure_before_reading_gives_the_budget_back(registry_url: str, tmp_path: Path) -> None:  # noqa: F811
    _json("source", "add", "s", "--budget", "rho=0.1", "-r", registry_url)
    args = [
        "synth",
        tmp_path / "missing.csv",
        "--schema",
        SCHEMA,
        "-e",
        "1",
        "-o",
        tmp_path / "o.csv",
    ]
    _one_line_exit_2(_run(*args, "--registry", registry_url, "--source", "s"), "no such file")
    (rel,) = _json("release", "list", "-r", registry_url)
    assert rel["status"] == "cancelled"
    assert _json("source", "show", "s", "-r", registry_url)["spent_units"] == 0
    _one_line_exit_2(_run(*args, "--registry", registry_url), "--registry needs --source")
    _one_line_exit_2(_run(*args, "--source", "s"), "--source needs --registry")
    _one_line_exit_2(
        _run(*args, "--registry", registry_url, "--source", "ghost"), "'ghost' is not in"
    )
    assert len(_json("release", "list", "-r", registry_url)) == 1  # refusals wrote nothing


@pytest.mark.slow
def test_certify_records_verdict_datasheet_and_reaudit_flags_status(
    small: Path, adult: pd.DataFrame, tmp_path: Path
) -> None:
    reg = tmp_path / "reg.db"
    assert _run("registry", "init", reg).exit_code == 0
    _json("source", "add", "adult", "--budget", "epsilon=4,delta=1e-9", "-r", reg)
    out = tmp_path / "cert"
    result = _run(
        "certify", small, "--schema", SCHEMA, "-e", "1", "-m", "independent", "-o", out, "-q",
        "-j", "1", "--registry", reg, "--source", "adult",
    )  # fmt: skip
    assert result.exit_code in (0, 1, 3), result.output
    (rel,) = _json("release", "list", "-r", reg)
    report = json.loads((out / "report.json").read_text())
    assert rel["kind"] == "certify" and rel["verdict"] == report["verdict"]
    assert rel["report_sha256"] == hashlib.sha256((out / "report.json").read_bytes()).hexdigest()
    sheet = (out / "datasheet.md").read_text()
    assert f"release id: `{rel['id']}`, version 1" in sheet
    report_bytes = (out / "report.json").read_bytes()
    _json("release", "suspend", rel["id"], "--reason", "leak suspected", "-r", reg)
    for name in ("datasheet.md", "report.md", "report.html"):  # flagged where people read
        assert f"SUSPENDED**: release `{rel['id']}`" in (out / name).read_text(), name
    assert (out / "report.json").read_bytes() == report_bytes  # its recorded hash still holds
    _json("release", "retire", rel["id"], "--reason", "superseded", "-r", reg)
    sheet = (out / "datasheet.md").read_text()
    assert "RETIRED**" in sheet and "SUSPENDED**" not in sheet  # one banner, the latest
    holdout = tmp_path / "holdout.csv"
    adult.drop(pd.read_csv(small).index, errors="ignore").sample(600, random_state=9).to_csv(
        holdout, index=False
    )
    again = _run(
        "release", "reaudit", rel["id"], "--train", small, "--holdout", holdout,
        "-o", tmp_path / "re", "-j", "1", "-r", reg, "--json",
    )  # fmt: skip
    assert again.exit_code in (0, 1, 3), again.output
    summary = json.loads(again.stdout)
    redone = json.loads((tmp_path / "re" / "report.json").read_text())
    assert redone["summary"].startswith("RETIRED RELEASE (superseded)")
    assert redone["provenance"]["settings"]["registry"]["status"] == "retired"
    assert summary["verdict"] == redone["verdict"]
    with open_registry(reg) as r:
        assert [e[1] for e in r.events(rel["id"])] == [
            "reserved",
            "committed",
            "suspended",
            "retired",
            "reaudited",
        ]


def test_dp_schema_inference_spends_from_the_source(small: Path, tmp_path: Path) -> None:
    reg = tmp_path / "reg.db"
    assert _run("registry", "init", reg).exit_code == 0
    _json("source", "add", "adult", "--budget", "epsilon=1,delta=1e-9", "-r", reg)
    out = tmp_path / "schema.json"
    args = ["schema", "infer", small, "-o", out, "-e", "0.5", "-q", "--registry", reg]
    result = _run(*args, "--source", "adult")
    assert result.exit_code == 0, result.output
    (rel,) = _json("release", "list", "-r", reg)
    assert rel["kind"] == "schema" and rel["status"] == "active" and rel["epsilon"] == 0.5
    assert rel["manifest_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    _one_line_exit_2(
        _run("schema", "infer", small, "-o", out, "--registry", reg, "--source", "adult"),
        "need --epsilon",
    )


def test_reaudit_default_target_is_a_small_categorical_not_the_last_column(
    adult: pd.DataFrame,
) -> None:
    from reports.utility import default_target_of_table as default_target

    table = adult.sample(2000, random_state=3).reset_index(drop=True)
    assert default_target(table) == "income"
    table["visit"] = pd.date_range("2020-01-01", periods=len(table), freq="h").astype(str)
    table["score"] = range(len(table))  # numeric, many values
    assert default_target(table) == "income"  # neither the date nor the number
    assert default_target(table[["age", "fnlwgt", "visit"]]) is None
