"""Linkability: can the synthetic data join two sources about the same training record?

Design (privsynth's own, from record linkage). An attacker holds two sources about a population:
one with columns A of each person, one with the disjoint columns B (say a register of
demographics and a leaked table of purchases), and wants to know which row of the second source
belongs to a given row of the first. Synthetic rows that carry both parts of a real record are
a *bridge* between the sources. For a target r in a pool P of real records (the second source):

1. **bridge**: the synthetic rows whose A-part equals r's A-part exactly (the attacker reads the
   synthetic table as "people with these A-values have these B-values");
2. **link**: the candidates are the records of P whose B-part equals the B-part of some bridge
   (deterministic exact-agreement record linkage, the simplest Fellegi-Sunter decision rule:
   agreement on every compared field); the linker picks one candidate uniformly at random.

Success is the probability of a correct link: 1 / (number of candidates) when r is a candidate
(some synthetic row carries r's A-part and B-part together), else 0, and it counts only for an
**eligible** target: one no other real record (train and holdout together) equals on A and B
(sample unique on the pair's columns, as sdcMicro's f_k = 1). A correct link to a record with a
real twin discloses nothing about one person, and natural links (a population row equal to a
record on every linked column by chance) concentrate on shared combinations; the leak's signal
is on unique records. Eligibility is decided on the pooled real records, never on which of them
are members, so training and holdout targets stay exchangeable under the null (2026-12-01, w7:
fresh-null upper bounds median 0.0036 -> 0.0029, same leak estimates). Pools are equal-size (the
larger table cut into disjoint pools of the smaller one's size, :func:`attacks.rates.
equal_size_pools`; every record is a target), so chance success is the same for members and
non-members; the attack rate is over training targets, the control over holdout targets,
excess = attack - control (null 0). Exact agreement makes the attack O(n) with hashing and
independent of any distance; it does not see near-copies with perturbed numbers (the
distance-based attacks and DCR's tolerant copies do).

Columns. The pairs come from :func:`attacks.knowledge.knowledge_pairs` with the near-unique
number columns left out (:func:`attacks.knowledge.near_unique_columns`, decided on the real
records only: more than 1,000 distinct values, or more than half as many as records). Exact
agreement on a measurement such as Adult's survey weight happens only for verbatim copies, and
every public-rule pair on Adult contained it, so the attack saw nothing but copies; without it
the declared pair links a leak that joins a record's demographics with its work and income
(the catalogue's ``linkage`` leak). Which columns are left out is reported in
``details["near_unique_left_out"]`` (none when fewer than two columns would remain).

Interval: targets with the same A-combination share their bridges (a repeated synthetic row
links all of them or none), so the cluster is the A-combination, shared between training and
holdout targets (paired where they coincide); cluster-robust variance with Newcombe's interval
as a floor (:mod:`attacks.rates`), Bonferroni over the column pairs; ``linkability.max_excess``
carries [max lower, max upper], the per-pair level (``test_confidence``, for the gate's joint
correction) and the largest of the pairs' own upper bounds at the attack's confidence
(``pass_upper``: what a PASS reads, an intersection-union test; reports/verdict.py).

How this differs from Anonymeter's linkability evaluator (patent-pending; not reproduced): we
search no nearest neighbours and never compare the sets of synthetic neighbours found on A and
on B. The synthetic rows are used as bridges only, and the attack ends in a real linkage
decision among the records of an equal-size pool, scored as the probability of a correct link;
every real record is a target and the control is holdout pools of the same size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from attacks import rates
from attacks.base import Attack
from attacks.errors import AttackCannotRun
from attacks.knowledge import KnowledgePair, knowledge_pairs
from attacks.results import Metric
from attacks.rowkeys import RowMatches

MAX_LISTED = 50


def link_credit(
    a_target: np.ndarray,
    b_target: np.ndarray,
    pool_target: np.ndarray,
    b_pool: np.ndarray,
    pool_of: np.ndarray,
    a_syn: np.ndarray,
    b_syn: np.ndarray,
) -> np.ndarray:
    """Credit of the exact-equality linker for each target (see the module docstring).

    Keys are integer combination codes shared across tables. The synthetic rows with the
    target's A-combination are its bridges; their B-combinations name the candidates: every
    record of the target's pool (``pool_of``: pool label of each pool record, ``b_pool``: its
    B-key) whose B-combination some bridge carries. The linker picks one uniformly, so the
    credit is 1 / (number of candidates) when the target is one of them, else 0.
    """
    bridges = pd.DataFrame({"a": a_syn, "b": b_syn}).drop_duplicates()
    pool_counts = (
        pd.DataFrame({"p": pool_of, "b": b_pool})
        .groupby(["p", "b"], sort=False)
        .size()
        .rename("n")
        .reset_index()
    )
    cand = (
        bridges.merge(pool_counts, on="b", how="inner")
        .groupby(["p", "a"], sort=False)["n"]
        .sum()
        .rename("candidates")
        .reset_index()
    )
    targets = pd.DataFrame({"p": pool_target, "a": a_target, "b": b_target})
    bridged = targets.merge(bridges.assign(own=1), on=["a", "b"], how="left")["own"]
    count = targets.merge(cand, on=["p", "a"], how="left")["candidates"]
    own = bridged.notna().to_numpy()
    n = count.fillna(0).to_numpy(dtype=np.float64)
    return np.where(own & (n > 0), 1.0 / np.maximum(n, 1.0), 0.0)


class LinkabilityAttack(Attack):
    name = "linkability"

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        d = self.data
        pairs, skip = self._pairs()
        tr, ho = d.tables["train"], d.tables["holdout"]
        pools_t, pools_h = rates.equal_size_pools(len(tr), len(ho), d.seed)
        use_t, use_h = pools_t >= 0, pools_h >= 0
        conf = rates.bonferroni(self.confidence, len(pairs))
        comparisons, info, own = [], {}, []
        credit_t = np.zeros(len(tr))
        for pair in pairs:
            (y_t, a_t), (y_h, a_h) = self._credits(pair, pools_t, pools_h)
            credit_t += y_t
            ctx = {"n_left": float(len(pair.left)), "n_right": float(len(pair.right))}
            args = (y_t[use_t], y_h[use_h])
            comp = rates.compare(pair.name, *args, conf, a_t[use_t], a_h[use_h], ctx)
            comparisons.append(comp)
            single = rates.clustered_difference(*args, a_t[use_t], a_h[use_h], self.confidence)
            own.append(single.ci_high)  # this pair's own upper bound (no Bonferroni)
            info[pair.name] = {
                "left": list(pair.left),
                "right": list(pair.right),
                "rule": pair.rule,
                **comp.row(),
            }
        m = len(pairs)
        metrics, worst = rates.family_metrics(
            "linkability",
            comparisons,
            self.confidence,
            lambda c: (
                f"share of training records linked correctly across the column pair "
                f"{c.label!r} through their nearest synthetic row, minus the same for holdout "
                f"records (Bonferroni over {m})"
            ),
            lambda w: (
                f"largest share of training records correctly linked across two column "
                f"subsets through the synthetic data, beyond holdout records, over {m} pairs "
                f"(worst: {w.label!r})"
            ),
        )
        # The family is a Bonferroni over m normal-based (cluster-robust, Newcombe-widened)
        # intervals at ``conf`` each: the gate's joint correction stretches from that level
        # (docs/report.md, "Multiplicity"). No null can FAIL this check under any correction:
        # the null estimates stay below the threshold (benchmarks/results/, w6).
        metrics[-1].context["test_confidence"] = float(conf)
        # PASS reads the pairs' own upper bounds (intersection-union, reports/verdict.py)
        metrics[-1].context["pass_upper"] = float(max(own))
        details = {
            "pairs": info,
            "worst_knowledge": worst.label,
            "near_unique_left_out": skip,
            "n_targets": {"train": int(use_t.sum()), "holdout": int(use_h.sum())},
            "exposed": _exposed(credit_t),
        }
        return metrics, details

    def _pairs(self) -> tuple[list[KnowledgePair], list[str]]:
        """The column pairs, with the near-unique columns (decided on the real records) left
        out unless fewer than two columns would remain; raises :class:`AttackCannotRun` when
        no pair is left."""
        d = self.data
        skip = d.near_unique_columns()  # none when fewer than two columns would remain
        pairs = knowledge_pairs(d.geometry.columns, d.qi, self.config.knowledge, exclude=skip)
        if not pairs:
            raise AttackCannotRun("linkability: needs at least two columns")
        return pairs, skip

    def _credits(
        self, pair: KnowledgePair, pools_t: np.ndarray, pools_h: np.ndarray
    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(credit, A-key) of every training and every holdout record for one column pair;
        credit 0 for a target that is not unique on A and B together among the real records
        (eligible targets, module docstring)."""
        left, right = list(pair.left), list(pair.right)
        keys = self.data.row_keys  # exact keys over (train, holdout, synthetic), cached
        a_t, a_h, a_s = keys.keys(left)
        b_t, b_h, b_s = keys.keys(right)
        both = RowMatches.of(keys, [*left, *right])
        out = []
        for a, b, pools, eligible in (
            (a_t, b_t, pools_t, both.unique_train),
            (a_h, b_h, pools_h, both.unique_holdout),
        ):
            used = pools >= 0
            credit = np.zeros(a.size)
            credit[used] = link_credit(
                a[used], b[used], pools[used], b[used], pools[used], a_s, b_s
            )
            out.append((np.where(eligible, credit, 0.0), a))
        return out[0], out[1]


def _exposed(credit: np.ndarray) -> list[dict[str, float]]:
    """Training rows linked with the most credit over the pairs (positions, never values)."""
    rows = np.flatnonzero(credit > 0)
    order = rows[np.lexsort((rows, -credit[rows]))][:MAX_LISTED]
    return [{"row": int(r), "link_credit": round(float(credit[r]), 4)} for r in order]
