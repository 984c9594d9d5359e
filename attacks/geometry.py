"""Mixed-type record geometry: one Euclidean encoding shared by every distance-based attack.

Every column contributes a squared distance in [0, 1] between two records:

* numeric and datetime columns (datetimes as nanoseconds): values are scaled to [0, 1] by the
  range (``scaling="range"``) or by the mid-rank empirical CDF (``scaling="quantile"``), fitted
  on the real tables only (``fit_on``: train + holdout in an audit) so that a releaser cannot
  stretch the scale, and so weaken every distance, with a few absurd synthetic rows; synthetic
  values outside the fitted range are clipped to it. The contribution is the squared scaled
  difference.
  Missing numbers get an extra coordinate: NaN vs NaN = 0, NaN vs a value x = (x - 0.5)^2 + 0.75,
  so a missing value is always at least 0.75 away from any present value.
* categorical columns: one-hot scaled by 1/sqrt(2), so equal values contribute 0 and different
  values 1; a missing value is its own category (NaN vs NaN = 0, NaN vs value = 1). Above
  ``max_onehot`` levels a column is an *exact-equality column*: no coordinates, its codes are
  compared exactly by the neighbour search (a mismatch adds 1 to the squared distance; random
  embeddings, used before, added noise of about +-0.18 to every distance).

The record distance is the Euclidean distance of the encodings (sqrt of the sum of contributions).

Why range scaling stays the default (measured on Adult, 12,800 train / 3,200 holdout, 400
training records jittered as in ``benchmarks/leak_catalogue.py``: age +-1, hours +1..2, fnlwgt
+-3%): with range scaling the source record is the jittered copy's nearest training record in
98.5% of cases (median squared distance 0.0003, against 0.08 from the source to its nearest
holdout record); with quantile scaling 88%, because mid-rank scaling turns a step off a heavily
tied value (40 hours a week, 47% of records) into a jump of about 0.25. The geometry already sees
such near-copies; what limits their detection is the membership test's power at 1% FPR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attacks.errors import AuditInputError

COLUMN_TYPES = ("categorical", "numeric", "datetime")
_SQRT_HALF = np.float32(np.sqrt(0.5))


def infer_column_types(df: pd.DataFrame) -> dict[str, str]:
    """Column -> "categorical" | "numeric" | "datetime" from pandas dtypes."""
    out: dict[str, str] = {}
    for col in df.columns:
        dt = df[col].dtype
        if pd.api.types.is_bool_dtype(dt):
            out[str(col)] = "categorical"
        elif pd.api.types.is_numeric_dtype(dt):
            out[str(col)] = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(dt):
            out[str(col)] = "datetime"
        else:
            out[str(col)] = "categorical"
    return out


def _not_numbers(values: pd.Series) -> np.ndarray:
    """Which values do not parse as numbers (all of them when the values are not scalars)."""
    try:
        return pd.to_numeric(values, errors="coerce").isna().to_numpy()
    except (TypeError, ValueError):
        return np.ones(len(values), dtype=bool)


def reject_numbers_read_as_text(
    df: pd.DataFrame, columns: Sequence[str], table: str, share: float = 0.95
) -> None:
    """A text column whose non-missing values are numbers in at least ``share`` of its rows,
    but not all, is a numeric column with a few stray entries ("?", "n/a", a typo): inferred
    as categorical it would be audited as labels, silently. Raise instead, naming the column,
    the count and the first row (never the value: the table may be private). Only distinct
    values are parsed, and only in columns where at least half of 1,000 evenly spaced cells
    are numbers (so an ordinary text column costs a thousand parses, not a factorization)."""
    for col in columns:
        series = df[col]
        if not (
            pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)
        ):
            continue
        probe = series.iloc[:: max(1, len(series) // 1000)].dropna()
        if probe.empty or _not_numbers(probe).mean() > 0.5:
            continue
        codes, uniques = pd.factorize(series)
        text = _not_numbers(pd.Series(np.asarray(uniques, dtype=object)))
        if not text.any() or text.all():
            continue
        rows = text[codes[codes >= 0]]
        if rows.mean() > 1.0 - share:
            continue
        first = int(np.flatnonzero((codes >= 0) & text[np.maximum(codes, 0)])[0])
        raise AuditInputError(
            f"column {col!r} of the {table} table holds numbers except {int(rows.sum())} "
            f"value(s), first in data row {first + 1} (1-based, header not counted); fix or blank "
            "them (missing values are allowed), or declare the column categorical in the schema "
            "(--schema) to audit it as labels"
        )


def validate_tables(
    tables: dict[str, pd.DataFrame],
    column_types: dict[str, str] | None = None,
    *,
    qi: Sequence[str] | None = None,
    secrets: Sequence[str] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Check the tables share columns, are non-empty, and that named columns exist.

    Returns the tables with columns in the first table's order, and the complete column types.
    Raises :class:`AuditInputError` (a ``ValueError``) with a one-line message otherwise.
    """
    names = list(tables)
    ref_name = names[0]
    for name, df in tables.items():
        if not isinstance(df, pd.DataFrame):
            raise AuditInputError(f"{name} table is not a pandas DataFrame")
        if df.shape[1] == 0:
            raise AuditInputError(f"{name} table has no columns")
        if len(df) == 0:
            raise AuditInputError(f"{name} table is empty")
        if df.columns.duplicated().any():
            dup = sorted(map(str, df.columns[df.columns.duplicated()]))
            raise AuditInputError(f"{name} table has duplicate columns: {dup}")
    cols = [str(c) for c in tables[ref_name].columns]
    for name in names[1:]:
        other = [str(c) for c in tables[name].columns]
        missing = [c for c in cols if c not in other]
        extra = [c for c in other if c not in cols]
        if missing or extra:
            raise AuditInputError(
                f"column mismatch: {name} table lacks {missing} and has extra {extra} "
                f"compared with the {ref_name} table"
            )
    out = {}
    for name, df in tables.items():
        df = df.copy(deep=False)
        df.columns = [str(c) for c in df.columns]
        out[name] = df[cols]
    types = dict(column_types or {})
    unknown = sorted(set(types) - set(cols))
    if unknown:
        raise AuditInputError(f"column_types names unknown columns: {unknown}")
    bad = {c: t for c, t in types.items() if t not in COLUMN_TYPES}
    if bad:
        raise AuditInputError(f"unknown column types {bad}; expected one of {list(COLUMN_TYPES)}")
    inferred = infer_column_types(out[ref_name])
    reject_numbers_read_as_text(out[ref_name], [c for c in cols if c not in types], ref_name)
    types = {c: types.get(c, inferred[c]) for c in cols}
    for label, given in (("qi", qi), ("secret", secrets)):
        if given is not None:
            unknown = [c for c in given if c not in cols]
            if unknown:
                raise AuditInputError(f"unknown {label} column(s): {unknown}")
    for c in cols:
        if all(df[c].isna().all() for df in out.values()):
            raise AuditInputError(f"column {c!r} is missing (NaN) in every row of every table")
    return out, types


