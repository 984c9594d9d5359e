"""Conversions between zCDP (rho) and approximate DP (epsilon, delta).

We use the bound of Canonne, Kamath and Steinke (2020, Proposition 12 / Corollary 13): a rho-zCDP
mechanism is (epsilon, delta)-DP with

    epsilon = min over alpha > 1 of  alpha*rho + (log(1/delta) + (alpha-1)*log(1-1/alpha) - log(alpha)) / (alpha-1)

It is tighter than the classic rho + 2*sqrt(rho*log(1/delta)), and a test checks it against OpenDP.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar


def _eps_at(alpha: float, rho: float, delta: float) -> float:
    return alpha * rho + (
        math.log(1.0 / delta) + (alpha - 1.0) * math.log1p(-1.0 / alpha) - math.log(alpha)
    ) / (alpha - 1.0)


def rho_to_epsilon(rho: float, delta: float) -> float:
    """Smallest epsilon such that rho-zCDP implies (epsilon, delta)-DP (CKS bound)."""
    if rho < 0 or not math.isfinite(rho):
        raise ValueError("rho must be finite and >= 0")
    if not 0 < delta < 1:
        raise ValueError("delta must be in (0, 1)")
    if rho == 0:
        return 0.0
    # The minimiser is near sqrt(log(1/delta)/rho); search log(alpha - 1) on a grid, then refine.
    grid = np.linspace(-12.0, 30.0, 421)
    vals = [_eps_at(1.0 + math.exp(t), rho, delta) for t in grid]
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize_scalar(
        lambda t: _eps_at(1.0 + math.exp(t), rho, delta),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-12},
    )
    best = min(float(res.fun), float(vals[i]))
    return max(best, 0.0)


def epsilon_to_rho(epsilon: float, delta: float) -> float:
    """Largest rho whose CKS conversion is at most (epsilon, delta); rounded down (conservative)."""
    if epsilon <= 0 or not math.isfinite(epsilon):
        raise ValueError("epsilon must be finite and > 0")
    lo, hi = 0.0, max(epsilon, 1.0)
    while rho_to_epsilon(hi, delta) < epsilon:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if rho_to_epsilon(mid, delta) <= epsilon:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * max(hi, 1e-300):
            break
    return lo


def pure_to_rho(epsilon: float) -> float:
    """An epsilon-DP mechanism is (epsilon^2 / 2)-zCDP (Bun and Steinke 2016, Prop. 1.4)."""
    return 0.5 * epsilon * epsilon


def exponential_mechanism_rho(epsilon: float) -> float:
    """The exponential mechanism at epsilon is (epsilon^2 / 8)-zCDP (bounded range; Cesar and Rogers 2021)."""
    return epsilon * epsilon / 8.0
