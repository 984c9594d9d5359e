"""Singling out: does the synthetic data isolate individual training records?

Design (privsynth's own, from statistical disclosure control). In SDC a record is at risk of
re-identification when its combination of key variables is *sample unique* (k-anonymity with
k = 1; sdcMicro's frequency counts ``fk``): whoever holds those values points at exactly one
person. Synthetic data singles out a record when it *publishes* such a combination. For a
knowledge set Q (columns the attacker can observe, :mod:`attacks.knowledge`) and a target
record r in a reference pool P:

    r is singled out on Q  <=>  f_P(r_Q) = 1 (r is unique on Q in its pool)
                                and some synthetic row s has s_Q = r_Q (exact equality)

so the synthetic row, read as "the person with these values", matches exactly one record of the
pool: r. The attack rate is the share of training records singled out, the control the share of
holdout records singled out. Uniqueness depends on the pool size, so pools are equal-size: the
larger table is cut into disjoint pools of the smaller one's size (:func:`attacks.rates.
equal_size_pools`), every training record is used, and under the null (synthetic data
independent of which records were in training) members and non-members are exchangeable and
the two rates have the same expectation. Excess = attack - control, null 0.

Interval: outcomes of records that share a combination depend on the same synthetic rows, so
the cluster is the combination on Q (shared across training and holdout records, which makes
the comparison paired where they coincide); see :mod:`attacks.rates`. The family of knowledge
sets is Bonferroni-corrected and ``singling_out.max_excess`` carries [max lower, max upper].

How this differs from Anonymeter's singling-out evaluator (whose procedures are patent-pending
and are *not* reproduced): no predicates or queries are generated from synthetic rows (neither
univariate nor multivariate), nothing is evaluated as a query's success rate on the original
data; the unit is a real record, the measure is SDC's sample-uniqueness (fk = 1) on a fixed
public set of key variables, the control is holdout records in pools of equal size, and the
interval is cluster-robust.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from attacks import rates
from attacks.base import Attack
from attacks.errors import AttackCannotRun
from attacks.knowledge import KnowledgeSet, knowledge_sets
from attacks.results import Metric

MAX_LISTED = 50


def combination_keys(
    matrices: list[np.ndarray],
) -> list[np.ndarray]:
    """Integer codes of each row's combination of values, consistent across the matrices
    (exact equality; NaN equals NaN). Vectorised: one hash per row, then one factorisation."""
    stacked = np.concatenate(matrices)
    frame = pd.DataFrame(stacked)
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    codes, _ = pd.factorize(hashed)
    bounds = np.cumsum([0, *[m.shape[0] for m in matrices]])
    return [codes[bounds[i] : bounds[i + 1]] for i in range(len(matrices))]


def singled_out(
    keys: np.ndarray, pools: np.ndarray, published: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per record: (unique on the key in its pool, unique and published). ``pools`` < 0: unused.
    ``published``: boolean per key code, whether some synthetic row has that combination."""
    used = pools >= 0
    width = int(keys.max(initial=0)) + 1
    cell = pools.astype(np.int64) * width + keys
    _, inv, counts = np.unique(cell, return_inverse=True, return_counts=True)
    unique = used & (counts[inv] == 1)
    return unique, unique & published[keys]


class SinglingOutAttack(Attack):
    name = "singling_out"

    def _sets(self) -> list[KnowledgeSet]:
        d = self.data
        return knowledge_sets(d.geometry.columns, d.qi, self.config.knowledge)

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        d = self.data
        sets = self._sets()
        if not sets:
            raise AttackCannotRun("singling out: no knowledge set (no columns)")
        pools_t, pools_h = rates.equal_size_pools(
            len(d.tables["train"]), len(d.tables["holdout"]), d.seed
        )
        conf = rates.bonferroni(self.confidence, len(sets))
        comparisons, info = [], {}
        exposure = np.zeros(len(d.tables["train"]), dtype=np.int64)
        for ks in sets:
            comp, hit_t = self._compare(ks, pools_t, pools_h, conf)
            exposure += hit_t
            comparisons.append(comp)
            info[ks.name] = {"columns": list(ks.columns), "rule": ks.rule, **comp.row()}
        m = len(sets)
        metrics, worst = rates.family_metrics(
            "singling_out",
            comparisons,
            self.confidence,
            lambda c: (
                f"share of training records unique on knowledge set {c.label!r} whose "
                f"combination the synthetic data publishes, minus the same for holdout records "
                f"(Bonferroni over {m})"
            ),
            lambda w: (
                f"largest share of training records singled out beyond holdout records, "
                f"over {m} knowledge sets (worst: {w.label!r})"
            ),
        )
        details = {
            "knowledge": info,
            "worst_knowledge": worst.label,
            "exposed": _exposed(exposure),
            "pools": int(max(pools_t.max(initial=0), pools_h.max(initial=0)) + 1),
        }
        return metrics, details

    def _compare(
        self, ks: KnowledgeSet, pools_t: np.ndarray, pools_h: np.ndarray, conf: float
    ) -> tuple[rates.Comparison, np.ndarray]:
        """Training vs holdout records singled out on one knowledge set; with the per-training-
        record hits (for the exposure count)."""
        tr, ho, syn = (self.data.tables[t] for t in ("train", "holdout", "synthetic"))
        cols = list(ks.columns)
        k_t, k_h, k_s = combination_keys(
            [tr.value_matrix(cols), ho.value_matrix(cols), syn.value_matrix(cols)]
        )
        width = int(max(k_t.max(initial=0), k_h.max(initial=0), k_s.max(initial=0))) + 1
        published = np.bincount(k_s, minlength=width) > 0
        uniq_t, hit_t = singled_out(k_t, pools_t, published)
        uniq_h, hit_h = singled_out(k_h, pools_h, published)
        use_t, use_h = pools_t >= 0, pools_h >= 0
        ctx = {
            "unique_train": float(uniq_t[use_t].mean()),
            "unique_holdout": float(uniq_h[use_h].mean()),
            "singled_out_train": float(hit_t.sum()),
            "singled_out_holdout": float(hit_h.sum()),
            "n_columns": float(len(cols)),
        }
        comp = rates.compare(ks.name, hit_t[use_t], hit_h[use_h], conf, k_t[use_t], k_h[use_h], ctx)
        return comp, hit_t


def _exposed(exposure: np.ndarray) -> list[dict[str, int]]:
    """Training rows singled out on the most knowledge sets (positions, never values)."""
    rows = np.flatnonzero(exposure)
    order = rows[np.lexsort((rows, -exposure[rows]))][:MAX_LISTED]
    return [{"row": int(r), "knowledge_sets": int(exposure[r])} for r in order]
