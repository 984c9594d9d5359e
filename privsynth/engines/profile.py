"""Column profiles of a large file in DuckDB, for the non-private schema draft (``schema infer``).

``privsynth.schema_infer.infer_schema`` drafts a schema from a DataFrame that ``io.read_table``
read whole. For a file too large for pandas, :func:`profile_columns` computes in DuckDB, in at
most two scans (one GROUPING SETS query over the text columns, one aggregate over the typed
numeric ones), exactly what the draft reads from each column:

- text columns (CSV cells, Parquet strings, booleans as "True"/"False"): the distinct values as
  ``io.read_table`` gives them (trimmed with ``str.strip``'s set, missing markers as NULL), each
  with its count, and the null count;
- typed numeric columns: the row count, null count, minimum, maximum and the number of distinct
  values.

:func:`infer_schema_file` then applies the draft's rules to the profile: a text column whose every
present value parses as a number becomes numeric as in ``io.read_table`` (integers where every
value is whole and within 2**53), datetimes are detected on the distinct values (a format parses
every value exactly when it parses every distinct value, and the extremes are the same), and the
identifier rule uses the distinct count against the present count. The result is the schema
``infer_schema(read_table(path))`` gives (tests/test_engines_fast_paths.py: the bundled Adult as
CSV and Parquet and a generated table with nulls, numeric text, datetimes and identifiers).

Memory is the distinct values of the text columns (not the rows): a text column with tens of
millions of distinct values still costs their size. Column types DuckDB reads that pandas would
read differently (dates, timestamps, decimals, lists) are not profiled: ``profile_columns`` returns
None and the caller reads the file with pandas.

Privacy: like the draft itself this is NOT differentially private (category lists and exact
bounds are read from the data); the file it writes says so (``NOT_PRIVATE_WARNING``).
"""

from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from privsynth.engines.base import EngineConfig
from privsynth.errors import InputError
from privsynth.io import DEFAULT_MISSING, read_table
from privsynth.schema import DEFAULT_BINS, ColumnSpec, Schema

EXACT_INT = 2.0**53  # as io.read_table: whole numbers stay integers up to here


@dataclass(frozen=True, kw_only=True)
class ColumnProfile:
    """What the draft reads from one column (``kind``: "text", "integer" or "float").

    Text: ``values`` the distinct present values (object Series), ``counts`` their counts.
    Numbers: ``lower``/``upper`` the extremes, ``n_distinct`` the distinct present values.
    """

    name: str
    kind: str
    n_present: int
    n_null: int
    values: pd.Series | None = None
    counts: np.ndarray | None = None
    lower: float | None = None
    upper: float | None = None
    n_distinct: int = 0


@dataclass(frozen=True, kw_only=True)
class TableProfile:
    n_rows: int
    columns: list[ColumnProfile] = field(default_factory=list)


def _csv_header(path: str) -> list[str]:
    opener: Any = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        try:
            return next(csv.reader(fh))
        except StopIteration:
            raise InputError(f"{path}: the file is empty") from None


def _pandas_kind(sql_type: str, has_null: bool, pandas_dtype: str | None) -> str | None:
    """How pandas reads a DuckDB column type: "text", "integer", "float" or None (other)."""
    from privsynth.engines.plan import source_kind

    kind = source_kind(sql_type)
    if kind in ("text", "boolean"):
        return "text"
    if sql_type.upper().startswith("DECIMAL") or kind == "other":
        return None
    if kind == "integer" and has_null:  # pyarrow gives float64 unless pandas wrote Int64
        return "integer" if (pandas_dtype or "").startswith(("Int", "UInt")) else "float"
    return kind


