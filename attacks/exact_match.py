"""Exact copies: share of synthetic rows identical to a training row vs to a holdout row.

Rows are hashed (64-bit, all columns, NaN canonicalised), so every record is checked in linear
time. Train and holdout are compared at equal size (``AuditData.train_rows``/``holdout_rows``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attacks import stats
from attacks.base import Attack
from attacks.geometry import row_hashes
from attacks.results import Metric

MAX_LISTED = 100


class ExactMatchAttack(Attack):
    name = "exact_match"

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        d = self.data
        cols = d.geometry.columns
        h_train_all = row_hashes(d.tables["train"], cols)
        h_train = h_train_all[d.train_rows]
        h_hold = row_hashes(d.tables["holdout"], cols)[d.holdout_rows]
        h_syn = row_hashes(d.tables["synthetic"], cols)
        m = h_syn.size
        in_train = np.isin(h_syn, h_train)
        in_hold = np.isin(h_syn, h_hold)
        k_t, k_h = int(in_train.sum()), int(in_hold.sum())
        copied_all = np.isin(h_train_all, h_syn)  # every training row, not only the used ones
        conf = self.confidence
        ctx = {
            "n_synthetic": float(m),
            "n_reference": float(d.n_used),
            "synthetic_in_train": float(k_t),
            "synthetic_in_holdout": float(k_h),
            "training_rows_copied_all": float(copied_all.sum()),
            "n_train_all": float(h_train_all.size),
        }
        metrics = [
            Metric(
                "exact_match.train_rate",
                stats.proportion(k_t, m, "wilson", conf),
                "share of synthetic rows identical to some training row",
                null_value=None,
                context=ctx,
            ),
            Metric(
                "exact_match.holdout_rate",
                stats.proportion(k_h, m, "wilson", conf),
                "share of synthetic rows identical to some holdout row (control)",
                null_value=None,
                context=ctx,
            ),
            Metric(
                "exact_match.excess",
                stats.difference(k_t, m, k_h, m, conf),
                "train_rate - holdout_rate",
                null_value=0.0,
                context={**ctx, "binomial_p": _excess_test(in_train, in_hold)},
            ),
        ]
        rows = np.flatnonzero(copied_all)[:MAX_LISTED]
        details = {"copied_training_rows": [int(r) for r in rows]}
        return metrics, details


def _excess_test(in_train: np.ndarray, in_hold: np.ndarray) -> float:
    """Sign test on discordant synthetic rows (in train only vs in holdout only)."""
    a = int((in_train & ~in_hold).sum())
    b = int((in_hold & ~in_train).sum())
    return stats.binomial_test(a, a + b)