def _as_float(series: pd.Series, kind: str, col: str, table: str) -> np.ndarray:
    """A numeric or datetime column as float64 (datetimes in ns), NaN for missing."""
    if kind == "datetime":
        conv = pd.to_datetime(series, errors="coerce")
        if getattr(conv.dt, "tz", None) is not None:
            conv = conv.dt.tz_convert("UTC").dt.tz_localize(None)
        vals = conv.to_numpy(dtype="datetime64[ns]")
        out = vals.view(np.int64).astype(np.float64)
        out[np.isnat(vals)] = np.nan
    else:
        if pd.api.types.is_bool_dtype(series.dtype):
            series = series.astype(np.float64)
        conv = pd.to_numeric(series, errors="coerce")
        out = conv.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(np.isnan(out) & ~series.isna().to_numpy())
    if bad.size:
        # the row is named by position, never the value: the table may be private
        raise AuditInputError(
            f"column {col!r} of the {table} table has {bad.size} value(s) that are not {kind}, "
            f"first in data row {bad[0] + 1} (1-based, header not counted); fix the values, "
            f"or declare the column's type in the schema (--schema) if it is not {kind}"
        )
    return out


def _as_labels(series: pd.Series) -> np.ndarray:
    """A categorical column as strings (object array), None for missing."""
    mask = series.isna().to_numpy()
    vals = series.astype(object).to_numpy()
    out = pd.Series(vals, dtype=object).astype(str).to_numpy(dtype=object)
    out[mask] = None
    return out


