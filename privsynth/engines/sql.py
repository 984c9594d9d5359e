"""What the SQL engines (DuckDB, Spark) share: one pass to a histogram, then marginals from it.

The plan (``privsynth.engines.plan``) encodes each row; the engine groups the encoded rows by all
their codes in the same pass, giving the table's histogram of distinct code tuples ``hist`` (codes
plus a count ``n``, and per numeric column the number of clipped values). Everything afterwards
reads ``hist`` only, never the rows again:

- the checks (missing values in non-nullable columns, unknown categories, unparseable numbers) and
  the operator's notes are sums over ``hist``;
- if ``hist`` has at most ``max_tuples`` rows it is brought into memory and every marginal is a
  weighted bincount over it (exact: integer sums below 2**53);
- otherwise each batch of up to ``CLIQUES_PER_QUERY`` cliques is one GROUPING SETS query over
  ``hist`` summing ``n``.

Either way the counts equal numpy's on the same codes exactly. Only an error's row number needs a
second look at the source (DuckDB only; Spark has no row order).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from privsynth.domain import Domain
from privsynth.engines.base import CLIQUES_PER_QUERY
from privsynth.engines.plan import (
    MAX_MAPPED_VALUES,
    ColumnPlan,
    Dialect,
    category_code,
    checks_select,
    flat_index,
    grouping_sets_select,
    source_kind,
)
from privsynth.errors import SchemaError
from privsynth.marginals import Clique, CodesOracle
from privsynth.schema import Schema


def column_kinds(types: dict[str, str], schema: Schema) -> dict[str, str]:
    """Each synthesized column's kind from the source's column types, checking columns both ways
    (the same messages as ``encoding.encode``)."""
    extra = [c for c in types if c not in set(schema.names)]
    if extra:
        raise SchemaError(
            f"columns {extra} are in the data but not in the schema "
            '(add them to the schema, or mark them {"type": "exclude"})'
        )
    absent = [c.name for c in schema.synth_columns if c.name not in types]
    if absent:
        raise SchemaError(f"columns {absent} are in the schema but not in the data")
    return {c.name: source_kind(types[c.name]) for c in schema.synth_columns}


SENTINEL_OFFSET = 4  # codes are stored shifted by this, so the error sentinels -4..-1 pack too


def pack_groups(sizes: list[int]) -> list[list[tuple[int, int, int]]]:
    """Columns packed into BIGINT keys: per key, (column, stride, radix) with product < 2**62."""
    groups: list[list[tuple[int, int, int]]] = [[]]
    stride = 1
    for j, k in enumerate(sizes):
        radix = k + SENTINEL_OFFSET
        if groups[-1] and stride * radix >= 2**62:
            groups.append([])
            stride = 1
        groups[-1].append((j, stride, radix))
        stride *= radix
    return groups


def histogram_select(encode_sql: str, plans: list[ColumnPlan], sizes: list[int]) -> str:
    """GROUP BY the packed codes: the histogram of distinct code tuples with clip counts."""
    keys = [
        " + ".join(f"CAST(c{j} + {SENTINEL_OFFSET} AS BIGINT) * {stride}" for j, stride, _ in g)
        for g in pack_groups(sizes)
    ]
    names = ", ".join(f"h{g}" for g in range(len(keys)))
    clips = "".join(
        f", sum(CASE WHEN k{j} THEN 1 ELSE 0 END) AS k{j}"
        for j, p in enumerate(plans)
        if p.clipped is not None
    )
    cols = ", ".join(f"{e} AS h{g}" for g, e in enumerate(keys))
    flags = "".join(f", k{j}" for j, p in enumerate(plans) if p.clipped is not None)
    return (
        f"SELECT {names}, count(*) AS n{clips} FROM (SELECT {cols}{flags} FROM ({encode_sql}) "
        f"AS e) AS p GROUP BY {names}"
    )


def unpacked_select(d: Dialect, table: str, plans: list[ColumnPlan], sizes: list[int]) -> str:
    """The histogram with its codes unpacked again: columns c0.., n, k{j}."""
    cols = []
    for g, group in enumerate(pack_groups(sizes)):
        for j, stride, radix in group:
            q = f"(h{g} // {stride})" if d.name == "duckdb" else f"(h{g} div {stride})"
            cols.append(f"CAST({q} % {radix} AS INTEGER) - {SENTINEL_OFFSET} AS c{j}")
    cols.sort(key=lambda c: int(c.rsplit(" AS c", 1)[1]))
    flags = "".join(f", k{j}" for j, p in enumerate(plans) if p.clipped is not None)
    return f"(SELECT {', '.join(cols)}, n{flags} FROM {table}) AS hv"


def unpack_codes(keys: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """numpy's version of :func:`unpacked_select`: the code matrix from the packed keys."""
    out = np.empty((keys[0].shape[0] if keys else 0, len(sizes)), dtype=np.int64)
    for g, group in enumerate(pack_groups(sizes)):
        h = keys[g].astype(np.int64)
        for j, stride, radix in group:
            out[:, j] = (h // stride) % radix - SENTINEL_OFFSET
    return out


class SqlTable(ABC):
    """An encoded table held by a SQL engine as its histogram ``hist``."""

    engine = "sql"
    _dialect: Dialect

    def __init__(self, schema: Schema, plans: list[ColumnPlan], max_tuples: int) -> None:
        self._schema = schema
        self._plans = plans
        self._domain = schema.domain()
        self._max_tuples = max_tuples
        self._local: CodesOracle | None = None
        self._cache: dict[Clique, np.ndarray] = {}  # exact counts already fetched
        self._n_rows = 0
        self._notes: list[str] = []

    # -- what an engine provides ----------------------------------------------------------------
    @abstractmethod
    def _rows(self, sql: str) -> list[tuple]: ...

    @abstractmethod
    def _arrays(self, sql: str, columns: list[str]) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def _first_row(self, j: int, code: int) -> tuple[int | None, object]:
        """(1-based data row or None, the cell as read) of the first row with code ``code``."""

    def _value_maps(
        self, source: str, kinds: dict[str, str], markers: tuple[str, ...], ident: object
    ) -> dict[str, dict[str, int]]:
        """Raw value -> code for each text categorical column with few distinct values.

        One ``SELECT DISTINCT`` per column (Parquet reads that column only); the codes come from
        :func:`category_code`, the same Python as the numpy path, once per distinct value.
        """
        maps: dict[str, dict[str, int]] = {}
        for spec in self._schema.synth_columns:
            if spec.type != "categorical" or kinds[spec.name] != "text":
                continue
            col = ident(spec.name)  # type: ignore[operator]
            rows = self._rows(
                f"SELECT DISTINCT {col} FROM {source} WHERE {col} IS NOT NULL "
                f"LIMIT {MAX_MAPPED_VALUES + 1}"
            )
            if len(rows) <= MAX_MAPPED_VALUES:
                maps[spec.name] = {str(r[0]): category_code(r[0], spec, markers) for r in rows}
        return maps

    @property
    @abstractmethod
    def _hist_table(self) -> str:
        """The name of the histogram table (packed keys h{g}, n, k{j})."""

    @property
    def _hist(self) -> str:
        """The histogram with codes c{j} unpacked, as a table expression."""
        return unpacked_select(
            self._dialect, self._hist_table, self._plans, list(self._domain.shape)
        )

    # -- the EncodedTable protocol --------------------------------------------------------------
    @property
    def domain(self) -> Domain:
        return self._domain

    @property
    def n_rows(self) -> int:
        return self._n_rows

    @property
    def notes(self) -> list[str]:
        return list(self._notes)

    def marginals(self, cliques: Sequence[Sequence[str]]) -> dict[Clique, np.ndarray]:
        cliques = [tuple(c) for c in cliques]
        if self._local is not None:
            return self._local.marginals(cliques)
        cache = self._cache
        todo = [c for c in dict.fromkeys(cliques) if len(c) > 0 and c not in cache]
        for start in range(0, len(todo), CLIQUES_PER_QUERY):
            cache.update(self._count_batch(todo[start : start + CLIQUES_PER_QUERY]))
        total = np.array([self._n_rows], dtype=np.int64)
        return {c: (cache[c] if len(c) else total).copy() for c in cliques}

    # -- shared work ----------------------------------------------------------------------------
    def _check(self) -> None:
        """Totals, errors (first column, first kind, as encode) and notes, from ``hist``."""
        sql, what = checks_select(self._hist, self._plans, weight="n")
        row = self._rows(sql)[0]
        self._n_rows = int(row[0] or 0)
        if self._n_rows == 0:
            raise SchemaError("the table has no rows")
        specs = self._schema.synth_columns
        for (j, label), count in zip(what, row[1:], strict=True):
            count = int(count or 0)
            if count == 0:
                continue
            spec = specs[j]
            where = f"column {spec.name!r}"
            if label == "other":
                self._notes.append(
                    f"{where}: {count} values outside the categories mapped to 'other'"
                )
            elif label == "clipped":
                self._notes.append(
                    f"{where}: {count} values outside [{spec.lower}, {spec.upper}] clipped"
                )
            else:
                raise SchemaError(self._error(j, label, count))

    def _error(self, j: int, label: str, count: int) -> str:
        from privsynth.engines.plan import (
            MISSING_NOT_NULLABLE,
            NOT_IN_CATEGORIES,
            NOT_PARSEABLE,
        )

        spec = self._schema.synth_columns[j]
        where = f"column {spec.name!r}"
        if label == "changed":
            return f"{where}: {count} values changed while the table was being read; run again"
        code = {"missing": MISSING_NOT_NULLABLE, "unseen": NOT_IN_CATEGORIES}.get(
            label, NOT_PARSEABLE
        )
        row, value = self._first_row(j, code)
        at = f"data row {row}" if row is not None else "a data row"
        if label == "missing":
            return (
                f"{where}: missing value at {at} ({count} rows), "
                "but the schema says nullable: false"
            )
        if label == "unseen":
            return (
                f"{where}: value {value!r} at {at} is not among the schema's categories "
                f'({count} rows); add it to the schema or set "other": true'
            )
        kind = "a date in format " + repr(spec.format) if spec.type == "datetime" else "a number"
        return f"{where}: value {value!r} at {at} is not {kind} ({count} rows)"

    def _load_local(self) -> None:
        """Bring ``hist`` into memory when it is small enough."""
        m = int(self._rows(f"SELECT count(*) FROM {self._hist_table}")[0][0])
        if m > self._max_tuples:
            return
        sizes = list(self._domain.shape)
        keys = [f"h{g}" for g in range(len(pack_groups(sizes)))]
        arrays = self._arrays(f"SELECT {', '.join(keys)}, n FROM {self._hist_table}", [*keys, "n"])
        codes = unpack_codes([arrays[k] for k in keys], sizes)
        self._local = CodesOracle(codes, self._domain, arrays["n"].astype(np.float64))

    def _count_batch(self, cliques: list[Clique]) -> dict[Clique, np.ndarray]:
        index = {a: j for j, a in enumerate(self._domain.attrs)}
        exprs = [
            flat_index([index[a] for a in c], list(self._domain.project(c).shape)) for c in cliques
        ]
        sql = grouping_sets_select(self._hist, exprs, weight="n")
        arrays = self._arrays(sql, ["s", "i", "n"])
        out = {}
        s, i, n = (arrays[k].astype(np.int64) for k in ("s", "i", "n"))
        for k, c in enumerate(cliques):
            counts = np.zeros(self._domain.size(c), dtype=np.int64)
            sel = s == k
            counts[i[sel]] = n[sel]
            out[c] = counts
        return out
