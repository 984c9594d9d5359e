"""Shared helpers of the reliability tests (issue 16): run a command, check what it left behind."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import privsynth.cli.commands  # noqa: F401  (registers the commands)
from privsynth.cli.app import app
from privsynth.outputs import stray_temps

runner = CliRunner()

TOY_SCHEMA: dict[str, Any] = {
    "columns": {
        "a": {"type": "integer", "lower": 0, "upper": 9, "bins": 10, "nullable": False},
        "b": {"type": "categorical", "categories": ["x", "y"], "nullable": False},
    }
}
TOY_CSV = "a,b\n" + "".join(f"{i % 10},{'xy'[i % 2]}\n" for i in range(40))


def invoke(*args: str) -> tuple[int, str]:
    """Run ``privsynth ARGS`` in-process; (exit code, stdout + stderr)."""
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def toy(
    folder: Path, csv: str = TOY_CSV, schema: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """A small table and its schema in ``folder``."""
    data, spec = folder / "toy.csv", folder / "toy-schema.json"
    data.write_text(csv)
    spec.write_text(json.dumps(schema or TOY_SCHEMA))
    return data, spec


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (to show inputs are byte-identical afterwards)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_user_error(code: int, output: str, *needles: str) -> None:
    """Exit 2, exactly one ``error:`` line naming every needle, no traceback, no internal error."""
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert "Traceback" not in output and "internal error" not in output, output
    for needle in needles:
        assert needle in errors[0], (needle, output)


def assert_clean(folder: Path) -> None:
    """No temporary file or folder left anywhere under ``folder``."""
    left = [
        p for d in [folder, *[p for p in folder.rglob("*") if p.is_dir()]] for p in stray_temps(d)
    ]
    assert left == [], left
