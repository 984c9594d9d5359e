"""A few fuzz cases through the real console script (a fresh process each: imports, signals,
exit status as a shell sees it), and SIGTERM in the middle of a run."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from fuzzing import fuzz_settings, table_text, write_table_text
from hypothesis import given
from reliability_helpers import assert_clean, digest

SCRIPT = Path(sys.executable).with_name("privsynth")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed"),
]


def _run(*args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cmd = [str(SCRIPT), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@fuzz_settings(2)
@given(text=table_text())
def test_fuzz_through_the_console_script(text: str) -> None:
    with tempfile.TemporaryDirectory(prefix="privsynth-fuzz-") as tmp:
        folder = Path(tmp)
        data = write_table_text(folder, text)
        before = digest(folder)
        schema, out = folder / "schema.json", folder / "synth.csv"
        for args in (
            ["schema", "infer", data, "-o", schema, "-q"],
            ["synth", data, "-s", schema, "-e", "1", "-m", "independent", "-n", "5", "-o", out],
        ):
            proc = _run(*args)
            assert proc.returncode in (0, 1, 2, 3), proc.stderr
            assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
            if proc.returncode == 2:
                assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
            assert {k: v for k, v in digest(folder).items() if k in before} == before
            assert_clean(folder)


def test_sigterm_mid_run_leaves_no_output_and_no_temporaries(tmp_path: Path) -> None:
    out = tmp_path / "synth.csv"
    cmd = [str(SCRIPT), "synth", "--example", "-e", "1", "-m", "aim", "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    guard = threading.Timer(180, proc.kill)
    guard.start()
    try:
        first = proc.stderr.readline() if proc.stderr else ""  # "aim: ... columns": fitting
        assert first.startswith("aim"), first
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        guard.cancel()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1].startswith("error: terminated"), err
    assert list(tmp_path.iterdir()) == []
