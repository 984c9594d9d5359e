"""Empirical privacy lower bounds from the two score distributions of a distinguishing game.

The game (``privsynth.dpaudit.game``) runs a generator ``N`` times on a base table ``D`` ("out")
and ``N`` times on ``D`` plus one canary record ("in"), and scores every output: a high score says
"the canary was in". A threshold ``t`` turns a score into a test, "in" when ``score >= t``, with

    FPR(t) = P_out(score >= t)        FNR(t) = P_in(score < t).

**Epsilon (rigorous).** If the generator is (epsilon, delta)-DP then every test satisfies
(Kairouz, Oh and Viswanath 2015; used for auditing by Jagielski et al. 2020 and Nasr et al. 2021)

    FPR + e^epsilon FNR >= 1 - delta     and     FNR + e^epsilon FPR >= 1 - delta,

so, with one-sided Clopper-Pearson upper bounds ``a >= FPR`` and ``b >= FNR`` that hold jointly
with probability ``confidence`` (each at ``1 - (1 - confidence) / 2``, Bonferroni),

    epsilon >= max( log((1 - delta - a) / b), log((1 - delta - b) / a), 0 ).

**Gaussian DP mu (rigorous for the mu-GDP claim, an estimate otherwise).** A mu-GDP mechanism
(Dong, Roth and Su 2022) has trade-off curve ``FNR >= Phi(Phi^-1(1 - FPR) - mu)``, so

    mu >= Phi^-1(1 - a) - Phi^-1(b)      (and the same with a and b swapped).

A Gaussian mechanism under rho-zCDP is exactly sqrt(2 rho)-GDP; our synthesizers compose Gaussian
measurements with exponential-mechanism selections, for which sqrt(2 rho) is the Gaussian
equivalent, not a proved GDP bound. So the *verdict* uses epsilon only; mu is reported with its
ratio to sqrt(2 rho) as the tightness measure the tight-auditing literature uses.

**Multiplicity.** Choosing the best of many thresholds (and scores, and test directions) on the
same runs and then quoting its confidence interval would overstate the bound. We split the runs of
each world into two halves by run index (runs are i.i.d., so this split is independent of the
scores): the score, direction and threshold are chosen on the first half, and the bound is
computed once, on the second half. The reported bound therefore holds at the stated confidence.
The null study in ``tests/test_dpaudit_bounds.py`` measures the false-alarm rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from privsynth.errors import InputError


def cp_upper(k: np.ndarray | int, n: int, level: float) -> np.ndarray:
    """One-sided Clopper-Pearson upper bound on a binomial rate: ``P(rate <= bound) >= level``."""
    k = np.asarray(k, dtype=float)
    out = np.ones_like(k)
    ok = k < n
    out[ok] = stats.beta.ppf(level, k[ok] + 1.0, n - k[ok])
    return out


def eps_from_rates(a: np.ndarray, b: np.ndarray, delta: float) -> np.ndarray:
    """Largest epsilon that rates ``FPR <= a``, ``FNR <= b`` rule out at ``delta`` (0 if none)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = np.log(np.maximum(1.0 - delta - a, 0.0) / b)
        e2 = np.log(np.maximum(1.0 - delta - b, 0.0) / a)
    return np.maximum(np.nan_to_num(np.fmax(e1, e2), nan=0.0, neginf=0.0), 0.0)


