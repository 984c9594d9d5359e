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
- numeric bounds come from a PLAIN noisy histogram (discrete Gaussian on every bin, no threshold,
  no delta) on a PUBLIC coverage grid: 0 and +-{1, 2, 5} x 10^k, calendar years for datetimes.
  The bins are fixed before the data is read, so releasing a noisy count for each of them is an
  ordinary Gaussian mechanism (add/remove one record moves one count by 1: L2 sensitivity 1);
  thresholding is only needed for keys taken from the data (the categories). The bounds are then
  chosen by post-processing, aiming at COVERAGE (clipping real values harms a release far more
  than a wide range does): seeds are the bins (or the largest bin of any window of three bins)
  that stand 4 sigma out of the noise and, once one does, the largest bin of any window of 2-3
  bins at 3 sigma on the same side of 0 (a far mode of a few percent); grow outward one bin at
  a time while the next three bins hold a noisy total of at least 0.75 sigma of that sum
  (2 sigma to cross 0); add a margin of one
  bin, two where that test could miss 1% of the values or the edge bin is weak (never across 0),
  placed on a finer public grid (0, +-{1, 1.5, 2, 3, 5, 7} x 10^k) as that many steps plus one
  and never beyond the whole bins (post-processing that reads no count);
  and let a positive range that spans a factor of two or more start at 0 (a negative one end at
  0). The share of values inside (the grid bins wholly inside) is estimated from the noisy counts
  next to them, with its standard error, and written into the column's note; an estimate more
  than one standard error below 99% is a loud LOW COVERAGE warning, and a bound whose next three
  bins still hold 2 sigma or more of noisy mass, or whose coverage is surely (two standard errors)
  below 99%, is flagged as looking clipped (docs/schema.md);
- a column whose name is empty or pandas' ``Unnamed: k`` (a written row index), or an integer
  column whose values are unique or run in order like a row number, is flagged ``exclude`` by the
  public-metadata rule;
- ``nullable`` is true for every column: it costs nothing and only adds a code.

Budget split: a public rule on the column types. A numeric or datetime column takes
NUMERIC_WEIGHT (2) shares of rho, a categorical one 1 (its bounds must find a far mode of ~1% of
the values, a category only clear its threshold); the last column takes exactly the rest.

Neighbouring relation: add/remove one record. Each column is one measurement, charged to a
PrivacyLedger before the data is read for it: a categorical column's thresholded histogram
(``privsynth.privacy.threshold.private_keys``; the charged delta is the exact discrete Gaussian
tail ``P(Z >= T - 1)``), a numeric column's plain histogram (OpenDP's zCDP map of the discrete
Gaussian, delta 0). Delta is reserved for thresholds only when a categorical column is measured. With
``seed=None`` the noise comes from OpenDP; with a seed from numpy: reproducible, NOT FOR RELEASE
(anyone with the seed can remove the noise), and the provenance says so.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from privsynth.engines.facts import (
    ColumnFacts,
    DraftSource,
    FrameSource,
    bin_keys,
    series_facts,
)
from privsynth.errors import InputError
from privsynth.privacy.budget import Budget
from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.mechanisms import gaussian_charge, gaussian_scale
from privsynth.privacy.noise import NoiseSource
from privsynth.privacy.threshold import private_key_counts, threshold_for
from privsynth.progress import QUIET, Progress
from privsynth.schema import DEFAULT_BINS, ColumnSpec, Schema
from privsynth.schema_infer import (
    ID_MIN_DISTINCT,
    ID_UNIQUE_SHARE,
    detect_datetime_format,
)

__all__ = [
    "bin_keys",
    "column_type",
    "date_grid",
    "infer_schema_dp",
    "number_grid",
    "threshold_for",
    "noisy_counts",
    "noisy_histogram",
    "type_from_facts",
    "covering_bins",
]

