"""Code shape: no function in privsynth/, attacks/ or reports/ is longer than 60 lines.

A function's length is ``end_lineno - lineno + 1`` of its ``def`` (decorators not counted,
docstring and signature counted). ``LONG_FUNCTIONS`` lists the functions other engineers are
splitting now, with their length when the rule came in: one may not grow, and the test fails
once it is short (or gone), so that its entry is removed and the rule then holds for it too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("privsynth", "attacks", "reports")
MAX_LINES = 60

LONG_FUNCTIONS: dict[str, int] = {}  # emptied at the wave-2 merge: the rule holds everywhere


def function_lengths(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, int]:
    """``path:name`` -> length of every function and method (the longest of a repeated name)."""
    out: dict[str, int] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            rel = path.relative_to(root).as_posix()
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    key = f"{rel}:{node.name}"
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    out[key] = max(out.get(key, 0), length)
    return out


def test_no_function_is_longer_than_60_lines() -> None:
    lengths = function_lengths()
    assert len(lengths) > 500  # the walk found the code
    too_long = {
        name: n for name, n in lengths.items() if n > MAX_LINES and name not in LONG_FUNCTIONS
    }
    assert not too_long, f"functions over {MAX_LINES} lines (split them): {too_long}"


def test_allowlisted_long_functions_only_shrink_and_leave_the_list_when_short() -> None:
    lengths = function_lengths()
    gone = [name for name in LONG_FUNCTIONS if name not in lengths]
    assert not gone, f"no longer exist: remove from LONG_FUNCTIONS: {gone}"
    short = [name for name in LONG_FUNCTIONS if lengths[name] <= MAX_LINES]
    assert not short, f"now at most {MAX_LINES} lines: remove from LONG_FUNCTIONS: {short}"
    grown = {n: lengths[n] for n in LONG_FUNCTIONS if lengths[n] > LONG_FUNCTIONS[n]}
    assert not grown, f"allowlisted functions grew (split them instead): {grown}"


def test_the_rule_sees_a_long_method(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_LINES - 1))
    (tmp_path / "pkg" / "m.py").write_text(f"class A:\n    def f(self):\n{body}\n")
    assert function_lengths(tmp_path, ("pkg",)) == {"pkg/m.py:f": MAX_LINES}
    (tmp_path / "pkg" / "m.py").write_text(f"class A:\n    def f(self):\n{body}\n        y = 1\n")
    assert function_lengths(tmp_path, ("pkg",))["pkg/m.py:f"] == MAX_LINES + 1
