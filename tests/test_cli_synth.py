"""`privsynth synth` and `privsynth schema` as a user runs them: outputs, exit codes, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import privsynth.cli.commands  # noqa: F401  (registers the commands)
from privsynth.cli.app import app
from privsynth.io import example_path, sha256_file
from privsynth.schema import Schema, load_schema

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, adult: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("data") / "small.csv"
    adult.sample(3000, random_state=0).to_csv(path, index=False)
    return path


SCHEMA = str(example_path("adult-schema.json"))


@pytest.mark.slow
def test_example_run_writes_table_and_manifest(tmp_path: Path, adult_schema: Schema) -> None:
    out = tmp_path / "synth.csv"
    code, output = invoke(
        "synth", "--example", "-e", "1", "-m", "independent", "--seed", "1", "-o", str(out), "-q"
    )
    assert code == 0, output
    table = pd.read_csv(out)
    assert list(table.columns) == adult_schema.names
    assert table["age"].between(17, 90).all()
    assert set(table["income"]) <= {"<=50K", ">50K"}
    manifest = json.loads((tmp_path / "synth.csv.manifest.json").read_text())
    total = manifest["privacy"]["total"]
    assert total["epsilon"] <= 1.0 + 1e-9 and total["delta"] <= 1e-9
    entries = manifest["privacy"]["ledger"]["entries"]
    assert len(entries) == 15 and sum(e["rho"] for e in entries) == pytest.approx(total["rho"])
    assert total["rho"] <= manifest["privacy"]["requested"]["rho"]
    assert manifest["schema"]["sha256"] == adult_schema.hash()
    assert manifest["output"]["rows"] == len(table) and len(manifest["release_id"]) == 32
    # the public manifest names no seed and no input; OpenDP made the noise
    assert "input" not in manifest and "seed" not in manifest
    assert not {"seed", "noise_seed"} & set(manifest["parameters"])
    assert manifest["privacy"]["noise"] == {"source": "OpenDP samplers", "release": True}
    assert manifest["publishable"] is True
    record = json.loads((tmp_path / "synth.csv.run-record.private.json").read_text())
    assert record["release_id"] == manifest["release_id"] and record["seeds"]["seed"] == 1
    assert record["input"]["sha256"] == sha256_file(example_path("adult.csv.gz"))
    assert record["input"]["rows"] == 32561 and record["seeds"]["noise_seed"] is None


def test_same_noise_seed_same_bytes_and_not_for_release(tmp_path: Path, small: Path) -> None:
    outs = []
    for name in ("a.csv", "b.csv"):
        out = tmp_path / name
        code, output = invoke(
            "synth",
            str(small),
            "-s",
            SCHEMA,
            "-e",
            "2",
            "-m",
            "independent",
            "--noise-seed",
            "5",
            "-o",
            str(out),
            "-q",
        )
        assert code == 0, output
        assert "NOT FOR RELEASE" in output  # printed even with -q
        manifest = json.loads(out.with_name(name + ".manifest.json").read_text())
        assert manifest["publishable"] is False
        assert "NOT FOR RELEASE" in manifest["privacy"]["noise"]["warning"]
        for key in ("created", "release_id"):
            manifest.pop(key)
        manifest["output"].pop("file")
        outs.append((out.read_bytes(), manifest))
    assert outs[0][0] == outs[1][0]
    assert outs[0][1] == outs[1][1]
    out = tmp_path / "c.csv"
    invoke(
        "synth",
        str(small),
        "-s",
        SCHEMA,
        "-e",
        "2",
        "-m",
        "independent",
        "--noise-seed",
        "6",
        "-o",
        str(out),
        "-q",
    )
    assert out.read_bytes() != outs[0][0]


def test_rows_option(tmp_path: Path, small: Path) -> None:
    out = tmp_path / "o.parquet"
    code, output = invoke(
        "synth",
        str(small),
        "-s",
        SCHEMA,
        "-e",
        "1",
        "-m",
        "independent",
        "-n",
        "123",
        "-o",
        str(out),
        "-q",
    )
    assert code == 0, output
    assert len(pd.read_parquet(out)) == 123


def _bad_schema(tmp_path: Path) -> Path:
    d = load_schema(SCHEMA).to_dict()
    d["columns"]["salary"] = {"type": "integer", "lower": 0, "upper": 10}
    p = tmp_path / "bad-schema.json"
    p.write_text(json.dumps(d))
    return p


def _empty(tmp_path: Path) -> Path:
    p = tmp_path / "empty.csv"
    p.write_text(",".join(load_schema(SCHEMA).names) + "\n")
    return p


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (lambda t, s: ["synth", str(t / "missing.csv"), "-s", SCHEMA, "-e", "1"], "no such file"),
        (lambda t, s: ["synth", str(s), "-s", str(_bad_schema(t)), "-e", "1"], "'salary'"),
        (lambda t, s: ["synth", str(s), "-s", SCHEMA, "-e", "0"], "epsilon must be a number > 0"),
        (lambda t, s: ["synth", str(s), "-s", SCHEMA, "-e", "-2"], "epsilon must be a number > 0"),
        (lambda t, s: ["synth", str(s), "-s", SCHEMA, "-e", "5000"], "too large"),
        (lambda t, s: ["synth", str(s), "-s", SCHEMA, "-e", "1", "-d", "0.1"], "delta must be in"),
        (lambda t, s: ["synth", str(s), "-s", SCHEMA, "-e", "1", "-d", "0"], "delta must be in"),
        (
            lambda t, s: ["synth", str(s), "-s", SCHEMA, "-e", "1", "-m", "gan"],
            "unknown method 'gan'",
        ),
        (lambda t, s: ["synth", str(_empty(t)), "-s", SCHEMA, "-e", "1"], "no rows"),
        (lambda t, s: ["synth", str(s), "-e", "1"], "no --schema given"),
        (lambda t, s: ["synth", str(s), "-s", SCHEMA, "-e", "1", "--rows", "0"], "--rows must be"),
        (
            lambda t, s: ["synth", str(s), "-s", str(t / "nope.json"), "-e", "1"],
            "no such schema file",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message: str, tmp_path: Path, small: Path) -> None:
    out = tmp_path / "out.csv"
    argv = [*args(tmp_path, small), "-o", str(out), "-q"]
    if "-m" not in argv:
        argv += ["-m", "independent"]
    code, output = invoke(*argv)
    assert code == 2, output
    assert message in output
    assert "Traceback" not in output
    assert output.strip().startswith("error:")
    assert not out.exists() and not (tmp_path / "out.csv.manifest.json").exists()


def test_unwritable_output_fails_before_spending(tmp_path: Path, small: Path) -> None:
    code, output = invoke(
        "synth",
        str(small),
        "-s",
        SCHEMA,
        "-e",
        "1",
        "-m",
        "independent",
        "-o",
        str(tmp_path / "no" / "x.csv"),
    )
    assert code == 2 and "does not exist" in output
    code, output = invoke(
        "synth",
        str(small),
        "-s",
        SCHEMA,
        "-e",
        "1",
        "-m",
        "independent",
        "-o",
        str(tmp_path / "x.xlsx"),
    )
    assert code == 2 and "unsupported table format" in output


def test_unseen_category_is_an_error(tmp_path: Path, small: Path) -> None:
    df = pd.read_csv(small)
    df.loc[5, "race"] = "Martian"
    p = tmp_path / "d.csv"
    df.to_csv(p, index=False)
    code, output = invoke(
        "synth", str(p), "-s", SCHEMA, "-e", "1", "-m", "independent", "-o", str(tmp_path / "o.csv")
    )
    assert code == 2 and "'Martian'" in output and "data row 6" in output


def test_version() -> None:
    code, output = invoke("--version")
    assert code == 0 and output.startswith("privsynth ")


def test_schema_infer_then_synth(tmp_path: Path, small: Path) -> None:
    schema = tmp_path / "s.json"
    code, output = invoke("schema", "infer", str(small), "-o", str(schema))
    assert code == 0, output
    assert "NOT DIFFERENTIALLY PRIVATE" in output
    data = json.loads(schema.read_text())
    assert "NOT DIFFERENTIALLY PRIVATE" in data["warning"]
    assert data["columns"]["workclass"]["nullable"] is True
    code, output = invoke("schema", "check", str(small), "-s", str(schema))
    assert code == 0, output
    code, output = invoke(
        "synth",
        str(small),
        "-s",
        str(schema),
        "-e",
        "1",
        "-m",
        "independent",
        "-o",
        str(tmp_path / "o.csv"),
        "-q",
    )
    assert code == 0, output
    manifest = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert manifest["publishable"] is False  # an unreviewed non-DP draft makes no DP release
    assert "unreviewed draft" in manifest["not_for_release"][0]
    said = " ".join(output.split())  # the console wraps long lines
    assert "NOT FOR RELEASE" in said and "unreviewed draft" in said  # even with -q
    data.pop("warning")  # the reviewer signs the draft off by deleting its warning
    schema.write_text(json.dumps(data))
    code, output = invoke(
        "synth", str(small), "-s", str(schema), "-e", "1", "-m", "independent",
        "-o", str(tmp_path / "p.csv"), "-q",
    )  # fmt: skip
    assert code == 0 and "NOT FOR RELEASE" not in output, output
    manifest = json.loads((tmp_path / "p.csv.manifest.json").read_text())
    assert manifest["publishable"] is True and "not_for_release" not in manifest


def test_seeded_dp_schema_makes_no_release(tmp_path: Path, small: Path) -> None:
    schema = tmp_path / "s.json"
    code, output = invoke(
        "schema", "infer", str(small), "-e", "1", "--seed", "3", "-o", str(schema)
    )
    assert code == 0, output
    code, output = invoke(
        "synth", str(small), "-s", str(schema), "-e", "1", "-m", "independent",
        "-o", str(tmp_path / "o.csv"), "-q",
    )  # fmt: skip
    assert code == 0, output
    manifest = json.loads((tmp_path / "o.csv.manifest.json").read_text())
    assert manifest["publishable"] is False and "seeded noise" in manifest["not_for_release"][0]
    assert "seeded noise" in " ".join(output.split())


@pytest.mark.parametrize("engine", ["numpy", "duckdb"])
def test_release_commands_print_no_private_count(tmp_path: Path, small: Path, engine: str) -> None:
    """Clipping and 'other' notes: synth's terminal (a CI log) carries no count of the private
    rows; `schema check`, the data owner's own check, gives the exact counts."""
    spec = json.loads(Path(SCHEMA).read_text())
    spec["columns"]["age"].update(upper=50, bins=34)
    races = spec["columns"]["race"]
    races.update(categories=["Black", "White"], other=True)
    schema = tmp_path / "narrow.json"
    schema.write_text(json.dumps(spec))
    df = pd.read_csv(small)
    clipped, other = int((df["age"] > 50).sum()), int((~df["race"].isin(["Black", "White"])).sum())
    assert clipped > 0 and other > 0
    code, output = invoke(
        "synth", str(small), "-s", str(schema), "-e", "1", "-m", "independent", "--engine",
        engine, "-o", str(tmp_path / "o.csv"),
    )  # fmt: skip
    flat = " ".join(output.split())
    assert code == 0, output
    assert "column 'age': some values outside [17, 50] clipped" in flat
    assert "column 'race': some values outside the categories mapped to 'other'" in flat
    assert f"{clipped} values" not in flat and f"{other} values" not in flat
    code, output = invoke("schema", "check", str(small), "-s", str(schema))
    flat = " ".join(output.split())
    assert code == 0, output
    assert f"column 'age': {clipped} values outside [17, 50] clipped" in flat
    assert f"column 'race': {other} values outside the categories mapped to 'other'" in flat
    assert "for the data owner only" in flat
