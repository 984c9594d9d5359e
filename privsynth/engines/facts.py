"""What the differentially private schema draft reads from a table: in pandas or in DuckDB.

``privsynth.schema_dp`` decides each column's type by a public-metadata rule and then measures
each modelled column once with a mechanism. Both steps read the private rows only through a
:class:`DraftSource`, which gives, per column:

- :class:`ColumnFacts` for the type rule (public metadata, not protected; docs/schema.md): how
  ``io.read_table`` types the column (integer, float or text), the present and distinct counts,
  whether every number is whole, the distinct texts (for datetime detection) and, for integer
  columns only, the share of consecutive present values that increase (the row-index rule);
- ``key_counts(j)``: the count of each category key (``engines.keys``) of the present values,
  in sorted key order (the order in which seeded noise is drawn, so it is the same on every
  engine);
- ``bin_counts(j, edges, fmt)``: the count of present values in each bin of a PUBLIC grid
  (``bin_keys``: ``searchsorted(edges, x, 'right') - 1``, the end bins open); datetimes parsed
  with ``fmt`` to seconds first.

:class:`FrameSource` computes these on a DataFrame; :class:`FileSource` in DuckDB, from the
profile of ``engines.profile`` (the distinct values of the text columns with their counts) and,
for typed numeric columns, one aggregate scan (distinct count, non-whole count) and one
GROUP BY per measured column (the bin is the balanced comparison tree of ``engines.plan``, exact
against the doubles numpy compares). Both give identical facts and counts
(tests/test_schema_dp_engine.py), so the DP draft is the same schema (for a seed, byte for byte)
whichever read the file. Nothing here adds noise: the mechanisms in ``schema_dp`` charge the
ledger before they call ``key_counts`` or ``bin_counts``.

Memory (DuckDB): the distinct values of the text columns (as the non-private profile), and for
an integer column that looks like an identifier, that one column (to test whether it runs in
order, as pandas does).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from privsynth.engines.base import EngineConfig
from privsynth.engines.keys import category_keys
from privsynth.errors import InputError
from privsynth.io import DEFAULT_MISSING, read_table
from privsynth.schema import datetime_seconds


@dataclass(frozen=True, kw_only=True)
class ColumnFacts:
    """What the type rule reads from one column (``dtype`` as ``io.read_table`` gives it:
    "integer", "float" or "text"; booleans are text)."""

    dtype: str
    n_present: int
    n_distinct: int
    whole: bool = False
    text_values: pd.Series | None = None
    in_order: Callable[[], float] | None = None


class DraftSource(Protocol):
    """A table as the DP draft reads it (module docstring)."""

    names: list[str]
    n_rows: int

    def facts(self, j: int) -> ColumnFacts: ...

    def key_counts(self, j: int) -> pd.Series: ...

    def bin_counts(self, j: int, edges: np.ndarray, fmt: str | None) -> np.ndarray: ...

    def close(self) -> None: ...


def bin_keys(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index of the grid bin [edges[i], edges[i+1]) holding each value; the end bins are open."""
    return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)


def sorted_counts(keys: pd.Series, counts: np.ndarray) -> pd.Series:
    """Counts summed per key, in sorted key order (int64)."""
    got = pd.Series(np.asarray(counts, dtype=np.int64)).groupby(keys.to_numpy(), sort=True).sum()
    return got.astype(np.int64)


