"""Singling out: does the synthetic data isolate individual training records?

Design (privsynth's own, from statistical disclosure control). In SDC a record is at risk of
re-identification when its combination of key variables is *sample unique* (k-anonymity with
k = 1; sdcMicro's frequency counts ``fk``); a sample unique that stays unique on smaller subsets
of the keys is a *special unique* (Elliot, Manning and Ford 2002, SUDA), far more likely to be
unique in the population too. For a knowledge set Q (columns the attacker can observe,
:mod:`attacks.knowledge`) and a real record r (training or holdout):

    r is rare-unique on Q  <=>  f(r_Q) = 1 among all real records (train + holdout), and
                                f(r_{Q - c}) = 1 for every column c of Q but at most SLACK (1)
    r is singled out on Q  <=>  r is rare-unique on Q and some synthetic row s has s_Q = r_Q

so the synthetic row, read as "the person with these values", points at exactly one real
record, and at one whose combination a generator that generalises rarely reproduces. Measured
on Adult's declared quasi-identifiers (fresh null, 16,000 real records): a combination unique on
no 5-of-6 projection is published by a fresh sample ~60% of the time, on 3 of 6 ~20%, on 5 ~2%,
on 6 ~0.3%. Plain uniqueness therefore counts mostly chance publications (a null rate of 0.19 in
equal-size pools before), which set the width of the interval; the rare-unique records keep the
leak and drop the chance rate to ~0.1%.

Attack rate = share of training records singled out, control = share of holdout records,
excess = attack - control (null 0). Validity: uniqueness among *all* real records is a
label-free function of the unordered real records, so given the synthetic table S and that set,
each record's outcome is fixed and, under the null (S independent of which records were in
training), the training / holdout labels are a random split: the number of training records
among the K records singled out is hypergeometric. The interval's lower end is the exact
conditional test's (:func:`attacks.rates.conditional_difference`), its upper end at least
Newcombe's. Repeated synthetic rows (mode collapse) change nothing in this argument.

Multiplicity: a knowledge set enters the Bonferroni family only when at least ``MIN_RARE_SHARE``
(0.2%) of the real records are rare-unique on it (a label-free choice, so the family is fixed
given the unordered data); on the others the excess is bounded deterministically by
[-holdout share, training share] of rare-unique records (below 0.2%, under any threshold a
preset uses), so no set can exceed a threshold unseen. On Adult with declared QIs the tested
family is {all columns, declared} (the public-rule subsets of 2-4 columns have <= 0.12%).
``singling_out.max_excess`` carries [max lower, max upper].

Decision (since 2026-12-01, w7): a tested set's p-value is the weighted conditional test's
(:func:`attacks.rates.weighted_conditional_p`) over every record unique on the set whose
combination is published, weighted by its special-uniqueness degree
(:func:`special_weights`): 16 / 8 / 2 / 1 when it is unique on all / all but one / two / three
of the leave-one-out projections, 0 beyond. These are about log(1 + d / q) for Adult's fresh-null
publication rates q of the tiers (~0.3-1%, 2%, 12%, 22%) and a uniform 1% leak d, scaled to 1 at
the last tier (Neyman-Pearson weights for a leak against tier-specific chance rates). The
degrees are computed on the pooled real records, so the test is exact by the same argument as
the count's (docs/attacks.md, "Weighted conditional test"). The estimate and interval still
count rare-unique records only.

How this differs from Anonymeter's singling-out evaluator (whose procedures are patent-pending
and are *not* reproduced): no predicates or queries are generated from synthetic rows (neither
univariate nor multivariate), nothing is evaluated as a query's success rate on the original
data; the unit is a real record, the measure is SDC's sample and special uniqueness on a fixed
public set of key variables, the control is holdout records, and the interval is an exact
conditional one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from attacks import rates
from attacks.base import Attack
from attacks.errors import AttackCannotRun
from attacks.knowledge import KnowledgeSet, knowledge_sets, plus_one_sets
from attacks.results import Estimate, Metric

MAX_LISTED = 50
# leave-one-out projections on which a rare-unique record may fail to be unique
SLACK = 1
# a knowledge set enters the tested family when this share of real records is rare-unique on it
MIN_RARE_SHARE = 0.002
# weights of the weighted test by the number of leave-one-out projections on which a unique
# record is not unique (0, 1, 2, 3): roughly log(1 + d / q) for Adult's fresh-null publication
# rates q (~0.3-1%, 2%, 12%, 22%) and a 1% leak d, normalised to 1 at the last tier
TIER_WEIGHTS = (16, 8, 2, 1)
# the family of the declared quasi-identifiers plus one other column (attacks.knowledge)
PLUS_ONE_METRIC = "singling_out.plus_one.max_excess"


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


def unique_degree(real_keys: np.ndarray, loo_keys: list[np.ndarray]) -> np.ndarray:
    """Per real record: on how many of the leave-one-out projections (``loo_keys``) it is unique
    among all real records (0 for a one-column set)."""
    still = np.zeros(real_keys.size, dtype=np.int64)
    for k in loo_keys:
        still += np.bincount(k)[k] == 1
    return still


def rare_unique(real_keys: np.ndarray, loo_keys: list[np.ndarray], slack: int) -> np.ndarray:
    """Per real record: unique on the knowledge set among all real records, and still unique
    after dropping any one of its columns, for all but at most ``slack`` of them (``loo_keys``:
    the real records' keys on each leave-one-out projection; empty for a one-column set)."""
    unique = np.bincount(real_keys)[real_keys] == 1
    if not loo_keys:
        return unique
    return unique & (unique_degree(real_keys, loo_keys) >= len(loo_keys) - slack)


def special_weights(real_keys: np.ndarray, loo_keys: list[np.ndarray]) -> np.ndarray:
    """Per real record, the label-free weight of the weighted singling-out test: for a record
    unique on the knowledge set, ``TIER_WEIGHTS[i]`` where i is the number of leave-one-out
    projections on which it is *not* unique (0: a special unique), 0 beyond the tiers and for
    records that are not unique. From the pooled real records alone."""
    unique = np.bincount(real_keys)[real_keys] == 1
    missing = len(loo_keys) - unique_degree(real_keys, loo_keys)
    table = np.zeros(len(loo_keys) + 1, dtype=np.int64)
    n = min(len(TIER_WEIGHTS), table.size)
    table[:n] = TIER_WEIGHTS[:n]
    return np.where(unique, table[missing], 0)


class SinglingOutAttack(Attack):
    name = "singling_out"

    def _sets(self) -> list[KnowledgeSet]:
        d = self.data
        return knowledge_sets(d.geometry.columns, d.qi, self.config.knowledge)

    def _plus_one_sets(self, base: list[KnowledgeSet]) -> list[KnowledgeSet]:
        """:func:`attacks.knowledge.plus_one_sets` less the sets already in ``base`` and those
        whose extra column adds nothing on the real records (as many distinct combinations as
        the declared set alone: Adult's education-num, one code per education level; a
        redundant column makes every record unique on its leave-one-out projections, which
        would count common combinations as rare). A label-free choice from the pooled real
        records, like the tested-set rule, so the tests stay exact."""
        d = self.data
        seen = {frozenset(ks.columns) for ks in base}
        sets = plus_one_sets(d.geometry.columns, d.qi, d.near_unique_columns())
        sets = [ks for ks in sets if frozenset(ks.columns) not in seen]
        if not sets:
            return []
        n_r = len(d.tables["train"]) + len(d.tables["holdout"])
        declared = [c for c in d.geometry.columns if c in set(d.qi or ())]

        def distinct(cols: list[str]) -> int:
            return int(np.unique(d.row_keys.concatenated(cols)[:n_r]).size)

        floor = distinct(declared)
        return [ks for ks in sets if distinct(list(ks.columns)) > floor]

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        sets = self._sets()
        if not sets:
            raise AttackCannotRun("singling out: no knowledge set (no columns)")
        comparisons, info, exposure, tested, _ = self._family(sets)
        p_exposure = np.zeros_like(exposure)
        metrics, worst = rates.family_metrics(
            "singling_out",
            comparisons,
            self.confidence,
            lambda c: (
                f"share of training records rare-unique among the real records on knowledge "
                f"set {c.label!r} whose combination the synthetic data publishes, minus the "
                f"same for holdout records (Bonferroni over {tested} tested sets)"
            ),
            lambda w: (
                f"largest share of training records singled out beyond holdout records, "
                f"over {len(sets)} knowledge sets (worst: {w.label!r})"
            ),
        )
        details: dict[str, Any] = {
            "knowledge": info,
            "worst_knowledge": worst.label,
            "rare_unique_slack": SLACK,
            "tested_sets": tested,
        }
        plus = self._plus_one_sets(sets)
        if plus:
            p_comps, p_info, p_exposure, p_tested, own = self._family(plus)
            top, p_worst = self._plus_one_metric(p_comps, p_tested)
            # PASS reads the sets' own 95% upper bounds (intersection-union, reports/verdict.py)
            top.context["pass_upper"] = max(own)
            metrics.append(top)
            details.update(
                knowledge_plus_one=p_info,
                worst_plus_one=p_worst.label,
                tested_plus_one=p_tested,
            )
        else:
            metrics.append(_plus_one_unsupported())
        details["exposed"] = _exposed(exposure, p_exposure)
        return metrics, details

    def _family(
        self, sets: list[KnowledgeSet]
    ) -> tuple[list[rates.Comparison], dict[str, Any], np.ndarray, int, list[float]]:
        """Each set's comparison (Bonferroni over the sets tested), the per-set report rows,
        each training record's number of sets it is singled out on, the number tested, and
        each set's own upper bound at the attack's confidence (deterministic where untested)."""
        n_t = len(self.data.tables["train"])
        found = [self._singled_out(ks) for ks in sets]
        tested = sum(f[1].mean() >= MIN_RARE_SHARE for f in found)
        conf = rates.bonferroni(self.confidence, tested)
        comparisons, info, own = [], {}, []
        exposure = np.zeros(n_t, dtype=np.int64)
        for ks, (hit, rare, ctx, gate_w) in zip(sets, found, strict=True):
            if rare.mean() >= MIN_RARE_SHARE:
                comp = rates.compare_binary(ks.name, hit[:n_t], hit[n_t:], conf, ctx)
                alone = rates.compare_binary(ks.name, hit[:n_t], hit[n_t:], self.confidence, ctx)
                own.append(float(alone.excess.ci_high))
                p = rates.weighted_conditional_p(gate_w[:n_t], gate_w[n_t:], n_t, gate_w.size - n_t)
                comp = replace(
                    comp,
                    p_value=p,
                    context={**comp.context, "unweighted_p_value": comp.p_value or 1.0},
                )
            else:
                comp = _bounded(ks.name, hit, rare, n_t, conf, ctx)
                own.append(float(comp.excess.ci_high))
            exposure += hit[:n_t]
            comparisons.append(comp)
            info[ks.name] = {"columns": list(ks.columns), "rule": ks.rule, **comp.row()}
        return comparisons, info, exposure, int(tested), own

    def _plus_one_metric(
        self, comparisons: list[rates.Comparison], tested: int
    ) -> tuple[Metric, rates.Comparison]:
        return rates.family_maximum(
            PLUS_ONE_METRIC,
            comparisons,
            self.confidence,
            lambda w: (
                f"largest share of training records singled out on the declared "
                f"quasi-identifiers plus one other column beyond holdout records, over "
                f"{len(comparisons)} sets, Bonferroni over {tested} tested (worst: {w.label!r})"
            ),
        )

    def _singled_out(
        self, ks: KnowledgeSet
    ) -> tuple[np.ndarray, np.ndarray, dict[str, float], np.ndarray]:
        """Per real record (train then holdout): singled out on ``ks`` and rare-unique on it;
        with the context of the comparison, and the weighted test's weights of the records
        whose combination is published (:func:`special_weights`, 0 where not published)."""
        tr, ho, syn = (self.data.tables[t] for t in ("train", "holdout", "synthetic"))
        cols = list(ks.columns)
        n_t, n_r = len(tr), len(tr) + len(ho)
        row_keys = self.data.row_keys  # exact, cached (attacks/rowkeys.py)
        keys = row_keys.concatenated(cols)
        loo = []
        if len(cols) > 1:
            for c in cols:
                loo.append(row_keys.concatenated([x for x in cols if x != c])[:n_r])
        real = keys[:n_r]
        unique = np.bincount(real)[real] == 1
        rare = rare_unique(real, loo, SLACK)
        published = np.zeros(int(keys.max(initial=0)) + 1, dtype=bool)
        published[keys[n_r:]] = True
        hit = rare & published[real]
        gate_w = np.where(published[real], special_weights(real, loo), 0)
        ctx = {
            "unique_train": float(unique[:n_t].mean()),
            "unique_holdout": float(unique[n_t:].mean()),
            "rare_unique_train": float(rare[:n_t].mean()),
            "rare_unique_holdout": float(rare[n_t:].mean()),
            "singled_out_train": float(hit[:n_t].sum()),
            "singled_out_holdout": float(hit[n_t:].sum()),
            "n_columns": float(len(cols)),
            "weighted_train": float(gate_w[:n_t].sum()),
            "weighted_holdout": float(gate_w[n_t:].sum()),
        }
        return hit, rare, ctx, gate_w


def _bounded(
    label: str, hit: np.ndarray, rare: np.ndarray, n_t: int, conf: float, ctx: dict[str, float]
) -> rates.Comparison:
    """A knowledge set with too few rare-unique records to be tested: its excess lies between
    minus the holdout's and plus the training records' rare-unique share (deterministic bounds,
    no multiplicity cost), so no set can exceed a threshold unseen."""
    a, c = float(hit[:n_t].mean()), float(hit[n_t:].mean())
    est = Estimate(
        a - c,
        0.0 - float(rare[n_t:].mean()),  # 0.0 - 0 is 0, not -0
        float(rare[:n_t].mean()),
        conf,
        f"not tested (rare-unique share below {MIN_RARE_SHARE}); deterministic bounds",
    )
    return rates.Comparison(
        label=label,
        excess=est,
        attack=a,
        control=c,
        n_attack=n_t,
        n_control=hit.size - n_t,
        context={**ctx, "tested": 0.0},
        p_value=1.0,  # its lower bound is <= 0: it can never demonstrate a leak
    )


def _plus_one_unsupported() -> Metric:
    """The plus-one family's metric where it has no set (no quasi-identifiers declared): the
    interval [0, 1] flagged ``supported = 0``, so a check that applies ``if_supported`` is NOT
    APPLICABLE (reports/verdict.py) and one that applies ``always`` is INCONCLUSIVE, never PASS.
    Whether quasi-identifiers were declared is the user's configuration, not a fact of the data."""
    est = Estimate(0.0, 0.0, 1.0, 0.95, "not measured: no quasi-identifiers declared")
    return Metric(
        PLUS_ONE_METRIC,
        est,
        "singling out on the declared quasi-identifiers plus one other column: not measured "
        "(no quasi-identifiers declared)",
        null_value=0.0,
        context={"supported": 0.0, "needs_declared_qi": 1.0},
    )


def _exposed(exposure: np.ndarray, plus_one: np.ndarray) -> list[dict[str, int]]:
    """Training rows singled out on the most knowledge sets (positions, never values): ranked
    by the sets of the main family, then by the plus-one sets (a record singled out on every
    column outranks one singled out on several QI-plus-one sets by chance)."""
    total = exposure + plus_one
    rows = np.flatnonzero(total)
    order = rows[np.lexsort((rows, -plus_one[rows], -exposure[rows]))][:MAX_LISTED]
    return [{"row": int(r), "knowledge_sets": int(total[r])} for r in order]
