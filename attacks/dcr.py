"""Distance to closest record: is a synthetic row's nearest real record more often a training one?

Share. For every synthetic row s, d_T(s) is the distance to the nearest record of the FULL
training table and d_H(s) to the nearest record of the full holdout. Under the null (s
independent of the real records, which are exchangeable) the nearest of the n_T + n_H real
records is equally likely to be any of them, so P(d_T < d_H) = p0 = n_T / (n_T + n_H). A row
scores the share of training records among all real records at its nearest distance: 1 for a
train-side win, 0 for a holdout-side win, and on a tie (d_T = d_H) n_T(s) / (n_T(s) + n_H(s)),
the tied records' training share (:func:`tied_train_share`), whose null expectation is p0
exactly (the tied records' labels are a random split). A fixed score p0 per tie, used until
2026-12-02, is biased upwards when several records tie (NLTCS fresh nulls: mean excess 0.018,
docs/attacks.md). The gated ``dcr.excess`` is mean(score) - p0 (null 0), size-free: a
synthetic row on top of a training record scores 1 whatever the split. Its interval is
cluster-robust: synthetic rows whose nearest real record has the same values are one cluster
(repeated rows of a mode-collapsed generator all point at the same record; identical real
records are one record content, whichever of them the search returns:
:func:`record_clusters`), never narrower than the binomial interval. ``dcr.share_closer_to_train`` (null p0) is the same share, reported.

NNDR. The nearest-neighbour distance ratio d1/d2 is computed against the seeded equal-size
subsamples (its distribution depends on the base size through ties). ``dcr.nndr_ratio`` =
median NNDR to train / median NNDR to holdout (null 1; NNDR as a distance-ratio privacy check
after Zhao et al. 2021, CTAB-GAN, who report percentiles; here the median). Its interval is a
Poisson cluster bootstrap over real records: every synthetic row is clustered with its nearest
real record's content (train subsample or holdout), and a cluster's rows share one bootstrap
weight.

Tolerant copies (``dcr.tolerant_copy_excess``, gated). The share above is a property of the
synthetic rows and moves by only (1 - p0) per leaked row: 3% of the synthetic rows jittered
copies of training records (age +-1, hours +1..2, fnlwgt +-3%) raise it by 0.006, inside its
null noise. The record-side view counts real records instead: record r is *tolerantly copied*
when some synthetic row equals it on every categorical column and lies within
max(``COPY_TOLERANCE`` x |x|, grain) of each of its numbers x (grain: the column's resolution
among the real records, 1 for integer columns; a datetime within ``COPY_TOLERANCE`` of the real
range; missing only matches missing; :func:`attacks.geometry.tolerant_matches`), and r is *tolerance-unique*: no other real record
(train + holdout) lies within that tolerance of it, so the copy points at r alone (the
uniqueness of statistical disclosure control, sdcMicro's frequency counts, with a numeric
tolerance as in Gower's agreement on numbers). The excess is the share of training records
tolerantly copied minus the share of holdout records (null 0, size-free: every record of both
tables). Whether a record counts is a function of its own values, the pooled real records and
the synthetic table, so under the null (the generator never used the split) the training share
of the records that count is hypergeometric: the lower bound is the exact conditional one, the
upper bound the wider of it and Newcombe's (:func:`attacks.rates.compare_binary`, as for exact
copies). Measured on Adult (12,800 / 3,200, tolerance 0.05): 96% of the records are
tolerance-unique, 2.2-2.8% of them are tolerantly copied by a fresh population sample; the 3%
jitter leak raises the training share by 0.023 (z about 7) where the row-side share moved by
0.005.

No sign test is reported: its p-value would assume independent synthetic rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from attacks import rates, stats
from attacks.base import Attack
from attacks.config import AuditConfig
from attacks.context import AuditData
from attacks.geometry import EncodedTable, TooManyPairs, copy_tolerances, tolerant_matches
from attacks.neighbors import NeighborIndex
from attacks.results import Estimate, Metric

N_BINS = 30
N_CLOSEST = 25
# Relative tolerance of a tolerant copy: the relative numeric tolerance of attribute inference's
# default (AttributeSettings.tolerance). Fixed, never fitted to a leak.
COPY_TOLERANCE = 0.05


def tolerant_copies(d: AuditData, confidence: float) -> rates.Comparison:
    """Training vs holdout records tolerantly copied by the synthetic table, counted over the
    tolerance-unique records (see the module docstring), with the conditional exact interval.
    Where the candidate windows are too many (:class:`attacks.geometry.TooManyPairs`: dense
    tables with no continuous column) a seeded uniform sample of the real records is scored,
    the same for both sides, so the comparison stays exchangeable."""
    tr, ho, syn = (d.tables[t] for t in ("train", "holdout", "synthetic"))
    geo = d.geometry
    real = EncodedTable(
        np.zeros((len(tr) + len(ho), 0), np.float32),
        {c: np.concatenate([tr.values[c], ho.values[c]]) for c in geo.columns},
    )
    tols = copy_tolerances(geo, real.values, COPY_TOLERANCE)
    rows = np.arange(len(real))
    rng = np.random.default_rng([d.seed, 11])
    while True:
        query = EncodedTable(real.X[rows], {c: v[rows] for c, v in real.values.items()})
        try:
            unique = tolerant_matches(query, real, geo, tols, count=True) == 1
            copied = tolerant_matches(query, syn, geo, tols)
            break
        except TooManyPairs:
            rows = np.sort(rng.choice(rows, size=max(rows.size // 4, 1), replace=False))
    y = copied & unique
    side = rows < len(tr)
    ctx = {
        "tolerance": COPY_TOLERANCE,
        "scored_records": float(rows.size),
        "unique_train": float(unique[side].mean()) if side.any() else 0.0,
        "unique_holdout": float(unique[~side].mean()) if (~side).any() else 0.0,
        "copied_train_records": float(y[side].sum()),
        "copied_holdout_records": float(y[~side].sum()),
    }
    return rates.compare_binary("tolerant copies", y[side], y[~side], confidence, ctx)


def record_clusters(
    d: AuditData, train_side: np.ndarray, nearest_train: np.ndarray, nearest_holdout: np.ndarray
) -> np.ndarray:
    """Per synthetic row, the cluster of its nearest real record: the record's exact row key on
    every audited column (:mod:`attacks.rowkeys`, shared by train and holdout), so identical
    real records are one cluster whichever of them a search returns (a tie between duplicates is
    broken by index order, or by an IVF probe, and a label by index would split one content into
    several clusters and understate the variance on duplicate-heavy tables such as NLTCS).
    ``nearest_train`` / ``nearest_holdout`` are row positions in the FULL training / holdout
    tables; ``train_side`` says which of the two is the row's nearest record."""
    key_t, key_h, _ = d.row_keys.keys(list(d.geometry.columns))
    return np.where(train_side, key_t[nearest_train], key_h[nearest_holdout])