def _weighted_bins(x: np.ndarray, counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    keys = bin_keys(np.asarray(x, dtype=float), edges)
    got = np.bincount(keys, weights=np.asarray(counts, dtype=float), minlength=len(edges) - 1)
    return np.rint(got).astype(np.int64)


def _seconds(text: pd.Series, fmt: str | None) -> np.ndarray:
    return np.asarray(datetime_seconds(pd.to_datetime(text.astype(str), format=fmt)), dtype=float)


def series_facts(values: pd.Series) -> ColumnFacts:
    """The facts of a pandas column (as ``io.read_table`` gave it)."""
    present = values.dropna()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric:
        x = present.to_numpy(dtype=float)
        integer = pd.api.types.is_integer_dtype(present)
        return ColumnFacts(
            dtype="integer" if integer else "float",
            n_present=len(present),
            n_distinct=int(present.nunique()),
            whole=bool(np.all(x == np.round(x))),
            in_order=(lambda: float(np.mean(np.diff(present.to_numpy()) > 0))) if integer else None,
        )
    text = present.astype(str)
    return ColumnFacts(
        dtype="text",
        n_present=len(present),
        n_distinct=int(text.nunique()),
        text_values=pd.Series(text.unique(), dtype=object),
    )


class FrameSource:
    """A DataFrame as the DP draft reads it (``io.read_table``'s types)."""

    def __init__(self, df: pd.DataFrame) -> None:
        self._df = df
        self.names = [str(c) for c in df.columns]
        self.n_rows = len(df)

    def _present(self, j: int) -> pd.Series:
        return self._df.iloc[:, j].dropna()

    def facts(self, j: int) -> ColumnFacts:
        return series_facts(self._df.iloc[:, j])

    def key_counts(self, j: int) -> pd.Series:
        counts = category_keys(self._present(j)).value_counts(sort=False)
        return sorted_counts(pd.Series(counts.index, dtype=object), counts.to_numpy())

    def bin_counts(self, j: int, edges: np.ndarray, fmt: str | None) -> np.ndarray:
        present = self._present(j)
        x = _seconds(present, fmt) if fmt is not None else present.to_numpy(dtype=float)
        return np.bincount(bin_keys(x, edges), minlength=len(edges) - 1).astype(np.int64)

    def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True)
class _TextColumn:
    values: pd.Series  # distinct present values as read_table gives them (text or numbers)
    counts: np.ndarray
    numbers: pd.Series | None  # the values as numbers, when read_table makes the column numeric
    integer: bool