# Bounds (module docstring): seed bins and seed windows (2 .. GROW_WINDOW bins), the growth window
# and its z, the clipped-bound z.
SEED_Z = 4.0
WINDOW_SEED_Z = 3.0
GROW_WINDOW = 3
GROW_Z = 0.75
CLIP_Z = 2.0
# The margin is taken on this finer public grid (its edges hold every coverage-grid edge), in
# (coarse margin + MARGIN_EXTRA) steps, never beyond the coarse margin (docs/schema.md).
MARGIN_MANTISSAS = np.array([1.0, 1.5, 2.0, 3.0, 5.0, 7.0])
MARGIN_EXTRA = 1
# A bound whose estimated coverage is surely (2 sigma) below this looks clipped.
MIN_COVERAGE = 0.99
# The public coverage grid for numbers: 0, +-m * 10^k for these mantissas, then +-GRID_LIMIT.
COVERAGE_MANTISSAS = np.array([1.0, 2.0, 5.0])
# Public grid for numbers: 0 and +-m * 10^k for 10^-3 <= 10^k <= 10^8 (m in COVERAGE_MANTISSAS),
# then +-1e9: the round numbers a person would write as bounds.
GRID_MIN_EXP = -3
GRID_MAX_EXP = 8
GRID_LIMIT = 1e9
# Public grid for datetimes: calendar years (bins are whole years).
DATE_GRID_START = 1900
DATE_GRID_END = 2101
# A numeric column's share of rho, in categorical columns' shares (a public rule): its bounds
# must find a far mode of ~1% of the values, a category only needs to clear its threshold.
NUMERIC_WEIGHT = 2.0
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

COVERAGE_NOTE = (
    "the bounds hold an estimated {share:.1%} (standard error {se:.1%}) of the values (a DP "
    "estimate from the noisy counts next to them)"
)
LOW_COVERAGE_NOTE = (
    "LOW COVERAGE: the estimate is more than one standard error below {target:.0%}, so real "
    "values may be clipped: widen the bounds by hand or spend more epsilon."
)
CLIPPED_NOTE = "The {sides} bound looks clipped: widen it by hand or spend more epsilon."
ONE_VALUE_NOTE = (
    "only one value was common enough to be released at this budget: widen the bounds by hand if "
    "the column should vary"
)


# -- public grids ----------------------------------------------------------------------------------
def number_grid(integer: bool, mantissas: np.ndarray = COVERAGE_MANTISSAS) -> np.ndarray:
    """Public bin edges for numbers: 0 and +-m * 10^k (m in ``mantissas``), then +-GRID_LIMIT.

    Integers use the integral edges only. Sorted, data-independent.
    """
    decades = 10.0 ** np.arange(GRID_MIN_EXP, GRID_MAX_EXP + 1)
    pos = np.array([float(f"{v:.6g}") for v in (decades[:, None] * mantissas).ravel()])
    pos = np.append(pos, GRID_LIMIT)
    if integer:
        pos = pos[(pos == np.round(pos)) & (pos >= 1)]
    pos = np.unique(pos)
    return np.concatenate([-pos[::-1], [0.0], pos])


def date_grid() -> np.ndarray:
    """Public bin edges for datetimes: every 1 January from DATE_GRID_START to DATE_GRID_END."""
    years = pd.date_range(f"{DATE_GRID_START}-01-01", f"{DATE_GRID_END}-01-01", freq="YS")
    return years.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9


# -- the draft --------------------------------------------------------------------------------------
ROW_INDEX_NAME = re.compile(r"^(|index|Unnamed: \d+)$")
# An integer column whose consecutive values increase in at least this share of rows runs in order.
IN_ORDER_SHARE = 0.99


def _identifier_like(f: ColumnFacts) -> bool:
    return f.n_distinct >= ID_MIN_DISTINCT and f.n_distinct >= ID_UNIQUE_SHARE * f.n_present


def looks_like_row_index(name: str, present: pd.Series) -> bool:
    """A written row index (public rule): unnamed, or integers unique or running in order."""
    return _row_index(name, series_facts(present))


def _row_index(name: str, f: ColumnFacts) -> bool:
    if ROW_INDEX_NAME.match(name.strip()):
        return True
    if f.dtype != "integer" or f.n_present < 20 or not _identifier_like(f):
        return False
    return f.in_order is not None and f.in_order() >= IN_ORDER_SHARE


def column_type(values: pd.Series, name: str | None = None) -> tuple[str, str | None, str]:
    """(type, datetime format, note) by the public-metadata rule of ``schema_infer.infer_column``
    (:func:`type_from_facts` on the column's facts)."""
    return type_from_facts(series_facts(values), name)


