"""Exact-match attribute inference: the attacker looks up a target's known columns in the
synthetic table and reads the secret off the rows that match.

Why beside :mod:`attacks.attribute`. That attack averages the success of a nearest-neighbour and
a tree guess over (a sample of) all targets. A leak that reproduces the known columns and the
secret of a few percent of the training records moves such an average by a few points, inside
the noise of the common records the leak never touched (catalogue: the partial-knowledge and
rare-class attribute leaks PASSed). This attack scores the attacker on the records a leak *can*
affect, chosen by rules that never look at which records leak:

* **Unique targets.** From statistical disclosure control (sample uniqueness, k-anonymity with
  k = 1, as sdcMicro's frequency counts): a record is at risk when it is the only real record
  (train and holdout together) with its combination on the known columns K. For knowledge set K
  and secret s, record r is **disclosed** when r is unique on K, some synthetic row equals r on
  K, and the attacker's guess (the most frequent value of s among the synthetic rows equal to r
  on K; ties to the lowest code) is right (categoricals exactly, numbers within the relative
  tolerance of :mod:`attacks.attribute`). ``attribute_match.unique.max_excess`` = share of
  training records disclosed minus share of holdout records disclosed, over every record (size
  free), maximised over knowledge sets and secrets.
* **Worst class.** For a categorical secret (or a numeric one whose pooled real records hold at
  most ``attacks.subgroup.MAX_NUMERIC_LEVELS`` distinct values: a code such as a 0/1 flag, its
  values the classes, by the rule subgroups use) and one class c, the attacker holding a target's K
  and asking "is this person a c?" reads the *candidate set*: the values of s carried by the
  synthetic rows equal to the target on K. Success = c is in the set. Among the targets whose
  true class is c, training vs holdout, for every class with at least ``MIN_CLASS_TARGETS``
  records on each side: ``attribute_match.class.max_excess``. A class whose records are
  reproduced with their known columns reaches a success near 1 against the holdout's chance
  rate; the point guess (the set's mode) loses such rows among the common values of their
  combination, and averages over all classes (``attribute.rare_class.max_excess``) dilute them.

Validity. Uniqueness is decided on train + holdout together and the guess is a function of the
target's own values and the synthetic table, so given the synthetic table the success of a
training record and of a holdout record have the same distribution when the generator did not
use the training records (members and non-members are exchangeable). Each comparison's interval
is the cluster-robust one of :mod:`attacks.rates` (cluster = the combination on K, shared by
train and holdout records, with Newcombe's interval as a floor). Each family is
Bonferroni-corrected over every comparison in it (knowledge set x secret; x class for the
worst-class family) and its maximum carries [max lower, max upper], a simultaneous interval for
the true maximum: trying more sets, secrets or classes widens the interval instead of
manufacturing a FAIL. The maximum's context also carries the per-test level
(``test_confidence``, from which the gate's joint correction stretches) and the largest of the
tests' own upper bounds at the attack's confidence (``pass_upper``, what a PASS reads: an
intersection-union test; reports/verdict.py ``pass_bound``). Which classes are tested depends only on the real records' class counts
(never on the synthetic table), and the tests within a class are valid conditionally on them.

Cost: one hash of each table on K per task and a sort of the synthetic (K, s) pairs: linear
time, no neighbour search and no model (about 0.3 s for the 66 tasks on Adult 12,800 / 3,200 /
12,800 rows). Designed from SDC (Templ, Kowarik and Meindl 2015, sdcMicro; Hundepool et al. 2012)
and the attribute-disclosure literature (Stadler, Oprisanu and Troncoso 2022); no code or
procedure of Anonymeter is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from attacks import rates, rowkeys
from attacks.attribute import attribute_tasks, guess_hit, synthetic_secrets
from attacks.base import Attack
from attacks.config import AuditConfig
from attacks.context import AuditData
from attacks.errors import AttackCannotRun
from attacks.knowledge import KnowledgeSet
from attacks.results import Estimate, Metric
from attacks.subgroup import MAX_NUMERIC_LEVELS, numeric_levels

# A class is tested when at least this many training and this many holdout records hold it: a
# proportion of 50 records has a half-width of at most 0.14 at 95% (a rule of thumb for the
# normal approximation; Newcombe's floor covers the rest). Fixed, never fitted to a leak.
MIN_CLASS_TARGETS = 50
# ... and when they span at least this many distinct combinations on K on each side: targets of
# one combination share their candidate set, so the cluster-robust variance rests on the number
# of combinations, and with few clusters it is unreliable (Cameron and Miller 2015, "A
# practitioner's guide to cluster-robust inference", J. Human Resources 50(2)). Decided on the
# real records only, never on the synthetic table.
MIN_CLASS_CLUSTERS = 25
# A (K, s) test is skipped when K determines s among the real records: at least this share of
# the real records that share their combination on K with another real record carry the most
# frequent value of s of their combination (Adult: education -> education-num). Guessing such a
# secret from K is no disclosure by the synthetic table, and its matched targets are guessed
# right by construction, which only adds noise. Decided on the real records only, and only
# where at least ``DETERMINED_MIN_SHARED`` of them share a combination (with K nearly
# identifying, the few natural duplicates would decide it).
DETERMINED_SHARE = 0.99
DETERMINED_MIN_SHARED = 0.1
MAX_LISTED = 50


@dataclass(frozen=True, kw_only=True)
class _Secret:
    """One secret's codes in the three tables, their values, and the records' surprise."""

    numeric: bool
    v_t: np.ndarray
    v_h: np.ndarray
    v_s: np.ndarray
    uniq: np.ndarray
    surprise_t: np.ndarray
    surprise_h: np.ndarray
    classes: bool  # its values are classes (categorical, or a numeric code)


@dataclass(frozen=True, kw_only=True)
class _Outcome:
    """One (knowledge set, secret) task: per-record successes and the cluster labels."""

    level: str
    secret: str
    known: tuple[str, ...]
    hit_t: np.ndarray  # matched and the point guess right (every training record)
    hit_h: np.ndarray
    surprise_t: np.ndarray  # 1 - share of synthetic rows carrying the true value
    surprise_h: np.ndarray
    in_set_t: np.ndarray  # the true value among the values of the matching synthetic rows
    in_set_h: np.ndarray
    unique_t: np.ndarray  # unique on K among the real records
    unique_h: np.ndarray
    key_t: np.ndarray  # combination codes on K (clusters)
    key_h: np.ndarray
    class_t: np.ndarray | None  # true class codes (categorical or coded numeric secrets)
    class_h: np.ndarray | None
    determined: bool  # K determines s among the real records (test skipped)


def match_guess(k_s: np.ndarray, v_s: np.ndarray, width: int) -> np.ndarray:
    """Per combination code on K: the most frequent secret code among the synthetic rows with
    that combination (ties to the lowest code); -1 where no synthetic row has it."""
    guess = np.full(width, -1, dtype=np.int64)
    if k_s.size == 0:
        return guess
    n_v = int(v_s.max(initial=0)) + 1
    u, cnt = rowkeys.unique_counts(k_s.astype(np.int64) * n_v + v_s)
    kk, vv = u // n_v, u % n_v
    order = np.lexsort((vv, -cnt, kk))
    kk, vv = kk[order], vv[order]
    first = np.r_[True, kk[1:] != kk[:-1]]
    guess[kk[first]] = vv[first]
    return guess


def determined(keys: np.ndarray, values: np.ndarray, width: int) -> bool:
    """Whether the combination on K determines the secret among the real records: of the records
    whose combination is shared, at least ``DETERMINED_SHARE`` hold its most frequent value."""
    counts = np.bincount(keys, minlength=width)
    shared = counts[keys] >= 2
    if shared.mean() < DETERMINED_MIN_SHARED:
        return False
    k, v = keys[shared], values[shared]
    mode = match_guess(k, v, width)
    return float(np.mean(mode[k] == v)) >= DETERMINED_SHARE


def published_pairs(
    k_s: np.ndarray, v_s: np.ndarray, keys: np.ndarray, truth: np.ndarray
) -> np.ndarray:
    """Per real record: whether some synthetic row has its combination on K *and* its secret
    code (the candidate-set guess: the true value is among those the matching rows carry)."""
    if k_s.size == 0:
        return np.zeros(keys.size, dtype=bool)
    n_v = int(max(v_s.max(initial=0), truth.max(initial=0))) + 1
    pub = rowkeys.unique_sorted(k_s.astype(np.int64) * n_v + v_s)
    q = keys.astype(np.int64) * n_v + truth
    at = np.minimum(np.searchsorted(pub, q), pub.size - 1)
    return pub[at] == q


def surprise(
    v_s: np.ndarray, truth: np.ndarray, uniq: np.ndarray, numeric: bool, tol: float
) -> np.ndarray:
    """Per real record: 1 - the share of synthetic rows whose secret would count as a right guess
    of its true value (the same code; for numbers within the relative tolerance). A right guess
    of a value most synthetic rows carry says little, so it earns little."""
    n = max(v_s.size, 1)
    if not numeric:
        share = np.bincount(v_s, minlength=uniq.size) / n
        return 1.0 - share[truth]
    vals = np.sort(uniq[v_s][~np.isnan(uniq[v_s])])
    t = uniq[truth]
    half = tol * np.abs(t)
    with np.errstate(invalid="ignore"):
        lo = np.searchsorted(vals, t - half, side="left")
        hi = np.searchsorted(vals, t + half, side="right")
    share = (hi - lo) / n
    nan = np.isnan(t)
    share[nan] = float(np.isnan(uniq[v_s]).sum()) / n
    return 1.0 - share


def _secret_codes(values: list[np.ndarray], numeric: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """Joint integer codes of a secret over the three tables (missing its own code) and the value
    of each code."""
    stacked = np.concatenate(values)
    if numeric:
        codes, uniq = pd.factorize(stacked, use_na_sentinel=False)
        uniq = np.asarray(uniq, dtype=np.float64)
    else:
        uniq, codes = rowkeys.sorted_inverse(stacked)
    bounds = np.cumsum([0, *[v.size for v in values]])
    parts = [codes[bounds[i] : bounds[i + 1]].astype(np.int64) for i in range(len(values))]
    return parts, uniq


class MatchInferenceAttack(Attack):
    name = "attribute_match"

    def __init__(self, data: AuditData, config: AuditConfig | None = None) -> None:
        super().__init__(data, config)
        self._secrets: dict[str, _Secret] = {}  # per secret, shared by its tasks

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        d = self.data
        secrets, _ = synthetic_secrets(d)
        if not secrets:
            raise AttackCannotRun("attribute_match: no secret column with at least two values")
        levels, tasks = attribute_tasks(d, secrets, self.config.knowledge)
        if not tasks:
            raise AttackCannotRun("attribute_match: no known column left besides the secret")
        outcomes = [self._one(level, secret, known) for level, secret, known in tasks]
        skipped = [f"{o.level}|{o.secret}" for o in outcomes if o.determined]
        outcomes = [o for o in outcomes if not o.determined]
        if not outcomes:
            raise AttackCannotRun(
                "attribute_match: every secret is determined by the known columns"
            )
        unique_metric, unique_rows, worst = self._unique_family(outcomes)
        class_metric, class_rows = self._class_family(outcomes)
        details: dict[str, Any] = {
            "knowledge": _by_level(levels, unique_rows),
            "unique": unique_rows,
            "classes": class_rows,
            "worst_knowledge": worst.level,
            "worst": {"knowledge": worst.level, "secret": worst.secret},
            "exposed": _exposed(worst),
            "min_class_targets": MIN_CLASS_TARGETS,
            "skipped_determined": skipped,
        }
        d.settings["attribute_match"] = {
            "tasks": len(outcomes),
            "min_class_targets": MIN_CLASS_TARGETS,
            "tolerance": self.config.attribute.tolerance,
        }
        return [unique_metric, class_metric], details

    def _secret(self, secret: str) -> _Secret:
        """What a secret's tasks share whatever the known columns (computed once per secret:
        every knowledge set x secret task reads it)."""
        got = self._secrets.get(secret)
        if got is None:
            tr, ho, syn = (self.data.tables[t] for t in ("train", "holdout", "synthetic"))
            numeric = self.data.geometry.types[secret] != "categorical"
            (v_t, v_h, v_s), uniq = _secret_codes(
                [tr.values[secret], ho.values[secret], syn.values[secret]], numeric
            )
            tol = self.config.attribute.tolerance
            # a numeric secret with few values among the pooled real records is a code: its
            # values are classes, decided as subgroups' levels are (never from the synthetic)
            levels = numeric_levels(tr.values[secret], ho.values[secret])
            got = _Secret(
                numeric=numeric,
                v_t=v_t,
                v_h=v_h,
                v_s=v_s,
                uniq=uniq,
                surprise_t=surprise(v_s, v_t, uniq, numeric, tol),
                surprise_h=surprise(v_s, v_h, uniq, numeric, tol),
                classes=not numeric or levels is not None,
            )
            self._secrets[secret] = got
        return got

    def _one(self, level: KnowledgeSet, secret: str, known: tuple[str, ...]) -> _Outcome:
        """Match every record on K, guess, score."""
        cols = list(known)
        k_t, k_h, k_s = self.data.row_keys.keys(cols)  # exact, cached (attacks/rowkeys.py)
        width = int(max(k_t.max(initial=0), k_h.max(initial=0), k_s.max(initial=0))) + 1
        real = np.bincount(np.concatenate([k_t, k_h]), minlength=width)
        sec = self._secret(secret)
        numeric, uniq, v_t, v_h, v_s = sec.numeric, sec.uniq, sec.v_t, sec.v_h, sec.v_s
        guess = match_guess(k_s, v_s, width)
        tol = self.config.attribute.tolerance
        classes = sec.classes

        def hits(keys: np.ndarray, truth: np.ndarray) -> np.ndarray:
            g = guess[keys]
            ok = g >= 0
            out = np.zeros(keys.size, dtype=bool)
            out[ok] = guess_hit(uniq[g[ok]], uniq[truth[ok]], numeric, tol)
            return out

        return _Outcome(
            level=level.name,
            secret=secret,
            known=known,
            hit_t=hits(k_t, v_t),
            hit_h=hits(k_h, v_h),
            surprise_t=sec.surprise_t,
            surprise_h=sec.surprise_h,
            in_set_t=published_pairs(k_s, v_s, k_t, v_t),
            in_set_h=published_pairs(k_s, v_s, k_h, v_h),
            unique_t=real[k_t] == 1,
            unique_h=real[k_h] == 1,
            key_t=k_t,
            key_h=k_h,
            class_t=v_t if classes else None,
            class_h=v_h if classes else None,
            determined=determined(np.concatenate([k_t, k_h]), np.concatenate([v_t, v_h]), width),
        )

    def _unique_family(
        self, outcomes: list[_Outcome]
    ) -> tuple[Metric, dict[str, dict[str, float]], _Outcome]:
        conf = rates.bonferroni(self.confidence, len(outcomes))
        comps, own = [], []
        for o in outcomes:
            ctx = {
                "unique_train": float(o.unique_t.mean()),
                "unique_holdout": float(o.unique_h.mean()),
                "n_known": float(len(o.known)),
            }
            y_t = (o.unique_t & o.hit_t) * o.surprise_t
            y_h = (o.unique_h & o.hit_h) * o.surprise_h
            label = f"{o.level}|{o.secret}"
            comps.append(rates.compare(label, y_t, y_h, conf, o.key_t, o.key_h, ctx))
            own.append(_own_upper(y_t, y_h, o.key_t, o.key_h, self.confidence))
        m = len(comps)
        metric, worst = rates.family_maximum(
            "attribute_match.unique.max_excess",
            comps,
            self.confidence,
            lambda w: (
                "largest share of training records unique on the known columns whose secret "
                "the synthetic rows matching them give away, minus the same for holdout records, "
                f"over {m} knowledge set x secret tests (worst: {w.label!r})"
            ),
        )
        metric.context["test_confidence"] = float(conf)  # per-sub-test level, for the gate
        metric.context["pass_upper"] = max(own)  # PASS side (intersection-union)
        rows = {c.label: {**c.row(sizes=True), **c.context} for c in comps}
        return metric, rows, outcomes[comps.index(worst)]

    def _class_family(self, outcomes: list[_Outcome]) -> tuple[Metric, dict[str, Any]]:
        jobs = []
        for o in outcomes:
            if o.class_t is None or o.class_h is None:
                continue
            n_c = max(int(o.class_t.max(initial=0)), int(o.class_h.max(initial=0))) + 1
            c_t = np.bincount(o.class_t, minlength=n_c)
            c_h = np.bincount(o.class_h, minlength=n_c)
            for c in np.flatnonzero((c_t >= MIN_CLASS_TARGETS) & (c_h >= MIN_CLASS_TARGETS)):
                if (
                    _clusters(o.key_t[o.class_t == c])
                    >= MIN_CLASS_CLUSTERS
                    <= _clusters(o.key_h[o.class_h == c])
                ):
                    jobs.append((o, int(c)))
        name = "attribute_match.class.max_excess"
        if not jobs:
            why = (
                f"no categorical secret (or numeric one with at most {MAX_NUMERIC_LEVELS} "
                f"values) has a class with {MIN_CLASS_TARGETS} records a side"
            )
            est = Estimate(0.0, 0.0, 1.0, self.confidence, f"none: {why}")
            return Metric(name, est, f"worst-class excess; not measured: {why}", 0.0), {}
        conf = rates.bonferroni(self.confidence, len(jobs))
        comps, own = [], []
        for o, c in jobs:
            st, sh = o.class_t == c, o.class_h == c
            label = f"{o.level}|{o.secret}|class {c}"
            y_t, y_h = o.in_set_t[st], o.in_set_h[sh]
            comps.append(rates.compare(label, y_t, y_h, conf, o.key_t[st], o.key_h[sh]))
            own.append(_own_upper(y_t, y_h, o.key_t[st], o.key_h[sh], self.confidence))
        m = len(comps)
        metric, _ = rates.family_maximum(
            name,
            comps,
            self.confidence,
            lambda w: (
                "largest excess of exact-match inference among the records of one class "
                f"(train vs holdout records of that class), over {m} knowledge set x secret x "
                f"class tests (worst: {w.label!r})"
            ),
            with_context=False,
        )
        metric.context["test_confidence"] = float(conf)  # per-sub-test level, for the gate
        metric.context["pass_upper"] = max(own)  # PASS side (intersection-union)
        top = sorted(comps, key=lambda c: -c.excess.value)[:MAX_LISTED]
        return metric, {c.label: c.row(sizes=True) for c in top}


def _by_level(
    levels: list[KnowledgeSet], rows: dict[str, dict[str, float]]
) -> dict[str, dict[str, Any]]:
    """Per knowledge set: its columns, rule and largest unique-target excess over the secrets
    (with the simultaneous bounds), as the report's attacker-knowledge table reads it."""
    out: dict[str, dict[str, Any]] = {}
    for level in levels:
        mine = {k.split("|", 1)[1]: v for k, v in rows.items() if k.split("|", 1)[0] == level.name}
        if not mine:
            continue
        secret, top = max(mine.items(), key=lambda kv: kv[1]["excess"])
        out[level.name] = {
            "columns": list(level.columns),
            "rule": level.rule,
            "max_excess": top["excess"],
            "ci_low": max(v["ci_low"] for v in mine.values()),
            "ci_high": max(v["ci_high"] for v in mine.values()),
            "worst_secret": secret,
        }
    return out


def _own_upper(
    y_t: np.ndarray, y_h: np.ndarray, k_t: np.ndarray, k_h: np.ndarray, confidence: float
) -> float:
    """One test's own upper bound at ``confidence`` (no Bonferroni): the family's largest is
    what a PASS reads (an intersection-union test, reports/verdict.py ``pass_bound``)."""
    return float(rates.clustered_difference(y_t, y_h, k_t, k_h, confidence).ci_high)


def _clusters(keys: np.ndarray) -> int:
    return rowkeys.n_distinct(keys)


def _exposed(worst: _Outcome) -> list[dict[str, int]]:
    """Training rows (positions, never values) disclosed by the worst unique-target test."""
    rows = np.flatnonzero(worst.unique_t & worst.hit_t)[:MAX_LISTED]
    return [{"row": int(r)} for r in rows]
