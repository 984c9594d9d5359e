"""Hypothesis strategies and properties for the fuzz suite (tests/test_fuzz_*.py, benchmarks/fuzz_long.py).

Properties every run must have, whatever the input: the exit code is 0, 1, 2 or 3; no
"internal error" and no traceback (an internal error on generated input is a bug); a user error
(exit 2) is exactly one ``error:`` line; every input is byte-identical afterwards; no temporary
file is left. Outputs of a successful run conform to their schema (``conforms``).

Size and seeding: ``FUZZ_SETTINGS`` is derandomized (the same examples on every CI run) with
``max_examples`` scaled by ``PRIVSYNTH_FUZZ_SCALE`` (default 1). ``PRIVSYNTH_FUZZ_RANDOM=1`` turns
derandomization off, so ``pytest --hypothesis-seed=N`` picks the examples (the long run does).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from reliability_helpers import assert_clean, digest, invoke

from privsynth.schema import Schema, datetime_seconds

SCALE = float(os.environ.get("PRIVSYNTH_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("PRIVSYNTH_FUZZ_RANDOM") == "1"


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        derandomize=not RANDOM,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# -- tables --------------------------------------------------------------------------------------
NASTY = [
    "", " ", "?", "NA", "nan", "NaN", "null", "inf", "-inf", "Infinity", "1e20", "-1e19",
    "99999999999999999999", str(2**70), str(2**63), str(-(2**63) - 1), "9007199254740993",
    "1e308", "1e400", "-0", "0x10", "1_000", "1,5", "TRUE", "true", "2020-01-01", "2020-13-45",
    "01/02/2020", "[bold red]x[/bold red]", "[report]", "é", "日本", "a\nb", '"q"', " x ", "\t",
    "\x00", "\ufeff", "0", "00", "007", "1.0", "1.5", "-3", "NULL",
]  # fmt: skip
SAFE_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=6
)
CELLS = {
    "int": st.integers(-1000, 1000).map(str),
    "bigint": st.integers(-(2**80), 2**80).map(str),
    "float": st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    "cat": st.sampled_from(["a", "b", "c", "d"]),
    "date": st.dates().map(lambda d: d.strftime("%Y-%m-%d")),
    "nasty": st.sampled_from(NASTY),
    "text": SAFE_TEXT,
}


@st.composite
def column(draw: Any, n_rows: int) -> list[str]:
    kind = draw(st.sampled_from(list(CELLS)))
    base = draw(st.lists(CELLS[kind], min_size=n_rows, max_size=n_rows))
    # a few cells replaced by nasty ones (missing markers, overflows, markup, ...)
    for i in draw(st.lists(st.integers(0, n_rows - 1), max_size=3)):
        base[i] = draw(st.sampled_from(NASTY))
    return base


@st.composite
def table_text(draw: Any) -> str:
    """CSV text: mostly well-formed tables with awkward cells, sometimes a ragged or raw file."""
    n_cols = draw(st.integers(1, 4))
    n_rows = draw(st.integers(1, 25))
    names = draw(
        st.lists(
            st.one_of(st.sampled_from(["a", "b", "age", " a", "a ", "[x]", ""]), SAFE_TEXT),
            min_size=n_cols,
            max_size=n_cols,
        )
    )
    cols = [draw(column(n_rows)) for _ in range(n_cols)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for r in range(n_rows):
        writer.writerow([c[r] for c in cols])
    text = buf.getvalue()
    mangle = draw(st.sampled_from(["none"] * 8 + ["ragged", "truncate", "raw"]))
    if mangle == "ragged":
        text += ",".join(["1"] * draw(st.sampled_from([1, n_cols + 1]))) + "\n"
    elif mangle == "truncate":
        text = text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    elif mangle == "raw":
        text = draw(st.text(max_size=60))
    return text


def write_table_text(folder: Path, text: str, name: str = "data.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    return path


# -- schemas -------------------------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(["no", "0", "yes", "xy", "other", "x", "2020-01-01", "%Y-%m-%d"]),
        SAFE_TEXT,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(SAFE_TEXT, inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = [
    "type", "categories", "nullable", "other", "other_label", "lower", "upper", "bins", "format",
    "note", "colour",
]  # fmt: skip


@st.composite
def mutated_schema(draw: Any, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (a schema dict) with one to three fields replaced by arbitrary JSON values."""
    data = json.loads(json.dumps(base))
    cols = data["columns"]
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(cols)))
        key = draw(st.sampled_from(FIELDS))
        if draw(st.booleans()) and key in cols[name]:
            del cols[name][key]
        else:
            cols[name][key] = draw(JSON_VALUES)
    return data


# -- properties ----------------------------------------------------------------------------------
def run_checked(folder: Path, *args: Any, inputs: list[Path]) -> tuple[int, str]:
    """Run a command and assert the properties of the module docstring; (code, output)."""
    before = {str(p): digest_file(p) for p in inputs if p.is_file()}
    code, out = invoke(*args)
    assert code in (0, 1, 2, 3), (code, out)
    assert "internal error" not in out and "Traceback" not in out, out
    if code == 2:
        assert len([ln for ln in out.splitlines() if ln.startswith("error:")]) == 1, out
    after = {str(p): digest_file(p) for p in inputs if p.is_file()}
    assert after == before, f"an input changed: {args}"
    assert_clean(folder)
    return code, out


def digest_file(path: Path) -> str:
    return digest(path.parent)[path.name]


def conforms(table_path: Path, schema: Schema, rows: int | None = None) -> None:
    """Every cell of the written table is a value the schema allows (checked on the raw text)."""
    with open(table_path, newline="", encoding="utf-8") as fh:
        header, *body = list(csv.reader(fh))
    raw = pd.DataFrame(body, columns=header, dtype=object)
    assert header == [c.name for c in schema.synth_columns]
    if rows is not None:
        assert len(raw) == rows
    for spec in schema.synth_columns:
        cells = raw[spec.name]
        present = cells[cells != ""]
        assert spec.nullable or len(present) == len(cells), spec.name
        if spec.type == "categorical":
            allowed = {_canon(c) for c in spec.categories or []}
            if spec.other:
                allowed.add(_canon(spec.other_label))
            bad = [v for v in present if _canon(v) not in allowed]
            assert not bad, (spec.name, bad[:3], sorted(allowed)[:5])
        elif spec.type == "datetime":
            stamps = pd.Series(datetime_seconds(pd.to_datetime(present, format=spec.format)))
            lo, hi = spec.numeric_bounds()
            assert stamps.between(lo - 1, hi + 1).all(), spec.name
        else:
            x = present.astype(float)
            lo, hi = spec.numeric_bounds()
            assert x.map(math.isfinite).all() and x.between(lo, hi).all(), spec.name
            if spec.type == "integer":
                assert (x == x.round()).all(), spec.name


def _canon(value: Any) -> str:
    """Text identity of a category as written to CSV (1, 1.0 and "1" alike)."""
    text = str(value)
    try:
        f = float(text)
    except ValueError:
        return text
    return repr(int(f)) if math.isfinite(f) and f.is_integer() and abs(f) < 2**53 else text