def tied_train_share(d: AuditData, tie: np.ndarray, dmin: np.ndarray, tol: float) -> np.ndarray:
    """Per tied synthetic query row (``tie``: its nearest training and holdout records are
    equally far, ``dmin``), the share of training records among ALL real records at that
    distance (within ``tol``): n_T(s) / (n_T(s) + n_H(s)). Under the null the labels of those
    records are a random split of the pooled real records, so its expectation is
    n_T / (n_T + n_H) exactly, however many records tie (a fixed p0 per tie is biased upwards
    when several records tie: with two, E = p0^2 + p0 (1 - p0^2 - (1 - p0)^2) > p0).
    Identical query rows are counted once; a side's count is read from a k-nearest search
    whose k grows fourfold while every returned neighbour is within the distance."""
    if not tie.any():  # no index is built for nothing (at scale an IVF index trains k-means)
        return np.zeros(0)
    q = d.query_matrix("synthetic")[tie].astype(np.float64)
    codes = d.query_codes("synthetic")[tie]
    lim = dmin[tie] + tol
    _, first, inv = np.unique(
        np.column_stack([q, codes, lim]), axis=0, return_index=True, return_inverse=True
    )
    q, codes, lim = q[first], codes[first], lim[first]
    n_t = _count_within(d.index("train_all"), q, codes, lim)
    n_h = _count_within(d.index("holdout_all"), q, codes, lim)
    share = n_t / np.maximum(n_t + n_h, 1)
    return share[inv.ravel()]


