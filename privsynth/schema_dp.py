"""Draft a schema from the data with differential privacy (docs/schema.md).

What is read from the data, and how:

- column names and column TYPES (categorical, integer, float, datetime and its format, or exclude
  for a column that looks like an identifier) follow the rule of the non-private draft
  (``privsynth.schema_infer``) and are treated as PUBLIC metadata: they are not protected;
- categories are the keys of a DP thresholded histogram: discrete Gaussian noise on the count of
  each category present, and only the categories whose noisy count reaches a threshold are
  released. The set of keys depends on the data, so this is approximate DP; the threshold is set so
  that a category held by one record is released with probability at most the delta reserved for
  it. Every categorical column gets ``"other": true`` for the categories that were not released;
- numeric bounds come from the same mechanism on a PUBLIC grid of bins (round numbers from -1e9 to
  1e9, calendar years 1900-2100), never from values in the data: the lower (upper) bound is the
  lower (upper) edge of the released bin holding the 0.5th (99.5th) percentile of the released
  noisy counts, so bounds lie on grid edges and integers are rounded outward;
- ``nullable`` is true for every column: it costs nothing and only adds a code.

Neighbouring relation: add/remove one record. Each column is one measurement
(``privsynth.privacy.threshold.private_keys``), charged to a PrivacyLedger before the data is read
for it; the charged delta is the exact discrete Gaussian tail ``P(Z >= T - 1)``. With
``seed=None`` the noise comes from OpenDP; with a seed from numpy: reproducible, NOT FOR RELEASE
(anyone with the seed can remove the noise), and the provenance says so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from privsynth.encoding import category_keys
from privsynth.errors import InputError
from privsynth.privacy.budget import Budget
from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.noise import NoiseSource
from privsynth.privacy.threshold import private_keys, threshold_for
from privsynth.progress import QUIET, Progress
from privsynth.schema import DEFAULT_BINS, ColumnSpec, Schema, datetime_seconds
from privsynth.schema_infer import detect_datetime_format, looks_like_identifier

__all__ = [
    "bin_keys",
    "column_type",
    "date_grid",
    "infer_schema_dp",
    "number_grid",
    "threshold_for",
]

# Bounds: the 0.5th and 99.5th percentiles of the released noisy histogram (docs/schema.md).
LOWER_QUANTILE = 0.005
UPPER_QUANTILE = 0.995
# Public grid for numbers: 0 and +-m * 10^k for the mantissas below and 10^-3 <= 10^k <= 10^8, then
# +-1e9: steps of 10-25%, the round numbers a person would write as bounds.
GRID_MANTISSAS = np.array([1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
GRID_MIN_EXP = -3
GRID_MAX_EXP = 8
GRID_LIMIT = 1e9
# Public grid for datetimes: calendar years (bins are whole years).
DATE_GRID_START = 1900
DATE_GRID_END = 2101
# Part of delta reserved for the thresholded histograms (the rest goes to the zCDP conversion).
THRESHOLD_DELTA_SHARE = 0.5
# Integer columns with at most this many values get one bin per value (as in schema_infer).
UNIT_BINS_MAX = 100
DP_SOURCE = "differentially private inference"
REVIEW_NOTE = (
    "Made with differential privacy: categories and bounds are noisy. Review them for meaning: "
    "add categories you know to be public, widen bounds you know to be too narrow. Values outside "
    "the bounds are clipped, categories not listed map to 'other'."
)
NO_CATEGORY_NOTE = (
    "no category was common enough to be released at this budget, so every value maps to "
    "'other': list the column's public categories by hand or spend more epsilon"
)
NO_BIN_NOTE = (
    "no range of values was common enough to be released at this budget, so the bounds are the "
    "whole public range: set public bounds by hand or spend more epsilon"
)

ONE_VALUE_NOTE = (
    "only one value was common enough to be released at this budget: widen the bounds by hand if "
    "the column should vary"
)


# -- public grids ----------------------------------------------------------------------------------
def number_grid(integer: bool) -> np.ndarray:
    """Public bin edges for numbers: 0 and +-m * 10^k (m in GRID_MANTISSAS), then +-GRID_LIMIT.

    Integers use the integral edges only (and every integer from -9 to 9). Sorted, data-independent.
    """
    decades = 10.0 ** np.arange(GRID_MIN_EXP, GRID_MAX_EXP + 1)
    pos = np.array([float(f"{v:.6g}") for v in (decades[:, None] * GRID_MANTISSAS).ravel()])
    pos = np.append(pos, GRID_LIMIT)
    if integer:
        pos = np.concatenate([pos[pos == np.round(pos)], np.arange(1.0, 10.0)])
        pos = pos[pos >= 1]
    pos = np.unique(pos)
    return np.concatenate([-pos[::-1], [0.0], pos])


def date_grid() -> np.ndarray:
    """Public bin edges for datetimes: every 1 January from DATE_GRID_START to DATE_GRID_END."""
    years = pd.date_range(f"{DATE_GRID_START}-01-01", f"{DATE_GRID_END}-01-01", freq="YS")
    return years.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9


def bin_keys(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index of the grid bin [edges[i], edges[i+1]) holding each value; the end bins are open."""
    return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)


