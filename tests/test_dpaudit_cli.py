"""``privsynth dp-audit`` end to end: neighbouring tables, exit codes, resumable store, bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from privsynth.cli import commands  # noqa: F401  (registers the commands)
from privsynth.cli.app import app
from privsynth.domain import Domain
from privsynth.dpaudit import AuditConfig, GeneratorSpec, run_audit
from privsynth.dpaudit.canaries import empty_cell, isolated, out_of_support, worst_case_base
from privsynth.dpaudit.store import RunStore
from privsynth.errors import InputError

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "naive_generator.py"
COLS = "workclass,marital-status,race,sex,relationship"
runner = CliRunner()


def _cli(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.output


def _echo_spec(tmp_path: Path) -> GeneratorSpec:
    """An external 'generator' that writes its input unchanged: shows exactly what it was given."""
    script = tmp_path / "echo.py"
    script.write_text("import shutil, sys\nshutil.copy(sys.argv[1], sys.argv[2])\n")
    return GeneratorSpec(command=f"{sys.executable} {script} {{train}} {{out}}")


def test_worlds_are_add_remove_neighbours(tmp_path: Path, adult, adult_schema) -> None:
    """'out' runs see the base table, 'in' runs the base plus exactly one canary row."""
    from privsynth.encoding import encode
    from privsynth.schema import Schema

    cols = COLS.split(",")
    sub = Schema([adult_schema[c] for c in cols])
    base = worst_case_base(sub.domain(), 20)
    report = run_audit(
        _echo_spec(tmp_path),
        base,
        sub.domain(),
        schema=sub,
        config=AuditConfig(runs=8, scores=("count", "density")),
        store_path=tmp_path / "runs.jsonl",
    )
    lines = [json.loads(x) for x in (tmp_path / "runs.jsonl").read_text().splitlines()[1:]]
    assert len(lines) == 16
    for rec in lines:
        assert rec["rows"] == (21 if rec["world"] == "in" else 20)
        assert rec["scores"]["count"] == (1.0 if rec["world"] == "in" else 0.0)
    assert report.verdict == "no claim"
    assert encode(adult[cols].iloc[:5], sub).codes.shape == (5, 5)


def test_canaries_on_a_small_table() -> None:
    dom = Domain(("a", "b", "c"), (3, 3, 2))
    codes = np.array([[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0]])
    assert out_of_support(codes, dom).codes == (2, 2, 1)  # the rarest (absent) codes
    ec = empty_cell(codes, dom)
    joint = {tuple(r) for r in codes}
    assert ec.codes not in joint
    iso = isolated(codes)
    assert iso.removed_row == 3 and iso.codes == (1, 1, 1)


def test_store_resumes_and_refuses_another_audit(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    store = RunStore(path, {"a": 1})
    store.add({"world": "out", "run": 0, "scores": {"s": 1.0}})
    with path.open("a") as fh:
        fh.write('{"world": "in", "run"')  # a write torn by a kill
    again = RunStore(path, {"a": 1})
    assert again.done("out", 0) and not again.done("in", 0)
    again.add({"world": "in", "run": 0, "scores": {"s": 2.0}})
    assert len(path.read_text().splitlines()) == 3
    with pytest.raises(InputError, match="different audit"):
        RunStore(path, {"a": 2})


def test_interrupted_audit_resumes_without_rerunning(tmp_path: Path) -> None:
    dom = Domain(("a", "b"), (4, 3))
    base = worst_case_base(dom, 30)
    spec = GeneratorSpec(method="independent", epsilon=1.0, delta=1e-5)
    path = tmp_path / "runs.jsonl"
    first = run_audit(spec, base, dom, config=AuditConfig(runs=8), store_path=path)
    before = path.read_text().splitlines()
    second = run_audit(spec, base, dom, config=AuditConfig(runs=12), store_path=path)
    after = path.read_text().splitlines()
    assert after[: len(before)] == before and len(after) == len(before) + 8
    again = run_audit(spec, base, dom, config=AuditConfig(runs=12), store_path=path)
    assert path.read_text().splitlines() == after  # nothing re-run
    assert again.bounds == second.bounds and first.runs_per_world == 8


@pytest.mark.slow
def test_cli_flags_a_non_private_generator_with_exit_1(tmp_path: Path) -> None:
    gen = f"{sys.executable} {EXAMPLE} --in {{train}} --out {{out}} --seed {{seed}}"
    out = tmp_path / "report.json"
    code, text = _cli(
        "dp-audit",
        "--example",
        "--columns",
        COLS,
        "--worst-case-base",
        "30",
        "--generator",
        gen,
        "--epsilon",
        "1",
        "--runs",
        "40",
        "--jobs",
        "2",
        "--scores",
        "density,nn",
        "--out",
        str(out),
        "-q",
    )
    assert code == 1, text
    assert "VIOLATION" in text
    doc = json.loads(out.read_text())
    assert doc["verdict"] == "violation" and doc["epsilon_lower_bound"] > 1.0
    assert doc["canary"]["kind"] == "out-of-support"


@pytest.mark.slow
def test_cli_honest_method_passes_with_json(tmp_path: Path) -> None:
    code, text = _cli(
        "dp-audit",
        "--noise",
        "opendp",
        "--example",
        "--columns",
        "sex,race",
        "--rows",
        "200",
        "--method",
        "independent",
        "--epsilon",
        "4",
        "--runs",
        "12",
        "--format",
        "json",
        "-q",
    )
    assert code == 0, text
    doc = json.loads(text)
    assert doc["verdict"] == "consistent" and doc["claim"]["epsilon"] == 4.0
    assert doc["runs_per_world"] == 12 and doc["generator"]["noise"] == "opendp"
    # every run's score is in the report, so the bound can be recomputed from it
    from privsynth.dpaudit import game_bounds

    arrays = {k: (np.array(v["out"]), np.array(v["in"])) for k, v in doc["run_scores"].items()}
    again = game_bounds(arrays, delta=doc["claim"]["delta"], confidence=doc["confidence"])
    assert again.epsilon.epsilon_lb == doc["epsilon_lower_bound"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "aim"], "claimed --epsilon"),
        (["--method", "nope", "--epsilon", "1"], "unknown method"),
        (["--generator", "python gen.py", "--epsilon", "1"], "{train}"),
        (["--method", "mst", "--epsilon", "1", "--jobs", "3"], "--jobs"),
        (["--method", "mst", "--epsilon", "1", "--columns", "age,nope"], "nope"),
        (["--method", "mst", "--epsilon", "1", "--canary", "random"], "unknown canary"),
        (["--method", "mst", "--epsilon", "1", "--runs", "3"], "--runs"),
        (["--method", "mst", "--epsilon", "1", "--param", "oops"], "key=value"),
        (["--generator", "false {train} {out}", "--runs", "8"], "the generator exited 1"),
        (["--generator", "true {train} {out}", "--runs", "8"], "wrote no {out} file"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    code, text = _cli("dp-audit", "--example", "--columns", "sex,race", *args, "-q")
    assert code == 2
    assert message in text
    assert "Traceback" not in text
