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

**Epsilon (conditional, tighter at the tail).** The second inequality alone, on the event
``S = {score >= t}``, reads ``P_in(S) <= e^eps P_out(S) + delta``; an exact conditional test of it
on the two counts (``privsynth.dpaudit.conditional``: Fisher's noncentral hypergeometric law with
a Berger-Boos interval for the nuisance rate) bounds the *ratio* of the two rates instead of each
rate at half the error, which is what matters at the low-FPR tail. The method (Clopper-Pearson or
conditional), like the score, direction, threshold and inequality, is chosen on the selection
share, so the verdict is still one test evaluated once.

**Multiplicity.** Choosing the best of many thresholds (and scores, and test directions) on the
same runs and then quoting its confidence interval would overstate the bound. We split the runs of
each world into two halves by run index (runs are i.i.d., so this split is independent of the
scores): the score, direction and threshold are chosen on the first half, and the bound is
computed once, on the second half. On the selection share each candidate test is scored by the
bound it would give on the held-out runs, with its selection counts projected pessimistically
(heavy count minus one standard deviation, light count plus one, scaled to the held-out size), so
that a lucky tail on few selection runs is not preferred. The reported bound therefore holds at the stated confidence.
The null study in ``tests/test_dpaudit_bounds.py`` measures the false-alarm rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from privsynth.dpaudit import conditional as cond
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


MAX_THRESHOLDS = 400  # candidate thresholds per direction (all of them at each tail)
MIN_LIGHT_HITS = 3  # selection-run light hits below which the conditional test is not a candidate


