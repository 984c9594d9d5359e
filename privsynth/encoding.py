"""Schema-driven encoding of a table to integer codes 0..k-1 per column, and decoding back.

Encoding never widens the domain: numbers are clipped to the public bounds, unseen categories go to
the schema's "other" code or are an error, and a missing value in a non-nullable column is an error.
Decoding draws numbers uniformly within their bin, so no value outside the schema is ever produced.

Privacy: every cell's code is a function of that cell and the public schema only, never of other
cells or of the column's dtype (which pandas infers from every cell). So adding or removing one
record changes no other record's code, and a marginal of the codes has L2 sensitivity 1.

The category key (docs/schema.md, "Matching values to categories"): a cell (or a schema category)
matches a category iff their keys are equal, where ``category_key(v)`` is

- ``"True"`` / ``"False"`` for a boolean (Python or numpy);
- for a number (int, float, numpy number) or a text that is a decimal number literal
  (``NUMBER_PATTERN``: optional sign, digits with an optional point, optional exponent; ASCII, no
  spaces, no underscores, no ``inf``/``nan``) whose value ``x = float(text)`` is finite: the
  decimal integer text (``"1"``, ``"-3"``) when ``x`` is integral with ``|x| < 2**53``, otherwise
  ``repr(x)`` (``"1.5"``, ``"1e+16"``); ``-0.0`` is ``"0"``;
- otherwise the text itself (``str(v)``), unchanged.

Engines that encode elsewhere (SQL) must reproduce ``category_key`` exactly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from privsynth.domain import Domain
from privsynth.errors import SchemaError
from privsynth.schema import ColumnSpec, Schema, datetime_seconds

NUMBER_PATTERN = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER = re.compile(NUMBER_PATTERN, re.ASCII)
_EXACT_INT = 2.0**53


class EncodingNote(str):
    """What encoding changed in one column, for the data owner: the text carries an exact count.

    The count (values clipped, values mapped to "other") is a function of the private rows read
    without DP, so it is for the operator's own check only (``privsynth schema check``). Commands
    that make a release print :attr:`release` instead: the same note without the count, so a CI
    log of ``synth`` or ``certify`` carries no private figure (docs/privacy.md, "What is read
    without DP").
    """

    column: str
    change: str
    count: int

    def __new__(cls, column: str, change: str, count: int) -> EncodingNote:
        note = super().__new__(cls, f"column {column!r}: {count} values {change}")
        note.column, note.change, note.count = column, change, count
        return note

    def __reduce__(self) -> tuple[Any, ...]:
        return (EncodingNote, (self.column, self.change, self.count))

    @property
    def release(self) -> str:
        return (
            f"column {self.column!r}: some values {self.change} (how many is private: "
            "`privsynth schema check` shows it to the data owner)"
        )


def other_note(column: str, count: int) -> EncodingNote:
    """``count`` values of ``column`` outside the schema's categories went to 'other'."""
    return EncodingNote(column, "outside the categories mapped to 'other'", count)


def clipped_note(spec: ColumnSpec, count: int) -> EncodingNote:
    """``count`` values of ``spec``'s column outside its bounds were clipped."""
    return EncodingNote(spec.name, f"outside [{spec.lower}, {spec.upper}] clipped", count)


def release_text(note: str) -> str:
    """The note as a release command prints it: without a private count."""
    return getattr(note, "release", note)


@dataclass
class Encoded:
    """Integer codes (rows x synthesized columns, in domain order) and what encoding changed."""

    codes: np.ndarray
    domain: Domain
    notes: list[str] = field(
        default_factory=list
    )  # clipping / "other" counts, for the operator only

    @property
    def n_rows(self) -> int:
        return int(self.codes.shape[0])


def _row(mask: np.ndarray) -> int:
    """1-based data row number (the header is not counted) of the first True in ``mask``."""
    return int(np.flatnonzero(mask)[0]) + 1


def _number_key(x: float) -> str | None:
    if not math.isfinite(x):
        return None
    if x == math.floor(x) and abs(x) < _EXACT_INT:
        return str(int(x))
    return repr(float(x))


def category_key(value: Any) -> str:
    """The matching key of one cell or schema category (module docstring; one value at a time)."""
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        key = _number_key(float(value))
        return key if key is not None else str(value)
    if isinstance(value, float | np.floating):
        key = _number_key(float(value))
        return key if key is not None else str(value)
    text = str(value)
    if _NUMBER.fullmatch(text):
        key = _number_key(float(text))
        if key is not None:
            return key
    return text


def category_keys(values: pd.Series) -> pd.Series:
    """``category_key`` of every cell of ``values`` (no missing values), vectorised.

    Numbers are keyed from their float value in bulk; other cells are keyed once per distinct
    value. The result for a cell never depends on the other cells.
    """
    index = values.index
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(np.where(values.to_numpy(dtype=bool), "True", "False"), index=index)
    if pd.api.types.is_numeric_dtype(values):
        # key each distinct value once (0.0 and -0.0 may share a slot: both are "0")
        codes, uniq = pd.factorize(values.to_numpy(dtype=float))
        x = np.asarray(uniq, dtype=float)
        keys = np.empty(len(x), dtype=object)
        whole = np.isfinite(x) & (x == np.floor(x)) & (np.abs(x) < _EXACT_INT)
        keys[whole] = x[whole].astype(np.int64).astype(str)
        keys[~whole] = [category_key(float(u)) for u in x[~whole]]
        return pd.Series(keys[codes], index=index, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        # all cells are text: key each distinct text once (hashing never merges two texts)
        codes, uniq = pd.factorize(values)
        keys = np.array([category_key(str(u)) for u in uniq], dtype=object)
        return pd.Series(keys[codes], index=index, dtype=object)
    # mixed Python objects (1, 1.0 and True hash alike, so no factorising): one at a time
    return pd.Series([category_key(v) for v in values.to_numpy(dtype=object)], index=index)


def schema_category_keys(spec: ColumnSpec) -> list[str]:
    """The keys of a column's categories; two categories with one key are a schema error."""
    keys = [category_key(c) for c in spec.categories or []]
    if len(set(keys)) != len(keys):
        seen: dict[str, Any] = {}
        for c, k in zip(spec.categories or [], keys, strict=True):
            if k in seen:
                raise SchemaError(
                    f"schema column {spec.name!r}: categories {seen[k]!r} and {c!r} are the same "
                    f"value (both match {k!r}); keep one of them"
                )
            seen[k] = c
    return keys


def _encode_column(s: pd.Series, spec: ColumnSpec, notes: list[str]) -> np.ndarray:
    """Codes of one column: its categories' or bins' codes, ``n_values`` for a missing value."""
    missing = s.isna().to_numpy()
    codes = np.empty(len(s), dtype=np.int64)
    if missing.any() and not spec.nullable:
        raise SchemaError(
            f"column {spec.name!r}: missing value at data row {_row(missing)} "
            f"({int(missing.sum())} rows), but the schema says nullable: false"
        )
    present = ~missing
    values = s[present]
    if spec.type == "categorical":
        codes[present] = _category_codes(values, present, spec, notes)
    else:
        codes[present] = _bin_codes(values, present, spec, notes)
    codes[missing] = spec.n_values()
    return codes


def _category_codes(
    values: pd.Series, present: np.ndarray, spec: ColumnSpec, notes: list[str]
) -> np.ndarray:
    """Category index of every present cell (unseen values: the 'other' code, or an error)."""
    cats = schema_category_keys(spec)
    keys = category_keys(values)
    found = pd.Index(cats).get_indexer(keys).astype(np.int64)
    unseen = found < 0
    if unseen.any():
        first = keys.to_numpy()[unseen][0]
        rows = np.flatnonzero(present)[unseen]
        if not spec.other:
            raise SchemaError(
                f"column {spec.name!r}: value {first!r} at data row {rows[0] + 1} is not among "
                f"the schema's categories ({int(unseen.sum())} rows); {spec.unseen_value_fix()}"
            )
        found[unseen] = len(cats)
        notes.append(other_note(spec.name, int(unseen.sum())))
    return found


def _bin_codes(
    values: pd.Series, present: np.ndarray, spec: ColumnSpec, notes: list[str]
) -> np.ndarray:
    """Bin index of every present number or date, clipped to the schema's bounds."""
    where = f"column {spec.name!r}"
    if spec.type == "datetime":
        parsed = pd.to_datetime(values.astype(str), format=spec.format, errors="coerce")
        bad = parsed.isna().to_numpy()
        x = datetime_seconds(parsed)
    else:
        num = pd.to_numeric(values, errors="coerce")
        x = num.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(x)
    if bad.any():
        rows = np.flatnonzero(present)[bad]
        shown = values.to_numpy()[bad][0]
        kind = "a date in format " + repr(spec.format) if spec.type == "datetime" else "a number"
        raise SchemaError(
            f"{where}: value {shown!r} at data row {rows[0] + 1} is not {kind} "
            f"({int(bad.sum())} rows)"
        )
    lo, hi = spec.numeric_bounds()
    outside = (x < lo) | (x > hi)
    if outside.any():
        notes.append(clipped_note(spec, int(outside.sum())))
    x = np.clip(x, lo, hi)
    edges = spec.bin_edges()
    return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, spec.n_values() - 1)


def encode(df: pd.DataFrame, schema: Schema) -> Encoded:
    """Encode ``df`` to integer codes under ``schema`` (columns checked both ways)."""
    if len(df) == 0:
        raise SchemaError("the table has no rows")
    in_schema = set(schema.names)
    extra = [c for c in df.columns if c not in in_schema]
    if extra:
        raise SchemaError(
            f"columns {extra} are in the data but not in the schema "
            '(add them to the schema, or mark them {"type": "exclude"})'
        )
    absent = [c.name for c in schema.synth_columns if c.name not in df.columns]
    if absent:
        raise SchemaError(f"columns {absent} are in the schema but not in the data")
    notes: list[str] = []
    cols = [_encode_column(df[spec.name], spec, notes) for spec in schema.synth_columns]
    codes = np.column_stack(cols).astype(np.int64, copy=False)
    return Encoded(codes=codes, domain=schema.domain(), notes=notes)


def _decode_column(c: np.ndarray, spec: ColumnSpec, rng: np.random.Generator) -> pd.Series:
    n_values = spec.n_values()
    missing = c >= n_values
    present = ~missing
    cp = c[present]
    if spec.type == "categorical":
        cats = list(spec.categories or [])
        if spec.other:
            cats.append(spec.other_label)
        all_int = all(isinstance(v, int) and not isinstance(v, bool) for v in cats)
        if all_int and not missing.any():
            return pd.Series(np.asarray(cats, dtype=np.int64)[c])
        lookup = np.empty(len(cats), dtype=object)
        lookup[:] = cats
        out = np.full(len(c), None, dtype=object)
        out[present] = lookup[cp]
        return pd.Series(out, dtype="Int64" if all_int else object)
    edges = spec.bin_edges()
    lo_b, hi_b = edges[cp], edges[cp + 1]
    lo, hi = spec.numeric_bounds()
    if spec.type == "integer":
        # bin holds the integers lo_b .. hi_b - 1
        vals = np.clip(rng.integers(lo_b.astype(np.int64), hi_b.astype(np.int64)), lo, hi)
        if not missing.any():
            return pd.Series(vals.astype(np.int64))
        out = pd.array(np.zeros(len(c), dtype=np.int64), dtype="Int64")
        out[present] = vals.astype(np.int64)
        out[missing] = pd.NA
        return pd.Series(out)
    vals = np.clip(rng.uniform(lo_b, hi_b), lo, hi)
    full = np.full(len(c), np.nan)
    full[present] = vals
    if spec.type == "float":
        return pd.Series(full)
    stamps = pd.to_datetime(pd.Series(full), unit="s")
    text = stamps.dt.strftime(spec.format)
    return text.where(pd.Series(present), None).astype(object)


def decode(codes: np.ndarray, schema: Schema, rng: np.random.Generator) -> pd.DataFrame:
    """Turn codes back into a table with the schema's synthesized columns and types."""
    specs = schema.synth_columns
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != len(specs):
        raise ValueError(f"codes must have shape (n, {len(specs)}), got {codes.shape}")
    data = {spec.name: _decode_column(codes[:, j], spec, rng) for j, spec in enumerate(specs)}
    return pd.DataFrame(data)
