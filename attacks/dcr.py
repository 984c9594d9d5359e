"""Distance to closest record: is a synthetic row closer to the training set than to the holdout?

For every synthetic row s: d_T(s) (nearest used training row) and d_H(s) (nearest holdout row),
at equal sizes. The share P(d_T < d_H), ties split, is 0.5 when the generator learned nothing
specific to the training rows. Its interval is cluster-robust (synthetic rows whose nearest real
record is the same are one cluster), never narrower than Wilson's; a sign test on the untied rows
gives the binomial p-value. The nearest-neighbour distance ratio (NNDR = d1/d2) compares how
isolated the match is. The worst-case view lists, per training row, its closest synthetic row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attacks import stats
from attacks.base import Attack
from attacks.results import Estimate, Metric

N_BINS = 30
N_CLOSEST = 25


def _nndr(d: np.ndarray) -> np.ndarray:
    d1, d2 = d[:, 0], d[:, 1] if d.shape[1] > 1 else d[:, 0]
    out = np.zeros_like(d1)
    ok = d2 > 0
    out[ok] = d1[ok] / d2[ok]
    return out


def _median_ratio(pairs: np.ndarray) -> np.ndarray:
    """pairs (..., n, 2): median of column 0 / median of column 1 along n."""
    a = np.median(pairs[..., 0], axis=-1)
    b = np.median(pairs[..., 1], axis=-1)
    return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.where(a > 0, np.inf, 1.0))


class DCRAttack(Attack):
    name = "dcr"

    def __init__(self, *args: Any, tie_tol: float = 1e-9, n_boot: int = 300, **kw: Any):
        super().__init__(*args, **kw)
        self.tie_tol = tie_tol
        self.n_boot = n_boot

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        d = self.data
        conf = self.confidence
        dt, it = d.neighbors("synthetic", "train", 2)
        dh, ih = d.neighbors("synthetic", "holdout", 2)
        t1, h1 = dt[:, 0], dh[:, 0]
        tie = np.abs(t1 - h1) <= self.tie_tol
        closer = (t1 < h1) & ~tie
        y = closer + 0.5 * tie
        n = y.size
        # cluster = nearest real record (train rows 0..n_used-1, holdout rows offset)
        cluster = np.where(t1 <= h1, it[:, 0], ih[:, 0] + d.n_used)
        share = stats.cluster_mean(y, cluster, conf)
        n_untied = int((~tie).sum())
        p_binom = stats.binomial_test(int(closer.sum()), n_untied)
        nndr_t, nndr_h = _nndr(dt), _nndr(dh)
        ratio = stats.bootstrap(
            _median_ratio,
            np.column_stack([nndr_t, nndr_h]),
            n_boot=self.n_boot,
            seed=d.seed,
            confidence=conf,
            max_rows=50_000,
        )
        ratio = _finite(ratio)
        ctx = {
            "n_synthetic": float(n),
            "n_reference": float(d.n_used),
            "ties": float(tie.sum()),
            "closer_to_train": float(closer.sum()),
            "binomial_p": p_binom,
            "median_d_train": float(np.median(t1)),
            "median_d_holdout": float(np.median(h1)),
        }
        metrics = [
            Metric(
                "dcr.share_closer_to_train",
                share,
                "P(d(s, train) < d(s, holdout)) over synthetic rows s, ties split",
                null_value=0.5,
                context=ctx,
            ),
            Metric(
                "dcr.nndr_ratio",
                ratio,
                "median NNDR to train / median NNDR to holdout",
                null_value=1.0,
                higher_is_riskier=False,
                context={
                    "median_nndr_train": float(np.median(nndr_t)),
                    "median_nndr_holdout": float(np.median(nndr_h)),
                },
            ),
        ]
        finite = np.concatenate([t1, h1])
        hi = float(np.quantile(finite, 0.99)) if finite.size else 1.0
        edges = np.linspace(0.0, max(hi, 1e-9), N_BINS + 1)
        ht, _ = np.histogram(np.clip(t1, 0, hi), edges)
        hh, _ = np.histogram(np.clip(h1, 0, hi), edges)
        details: dict[str, Any] = {
            "histogram": {
                "edges": [float(e) for e in edges],
                "train": [int(v) for v in ht],
                "holdout": [int(v) for v in hh],
            },
            "closest": self._closest(),
        }
        return metrics, details

    def _closest(self) -> list[dict[str, float]]:
        """Worst-case view: the training rows with the closest synthetic record (row indices
        into the training table and synthetic table, distances, and the row's distance to its
        nearest holdout row for scale)."""
        d = self.data
        dist, idx = d.neighbors("train", "synthetic", 1)
        order = np.argsort(dist[:, 0], kind="stable")[:N_CLOSEST]
        rows = d.train_rows[d.query_rows("train")]
        return [
            {
                "row": int(rows[i]),
                "synthetic_row": int(idx[i, 0]),
                "distance": float(dist[i, 0]),
            }
            for i in order
        ]


def _finite(e: Estimate) -> Estimate:
    big = 1e6
    v, lo, hi = (min(x, big) for x in (e.value, e.ci_low, e.ci_high))
    return Estimate(v, lo, hi, e.confidence, e.method)
