"""Intervals: Wilson, Clopper-Pearson (two- and one-sided), Newcombe differences, DeLong AUC,
cluster-robust means and excesses, the row bootstrap and the Poisson cluster bootstrap, and the
epsilon implied by a membership test's (TPR, FPR)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from scipy import stats

from attacks.results import Estimate
from attacks.rowkeys import sorted_inverse

CONFIDENCE = 0.95


@functools.lru_cache(maxsize=256)
def z_value(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence`` (cached: scipy's ppf costs ~0.1 ms a
    call, and an audit makes ~2,000 calls at a handful of levels)."""
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _clip(x: float, lo: float, hi: float) -> float:
    return float(min(max(x, lo), hi))


def wilson(k: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (k may be fractional, e.g. ties split)."""
    if n <= 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denom
    return _clip(centre - half, 0, 1), _clip(centre + half, 0, 1)


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial proportion."""
    if n <= 0:
        return 0.0, 1.0
    a = 1 - confidence
    lo = 0.0 if k <= 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k >= n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def newcombe_diff(
    k1: float, n1: int, k2: float, n2: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of p1 - p2 for two independent proportions."""
    p1, p2 = (k1 / n1 if n1 else 0.0), (k2 / n2 if n2 else 0.0)
    l1, u1 = wilson(k1, n1, confidence)
    l2, u2 = wilson(k2, n2, confidence)
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return _clip(lo, -1, 1), _clip(hi, -1, 1)


def binomial_test(k: int, n: int, p: float = 0.5) -> float:
    """Two-sided exact binomial test p-value (1.0 when n == 0)."""
    if n <= 0:
        return 1.0
    return float(stats.binomtest(int(k), int(n), p).pvalue)


def proportion(
    k: float, n: int, method: str = "wilson", confidence: float = CONFIDENCE
) -> Estimate:
    """A proportion with its interval (``wilson`` or ``clopper-pearson``)."""
    value = k / n if n else 0.0
    if method == "clopper-pearson":
        lo, hi = clopper_pearson(int(round(k)), n, confidence)
    else:
        lo, hi = wilson(k, n, confidence)
    return Estimate(float(value), min(lo, value), max(hi, value), confidence, method)


def difference(k1: float, n1: int, k2: float, n2: int, confidence: float = CONFIDENCE) -> Estimate:
    """p1 - p2 with Newcombe's interval."""
    d = (k1 / n1 if n1 else 0.0) - (k2 / n2 if n2 else 0.0)
    lo, hi = newcombe_diff(k1, n1, k2, n2, confidence)
    return Estimate(float(d), min(lo, d), max(hi, d), confidence, "newcombe")


def cluster_mean(y: np.ndarray, clusters: np.ndarray, confidence: float = CONFIDENCE) -> Estimate:
    """Mean of ``y`` with a cluster-robust (sandwich) normal interval.

    Observations sharing a cluster (e.g. synthetic rows with the same nearest real record) are
    not independent; summing residuals per cluster before squaring accounts for that.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n == 0:
        return Estimate(0.0, 0.0, 1.0, confidence, "cluster-robust")
    m = float(y.mean())
    _, inv = sorted_inverse(clusters)
    s = np.bincount(inv, weights=y - m)
    g = s.size
    var = float((s**2).sum()) / (n * n) * (g / max(g - 1, 1))
    # never narrower than the binomial interval of independent rows
    var = max(var, m * (1 - m) / n)
    half = z_value(confidence) * math.sqrt(var)
    return Estimate(m, _clip(m - half, 0, 1), _clip(m + half, 0, 1), confidence, "cluster-robust")


def auc_delong(
    pos: np.ndarray, neg: np.ndarray, confidence: float = CONFIDENCE, se_floor: float = 0.0
) -> Estimate:
    """ROC AUC of scores (positives should score higher), ties half, with DeLong's interval
    (its standard error at least ``se_floor``: a caller's bootstrap of a dependence DeLong does
    not see; the method then reads "delong + bootstrap")."""
    pos = np.asarray(pos, dtype=np.float64)
    neg = np.asarray(neg, dtype=np.float64)
    m, n = pos.size, neg.size
    if m == 0 or n == 0:
        return Estimate(0.5, 0.0, 1.0, confidence, "delong")
    r_all = stats.rankdata(np.concatenate([pos, neg]))
    r_pos = stats.rankdata(pos)
    r_neg = stats.rankdata(neg)
    auc = (r_all[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (r_all[:m] - r_pos) / n
    v01 = 1 - (r_all[m:] - r_neg) / m
    var = (v10.var(ddof=1) if m > 1 else 0.0) / m + (v01.var(ddof=1) if n > 1 else 0.0) / n
    se = math.sqrt(max(var, 0.0))
    method = "delong + bootstrap" if se_floor > se else "delong"
    half = z_value(confidence) * max(se, se_floor)
    return Estimate(
        float(auc), _clip(auc - half, 0, 1), _clip(auc + half, 0, 1), confidence, method
    )


def weighted_auc(pos: np.ndarray, w_pos: np.ndarray, neg: np.ndarray, w_neg: np.ndarray) -> float:
    """ROC AUC with integer weights (bootstrap multiplicities), ties half: the AUC of the
    scores each repeated by its weight, in O((m + n) log n)."""
    # the sums run over whole tie groups, so the order within ties is irrelevant: numpy's
    # default (SIMD) argsort, ~6x faster than the stable one on 26k float64 scores. Every sum
    # is of integers and half-integers below 2^53, so exact in any order: scores of weight 0
    # (about e^-1 of a bootstrap resample) are dropped before sorting, the result unchanged.
    neg, w_neg = _weighted_only(neg, w_neg)
    pos, w_pos = _weighted_only(pos, w_pos)
    order = np.argsort(neg)
    s, c = neg[order], np.concatenate([[0.0], np.cumsum(w_neg[order], dtype=np.float64)])
    by = np.argsort(pos)  # sorted needles: searchsorted twice as fast
    pos, w_pos = pos[by], w_pos[by]
    below = c[np.searchsorted(s, pos, side="left")]
    tied = c[np.searchsorted(s, pos, side="right")] - below
    total = float(w_pos.sum()) * c[-1]
    return float((w_pos * (below + 0.5 * tied)).sum() / total) if total > 0 else 0.5


def _weighted_only(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``w`` without the entries of weight 0 (the arrays themselves when none)."""
    if w.all():
        return x, w
    keep = w != 0
    return x[keep], w[keep]


def bootstrap(
    statistic: Callable[[np.ndarray], np.ndarray],
    data: np.ndarray,
    *,
    n_boot: int = 500,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    max_rows: int = 200_000,
) -> Estimate:
    """Percentile bootstrap of ``statistic`` over the rows of ``data``.

    ``statistic`` receives a (B, n) array of resampled values (or (B, n, ...) ) and returns B values;
    resamples are drawn in batches so memory stays bounded. Above ``max_rows`` rows, each resample
    has ``max_rows`` rows and the spread is rescaled by sqrt(max_rows / n) (m-out-of-n bootstrap).
    """
    rng = np.random.default_rng(seed)
    data = np.asarray(data)
    n = data.shape[0]
    point = float(statistic(data[None, ...])[0])
    if n < 2:
        return Estimate(point, point, point, confidence, "bootstrap")
    size = min(n, max_rows)
    batch = max(1, 2_000_000 // size)
    vals: list[np.ndarray] = []
    done = 0
    while done < n_boot:
        b = min(batch, n_boot - done)
        idx = rng.integers(0, n, size=(b, size))
        vals.append(np.asarray(statistic(data[idx]), dtype=np.float64))
        done += b
    boot = np.concatenate(vals)
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return Estimate(point, point, point, confidence, "bootstrap")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [a, 1 - a])
    scale = math.sqrt(size / n)
    lo = point - (point - lo) * scale if lo <= point else point
    hi = point + (hi - point) * scale if hi >= point else point
    return Estimate(point, float(lo), float(hi), confidence, "bootstrap")


def cluster_excess(
    y: np.ndarray, clusters: np.ndarray, null: float, confidence: float = CONFIDENCE
) -> Estimate:
    """mean(y) - ``null`` for y in [0, 1], with a cluster-robust (sandwich) normal interval,
    never narrower than the binomial interval of independent rows (as :func:`cluster_mean`)."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n == 0:
        return Estimate(0.0, -1.0, 1.0, confidence, "cluster-robust")
    m = float(y.mean())
    _, inv = sorted_inverse(clusters)
    s = np.bincount(inv, weights=y - m)
    g = s.size
    var = float((s**2).sum()) / (n * n) * (g / max(g - 1, 1))
    half = z_value(confidence) * math.sqrt(max(var, m * (1 - m) / n))
    d = m - null
    return Estimate(d, _clip(d - half, -1, 1), _clip(d + half, -1, 1), confidence, "cluster-robust")


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Median of ``values`` (n,) under each row of ``weights`` (B, n): the smallest value whose
    cumulative weight reaches half the total (vectorised over B)."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    cw = np.cumsum(weights[:, order], axis=1)
    half = cw[:, -1:] / 2.0
    pos = (cw < half).sum(axis=1)
    return v[np.minimum(pos, v.size - 1)]


def cluster_bootstrap(
    statistic: Callable[[np.ndarray], np.ndarray],
    clusters: np.ndarray,
    *,
    n_boot: int = 300,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    batch: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson cluster bootstrap: each cluster gets an independent Poisson(1) weight shared by
    all of its rows; ``statistic`` maps (B, n) row weights to B values. Resampling whole
    clusters (e.g. the synthetic rows sharing a nearest real record) keeps their dependence.
    Returns (the B finite bootstrap values, the percentile interval ends)."""
    rng = np.random.default_rng(seed)
    _, inv = sorted_inverse(clusters)
    g = int(inv.max()) + 1 if inv.size else 0
    vals: list[np.ndarray] = []
    for s in range(0, n_boot, batch):
        b = min(batch, n_boot - s)
        w = rng.poisson(1.0, size=(b, g)).astype(np.float64)[:, inv]
        vals.append(np.asarray(statistic(w), dtype=np.float64))
    boot = np.concatenate(vals) if vals else np.zeros(0)
    boot = boot[np.isfinite(boot)]
    a = (1 - confidence) / 2
    ends = np.quantile(boot, [a, 1 - a]) if boot.size else np.array([-np.inf, np.inf])
    return boot, ends


def clopper_pearson_one_sided(k: int, n: int, alpha: float) -> tuple[float, float]:
    """One-sided exact bounds at level ``alpha`` each: P(p < lower) <= alpha, P(p > upper) <=
    alpha."""
    if n <= 0:
        return 0.0, 1.0
    lo = 0.0 if k <= 0 else float(stats.beta.ppf(alpha, k, n - k + 1))
    hi = 1.0 if k >= n else float(stats.beta.ppf(1 - alpha, k + 1, n - k))
    return lo, hi


EPS_CAP = 20.0


def epsilon_from_rates(tpr: float, fpr: float, delta: float) -> float:
    """The epsilon an (epsilon, delta)-DP mechanism needs for a test with these rates:
    max(log((TPR - delta) / FPR), log((1 - FPR - delta) / (1 - TPR))), 0 when neither is
    defined, capped at ``EPS_CAP``."""
    out = 0.0
    if tpr - delta > 0:
        out = max(out, EPS_CAP if fpr <= 0 else math.log((tpr - delta) / fpr))
    if 1 - fpr - delta > 0:
        out = max(out, EPS_CAP if tpr >= 1 else math.log((1 - fpr - delta) / (1 - tpr)))
    return float(min(out, EPS_CAP))