def type_from_facts(f: ColumnFacts, name: str | None = None) -> tuple[str, str | None, str]:
    """(type, datetime format, note) from a column's facts (``engines.facts``; any engine).

    The same decisions as the non-private draft, made on the distinct values, plus the
    row-index rule (unnamed, or integers identifier-like and running in order) when ``name`` is
    given.
    """
    if f.n_present == 0:
        return "exclude", None, "no values at all"
    if name is not None and _row_index(str(name), f):
        return "exclude", None, "unnamed or running in order: looks like a row index"
    if f.dtype in ("integer", "float"):
        if f.whole:
            if _identifier_like(f) and f.n_distinct == f.n_present:
                return "exclude", None, "every value unique: looks like an identifier"
            return "integer", None, ""
        return "float", None, ""
    assert f.text_values is not None
    fmt = detect_datetime_format(f.text_values)
    if fmt is not None:
        return "datetime", fmt, ""
    if _identifier_like(f):
        return "exclude", None, "nearly every value unique: looks like an identifier"
    return "categorical", None, ""


def infer_schema_dp(
    data: pd.DataFrame | DraftSource,
    *,
    epsilon: float,
    delta: float,
    bins: int = DEFAULT_BINS,
    seed: int | None = None,
    progress: Progress = QUIET,
) -> Schema:
    """A differentially private draft schema of ``data``, spending at most (epsilon, delta).

    ``data`` is a DataFrame or a :class:`privsynth.engines.facts.DraftSource` (a large file
    read in DuckDB: ``engines.facts.open_source``); both give the same schema. Column names and
    types are public metadata (module docstring); categories and bounds are private. Every
    modelled column is one measurement with a share of rho weighted by :func:`rho_weight` (and,
    for a categorical column, an equal share of the delta reserved for thresholds). The
    provenance holds the spent (epsilon, delta, rho) and the ledger.
    """
    source = FrameSource(data) if isinstance(data, pd.DataFrame) else data
    types = _check_and_type(source, bins)
    measured = [t[0] for t in types if t[0] != "exclude"]
    reserve = delta * THRESHOLD_DELTA_SHARE if "categorical" in measured else 0.0
    ledger = PrivacyLedger(Budget(epsilon=epsilon, delta=delta, delta_reserve=reserve))
    noise = NoiseSource(seed)
    left, n_cat = sum(map(rho_weight, measured)), measured.count("categorical")
    columns: list[ColumnSpec] = []
    flagged: list[ColumnSpec] = []
    with progress.task("private schema", total=len(types)) as advance:
        for j, (name, (kind, fmt, note)) in enumerate(zip(source.names, types, strict=True)):
            if kind == "exclude":
                columns.append(ColumnSpec(name, "exclude", note=note))
                advance()
                continue
            # weighted shares of what is left: the last column takes exactly the rest
            weight = rho_weight(kind)
            rho_col = ledger.rho_remaining * (1.0 if weight >= left else weight / left)
            left -= weight
            if kind == "categorical":
                delta_col, n_cat = ledger.delta_remaining / n_cat, n_cat - 1
                counts = functools.partial(source.key_counts, j)
                spec = _categorical_spec(name, counts, rho_col, delta_col, ledger, noise)
                warn = bool(spec.note)
            else:
                counts = functools.partial(source.bin_counts, j)
                spec, warn = _numeric_spec(name, counts, kind, fmt, rho_col, bins, ledger, noise)
            columns.append(spec)
            flagged += [spec] if warn else []
            advance()
    for spec in flagged:
        progress.warn(f"column {spec.name!r}: {spec.note}")
    return Schema(columns, provenance=_provenance(ledger, noise, seed))


def rho_weight(kind: str) -> float:
    """A measured column's share of rho in categorical shares: NUMERIC_WEIGHT for numbers and
    datetimes, 1 for a categorical column (public: it depends on the column types only)."""
    return 1.0 if kind == "categorical" else NUMERIC_WEIGHT


def _check_and_type(source: DraftSource, bins: int) -> list[tuple[str, str | None, str]]:
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
        raise InputError(f"bins must be a positive integer, got {bins}")
    if source.n_rows == 0:
        raise InputError("the table has no rows")
    names = source.names
    if len(set(names)) != len(names):
        raise InputError("the table has duplicate column names")
    types = [type_from_facts(source.facts(j), name) for j, name in enumerate(names)]
    if all(t[0] == "exclude" for t in types):
        raise InputError("every column is empty or looks like an identifier; nothing to synthesize")
    return types