def _count_within(
    index: NeighborIndex, q: np.ndarray, codes: np.ndarray, lim: np.ndarray, k: int = 32
) -> np.ndarray:
    """Base rows within ``lim`` of each query row (at least the nearest, which ties)."""
    counts = np.zeros(q.shape[0], dtype=np.int64)
    todo, n = np.arange(q.shape[0]), len(index)
    while todo.size:
        k = min(k, n)
        dist, _ = index.search(q[todo], k, query_codes=codes[todo] if codes.size else None)
        c = (dist <= lim[todo, None]).sum(axis=1)
        more = (c == k) & (k < n)
        counts[todo[~more]] = np.maximum(c[~more], 1)
        todo, k = todo[more], 4 * k
    return counts


def _nndr(d: np.ndarray) -> np.ndarray:
    d1, d2 = d[:, 0], d[:, 1] if d.shape[1] > 1 else d[:, 0]
    out = np.zeros_like(d1)
    ok = d2 > 0
    out[ok] = d1[ok] / d2[ok]
    return out


def _ratio(a: float, b: float) -> float:
    if b > 0:
        return float(a / b)
    return math.inf if a > 0 else 1.0


class DCRAttack(Attack):
    name = "dcr"

    def __init__(self, data: AuditData, config: AuditConfig | None = None) -> None:
        super().__init__(data, config)
        self.tie_tol = self.config.dcr.tie_tol
        self.n_boot = self.config.dcr.n_boot

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        d = self.data
        d.require_rows(self.name)
        conf = self.confidence
        d.fuse_distance_searches()
        # the NNDR needs 2 neighbours in the equal-size view; where that view is the whole
        # table (no subsample), one 2-neighbour search serves both
        for name in ("train", "holdout"):
            if d.canonical(name).endswith("_all"):
                d.neighbors("synthetic", name, 2)
        dt, it = d.neighbors("synthetic", "train_all", 1)
        dh, ih = d.neighbors("synthetic", "holdout_all", 1)
        t1, h1 = dt[:, 0], dh[:, 0]
        n_t, n_h = d.size("train_all"), d.size("holdout_all")
        p0 = n_t / (n_t + n_h)
        tie = np.abs(t1 - h1) <= self.tie_tol
        closer = (t1 < h1) & ~tie
        y = closer.astype(np.float64)
        y[tie] = tied_train_share(d, tie, np.minimum(t1, h1), self.tie_tol)
        cluster = record_clusters(d, t1 <= h1, it[:, 0], ih[:, 0])
        excess = stats.cluster_excess(y, cluster, p0, conf)
        share = Estimate(
            excess.value + p0,
            max(excess.ci_low + p0, 0.0),
            min(excess.ci_high + p0, 1.0),
            conf,
            excess.method,
        )
        ctx = {
            "n_synthetic": float(y.size),
            "n_train": float(n_t),
            "n_holdout": float(n_h),
            "null_share": p0,
            "ties": float(tie.sum()),
            "closer_to_train": float(closer.sum()),
            "clusters": float(np.unique(cluster).size),
            "median_d_train": float(np.median(t1)),
            "median_d_holdout": float(np.median(h1)),
        }
        tol = tolerant_copies(d, conf)
        metrics = [
            *_share_metrics(excess, share, ctx),
            self._nndr_metric(),
            tol.metric(
                "dcr.tolerant_copy_excess",
                f"share of training records (tolerance-unique among the real records) that a "
                f"synthetic row reproduces with every category equal and every number within "
                f"{COPY_TOLERANCE:.0%} (or its resolution), minus the same for holdout records",
            ),
        ]
        return metrics, {"histogram": _histogram(t1, h1), "closest": self._closest()}

    def _nndr_metric(self) -> Metric:
        ratio, nndr_t, nndr_h = self._nndr_ratio()
        return Metric(
            "dcr.nndr_ratio",
            ratio,
            "median NNDR to train / median NNDR to holdout (equal-size subsamples)",
            null_value=1.0,
            higher_is_riskier=False,
            context={
                "median_nndr_train": float(np.median(nndr_t)),
                "median_nndr_holdout": float(np.median(nndr_h)),
            },
        )

    def _nndr_ratio(self) -> tuple[Estimate, np.ndarray, np.ndarray]:
        """Median-NNDR ratio at equal sizes with its cluster-bootstrap interval."""
        d = self.data
        dt, it = d.neighbors("synthetic", "train", 2)
        dh, ih = d.neighbors("synthetic", "holdout", 2)
        nndr_t, nndr_h = _nndr(dt), _nndr(dh)
        cluster = record_clusters(
            d, dt[:, 0] <= dh[:, 0], d.train_rows[it[:, 0]], d.holdout_rows[ih[:, 0]]
        )
        point = _ratio(np.median(nndr_t), np.median(nndr_h))

        def stat(w: np.ndarray) -> np.ndarray:
            a = stats.weighted_median(nndr_t, w)
            b = stats.weighted_median(nndr_h, w)
            return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.where(a > 0, np.inf, 1.0))

        _, (lo, hi) = stats.cluster_bootstrap(
            stat, cluster, n_boot=self.n_boot, seed=d.seed, confidence=self.confidence
        )
        est = Estimate(
            point,
            float(min(lo, point)),
            float(max(hi, point)),
            self.confidence,
            "cluster-bootstrap",
        )
        return _finite(est), nndr_t, nndr_h

    def _closest(self) -> list[dict[str, float]]:
        """Worst-case view: the training rows with the closest synthetic record (row indices
        into the training table and synthetic table, distances, and the row's distance to its
        nearest holdout row for scale)."""
        d = self.data
        dist, idx = d.neighbors("train_all", "synthetic", 1)
        order = np.argsort(dist[:, 0], kind="stable")[:N_CLOSEST]
        rows = d.original_rows("train_all")
        return [
            {
                "row": int(rows[i]),
                "synthetic_row": int(idx[i, 0]),
                "distance": float(dist[i, 0]),
            }
            for i in order
        ]


