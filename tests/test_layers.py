"""The shared base: one error root, and ``reports``/``attacks`` load nothing of the synthesizers.

(The full layering is checked by ``lint-imports`` in CI: pyproject.toml, [tool.importlinter].)
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from attacks import AuditInputError
from privsynth.errors import VERDICT_EXIT_CODES, ExitCode, InputError, PrivsynthError

_PROBE = """
import json, sys
import attacks, reports, reports.gate, reports.utility
print(json.dumps(sorted(m for m in sys.modules if m.startswith("privsynth"))))
"""


@pytest.mark.slow
def test_reports_and_attacks_import_no_synthesizer_stack() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(out.stdout)
    assert "privsynth.manifest" in loaded  # the base is there ...
    stack = ("privsynth.synthesizers", "privsynth.model", "privsynth.privacy", "privsynth.engines")
    assert not [m for m in loaded if m.startswith(stack)], loaded  # ... the stack is not


def test_one_error_root_and_one_exit_code_table() -> None:
    assert issubclass(AuditInputError, InputError) and issubclass(AuditInputError, ValueError)
    assert AuditInputError("x").exit_code == ExitCode.INPUT == 2
    assert PrivsynthError.exit_code == 2
    assert VERDICT_EXIT_CODES == {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}
    from privsynth.cli.app import EXIT_FAIL, EXIT_INCOMPLETE, EXIT_INPUT, EXIT_OK, EXIT_TERMINATED
    from reports.verdict import EXIT_CODES

    assert (EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INCOMPLETE, EXIT_TERMINATED) == (0, 1, 2, 3, 143)
    assert EXIT_CODES is VERDICT_EXIT_CODES
