"""The fuzz suite: hypothesis-generated tables, schemas, parameters and paths through every command,
in-process (typer's CliRunner) for speed. Properties: see tests/fuzzing.py. About 10 s in all on
two cores; ``benchmarks/fuzz_long.py`` runs the same tests with more, random examples.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from fuzzing import (
    conforms,
    fuzz_settings,
    mutated_schema,
    run_checked,
    table_text,
    write_table_text,
)
from hypothesis import given
from hypothesis import strategies as st
from reliability_helpers import TOY_CSV, TOY_SCHEMA, toy

from privsynth.schema import load_schema

pytestmark = pytest.mark.slow


def _folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="privsynth-fuzz-")


@fuzz_settings(120)
@given(text=table_text(), bins=st.sampled_from(["1", "8", "32", "0", "-3", "100000"]))
def test_fuzz_infer_then_check(text: str, bins: str) -> None:
    """An inferred schema must fit the data it was inferred from."""
    with _folder() as tmp:
        folder = Path(tmp)
        data = write_table_text(folder, text)
        schema = folder / "schema.json"
        code, out = run_checked(
            folder, "schema", "infer", data, "--bins", bins, "-o", schema, "-q", inputs=[data]
        )
        if code == 0:
            code, out = run_checked(folder, "schema", "check", data, "-s", schema, inputs=[data])
            assert code == 0, out
        else:
            assert code == 2 and not schema.exists(), out


@fuzz_settings(60)
@given(
    text=table_text(),
    method=st.sampled_from(["independent", "mst", "aim", "mwem"]),
    epsilon=st.sampled_from(["1", "0.1", "10", "1e-20", "0", "-1", "nan", "1e-6", "101"]),
    rows=st.sampled_from([None, "1", "7", "0", "-5", "1000000000"]),
)
def test_fuzz_synth_on_an_inferred_schema(
    text: str, method: str, epsilon: str, rows: str | None
) -> None:
    """Synthesize from a generated table under its inferred schema: the output conforms."""
    with _folder() as tmp:
        folder = Path(tmp)
        data = write_table_text(folder, text)
        schema = folder / "schema.json"
        if run_checked(folder, "schema", "infer", data, "-o", schema, "-q", inputs=[data])[0]:
            return
        out = folder / "synth.csv"
        args = ["synth", data, "-s", schema, "-e", epsilon, "-m", method, "--seed", "3", "-o", out]
        args += ["-q"] + (["-n", rows] if rows else [])
        code, output = run_checked(folder, *args, inputs=[data, schema])
        assert code in (0, 2), output
        if code == 0:
            conforms(out, load_schema(schema), rows=int(rows) if rows else None)
            assert (folder / "synth.csv.manifest.json").is_file()
        else:
            assert not out.exists() and not (folder / "synth.csv.manifest.json").exists()


@fuzz_settings(120)
@given(data=st.data())
def test_fuzz_mutated_schema(data: st.DataObject) -> None:
    """A schema with arbitrary values in its fields: exit 0 or one clear line (exit 2)."""
    spec = data.draw(mutated_schema(TOY_SCHEMA))
    with _folder() as tmp:
        folder = Path(tmp)
        table, schema = toy(folder, schema=spec)
        code, out = run_checked(
            folder, "schema", "check", table, "-s", schema, inputs=[table, schema]
        )
        assert code in (0, 2), out
        if code == 0 and data.draw(st.booleans()):
            out_csv = folder / "o.csv"
            args = ["synth", table, "-s", schema, "-e", "1", "-m", "independent", "--seed", "1"]
            code, output = run_checked(
                folder, *args, "-n", "9", "-o", out_csv, "-q", inputs=[table, schema]
            )
            assert code == 0, output
            conforms(out_csv, load_schema(schema), rows=9)


@fuzz_settings(40)
@given(
    train=table_text(),
    synthetic=table_text(),
    extra=st.sampled_from([[], ["--target", "a"], ["--secret", "b"], ["--qi", "zz"]]),
)
def test_fuzz_audit(train: str, synthetic: str, extra: list[str]) -> None:
    with _folder() as tmp:
        folder = Path(tmp)
        tr = write_table_text(folder, train, "train.csv")
        sy = write_table_text(folder, synthetic, "synthetic.csv")
        args = ["audit", "-t", tr, "-H", tr, "-S", sy, "--json", folder / "a.json", "-q", "-j", "1"]
        code, out = run_checked(folder, *args, *extra, inputs=[tr, sy])
        if code == 0:
            assert json.loads((folder / "a.json").read_text())
        elif code == 2:
            assert not (folder / "a.json").exists()


OUTPUTS = ["data", "link-to-data", "schema", "folder", "missing/x.csv", "ok.csv", "ok.parquet"]


@fuzz_settings(40)
@given(
    command=st.sampled_from(["synth", "infer", "audit-json", "audit-report", "certify"]),
    target=st.sampled_from(OUTPUTS),
)
def test_fuzz_output_paths(command: str, target: str) -> None:
    """Outputs aimed at inputs, links to inputs, folders or missing folders: exit 2 up front."""
    with _folder() as tmp:
        folder = Path(tmp)
        data, schema = toy(folder, csv=TOY_CSV)
        (folder / "link-to-data").symlink_to(data)
        (folder / "folder").mkdir()
        path = {"data": data, "schema": schema}.get(target, folder / target)
        args = {
            "synth": ["synth", data, "-s", schema, "-e", "1", "-m", "independent", "-o", path],
            "infer": ["schema", "infer", data, "-o", path],
            "audit-json": ["audit", "-t", data, "-H", data, "-S", data, "--json", path],
            "audit-report": ["audit", "-t", data, "-H", data, "-S", data, "--policy", "standard"]
            + ["--report", path],
            "certify": ["certify", data, "-s", schema, "-e", "1", "-m", "independent", "-o", path],
        }[command]
        uses_schema = command in ("synth", "certify")
        inputs = [data, schema] if uses_schema else [data]
        bad = (
            target in ("data", "link-to-data", "missing/x.csv")
            or (target == "schema" and uses_schema)
            or (target == "folder" and command in ("synth", "infer", "audit-json"))
        )
        if command == "infer" and not str(path).endswith(".json"):
            bad = True
        if command in ("audit-report", "certify") and target in ("ok.csv", "ok.parquet"):
            bad = False  # a new folder of that name is fine
        if bad:
            code, out = run_checked(folder, *args, "-q", inputs=inputs)
            assert code == 2, out
            assert os.path.samefile(folder / "link-to-data", data)
