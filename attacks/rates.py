"""Train-vs-holdout success rates with intervals valid when outcomes share clusters, and the
simultaneous maximum over a family of such differences.

The new attacks (singling out, linkability, attribute inference per knowledge set) score each
target record ``i`` with a success ``y_i`` in [0, 1]; training targets ``T`` and holdout targets
``H`` are disjoint. The excess is ``D = mean_T(y) - mean_H(y)`` (null 0 when the synthetic data
treats members and non-members alike). Outcomes are not independent when they go through the
same synthetic row (a repeated row singles out, or bridges, several targets) or the same
combination of values, so each target carries a cluster label, and the variance is the
cluster-robust (sandwich) one of the linearised difference::

    z_i = (y_i - mean_T) / n_T  (i in T),   z_i = -(y_i - mean_H) / n_H  (i in H)
    Var(D) ~= G / (G - 1) * sum_g (sum_{i in g} z_i)^2

with ``G`` clusters; a cluster may hold training and holdout targets together, which is what
makes the comparison *paired* where they share a synthetic row. The interval is never narrower
than Newcombe's interval for two independent proportions (the variance of unclustered
outcomes), so small or rare-event rates keep a score interval's coverage.

``simultaneous_max``: for ``m`` differences each at level ``1 - alpha/m`` (Bonferroni), the true
maximum lies in [max of lower bounds, max of upper bounds] with probability at least
``1 - alpha``; the gate compares the upper end, so no member of the family can exceed a threshold
unseen.

What the gate needs to re-adjust a family (``reports/verdict.py``, one joint Bonferroni over every
sub-test of every check): where every comparison has an exact one-sided p-value against "no
leak" (the conditional test below), the family maximum's metric carries ``context["p_value"]``,
the smallest p_j scaled by the family's own Bonferroni share, min_j p_j (1 - c) / (1 - c_j), so
that the family rejects at one-sided level a exactly when p_value <= a, and
``context["test_confidence"]``, the smallest per-comparison confidence (from which the gate
stretches an interval, rather than from the family level: stretching an already-adjusted
interval by a gate factor again is stricter than Bonferroni).

``weighted_conditional_p``: the conditional test with label-free integer weights on the records
hit (T = sum of the training hits' weights), exact by a dynamic programme over weight tiers;
valid whenever the weights are functions of the synthetic table and the pooled real records
(docs/attacks.md, "Weighted conditional test", with the proof).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps
from scipy.special import gammaln

from attacks import stats
from attacks.results import Estimate, Metric
from attacks.rowkeys import sorted_inverse


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """One train-vs-holdout comparison: a label, the excess and its parts."""

    label: str
    excess: Estimate
    attack: float
    control: float
    n_attack: int
    n_control: int
    context: dict[str, float] = field(default_factory=dict)
    # exact one-sided p-value of "no leak" at this comparison alone (None: none available;
    # 1.0 for a comparison whose bounds are deterministic and cannot show a leak)
    p_value: float | None = None

    def summary(self, *, with_context: bool = True) -> dict[str, float]:
        """Rates and sizes of both sides, with the comparison's own context (a metric's context)."""
        sizes = {
            "attack": self.attack,
            "control": self.control,
            "n_attack": float(self.n_attack),
            "n_control": float(self.n_control),
        }
        return {**sizes, **self.context} if with_context else sizes

    def rates(self) -> dict[str, float]:
        """Both rates with the comparison's own context (a member metric's context)."""
        return {"attack": self.attack, "control": self.control, **self.context}

    def row(self, *, sizes: bool = False) -> dict[str, float]:
        """Rates and the excess with its interval (a row of a knowledge-set table)."""
        out = {
            "attack": self.attack,
            "control": self.control,
            "excess": self.excess.value,
            "ci_low": self.excess.ci_low,
            "ci_high": self.excess.ci_high,
        }
        if sizes:
            out.update(n_attack=self.n_attack, n_control=self.n_control)
        return out

    def metric(self, name: str, description: str) -> Metric:
        """The excess as a metric (null 0), its context :meth:`rates`."""
        return Metric(name, self.excess, description, null_value=0.0, context=self.rates())


def bonferroni(confidence: float, m: int) -> float:
    """Per-interval confidence so that ``m`` intervals hold together at ``confidence``."""
    return 1 - (1 - confidence) / max(int(m), 1)


def clustered_difference(
    y_t: np.ndarray,
    y_h: np.ndarray,
    clusters_t: np.ndarray | None,
    clusters_h: np.ndarray | None,
    confidence: float,
) -> Estimate:
    """``mean(y_t) - mean(y_h)`` with the cluster-robust interval described above.

    Cluster labels are integers shared across the two groups (None: every target its own
    cluster). The interval is widened to Newcombe's where that is wider.
    """
    y_t = np.asarray(y_t, dtype=np.float64)
    y_h = np.asarray(y_h, dtype=np.float64)
    n_t, n_h = y_t.size, y_h.size
    if n_t == 0 or n_h == 0:
        return Estimate(0.0, -1.0, 1.0, confidence, "no targets")
    m_t, m_h = float(y_t.mean()), float(y_h.mean())
    d = m_t - m_h
    lo_n, hi_n = stats.newcombe_diff(float(y_t.sum()), n_t, float(y_h.sum()), n_h, confidence)
    if clusters_t is None or clusters_h is None:
        clusters_t = np.arange(n_t)
        clusters_h = np.arange(n_t, n_t + n_h)
    z = np.concatenate([(y_t - m_t) / n_t, -(y_h - m_h) / n_h])
    _, inv = sorted_inverse(np.concatenate([clusters_t, clusters_h]))
    s = np.bincount(inv, weights=z)
    g = s.size
    var = float((s**2).sum()) * g / max(g - 1, 1)
    half = stats.z_value(confidence) * math.sqrt(max(var, 0.0))
    lo = max(min(d - half, lo_n), -1.0)
    hi = min(max(d + half, hi_n), 1.0)
    return Estimate(float(d), float(min(lo, d)), float(max(hi, d)), confidence, "cluster-robust")


def conditional_difference(
    k_t: float, n_t: int, k_h: float, n_h: int, confidence: float
) -> Estimate:
    """``k_t / n_t - k_h / n_h`` for 0/1 outcomes that are fixed given the synthetic table and
    the unordered set of real records (exact copies, singling out): the lower bound from the
    exact conditional test, the upper bound the wider of it and Newcombe's.

    Under the null the training / holdout labels are a random split of the real records, so
    given the K = k_t + k_h records hit, the number of training ones is hypergeometric (at most
    as spread as Binomial(K, n_t / N), N = n_t + n_h). Holding the pooled rate at K / N, the
    difference is d = (pi - n_t / N) K N / (n_t n_h) with pi the training share of the hits
    (exact at the estimate); a Clopper-Pearson interval for pi maps to one for d. Its lower end
    exceeds 0 exactly when the conditional (Fisher-type) test rejects, which for rare events
    (a few holdout hits against tens of training hits) has far more power than a normal
    interval: 49 of 12,800 training records vs 1 of 3,200 holdout records gives p = 2e-4
    one-sided, while Newcombe's interval corresponds to z = 3.2. At d != 0 the mapping treats
    the pooled rate as known (an approximation); the upper end, which PASS reads, is never
    narrower than Newcombe's.
    """
    newc = stats.difference(k_t, n_t, k_h, n_h, confidence)
    k = int(round(k_t + k_h))
    if k == 0 or n_t <= 0 or n_h <= 0:
        return newc
    pi_lo, pi_hi = stats.clopper_pearson(int(round(k_t)), k, confidence)
    n = n_t + n_h
    scale = k * n / (n_t * n_h)
    d = newc.value
    lo = max((pi_lo - n_t / n) * scale, -1.0)
    hi = min(max((pi_hi - n_t / n) * scale, newc.ci_high), 1.0)
    method = "conditional exact (Clopper-Pearson on the training share of the hits), Newcombe floor"
    return Estimate(float(d), float(min(lo, d)), float(max(hi, d)), confidence, method)


def conditional_p(k_t: float, n_t: int, k_h: float, n_h: int) -> float:
    """One-sided exact p-value of "no leak" for :func:`conditional_difference`'s outcomes: given
    the K = k_t + k_h records hit, the number of training ones is hypergeometric under the null
    (a random split of the N = n_t + n_h real records), so p = P(X >= k_t), X ~
    Hypergeometric(N, n_t, K). Exact (no approximation); 1.0 when nothing is hit."""
    k, x = int(round(k_t + k_h)), int(round(k_t))
    if k == 0 or x == 0 or n_t <= 0 or n_h <= 0:
        return 1.0
    return float(min(1.0, sps.hypergeom.sf(x - 1, n_t + n_h, n_t, k)))


def exact_context(k_t: float, n_t: int, k_h: float, n_h: int, confidence: float) -> dict:
    """The gate's keys for one conditional comparison gated alone: its p-value and level."""
    return {"p_value": conditional_p(k_t, n_t, k_h, n_h), "test_confidence": float(confidence)}


