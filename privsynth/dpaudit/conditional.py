"""An exact conditional test of the DP inequality on one event: a tighter rigorous epsilon bound.

Fix an event ``S`` of the output (a score above a threshold). (epsilon, delta)-DP says, for the
world where ``S`` is likelier ("heavy") and the other ("light"),

    p_h <= e^epsilon p_l + delta,            p_h = P_heavy(S), p_l = P_light(S).

The game gives independent counts ``X_h ~ Bin(n_h, p_h)`` and ``X_l ~ Bin(n_l, p_l)``.
Clopper-Pearson with Bonferroni (``bounds``) bounds ``p_l`` from above and ``p_h`` from below
separately, each at half the error: at the low-FPR tail, where the evidence is, both intervals are
wide. The conditional test uses the *ratio* directly. Given ``K = X_h + X_l = k``, ``X_h``
follows Fisher's noncentral hypergeometric law with odds ratio

    psi = [p_h / (1 - p_h)] / [p_l / (1 - p_l)],

whatever ``p_l`` is, and its upper tail grows with ``psi``. Under the DP inequality
``psi <= (e^eps + delta / p_l) (1 - p_l) / (1 - e^eps p_l - delta)``, which still depends on the
nuisance ``p_l``. Berger and Boos (1994): take a two-sided Clopper-Pearson interval
``[lo, hi]`` for ``p_l`` at level ``1 - beta``; on it

    psi <= psi_max = (e^eps + delta / lo) (1 - lo) / (1 - e^eps hi - delta),

and ``p = P_{psi_max}(X_h >= x_h | k) + beta`` is a valid p-value for "(eps, delta)-DP holds on
S". The bound is the largest epsilon it rejects at ``1 - confidence`` (the p-value grows with
epsilon, so bisection finds it). ``beta`` is a tenth of the error by default.

With ``X_l = 0`` the interval reaches 0 and the test has no power (delta alone allows any ratio):
there Clopper-Pearson's "no false positive at all" bound is the stronger one, so the audit picks
the method with the test, on the selection share (``bounds``), never after seeing the held-out
runs.

``ceiling``: the bound a perfect distinguisher of a mu-GDP mechanism (worlds N(0, 1) and
N(mu, 1)) would get with the given held-out runs, at expected counts, by either method: the most
any attack can show at that run count. A ratio near it means the attack is not what limits the
audit; only more runs (or a larger delta) can.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

BETA_SHARE = 0.1  # share of the error spent on the nuisance interval (Berger-Boos)


def psi_max(epsilon: float, delta: float, lo: float, hi: float) -> float:
    """Largest odds ratio (heavy vs light) the DP inequality allows for ``p_l`` in ``[lo, hi]``."""
    e = math.exp(epsilon)
    den = 1.0 - e * hi - delta
    if lo <= 0.0 or den <= 0.0:
        return math.inf
    return (e + delta / lo) * (1.0 - lo) / den


def _light_interval(x_l: int, n_l: int, beta: float) -> tuple[float, float]:
    lo = 0.0 if x_l == 0 else float(stats.beta.ppf(beta / 2, x_l, n_l - x_l + 1))
    hi = 1.0 if x_l == n_l else float(stats.beta.ppf(1 - beta / 2, x_l + 1, n_l - x_l))
    return lo, hi


def p_value(
    epsilon: float,
    x_h: int,
    n_h: int,
    x_l: int,
    n_l: int,
    delta: float,
    beta: float,
    interval: tuple[float, float] | None = None,
) -> float:
    """Berger-Boos p-value of "(epsilon, delta)-DP holds on this event" given the two counts."""
    lo, hi = interval if interval is not None else _light_interval(x_l, n_l, beta)
    psi = psi_max(epsilon, delta, lo, hi)
    if not math.isfinite(psi) or x_h == 0:
        return 1.0
    tail = float(stats.nchypergeom_fisher.sf(x_h - 1, n_h + n_l, n_h, x_h + x_l, psi))
    return min(1.0, tail + beta)


def conditional_epsilon(
    x_h: int,
    n_h: int,
    x_l: int,
    n_l: int,
    *,
    delta: float,
    confidence: float = 0.95,
    beta_share: float = BETA_SHARE,
    tol: float = 1e-4,
) -> float:
    """Largest epsilon the conditional test rejects at ``confidence`` (0 when it rejects none)."""
    gamma = 1.0 - confidence
    beta = gamma * beta_share
    interval = _light_interval(x_l, n_l, beta)
    if p_value(0.0, x_h, n_h, x_l, n_l, delta, beta, interval) > gamma:
        return 0.0
    hi = interval[1]
    top = math.log(max((1.0 - delta) / hi, 1.0 + 1e-12))
    lo_e, hi_e = 0.0, top
    while hi_e - lo_e > tol:
        mid = 0.5 * (lo_e + hi_e)
        if p_value(mid, x_h, n_h, x_l, n_l, delta, beta, interval) <= gamma:
            lo_e = mid
        else:
            hi_e = mid
    return lo_e


def approx_conditional_epsilon(
    x_h: np.ndarray, n_h: float, x_l: np.ndarray, n_l: float, confidence: float = 0.95
) -> np.ndarray:
    """A fast stand-in (vectorised, for choosing a test only): a Clopper-Pearson lower bound on
    ``X_h / K`` converted to a rate ratio, ignoring delta and the nuisance interval."""
    x_h = np.asarray(x_h, dtype=float)
    x_l = np.asarray(x_l, dtype=float)
    k = x_h + x_l
    out = np.zeros_like(k)
    ok = (x_h > 0) & (x_l > 0)
    q = stats.beta.ppf(1.0 - confidence, x_h[ok], x_l[ok] + 1.0)
    with np.errstate(divide="ignore"):
        out[ok] = np.log(q / (1.0 - q) * n_l / n_h)
    return np.maximum(np.nan_to_num(out, nan=0.0, neginf=0.0), 0.0)


def ceiling(
    mu: float, n: int, *, delta: float, confidence: float = 0.95, points: int = 9
) -> dict[str, float]:
    """The epsilon bounds a perfect distinguisher of mu-GDP gets from ``n`` held-out runs per world.

    Thresholds ``t`` on N(0, 1) vs N(mu, 1), expected counts (rounded); the best over ``t`` for
    Clopper-Pearson (every t) and for the conditional test (``points`` thresholds around the
    Clopper-Pearson optimum and the mid tail).
    """
    from privsynth.dpaudit.bounds import cp_upper, eps_from_rates

    t = np.linspace(0.0, 6.0, 241)
    fp = np.round(n * stats.norm.sf(t))
    tp = np.round(n * stats.norm.sf(t - mu))
    level = 1.0 - (1.0 - confidence) / 2.0
    cp = eps_from_rates(cp_upper(fp, n, level), cp_upper(n - tp, n, level), delta)
    approx = approx_conditional_epsilon(tp, n, fp, n, confidence)
    picks = np.unique(
        np.clip(
            np.concatenate([[int(np.argmax(approx))], np.argsort(-approx)[: points - 1]]),
            0,
            t.size - 1,
        )
    )
    cond = max(
        conditional_epsilon(int(tp[j]), n, int(fp[j]), n, delta=delta, confidence=confidence)
        for j in picks
    )
    return {
        "mu": mu,
        "runs_held_out": n,
        "clopper_pearson": float(cp.max()),
        "conditional": float(cond),
        "best": float(max(cp.max(), cond)),
    }
