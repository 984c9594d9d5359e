"""Attribute inference: the attacker knows a target's quasi-identifiers (QI) and guesses a secret
column from the synthetic table.

Two guesses per secret: the secret of the nearest synthetic row in QI space (shared geometry,
restricted to the QI columns; exact, for all secrets from one shared search, see
:mod:`attacks.qi_neighbors`; on a seeded sample of at most ``max_targets`` targets per side),
and, on every used target, a decision tree trained on the synthetic table (QI -> secret).
Secrets run in parallel threads (``n_jobs``) with results independent of the thread count. Above ``max_synthetic_rows`` synthetic rows, both guesses
use a seeded uniform sample of that many synthetic rows (``settings["attribute"]``).
Success is measured on training targets (attack) and on holdout targets (control: what the
synthetic data teaches about anyone in the population), and a base-rate guess (the synthetic
mode / median) is the baseline. A numeric secret counts as guessed within an absolute tolerance
of ``tolerance`` x the column's range. Risk = (attack - control) / (1 - control); its interval is
Newcombe's for attack - control divided by (1 - control), at a Bonferroni-adjusted level over
secrets x guesses so that the reported intervals hold together (family-wise 95%). Excess =
attack - control, the same interval undivided: stable where the control is near 1. The maxima
over columns carry [max lower, max upper], a valid simultaneous interval for the maximum.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from attacks import stats
from attacks.base import Attack
from attacks.errors import AttackCannotRun
from attacks.qi_neighbors import DEFAULT_CANDIDATES, QINeighbours, nearest_per_secret
from attacks.results import Estimate, Metric

GUESSES = ("neighbour", "model")


class AttributeInferenceAttack(Attack):
    name = "attribute"

    def __init__(
        self,
        *args: Any,
        tolerance: float = 0.05,
        max_targets: int = 1_000,
        min_samples_leaf: int = 5,
        max_synthetic_rows: int = 100_000,
        candidates: int = DEFAULT_CANDIDATES,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.tolerance = float(tolerance)
        self.max_targets = int(max_targets)
        self.max_synthetic_rows = int(max_synthetic_rows)
        self.min_samples_leaf = int(min_samples_leaf)
        self.candidates = int(candidates)

    # ------------------------------------------------------------------------------------
    def _secrets(self) -> tuple[list[str], dict[str, str]]:
        d = self.data
        syn = d.tables["synthetic"]
        if d.secrets is not None:
            return list(d.secrets), {}
        chosen, excluded = [], {}
        for c in d.geometry.columns:
            if _n_distinct(syn.values[c]) < 2:
                excluded[c] = "a single value in the synthetic table"
            else:
                chosen.append(c)
        return chosen, excluded

    def _targets(self) -> tuple[np.ndarray, np.ndarray]:
        d = self.data
        n = d.n_used
        rng = np.random.default_rng(d.seed + 41)
        m = min(n, self.max_targets)
        pick_t = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
        pick_h = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
        return d.train_rows[pick_t], d.holdout_rows[pick_h]

    def _synthetic_rows(self) -> np.ndarray | None:
        """The synthetic rows the attacker's neighbour search and model use: all (None), or a
        seeded uniform sample of ``max_synthetic_rows`` when the synthetic table is larger."""
        n = len(self.data.tables["synthetic"])
        if n <= self.max_synthetic_rows or self.max_synthetic_rows <= 0:
            return None
        rng = np.random.default_rng([self.data.seed, 43])
        return np.sort(rng.choice(n, size=self.max_synthetic_rows, replace=False))

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        secrets, excluded = self._secrets()
        if not secrets:
            raise AttackCannotRun("attribute: no secret column with at least two values")
        t_rows, h_rows = self._targets()
        self._syn_rows = self._synthetic_rows()
        n_tests = max(1, len(secrets) * len(GUESSES))
        conf = 1 - (1 - self.confidence) / n_tests
        columns: dict[str, dict[str, float]] = {}
        metrics: list[Metric] = []
        errors: dict[str, str] = {}
        risks: list[Metric] = []
        excesses: list[Metric] = []
        # Secrets are independent: with several threads each runs on its own (faiss searches
        # and tree fits release the GIL). Results are collected in secret order, so they do not
        # depend on the number of threads.
        self._nearest = self._neighbour_search(secrets, t_rows, h_rows)
        workers = max(1, min(self.data.n_jobs, len(secrets)))

        def one(secret: str) -> tuple[Metric, Metric] | str:
            try:
                return self._one(secret, t_rows, h_rows, conf)
            except AttackCannotRun as exc:
                return str(exc)

        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(pool.map(one, secrets))
        else:
            outcomes = [one(secret) for secret in secrets]
        for secret, outcome in zip(secrets, outcomes, strict=True):
            if isinstance(outcome, str):
                errors[secret] = outcome
                continue
            res, excess = outcome
            risks.append(res)
            excesses.append(excess)
            columns[secret] = {
                "attack": res.context["attack"],
                "control": res.context["control"],
                "baseline": res.context["baseline"],
                "risk": res.estimate.value,
                "excess": excess.estimate.value,
            }
        metrics = [*risks, *excesses]
        if risks:
            metrics.append(_maximum("attribute.max_risk", risks, "attribute risk"))
            metrics.append(_maximum("attribute.max_excess", excesses, "attribute excess"))
        details: dict[str, Any] = {"columns": columns}
        if excluded:
            details["excluded"] = excluded
        self.data.settings["attribute"] = {
            "secrets": secrets,
            "excluded_secrets": excluded,
            "n_targets": int(t_rows.size),
            "n_synthetic_used": int(
                len(self.data.tables["synthetic"])
                if self._syn_rows is None
                else self._syn_rows.size
            ),
            "tolerance": self.tolerance,
            "confidence_per_interval": conf,
            "neighbour_search": {
                "method": "exact: one flat search over the QI union, refined per secret",
                "candidates": self._nearest.candidates,
                "fallback_targets": dict(self._nearest.fallback),
            },
        }
        if errors:
            details["_error"] = True
            details["_message"] = "; ".join(f"secret {c!r}: {m}" for c, m in errors.items())
        return metrics, details

    def _neighbour_search(
        self, secrets: list[str], t_rows: np.ndarray, h_rows: np.ndarray
    ) -> QINeighbours:
        """Every target's nearest synthetic row in each secret's QI space (one shared search;
        see :mod:`attacks.qi_neighbors`). Rows: training targets first, then holdout targets."""
        d = self.data
        syn = d.tables["synthetic"]
        qi = list(d.qi if d.qi is not None else d.geometry.columns)
        usable = [s for s in secrets if [c for c in qi if c != s]]
        queries = np.concatenate([d.tables["train"].X[t_rows], d.tables["holdout"].X[h_rows]])
        base = syn.X if self._syn_rows is None else syn.X[self._syn_rows]
        if not usable or not qi:
            return QINeighbours({}, {}, 0)
        return nearest_per_secret(
            d.geometry, base, queries, qi, usable, k=self.candidates, threads=d.n_jobs
        )

    # ------------------------------------------------------------------------------------
    def _one(
        self, secret: str, t_rows: np.ndarray, h_rows: np.ndarray, conf: float
    ) -> tuple[Metric, Metric]:
        """Risk and excess for one secret. Reads the shared data only, so secrets can run in
        parallel threads."""
        d = self.data
        geo = d.geometry
        tr, ho, syn = d.tables["train"], d.tables["holdout"], d.tables["synthetic"]
        qi = [c for c in (d.qi if d.qi is not None else geo.columns) if c != secret]
        if not qi:
            raise AttackCannotRun("no quasi-identifier column left besides the secret")
        sr = getattr(self, "_syn_rows", None)
        s_syn = syn.values[secret] if sr is None else syn.values[secret][sr]
        if _n_distinct(s_syn) < 2:
            raise AttackCannotRun("a single value in the synthetic table; nothing to infer")
        numeric = geo.types[secret] != "categorical"
        tol = 0.0
        if numeric:
            lo, hi = geo.ranges[secret]
            tol = self.tolerance * (hi - lo)
        truth_t, truth_h = tr.values[secret][t_rows], ho.values[secret][h_rows]

        def hit(guess: np.ndarray, truth: np.ndarray) -> np.ndarray:
            if not numeric:
                return guess == truth
            both_nan = np.isnan(guess) & np.isnan(truth)
            with np.errstate(invalid="ignore"):
                return both_nan | (np.abs(guess - truth) <= tol)

        # neighbour guess in QI space (computed for every secret at once in _run)
        near = self._nearest.nearest[secret]
        i_t, i_h = near[: t_rows.size], near[t_rows.size :]
        results = {"neighbour": (hit(s_syn[i_t], truth_t), hit(s_syn[i_h], truth_h))}
        # model guess
        f_syn = syn.value_matrix(qi) if sr is None else syn.value_matrix(qi)[sr]
        all_t, all_h = d.train_rows, d.holdout_rows
        f_t, f_h = tr.value_matrix(qi)[all_t], ho.value_matrix(qi)[all_h]
        truth_all_t, truth_all_h = tr.values[secret][all_t], ho.values[secret][all_h]
        if numeric:
            ok = ~np.isnan(s_syn)
            model = DecisionTreeRegressor(
                min_samples_leaf=self.min_samples_leaf, random_state=d.seed
            ).fit(f_syn[ok], s_syn[ok])
        else:
            model = DecisionTreeClassifier(
                min_samples_leaf=self.min_samples_leaf, random_state=d.seed
            ).fit(f_syn, s_syn)
        results["model"] = (
            hit(model.predict(f_t), truth_all_t),
            hit(model.predict(f_h), truth_all_h),
        )
        # base rate
        if numeric:
            base_guess = np.full(truth_all_t.size, np.nanmedian(s_syn))
        else:
            vals, cnt = np.unique(s_syn, return_counts=True)
            base_guess = np.full(truth_all_t.size, vals[np.argmax(cnt)])
        baseline = float(hit(base_guess, truth_all_t).mean())

        per: dict[str, tuple[Estimate, float, float, int, int]] = {}
        for g, (a_hits, c_hits) in results.items():
            per[g] = _risk(a_hits, c_hits, conf)
        best = max(GUESSES, key=lambda g: per[g][0].value)
        est, attack, control = per[best][:3]
        ctx = {
            "attack": attack,
            "control": control,
            "baseline": baseline,
            "n_attack": float(per[best][3]),
            "n_control": float(per[best][4]),
            "tolerance": tol,
            "guess_is_model": float(best == "model"),
        }
        for g in GUESSES:
            ctx[f"{g}_risk"] = per[g][0].value
            ctx[f"{g}_attack"] = per[g][1]
            ctx[f"{g}_control"] = per[g][2]
        risk = Metric(
            f"attribute.{secret}.risk",
            est,
            f"(attack - control) / (1 - control) inferring {secret!r} from {len(qi)} QI column(s)",
            null_value=0.0,
            context=ctx,
        )
        # The un-normalised excess: share of targets whose secret the synthetic data reveals
        # beyond what it reveals about unseen records. Unlike the risk it is not divided by
        # (1 - control), so it stays stable for secrets the other columns almost determine.
        a_hits, c_hits = results[best]
        excess = Metric(
            f"attribute.{secret}.excess",
            stats.difference(
                float(a_hits.sum()), a_hits.size, float(c_hits.sum()), c_hits.size, conf
            ),
            f"attack - control inferring {secret!r} from {len(qi)} QI column(s)",
            null_value=0.0,
            context=ctx,
        )
        return risk, excess


def _maximum(name: str, metrics: list[Metric], what: str) -> Metric:
    """The largest of several metrics, with a simultaneous interval for the maximum.

    The per-column intervals hold together (Bonferroni), so the true maximum lies between the
    largest lower bound and the largest upper bound: a check on the upper end then covers every
    column, not only the one with the largest point estimate.
    """
    worst = max(metrics, key=lambda m: m.estimate.value)
    highest = max(metrics, key=lambda m: m.estimate.ci_high)
    est = Estimate(
        worst.estimate.value,
        max(m.estimate.ci_low for m in metrics),
        highest.estimate.ci_high,
        worst.estimate.confidence,
        "max over columns; interval [max lower, max upper] of the Bonferroni intervals",
    )
    context = dict(worst.context)
    return Metric(
        name,
        est,
        f"the largest {what} ({worst.name}; upper bound from {highest.name})",
        null_value=0.0,
        context=context,
    )


def _risk(
    a_hits: np.ndarray, c_hits: np.ndarray, conf: float
) -> tuple[Estimate, float, float, int, int]:
    na, nc = a_hits.size, c_hits.size
    ka, kc = float(a_hits.sum()), float(c_hits.sum())
    attack, control = ka / na, kc / nc
    denom = max(1 - control, 1.0 / max(nc, 1))
    lo, hi = stats.newcombe_diff(ka, na, kc, nc, conf)
    risk = (attack - control) / denom
    clip = lambda x: float(min(max(x, -1.0), 1.0))  # noqa: E731
    est = Estimate(
        clip(risk),
        clip(min(lo / denom, risk)),
        clip(max(hi / denom, risk)),
        conf,
        "newcombe/(1-control), bonferroni",
    )
    return est, attack, control, na, nc


def _n_distinct(v: np.ndarray) -> int:
    if v.dtype.kind == "f":
        u = np.unique(v[~np.isnan(v)])
        return u.size + int(np.isnan(v).any())
    return int(np.unique(v).size)
