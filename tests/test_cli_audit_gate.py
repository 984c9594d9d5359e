"""`privsynth audit --policy --report`: the release gate for externally generated data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import privsynth.cli.commands  # noqa: F401  (registers the commands)
from privsynth.cli.app import app
from privsynth.io import example_path

runner = CliRunner()
SCHEMA = str(example_path("adult-schema.json"))


@pytest.fixture(scope="module")
def triple(tmp_path_factory: pytest.TempPathFactory, adult: pd.DataFrame) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gate")
    rows = adult.sample(6000, random_state=3).reset_index(drop=True)
    paths = {"train": folder / "train.csv", "holdout": folder / "holdout.csv"}
    rows.iloc[:3000].to_csv(paths["train"], index=False)
    rows.iloc[3000:].to_csv(paths["holdout"], index=False)
    return paths


@pytest.mark.slow
def test_copy_of_train_fails_the_gate_and_names_the_checks(
    triple: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "report"
    args = ["audit", "-t", str(triple["train"]), "-H", str(triple["holdout"])]
    result = runner.invoke(
        app,
        [*args, "-S", str(triple["train"]), "-s", SCHEMA, "--policy", "standard"]
        + ["--report", str(out), "-q"],
    )
    assert result.exit_code == 1, result.output
    for name in ("report.json", "report.html", "report.md", "report.junit.xml", "report.txt"):
        assert (out / name).is_file(), name
    suite = ET.parse(out / "report.junit.xml").getroot()
    failures = sum(int(s.get("failures", 0)) for s in suite.iter("testsuite"))
    assert failures >= 3  # copies, DCR and membership all fail on a copy
    markdown = (out / "report.md").read_text()
    assert "FAIL" in markdown and "exact-copies" in markdown


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--report", "somewhere"], "--report needs --policy"),
        (["--policy", "no-such-policy"], "policy"),
        (["--policy", "standard", "--audience", "everyone"], "--audience must be"),
    ],
)
def test_gate_configuration_errors_exit_2(
    extra: list[str], message: str, triple: dict[str, Path]
) -> None:
    args = ["audit", "-t", str(triple["train"]), "-H", str(triple["holdout"])]
    result = runner.invoke(app, [*args, "-S", str(triple["holdout"]), *extra, "-q"])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