@dataclass(frozen=True, kw_only=True)
class Bound:
    """The bound of one test: chosen on the selection share, computed on the held-out runs.

    ``method``: ``clopper-pearson`` (both inequalities, Bonferroni) or ``conditional`` (one
    inequality, ``heavy`` the world that the event favours). ``mu_lb`` is always
    Clopper-Pearson.
    """

    score: str
    direction: int  # +1: "in" when score >= threshold; -1: "in" when score <= threshold
    threshold: float
    method: str
    heavy: str  # conditional: "in" (event: predicted in) or "out" (its complement); else "either"
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
    if t.size > MAX_THRESHOLDS:  # keep every tail threshold, thin the middle (log-spaced ranks)
        half = np.geomspace(1, t.size, MAX_THRESHOLDS // 2).astype(np.int64) - 1
        t = t[np.unique(np.concatenate([half, t.size - 1 - half]))]
    fp, fn = rates(o, i, t)
    return t, fp, fn


def _select_mu(out: np.ndarray, inn: np.ndarray, level: float) -> tuple[int, float, float]:
    """(direction, threshold, mu bound on these runs) maximising the Clopper-Pearson mu bound."""
    best = (1, math.inf, -1.0)
    for direction in (1, -1):
        t, fp, fn = _candidates(out, inn, direction)
        mu = mu_from_rates(cp_upper(fp, out.size, level), cp_upper(fn, inn.size, level))
        j = int(np.argmax(mu))
        if mu[j] > best[2]:
            best = (direction, float(t[j] * direction), float(mu[j]))
    return best


def _projected_eps(
    hits_h: np.ndarray,
    m_h: int,
    hits_l: np.ndarray,
    m_l: int,
    n_h: int,
    n_l: int,
    delta: float,
    confidence: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted held-out bounds (Clopper-Pearson, conditional) of events with selection counts.

    ``hits_h`` of ``m_h`` heavy-world selection runs fall in the event, ``hits_l`` of ``m_l``
    light ones; projected pessimistically to ``n_h``, ``n_l`` held-out runs.
    """
    xh = np.maximum(hits_h - np.sqrt(hits_h), 0.0) * (n_h / m_h)
    xl = (hits_l + np.sqrt(hits_l) + 1.0) * (n_l / m_l)
    xh, xl = np.minimum(xh, n_h), np.minimum(xl, n_l)
    level = 1.0 - (1.0 - confidence) / 2.0
    a, b = cp_upper_frac(xl, n_l, level), cp_upper_frac(n_h - xh, n_h, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        cp = np.nan_to_num(np.log(np.maximum(1.0 - delta - b, 0.0) / a), nan=0.0, neginf=0.0)
        ratio = np.exp(cond.approx_conditional_epsilon(xh, n_h, xl, n_l, confidence))
        ce = np.log(np.maximum(ratio - delta * n_l / np.maximum(xl, 1e-300), 1e-300))
    # the conditional test has no power when the light count is 0 (delta allows any ratio): it is
    # a candidate only where the selection runs already show a few light hits
    ce = np.where(hits_l >= MIN_LIGHT_HITS, ce, 0.0)
    return np.maximum(cp, 0.0), np.maximum(np.nan_to_num(ce, nan=0.0, neginf=0.0), 0.0)


def cp_upper_frac(k: np.ndarray, n: float, level: float) -> np.ndarray:
    """Clopper-Pearson upper bound at a (possibly fractional, projected) count ``k``."""
    k = np.asarray(k, dtype=float)
    out = np.ones_like(k)
    ok = k < n
    out[ok] = stats.beta.ppf(level, k[ok] + 1.0, n - k[ok])
    return out


@dataclass(frozen=True)
class Test:
    """One candidate test: score, direction, threshold, method and (conditional) heavy world."""

    score: str
    direction: int
    threshold: float
    method: str
    heavy: str
    predicted: float


def select_epsilon_test(
    name: str,
    sel: tuple[np.ndarray, np.ndarray],
    n_eval: tuple[int, int],
    delta: float,
    confidence: float,
) -> Test:
    """The test with the best predicted held-out epsilon bound, chosen on selection runs only."""
    o, i = sel
    n_o, n_i = n_eval
    best = Test(name, 1, math.inf, "clopper-pearson", "either", -1.0)
    for direction in (1, -1):
        t, fp, fn = _candidates(o, i, direction)
        cp_a, ce_in = _projected_eps(i.size - fn, i.size, fp, o.size, n_i, n_o, delta, confidence)
        cp_b, ce_out = _projected_eps(o.size - fp, o.size, fn, i.size, n_o, n_i, delta, confidence)
        options = (
            ("clopper-pearson", "either", np.maximum(cp_a, cp_b)),
            ("conditional", "in", ce_in),
            ("conditional", "out", ce_out),
        )
        for method, heavy, pred in options:
            j = int(np.argmax(pred))
            if pred[j] > best.predicted:
                best = Test(name, direction, float(t[j] * direction), method, heavy, float(pred[j]))
    return best


def evaluate(
    score: str,
    out: np.ndarray,
    inn: np.ndarray,
    direction: int,
    threshold: float,
    delta: float,
    confidence: float,
    method: str = "clopper-pearson",
    heavy: str = "either",
) -> Bound:
    """The bound of one fixed test (no selection) on the runs given."""
    level = 1.0 - (1.0 - confidence) / 2.0
    if direction == 1:
        fp, fn = int(np.sum(out >= threshold)), int(np.sum(inn < threshold))
    else:
        fp, fn = int(np.sum(out <= threshold)), int(np.sum(inn > threshold))
    a = float(cp_upper(fp, out.size, level))
    b = float(cp_upper(fn, inn.size, level))
    if method == "conditional":
        x_h, n_h, x_l, n_l = (
            (inn.size - fn, inn.size, fp, out.size)
            if heavy == "in"
            else (out.size - fp, out.size, fn, inn.size)
        )
        eps = cond.conditional_epsilon(x_h, n_h, x_l, n_l, delta=delta, confidence=confidence)
    else:
        eps = float(eps_from_rates(a, b, delta))
    return Bound(
        score=score,
        direction=direction,
        threshold=threshold,
        method=method,
        heavy=heavy,
        epsilon_lb=float(eps),
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
    """The verdict bound (test chosen on the selection share, bounded on the rest) and others."""

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
    if not 0.05 <= select_fraction <= 0.9:
        raise InputError(f"select_fraction must be in [0.05, 0.9], got {select_fraction}")
    if not scores:
        raise InputError("no scores to bound")
    level = 1.0 - (1.0 - confidence) / 2.0
    eps_tests, mu_picks, halves = [], [], {}
    for name, (out, inn) in scores.items():
        out, inn = np.asarray(out, dtype=float), np.asarray(inn, dtype=float)
        if out.size < 4 or inn.size < 4:
            raise InputError(
                f"score {name!r}: need at least 4 runs per world, got {out.size}, {inn.size}"
            )
        (o1, o2), (i1, i2) = split_halves(out, select_fraction), split_halves(inn, select_fraction)
        halves[name] = (o2, i2)
        eps_tests.append(select_epsilon_test(name, (o1, i1), (o2.size, i2.size), delta, confidence))
        direction, t, value = _select_mu(o1, i1, level)
        mu_picks.append((value, name, direction, t))

    def run(test: Test) -> Bound:
        o2, i2 = halves[test.score]
        return evaluate(
            test.score,
            o2,
            i2,
            test.direction,
            test.threshold,
            delta,
            confidence,
            test.method,
            test.heavy,
        )

    per_score = tuple(run(test) for test in eps_tests)
    chosen = max(range(len(eps_tests)), key=lambda k: eps_tests[k].predicted)
    _, name, direction, t = max(mu_picks, key=lambda c: c[0])
    o2, i2 = halves[name]
    return GameBounds(
        epsilon=per_score[chosen],
        mu=evaluate(name, o2, i2, direction, t, delta, confidence),
        per_score=per_score,
    )
