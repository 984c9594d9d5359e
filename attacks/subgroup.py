"""Per-subgroup closeness: is the synthetic table closer to the training members of one subgroup
than to its holdout members?

Why. A generator can overfit one part of the population (one country, one occupation) while the
rest is fresh: the whole-table membership AUC then moves by the subgroup's share (a jittered copy
of every record of a 2% subgroup gave 0.512 overall, PASS), while inside the subgroup the
training records sit almost on top of synthetic rows.

Subgroups (a fixed public rule, decided before looking at the synthetic table and never at
which records leak): every level of every categorical column (the declared quasi-identifiers and
every other categorical column; missing is a level) and every value of every *few-valued numeric
column* that holds at least ``MIN_GROUP`` training records and ``MIN_GROUP`` holdout records.

A numeric column is few-valued when the pooled real records (train + holdout, never the
synthetic table) hold at most ``MAX_NUMERIC_LEVELS`` = 10 distinct present values; its values
(and missing, when present) are then its levels, as for a categorical column. Why 10: such a
column is a code, not a measurement (binary indicators such as NLTCS's 16 disability flags,
rating scales of up to 10 points, small counts), and each of its values is a population group a
generator can overfit; above that a column's single values are thin slices of a measurement
(one age, one number of hours), and grouping them would need a binning fitted to the data. The
cap also bounds the multiplicity a column adds (at most 10 + 1 tests, the size of a typical
categorical column). On Adult no numeric column qualifies (education-num has 16 values and is
education's code, already tested), so Adult's subgroups are those of the categorical rule;
without this rule an all-numeric coded table (NLTCS) had no subgroup at all and the check was
an ERROR on valid data.

Why the rule keeps the null. Under the null the synthetic table S is independent of which real
records were drawn for training: given S and the pooled multiset R of real records (train +
holdout), the split is a uniformly random partition of R with its two sizes. Every input of the
rule is a function of R alone (the distinct values of a column over R, a record's own value)
or of the per-group counts of the two sides, and every score is a function of the record and S.
So given S, R and a subgroup's two counts, its training members are a uniformly random subset of
its records: the two-sample permutation setting in which the Mann-Whitney AUC has mean 0.5 and
DeLong's interval is valid. A rule that counted distinct values in train alone would make the
group list depend on the split itself and break this; one that read S would stay valid given S,
but a releaser could then switch a column's subgroups off by adding a few synthetic values.
Numeric columns with more values define no subgroups (any binning would be a choice fitted to
the data).

Statistic. Each real record's score is minus the distance to its nearest synthetic row (the
shared geometry and search of :mod:`attacks.membership`; no extra search in a suite). Within a
subgroup g, the AUC of the training members' scores against the holdout members'
(Mann-Whitney, ties half) is 0.5 when the generator did not use the training records: given the
synthetic table, the scores of members and non-members of g are i.i.d. draws of the same law
(the records are exchangeable between train and holdout, and g's rule looks at a record's own
value only). DeLong's interval is valid conditionally on the synthetic table for the same
reason, also under mode collapse (repeated synthetic rows move both sides alike).

Multiplicity: every subgroup's interval is at the Bonferroni level over the subgroups tested,
and ``subgroup.max_auc`` carries [max lower, max upper], a simultaneous interval for the largest
true subgroup AUC: testing many subgroups widens the interval instead of manufacturing a FAIL.
(Holm's step-down would reject at least as often, but gives no simultaneous interval for the
maximum, which is what the gate reads.) Its context carries the per-subgroup level
(``test_confidence``: DeLong intervals are normal, so the gate's stretch from it is the joint
Bonferroni) and the largest of the subgroups' own upper bounds at the attack's confidence
(``pass_upper``, what a PASS reads: an intersection-union test; reports/verdict.py).

Disclosure. Subgroups are named by column and level; ``details["subgroups"]`` keeps the worst
``MAX_LISTED`` with their sizes (at least ``MIN_GROUP`` per side by construction), and the public
report drops sizes and any group under the report's ``min_count`` (reports/subgroups.py).
Designed from the disparate-vulnerability literature (Kulynych et al. 2022, "Disparate
vulnerability to membership inference attacks", PoPETs; Stadler, Oprisanu and Troncoso 2022 on
outlier records); no code or procedure of Anonymeter is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attacks import rates, stats
from attacks.base import Attack
from attacks.errors import AttackCannotRun
from attacks.results import Estimate, Metric

# A subgroup is tested when it holds at least this many training and holdout records: below,
# DeLong's normal interval at a Bonferroni level over ~50 subgroups is too wide to decide
# anything (half-width > 0.2 at 50 per side). Fixed, never fitted to a leak.
MIN_GROUP = 50
MAX_LISTED = 20
# A numeric column with at most this many distinct values among the pooled real records is a
# code (binary flags, rating scales): its values are levels (module docstring). Fixed, public.
MAX_NUMERIC_LEVELS = 10


class SubgroupAttack(Attack):
    name = "subgroup"

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        d = self.data
        d.require_rows(self.name)
        groups = self._groups()
        if not groups:
            raise AttackCannotRun(
                f"subgroup: no categorical level or value of a numeric column with at most "
                f"{MAX_NUMERIC_LEVELS} values holds {MIN_GROUP} training and {MIN_GROUP} "
                "holdout records; a larger holdout (or coding a grouping column as "
                "categorical) lets the check run"
            )
        s_t, s_h = self._scores()
        conf = rates.bonferroni(self.confidence, len(groups))
        rows, own = [], []
        for col, code, in_t, in_h in groups:
            est = stats.auc_delong(s_t[in_t], s_h[in_h], conf)
            rows.append((col, code, int(in_t.sum()), int(in_h.sum()), est))
            own.append(stats.auc_delong(s_t[in_t], s_h[in_h], self.confidence).ci_high)
        worst = max(rows, key=lambda r: r[4].value)
        est = Estimate(
            worst[4].value,
            max(r[4].ci_low for r in rows),
            max(r[4].ci_high for r in rows),
            self.confidence,
            f"max over {len(rows)} subgroups; [max lower, max upper] of Bonferroni DeLong intervals",
        )
        metric = Metric(
            "subgroup.max_auc",
            est,
            "largest membership AUC (minus distance to the nearest synthetic row) within one "
            "subgroup (a level of a categorical column or a value of a few-valued numeric "
            f"column), over {len(rows)} subgroups "
            f"(worst: {worst[0]!r} level {worst[1]})",
            null_value=0.5,
            # per-subgroup level of the DeLong intervals, for the gate's joint correction
            context={
                "subgroups": float(len(rows)),
                "n_train": worst[2],
                "n_holdout": worst[3],
                "test_confidence": float(conf),
                # each subgroup's own upper bound, the largest: what a PASS reads
                "pass_upper": float(max(own)),
            },
        )
        listed = sorted(rows, key=lambda r: -r[4].value)[:MAX_LISTED]
        details = {
            "subgroups": [_row(r, self._label(r[0], r[1])) for r in listed],
            "tested": len(rows),
            "min_group": MIN_GROUP,
            "max_numeric_levels": MAX_NUMERIC_LEVELS,
            "worst": {"column": worst[0], "level": self._label(worst[0], worst[1])},
        }
        d.settings["subgroup"] = {"tested": len(rows), "min_group": MIN_GROUP}
        return [metric], details

    def _groups(self) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
        """(column, level code, training mask, holdout mask) over the query records."""
        d = self.data
        rows_t, rows_h = d.original_rows("train_all"), d.original_rows("holdout_all")
        out = []
        self._numeric_labels: dict[str, np.ndarray] = {}
        for col in d.geometry.columns:
            kind = d.geometry.types[col]
            raw_t, raw_h = d.tables["train"].values[col], d.tables["holdout"].values[col]
            if kind == "categorical":
                v_t, v_h = raw_t[rows_t].astype(np.int64), raw_h[rows_h].astype(np.int64)
            elif kind == "numeric":
                coded = numeric_levels(raw_t, raw_h)
                if coded is None:
                    continue
                self._numeric_labels[col] = coded[2]
                v_t, v_h = coded[0][rows_t], coded[1][rows_h]
            else:
                continue
            n = int(max(v_t.max(initial=0), v_h.max(initial=0))) + 1
            c_t, c_h = np.bincount(v_t, minlength=n), np.bincount(v_h, minlength=n)
            for code in np.flatnonzero((c_t >= MIN_GROUP) & (c_h >= MIN_GROUP)):
                out.append((col, int(code), v_t == code, v_h == code))
        return out

    def _scores(self) -> tuple[np.ndarray, np.ndarray]:
        """Minus the distance to the nearest synthetic row, per query record of each side."""
        d = self.data
        k = max(self.config.membership_distance.k, self.config.membership_density.k)
        dm, _ = d.neighbors("train_all", "synthetic", k)
        dn, _ = d.neighbors("holdout_all", "synthetic", k)
        return -dm[:, 0], -dn[:, 0]

    def _label(self, col: str, code: int) -> str:
        numeric = getattr(self, "_numeric_labels", {}).get(col)
        if numeric is not None:
            return _value_label(numeric[code]) if code < numeric.size else "missing"
        levels = self.data.geometry.levels.get(col, [])
        return str(levels[code]) if code < len(levels) else f"code {code}"


def numeric_levels(
    train: np.ndarray, holdout: np.ndarray, max_levels: int = MAX_NUMERIC_LEVELS
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Level codes of a numeric column whose pooled real values (``train`` and ``holdout``
    together; NaN = missing) hold at most ``max_levels`` distinct present values, else None.

    Returns (train codes, holdout codes, the sorted distinct values): code i is the i-th value,
    code ``len(values)`` is missing. A function of the pooled multiset only, so swapping records
    between the two sides never changes a level (module docstring: the null's symmetry)."""
    t = np.asarray(train, dtype=np.float64)
    h = np.asarray(holdout, dtype=np.float64)
    pooled = np.concatenate([t, h])
    values = np.unique(pooled[~np.isnan(pooled)])
    if values.size > max_levels:
        return None

    def code(v: np.ndarray) -> np.ndarray:
        c = np.searchsorted(values, v).astype(np.int64)
        return np.where(np.isnan(v), values.size, c)

    return code(t), code(h), values


def _value_label(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else repr(float(v))


def _row(r: tuple[str, int, int, int, Estimate], label: str) -> dict[str, Any]:
    col, _, n_t, n_h, e = r
    return {
        "column": col,
        "level": label,
        "n_train": n_t,
        "n_holdout": n_h,
        "auc": e.value,
        "ci_low": e.ci_low,
        "ci_high": e.ci_high,
    }
