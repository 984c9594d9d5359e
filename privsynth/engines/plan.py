"""The encoding plan as SQL: the schema's per-column encoding, written once for every SQL engine.

The plan reproduces ``privsynth.encoding.encode`` (with the per-value category key rule of
``privsynth.engines.keys``) cell for cell, so every engine gives the same integer codes:

1. *read* (as ``io.read_table``): text cells are trimmed with Python's ``str.strip`` set and the
   missing markers become NULL; NaN in a floating column is NULL.
2. *value*: categorical cells get a number (if their text is a finite number, ``FLOAT_TEXT``) or
   stay text; numeric cells must parse (``NUMBER_TEXT``, as ``pandas.to_numeric``); datetimes are
   parsed with the schema's format to seconds since the epoch (``ns / 1e9``, as pandas).
3. *clip* to the public bounds, flagging what was clipped (the operator's note, as in encode).
4. *code*: the category's position (matched by double equality for numeric keys, text equality
   otherwise: see keys.py for why that is key equality), or the bin found by a balanced tree of
   comparisons with the schema's edges (exactly ``searchsorted(edges, x, 'right') - 1``, clipped).
   Missing values get the NA code ``n_values``. Errors are negative sentinel codes: -1 missing in
   a non-nullable column, -2 a category outside the schema without "other", -3 not a number/date.

Every constant is written as ``CAST('repr' AS DOUBLE)`` so the engine compares against the exact
double numpy uses. Nothing here reads data: the plan is a function of the public schema and the
source's column types only.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from privsynth.engines.keys import (
    FLOAT_TEXT,
    NUMBER_TEXT,
    WHITESPACE,
    category_key,
    split_categories,
)
from privsynth.schema import ColumnSpec, Schema

MISSING_NOT_NULLABLE = -1
NOT_IN_CATEGORIES = -2
NOT_PARSEABLE = -3
CHANGED_WHILE_READ = -4
# a text categorical column with at most this many distinct raw values is encoded by a lookup of
# the raw value (its code computed once per distinct value in Python, by category_code)
MAX_MAPPED_VALUES = 256

# strftime directive -> Java DateTimeFormatter letters (Spark); zero-padded fields only
_JAVA_DATETIME = {
    "%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss",
    "%y": "yy", "%b": "MMM", "%j": "DDD", "%f": "SSSSSS", "%%": "%",
}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Dialect:
    """The few places DuckDB SQL and Spark SQL differ."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in ("duckdb", "spark"):
            raise ValueError(f"unknown SQL dialect {self.name!r}")

    def ident(self, name: str) -> str:
        if self.name == "spark":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def text(self, value: str) -> str:
        if self.name == "spark":
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + value.replace("'", "''") + "'"

    def double(self, x: float) -> str:
        return f"CAST({self.text(repr(float(x)))} AS DOUBLE)"

    def trim(self, e: str) -> str:
        """Python's ``str.strip()``. The engines' trim with a character set is slow, so it runs
        only where whitespace other than spaces is left at an end after the plain space trim."""
        chars = self.text(WHITESPACE)
        ends = f"^[{WHITESPACE}]|[{WHITESPACE}]$"
        spaces = f"trim({e})"
        full = f"trim(BOTH {chars} FROM {e})" if self.name == "spark" else f"trim({e}, {chars})"
        inner = f"CASE WHEN {self.matches(spaces, ends)} THEN {full} ELSE {spaces} END"
        return f"CASE WHEN {self.matches(e, ends)} THEN {inner} ELSE {e} END"

    def matches(self, e: str, regex: str) -> str:
        """``e`` contains a match of ``regex``."""
        if self.name == "spark":
            return f"({e} RLIKE {self.text(regex)})"
        return f"regexp_matches({e}, {self.text(regex)})"

    def full_match(self, e: str, regex: str) -> str:
        if self.name == "spark":
            return f"({e} RLIKE {self.text('^(' + regex + ')$')})"
        return f"regexp_full_match({e}, {self.text(regex)})"

    def finite(self, e: str) -> str:
        if self.name == "spark":
            return f"(NOT isnan({e}) AND abs({e}) < CAST('Infinity' AS DOUBLE))"
        return f"isfinite({e})"

    def lookup(self, keys: list[str], codes: list[int], e: str) -> str:
        """The code paired with the key equal to ``e``, or NULL."""
        if not keys:
            return "CAST(NULL AS INTEGER)"
        arr = ", ".join(keys)
        cds = ", ".join(str(c) for c in codes)
        if self.name == "spark":
            pos = f"array_position(array({arr}), {e})"
            return f"CASE WHEN {pos} > 0 THEN element_at(array({cds}), CAST({pos} AS INT)) END"
        return f"[{cds}][list_position([{arr}], {e})]"

    def to_seconds(self, e: str, fmt: str) -> str:
        """Seconds since the epoch (as pandas: nanoseconds / 1e9) of ``e`` parsed with ``fmt``."""
        billion = self.double(1e9)
        if self.name == "spark":
            ts = f"try_to_timestamp({e}, {self.text(java_datetime(fmt))})"
            return f"CAST(unix_micros({ts}) * 1000 AS DOUBLE) / {billion}"
        return f"CAST(epoch_ns(try_strptime({e}, {self.text(fmt)})) AS DOUBLE) / {billion}"

    def as_text(self, e: str) -> str:
        return f"CAST({e} AS {'STRING' if self.name == 'spark' else 'VARCHAR'})"