def _provenance(ledger: PrivacyLedger, noise: NoiseSource, seed: int | None) -> dict[str, Any]:
    eps_spent, delta_spent = ledger.spent_epsilon_delta()
    return {
        "source": DP_SOURCE,
        "public_metadata": "column names and types, read from the data and not protected",
        "bounds": "chosen to cover the values, from a plain noisy histogram on a public grid "
        "(0 and +-{1, 2, 5} x 10^k; calendar years), margins on 0 and +-{1, 1.5, 2, 3, 5, 7} x 10^k",
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


def _categorical_spec(
    name: str,
    counts: Callable[[], pd.Series],
    rho: float,
    delta: float,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> ColumnSpec:
    released = private_key_counts(
        counts,
        rho,
        delta,
        ledger=ledger,
        noise=noise,
        what=f"column {name!r}: categories",
    )
    cats, note = sorted(released), ""
    if not cats:
        cats, note = ["other"], NO_CATEGORY_NOTE
    return ColumnSpec(name, "categorical", True, categories=cats, other=True, note=note)


def noisy_histogram(
    keys: Callable[[], np.ndarray],
    n_bins: int,
    rho: float,
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
    what: str,
) -> tuple[np.ndarray, float]:
    """Noisy counts of every bin of a PUBLIC grid (``keys()`` gives each record's bin), and sigma:
    :func:`noisy_counts` of their bincount."""

    def counts() -> np.ndarray:
        return np.bincount(np.asarray(keys(), dtype=np.int64), minlength=n_bins)

    return noisy_counts(counts, n_bins, rho, ledger=ledger, noise=noise, what=what)


def noisy_counts(
    counts: Callable[[], np.ndarray],
    n_bins: int,
    rho: float,
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
    what: str,
) -> tuple[np.ndarray, float]:
    """Noisy counts of every bin of a PUBLIC grid (``counts()`` gives the exact count of each of
    the ``n_bins`` bins, from any engine), and sigma.

    The bins are fixed before the data is read, so this is the plain discrete Gaussian mechanism
    (L2 sensitivity 1 under add/remove one record), charged OpenDP's zCDP map before ``counts``
    is called; no threshold and no delta.
    """
    sigma = gaussian_scale(float(rho))
    ledger.charge(
        gaussian_charge(sigma),
        what=what,
        mechanism="discrete Gaussian",
        sensitivity=1.0,
        scale=sigma,
        cells=int(n_bins),
        implementation="OpenDP make_gaussian",
    )
    exact = np.asarray(counts(), dtype=np.int64)
    if exact.shape != (n_bins,):
        raise ValueError(f"expected {n_bins} counts, got shape {exact.shape}")
    return noise.discrete_gaussian(exact, sigma).astype(float), sigma


def _seeds(y: np.ndarray, sigma: float, zero: int = -1) -> np.ndarray:
    """The seed bins: each bin of SEED_Z sigma or more, and the largest bin of each window of
    GROW_WINDOW bins of SEED_Z sigma sqrt(GROW_WINDOW) or more (a mode spread thin). Once one of
    those stands out, also the largest bin of each window of 2 .. GROW_WINDOW bins of
    WINDOW_SEED_Z sigma sqrt(width) or more on the same side of 0 (bin ``zero`` starts at 0): a
    far mode of ~1% of the values, or one the noise pulled under SEED_Z. These only widen a
    range that exists, never give it a new sign, so pure noise still seeds nothing."""
    seeds = _window_tops(y, np.flatnonzero(y >= SEED_Z * sigma), GROW_WINDOW, SEED_Z * sigma)
    if seeds.size == 0:
        return seeds
    weak = np.zeros(0, dtype=int)
    for width in range(2, GROW_WINDOW + 1):
        weak = _window_tops(y, weak, width, WINDOW_SEED_Z * sigma)
    if zero >= 0 and (seeds >= zero).all():
        weak = weak[weak >= zero]
    elif zero >= 0 and (seeds < zero).all():
        weak = weak[weak < zero]
    return np.union1d(seeds, weak)


def _window_tops(y: np.ndarray, seeds: np.ndarray, width: int, z_sigma: float) -> np.ndarray:
    """``seeds`` with the largest bin of each window of ``width`` bins whose noisy sum is at
    least ``z_sigma * sqrt(width)``."""
    sums = np.convolve(y, np.ones(width), mode="valid")
    starts = np.flatnonzero(sums >= z_sigma * math.sqrt(width))
    if starts.size == 0:
        return seeds
    idx = starts[:, None] + np.arange(width)[None, :]
    return np.union1d(seeds, idx[np.arange(starts.size), np.argmax(y[idx], axis=1)])


def _grow(
    y: np.ndarray, sigma: float, edges: np.ndarray | None
) -> tuple[int, int, int, int] | None:
    """Seeds and growth (module docstring): the first and last bin of the grown range and the
    margin (in bins) each side gets; ``None`` when nothing stands out of the noise."""
    b, need = len(y), GROW_Z * sigma * math.sqrt(GROW_WINDOW)
    # growing across 0 (the bin edge at index `zero`) takes CLIP_Z, not GROW_Z: a sign needs evidence
    zero = int(np.searchsorted(edges, 0.0)) if edges is not None else -1
    seeds = _seeds(y, sigma, zero)
    if seeds.size == 0:
        return None
    lo, hi = int(seeds.min()), int(seeds.max())
    cross = CLIP_Z * sigma * math.sqrt(GROW_WINDOW)
    while hi + 1 < b and y[hi + 1 : hi + 1 + GROW_WINDOW].sum() >= (
        cross if hi + 1 == zero else need
    ):
        hi += 1
    while lo > 0 and y[max(lo - GROW_WINDOW, 0) : lo].sum() >= (cross if lo == zero else need):
        lo -= 1
    # a margin for the tail the noise hides: one bin, two where the growth test could miss a
    # tail of (1 - MIN_COVERAGE) of the values or beyond a weak edge bin
    hidden = need >= (1.0 - MIN_COVERAGE) * max(float(np.maximum(y[lo : hi + 1], 0).sum()), 1.0)
    m_lo = 1 + int(hidden or y[lo] < SEED_Z * sigma)
    m_hi = 1 + int(hidden or y[hi] < SEED_Z * sigma)
    return lo, hi, m_lo, m_hi


def _coverage(y: np.ndarray, sigma: float, lo: int, hi: int) -> tuple[float, list[str], float]:
    """The estimated share of the values in bins ``lo..hi`` (from the noisy counts of the
    GROW_WINDOW bins beyond each end), the sides that look clipped, and the share's standard
    error (the two outside sums' noise over the mass inside)."""
    left = y[max(lo - GROW_WINDOW, 0) : lo].sum()
    right = y[hi + 1 : hi + 1 + GROW_WINDOW].sum()
    clip = CLIP_Z * sigma * math.sqrt(GROW_WINDOW)
    sides = [side for side, mass in (("lower", left), ("upper", right)) if mass >= clip]
    inside = float(np.maximum(y[lo : hi + 1], 0.0).sum())
    # unbiased noisy masses outside; the share is clamped to [0, 1] after the ratio
    share = min(max(inside / max(inside + left + right, 1.0), 0.0), 1.0)
    # an estimate below 99% by one standard error is LOW (a loud warning), by two looks clipped
    se = sigma * math.sqrt(2 * GROW_WINDOW) / max(inside, 1.0)
    if share + CLIP_Z * se < MIN_COVERAGE and not sides:
        sides = ["lower" if left > right else "upper"]
    return share, sides, se


def covering_bins(
    y: np.ndarray, sigma: float, edges: np.ndarray | None = None
) -> tuple[int, int, float, list[str], float] | None:
    """Post-processing of a noisy histogram (module docstring) with the margin in whole bins of
    its own grid: the first and last bin of the range, the estimated share of values inside,
    the sides that look clipped and the share's standard error; ``None`` when nothing stands
    out of the noise (``SEED_Z`` sigma)."""
    grown = _grow(y, sigma, edges)
    if grown is None:
        return None
    lo, hi, m_lo, m_hi = grown
    zero = int(np.searchsorted(edges, 0.0)) if edges is not None else -1
    for _ in range(m_hi):  # never across 0
        hi += int(hi + 1 < len(y) and hi + 1 != zero)
    for _ in range(m_lo):
        lo -= int(lo > 0 and lo != zero)
    share, sides, se = _coverage(y, sigma, lo, hi)
    return lo, hi, share, sides, se


def margin_bounds(
    edges: np.ndarray, grown: tuple[int, int, int, int], fine: np.ndarray
) -> tuple[float, float]:
    """The bounds of the grown bins ``lo..hi`` of ``edges`` with margins ``m_lo, m_hi`` taken
    on the finer public grid ``fine`` (which holds every edge of ``edges``): ``m + MARGIN_EXTRA``
    fine steps beyond each end, never beyond ``m`` whole bins of ``edges``, never across 0."""
    lo, hi, m_lo, m_hi = grown
    i_lo, i_hi = lo, hi
    zero = int(np.searchsorted(edges, 0.0))
    for _ in range(m_hi):  # the whole-bin margin, as covering_bins takes it
        i_hi += int(i_hi + 1 < len(edges) - 1 and i_hi + 1 != zero)
    for _ in range(m_lo):
        i_lo -= int(i_lo > 0 and i_lo != zero)
    k = int(np.searchsorted(fine, edges[hi + 1]))
    hi_v = min(float(fine[min(k + m_hi + MARGIN_EXTRA, len(fine) - 1)]), float(edges[i_hi + 1]))
    k = int(np.searchsorted(fine, edges[lo]))
    lo_v = max(float(fine[max(k - m_lo - MARGIN_EXTRA, 0)]), float(edges[i_lo]))
    return lo_v, hi_v


def _bounds(
    edges: np.ndarray, y: np.ndarray, sigma: float, fine: np.ndarray | None = None
) -> tuple[float, float, str, bool]:
    """Bounds, the note that goes with them and whether to warn: the grown range of the noisy
    histogram on ``edges`` with its margin on the finer public grid ``fine`` (None: whole bins
    of ``edges``); the coverage is estimated for the bins of ``edges`` wholly inside."""
    grown = _grow(y, sigma, edges)
    if grown is None:
        return float(edges[0]), float(edges[-1]), NO_BIN_NOTE, True
    if fine is None:
        i_lo, i_hi, share, sides, se = covering_bins(y, sigma, edges) or (0, 0, 0.0, [], 0.0)
        lo, hi = float(edges[i_lo]), float(edges[i_hi + 1])
    else:
        lo, hi = margin_bounds(edges, grown, fine)
        i_lo = int(np.searchsorted(edges, lo, side="left"))
        i_hi = int(np.searchsorted(edges, hi, side="right")) - 2
        share, sides, se = _coverage(y, sigma, i_lo, max(i_hi, i_lo))
    if 0 < lo <= hi / 2:  # a positive magnitude spanning a factor of 2: start at 0
        lo = 0.0
    if lo < 0 and hi < 0 and hi >= lo / 2:  # and a negative one ends at 0
        hi = 0.0
    note = COVERAGE_NOTE.format(share=share, se=se)
    low = share + se < MIN_COVERAGE
    if sides:
        note += " " + CLIPPED_NOTE.format(sides=" and ".join(sides))
    elif low:
        note += " " + LOW_COVERAGE_NOTE.format(target=MIN_COVERAGE)
    return lo, hi, note, bool(sides) or low


def _numeric_spec(
    name: str,
    counts: Callable[[np.ndarray, str | None], np.ndarray],
    kind: str,
    fmt: str | None,
    rho: float,
    bins: int,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> tuple[ColumnSpec, bool]:
    """Bounds from a plain noisy histogram on a public grid (module docstring)."""
    edges = date_grid() if kind == "datetime" else number_grid(kind == "integer")
    what = f"column {name!r}: bounds (noisy histogram on the public grid)"
    y, sigma = noisy_counts(
        lambda: counts(edges, fmt if kind == "datetime" else None),
        len(edges) - 1,
        rho,
        ledger=ledger,
        noise=noise,
        what=what,
    )
    fine = None if kind == "datetime" else number_grid(kind == "integer", MARGIN_MANTISSAS)
    lo, hi, note, warn = _bounds(edges, y, sigma, fine)
    if kind == "integer":
        lo_i, hi_i = math.floor(lo), math.ceil(hi)
        if hi_i > lo_i and hi < edges[-1]:
            hi_i -= 1  # bin [a, b) of integers holds a .. b-1 (the last bin is open: keep b)
        width = hi_i - lo_i + 1
        if width == 1 and not warn:
            note, warn = ONE_VALUE_NOTE, True
        n_bins = width if width <= UNIT_BINS_MAX else bins
        spec = ColumnSpec(name, "integer", True, lower=lo_i, upper=hi_i, bins=n_bins, note=note)
        return spec, warn
    if kind == "float":
        return ColumnSpec(name, "float", True, lower=lo, upper=hi, bins=bins, note=note), warn
    lower = pd.Timestamp(lo, unit="s").strftime(fmt)
    upper = pd.Timestamp(hi, unit="s").strftime(fmt)
    spec = ColumnSpec(
        name, "datetime", True, format=fmt, lower=lower, upper=upper, bins=bins, note=note
    )
    return spec, warn
