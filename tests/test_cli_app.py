"""The CLI's shell: explicit, lazy command registration and one-line option errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from privsynth.cli.app import COMMANDS, app, load_command

runner = CliRunner()

_PROBE = """
import json, sys
from typer.testing import CliRunner
from privsynth.cli.app import app
seen = {}
for args in (["--help"], ["sample", "--help"]):
    before = set(sys.modules)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    seen[" ".join(args)] = {"new": sorted(set(sys.modules) - before), "output": result.output}
print(json.dumps(seen))
"""


def test_help_loads_no_command_module_and_sample_loads_only_its_own() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    seen = json.loads(out.stdout)
    top = seen["--help"]
    assert not [m for m in top["new"] if m.startswith("privsynth.cli.")], top["new"]
    for name in COMMANDS:  # every command is listed, with its one-line help
        assert name in top["output"]
    assert "Make a differentially private synthetic copy" in top["output"]
    sample = seen["sample --help"]["new"]
    commands = {m for m in sample if m.startswith("privsynth.cli.")} - {"privsynth.cli.options"}
    assert commands == {"privsynth.cli.sample"}
    heavy = ("privsynth.synthesizers", "privsynth.workflows", "attacks", "reports", "scipy")
    assert not [m for m in sample if m.startswith(heavy)], sample


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_registered_command_loads_and_its_listed_help_is_its_own(name: str) -> None:
    command = load_command(name)
    listed = COMMANDS[name][2]
    own = " ".join((command.help or "").split())
    assert own.startswith(listed.rstrip(".")), (listed, own)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["sample", "m", "-o", "x.csv", "-n", "0"], "error: --rows must be a positive integer"),
        (["sample", "m", "-o", "x.csv", "--seed", "-1"], "error: --seed must be a non-negative"),
        (["audit", "-t", "a", "-H", "b", "-S", "c", "-j", "0"], "error: --jobs must be a positive"),
        (["audit", "-t", "a", "-H", "b", "-S", "c", "--audience", "x"], "error: --audience must"),
        (["certify", "--example", "-e", "1", "--dp-audit-runs", "1"], "error: --dp-audit-runs"),
        (["synth", "--example", "-e", "1", "-o", "x.csv", "-n", "abc"], "error: --rows"),
    ],
)
def test_rejected_option_values_are_one_line_and_exit_2(args: list[str], line: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith(line), result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["synth", "--example", "-o", "x.csv"], "error: Missing option '--epsilon'"),
        (["synth", "--exampl"], "error: No such option: --exampl (Possible options: --example)"),
        (["no-such-command"], "error: No such command 'no-such-command'"),
        (["registry", "init", "a", "b"], "error: Got unexpected extra argument(s) (b)"),
    ],
)
def test_usage_errors_are_one_line_naming_the_help_and_exit_2(args: list[str], line: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    out = result.output.strip()
    assert out.startswith(line) and out.endswith("--help` lists the options)"), out
    assert len(out.splitlines()) == 1 and "Usage:" not in out