class FileSource:
    """A Parquet or CSV file (or glob) as the DP draft reads it, computed in DuckDB."""

    def __init__(
        self, con: Any, folder: str, source: str, profile: Any, markers: tuple[str, ...]
    ) -> None:
        self._con, self._folder, self._source = con, folder, source
        self._markers = tuple(markers)
        self.names = [c.name for c in profile.columns]
        self.n_rows = int(profile.n_rows)
        self._raw = [str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        self._text: dict[int, _TextColumn] = {}
        self._facts: list[ColumnFacts] = []
        typed = [j for j, c in enumerate(profile.columns) if c.kind != "text"]
        stats = self._typed_stats(typed, profile)
        for j, col in enumerate(profile.columns):
            if col.kind == "text":
                self._facts.append(self._text_facts(j, col))
            else:
                self._facts.append(stats[j])

    # -- the facts ------------------------------------------------------------------------------
    def _text_facts(self, j: int, col: Any) -> ColumnFacts:
        from privsynth.engines.profile import as_numbers

        values, counts = col.values, np.asarray(col.counts, dtype=np.int64)
        try:
            numbers = as_numbers(values, col.n_null > 0)
        except InputError as exc:
            raise InputError(f"column {col.name!r}: {exc}") from None
        if numbers is None:
            self._text[j] = _TextColumn(values, counts, None, False)
            text = values.astype(str)
            return ColumnFacts(
                dtype="text", n_present=int(counts.sum()), n_distinct=int(text.nunique()),
                text_values=pd.Series(text.unique(), dtype=object),
            )  # fmt: skip
        x, integer = numbers
        self._text[j] = _TextColumn(values, counts, x, integer)
        xf = x.to_numpy(dtype=float)
        order = (lambda: self._in_order(j, "text")) if integer else None
        return ColumnFacts(
            dtype="integer" if integer else "float", n_present=int(counts.sum()),
            n_distinct=int(x.nunique()), whole=bool(np.all(xf == np.round(xf))), in_order=order,
        )  # fmt: skip

    def _x(self, j: int, kind: str) -> str:
        from privsynth.engines.duckdb_engine import DUCKDB

        col = DUCKDB.ident(self._raw[j])
        if kind == "text":  # numbers written as text (read_table made the column numeric)
            from privsynth.engines.plan import read_expr

            return f"TRY_CAST({read_expr(DUCKDB, self._raw[j], 'text', self._markers)} AS DOUBLE)"
        return f"CAST(CASE WHEN isnan(CAST({col} AS DOUBLE)) THEN NULL ELSE {col} END AS DOUBLE)"

    def _typed_stats(self, typed: list[int], profile: Any) -> dict[int, ColumnFacts]:
        """Distinct and non-whole counts of every typed numeric column (one scan)."""
        if not typed:
            return {}
        parts = []
        for j in typed:
            x = self._x(j, "typed")
            parts.append(f"count(DISTINCT {x}), sum(CASE WHEN {x} <> round({x}) THEN 1 ELSE 0 END)")
        row = self._con.execute(f"SELECT {', '.join(parts)} FROM {self._source}").fetchone()
        out = {}
        for k, j in enumerate(typed):
            col = profile.columns[j]
            integer = col.kind == "integer"
            out[j] = ColumnFacts(
                dtype=col.kind, n_present=int(col.n_present), n_distinct=int(row[2 * k] or 0),
                whole=int(row[2 * k + 1] or 0) == 0,
                in_order=(lambda j=j: self._in_order(j, "typed")) if integer else None,
            )  # fmt: skip
        return out

    def _in_order(self, j: int, kind: str) -> float:
        """Share of consecutive present values that increase, in file order (one column read)."""
        x = self._x(j, kind)
        got = self._con.execute(f"SELECT {x} AS x FROM {self._source} WHERE {x} IS NOT NULL")
        v = np.asarray(got.fetchnumpy()["x"], dtype=float)
        return float(np.mean(np.diff(v) > 0))

    def facts(self, j: int) -> ColumnFacts:
        return self._facts[j]

    # -- the measured counts --------------------------------------------------------------------
    def key_counts(self, j: int) -> pd.Series:
        col = self._text[j]
        return sorted_counts(category_keys(col.values), col.counts)

    def bin_counts(self, j: int, edges: np.ndarray, fmt: str | None) -> np.ndarray:
        col = self._text.get(j)
        if col is not None:
            x = col.numbers.to_numpy(dtype=float) if col.numbers is not None else None
            return _weighted_bins(_seconds(col.values, fmt) if x is None else x, col.counts, edges)
        from privsynth.engines.duckdb_engine import DUCKDB
        from privsynth.engines.plan import bin_tree

        x = self._x(j, "typed")
        tree = bin_tree(DUCKDB, x, [float(e) for e in edges[1:-1]])
        got = self._con.execute(
            f"SELECT {tree} AS b, count(*) AS n FROM {self._source} WHERE {x} IS NOT NULL "
            "GROUP BY b"
        ).fetchnumpy()
        out = np.zeros(len(edges) - 1, dtype=np.int64)
        out[np.asarray(got["b"], dtype=np.int64)] = np.asarray(got["n"], dtype=np.int64)
        return out

    def close(self) -> None:
        try:
            self._con.close()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


def open_source(
    path: str | os.PathLike[str],
    *,
    missing: tuple[str, ...] = DEFAULT_MISSING,
    config: EngineConfig | None = None,
) -> DraftSource:
    """The DP draft's view of a file: DuckDB (:class:`FileSource`), or pandas when the file has
    column types DuckDB cannot profile as pandas reads them (``profile_columns`` gives None)."""
    from privsynth.engines.duckdb_engine import DuckDBEngine, expand_paths, table_function
    from privsynth.engines.profile import profile_columns

    profile = profile_columns(path, missing=missing, config=config)
    if profile is None:
        return FrameSource(read_table(path, missing=missing))
    source = table_function(expand_paths(path))
    con, folder = DuckDBEngine(config or EngineConfig()).connect()
    try:
        return FileSource(con, folder, source, profile, tuple(missing))
    except BaseException:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
