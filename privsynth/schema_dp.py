"""Draft a schema from the data with differential privacy (docs/schema.md).

What is read from the data, and how:

- column names and column TYPES (categorical, integer, float, datetime and its format, or exclude
  for a column that looks like an identifier) follow exactly the rule of the non-private draft
  (``privsynth.schema_infer``) and are treated as PUBLIC metadata: they are not protected;
- numeric bounds are DP quantiles (the 0.5th and 99.5th percentiles), each chosen by the exponential
  mechanism over a PUBLIC grid of candidates (never values from the data), integers rounded outward;
- categories are the keys of a DP thresholded histogram (Gaussian noise, then only the keys whose
  noisy count reaches a threshold are released); it is approximate DP, and the threshold is set so
  that a category held by one record is released with probability at most the delta reserved for it.
  Every categorical column gets ``"other": true`` so that dropped categories have somewhere to go;
- ``nullable`` is true for every column: it costs nothing and only adds a code.

Neighbouring relation: add/remove one record. Every measurement is charged to a PrivacyLedger
before the data is read for it. With ``seed=None`` the noise comes from OpenDP; with a seed from
numpy (reproducible, and only private while the seed stays secret).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import opendp.prelude as dp
import pandas as pd

from privsynth.errors import InputError
from privsynth.privacy.accounting import exponential_mechanism_rho
from privsynth.privacy.ledger import PrivacyLedger, validate_epsilon_delta
from privsynth.privacy.noise import NoiseSource, opendp_noisy_max
from privsynth.progress import QUIET, Progress
from privsynth.schema import DEFAULT_BINS, ColumnSpec, Schema
from privsynth.schema_infer import infer_column

dp.enable_features("contrib")

# The quantiles used as bounds: 99% of the data lies between them (see docs/schema.md).
LOWER_QUANTILE = 0.005
UPPER_QUANTILE = 0.995
# Public candidate grid for numbers: 0 and +-m * 10^k for m = 1.0, 1.1, ..., 9.9 and 10^-4 <= 10^k
# <= 10^8, plus +-1e9 (about 1% resolution); integers use its integral values only.
GRID_MIN_EXP = -4
GRID_MAX_EXP = 8
GRID_LIMIT = 1e9
# Public candidate grid for datetimes: every day from 1900-01-01 to 2100-12-31.
DATE_GRID_START = "1900-01-01"
DATE_GRID_END = "2100-12-31"
# Share of the budget per measurement: a categorical column's histogram weighs CATEGORY_WEIGHT, each
# of a numeric column's two quantiles QUANTILE_WEIGHT (so a numeric column weighs twice that).
CATEGORY_WEIGHT = 1.0
QUANTILE_WEIGHT = 1.0
# Part of delta reserved for the thresholded histograms (the rest goes to the zCDP conversion).
THRESHOLD_DELTA_SHARE = 0.5
# Integer columns with at most this many values get one bin per value (as in schema_infer).
UNIT_BINS_MAX = 100
DP_SOURCE = "differentially private inference"
REVIEW_NOTE = (
    "Made with differential privacy: the categories and bounds are noisy. Review them for meaning "
    "(rename nothing; add public categories you know of, widen bounds you know to be too narrow); "
    "values outside the bounds are clipped and unlisted categories map to 'other'."
)
NO_CATEGORY_NOTE = (
    "no category was common enough to be released at this budget: every value maps to 'other'; "
    "list the column's public categories by hand or spend more epsilon"
)

_FLOAT_SPACE = (dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance())
_COUNTS_DOMAIN = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T="i64"))
_COUNTS_METRIC = dp.l02inf_distance(dp.absolute_distance(T="i64"))
# Adding or removing one record changes one category's count by one: (l0, l2, linf) = (1, 1, 1).
_COUNT_BY_DISTANCE = (1, 1, 1)


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


# -- mechanisms -------------------------------------------------------------------------------------
def threshold_for(sigma: float, delta: float) -> int:
    """Smallest integer threshold at which a category held by one record leaks w.p. <= ``delta``.

    The probability is OpenDP's privacy map of its Gaussian threshold mechanism (Rogers 2023).
    """

    def leak(t: int) -> float:
        return float(_gaussian_threshold(sigma, t).map(_COUNT_BY_DISTANCE)[1])

    lo, hi = 1, 2
    while leak(hi) > delta:
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # leak(lo) > delta >= leak(hi) (or lo is the start)
        mid = (lo + hi) // 2
        if leak(mid) > delta:
            lo = mid
        else:
            hi = mid
    return hi if leak(lo) > delta else lo


def _gaussian_threshold(sigma: float, threshold: int) -> dp.Measurement:
    return dp.m.make_gaussian_threshold(
        _COUNTS_DOMAIN, _COUNTS_METRIC, scale=float(sigma), threshold=int(threshold)
    )


def private_categories(
    keys: pd.Series,
    rho: float,
    delta: float,
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
    what: str,
) -> list[str]:
    """Categories of ``keys`` whose noisy count reaches the threshold (a stability histogram).

    Discrete Gaussian noise of scale sigma = 1/sqrt(2 rho) on each observed category's count (L2
    sensitivity 1: one record changes one count by one), then only categories with noisy count >=
    threshold are released. A category's presence is data-dependent, which costs ``delta``.
    """
    sigma = 1.0 / math.sqrt(2.0 * rho)
    threshold = threshold_for(sigma, delta)
    measurement = _gaussian_threshold(sigma, threshold)
    od_rho, od_delta = measurement.map(_COUNT_BY_DISTANCE)
    ledger.charge(
        max(rho, float(od_rho)),
        delta=float(od_delta),
        what=what,
        mechanism="discrete Gaussian thresholded histogram",
        sensitivity=1.0,
        scale=sigma,
        threshold=threshold,
    )
    counts = keys.value_counts(sort=False)
    if noise.seeded:
        noisy = noise.discrete_gaussian(counts.to_numpy(dtype=np.int64), sigma)
        released = [str(k) for k, v in zip(counts.index, noisy, strict=True) if v >= threshold]
    else:
        released = list(measurement({str(k): int(v) for k, v in counts.items()}))
    return sorted(released)


# -- the draft --------------------------------------------------------------------------------------
def _category_keys(values: pd.Series) -> pd.Series:
    """Present values as text keys, matching how encoding compares values with categories."""
    return values.astype(str)


def _column_type(name: str, values: pd.Series) -> ColumnSpec | None:
    """The column's type by the public-metadata rule of the non-private draft (bounds discarded).

    Returns the draft spec only for its type, format and note; None for a column with no values.
    """
    if values.notna().sum() == 0:
        return None
    return infer_column(name, values)


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

    Column names and types are public metadata (see the module docstring); bounds and categories
    are private. The returned schema's provenance holds the spent (epsilon, delta, rho) and the
    ledger with one entry per measurement.
    """
    validate_epsilon_delta(epsilon, delta)
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
        raise InputError(f"bins must be a positive integer, got {bins}")
    if len(df) == 0:
        raise InputError("the table has no rows")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        raise InputError("the table has duplicate column names")
    drafts = {
        name: _column_type(name, df[col]) for name, col in zip(names, df.columns, strict=True)
    }
    kinds = {n: (d.type if d is not None else "exclude") for n, d in drafts.items()}
    n_cat = sum(k == "categorical" for k in kinds.values())
    n_num = sum(k in ("integer", "float", "datetime") for k in kinds.values())
    if n_cat + n_num == 0:
        raise InputError("every column is empty or looks like an identifier; nothing to synthesize")

    delta_reserve = delta * THRESHOLD_DELTA_SHARE if n_cat else 0.0
    ledger = PrivacyLedger(epsilon=epsilon, delta=delta, delta_reserve=delta_reserve)
    total_weight = n_cat * CATEGORY_WEIGHT + n_num * 2 * QUANTILE_WEIGHT
    # Round the shares down a hair so that their float sum never exceeds the budget.
    unit = ledger.rho_budget / total_weight * (1 - 1e-9)
    rho_cat, rho_q = unit * CATEGORY_WEIGHT, unit * QUANTILE_WEIGHT
    delta_cat = delta_reserve / n_cat if n_cat else 0.0
    noise = NoiseSource(seed)
    grids: dict[str, np.ndarray] = {}

    columns: list[ColumnSpec] = []
    empty_categorical: list[str] = []
    with progress.task("private schema", total=len(names)) as advance:
        for name, col in zip(names, df.columns, strict=True):
            draft, kind = drafts[name], kinds[name]
            values = df[col]
            if draft is None:
                spec = ColumnSpec(name, "exclude", note="no values at all")
            elif kind == "exclude":
                spec = ColumnSpec(name, "exclude", note=draft.note)
            elif kind == "categorical":
                cats = private_categories(
                    _category_keys(values.dropna()),
                    rho_cat,
                    delta_cat,
                    ledger=ledger,
                    noise=noise,
                    what=f"column {name!r}: categories",
                )
                note = ""
                if not cats:
                    cats, note = ["other"], NO_CATEGORY_NOTE
                    empty_categorical.append(name)
                spec = ColumnSpec(name, "categorical", True, categories=cats, other=True, note=note)
            else:
                if kind not in grids:
                    grids[kind] = (
                        date_grid() if kind == "datetime" else number_grid(kind == "integer")
                    )
                spec = _numeric_spec(
                    name,
                    values.dropna(),
                    draft,
                    grids[kind],
                    rho_q,
                    bins,
                    ledger=ledger,
                    noise=noise,
                )
            columns.append(spec)
            advance()

    for name in empty_categorical:
        progress.warn(f"column {name!r}: {NO_CATEGORY_NOTE}")
    eps_spent, delta_spent = ledger.spent_epsilon_delta()
    provenance: dict[str, Any] = {
        "source": DP_SOURCE,
        "public_metadata": "column names and types (read from the data, not protected)",
        "quantiles": [LOWER_QUANTILE, UPPER_QUANTILE],
        "review": REVIEW_NOTE,
        "dp": {
            "epsilon": eps_spent,
            "delta": delta_spent,
            "rho": ledger.rho_spent,
            "seeded": seed is not None,
            "ledger": ledger.to_dict(),
        },
    }
    return Schema(columns, provenance=provenance)