# the weighted test's dynamic programme holds at most this many (count, sum) cells and does at
# most this many cell updates (~1 s); beyond either the p-value is the unweighted one of the
# weighted records (a switch that reads only the hits and weights: label-free, still exact)
MAX_WEIGHTED_CELLS = 4_000_000
MAX_WEIGHTED_WORK = 1_000_000_000


def weighted_conditional_p(w_t: np.ndarray, w_h: np.ndarray, n_t: int, n_h: int) -> float:
    """One-sided exact p-value of "no leak" for the weighted count T = sum of ``w_t`` (training
    records hit, with their label-free integer weights; ``w_h``: the holdout records hit).

    Validity (the proof is in docs/attacks.md, "Weighted conditional test"). Given the synthetic
    table S and the unordered set of N = n_t + n_h real records, the records hit, R (K of
    them), and their weights w(r) are fixed as long as each w(r) is a function of S and of the
    pooled real records that does not read the labels. Under the null the training labels are a
    uniform random n_t-subset of the N records, so the labels restricted to R have the
    distribution of a uniform random n_t-subset restricted to R: T = sum_{r in R} w(r) 1[r in T]
    has a distribution fixed given (S, pooled records), and p = P(T >= t_obs) computed from it is
    exact conditionally, so also unconditionally. Computation: group R into weight tiers
    (w_l, K_l); the training counts per tier, x_l, are multivariate hypergeometric, written as a
    chain x_l | x_1..x_{l-1} ~ Hypergeometric(N - K_1 - ... - K_{l-1}, n_t - x_1 - ... , K_l).
    A dynamic programme over (training count so far, weight sum so far) carries every tier but
    the largest, whose tail is read off the hypergeometric survival function: exact, no Monte
    Carlo. Unit weights give :func:`conditional_p` exactly. Zero weights leave a record out.
    """
    w_t = np.asarray(w_t, dtype=np.int64)
    w_h = np.asarray(w_h, dtype=np.int64)
    if (w_t < 0).any() or (w_h < 0).any():
        raise ValueError("weighted_conditional_p: weights must be non-negative integers")
    t_obs = int(w_t.sum())
    w_all = np.concatenate([w_t[w_t > 0], w_h[w_h > 0]])
    if t_obs == 0 or n_t <= 0 or n_h <= 0:
        return 1.0
    tiers, sizes = np.unique(w_all, return_counts=True)
    order = np.argsort(sizes, kind="stable")  # the largest tier last (read off the tail)
    tiers, sizes = tiers[order], sizes[order]
    carried = int(sizes[:-1].sum())
    cells = (carried + 1) * (int((tiers[:-1] * sizes[:-1]).sum()) + 1)
    if tiers.size == 1 or cells > MAX_WEIGHTED_CELLS or cells * carried > MAX_WEIGHTED_WORK:
        return conditional_p(float((w_t > 0).sum()), n_t, float((w_h > 0).sum()), n_h)
    dist, n_rem = np.ones((1, 1)), n_t + n_h
    for w, k in zip(tiers[:-1].tolist(), sizes[:-1].tolist(), strict=True):
        dist = _add_tier(dist, int(w), int(k), n_rem, n_t)
        n_rem -= k
    return _last_tier_tail(dist, int(tiers[-1]), int(sizes[-1]), n_rem, n_t, t_obs)


