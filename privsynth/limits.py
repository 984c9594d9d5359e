"""Documented caps that keep a run's memory plausible, checked at the edge before any work.

Every cap here is an ``InputError`` (exit 2) raised *before* a table is read into a model or any
privacy budget is spent, so a typo such as ``--rows 1e9`` or ``"bins": 1000000000`` ends in one
line instead of a kernel OOM kill.

Caps (all public constants; docs/reliability.md lists them):

- ``MAX_SAMPLE_ROWS`` (10 million): the most synthetic rows one run samples. The sampled codes are
  ``rows x columns`` int64 and the decoded table a column of objects each, so 10M rows of 15
  columns is about 2.4 GB at peak.
- ``MAX_BINS`` (10,000): the most bins of one numeric or datetime column.
- ``MAX_COLUMN_CODES`` (100,000): the most codes (categories, bins, "other", NA) of one column;
  every method measures at least the one-way marginal of each column.
- ``MIN_EPSILON`` (1e-6): the epsilon floor, derived below.

The epsilon floor. The cheapest meaningful statistic of a table is its row count (sensitivity 1
under add/remove-one). Spending the *whole* budget on that one count with the Gaussian mechanism
at zCDP ``rho`` gives noise of standard deviation ``sigma = 1 / sqrt(2 rho)``, where ``rho`` is the
largest zCDP budget whose CKS conversion is at most ``(epsilon, delta)``. Every real synthesizer
spends less than the whole budget on the count, so its count is noisier still. A release says
nothing when even that best-case count cannot tell an empty table from the largest table privsynth
samples: ``sigma(epsilon, delta) > MAX_SAMPLE_ROWS``. At the default delta (1e-9) that happens
below epsilon ~ 2.7e-7; the floor is the next power of ten up, ``1e-6`` (sigma ~ 2.8e6 rows there,
~ 2.0e7 at 1e-7). A larger delta buys some zCDP budget by itself (at delta 1e-3 the CKS
conversion gives sigma ~ 606 even as epsilon goes to 0), which is one more reason delta must stay
far below 1/rows; the floor is applied whatever the delta.
``tests/test_limits.py`` recomputes
the derivation with the project's own accounting, so a change to either breaks a test.
"""

from __future__ import annotations

import math
from typing import Any

from privsynth.errors import InputError

MAX_SAMPLE_ROWS = 10_000_000
MAX_BINS = 10_000
MAX_COLUMN_CODES = 100_000
MIN_EPSILON = 1e-6


def count_noise_sd(epsilon: float, delta: float) -> float:
    """Noise s.d. of one count (sensitivity 1) given the whole (epsilon, delta) budget as zCDP."""
    from privsynth.privacy.accounting import epsilon_to_rho

    return 1.0 / math.sqrt(2.0 * epsilon_to_rho(epsilon, delta))


def check_epsilon(epsilon: float, *, what: str = "epsilon") -> None:
    """Refuse an epsilon below MIN_EPSILON (nothing meaningful can be released; module doc)."""
    if isinstance(epsilon, int | float) and math.isfinite(epsilon) and 0 < epsilon < MIN_EPSILON:
        raise InputError(
            f"{what} {epsilon:g} is below the floor {MIN_EPSILON:g}: even the row count alone "
            f"would carry noise of s.d. above {MAX_SAMPLE_ROWS:,} rows, so nothing meaningful "
            "can be released (see docs/privacy.md); use a larger epsilon"
        )


def check_rows(rows: Any, *, what: str = "--rows") -> int:
    """A positive whole number of rows, at most MAX_SAMPLE_ROWS; returns it as an int."""
    if isinstance(rows, bool) or not _is_whole(rows) or int(rows) < 1:
        raise InputError(f"{what} must be a positive integer, got {rows!r}")
    if int(rows) > MAX_SAMPLE_ROWS:
        raise InputError(
            f"{what} {int(rows):,} is above the limit of {MAX_SAMPLE_ROWS:,} rows per run; "
            "sample in several runs or give a smaller --rows"
        )
    return int(rows)


def check_bins(bins: Any, *, what: str = "--bins") -> int:
    """A positive whole number of bins, at most MAX_BINS."""
    if isinstance(bins, bool) or not _is_whole(bins) or int(bins) < 1:
        raise InputError(f"{what} must be a positive integer, got {bins!r}")
    if int(bins) > MAX_BINS:
        raise InputError(f"{what} {int(bins):,} is above the limit of {MAX_BINS:,} bins per column")
    return int(bins)


def check_column_codes(n_codes: int, *, where: str) -> None:
    """A column's domain (codes including 'other' and NA) of at most MAX_COLUMN_CODES."""
    if n_codes > MAX_COLUMN_CODES:
        raise InputError(
            f"{where}: {n_codes:,} codes is above the limit of {MAX_COLUMN_CODES:,} per column; "
            'merge rare values (e.g. "other": true) or use fewer bins'
        )


def clip_noisy_rows(total: float) -> tuple[int, str]:
    """The default sample size from a noisy count: ``round(total)`` clipped to [1, MAX_SAMPLE_ROWS].

    Clipping is post-processing (no privacy cost); the second value is a warning (empty if none).
    """
    if not math.isfinite(total) or total > MAX_SAMPLE_ROWS:
        return MAX_SAMPLE_ROWS, (
            f"the noisy row count {total:.4g} is above the limit of {MAX_SAMPLE_ROWS:,}; "
            f"sampling {MAX_SAMPLE_ROWS:,} rows (give --rows to choose)"
        )
    return max(int(round(total)), 1), ""


def _is_whole(x: Any) -> bool:
    try:
        return isinstance(x, int) or (float(x).is_integer() and math.isfinite(float(x)))
    except (TypeError, ValueError, OverflowError):
        return False
