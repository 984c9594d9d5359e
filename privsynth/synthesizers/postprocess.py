"""Post-processing of noisy counts (free under DP): projection onto valid count vectors."""

from __future__ import annotations

import numpy as np


def project_simplex(y: np.ndarray, total: float) -> np.ndarray:
    """Euclidean projection of ``y`` onto {x >= 0, sum(x) = total} (sort-based, O(k log k)).

    The least-squares valid table closest to the noisy counts; better than clipping negatives and
    rescaling, which inflates every small cell.
    """
    y = np.asarray(y, dtype=float)
    if total <= 0:
        return np.zeros_like(y)
    u = np.sort(y)[::-1]
    css = np.cumsum(u) - total
    k = np.arange(1, y.size + 1)
    rho = np.flatnonzero(u - css / k > 0)[-1]
    theta = css[rho] / (rho + 1)
    return np.maximum(y - theta, 0.0)