def profile_columns(
    path: str | os.PathLike[str],
    *,
    missing: tuple[str, ...] = DEFAULT_MISSING,
    config: EngineConfig | None = None,
) -> TableProfile | None:
    """The profile of every column of a Parquet or CSV file (None: a column type pandas would
    read otherwise; read the file with pandas then). Errors as ``io.read_table``'s."""
    from privsynth.engines.duckdb_engine import DUCKDB, DuckDBEngine, expand_paths, table_function

    files = expand_paths(path)
    source = table_function(files)
    con, folder = DuckDBEngine(config or EngineConfig()).connect()
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        raw = [str(r[0]) for r in described]
        types = [str(r[1]) for r in described]
        if source.startswith("read_csv") and raw != _csv_header(files[0]):
            return None  # DuckDB renamed a header cell (empty or repeated): let pandas say why
        _check_names(str(path), raw)
        nulls, n_rows = _null_counts(con, source, raw, types, missing)
        meta = _pandas_dtypes(files[0]) if source.startswith("read_parquet") else {}
        kinds = [
            _pandas_kind(t, nulls[c] > 0, meta.get(c)) for c, t in zip(raw, types, strict=True)
        ]
        if any(k is None for k in kinds):
            return None
        text = [(c, t) for c, t, k in zip(raw, types, kinds, strict=True) if k == "text"]
        distinct = _distinct_text(con, source, text, missing, DUCKDB)
        typed = [(c, k) for c, k in zip(raw, kinds, strict=True) if k != "text"]
        numeric = _numeric_stats(con, source, typed)
    finally:
        con.close()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    cols = [
        _column_profile(str(path), c, k, n_rows, nulls[c], distinct.get(c), numeric.get(c))
        for c, k in zip(raw, kinds, strict=True)
    ]
    return TableProfile(n_rows=n_rows, columns=cols)


def _column_profile(
    path: str,
    raw: str,
    kind: str,
    n_rows: int,
    n_null: int,
    distinct: tuple[np.ndarray, np.ndarray] | None,
    numeric: tuple[Any, Any, Any] | None,
) -> ColumnProfile:
    """One column's profile from the scans' results (a non-finite float is refused by name)."""
    name = raw.strip()
    if kind == "text":
        assert distinct is not None
        values, counts = distinct
        return ColumnProfile(
            name=name, kind="text", n_present=int(counts.sum()), n_null=n_null,
            values=values, counts=counts,
        )  # fmt: skip
    assert numeric is not None
    lo, hi, nd = numeric
    if kind == "float" and lo is not None and not (np.isfinite(lo) and np.isfinite(hi)):
        bad = lo if not np.isfinite(lo) else hi
        raise InputError(
            f"{path}: column {name!r}: value {bad!s} is not a finite number; remove it "
            "or give it as a missing value"
        )
    return ColumnProfile(
        name=name, kind=kind, n_present=n_rows - n_null, n_null=n_null,
        lower=lo, upper=hi, n_distinct=nd,
    )  # fmt: skip


def _check_names(path: str, raw: list[str]) -> None:
    names = [c.strip() for c in raw]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            f"{path}: duplicate column names {dupes}"
            + (" (after trimming spaces)" if len(set(raw)) == len(names) else "")
        )


