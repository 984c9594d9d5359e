"""Schema-driven encoding of a table to integer codes 0..k-1 per column, and decoding back.

Encoding never widens the domain: numbers are clipped to the public bounds, unseen categories go to
the schema's "other" code or are an error, and a missing value in a non-nullable column is an error.
Decoding draws numbers uniformly within their bin, so no value outside the schema is ever produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from privsynth.domain import Domain
from privsynth.errors import SchemaError
from privsynth.schema import ColumnSpec, Schema, _key, datetime_seconds


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


def _category_keys(values: pd.Series) -> pd.Series:
    """Text keys for category matching: integral numbers lose their '.0', everything else is str."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = values.astype(float)
        if np.all(np.mod(num.to_numpy(), 1) == 0):
            return num.astype(np.int64).astype(str)
        return num.astype(str)
    return values.astype(str)


def _encode_column(s: pd.Series, spec: ColumnSpec, notes: list[str]) -> np.ndarray:
    n = len(s)
    missing = s.isna().to_numpy()
    codes = np.empty(n, dtype=np.int64)
    where = f"column {spec.name!r}"
    if missing.any() and not spec.nullable:
        raise SchemaError(
            f"{where}: missing value at data row {_row(missing)} ({int(missing.sum())} rows), "
            "but the schema says nullable: false"
        )
    present = ~missing
    values = s[present]
    n_values = spec.n_values()
    if spec.type == "categorical":
        cats = [_key(c) for c in spec.categories or []]
        keys = _category_keys(values)
        found = pd.Index(cats).get_indexer(keys).astype(np.int64)
        unseen = found < 0
        if unseen.any():
            first = keys.to_numpy()[unseen][0]
            rows = np.flatnonzero(present)[unseen]
            if not spec.other:
                raise SchemaError(
                    f"{where}: value {first!r} at data row {rows[0] + 1} is not among the schema's "
                    f"categories ({int(unseen.sum())} rows); {spec.unseen_value_fix()}"
                )
            found[unseen] = len(cats)
            notes.append(
                f"{where}: {int(unseen.sum())} values outside the categories mapped to 'other'"
            )
        codes[present] = found
    else:
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
            kind = (
                "a date in format " + repr(spec.format) if spec.type == "datetime" else "a number"
            )
            raise SchemaError(
                f"{where}: value {shown!r} at data row {rows[0] + 1} is not {kind} "
                f"({int(bad.sum())} rows)"
            )
        lo, hi = spec.numeric_bounds()
        outside = (x < lo) | (x > hi)
        if outside.any():
            notes.append(
                f"{where}: {int(outside.sum())} values outside [{spec.lower}, {spec.upper}] clipped"
            )
        x = np.clip(x, lo, hi)
        edges = spec.bin_edges()
        codes[present] = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, n_values - 1)
    codes[missing] = n_values
    return codes


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
