"""The application layer (privsynth.workflows) and the two defects it fixed.

- ``privsynth certify`` audits a datetime column as a datetime (it had its own type map that
  audited it as categorical);
- ``privsynth audit --schema`` reads the schema with the schema loader and accepts ``exclude``
  columns (it parsed the JSON by hand and rejected them as an "unknown type").
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from privsynth.cli.app import app
from privsynth.errors import InputError, OptionError
from privsynth.io import EXAMPLE_SCHEMA, example_path
from privsynth.schema import AUDIT_TYPES, Schema, load_schema
from privsynth.workflows.config import (
    AuditTablesConfig,
    CertifyConfig,
    DpAuditSettings,
    SynthesisConfig,
)

runner = CliRunner()
COLS = ["age", "workclass", "education", "sex", "income"]


def _with_dates(adult: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = adult[COLS].iloc[:n].reset_index(drop=True).copy()
    days = rng.integers(0, 365, size=n)
    df["visit"] = (pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D")).strftime(
        "%Y-%m-%d"
    )
    return df


def _schema_with_dates(tmp_path: Path, *, exclude: str | None = None) -> Path:
    raw = json.loads(example_path(EXAMPLE_SCHEMA).read_text())
    cols = {c: raw["columns"][c] for c in COLS}
    cols["visit"] = {
        "type": "datetime",
        "format": "%Y-%m-%d",
        "lower": "2020-01-01",
        "upper": "2020-12-31",
        "bins": 12,
    }
    if exclude:
        cols[exclude] = {"type": "exclude"}
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"columns": cols}))
    return path


def test_one_schema_to_audit_type_mapping(adult_schema: Schema) -> None:
    types = adult_schema.audit_types()
    assert set(types) == {c.name for c in adult_schema.synth_columns}
    assert set(types.values()) <= {"categorical", "numeric", "datetime"}
    assert types["age"] == "numeric" and types["sex"] == "categorical"
    assert set(AUDIT_TYPES) == {"categorical", "integer", "float", "datetime"}


@pytest.mark.slow
def test_certify_audits_a_datetime_column_as_datetime(tmp_path: Path, adult: pd.DataFrame) -> None:
    data = tmp_path / "data.csv"
    _with_dates(adult, 800, 0).to_csv(data, index=False)
    out = tmp_path / "cert"
    args = ["certify", str(data), "-s", str(_schema_with_dates(tmp_path)), "-e", "1"]
    args += ["-j", "1"]  # no --target: the last column is a date, the default skips it
    res = runner.invoke(app, [*args, "-m", "independent", "--seed", "3", "-o", str(out), "-q"])
    assert res.exit_code in (0, 1, 3), res.output
    report = json.loads((out / "report.json").read_text())
    assert report["utility"]["ml"]["target"] == "income"  # the last small categorical column
    types = report["provenance"]["settings"]["column_types"]
    assert types["visit"] == "datetime"
    assert types["age"] == "numeric" and types["sex"] == "categorical"


def test_audit_schema_with_exclude_columns(tmp_path: Path, adult: pd.DataFrame) -> None:
    """The excluded column is dropped from all three tables; the others keep their types."""
    paths = {}
    for i, name in enumerate(("train", "holdout", "synthetic")):
        df = _with_dates(adult.iloc[i * 600 :], 600, i)
        df["id"] = np.arange(len(df)) + 10_000 * i  # an identifier the schema excludes
        if name == "synthetic":
            df = df.drop(columns=["id"])  # a synthetic table has no excluded column
        paths[name] = tmp_path / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    schema = _schema_with_dates(tmp_path, exclude="id")
    out = tmp_path / "audit.json"
    args = ["audit", "-t", str(paths["train"]), "-H", str(paths["holdout"])]
    args += ["-S", str(paths["synthetic"]), "-s", str(schema), "--json", str(out), "-j", "1"]
    res = runner.invoke(app, [*args, "-q"])
    assert res.exit_code in (0, 3), res.output
    settings = json.loads(out.read_text())["settings"]
    assert "id" not in settings["columns"]
    assert settings["column_types"]["visit"] == "datetime"
    assert settings["column_types"]["age"] == "numeric"


def test_audit_schema_that_does_not_fit_is_one_line(tmp_path: Path, adult: pd.DataFrame) -> None:
    table = tmp_path / "t.csv"
    adult[COLS].iloc[:200].to_csv(table, index=False)
    schema = _schema_with_dates(tmp_path)  # has "visit", the data does not
    args = ["audit", "-t", str(table), "-H", str(table), "-S", str(table), "-s", str(schema)]
    res = runner.invoke(app, [*args, "-q"])
    assert res.exit_code == 2
    assert "schema does not fit the data" in res.output and "'visit'" in res.output
    assert res.output.strip().startswith("error:")


def test_configs_are_frozen_keyword_only_and_validated(tmp_path: Path) -> None:
    base = {"data": tmp_path / "d.csv", "schema": tmp_path / "s.json", "epsilon": 1.0}
    config = CertifyConfig(**base)
    assert config.budget.epsilon == 1.0 and config.holdout_fraction == 0.2
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epsilon = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        CertifyConfig(tmp_path, tmp_path, 1.0)  # type: ignore[misc]
    with pytest.raises(OptionError) as bad:
        CertifyConfig(**base, holdout_fraction=1.0)
    assert bad.value.field == "holdout_fraction" and "(0, 1)" in bad.value.detail
    with pytest.raises(InputError, match="epsilon"):
        CertifyConfig(**{**base, "epsilon": -1.0})
    for field, value in (("jobs", 0), ("seed", -1), ("audience", "everyone")):
        with pytest.raises(OptionError) as bad:
            CertifyConfig(**base, **{field: value})
        assert bad.value.field == field
    with pytest.raises(OptionError, match="dp_audit_runs"):
        DpAuditSettings(runs=1)
    with pytest.raises(OptionError, match="noise_seed"):
        SynthesisConfig(**base, out=tmp_path / "o.csv", noise_seed=-2)
    with pytest.raises(OptionError, match="report_dir"):
        AuditTablesConfig(train=tmp_path, holdout=tmp_path, synthetic=tmp_path, report_dir=tmp_path)


def test_library_errors_name_fields_and_the_cli_names_flags(tmp_path: Path) -> None:
    """No CLI wording in the library: the CLI turns ``holdout_fraction`` into the flag."""
    res = runner.invoke(app, ["certify", "--example", "-e", "1", "--holdout-fraction", "0"])
    assert res.exit_code == 2
    assert res.output.strip().startswith("error: --holdout-fraction must be in (0, 1)")
    res = runner.invoke(app, ["certify", "--example", "-e", "1", "--holdout-fraction", "2"])
    assert res.exit_code == 2 and res.output.strip().startswith("error: --holdout-fraction")
    res = runner.invoke(app, ["certify", "--example", "-e", "1", "--audience", "all"])
    assert res.exit_code == 2
    assert "--audience must be one of internal, public" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_audit_workflow_in_python(tmp_path: Path, adult: pd.DataFrame) -> None:
    """The same workflow the CLI calls, from Python: an immutable outcome, no CLI wording."""
    from privsynth.workflows.audit import audit_tables

    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.csv"
        adult[COLS].iloc[i * 400 : (i + 1) * 400].to_csv(p, index=False)
        paths.append(p)
    schema = tmp_path / "s.json"
    raw = json.loads(example_path(EXAMPLE_SCHEMA).read_text())
    schema.write_text(json.dumps({"columns": {c: raw["columns"][c] for c in COLS}}))
    config = AuditTablesConfig(
        train=paths[0], holdout=paths[1], synthetic=paths[2], schema=schema, jobs=1
    )
    outcome = audit_tables(config)
    assert outcome.gate_code is None and outcome.exit_code in (0, 3)
    assert outcome.result.settings["column_types"] == load_schema(schema).audit_types()
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.gate_code = 1  # type: ignore[misc]
    with pytest.raises(OptionError) as bad:
        audit_tables(dataclasses.replace(config, target="nope"))
    assert bad.value.field == "target" and "no such column" in str(bad.value)


@pytest.mark.slow
def test_certify_dp_audit_section_is_built_from_the_public_domain_alone(
    tmp_path: Path, adult: pd.DataFrame
) -> None:
    """``--dp-audit`` puts audit_for_report's dict under the report's ``dp_audit``; the section
    equals one computed from the schema's domain with no table at all."""
    from privsynth.workflows.dp_audit import dp_audit_section

    data = tmp_path / "data.csv"
    adult[["workclass", "sex", "race", "income"]].iloc[:600].to_csv(data, index=False)
    raw = json.loads(example_path(EXAMPLE_SCHEMA).read_text())
    cols = {c: raw["columns"][c] for c in ("workclass", "sex", "race", "income")}
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"columns": cols}))
    out = tmp_path / "cert"
    base = ["certify", str(data), "-s", str(schema), "-e", "1", "-m", "independent", "-j", "1"]
    base += ["--seed", "1", "-q"]
    res = runner.invoke(app, [*base, "--dp-audit", "--dp-audit-runs", "10", "-o", str(out)])
    assert res.exit_code in (0, 1, 3), res.output
    section = json.loads((out / "report.json").read_text())["dp_audit"]
    assert section["format"] == "privsynth-dpaudit-section/1"
    assert section["base"].startswith("public") and "run_scores" not in section
    assert section["claim"]["epsilon"] == 1.0 and section["runs_per_world"] == 10
    md = (out / "report.md").read_text()
    assert "**Empirical DP audit:** empirical epsilon lower bound" in md
    assert f"; {section['verdict']}" in md and "public schema" in md
    alone = dp_audit_section(
        method="independent",
        epsilon=1.0,
        delta=1e-9,
        domain=load_schema(schema).domain(),
        runs=10,
        jobs=1,
    )
    for key in ("epsilon_lower_bound", "base_rows", "columns", "canary"):
        assert json.loads(json.dumps(alone[key])) == section[key], key
    plain = tmp_path / "plain"
    res = runner.invoke(app, [*base, "-o", str(plain)])
    assert res.exit_code in (0, 1, 3), res.output
    assert json.loads((plain / "report.json").read_text())["dp_audit"] is None


def test_certify_readme_says_not_for_release_when_the_schema_is_not_public() -> None:
    from privsynth.workflows.release_index import release_index

    manifest = {
        "release_id": "r1",
        "privacy": {"noise": {"source": "OpenDP samplers", "release": True}},
        "not_for_release": ["NOT FOR RELEASE: the schema is an unreviewed draft"],
    }
    text = release_index(Path("D/synthetic.csv"), "internal", manifest, Path("D.run-record"))
    head = text.split("## Publishable")[0]
    assert "**NOT FOR RELEASE: the schema is an unreviewed draft.**" in head
    assert "Nothing in this folder is a DP release" in head
    manifest.pop("not_for_release")
    assert "NOT FOR RELEASE" not in release_index(
        Path("D/synthetic.csv"), "internal", manifest, Path("D.run-record")
    )