def _factorized_labels(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, labels)`` with ``labels[codes] == _as_labels(series)`` (code -1: missing) and
    labels in order of first appearance, without a Python string per cell where the column's
    own values compare as their labels do (integers, booleans, strings, categoricals of
    those): the column is factorized on its values and only its distinct values become
    strings. Other columns keep the per-cell path (for floats 0.0 and -0.0 are one value to a
    hash table but two labels; in an object column so are 1 and 1.0)."""
    if not _labels_follow_values(series):
        codes, uniques = pd.factorize(pd.Series(_as_labels(series), dtype=object))
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes.astype(np.int64), _as_labels(pd.Series(uniques))


def _labels_follow_values(series: pd.Series) -> bool:
    dt = series.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return _labels_follow_values(pd.Series(dt.categories))
    if pd.api.types.is_bool_dtype(dt) or pd.api.types.is_integer_dtype(dt):
        return True
    if pd.api.types.is_object_dtype(dt):
        return pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
    return pd.api.types.is_string_dtype(dt)


def _categorical_column(frames: list[pd.Series]) -> tuple[np.ndarray, int, list[str]]:
    """Codes over the concatenated tables (first appearance, missing the last level), the
    number of levels and their labels: the same as factorizing ``_as_labels`` of the
    concatenation."""
    parts, index = [], {}
    for series in frames:
        codes, labels = _factorized_labels(series)
        glob = np.array([index.setdefault(lab, len(index)) for lab in labels], dtype=np.int64)
        parts.append(np.where(codes >= 0, glob[np.maximum(codes, 0)] if glob.size else 0, -1))
    col = np.concatenate(parts).astype(np.int32)
    k = len(index)
    names = [str(lab) for lab in index]
    if (col < 0).any():
        col[col < 0] = k
        k += 1
        names.append("(missing)")
    return col, k, names


@dataclass
class Geometry:
    """The fitted encoding: per-column types, scales, levels and dimension slices."""

    columns: list[str]
    types: dict[str, str]
    scaling: str
    slices: dict[str, slice] = field(default_factory=dict)
    n_levels: dict[str, int] = field(default_factory=dict)  # categoricals, missing included
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # numeric, raw units
    exact_columns: list[str] = field(default_factory=list)  # compared by equality, no coordinates
    levels: dict[str, list[str]] = field(default_factory=dict)  # categoricals: label of each code

    @property
    def dim(self) -> int:
        return max((s.stop for s in self.slices.values()), default=0)

    def dims(self, columns: Sequence[str]) -> np.ndarray:
        """Indices of the encoding dimensions of ``columns``."""
        parts = [np.arange(self.slices[c].start, self.slices[c].stop) for c in columns]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass
class EncodedTable:
    """One table in the shared geometry."""

    X: np.ndarray  # float32 (n, dim), the Euclidean encoding
    values: dict[str, np.ndarray]  # numeric: float64 raw (NaN = missing); categorical: int32 codes

    def __len__(self) -> int:
        return self.X.shape[0]

    def codes(self, columns: Sequence[str]) -> np.ndarray:
        """Integer codes of categorical ``columns`` as an (n, len(columns)) int64 array."""
        if not columns:
            return np.zeros((len(self), 0), dtype=np.int64)
        return np.column_stack([self.values[c].astype(np.int64) for c in columns])

    def value_matrix(self, columns: Sequence[str]) -> np.ndarray:
        """Raw values as float64 (categoricals as codes), e.g. for hashing or tree models."""
        return np.column_stack([self.values[c].astype(np.float64) for c in columns])


def _numeric_scaled(
    raw: np.ndarray, in_fit: np.ndarray, scaling: str
) -> tuple[np.ndarray, tuple[float, float]]:
    """A numeric column scaled to [0, 1] (0.5 where missing) and its fitted (min, max) in raw
    units; scales from the rows in ``in_fit`` only."""
    nan = np.isnan(raw)
    present = raw[~nan & in_fit]
    if present.size == 0:  # only the clipped tables have values: fit on them
        present = raw[~nan]
    lo, hi = float(present.min()), float(present.max())
    if scaling == "range":
        clipped = np.clip(raw, lo, hi)
        scaled = (clipped - lo) / (hi - lo) if hi > lo else np.zeros_like(raw)
    else:
        srt = np.sort(present)
        left = np.searchsorted(srt, raw, side="left")
        right = np.searchsorted(srt, raw, side="right")
        scaled = (left + right) / (2.0 * srt.size)
    return np.where(nan, 0.5, scaled), (lo, hi)


def _fill(x: np.ndarray, start: int, kind: str, col: Any, width: int) -> None:
    """Write one column's coordinates into the rows of ``x`` (zeros): a numeric column's scaled
    value then its missing flag (sqrt(0.75) where missing) if ``width`` is 2; a categorical's
    one-hot / sqrt(2) over ``width`` levels (none for an exact-equality column)."""
    if kind == "categorical":
        if width:
            x[np.arange(col.size), start + col] = _SQRT_HALF
        return
    scaled, nan = col
    x[:, start] = scaled
    if width == 2:
        x[:, start + 1] = np.where(nan, np.float32(np.sqrt(0.75)), np.float32(0.0))


def encode_tables(
    tables: dict[str, pd.DataFrame],
    column_types: dict[str, str],
    *,
    scaling: str = "range",
    max_onehot: int = 64,
    seed: int = 0,
    fit_on: Sequence[str] | None = None,
) -> tuple[Geometry, dict[str, EncodedTable]]:
    """Fit the numeric scales on the tables named in ``fit_on`` (default: all of them) and
    encode each table (vectorised); values of the other tables are clipped to the fitted
    range. ``seed`` is kept for compatibility (no random embedding is used any more). Each
    table's matrix is allocated once and filled column by column (no concatenated copy), and
    categorical columns are factorized on their own values (no Python string per cell where
    the values compare as their labels do): memory ~ one float32 matrix per table plus the
    raw values kept for exact matching.
    """
    _ = seed
    if scaling not in ("range", "quantile"):
        raise AuditInputError(f"unknown scaling {scaling!r}; expected 'range' or 'quantile'")
    names = list(tables)
    cols = list(next(iter(tables.values())).columns)
    sizes = [len(tables[n]) for n in names]
    bounds = np.cumsum([0, *sizes])
    geo = Geometry(columns=cols, types=dict(column_types), scaling=scaling)
    fit_names = list(fit_on) if fit_on is not None else names
    unknown = [n for n in fit_names if n not in names]
    if unknown:
        raise AuditInputError(f"fit_on names unknown tables: {unknown}")
    in_fit = np.repeat([n in fit_names for n in names], sizes)
    values: dict[str, dict[str, np.ndarray]] = {n: {} for n in names}
    layout = []  # (column, kind, per-row data, width)
    start = 0
    for c in cols:
        kind = column_types[c]
        if kind in ("numeric", "datetime"):
            col = np.concatenate([_as_float(tables[n][c], kind, c, n) for n in names])
            scaled, geo.ranges[c] = _numeric_scaled(col, in_fit, scaling)
            data, width = (scaled, np.isnan(col)), 2 if np.isnan(col).any() else 1
        else:
            col, k, geo.levels[c] = _categorical_column([tables[n][c] for n in names])
            geo.n_levels[c] = k
            data, width = col, k if k <= max_onehot else 0
            if k > max_onehot:
                geo.exact_columns.append(c)
        for i, n in enumerate(names):
            values[n][c] = col[bounds[i] : bounds[i + 1]]
        geo.slices[c] = slice(start, start + width)
        layout.append((c, "categorical" if kind == "categorical" else "numeric", data, width))
        start += width
    return geo, _matrices(names, bounds, layout, start, values)


def _matrices(
    names: list[str],
    bounds: np.ndarray,
    layout: list[tuple[str, str, object, int]],
    dim: int,
    values: dict[str, dict[str, np.ndarray]],
) -> dict[str, EncodedTable]:
    """One float32 (rows, dim) matrix per table, filled from the column layout."""
    out = {}
    for i, n in enumerate(names):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        x = np.zeros((hi - lo, dim), dtype=np.float32)
        start = 0
        for _, kind, data, width in layout:
            part = data[lo:hi] if kind == "categorical" else (data[0][lo:hi], data[1][lo:hi])
            _fill(x, start, kind, part, width)
            start += width
        out[n] = EncodedTable(x, values[n])
    return out


def row_hashes(table: EncodedTable, columns: Sequence[str]) -> np.ndarray:
    """A 64-bit hash per row of the raw values (NaN canonicalised): linear-time exact matching."""
    mat = table.value_matrix(columns)
    mat[np.isnan(mat)] = np.nan  # one NaN payload
    mat = mat + 0.0  # -0.0 -> 0.0
    frame = pd.DataFrame(mat.view(np.int64))
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


# --- tolerant copies: every categorical equal, every number within a relative tolerance -------
# At most this many (query, candidate) pairs are checked at once (memory ~ 40 bytes a pair).
_PAIR_CHUNK = 2_000_000
# At most this many pairs in one call (about 20 s of checks): above it :func:`tolerant_matches`
# raises :class:`TooManyPairs` and the caller evaluates a sample of the query rows.
MAX_PAIRS = 100_000_000


class TooManyPairs(RuntimeError):
    """The candidate windows of :func:`tolerant_matches` hold more than ``MAX_PAIRS`` pairs."""

    def __init__(self, pairs: int) -> None:
        super().__init__(f"{pairs} candidate pairs (limit {MAX_PAIRS})")
        self.pairs = pairs


def numeric_grain(values: np.ndarray) -> float:
    """The smallest positive gap between distinct present values (1 for integer-valued columns
    with consecutive values; 0 for a constant column): the column's resolution, the least
    difference the tolerance of :func:`tolerant_matches` allows."""
    u = np.unique(values[~np.isnan(values)])
    gaps = np.diff(u)
    return float(gaps.min()) if gaps.size else 0.0


def copy_tolerances(
    geo: Geometry, real: dict[str, np.ndarray], tol: float
) -> dict[str, tuple[float, float]]:
    """Per numeric / datetime column, ``(rel, floor)`` for :func:`tolerant_matches`, fitted on
    the real values only: a number may differ by ``tol`` of itself, or by one step of its
    resolution (grain) where one step is at most ``tol`` of the real range (age, hours: yes; a
    binary flag or a 1-16 grade: no); a datetime (nanoseconds since an arbitrary epoch, where
    "relative to the value" means nothing) by ``tol`` of the real range or one step. A column
    whose tolerance cannot bridge two of its values gets ``(0, 0)``: exact equality, compared
    by hashing with the categoricals."""
    out = {}
    for c in geo.columns:
        kind = geo.types[c]
        if kind == "categorical":
            continue
        v = real[c][~np.isnan(real[c])]
        grain = numeric_grain(v)
        span = float(v.max() - v.min()) if v.size else 0.0
        step = grain if grain <= tol * span else 0.0
        if kind == "datetime":
            rel, floor = 0.0, max(step, tol * span)
        else:
            rel, floor = tol, step
        top = float(np.abs(v).max()) if v.size else 0.0
        exact = floor < grain and rel * top < grain
        out[c] = (0.0, 0.0) if exact or grain == 0.0 else (rel, floor)
    return out


def tolerant_matches(
    query: EncodedTable,
    base: EncodedTable,
    geo: Geometry,
    tolerances: dict[str, tuple[float, float]],
    *,
    count: bool = False,
) -> np.ndarray:
    """Per query row: whether some base row (``count``: how many base rows, duplicates
    included) equals it on every categorical column (missing its
    own level) and lies within ``max(rel * |x|, floor)`` of its value ``x`` on every numeric
    column, ``(rel, floor) = tolerances[column]`` (missing only matches missing; ``(0, 0)``:
    exact, hashed with the categoricals). Exact and vectorised: base rows are deduplicated and
    sorted by (categorical combination, anchor number); each query row's candidates are the
    base rows of its combination inside the anchor's window (the numeric column with the most
    distinct values), checked on the other numbers in chunks of pairs."""
    from attacks.singling_out import combination_keys

    exact = [c for c in geo.columns if geo.types[c] == "categorical" or tolerances[c] == (0, 0)]
    nums = [c for c in geo.columns if c not in exact]
    if not count:
        base = _distinct_rows(base, geo.columns)
    mats = [t.value_matrix(exact) if exact else np.zeros((len(t), 1)) for t in (query, base)]
    k_q, k_b = combination_keys(mats)
    if not nums:
        found = np.bincount(k_b, minlength=int(max(k_q.max(initial=0), k_b.max(initial=0))) + 1)
        return found[k_q] if count else found[k_q] > 0
    anchor = max(nums, key=lambda c: np.unique(query.values[c]).size)
    a_q, a_b = query.values[anchor], base.values[anchor]
    k_q, k_b = 2 * k_q + np.isnan(a_q), 2 * k_b + np.isnan(a_b)  # missing anchors: own window
    a_q, a_b = np.nan_to_num(a_q), np.nan_to_num(a_b)
    grid = np.unique(np.concatenate([a_q, a_b]))
    width = grid.size + 1
    comp_b = k_b * width + np.searchsorted(grid, a_b)
    order = np.argsort(comp_b, kind="stable")
    comp_b = comp_b[order]
    rel, floor = tolerances[anchor]
    half = np.maximum(rel * np.abs(a_q), floor)
    lo_r = np.searchsorted(grid, a_q - half, side="left")
    hi_r = np.searchsorted(grid, a_q + half, side="right")
    lo = np.searchsorted(comp_b, k_q * width + lo_r, side="left")
    hi = np.searchsorted(comp_b, k_q * width + hi_r, side="left")
    others = [c for c in nums if c != anchor]
    n = _check_windows(query, base, order, lo, hi, others, tolerances)
    return n if count else n > 0


def _distinct_rows(table: EncodedTable, columns: Sequence[str]) -> EncodedTable:
    """The table's distinct rows (on the raw values; the matrix is not kept)."""
    from attacks.singling_out import combination_keys

    (keys,) = combination_keys([table.value_matrix(list(columns))])
    _, first = np.unique(keys, return_index=True)
    return EncodedTable(
        np.zeros((first.size, 0), np.float32), {c: v[first] for c, v in table.values.items()}
    )


