"""Scores: how strongly one run's output suggests the canary was in the input (higher = "in").

Any function of the output is a valid score: the bound (``bounds``) holds whatever the score, and a
better score only makes it tighter. Black-box scores read the synthetic table only (any generator):

- ``count``: synthetic rows equal to the canary in every column;
- ``density``: the canary's cells of the one-way marginals (which every marginal-based method
  measures), as a standardised excess over what the base table predicts: with ``s_j`` synthetic
  rows sharing the canary's value in column j, ``m`` synthetic rows and ``f_j`` the value's share
  of the base, ``sum_j (s_j - m f_j) / sqrt(m f_j + 1)``, so a value absent from the base weighs
  most;
- ``nn``: closeness of the nearest synthetic row, ``d - min Hamming distance``, plus the share of
  rows at that distance (a tie-break in [0, 1)).

White-box (``whitebox``, our own synthesizers): the released noisy measurements themselves, which
DP covers just as it covers the table. Each marginal measured with Gaussian noise sigma_m has the
canary's cell shifted by exactly +1 in the "in" world; the auditor knows the base table, so

    whitebox = sum_m (y_m[cell_m(x)] - c_m[cell_m(x)]) / sigma_m^2

(``c_m`` the base's true count) is the Neyman-Pearson statistic when the measured set is fixed.
MST's compression is applied to the canary and the base the way the run applied it. The
independent synthesizer keeps only its post-processed one-way probabilities, so its score is
``sum_j (total * p_j[x_j] - c_j[x_j])`` (weaker: the projection clips).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

BLACK_BOX = ("count", "density", "nn")
WHITE_BOX = ("whitebox",)
ALL = BLACK_BOX + WHITE_BOX


def count_score(synth: np.ndarray, canary: np.ndarray) -> float:
    return float(np.sum(np.all(synth == canary, axis=1)))


def density_score(synth: np.ndarray, canary: np.ndarray, base: np.ndarray) -> float:
    m = synth.shape[0]
    expected = m * np.mean(base == canary, axis=0)
    hits = np.sum(synth == canary, axis=0)
    return float(np.sum((hits - expected) / np.sqrt(expected + 1.0)))


def nn_score(synth: np.ndarray, canary: np.ndarray) -> float:
    if synth.shape[0] == 0:
        return 0.0
    dist = np.sum(synth != canary, axis=1)
    m = int(dist.min())
    return float(synth.shape[1] - m + np.mean(dist == m) * (1 - 1e-9))


BLACK_BOX_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "count": lambda synth, canary, base: count_score(synth, canary),
    "density": density_score,
    "nn": lambda synth, canary, base: nn_score(synth, canary),
}


def _cell_hits(base: np.ndarray, canary: np.ndarray, cols: list[int]) -> int:
    return int(np.sum(np.all(base[:, cols] == canary[cols], axis=1)))


def whitebox_score(fitted: Any, base: np.ndarray, canary: np.ndarray) -> float | None:
    """The white-box statistic for a fitted privsynth synthesizer (None if it has no measurements)."""
    if hasattr(fitted, "measurements_"):
        attrs = list(fitted.domain_.attrs)
        comp = getattr(fitted, "compression_", {}) or {}
        b, x = base.copy(), canary.copy()
        for j, a in enumerate(attrs):
            if a in comp:
                b[:, j] = comp[a].encode(base[:, j])
                x[j] = int(comp[a].encode(canary[j : j + 1])[0])
        dom = fitted.fit_domain_
        total = 0.0
        for m in fitted.measurements_:
            cols = [attrs.index(a) for a in m.clique]
            shape = tuple(dom.size((a,)) for a in m.clique)
            cell = int(np.ravel_multi_index(tuple(x[cols]), shape))
            total += (float(m.values[cell]) - _cell_hits(b, x, cols)) / m.sigma**2
        return total
    if hasattr(fitted, "probabilities_"):
        n = float(fitted.total_)
        return float(
            sum(
                n * p[x] - _cell_hits(base, canary, [j])
                for j, (p, x) in enumerate(zip(fitted.probabilities_, canary, strict=True))
            )
        )
    return None


def score_all(
    names: tuple[str, ...], synth: np.ndarray, canary: np.ndarray, fitted: Any, base: np.ndarray
) -> dict[str, float]:
    """Every requested score of one run (white-box only where the run has measurements)."""
    out = {
        n: BLACK_BOX_FUNCTIONS[n](synth, canary, base) for n in names if n in BLACK_BOX_FUNCTIONS
    }
    if "whitebox" in names and fitted is not None:
        wb = whitebox_score(fitted, base, canary)
        if wb is not None:
            out["whitebox"] = wb
    return out
