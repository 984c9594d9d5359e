"""What a copy check can see at this size: the smallest verbatim-copy leak it FAILs with 80%
probability, so that a PASS or INCONCLUSIVE says what it does not rule out.

Why. A PASS of ``exact-copies`` says the share of training records copied beyond chance is at
most the tolerance (0.0015 in ``standard``) with 97.5% confidence. It does not say that a smaller
leak would be caught: at 3,200 holdout records the gate FAILs 0.3% verbatim copies in 12 of 20
calibration seeds and 0.1% in none (docs/report.md, "Calibration"; an oracle that knows the
leak does no better, ``benchmarks/gate_power_bound.py``). A reviewer needs that resolution for
the data in hand, so the check's explanation carries it.

Model (the check's own test, prospectively). n_T training and n_H holdout records; chance copies
of unique records at the rate c that the holdout shows, c = max(k_H, 1/2) / n_H (k_H holdout
records copied; a half record when none is, so that the rate is never 0). A leak copies m
training records verbatim: the training records copied are m + Bin(n_T - m, c), the holdout
ones Bin(n_H, c). The gate FAILs (``fail = "significant"``) when the exact conditional p-value
P(X >= x), X ~ Hypergeometric(n_T + n_H, n_T, x + y), is at most the check's level (its share
of the gate's one-sided error; computed as its binomial limit, whose tail is the larger, so the
figure errs towards a larger leak) and the estimate x / n_T - y / n_H exceeds the threshold. The
power at m sums the two binomials over their support (tails below 1e-9 dropped); it grows with m,
so the smallest m with power >= 0.8 is found by bisection. The test the gate runs also weights
the records by rarity (attacks/exact_match.py), which this model leaves out, so the figure is
approximate: at the calibration's sizes (12,800 / 3,200, 2 holdout records copied, level
0.00375, threshold 0.0015) it predicts power 0.67 for 38 copies, where 12 of 20 seeds FAILed;
over 100 seeds at 4,000, 8,000 and 16,000 real rows it is never above the real check's FAIL rate
(benchmarks/copy_resolution.py), so the printed figure is conservative.

Near copies (``near-copies``, ``exact_match.near_copy_excess``) are the same test on the records
that some synthetic row reproduces on all columns but one, with the holdout's near-copy count as
the chance rate, so the same model gives their resolution (checked against the real check in
the same benchmark, ``--kind near``).

Privacy: the figure is a function of the private tables (n_T, n_H, k_H), like every audit figure
of the report (not DP; docs/privacy.md). The explanation prints it as a share of the training
records rounded to two significant digits, never a record count.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from attacks.results import Metric

POWER = 0.8
TAIL = 1e-9
# the copy metrics of one test (attacks/exact_match.py: _excess): the holdout count that sets the
# chance rate, and what a leak of that kind reproduces
COPY_METRICS = {
    "exact_match.excess": ("unique_holdout_records_copied", "verbatim copies"),
    "exact_match.near_copy_excess": (
        "holdout_records_near_copied",
        "near copies (identical on all columns but one)",
    ),
}


def critical_counts(
    n_t: int, n_h: int, level: float, threshold: float, ys: np.ndarray
) -> np.ndarray:
    """For each holdout count y, the smallest training count x that the check FAILs: the
    estimate x / n_T - y / n_H above ``threshold`` and the p-value at most ``level``. The
    conditional p-value P(X >= x), X ~ Hypergeometric(n_T + n_H, n_T, x + y), is read as its
    Binomial(x + y, n_T / (n_T + n_H)) limit (the records hit are a small share of the real
    ones; the binomial tail is the larger, so the figure errs towards a larger leak). The
    p-value falls as x grows with y fixed, so a vectorised bisection finds the smallest x."""
    q = n_t / (n_t + n_h)
    # lo: the estimate rule fails there (x / n_T - y / n_H <= threshold), so lo is never FAILed;
    # hi: every training record copied (beyond it nothing is reachable: the power term is 0)
    lo = np.maximum(np.floor(n_t * (threshold + ys / n_h)).astype(np.int64), 0)
    hi = np.maximum(np.full(ys.shape, n_t, dtype=np.int64), lo + 1)
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        good = sps.binom.sf(mid - 1, mid + ys, q) <= level
        hi = np.where(good, mid, hi)
        lo = np.where(good, lo, mid)
    return hi


def copy_detection_power(
    m: int, n_t: int, n_h: int, chance: float, level: float, threshold: float
) -> float:
    """P(the check FAILs) when ``m`` training records are copied verbatim (module docstring):
    the holdout count over its support (tails below 1e-9 dropped), and for each the chance that
    m + Bin(n_T - m, c) reaches its critical training count."""
    y_lo = int(sps.binom.ppf(TAIL, n_h, chance))
    y_hi = int(sps.binom.ppf(1 - TAIL, n_h, chance)) + 1
    ys = np.arange(max(y_lo - 1, 0), y_hi + 1)
    x_star = critical_counts(n_t, n_h, level, threshold, ys)
    reach = sps.binom.sf(x_star - m - 1, n_t - m, chance)  # P(m + Bin(n_t - m, c) >= x*)
    return float((sps.binom.pmf(ys, n_h, chance) * reach).sum())


def detectable_copies(
    n_t: int, n_h: int, chance: float, level: float, threshold: float, power: float = POWER
) -> int | None:
    """The smallest number of verbatim copies FAILed with probability >= ``power`` (None when
    not even a copy of every training record reaches it)."""
    if copy_detection_power(n_t, n_t, n_h, chance, level, threshold) < power:
        return None
    lo, hi = 0, n_t  # power(lo) < power <= power(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if copy_detection_power(mid, n_t, n_h, chance, level, threshold) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def copy_inputs(metric: Metric) -> tuple[int, int, float] | None:
    """(n_T, n_H, chance rate c) of a copy metric (``COPY_METRICS``; c from the holdout's count,
    module docstring), or None when the metric is not one of them or lacks its counts."""
    ctx = metric.context
    if metric.name not in COPY_METRICS:
        return None
    held = COPY_METRICS[metric.name][0]
    if any(k not in ctx for k in ("n_train", "n_holdout", held)):
        return None
    n_t, n_h = int(ctx["n_train"]), int(ctx["n_holdout"])
    if n_t < 1 or n_h < 1:
        return None
    return n_t, n_h, max(float(ctx[held]), 0.5) / n_h


def copy_resolution(metric: Metric, threshold: float, level: float) -> str | None:
    """The sentence a copy check's explanation carries (``COPY_METRICS``), or None when the
    metric is not one of them or lacks its counts."""
    inputs = copy_inputs(metric)
    if inputs is None:
        return None
    n_t, n_h, chance = inputs
    what = COPY_METRICS[metric.name][1]
    m = detectable_copies(n_t, n_h, chance, level, threshold)
    if m is None:
        return f"at this size no leak of {what} is FAILed with 80% probability"
    share = f"{100 * m / n_t:.2g}%"
    return (
        f"at this size it FAILs {what} of about {share} of the training records or more with "
        f"80% probability; smaller such leaks can pass unseen (reports/resolution.py)"
    )
