"""Exact and near copies, as shares of real records reproduced: training vs holdout.

For every record r of the full training table T and the full holdout table H:

* copied(r) = 1 when some synthetic row equals r on every column and r is unique among the
  real records (no other training or holdout record has the same values). Copying a common
  pattern (e.g. one of NLTCS's frequent rows) identifies nobody, and it is the common patterns
  that a fresh sample reproduces by chance: restricting to unique records leaves the leak
  signal (nearly every Adult record is unique) and removes most of the chance rate, which sets
  the width of the interval (with 3,200 holdout records one chance copy alone puts the
  holdout share's upper bound at 0.0017). All-record counts are in the context;
* near(r) = 1 when copied(r), or when some synthetic row equals r on at least d - ``max_differ``
  of the d columns ("k of d columns identical", k = d - max_differ; ``max_differ = 1`` by
  default) and those k columns identify r among the real records (no other training or holdout
  record has the same values on them). Requiring the identifying projection keeps the no-leak
  rate low (records that differ only in a common pattern, e.g. every column but an ID-like
  number, match by chance), so the interval is narrow and one changed column cannot hide a
  copy. A left-out column set counts only when at least ``min_identifying`` (0.99) of the real
  records are unique on the remaining columns (decided on train + holdout alone, never on the
  synthetic table): leaving out an ID-like column (Adult's ``fnlwgt``) leaves columns on which
  unrelated records coincide, so that pass is skipped and listed in the details.

The gated statistics are the excesses p_T - p_H of the share of training records reproduced over
the share of holdout records reproduced. They are size-free: a leak of m training records moves
p_T by m / n_T whatever n_H is, whereas comparing synthetic rows with equal-size subsamples of
train and holdout shrinks a leak by n_used / n_T.

Validity. Given the synthetic table S, copied(r) is a fixed function of r. Under the null
(S independent of the real records, which are exchangeable draws of the population) the training
indicators are i.i.d. Bernoulli(q_S) and so are the holdout indicators, with the same q_S, and
the two samples are independent given S. (The uniqueness condition of near(r) makes the
indicators depend weakly on the other real records; it is a symmetric function of them, so
E[p_T - p_H] = 0 still holds exactly under the null, and the measured null false-alarm rate is
in docs/attacks.md.) Newcombe's hybrid score interval for a difference of
independent proportions is therefore valid conditionally on S, so also unconditionally, however
S is built: repeated synthetic rows (mode collapse) or natural duplicates among the real records
do not break it (a duplicate is just another i.i.d. draw). The synthetic-row rates (share of
synthetic rows equal to a training / holdout row) are reported for reading, not gated: they come
from the same synthetic rows (paired), cluster when rows repeat, and scale with n_T / n_H.

Interval (since 2026-12-01): the lower end of both excesses comes from the exact conditional
test (:func:`attacks.rates.conditional_difference`): under the null the K records copied split
between train and holdout like a random split of the real records, which for a handful of
chance copies has far more power than a normal interval (0.3% of the rarest training records
copied: FAIL 3/3 seeds instead of 1/2); the upper end is at least Newcombe's.

Decision (since 2026-12-01, w7): the gate's exact p-value of both excesses
(``context["p_value"]``) is the rarity-weighted conditional test's
(:func:`attacks.rates.weighted_conditional_p`): T = sum of w(r) over the training records hit,
w(r) = 4..7 by the quartile of r's independence-model rarity among the pooled real records
(:func:`rarity_weights`). The weights read train and holdout only concatenated, so given S and
the unordered real records they are fixed and the null distribution of T is that of a uniform
random split: exact (proof in docs/attacks.md, "Weighted conditional test"). One more record
hit (>= 4) outweighs a rarer tier on one record (<= 3), so the count dominates and rarity
breaks its ties: a generator reproduces common records by chance, a leak copies any record.
``context["unweighted_p_value"]`` keeps the count's own p-value; the interval is unchanged.

Partial copies (``exact_match.partial_copy_excess``): a training record whose demographic and
work columns are joined in one synthetic row, the other columns drawn afresh, agrees with it on
10 of Adult's 15 columns and is invisible to both measures above. For each of ``PARTIAL_SETS``
(20) public-rule random column subsets of ceil(``PARTIAL_SHARE`` x d) = ceil(2d/3) columns
(:func:`attacks.knowledge.partial_copy_sets`: drawn by a generator seeded with the SHA-256 of
the column names, never by the data or the audit seed), partial(r) = some synthetic row equals r
on the subset and r is unique on it among the real records; the metric is the largest excess
over the subsets with Bonferroni intervals ([max lower, max upper]). A fixed subset family
cannot know which columns a leak keeps: with 20 subsets of 10 of 15 columns, a leak of 10
columns is matched exactly by a subset with probability 1 - (1 - 1/3003)^20 ~ 0.7%, but
subsets that miss only columns the leak's fresh values often agree on by chance (capital gain
and loss, mostly 0; native country, mostly US) still see it: 10% linkage leak FAIL 3/3, 3%
INCONCLUSIVE. 20 more hash passes: +0.6 s CPU on full Adult.

Isolated copies (``exact_match.isolated_copy_excess``, 2026-12-02): the key columns K are every
column but the near-unique numbers (:meth:`attacks.context.AuditData.near_unique_columns`,
decided on train + holdout only; every column when fewer than two would remain). A real record
r is isolated when no other real record agrees with it on all of K but at most one column
(unique on K and on each K - {c}: :func:`attacks.singling_out.rare_unique` with no slack);
isolated_copy(r) = r is isolated and some synthetic row equals r on K. The linkage leak above
draws the survey weight afresh, and the other columns it draws (capital gain and loss, native
country) agree with its record by chance in ~61% of its rows; ~46% of Adult's records are
isolated, so ~28% of the leak counts, while a fresh sample reproduces on K only ~5 of 3,200
isolated holdout records (plain uniqueness on K: ~140, 88% of records): the signal halves, the
noise falls five-fold. Validity as for near(r): given S, isolation is a symmetric function
of the unordered real records, so the conditional test stays exact. |K| more hash passes.

Rows are matched by exact integer keys (attacks/rowkeys.py; NaN equals NaN): d + 1 key passes
for ``max_differ = 1`` (one per left-out column), linear time and memory. Counts reported: distinct training records copied,
training records unique on all columns (among train and holdout), and how many of those unique
records are copied (copying a unique record is what identifies a person).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats as sps

from attacks import rates, stats
from attacks.base import Attack
from attacks.config import AuditConfig
from attacks.context import AuditData
from attacks.errors import AttackCannotRun
from attacks.knowledge import partial_copy_sets
from attacks.results import Estimate, Metric
from attacks.rowkeys import RowKeys
from attacks.singling_out import rare_unique

MAX_LISTED = 100
# leave-out column sets above this many hash passes are refused (max_differ too large)
MAX_PASSES = 2_000
# partial copies: this many public-rule random column subsets of ceil(PARTIAL_SHARE x d) columns
PARTIAL_SETS = 20
PARTIAL_SHARE = 2 / 3


# rarity weights of the copy tests: RARITY_TIERS quantile tiers of a record's independence-model
# rarity among the pooled real records, weights RARITY_TIERS .. 2 RARITY_TIERS - 1
RARITY_TIERS = 4
# a column with more distinct values than this share of the real records is ID-like: no rarity
ID_LIKE_SHARE = 0.5


def rarity_weights(row_keys: RowKeys, columns: list[str], n_real: int) -> np.ndarray:
    """Per pooled real record (train then holdout), the label-free weight of the weighted copy
    tests (:func:`attacks.rates.weighted_conditional_p`): RARITY_TIERS + its quantile tier
    (0 .. RARITY_TIERS - 1) of the independence-model rarity sum_c -log f_c(r_c) / N, f_c the
    frequency of r's value of column c among the N pooled real records, over the columns that
    are not ID-like (more distinct values than ID_LIKE_SHARE N). Computed from the pooled
    records alone, never from which of them are training records."""
    score = np.zeros(n_real)
    for c in columns:
        k = row_keys.digits(c)[0][:n_real]  # the column's cached codes, no new key
        counts = np.bincount(k)
        if np.count_nonzero(counts) > ID_LIKE_SHARE * n_real:
            continue
        score -= np.log(counts[k] / n_real)
    rank = sps.rankdata(score, method="average")
    tier = np.minimum(
        ((rank - 1) * RARITY_TIERS / max(n_real, 1)).astype(np.int64), RARITY_TIERS - 1
    )
    return RARITY_TIERS + tier


def _excess(
    name: str,
    hits: tuple[np.ndarray, np.ndarray],
    weights: np.ndarray,
    conf: float,
    text: str,
    ctx: dict[str, float],
) -> Metric:
    """A gated record-share excess: the conditional interval of the hit shares, and the exact
    p-value of the rarity-weighted test with its level, which the gate's joint correction reads
    (``rates.weighted_context``)."""
    hit_t, hit_h = hits
    counts = (int(hit_t.sum()), hit_t.size, int(hit_h.sum()), hit_h.size)
    gate = rates.weighted_context(weights, np.concatenate(hits), hit_t.size, conf)
    return Metric(
        name,
        rates.conditional_difference(*counts, conf),
        text,
        null_value=0.0,
        context={
            **ctx,
            **gate,
            "unweighted_p_value": rates.conditional_p(*counts),
            "rarity_tiers": float(RARITY_TIERS),
        },
    )


class ExactMatchAttack(Attack):
    name = "exact_match"

    def __init__(self, data: AuditData, config: AuditConfig | None = None) -> None:
        super().__init__(data, config)
        self.max_differ = self.config.exact_match.max_differ
        self.min_identifying = self.config.exact_match.min_identifying
        self.skipped: list[list[str]] = []
        self.partial_subsets: list[list[str]] = []
        self.isolated_left_out: list[str] = []

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        d = self.data
        d.require_rows(self.name)
        cols = list(d.geometry.columns)
        m = d.row_matches(cols)  # exact row keys (attacks/rowkeys.py)
        in_s_t, in_s_h = m.train_in_synthetic, m.holdout_in_synthetic
        syn_in_t, syn_in_h = m.synthetic_in_train, m.synthetic_in_holdout
        near_t, near_h = self._near(cols)
        unique_t, unique_h = m.unique_train, m.unique_holdout
        copied_t, copied_h = in_s_t & unique_t, in_s_h & unique_h
        near_t |= copied_t
        near_h |= copied_h
        ctx = {
            "n_synthetic": float(m.key_s.size),
            "n_train": float(m.key_t.size),
            "n_holdout": float(m.key_h.size),
            "training_records_copied": float(in_s_t.sum()),
            "holdout_records_copied": float(in_s_h.sum()),
            "unique_holdout_records": float(unique_h.sum()),
            "unique_holdout_records_copied": float(copied_h.sum()),
            "distinct_training_records_copied": float(m.distinct_train(in_s_t)),
            "unique_training_records": float(unique_t.sum()),
            "unique_training_records_copied": float((unique_t & in_s_t).sum()),
            "synthetic_in_train": float(syn_in_t.sum()),
            "synthetic_in_holdout": float(syn_in_h.sum()),
        }
        weights = rarity_weights(d.row_keys, cols, m.key_t.size + m.key_h.size)
        metrics = self._metrics(ctx, (copied_t, copied_h), (near_t, near_h), weights)
        metrics.append(self._partial(cols))
        metrics.append(self._isolated(cols, weights))
        details = {
            "near_copy_skipped_columns": self.skipped,
            "partial_copy_subsets": self.partial_subsets,
            "isolated_copy_left_out": self.isolated_left_out,
            "copied_training_rows": [int(r) for r in np.flatnonzero(in_s_t)[:MAX_LISTED]],
            "near_copied_training_rows": [
                int(r) for r in np.flatnonzero(near_t & ~in_s_t)[:MAX_LISTED]
            ],
        }
        return metrics, details

    def _metrics(
        self,
        ctx: dict[str, float],
        copied: tuple[np.ndarray, np.ndarray],
        near: tuple[np.ndarray, np.ndarray],
        weights: np.ndarray,
    ) -> list[Metric]:
        """The four metrics from the counts: synthetic-row rates (reported) and the size-free
        record-share excesses (gated; ``weights``: :func:`rarity_weights`)."""
        conf = self.confidence
        m, n_cols = int(ctx["n_synthetic"]), len(self.data.geometry.columns)
        k = n_cols - self.max_differ
        near_ctx = {
            **ctx,
            "columns": float(n_cols),
            "identical_columns_at_least": float(k),
            "training_records_near_copied": float(near[0].sum()),
            "holdout_records_near_copied": float(near[1].sum()),
        }
        return [
            Metric(
                "exact_match.train_rate",
                stats.proportion(int(ctx["synthetic_in_train"]), m, "wilson", conf),
                "share of synthetic rows identical to some training row (not size-free)",
                null_value=None,
                context=ctx,
            ),
            Metric(
                "exact_match.holdout_rate",
                stats.proportion(int(ctx["synthetic_in_holdout"]), m, "wilson", conf),
                "share of synthetic rows identical to some holdout row (control)",
                null_value=None,
                context=ctx,
            ),
            _excess(
                "exact_match.excess",
                copied,
                weights,
                conf,
                "share of training records unique among the real records and copied verbatim - "
                "the same share of holdout records",
                ctx,
            ),
            _excess(
                "exact_match.near_copy_excess",
                near,
                weights,
                conf,
                f"share of training records with a synthetic row identical on >= {k} of "
                f"{n_cols} columns - the same share of holdout records",
                near_ctx,
            ),
        ]

    def _partial(self, cols: list[str]) -> Metric:
        """``exact_match.partial_copy_excess``: the largest, over public-rule random column
        subsets, share of training records that some synthetic row reproduces on the subset,
        where the record is unique on it among the real records, minus the same for holdout
        records (Bonferroni over the subsets; [max lower, max upper])."""
        d = self.data
        subsets = partial_copy_sets(cols, PARTIAL_SETS, PARTIAL_SHARE)
        if not subsets:
            return Metric(
                "exact_match.partial_copy_excess",
                Estimate(0.0, -1.0, 1.0, self.confidence, "fewer than 3 columns"),
                "partial copies need at least 3 columns",
                null_value=0.0,
            )
        conf = rates.bonferroni(self.confidence, len(subsets))
        comps = []
        for i, sub in enumerate(subsets, start=1):
            m = d.row_matches(list(sub))
            hit_t = m.train_in_synthetic & m.unique_train
            hit_h = m.holdout_in_synthetic & m.unique_holdout
            comps.append(rates.compare_binary(f"subset-{i}", hit_t, hit_h, conf))
        self.partial_subsets = [list(sub) for sub in subsets]
        metric, _ = rates.family_maximum(
            "exact_match.partial_copy_excess",
            comps,
            self.confidence,
            lambda w: (
                f"largest share of training records reproduced on {len(subsets[0])} of "
                f"{len(cols)} columns (one of {len(subsets)} public-rule random subsets, "
                f"details.partial_copy_subsets) and unique on them among the real records, "
                f"minus the same for holdout records (worst: {w.label})"
            ),
        )
        return metric

    def _isolated(self, cols: list[str], weights: np.ndarray) -> Metric:
        """``exact_match.isolated_copy_excess``: the share of training records that some
        synthetic row reproduces on the key columns (every column but the near-unique ones), where
        the record is isolated on them among the real records (unique on them and on every
        projection that drops one of them), minus the same for holdout records."""
        d = self.data
        left_out = d.near_unique_columns()  # none when fewer than two columns would remain
        key = [c for c in cols if c not in set(left_out)]
        n_t, n_h = len(d.tables["train"]), len(d.tables["holdout"])
        rk = d.row_keys
        real = rk.concatenated(key)[: n_t + n_h]
        drops = key if len(key) > 1 else []  # one column: isolated = unique
        loo = [rk.concatenated([x for x in key if x != c])[: n_t + n_h] for c in drops]
        isolated = rare_unique(real, loo, slack=0)
        m = d.row_matches(key)
        hits = (m.train_in_synthetic & isolated[:n_t], m.holdout_in_synthetic & isolated[n_t:])
        self.isolated_left_out = left_out
        ctx = {
            "key_columns": float(len(key)),
            "isolated_training_records": float(isolated[:n_t].sum()),
            "isolated_holdout_records": float(isolated[n_t:].sum()),
            "isolated_training_records_copied": float(hits[0].sum()),
            "isolated_holdout_records_copied": float(hits[1].sum()),
        }
        dropped = f"every column but {', '.join(left_out)}" if left_out else "every column"
        text = (
            f"share of training records isolated among the real records on {dropped} (no other "
            "record agrees with them on all but one of those columns) and reproduced on them by "
            "a synthetic row, minus the same share of holdout records"
        )
        return _excess(
            "exact_match.isolated_copy_excess", hits, weights, self.confidence, text, ctx
        )

    def _near(self, cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Records with a synthetic row equal on every column but at most ``max_differ``, on
        columns that identify the record among the real ones."""
        d = self.data
        r = min(self.max_differ, len(cols) - 1)
        near_t = np.zeros(len(d.tables["train"]), dtype=bool)
        near_h = np.zeros(len(d.tables["holdout"]), dtype=bool)
        if r < 1:
            return near_t, near_h
        sets = [c for k in range(r, r + 1) for c in combinations(range(len(cols)), k)]
        if len(sets) > MAX_PASSES:
            raise AttackCannotRun(
                f"{self.name}: max_differ={self.max_differ} needs {len(sets)} hash passes over "
                f"{len(cols)} columns (at most {MAX_PASSES}); lower max_differ"
            )
        self.skipped: list[list[str]] = []
        for drop in sets:
            keep = [c for i, c in enumerate(cols) if i not in drop]
            m = d.row_matches(keep)
            t, h = m.train_in_synthetic, m.holdout_in_synthetic
            unique_t, unique_h = m.unique_train, m.unique_holdout
            share = (unique_t.sum() + unique_h.sum()) / (unique_t.size + unique_h.size)
            if share < self.min_identifying:
                self.skipped.append([cols[i] for i in drop])
                continue
            near_t |= t & unique_t
            near_h |= h & unique_h
        return near_t, near_h
