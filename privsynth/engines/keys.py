"""The per-value category key rule (docs/schema.md, "category matching"), vectorised.

One record must never change another record's code, so whether a cell matches a category is decided
per cell, never per column. A cell's key is its text as read (after io's trimming); if that text
parses as a finite number (Python ``float(text)``), the key is the canonical number instead:
integral values with ``|x| < 2**53`` become the decimal integer ("1", "-3"), every other finite
value ``repr(float(x))`` ("1.5", "1e+20"). Cells pandas already parsed as numbers get the key of
their float value; booleans are the text "True"/"False". Schema categories get the same key, and a
cell matches a category iff the keys are equal.

Two facts make the SQL engines exact without formatting numbers in SQL: (1) a numeric key never
equals a text key (every numeric key parses as a number, no text key does), and (2) between numeric
keys, key equality is float equality (``repr`` round-trips; integral values below 2**53 are exact).
So a cell matches a numeric category iff it parses to the same double, and a text category iff the
texts are equal. ``FLOAT_TEXT`` is Python's ``float`` grammar for finite decimal text (ASCII digits,
single underscores between digits), which the SQL engines use to decide "parses as a number".
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

_DIGITS = "[0-9](_?[0-9])*"
# Python float() grammar for finite decimal numbers (no inf/nan): sign, mantissa, exponent.
FLOAT_TEXT = f"[+-]?(({_DIGITS})?[.]{_DIGITS}|{_DIGITS}[.]?)([eE][+-]?{_DIGITS})?"
# pandas.to_numeric's grammar for numeric columns (no underscores)
NUMBER_TEXT = "[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
# what Python's str.strip() removes (io trims every text cell with it)
# (every such character is below U+3001; tests/test_engines_fast_paths.py checks the whole range)
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_EXACT = 2.0**53
_FLOAT_RE = re.compile(FLOAT_TEXT)


def number_key(x: float) -> str:
    """The canonical key of a finite number: "3" for integral values below 2**53, else repr."""
    if x.is_integer() and abs(x) < _EXACT:
        return str(int(x))
    return repr(float(x))


def text_number(text: str) -> float | None:
    """The finite float a text cell parses to under :data:`FLOAT_TEXT`, or None."""
    if not _FLOAT_RE.fullmatch(text):
        return None
    x = float(text)
    return x if math.isfinite(x) else None


def category_key(value: Any) -> str:
    """The key of one cell or one schema category (see the module docstring)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return number_key(float(value))
    if isinstance(value, float | np.floating):
        x = float(value)
        return number_key(x) if math.isfinite(x) else str(x)
    text = str(value)
    x = text_number(text)
    return text if x is None else number_key(x)


def category_keys(values: pd.Series) -> pd.Series:
    """:func:`category_key` of every (present) cell, computed once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if values.dtype == object and any(isinstance(u, bool | np.bool_) for u in uniques):
        # factorize merges True with 1 (they compare equal): key these rare columns cell by cell
        keys = [None if pd.isna(v) else category_key(v) for v in values]
        return pd.Series(keys, index=values.index, dtype=object)
    keys = np.array([category_key(u) for u in uniques] + [None], dtype=object)
    return pd.Series(keys[codes], index=values.index, dtype=object)


def split_categories(
    categories: list[Any],
) -> tuple[list[tuple[int, float]], list[tuple[int, str]]]:
    """Schema categories as (code, double) for numeric keys and (code, text) for text keys."""
    numeric: list[tuple[int, float]] = []
    text: list[tuple[int, str]] = []
    for code, cat in enumerate(categories):
        key = category_key(cat)
        x = text_number(key)
        if x is None:
            text.append((code, key))
        else:
            numeric.append((code, x))
    return numeric, text