def _check_windows(
    query: EncodedTable,
    base: EncodedTable,
    order: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    others: list[str],
    tolerances: dict[str, tuple[float, float]],
) -> np.ndarray:
    """How many candidates of each query row's window [lo, hi) of ``order`` are within the
    tolerance on every column of ``others``, pairs expanded in bounded chunks."""
    count = np.maximum(hi - lo, 0)
    hit = np.zeros(count.size, dtype=np.int64)
    if not others:
        return count
    ends = np.cumsum(count)
    if ends.size and int(ends[-1]) > MAX_PAIRS:
        raise TooManyPairs(int(ends[-1]))
    start = 0
    while start < count.size:
        stop = max(
            int(np.searchsorted(ends, (ends[start - 1] if start else 0) + _PAIR_CHUNK, "right")),
            start + 1,
        )
        rows = np.arange(start, stop)
        n = count[rows]
        q = np.repeat(rows, n)
        offs = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        b = order[np.repeat(lo[rows], n) + offs]
        ok = np.ones(q.size, dtype=bool)
        for c in others:
            x, y = query.values[c][q], base.values[c][b]
            rel, floor = tolerances[c]
            near = np.abs(x - y) <= np.maximum(rel * np.abs(x), floor)
            ok &= near | (np.isnan(x) & np.isnan(y))
        hit += np.bincount(q[ok], minlength=hit.size)
        start = stop
    return hit
