"""Membership inference: the attacker holds the synthetic table and reference data from the
population, and scores a target record; members (EVERY training record) should not score higher
than non-members (every holdout record). AUC and rates are size-free, so no record is dropped.

* distance score: minus the distance from the target to its nearest synthetic row
  (generative models that memorise put synthetic rows on top of training rows).
* density-ratio score (after DOMIAS, van Breugel et al. 2023): log synthetic density minus log
  reference density at the target, both from nearest-neighbour distances: log(r_ref + eps) -
  log(r_syn + eps), r the distance to the nearest (or mean log over the first ``density_k``)
  neighbour, eps a tenth of the median reference distance (so near-duplicates in dense regions
  do not dominate). Every search asks for ``k`` (5) neighbours although the scores read only
  the first (``density_k`` = 1): faiss ranks in float32, and the exact float64 refinement
  (:meth:`attacks.neighbors.NeighborIndex.search`) can only correct the order among the
  candidates it returns, so the extra ones make the first distance the exact nearest one where
  float32 misranks a near-tie (asking for 1 changed one reference distance, by 8e-8, in 4 of 10
  audits checked: Adult seed 1 of fresh, copies 3%, jitter 3% and mode collapse; none on seeds 0
  or on NLTCS; ``tests/test_attacks_unit.py``). Reference data are holdout rows; they are
  cross-fitted: the holdout is split in two folds, a target of fold A (member or not, members
  being assigned to folds at random) is scored against reference fold B, so no target is ever
  its own reference. Overfitting on rare records (the usual victims, Meeus et al. 2023) shows
  as a synthetic density that the population does not explain.

For each score: ROC AUC over all targets with DeLong's interval. For the distance score, given
the synthetic table, member and non-member scores are independent i.i.d. samples. The density
score's are not (a holdout record is a target and a reference row of the other fold's
targets), so its standard error is floored by a bootstrap that resamples holdout records in
both roles (:class:`ReferenceScores`; DeLong alone understated the spread by 10-20% on fresh
nulls). Thresholds for TPR at a
fixed FPR and for the advantage max(TPR - FPR) are chosen on one half of the targets and applied
to the other (both ways, pooled).

* TPR@FPR: the threshold keeps the true FPR at or below the target with 95% probability
  (Neyman-Pearson umbrella order statistic, Tong et al. 2018). That needs at least
  ceil(log 0.05 / log(1 - alpha)) non-members in each fitting half (299 at 1%, 2,995 at 0.1%):
  below that the level is *unsupported*: context ``supported = 0`` and the interval is [0, 1], so
  a check on it is INCONCLUSIVE, never a PASS. The interval includes the variability of the
  fitted threshold: it is the union of the exact (Clopper-Pearson) interval given the thresholds
  and a percentile bootstrap of the whole procedure (members and non-members resampled within
  their folds, thresholds refitted, ``n_boot`` resamples).
* advantage: Newcombe's interval of TPR - FPR on the evaluation halves (valid given the
  thresholds, which were fitted on the other half).
* ``epsilon_lower``: the smallest epsilon an (epsilon, delta)-DP generator must have for this
  test to exist (TPR <= e^eps FPR + delta and 1 - FPR <= e^eps (1 - TPR) + delta), evaluated at
  each cross-fitted threshold with one-sided Clopper-Pearson bounds (TPR low, FPR high) at
  level (1 - confidence) / (2 x thresholds) (Bonferroni over the thresholds and the two rates);
  the largest bound is reported as ``ci_low``. It is an audit lower bound: "no attack here
  demonstrates more than epsilon = ci_low" (Jagielski et al. 2020; Nasr et al. 2021).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from attacks import stats
from attacks.base import Attack
from attacks.config import AuditConfig, MembershipSettings
from attacks.context import AuditData
from attacks.errors import AttackCannotRun
from attacks.results import Estimate, Metric

N_VULNERABLE = 25
ROC_POINTS = 200
FPR_LEVELS = (("tpr_at_fpr_1pct", 0.01), ("tpr_at_fpr_0.1pct", 0.001))


def _split(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random balanced 0/1 fold label for n items."""
    f = np.zeros(n, dtype=np.int8)
    f[rng.permutation(n)[: n // 2]] = 1
    return f


def _fpr_threshold(neg: np.ndarray, alpha: float, delta: float = 0.05) -> float:
    """Threshold t (score > t means member) whose true FPR exceeds ``alpha`` with probability
    at most ``delta`` (Neyman-Pearson umbrella order statistic, Tong et al. 2018): t is the
    (j+1)-th largest non-member score with the largest j such that P(Binom(n, alpha) <= j) <=
    delta (j = 0 when none qualifies). The threshold is fitted on one half of the targets."""
    n = neg.size
    if n == 0:
        return math.inf
    j = _umbrella_rank(n, alpha, delta)
    return float(-np.partition(-neg, min(j, n - 1))[min(j, n - 1)])


@functools.lru_cache(maxsize=64)
def _umbrella_rank(n: int, alpha: float, delta: float) -> int:
    """The largest j with P(Binom(n, alpha) <= j) <= delta (0 when none): depends on the sizes
    only, so the bootstrap (which resamples within folds, sizes fixed) computes it once."""
    ok = np.flatnonzero(sps.binom.cdf(np.arange(n), n, alpha) <= delta)
    return int(ok[-1]) if ok.size else 0


def _advantage_threshold(pos: np.ndarray, neg: np.ndarray) -> float:
    """Threshold maximising TPR - FPR on (pos, neg), predicting member when score > t."""
    if pos.size == 0 or neg.size == 0:
        return math.inf
    cand = np.unique(np.concatenate([pos, neg]))
    pos_s, neg_s = np.sort(pos), np.sort(neg)
    tpr = 1 - np.searchsorted(pos_s, cand, side="right") / pos.size
    fpr = 1 - np.searchsorted(neg_s, cand, side="right") / neg.size
    gain = tpr - fpr
    best = int(np.argmax(gain))
    return float(cand[best]) if gain[best] > 0 else math.inf


def _min_nonmembers(alpha: float, delta: float = 0.05) -> int:
    """Fewest non-members for which the umbrella threshold at FPR ``alpha`` exists."""
    return int(math.ceil(math.log(delta) / math.log(1 - alpha)))


def _crossfit(
    score: np.ndarray, member: np.ndarray, fold: np.ndarray, *, advantage: bool = True
) -> dict[str, np.ndarray]:
    """Per threshold name: pooled evaluation counts (tp, P, fp, N) of the two cross-fits
    (``advantage=False``: the FPR levels only, as the bootstrap needs)."""
    counts = {name: np.zeros(4, dtype=np.int64) for name, _ in FPR_LEVELS}
    if advantage:
        counts["advantage"] = np.zeros(4, dtype=np.int64)
    for f in (0, 1):
        fit, ev = fold == f, fold != f
        pos_f, neg_f = score[fit & member], score[fit & ~member]
        pos_e, neg_e = score[ev & member], score[ev & ~member]
        thresholds = {name: _fpr_threshold(neg_f, a) for name, a in FPR_LEVELS}
        if advantage:
            thresholds["advantage"] = _advantage_threshold(pos_f, neg_f)
        for name, t in thresholds.items():
            counts[name] += (int((pos_e > t).sum()), pos_e.size, int((neg_e > t).sum()), neg_e.size)
    return counts


def _bootstrap_tpr(
    score: np.ndarray, member: np.ndarray, fold: np.ndarray, n_boot: int, seed: int
) -> dict[str, np.ndarray]:
    """TPR of each FPR level over resamples of the whole cross-fitted procedure."""
    rng = np.random.default_rng(seed)
    strata = [np.flatnonzero((member == m) & (fold == f)) for m in (True, False) for f in (0, 1)]
    out: dict[str, list[float]] = {name: [] for name, _ in FPR_LEVELS}
    for _ in range(n_boot):
        take = np.concatenate([s[rng.integers(0, s.size, s.size)] for s in strata if s.size])
        c = _crossfit(score[take], member[take], fold[take], advantage=False)
        for name, _ in FPR_LEVELS:
            out[name].append(c[name][0] / max(c[name][1], 1))
    return {k: np.asarray(v) for k, v in out.items()}


def _epsilon(counts: dict[str, np.ndarray], confidence: float, delta: float) -> Estimate:
    """Epsilon lower bound over the thresholds (see the module docstring)."""
    alpha = (1 - confidence) / (2 * len(counts))
    point, bound = 0.0, 0.0
    for tp, p, fp, n in counts.values():
        if p == 0 or n == 0:
            continue
        point = max(point, stats.epsilon_from_rates(tp / p, fp / n, delta))
        tpr_lo, _ = stats.clopper_pearson_one_sided(int(tp), int(p), alpha)
        _, fpr_hi = stats.clopper_pearson_one_sided(int(fp), int(n), alpha)
        bound = max(bound, stats.epsilon_from_rates(tpr_lo, fpr_hi, delta))
    bound = min(bound, point)
    return Estimate(point, bound, stats.EPS_CAP, confidence, "clopper-pearson lower bound")


def membership_metrics(
    prefix: str,
    score: np.ndarray,
    member: np.ndarray,
    fold: np.ndarray,
    confidence: float = 0.95,
    tie_seed: int = 0,
    n_boot: int = 200,
    delta: float = 1e-6,
    auc_se_floor: float = 0.0,
) -> tuple[list[Metric], dict[str, Any]]:
    """AUC, cross-fitted TPR@FPR and advantage, and the epsilon lower bound for a score
    (higher = more likely member). The AUC counts ties as one half; its standard error is at
    least ``auc_se_floor`` (the density score's reference bootstrap). For thresholds, ties are
    broken at random (seeded by ``tie_seed``): a randomised decision at a tied threshold, so
    that under no leak the TPR at a target FPR is that FPR even when many targets tie."""
    pos_all, neg_all = score[member], score[~member]
    auc = stats.auc_delong(pos_all, neg_all, confidence, se_floor=auc_se_floor)
    rng = np.random.default_rng(tie_seed)
    order = np.lexsort((rng.random(score.size), score))
    score = np.empty(score.size, dtype=np.float64)
    score[order] = np.arange(score.size, dtype=np.float64)  # distinct ranks, ties at random
    counts = _crossfit(score, member, fold)
    boot = _bootstrap_tpr(score, member, fold, n_boot, tie_seed + 1) if n_boot > 0 else {}
    ctx_base = {"n_members": float(pos_all.size), "n_nonmembers": float(neg_all.size)}
    tp, p, fp, n = (int(v) for v in counts["advantage"])
    metrics = [
        Metric(
            f"{prefix}.auc",
            auc,
            f"ROC AUC of the {prefix.split('.')[-1]} membership score",
            null_value=0.5,
            context=ctx_base,
        ),
        Metric(
            f"{prefix}.advantage",
            stats.difference(tp, p, fp, n, confidence),
            "TPR - FPR at the threshold maximising it on the other half of the targets",
            null_value=0.0,
            context={**ctx_base, "tpr": tp / max(p, 1), "fpr": fp / max(n, 1)},
        ),
    ]
    fit_neg = min(int(((fold == f) & ~member).sum()) for f in (0, 1))
    for name, alpha in FPR_LEVELS:
        metrics.append(
            _tpr_metric(
                prefix, name, alpha, counts[name], boot.get(name), fit_neg, ctx_base, confidence
            )
        )
    metrics.append(
        Metric(
            f"{prefix}.epsilon_lower",
            _epsilon(counts, confidence, delta),
            "epsilon lower bound implied by the cross-fitted tests (ci_low: the bound)",
            null_value=0.0,
            context={**ctx_base, "delta": delta},
        )
    )
    return metrics, {"roc": _roc(pos_all, neg_all)}


def _tpr_metric(
    prefix: str,
    name: str,
    alpha: float,
    c: np.ndarray,
    boot: np.ndarray | None,
    fit_neg: int,
    ctx_base: dict[str, float],
    confidence: float,
) -> Metric:
    tp, p, fp, n = (int(v) for v in c)
    need = _min_nonmembers(alpha)
    est = stats.proportion(tp, p, "clopper-pearson", confidence)
    supported = fit_neg >= need
    if not supported:
        est = Estimate(est.value, 0.0, 1.0, confidence, "unsupported")
    elif boot is not None and boot.size:
        a = (1 - confidence) / 2
        lo, hi = np.quantile(boot, [a, 1 - a])
        est = Estimate(
            est.value,
            float(min(est.ci_low, lo)),
            float(max(est.ci_high, hi)),
            confidence,
            "clopper-pearson + bootstrap (threshold refitted)",
        )
    text = f"TPR at a threshold set for FPR {alpha:g} on the other half of the targets"
    if not supported:
        # the need is a constant; the count (a private size) stays in context, which a public
        # report strips (reports/provenance.py)
        text += f" (not supported: needs {need:,} non-members per fitting half)"
    return Metric(
        f"{prefix}.{name}",
        est,
        text,
        null_value=alpha,
        context={
            **ctx_base,
            "target_fpr": alpha,
            "realised_fpr": fp / max(n, 1),
            "supported": float(supported),
            "nonmembers_per_half": float(fit_neg),
            "nonmembers_needed": float(need),
        },
    )


def _roc(pos: np.ndarray, neg: np.ndarray) -> dict[str, list[float]]:
    thr = np.unique(np.concatenate([pos, neg]))[::-1]
    pos_s, neg_s = np.sort(pos), np.sort(neg)
    tpr = (pos.size - np.searchsorted(pos_s, thr, side="left")) / max(pos.size, 1)
    fpr = (neg.size - np.searchsorted(neg_s, thr, side="left")) / max(neg.size, 1)
    tpr = np.concatenate([[0.0], tpr])
    fpr = np.concatenate([[0.0], fpr])
    if fpr.size > ROC_POINTS:
        keep = np.unique(
            np.concatenate(
                [
                    np.searchsorted(fpr, np.geomspace(1e-4, 1, ROC_POINTS // 2)),
                    np.linspace(0, fpr.size - 1, ROC_POINTS // 2).astype(int),
                ]
            ).clip(0, fpr.size - 1)
        )
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": [float(v) for v in fpr], "tpr": [float(v) for v in tpr]}


@dataclass(frozen=True)
class ReferenceScores:
    """The density score's ingredients per target (members first, then holdout records), for
    rescoring under a resampled reference.

    A holdout record is both a non-member target and a reference row for the targets of the
    other fold (cross-fitting), so the non-member scores are not independent given the
    synthetic table: two close holdout records in different folds each give the other a small
    reference distance. DeLong's variance treats the scores as independent and understated the
    AUC's spread by 10-20% on fresh nulls (SD / mean DeLong SE 1.14 on Adult, 1.19 on NLTCS,
    1.12 on Titanic, 100 seeds each; docs/attacks.md). The bootstrap resamples members within
    their folds and holdout records within theirs, and a resampled holdout record carries its
    weight in both roles: a target's reference distances become the first ``density_k`` of its
    ``k`` nearest reference rows counted with their bootstrap multiplicity (the k-th when fewer
    are drawn: probability e^-k per target, 0.7% at k = 5).

    ``log_dist`` / ``rows``: (targets, k) log(reference distance + eps) and the reference rows'
    holdout positions; ``syn_logr``: the fixed synthetic side; ``fold``: each target's fold
    (members' and the holdout's own)."""

    log_dist: np.ndarray
    rows: np.ndarray
    syn_logr: np.ndarray
    member: np.ndarray
    fold: np.ndarray
    density_k: int

    def scores(self, w_holdout: np.ndarray) -> np.ndarray:
        """Scores with reference rows weighted by ``w_holdout`` (counts; ones: the sample)."""
        cw = np.cumsum(w_holdout[self.rows], axis=1)
        logr = np.zeros(self.log_dist.shape[0])
        last = self.log_dist.shape[1] - 1
        for j in range(self.density_k):
            have = cw > j
            col = np.where(have[:, -1], have.argmax(axis=1), last)
            logr += np.take_along_axis(self.log_dist, col[:, None], axis=1)[:, 0]
        return logr / self.density_k - self.syn_logr

    def auc_bootstrap_se(self, n_boot: int, seed: int) -> float:
        rng = np.random.default_rng(seed)
        n_m = int(self.member.sum())
        fold_m, fold_h = self.fold[:n_m], self.fold[n_m:]
        out = np.empty(n_boot)
        for b in range(n_boot):
            w_m, w_h = _resample_counts(fold_m, rng), _resample_counts(fold_h, rng)
            s = self.scores(w_h)
            out[b] = stats.weighted_auc(s[:n_m], w_m, s[n_m:], w_h)
        return float(out.std(ddof=1))


def _resample_counts(fold: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap multiplicities of n items, resampled within each fold (sizes kept)."""
    w = np.zeros(fold.size, np.int64)
    for f in (0, 1):
        s = np.flatnonzero(fold == f)
        if s.size:
            w += np.bincount(s[rng.integers(0, s.size, s.size)], minlength=fold.size)
    return w


class _MembershipAttack(Attack):
    kind = "distance"

    def __init__(self, data: AuditData, config: AuditConfig | None = None) -> None:
        super().__init__(data, config)
        self.settings = self.own_settings(self.config)
        self.k = self.settings.k
        self.n_boot = self.settings.n_boot

    @staticmethod
    def own_settings(config: AuditConfig) -> MembershipSettings:
        return config.membership_distance

    def _scores(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _auc_se_floor(self, seed: int) -> float:
        """The distance score's targets are i.i.d. given the synthetic table: DeLong alone."""
        return 0.0

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:
        d = self.data
        d.require_rows(self.name)
        d.fuse_distance_searches()
        s_mem, s_non = self._scores()
        score = np.concatenate([s_mem, s_non])
        member = np.concatenate([np.ones(s_mem.size, bool), np.zeros(s_non.size, bool)])
        rng = np.random.default_rng(d.seed + 17)
        fold = np.concatenate([_split(s_mem.size, rng), _split(s_non.size, rng)])
        metrics, details = membership_metrics(
            self.name,
            score,
            member,
            fold,
            self.confidence,
            tie_seed=d.seed + 53,
            n_boot=self.n_boot,
            auc_se_floor=self._auc_se_floor(d.seed + 61),
        )
        top = np.argsort(-s_mem, kind="stable")[:N_VULNERABLE]
        rows = d.original_rows("train_all")
        details["vulnerable"] = [{"row": int(rows[i]), "score": float(s_mem[i])} for i in top]
        return metrics, details


class DistanceMembershipAttack(_MembershipAttack):
    """Score = - distance to the nearest synthetic row."""

    name = "membership.distance"

    def _scores(self) -> tuple[np.ndarray, np.ndarray]:
        d = self.data
        dm, _ = d.neighbors("train_all", "synthetic", self.k)
        dn, _ = d.neighbors("holdout_all", "synthetic", self.k)
        return -dm[:, 0], -dn[:, 0]


class DensityMembershipAttack(_MembershipAttack):
    """Score = log p_synthetic(x) - log p_reference(x), kNN estimates, cross-fitted reference."""

    name = "membership.density"

    def __init__(self, data: AuditData, config: AuditConfig | None = None) -> None:
        super().__init__(data, config)
        self.density_k = self.settings.density_k
        self.eps = float(self.settings.eps)  # relative to the median reference NN distance

    @staticmethod
    def own_settings(config: AuditConfig) -> MembershipSettings:
        return config.membership_density

    def _logr(self, dist: np.ndarray, eps: float) -> np.ndarray:
        return np.log(dist[:, : self.density_k] + eps).mean(axis=1)

    def _scores(self) -> tuple[np.ndarray, np.ndarray]:
        d = self.data
        k = self.k
        dm, _ = d.neighbors("train_all", "synthetic", k)
        dn, _ = d.neighbors("holdout_all", "synthetic", k)
        rng = np.random.default_rng(d.seed + 29)
        hfold = _split(dn.shape[0], rng)
        mfold = _split(dm.shape[0], rng)
        xm, xh = d.query_matrix("train_all"), d.query_matrix("holdout_all")
        cm, ch = d.query_codes("train_all"), d.query_codes("holdout_all")
        kk = min(k, *(int((hfold != f).sum()) for f in (0, 1)))
        ref_m, ref_n = np.empty((dm.shape[0], kk)), np.empty((dn.shape[0], kk))
        at_m, at_n = np.empty((dm.shape[0], kk), np.int64), np.empty((dn.shape[0], kk), np.int64)
        for f in (0, 1):
            base = xh[hfold != f]
            if base.shape[0] < 1:
                raise AttackCannotRun(f"{self.name}: holdout too small for a reference fold")
            index = d.build_index(base, f"holdout_fold{f}", ch[hfold != f])
            q = np.concatenate([xm[mfold == f], xh[hfold == f]])
            qc = np.concatenate([cm[mfold == f], ch[hfold == f]])
            d.record_recall(index, q, f"holdout_fold{f}")
            # k, not density_k: the k - density_k extra candidates are the exact refinement's
            # margin (module docstring); only the first density_k enter the score
            dist, at = index.search(q, k, query_codes=qc)
            at = np.flatnonzero(hfold != f)[at[:, :kk]]  # reference rows as holdout positions
            nm = int((mfold == f).sum())
            ref_m[mfold == f], at_m[mfold == f] = dist[:nm, :kk], at[:nm]
            ref_n[hfold == f], at_n[hfold == f] = dist[nm:, :kk], at[nm:]
        eps = self.eps * max(float(np.median(np.concatenate([ref_m[:, 0], ref_n[:, 0]]))), 1e-9)
        syn_m, syn_n = self._logr(dm, eps), self._logr(dn, eps)
        self._reference = ReferenceScores(
            np.log(np.concatenate([ref_m, ref_n]) + eps),
            np.concatenate([at_m, at_n]),
            np.concatenate([syn_m, syn_n]),
            np.concatenate([np.ones(dm.shape[0], bool), np.zeros(dn.shape[0], bool)]),
            np.concatenate([mfold, hfold]),
            self.density_k,
        )
        # log density ~ -dim * log r: score = dim-free log r_ref - log r_syn
        score = self._reference.scores(np.ones(dn.shape[0]))
        return score[: dm.shape[0]], score[dm.shape[0] :]

    def _auc_se_floor(self, seed: int) -> float:
        """The bootstrap standard error of the AUC over resampled targets AND references
        (:class:`ReferenceScores`); 0 without resamples."""
        if self.n_boot < 2:
            return 0.0
        return self._reference.auc_bootstrap_se(self.n_boot, seed)
