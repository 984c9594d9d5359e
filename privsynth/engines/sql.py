"""What the SQL engines (DuckDB, Spark) share: one pass to a histogram, then marginals from it.

The plan (``privsynth.engines.plan``) encodes each row; the engine groups the encoded rows by all
their codes and clip flags in the same pass, giving the table's histogram of distinct code tuples
``hist`` (packed keys plus a count ``n``; the only aggregate is ``count(*)``). Everything
afterwards reads ``hist`` only, never the rows again:

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
from privsynth.encoding import clipped_note, other_note
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
from privsynth.marginals import Clique, CodesOracle, code_dtype
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
FLAGS_PER_SLOT = 30  # clip flags packed as bits, this many per slot


def pack_slots(sizes: list[int], plans: list[ColumnPlan]) -> list[tuple[str, int]]:
    """What the histogram's packed keys hold: each column's code (shifted by ``SENTINEL_OFFSET``,
    radix ``k + 4``), then the clip flags of the numeric columns as bits, up to
    ``FLAGS_PER_SLOT`` per slot. Returns (SQL expression over the encoded row, radix) per slot.

    The clip flags are part of the key (not summed per group) so the one GROUP BY has only
    ``count(*)`` to aggregate; a row with a clipped value differs from an unclipped row of the
    same codes only in the flag bits, and clipping happens at the end bins only, so the histogram
    grows by at most the number of distinct clipped code tuples.
    """
    slots = [
        (f"CAST(c{j} + {SENTINEL_OFFSET} AS BIGINT)", k + SENTINEL_OFFSET)
        for j, k in enumerate(sizes)
    ]
    flagged = [j for j, p in enumerate(plans) if p.clipped is not None]
    for start in range(0, len(flagged), FLAGS_PER_SLOT):
        part = flagged[start : start + FLAGS_PER_SLOT]
        bits = " + ".join(f"CASE WHEN k{j} THEN {2**i} ELSE 0 END" for i, j in enumerate(part))
        slots.append((f"CAST({bits} AS BIGINT)", 2 ** len(part)))
    return slots


def flag_bits(plans: list[ColumnPlan]) -> dict[int, tuple[int, int]]:
    """Column j -> (flag slot number among the flag slots, bit) for every clipped column."""
    flagged = [j for j, p in enumerate(plans) if p.clipped is not None]
    return {j: (i // FLAGS_PER_SLOT, i % FLAGS_PER_SLOT) for i, j in enumerate(flagged)}


def pack_groups(radices: list[int]) -> list[list[tuple[int, int, int]]]:
    """Slots packed into BIGINT keys: per key, (slot, stride, radix) with product < 2**62."""
    groups: list[list[tuple[int, int, int]]] = [[]]
    stride = 1
    for j, radix in enumerate(radices):
        if groups[-1] and stride * radix >= 2**62:
            groups.append([])
            stride = 1
        groups[-1].append((j, stride, radix))
        stride *= radix
    return groups


def histogram_select(encode_sql: str, plans: list[ColumnPlan], sizes: list[int]) -> str:
    """GROUP BY the packed codes and clip flags: the histogram of distinct code tuples."""
    slots = pack_slots(sizes, plans)
    keys = [
        " + ".join(f"{slots[j][0]} * {stride}" for j, stride, _ in g)
        for g in pack_groups([r for _, r in slots])
    ]
    names = ", ".join(f"h{g}" for g in range(len(keys)))
    cols = ", ".join(f"{e} AS h{g}" for g, e in enumerate(keys))
    return (
        f"SELECT {names}, count(*) AS n FROM (SELECT {cols} FROM ({encode_sql}) AS e) AS p "
        f"GROUP BY {names}"
    )


def unpacked_select(d: Dialect, table: str, plans: list[ColumnPlan], sizes: list[int]) -> str:
    """The histogram with its slots unpacked again: codes c0.., n, and k{j} = the number of
    clipped values of column j in the group (n or 0)."""
    slots = pack_slots(sizes, plans)
    div = "//" if d.name == "duckdb" else "div"
    value: dict[int, str] = {}
    for g, group in enumerate(pack_groups([r for _, r in slots])):
        for j, stride, radix in group:
            value[j] = f"((h{g} {div} {stride}) % {radix})"
    d_cols = len(sizes)
    cols = [f"CAST({value[j]} AS INTEGER) - {SENTINEL_OFFSET} AS c{j}" for j in range(d_cols)]
    for j, (slot, bit) in flag_bits(plans).items():
        cols.append(
            f"CASE WHEN ({value[d_cols + slot]} {div} {2**bit}) % 2 = 1 THEN n ELSE 0 END AS k{j}"
        )
    return f"(SELECT {', '.join(cols)}, n FROM {table}) AS hv"


def unpack_columns(
    keys: list[np.ndarray], sizes: list[int], plans: list[ColumnPlan]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """numpy's version of :func:`unpacked_select`: one code array per column (sentinels kept),
    and the clip-flag slots (bit ``b`` of slot ``s`` per :func:`flag_bits`)."""
    radices = [r for _, r in pack_slots(sizes, plans)]
    slots: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(radices)
    for g, group in enumerate(pack_groups(radices)):
        rest = np.asarray(keys[g], dtype=np.int64)
        for j, _, radix in group:
            rest, slots[j] = np.divmod(rest, radix)
    columns = [(slots[j] - SENTINEL_OFFSET).astype(code_dtype(k)) for j, k in enumerate(sizes)]
    return columns, slots[len(sizes) :]


def local_checks(
    columns: list[np.ndarray],
    flags: list[np.ndarray],
    weights: np.ndarray,
    plans: list[ColumnPlan],
    what: list[tuple[int, str]],
) -> list[int]:
    """:func:`checks_select`'s row computed in numpy on the histogram in memory: the row count,
    then per (column, label) the weighted count of the sentinel, "other" or clipped values."""
    sentinel = {"missing": -1, "unseen": -2, "unparseable": -3, "changed": -4}
    bits = flag_bits(plans)
    per_code: dict[int, np.ndarray] = {}
    out = [int(np.rint(weights.sum()))]
    for j, label in what:
        if label == "clipped":
            slot, bit = bits[j]
            out.append(int(np.rint(weights[(flags[slot] >> bit) & 1 == 1].sum())))
            continue
        if j not in per_code:  # counts of every code of column j, shifted past the sentinels
            per_code[j] = np.bincount(
                columns[j].astype(np.int64) + SENTINEL_OFFSET, weights=weights
            )
        code = sentinel.get(label, plans[j].other_code)
        idx = int(code) + SENTINEL_OFFSET  # type: ignore[arg-type]
        counts = per_code[j]
        out.append(int(np.rint(counts[idx])) if idx < counts.size else 0)
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
        # the in-memory histogram's columns, flag slots and weights, until _check has used them
        self._local_parts: tuple[list[np.ndarray], list[np.ndarray], np.ndarray] | None = None
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
        """The name of the histogram table (packed keys h{g} and the count n)."""

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
        cache = self._cache
        todo = [c for c in dict.fromkeys(cliques) if len(c) > 0 and c not in cache]
        if self._local is not None:
            cache.update(self._local.marginals(todo))
            todo = []
        for start in range(0, len(todo), CLIQUES_PER_QUERY):
            cache.update(self._count_batch(todo[start : start + CLIQUES_PER_QUERY]))
        total = np.array([self._n_rows], dtype=np.int64)
        return {c: (cache[c] if len(c) else total).copy() for c in cliques}

    # -- shared work ----------------------------------------------------------------------------
    def _check(self) -> None:
        """Totals, errors (first column, first kind, as encode) and notes, from ``hist``."""
        sql, what = checks_select(self._hist, self._plans, weight="n")
        if self._local is not None and self._local_parts is not None:
            columns, flags, weights = self._local_parts
            row = local_checks(columns, flags, weights, self._plans, what)
            self._local_parts = None  # the oracle keeps the columns; the flags are done with
        else:
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
            if label == "other":
                self._notes.append(other_note(spec.name, count))
            elif label == "clipped":
                self._notes.append(clipped_note(spec, count))
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
        """Bring ``hist`` into memory (codes as one small-integer array per column) when small;
        called before :meth:`_check`, which then sums in numpy instead of a query."""
        m = int(self._rows(f"SELECT count(*) FROM {self._hist_table}")[0][0])
        if m > self._max_tuples:
            return
        sizes = list(self._domain.shape)
        n_keys = len(pack_groups([r for _, r in pack_slots(sizes, self._plans)]))
        keys = [f"h{g}" for g in range(n_keys)]
        arrays = self._arrays(f"SELECT {', '.join(keys)}, n FROM {self._hist_table}", [*keys, "n"])
        columns, flags = unpack_columns([arrays[k] for k in keys], sizes, self._plans)
        weights = arrays["n"].astype(np.float64)
        self._local = CodesOracle.from_columns(columns, self._domain, weights)
        self._local_parts = (columns, flags, weights)

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