def hypergeom_pmf_table(n_pop: int, successes: np.ndarray, k: int) -> np.ndarray:
    """P(X = x) for X ~ Hypergeometric(``n_pop``, s, ``k``), x = 0..k, one row per s in
    ``successes`` (log-gamma, vectorised; scipy's per-element pmf is ~100x slower here)."""
    x = np.arange(k + 1, dtype=np.float64)[None, :]
    s = np.asarray(successes, dtype=np.float64)[:, None]
    valid = (x <= s) & (k - x <= n_pop - s)
    with np.errstate(invalid="ignore", divide="ignore"):
        logp = _log_comb(s, x) + _log_comb(n_pop - s, k - x) - _log_comb(float(n_pop), float(k))
    return np.where(valid, np.exp(np.where(valid, logp, -np.inf)), 0.0)


def _log_comb(n: np.ndarray | float, r: np.ndarray | float) -> np.ndarray:
    return gammaln(np.add(n, 1)) - gammaln(np.add(r, 1)) - gammaln(np.subtract(n, r) + 1)


def _add_tier(dist: np.ndarray, w: int, k: int, n_rem: int, n_t: int) -> np.ndarray:
    """One tier of the chain: dist[j, s] = P(j training records so far, weight sum s) becomes
    the same after a tier of ``k`` records of weight ``w`` drawn from ``n_rem`` records."""
    n_j, n_s = dist.shape
    px = hypergeom_pmf_table(n_rem, n_t - np.arange(n_j), k)
    out = np.zeros((n_j + k, n_s + w * k))
    for xi in np.flatnonzero(px.max(axis=0) > 0):
        out[xi : xi + n_j, w * xi : w * xi + n_s] += px[:, xi, None] * dist
    return out