def _share_metrics(excess: Estimate, share: Estimate, ctx: dict[str, float]) -> list[Metric]:
    return [
        Metric(
            "dcr.excess",
            excess,
            "share of synthetic rows whose nearest real record is a training record, minus "
            "its no-leak value n_T / (n_T + n_H); a tie counts the training share of the tied records",
            null_value=0.0,
            context=ctx,
        ),
        Metric(
            "dcr.share_closer_to_train",
            share,
            "P(d(s, train) < d(s, holdout)) over synthetic rows s, full tables, a tie counting "
            "the training share of the tied records; no-leak value n_T / (n_T + n_H)",
            null_value=ctx["null_share"],
            context=ctx,
        ),
    ]


def _histogram(t1: np.ndarray, h1: np.ndarray) -> dict[str, list[Any]]:
    """Distances to the nearest training / holdout record of every synthetic row, binned on
    [0, 99th percentile] (larger values in the last bin)."""
    finite = np.concatenate([t1, h1])
    hi = float(np.quantile(finite, 0.99)) if finite.size else 1.0
    edges = np.linspace(0.0, max(hi, 1e-9), N_BINS + 1)
    ht, _ = np.histogram(np.clip(t1, 0, hi), edges)
    hh, _ = np.histogram(np.clip(h1, 0, hi), edges)
    return {
        "edges": [float(e) for e in edges],
        "train": [int(v) for v in ht],
        "holdout": [int(v) for v in hh],
    }


def _finite(e: Estimate) -> Estimate:
    """A ratio's estimate clipped to [0, 1e6], so JSON can hold it (an empty bootstrap gives
    the widest interval, [0, 1e6]: nothing can be decided from it)."""
    big = 1e6
    v, lo, hi = (min(max(x, 0.0), big) for x in (e.value, e.ci_low, e.ci_high))
    return Estimate(v, lo, hi, e.confidence, e.method)
