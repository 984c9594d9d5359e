"""The ``privsynth audit`` command: JSON output, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from privsynth.cli import commands  # noqa: F401  (registers the commands)
from privsynth.cli.app import app


def _write(tmp_path, name, seed, n=300):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n).round(3), "c": rng.choice(["a", "b"], n)})
    path = tmp_path / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


def test_audit_writes_json_and_exits_0(tmp_path):
    t, h, s = (_write(tmp_path, n, i) for i, n in enumerate(("t", "h", "s")))
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        app,
        [
            "audit",
            "--train",
            str(t),
            "--holdout",
            str(h),
            "--synthetic",
            str(s),
            "--json",
            str(out),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert {a["attack"] for a in data["attacks"]} >= {"dcr", "attribute"}


def test_audit_bad_input_exits_2_and_unrunnable_attack_exits_3(tmp_path):
    t, h, s = (_write(tmp_path, n, i) for i, n in enumerate(("t", "h", "s")))
    args = ["audit", "--train", str(t), "--holdout", str(h), "--synthetic", str(s), "-q"]
    res = CliRunner().invoke(app, [*args, "--secret", "nope"])
    assert res.exit_code == 2
    # a column named through either flag of a field: the error names both flags
    for opt, field in (("--sensitive", "--secret/--sensitive"), ("--quasi-identifiers", "--qi/")):
        res = CliRunner().invoke(app, [*args, opt, "nope"])
        assert res.exit_code == 2 and f"{field}" in res.output and "'nope'" in res.output
    df = pd.read_csv(s).assign(k=1)
    for p in (t, h, s):
        pd.read_csv(p).assign(k=1).to_csv(p, index=False)
    del df
    res = CliRunner().invoke(app, [*args, "--secret", "k"])
    assert res.exit_code == 3


def test_audit_rejects_zero_jobs_and_accepts_one(tmp_path):
    t, h, s = (_write(tmp_path, n, i) for i, n in enumerate(("t", "h", "s")))
    args = ["audit", "--train", str(t), "--holdout", str(h), "--synthetic", str(s), "-q"]
    res = CliRunner().invoke(app, [*args, "--jobs", "0"])
    assert res.exit_code == 2
    assert "--jobs" in res.output and "Traceback" not in res.output
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, [*args, "--jobs", "1", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["settings"]["neighbors"]["threads"] == 1