def _last_tier_tail(dist: np.ndarray, w: int, k: int, n_rem: int, n_t: int, t_obs: int) -> float:
    """P(T >= t_obs): the last tier's count X needs w X >= t_obs - s, X ~ Hypergeometric."""
    n_j, n_s = dist.shape
    need = np.clip(-(-(t_obs - np.arange(n_s)) // w), 0, k + 1)  # ceil((t_obs - s) / w)
    pmf = hypergeom_pmf_table(n_rem, n_t - np.arange(n_j), k)
    tail = np.zeros((n_j, k + 2))
    tail[:, : k + 1] = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]  # P(X >= m), m = 0..k+1
    tail[:, 0] = 1.0
    return float(min(1.0, max(0.0, float((dist * tail[:, need]).sum()))))


def weighted_context(
    w: np.ndarray, hit: np.ndarray, n_t: int, confidence: float
) -> dict[str, float]:
    """The gate's keys for one comparison decided by the weighted test: ``w`` the label-free
    weights of every real record (train then holdout), ``hit`` the records hit."""
    hw = np.where(np.asarray(hit, dtype=bool), np.asarray(w, dtype=np.int64), 0)
    p = weighted_conditional_p(hw[:n_t], hw[n_t:], n_t, hw.size - n_t)
    return {"p_value": p, "test_confidence": float(confidence)}


def compare_binary(
    label: str,
    y_t: np.ndarray,
    y_h: np.ndarray,
    confidence: float,
    context: dict[str, float] | None = None,
) -> Comparison:
    """A :class:`Comparison` of 0/1 outcomes with :func:`conditional_difference`'s interval
    (outcomes fixed given the synthetic table and the unordered real records)."""
    k_t, k_h = float(np.sum(y_t)), float(np.sum(y_h))
    n_t, n_h = int(len(y_t)), int(len(y_h))
    return Comparison(
        label=label,
        excess=conditional_difference(k_t, n_t, k_h, n_h, confidence),
        attack=k_t / n_t if n_t else 0.0,
        control=k_h / n_h if n_h else 0.0,
        n_attack=n_t,
        n_control=n_h,
        context=dict(context or {}),
        p_value=conditional_p(k_t, n_t, k_h, n_h),
    )


def compare(
    label: str,
    y_t: np.ndarray,
    y_h: np.ndarray,
    confidence: float,
    clusters_t: np.ndarray | None = None,
    clusters_h: np.ndarray | None = None,
    context: dict[str, float] | None = None,
) -> Comparison:
    """A :class:`Comparison` of training-target and holdout-target successes."""
    est = clustered_difference(y_t, y_h, clusters_t, clusters_h, confidence)
    return Comparison(
        label=label,
        excess=est,
        attack=float(np.mean(y_t)) if len(y_t) else 0.0,
        control=float(np.mean(y_h)) if len(y_h) else 0.0,
        n_attack=int(len(y_t)),
        n_control=int(len(y_h)),
        context=dict(context or {}),
    )


def simultaneous_max(
    comparisons: Sequence[Comparison], family_confidence: float
) -> tuple[Estimate, Comparison]:
    """The largest excess with the interval [max lower, max upper] (simultaneous, at
    ``family_confidence``) and the comparison with the largest point estimate (the worst
    knowledge set, secret or pair)."""
    if not comparisons:
        raise ValueError("simultaneous_max needs at least one comparison")
    worst = max(comparisons, key=lambda c: c.excess.value)
    est = Estimate(
        worst.excess.value,
        max(c.excess.ci_low for c in comparisons),
        max(c.excess.ci_high for c in comparisons),
        family_confidence,
        f"max over {len(comparisons)}; [max lower, max upper] of Bonferroni intervals",
    )
    return est, worst


def family_maximum(
    name: str,
    comparisons: Sequence[Comparison],
    family_confidence: float,
    describe: Callable[[Comparison], str],
    *,
    with_context: bool = True,
) -> tuple[Metric, Comparison]:
    """The family's maximum as a metric (null 0): :func:`simultaneous_max`'s estimate, the
    description ``describe(worst)``, the worst comparison's :meth:`Comparison.summary` as
    context. Returns the metric and the worst comparison."""
    est, worst = simultaneous_max(comparisons, family_confidence)
    context = {**worst.summary(with_context=with_context), **gate_keys(comparisons, est)}
    metric = Metric(name, est, describe(worst), null_value=0.0, context=context)
    return metric, worst


def gate_keys(comparisons: Sequence[Comparison], family: Estimate) -> dict[str, float]:
    """For a family of exact tests (every comparison has a p-value): ``p_value``, the smallest
    scaled by the family's Bonferroni share, min_j p_j (1 - c) / (1 - c_j) capped at 1, and
    ``test_confidence``, the smallest per-comparison confidence, for the gate's joint correction.
    Families of approximate (normal, cluster-robust) intervals get neither, so the gate keeps the
    conservative stretch from the family level for them until their nulls are measured under
    the joint rule (docs/report.md, "Multiplicity"; linkability's were, and it sets its own
    ``test_confidence``)."""
    if not all(c.p_value is not None for c in comparisons):
        return {}
    levels = [c.excess.confidence for c in comparisons]
    tail = 1.0 - family.confidence
    scaled = [
        float(c.p_value) * tail / max(1.0 - lv, 1e-300)
        for c, lv in zip(comparisons, levels, strict=True)
    ]
    return {"p_value": float(min(1.0, min(scaled))), "test_confidence": float(min(levels))}


def family_metrics(
    prefix: str,
    comparisons: Sequence[Comparison],
    family_confidence: float,
    member_text: Callable[[Comparison], str],
    max_text: Callable[[Comparison], str],
) -> tuple[list[Metric], Comparison]:
    """One ``{prefix}.{label}.excess`` metric per comparison and ``{prefix}.max_excess`` (the
    simultaneous maximum): the result shape shared by singling out and linkability."""
    metrics = [c.metric(f"{prefix}.{c.label}.excess", member_text(c)) for c in comparisons]
    top, worst = family_maximum(f"{prefix}.max_excess", comparisons, family_confidence, max_text)
    return [*metrics, top], worst


def equal_size_pools(n_t: int, n_h: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pool labels that make training and holdout records exchangeable at equal pool sizes.

    With ``m = min(n_t, n_h)``, the larger table is cut at random (seeded) into ``n // m``
    disjoint pools of ``m`` records (the remainder gets label -1 and is not used) and the smaller
    table is pool 0. Whatever depends on the size of the table a record is compared within
    (uniqueness, the number of linkage candidates) is then the same for members and non-members,
    and every pool of the larger table is used, so no signal is diluted by subsampling.
    Returns (labels for train rows, labels for holdout rows).
    """
    m = min(n_t, n_h)
    rng = np.random.default_rng([int(seed), 61])

    def cut(n: int) -> np.ndarray:
        labels = np.full(n, -1, dtype=np.int64)
        if m == 0:
            return labels
        k = n // m
        perm = rng.permutation(n)
        labels[perm[: k * m]] = np.repeat(np.arange(k), m)
        return labels

    if n_t >= n_h:
        return cut(n_t), np.zeros(n_h, dtype=np.int64)
    return np.zeros(n_t, dtype=np.int64), cut(n_h)