def _pandas_dtypes(path: str) -> dict[str, str]:
    """Column -> the numpy dtype pandas recorded when it wrote the Parquet file (if it did)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).pandas_metadata or {}
    return {str(c.get("name")): str(c.get("numpy_type")) for c in meta.get("columns", [])}


def _null_counts(
    con: Any, source: str, raw: list[str], types: list[str], missing: tuple[str, ...]
) -> tuple[dict[str, int], int]:
    """Per column the cells ``io.read_table`` reads as missing; and the row count (one scan)."""
    from privsynth.engines.duckdb_engine import DUCKDB
    from privsynth.engines.plan import read_expr, source_kind

    parts = []
    for c, t in zip(raw, types, strict=True):
        kind = source_kind(t)
        cell = read_expr(DUCKDB, c, kind if kind in ("text", "float") else "integer", missing)
        parts.append(f"sum(CASE WHEN ({cell}) IS NULL THEN 1 ELSE 0 END)")
    row = con.execute(f"SELECT count(*), {', '.join(parts)} FROM {source}").fetchone()
    return {c: int(v or 0) for c, v in zip(raw, row[1:], strict=True)}, int(row[0])


def _distinct_text(
    con: Any, source: str, text: list[tuple[str, str]], missing: tuple[str, ...], d: Any
) -> dict[str, tuple[pd.Series, np.ndarray]]:
    """Each text column's distinct present values with counts: one GROUPING SETS scan."""
    from privsynth.engines.plan import read_expr, source_kind

    if not text:
        return {}
    exprs = []
    for c, t in text:
        if source_kind(t) == "boolean":
            col = d.ident(c)
            exprs.append(f"CASE WHEN {col} THEN 'True' WHEN NOT {col} THEN 'False' END")
        else:
            exprs.append(read_expr(d, c, "text", missing))
    cols = ", ".join(f"{e} AS v{j}" for j, e in enumerate(exprs))
    which = " ".join(f"WHEN grouping(v{j}) = 0 THEN {j}" for j in range(len(text)))
    value = ", ".join(f"v{j}" for j in range(len(text)))
    sets = ", ".join(f"(v{j})" for j in range(len(text)))
    got = con.execute(
        f"SELECT CASE {which} END AS s, coalesce({value}) AS v, count(*) AS n "
        f"FROM (SELECT {cols} FROM {source}) AS t GROUP BY GROUPING SETS ({sets})"
    ).fetchnumpy()
    s = np.asarray(got["s"]).astype(np.int64)
    v = pd.Series(np.asarray(got["v"], dtype=object))
    n = np.asarray(got["n"]).astype(np.int64)
    out = {}
    for j, (c, _) in enumerate(text):
        sel = (s == j) & v.notna().to_numpy()
        out[c] = (v[sel].reset_index(drop=True), n[sel])
    return out


def _numeric_stats(
    con: Any, source: str, columns: list[tuple[str, str]]
) -> dict[str, tuple[Any, Any, int]]:
    """(min, max, distinct count of an integer column) of each typed numeric column, NaN as
    missing (one scan)."""
    from privsynth.engines.duckdb_engine import DUCKDB

    if not columns:
        return {}
    parts = []
    for c, kind in columns:
        col = DUCKDB.ident(c)
        x = f"(CASE WHEN try_cast({col} AS DOUBLE) = 'NaN'::DOUBLE THEN NULL ELSE {col} END)"
        distinct = f"count(DISTINCT {x})" if kind == "integer" else "0"
        parts.append(f"min({x}), max({x}), {distinct}")
    row = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone()
    return {
        c: (row[3 * j], row[3 * j + 1], int(row[3 * j + 2] or 0))
        for j, (c, _) in enumerate(columns)
    }


# -- the draft's rules on a profile (mirroring io.read_table and schema_infer.infer_column) --------
def as_numbers(values: pd.Series, has_null: bool) -> tuple[pd.Series, bool] | None:
    """``io.read_table``'s numeric decision on a text column's distinct values: the numbers and
    whether they are integers, or None (it stays text). Infinite numbers are an error."""
    if values.empty:
        return None
    nums = pd.to_numeric(values, errors="coerce")
    if nums.isna().any():
        return None
    if not has_null and nums.dtype.kind == "i" and int(nums.abs().max()) <= EXACT_INT:
        return nums.astype(np.int64), True
    finite = nums.to_numpy(dtype=float)
    if np.isinf(finite).any():
        bad = values[np.isinf(finite)].iloc[0]
        raise InputError(
            f"value {bad!s} is not a finite number; remove it or give it as a missing value"
        )
    whole = bool(np.all(finite == np.round(finite)) and np.all(np.abs(finite) <= EXACT_INT))
    if whole:
        return pd.Series(finite).astype(np.int64), True
    return pd.Series(finite), False