def java_datetime(fmt: str) -> str:
    """A strftime format as a Java DateTimeFormatter pattern (literal text quoted)."""
    out, lit, i = [], [], 0
    while i < len(fmt):
        d = fmt[i : i + 2]
        if d in _JAVA_DATETIME:
            if lit:
                out.append("'" + "".join(lit).replace("'", "''") + "'")
                lit = []
            out.append(_JAVA_DATETIME[d])
            i += 2
        elif fmt[i] == "%":
            raise ValueError(f"datetime format {fmt!r}: directive {d!r} is not supported on Spark")
        else:
            lit.append(fmt[i])
            i += 1
    if lit:
        out.append("'" + "".join(lit).replace("'", "''") + "'")
    return "".join(out)


@dataclass(frozen=True, kw_only=True)
class ColumnPlan:
    """One synthesized column: its code expression and, for numbers, the clipped flag."""

    name: str
    code: str
    clipped: str | None
    other_code: int | None


def source_kind(sql_type: str) -> str:
    """'text', 'integer', 'float' or 'boolean' for an engine's column type name."""
    t = sql_type.upper()
    if t.startswith(("VARCHAR", "STRING", "TEXT", "CHAR")):
        return "text"
    if t.startswith(("BOOL",)):
        return "boolean"
    if t.startswith(("DOUBLE", "FLOAT", "REAL")):
        return "float"
    ints = ("TINYINT", "SMALLINT", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINT")
    if t.startswith(ints) or t in ("LONG", "SHORT", "BYTE") or t.startswith("DECIMAL"):
        return "integer" if not t.startswith("DECIMAL") else "float"
    return "other"


def read_expr(d: Dialect, name: str, kind: str, markers: tuple[str, ...]) -> str:
    """Step 1: the cell as io.read_table gives it (trimmed text, markers and NaN as NULL)."""
    col = d.ident(name)
    if kind == "text":
        t = d.trim(col)
        if not markers:
            return t
        return f"CASE WHEN {t} IN ({', '.join(d.text(m) for m in markers)}) THEN NULL ELSE {t} END"
    if kind == "float":
        return f"CASE WHEN isnan({col}) THEN NULL ELSE {col} END"
    if kind == "other":
        return d.as_text(col)
    return col


def _category_value(d: Dialect, v: str, kind: str) -> str:
    """The finite double a categorical cell's key is (or NULL when its key is text)."""
    if kind in ("integer", "float"):
        x = f"CAST({v} AS DOUBLE)"
        return f"CASE WHEN {d.finite(x)} THEN {x} END"
    if kind == "boolean":
        return "CAST(NULL AS DOUBLE)"
    x = f"CAST(replace({v}, '_', '') AS DOUBLE)"
    return f"CASE WHEN {d.full_match(v, FLOAT_TEXT)} AND {d.finite(x)} THEN {x} END"


def _category_code(
    d: Dialect, spec: ColumnSpec, v: str, x: str, kind: str
) -> tuple[str, int | None]:
    numeric, text = split_categories(list(spec.categories or []))
    by_num = d.lookup([d.double(k) for _, k in numeric], [c for c, _ in numeric], x)
    if kind in ("integer", "float"):  # non-finite numbers have the text keys "inf", "-inf"
        t = f"CASE WHEN CAST({v} AS DOUBLE) > 0 THEN 'inf' ELSE '-inf' END"
    elif kind == "boolean":
        t = f"CASE WHEN {v} THEN 'True' ELSE 'False' END"
    else:
        t = v
    by_text = d.lookup([d.text(k) for _, k in text], [c for c, _ in text], t)
    found = f"CASE WHEN {x} IS NOT NULL THEN {by_num} ELSE {by_text} END"
    other = len(spec.categories or []) if spec.other else None
    miss = other if other is not None else NOT_IN_CATEGORIES
    return f"coalesce({found}, {miss})", other


def _bin_tree(d: Dialect, x: str, edges: list[float], base: int) -> str:
    """``base + #{e in edges : e <= x}`` as a balanced tree of comparisons."""
    if not edges:
        return str(base)
    mid = len(edges) // 2
    lo = _bin_tree(d, x, edges[:mid], base)
    hi = _bin_tree(d, x, edges[mid + 1 :], base + mid + 1)
    return f"CASE WHEN {x} < {d.double(edges[mid])} THEN {lo} ELSE {hi} END"


def bin_tree(d: Dialect, x: str, inner_edges: list[float]) -> str:
    """The grid bin of ``x``: ``#{e in inner_edges : e <= x}`` (a balanced comparison tree),
    which is ``clip(searchsorted(edges, x, 'right') - 1, 0, len(edges) - 2)`` for the grid
    ``edges`` whose inner edges these are."""
    return _bin_tree(d, x, inner_edges, 0)


def _unit_bins(d: Dialect, x: str, edges: list[float]) -> str | None:
    """``#{e in edges : e <= x}`` by arithmetic when the edges are consecutive integers (unit
    bins, e.g. ages), else None. With ``lo = edges[0] - 1`` and ``hi = edges[-1]``, the count is
    ``floor(min(max(x, lo), hi)) - lo``: an integer edge ``e <= x`` exactly when
    ``e <= floor(x)``, and the clamp saturates as the count does. Every value is an integer below
    2**52 in magnitude, so each double operation is exact."""
    if len(edges) < 4 or not all(math.isfinite(e) and abs(e) < 2**52 for e in edges):
        return None
    steps = [b - a for a, b in itertools.pairwise(edges)]
    if any(e != math.floor(e) for e in edges) or any(st != 1.0 for st in steps):
        return None
    lo, hi = d.double(edges[0] - 1.0), d.double(edges[-1])
    return f"(floor(least(greatest({x}, {lo}), {hi})) - {lo})"


def value_expr(d: Dialect, spec: ColumnSpec, v: str, kind: str) -> str:
    """Step 2: the cell's double (category number, number, or datetime seconds), else NULL."""
    if spec.type == "categorical":
        return _category_value(d, v, kind)
    if spec.type == "datetime":
        text = v if kind == "text" else d.as_text(v)
        return d.to_seconds(text, str(spec.format))
    if kind == "text":
        return f"CASE WHEN {d.full_match(v, NUMBER_TEXT)} THEN CAST({v} AS DOUBLE) END"
    return f"CAST({v} AS DOUBLE)"


def column_plan(d: Dialect, spec: ColumnSpec, v: str, x: str, kind: str) -> ColumnPlan:
    """Steps 3-4 for one column with step-1 value ``v`` and step-2 double ``x`` (SQL names)."""
    na = spec.n_values() if spec.nullable else MISSING_NOT_NULLABLE
    if spec.type == "categorical":
        code, other = _category_code(d, spec, v, x, kind)
        return ColumnPlan(
            name=spec.name,
            code=f"CASE WHEN {v} IS NULL THEN {na} ELSE {code} END",
            clipped=None,
            other_code=other,
        )
    lo, hi = spec.numeric_bounds()
    ok = f"({x} IS NOT NULL AND {d.finite(x)})"
    edges = [float(e) for e in spec.bin_edges()[1:-1]]
    # the count of interior edges <= x saturates at both ends, so clipping x first changes nothing
    code = _unit_bins(d, x, edges) or _bin_tree(d, x, edges, 0)
    return ColumnPlan(
        name=spec.name,
        code=f"CASE WHEN {v} IS NULL THEN {na} WHEN NOT {ok} THEN {NOT_PARSEABLE} ELSE {code} END",
        clipped=f"coalesce({ok} AND ({x} < {d.double(lo)} OR {x} > {d.double(hi)}), false)",
        other_code=None,
    )


def category_code(raw: object, spec: ColumnSpec, markers: tuple[str, ...]) -> int:
    """The code (or error sentinel) of one raw text cell, exactly as read + encode give it."""
    na = spec.n_values() if spec.nullable else MISSING_NOT_NULLABLE
    if raw is None:
        return na
    text = str(raw).strip()
    if text in markers:
        return na
    index = {category_key(c): i for i, c in enumerate(spec.categories or [])}
    code = index.get(category_key(text))
    if code is not None:
        return code
    return len(spec.categories or []) if spec.other else NOT_IN_CATEGORIES


def mapped_plan(d: Dialect, spec: ColumnSpec, raw: str, mapping: dict[str, int]) -> ColumnPlan:
    """A categorical column encoded by looking its raw value up in ``mapping`` (all values)."""
    na = spec.n_values() if spec.nullable else MISSING_NOT_NULLABLE
    items = sorted(mapping.items())
    found = d.lookup([d.text(k) for k, _ in items], [c for _, c in items], raw)
    return ColumnPlan(
        name=spec.name,
        code=f"CASE WHEN {raw} IS NULL THEN {na} ELSE coalesce({found}, {CHANGED_WHILE_READ}) END",
        clipped=None,
        other_code=len(spec.categories or []) if spec.other else None,
    )


def encode_select(
    d: Dialect,
    schema: Schema,
    kinds: dict[str, str],
    source: str,
    markers: tuple[str, ...],
    *,
    keep_values: bool = False,
    maps: dict[str, dict[str, int]] | None = None,
) -> tuple[str, list[ColumnPlan]]:
    """The SELECT that turns ``source`` (a table expression) into columns c0..c{d-1} (+ k flags).

    Column ``c{j}`` holds the code of the j-th synthesized column (or a negative sentinel);
    ``k{j}`` is true where a number was clipped; ``keep_values`` adds each cell as read, ``v{j}``
    (for error messages). ``maps``: raw value -> code for the columns encoded by lookup
    (:func:`mapped_plan`; their cell is passed through unread). Three nested SELECTs keep each cell's parse
    computed once (the bin tree compares a plain column).
    """
    specs = schema.synth_columns
    maps = maps or {}
    read = ", ".join(
        f"{d.ident(s.name) if s.name in maps else read_expr(d, s.name, kinds[s.name], markers)}"
        f" AS v{j}"
        for j, s in enumerate(specs)
    )
    value = ", ".join(
        f"v{j}, "
        f"{'CAST(NULL AS DOUBLE)' if s.name in maps else value_expr(d, s, f'v{j}', kinds[s.name])}"
        f" AS x{j}"
        for j, s in enumerate(specs)
    )
    plans = [
        mapped_plan(d, s, f"v{j}", maps[s.name])
        if s.name in maps
        else column_plan(d, s, f"v{j}", f"x{j}", kinds[s.name])
        for j, s in enumerate(specs)
    ]
    outer = []
    for j, p in enumerate(plans):
        outer.append(f"CAST({p.code} AS INTEGER) AS c{j}")
        if p.clipped is not None:
            outer.append(f"{p.clipped} AS k{j}")
        if keep_values:
            outer.append(f"v{j}")
    sql = (
        f"SELECT {', '.join(outer)} FROM (SELECT {value} FROM "
        f"(SELECT {read} FROM {source}) AS r) AS s"
    )
    return sql, plans


def flat_index(columns: list[int], sizes: list[int]) -> str:
    """The C-order flat index of a clique's codes (BIGINT), as numpy's ravel_multi_index."""
    expr = f"CAST(c{columns[0]} AS BIGINT)"
    for j, k in zip(columns[1:], sizes[1:], strict=True):
        expr = f"({expr} * {k} + c{j})"
    return expr


def grouping_sets_select(table: str, indexes: list[str], *, weight: str) -> str:
    """One pass counting several cliques: rows (set number, flat index, sum of ``weight``)."""
    gs = ", ".join(f"(g{i})" for i in range(len(indexes)))
    cols = ", ".join(f"{e} AS g{i}" for i, e in enumerate(indexes))
    which = ", ".join(f"CASE WHEN g{i} IS NOT NULL THEN {i} END" for i in range(len(indexes)))
    val = ", ".join(f"g{i}" for i in range(len(indexes)))
    return (
        f"SELECT coalesce({which}) AS s, coalesce({val}) AS i, sum({weight}) AS n "
        f"FROM (SELECT {cols}, {weight} FROM {table}) AS t GROUP BY GROUPING SETS ({gs})"
    )


def checks_select(
    table: str, plans: list[ColumnPlan], *, weight: str
) -> tuple[str, list[tuple[int, str]]]:
    """One aggregate over a histogram (``weight`` rows per row, clip counts in ``k{j}``): the row
    count, then per column the count of each error sentinel, of "other" and of clipped values."""
    parts: list[str] = []
    what: list[tuple[int, str]] = []
    for j, p in enumerate(plans):
        for code, label in (
            (MISSING_NOT_NULLABLE, "missing"),
            (NOT_IN_CATEGORIES, "unseen"),
            (NOT_PARSEABLE, "unparseable"),
            (CHANGED_WHILE_READ, "changed"),
        ):
            parts.append(f"sum(CASE WHEN c{j} = {code} THEN {weight} ELSE 0 END)")
            what.append((j, label))
        if p.other_code is not None:
            parts.append(f"sum(CASE WHEN c{j} = {p.other_code} THEN {weight} ELSE 0 END)")
            what.append((j, "other"))
        if p.clipped is not None:
            parts.append(f"sum(k{j})")
            what.append((j, "clipped"))
    return f"SELECT sum({weight}), {', '.join(parts)} FROM {table}", what
