"""Sources of randomness for mechanisms: OpenDP's vetted samplers, or a seeded generator.

``NoiseSource(None)`` (the default everywhere) draws from OpenDP (a cryptographically secure RNG and
exact samplers): the only noise a release uses. ``NoiseSource(noise_seed)`` draws from numpy's
PCG64 so that a run can be reproduced byte for byte, for tests and benchmarks only. The
distribution is the same, but anyone who knows the seed can recompute the noise and subtract it,
and the seeded discrete Gaussian uses floating-point acceptance probabilities: a seeded-noise
output is NOT FOR RELEASE, and its manifest says so (docs/privacy.md).

The seed that drives post-processing (sampling from a fitted model, certify's split and attacks)
is a different seed and never reaches a NoiseSource.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np


@functools.cache
def opendp_dp() -> Any:
    """OpenDP, imported on first use (it takes about a second to load)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


@functools.lru_cache(maxsize=256)
def opendp_gaussian(sigma: float) -> Any:
    """OpenDP's discrete Gaussian on integer vectors (L2 distance, zCDP output measure)."""
    dp = opendp_dp()
    space = (dp.vector_domain(dp.atom_domain(T="i64")), dp.l2_distance(T="i64"))
    return dp.m.make_gaussian(*space, scale=float(sigma))


@functools.lru_cache(maxsize=256)
def opendp_noisy_max(scale: float) -> Any:
    """OpenDP's report-noisy-max with Gumbel noise (the exponential mechanism), zCDP output."""
    dp = opendp_dp()
    space = (
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.linf_distance(T=float, monotonic=False),
    )
    return dp.m.make_noisy_max(*space, dp.zero_concentrated_divergence(), scale=float(scale))


NOT_FOR_RELEASE = (
    "NOT FOR RELEASE: seeded numpy noise (reproducible); anyone with the noise seed can remove "
    "the noise"
)


class NoiseSource:
    """Draws mechanism noise; ``seed=None`` uses OpenDP, an integer seed a reproducible generator."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    @property
    def seeded(self) -> bool:
        return self._rng is not None

    def describe(self) -> dict[str, object]:
        """For the public manifest: which sampler made the noise and whether it may be released."""
        if self._rng is None:
            return {"source": "OpenDP samplers", "release": True}
        return {"source": "seeded numpy", "release": False, "warning": NOT_FOR_RELEASE}

    def discrete_gaussian(self, counts: np.ndarray, sigma: float) -> np.ndarray:
        """``counts`` plus discrete Gaussian noise of scale ``sigma`` (int64)."""
        counts = np.asarray(counts, dtype=np.int64)
        if self._rng is None:
            noisy = opendp_gaussian(sigma)(counts)
            return np.asarray(noisy, dtype=np.int64)
        return counts + sample_discrete_gaussian(self._rng, sigma, counts.shape)

    def noisy_argmax(self, scores: np.ndarray, scale: float) -> int:
        """Index of max(score + Gumbel(scale)): the exponential mechanism with weight exp(score/scale)."""
        scores = np.asarray(scores, dtype=float)
        if not np.all(np.isfinite(scores)):
            raise ValueError("selection scores must be finite")
        if self._rng is None:
            return int(opendp_noisy_max(scale)(scores.tolist()))
        return int(np.argmax(scores / scale + self._rng.gumbel(size=scores.shape)))


def sample_discrete_gaussian(
    rng: np.random.Generator, sigma: float, shape: tuple[int, ...]
) -> np.ndarray:
    """Vectorised discrete Gaussian sampler (Canonne, Kamath, Steinke 2020, Algorithm 3).

    Rejection from a discrete Laplace of scale t = floor(sigma) + 1. Floating-point acceptance
    probabilities make it approximate; only used for seeded (reproducible, non-release) runs.
    """
    size = int(np.prod(shape))
    out = np.empty(size, dtype=np.int64)
    todo = np.arange(size)
    t = math.floor(sigma) + 1
    p = -math.expm1(-1.0 / t)  # geometric success probability of the discrete Laplace halves
    while todo.size:
        m = todo.size
        y = rng.geometric(p, size=m) - rng.geometric(p, size=m)
        accept = rng.random(m) < np.exp(-((np.abs(y) - sigma**2 / t) ** 2) / (2 * sigma**2))
        out[todo[accept]] = y[accept]
        todo = todo[~accept]
    return out.reshape(shape)