def _numeric_spec(
    name: str,
    present: pd.Series,
    draft: ColumnSpec,
    grid: np.ndarray,
    rho: float,
    bins: int,
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> ColumnSpec:
    kind = draft.type
    if kind == "datetime":
        stamps = pd.to_datetime(present.astype(str), format=draft.format)
        x = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
    else:
        x = present.to_numpy(dtype=float)
    bounds = [
        private_quantile(
            x, grid, alpha, rho, ledger=ledger, noise=noise, what=f"column {name!r}: {label}"
        )
        for alpha, label in (
            (LOWER_QUANTILE, f"{100 * LOWER_QUANTILE:g}th percentile (lower bound)"),
            (UPPER_QUANTILE, f"{100 * UPPER_QUANTILE:g}th percentile (upper bound)"),
        )
    ]
    lo, hi = min(bounds), max(bounds)  # post-processing: noisy quantiles may cross
    if kind == "integer":
        lo_i, hi_i = math.floor(lo), math.ceil(hi)
        width = hi_i - lo_i + 1
        n_bins = width if width <= UNIT_BINS_MAX else bins
        return ColumnSpec(name, "integer", True, lower=lo_i, upper=hi_i, bins=n_bins)
    if kind == "float":
        return ColumnSpec(name, "float", True, lower=lo, upper=hi, bins=bins)
    fmt = draft.format
    lower = pd.Timestamp(lo, unit="s").strftime(fmt)
    upper = pd.Timestamp(hi, unit="s").strftime(fmt)
    return ColumnSpec(name, "datetime", True, format=fmt, lower=lower, upper=upper, bins=bins)