def mu_from_rates(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest mu that rates ``FPR <= a``, ``FNR <= b`` rule out for mu-GDP (0 if none)."""
    a = np.clip(np.asarray(a, dtype=float), 1e-300, 1.0)
    b = np.clip(np.asarray(b, dtype=float), 1e-300, 1.0)
    m1 = stats.norm.isf(a) - stats.norm.ppf(b)
    m2 = stats.norm.isf(b) - stats.norm.ppf(a)
    return np.maximum(np.fmax(m1, m2), 0.0)


def gdp_epsilon(mu: float, delta: float) -> float:
    """The epsilon at ``delta`` of mu-GDP: solves delta = Phi(-e/mu + mu/2) - e^e Phi(-e/mu - mu/2)."""
    if mu <= 0:
        return 0.0

    def delta_at(e: float) -> float:
        return float(
            stats.norm.cdf(-e / mu + mu / 2) - math.exp(e) * stats.norm.cdf(-e / mu - mu / 2)
        )

    if delta_at(0.0) <= delta:
        return 0.0
    lo, hi = 0.0, 1.0
    while delta_at(hi) > delta:
        hi *= 2.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if delta_at(mid) > delta else (lo, mid)
    return hi


def rates(
    out: np.ndarray, inn: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of false positives (out scores >= t) and false negatives (in scores < t) per t."""
    so, si = np.sort(out), np.sort(inn)
    fp = so.size - np.searchsorted(so, thresholds, side="left")
    fn = np.searchsorted(si, thresholds, side="left")
    return fp, fn


@dataclass(frozen=True, kw_only=True)
class Bound:
    """The bound of one score: chosen on the selection half, computed on the evaluation half."""

    score: str
    direction: int  # +1: "in" when score >= threshold; -1: "in" when score <= threshold
    threshold: float
    epsilon_lb: float
    mu_lb: float
    false_positives: int
    false_negatives: int
    n_out: int
    n_in: int
    fpr_upper: float
    fnr_upper: float
    confidence: float
    delta: float

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _candidates(out: np.ndarray, inn: np.ndarray, direction: int) -> tuple[np.ndarray, ...]:
    """Thresholds (every distinct score, plus one above all) and the test's counts on them."""
    o, i = direction * out, direction * inn
    t = np.unique(np.concatenate([o, i]))
    t = np.append(t, t[-1] + 1.0) if t.size else np.array([0.0])
    fp, fn = rates(o, i, t)
    return t, fp, fn


def _select(
    out: np.ndarray, inn: np.ndarray, delta: float, level: float, target: str
) -> tuple[int, float, float]:
    """(direction, threshold, value) maximising the ``target`` bound ('epsilon' or 'mu')."""
    best = (1, math.inf, -1.0, -1.0)
    for direction in (1, -1):
        t, fp, fn = _candidates(out, inn, direction)
        a, b = cp_upper(fp, out.size, level), cp_upper(fn, inn.size, level)
        eps, mu = eps_from_rates(a, b, delta), mu_from_rates(a, b)
        key = (eps, mu) if target == "epsilon" else (mu, eps)
        j = int(np.lexsort((key[1], key[0]))[-1])
        if (key[0][j], key[1][j]) > (best[2], best[3]):
            best = (direction, float(t[j] * direction), float(key[0][j]), float(key[1][j]))
    return best[0], best[1], best[2]


def evaluate(
    score: str,
    out: np.ndarray,
    inn: np.ndarray,
    direction: int,
    threshold: float,
    delta: float,
    confidence: float,
) -> Bound:
    """The bound of one fixed test (no selection) on the runs given."""
    level = 1.0 - (1.0 - confidence) / 2.0
    if direction == 1:
        fp, fn = int(np.sum(out >= threshold)), int(np.sum(inn < threshold))
    else:
        fp, fn = int(np.sum(out <= threshold)), int(np.sum(inn > threshold))
    a = float(cp_upper(fp, out.size, level))
    b = float(cp_upper(fn, inn.size, level))
    return Bound(
        score=score,
        direction=direction,
        threshold=threshold,
        epsilon_lb=float(eps_from_rates(a, b, delta)),
        mu_lb=float(mu_from_rates(a, b)),
        false_positives=fp,
        false_negatives=fn,
        n_out=int(out.size),
        n_in=int(inn.size),
        fpr_upper=a,
        fnr_upper=b,
        confidence=confidence,
        delta=delta,
    )


def split_halves(x: np.ndarray, select_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The first ``select_fraction`` of the runs (by run index) for selection, the rest to bound."""
    h = min(max(int(x.size * select_fraction), 2), x.size - 2)
    return x[:h], x[h:]


@dataclass(frozen=True, kw_only=True)
class GameBounds:
    """The verdict bound (score and test chosen on half 1, bounded on half 2) and per-score ones."""

    epsilon: Bound  # the test chosen to maximise epsilon
    mu: Bound  # the test chosen to maximise mu
    per_score: tuple[Bound, ...]  # each score's own selected test (informative: not for a verdict)


def game_bounds(
    scores: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    delta: float,
    confidence: float = 0.95,
    select_fraction: float = 0.5,
) -> GameBounds:
    """Bounds from ``{score name: (out scores, in scores)}``, each array ordered by run index.

    The test is chosen on the first ``select_fraction`` of each world's runs and bounded on the
    rest (a smaller selection share leaves more runs for a tighter interval; a larger one picks
    the threshold better).
    """
    if not 0.5 <= confidence < 1:
        raise InputError(f"confidence must be in [0.5, 1), got {confidence}")
    if not 0.1 <= select_fraction <= 0.9:
        raise InputError(f"select_fraction must be in [0.1, 0.9], got {select_fraction}")
    if not scores:
        raise InputError("no scores to bound")
    level = 1.0 - (1.0 - confidence) / 2.0
    picks: dict[str, list[tuple[float, str, int, float]]] = {"epsilon": [], "mu": []}
    per_score = []
    for name, (out, inn) in scores.items():
        out, inn = np.asarray(out, dtype=float), np.asarray(inn, dtype=float)
        if out.size < 4 or inn.size < 4:
            raise InputError(
                f"score {name!r}: need at least 4 runs per world, got {out.size}, {inn.size}"
            )
        (o1, o2) = split_halves(out, select_fraction)
        (i1, i2) = split_halves(inn, select_fraction)
        for target in ("epsilon", "mu"):
            direction, t, value = _select(o1, i1, delta, level, target)
            picks[target].append((value, name, direction, t))
            if target == "epsilon":
                per_score.append(evaluate(name, o2, i2, direction, t, delta, confidence))
    chosen = {}
    for target, cands in picks.items():
        value, name, direction, t = max(cands, key=lambda c: c[0])
        out, inn = (np.asarray(v, dtype=float) for v in scores[name])
        o2, i2 = split_halves(out, select_fraction)[1], split_halves(inn, select_fraction)[1]
        chosen[target] = evaluate(name, o2, i2, direction, t, delta, confidence)
    return GameBounds(epsilon=chosen["epsilon"], mu=chosen["mu"], per_score=tuple(per_score))