# -- the draft --------------------------------------------------------------------------------------
def column_type(values: pd.Series) -> tuple[str, str | None, str]:
    """(type, datetime format, note) by the public-metadata rule of ``schema_infer.infer_column``.

    The same decisions as the non-private draft, made on the distinct values for speed.
    """
    present = values.dropna()
    if present.empty:
        return "exclude", None, "no values at all"
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        x = present.to_numpy(dtype=float)
        if np.all(x == np.round(x)):
            if looks_like_identifier(present) and present.nunique() == len(present):
                return "exclude", None, "every value unique: looks like an identifier"
            return "integer", None, ""
        return "float", None, ""
    text = present.astype(str)
    fmt = detect_datetime_format(pd.Series(text.unique()))
    if fmt is not None:
        return "datetime", fmt, ""
    if looks_like_identifier(text):
        return "exclude", None, "nearly every value unique: looks like an identifier"
    return "categorical", None, ""


def infer_schema_dp(
    df: pd.DataFrame,
    *,
    epsilon: float,
    delta: float,
    bins: int = DEFAULT_BINS,
    seed: int | None = None,
    progress: Progress = QUIET,
) -> Schema:
    """A differentially private draft schema of ``df``, spending at most (epsilon, delta).

    Column names and types are public metadata (module docstring); categories and bounds are
    private. Every modelled column is one thresholded-histogram measurement with an equal share of
    rho and of the reserved delta. The provenance holds the spent (epsilon, delta, rho) and the
    ledger.
    """
    budget = Budget(epsilon=epsilon, delta=delta, delta_reserve=delta * THRESHOLD_DELTA_SHARE)
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
        raise InputError(f"bins must be a positive integer, got {bins}")
    if len(df) == 0:
        raise InputError("the table has no rows")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        raise InputError("the table has duplicate column names")
    types = [column_type(df[c]) for c in df.columns]
    n_measured = sum(t[0] != "exclude" for t in types)
    if n_measured == 0:
        raise InputError("every column is empty or looks like an identifier; nothing to synthesize")

    ledger = PrivacyLedger(budget)
    noise = NoiseSource(seed)
    left = n_measured

    columns: list[ColumnSpec] = []
    flagged: list[tuple[str, str]] = []
    with progress.task("private schema", total=len(names)) as advance:
        for name, col, (kind, fmt, note) in zip(names, df.columns, types, strict=True):
            values = df[col]
            if kind != "exclude":
                # equal shares of what is left: the last column takes exactly the rest
                rho_col, delta_col = ledger.rho_remaining / left, ledger.delta_remaining / left
                left -= 1
            if kind == "exclude":
                spec = ColumnSpec(name, "exclude", note=note)
            elif kind == "categorical":
                released = private_keys(
                    lambda values=values: category_keys(values.dropna()),
                    rho_col,
                    delta_col,
                    ledger=ledger,
                    noise=noise,
                    what=f"column {name!r}: categories",
                )
                cats = sorted(released)
                if not cats:
                    cats, note = ["other"], NO_CATEGORY_NOTE
                    flagged.append((name, note))
                spec = ColumnSpec(name, "categorical", True, categories=cats, other=True, note=note)
            else:
                spec = _numeric_spec(
                    name, values.dropna(), kind, fmt, rho_col, delta_col, bins, ledger, noise
                )
                if spec.note:
                    flagged.append((name, spec.note))
            columns.append(spec)
            advance()

    for name, note in flagged:
        progress.warn(f"column {name!r}: {note}")
    eps_spent, delta_spent = ledger.spent_epsilon_delta()
    provenance: dict[str, Any] = {
        "source": DP_SOURCE,
        "public_metadata": "column names and types, read from the data and not protected",
        "bounds": f"{100 * LOWER_QUANTILE:g}th and {100 * UPPER_QUANTILE:g}th percentiles of a "
        "thresholded histogram on a public grid",
        "review": REVIEW_NOTE,
        "dp": {
            "epsilon": eps_spent,
            "delta": delta_spent,
            "rho": ledger.rho_spent,
            "seeded": seed is not None,
            "noise": noise.describe(),
            "ledger": ledger.to_dict(),
        },
    }
    return Schema(columns, provenance=provenance)