def _number_spec(
    name: str,
    nullable: bool,
    lo: float,
    hi: float,
    integer: bool,
    n_distinct: int,
    n_present: int,
    bins: int,
) -> ColumnSpec:
    from privsynth.schema_infer import ID_MIN_DISTINCT, ID_UNIQUE_SHARE

    if integer:
        ident = n_distinct >= ID_MIN_DISTINCT and n_distinct >= ID_UNIQUE_SHARE * n_present
        if ident and n_distinct == n_present:
            return ColumnSpec(name, "exclude", note="every value unique: looks like an identifier")
        lo_i, hi_i = int(lo), int(hi)
        n_bins = hi_i - lo_i + 1 if hi_i - lo_i + 1 <= 100 else bins
        return ColumnSpec(name, "integer", nullable, lower=lo_i, upper=hi_i, bins=n_bins)
    return ColumnSpec(name, "float", nullable, lower=lo, upper=hi, bins=bins)


def infer_column_profile(col: ColumnProfile, bins: int = DEFAULT_BINS) -> ColumnSpec:
    """The draft spec ``schema_infer.infer_column`` gives the column this profile describes."""
    from privsynth.schema_infer import (
        ID_MIN_DISTINCT,
        ID_UNIQUE_SHARE,
        datetime_spec,
        mostly_numbers_note,
    )

    name, nullable = col.name, col.n_null > 0
    if col.n_present == 0:
        raise InputError(f"column {name!r} has no values at all; drop it or describe it by hand")
    if col.kind != "text":
        lo, hi = float(col.lower), float(col.upper)  # type: ignore[arg-type]
        integer = col.kind == "integer"
        return _number_spec(name, nullable, lo, hi, integer, col.n_distinct, col.n_present, bins)
    values, counts = col.values, col.counts
    assert values is not None and counts is not None
    try:
        numbers = as_numbers(values, nullable)
    except InputError as exc:
        raise InputError(f"column {name!r}: {exc}") from None
    if numbers is not None:
        x, integer = numbers
        n_distinct = int(x.nunique())
        lo, hi = float(np.min(x.to_numpy(dtype=float))), float(np.max(x.to_numpy(dtype=float)))
        return _number_spec(name, nullable, lo, hi, integer, n_distinct, col.n_present, bins)
    text = values.astype(str)
    spec = datetime_spec(name, nullable, text, bins)
    if spec is not None:
        return spec
    n_distinct = int(text.nunique())
    if n_distinct >= ID_MIN_DISTINCT and n_distinct >= ID_UNIQUE_SHARE * col.n_present:
        return ColumnSpec(
            name, "exclude", note="nearly every value unique: looks like an identifier"
        )
    note = mostly_numbers_note(values, counts)
    return ColumnSpec(
        name, "categorical", nullable, categories=sorted(text.unique().tolist()), note=note
    )


def infer_schema_file(
    path: str | os.PathLike[str],
    *,
    bins: int = DEFAULT_BINS,
    missing: tuple[str, ...] = DEFAULT_MISSING,
    config: EngineConfig | None = None,
) -> Schema:
    """``schema_infer.infer_schema(read_table(path))`` computed in DuckDB (NOT private: a draft
    read from the data); files with column types DuckDB cannot profile as pandas reads them are
    read with pandas instead."""
    from privsynth.schema_infer import NOT_PRIVATE_WARNING, infer_schema

    profile = profile_columns(path, missing=missing, config=config)
    if profile is None:
        table = read_table(path, missing=missing)
        if len(table) == 0:
            raise InputError(f"{path}: the table has no rows")
        return infer_schema(table, bins=bins)
    if profile.n_rows == 0:
        raise InputError(f"{path}: the table has no rows")
    columns = [infer_column_profile(c, bins) for c in profile.columns]
    if all(c.type == "exclude" for c in columns):
        raise InputError("every column looks like an identifier; nothing to synthesize")
    return Schema(
        columns,
        provenance={"source": "inferred from the data (not differentially private)", "dp": None},
        warning=NOT_PRIVATE_WARNING,
    )