def _numeric_spec(
    name: str,
    present: pd.Series,
    kind: str,
    fmt: str | None,
    rho: float,
    delta: float,
    bins: int,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> ColumnSpec:
    """Bounds from the released bins of a public grid (module docstring)."""
    edges = date_grid() if kind == "datetime" else number_grid(kind == "integer")

    def keys() -> pd.Series:
        if kind == "datetime":
            stamps = pd.to_datetime(present.astype(str), format=fmt)
            x = datetime_seconds(stamps)
        else:
            x = present.to_numpy(dtype=float)
        return pd.Series(bin_keys(x, edges))

    released = private_keys(
        keys,
        rho,
        delta,
        ledger=ledger,
        noise=noise,
        what=f"column {name!r}: bounds (histogram on the public grid)",
    )
    note = ""
    if released:
        idx = np.array(sorted(int(k) for k in released))
        mass = np.maximum(np.array([released[str(i)] for i in idx], dtype=float), 0.0)
        cdf = np.cumsum(mass) / mass.sum()
        i_lo = idx[min(int(np.searchsorted(cdf, LOWER_QUANTILE, side="left")), len(idx) - 1)]
        i_hi = idx[min(int(np.searchsorted(cdf, UPPER_QUANTILE, side="left")), len(idx) - 1)]
        lo, hi = float(edges[i_lo]), float(edges[i_hi + 1])
    else:
        lo, hi, note = float(edges[0]), float(edges[-1]), NO_BIN_NOTE
    if kind == "integer":
        lo_i, hi_i = math.floor(lo), math.ceil(hi)
        if hi_i > lo_i and hi < edges[-1]:
            hi_i -= 1  # bin [a, b) of integers holds a .. b-1 (the last bin is open: keep b)
        width = hi_i - lo_i + 1
        if width == 1 and not note:
            note = ONE_VALUE_NOTE
        n_bins = width if width <= UNIT_BINS_MAX else bins
        return ColumnSpec(name, "integer", True, lower=lo_i, upper=hi_i, bins=n_bins, note=note)
    if kind == "float":
        return ColumnSpec(name, "float", True, lower=lo, upper=hi, bins=bins, note=note)
    lower = pd.Timestamp(lo, unit="s").strftime(fmt)
    upper = pd.Timestamp(hi, unit="s").strftime(fmt)
    return ColumnSpec(
        name, "datetime", True, format=fmt, lower=lower, upper=upper, bins=bins, note=note
    )
