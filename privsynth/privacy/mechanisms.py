"""Mechanisms that read private data. Each takes a share of rho, derives its own noise scale, and
charges the ledger exactly what OpenDP's privacy map says for the measurement it runs.

The path of a share ``rho`` (docs/privacy.md, "From --epsilon to the ledger"):

1. ``gaussian_scale(rho)`` (counts) or ``selection_scale(rho, sensitivity)`` (selection) starts
   from the closed form (``sigma = 1 / sqrt(2 rho)``; ``scale = 2 s / sqrt(8 rho)``) and steps the
   float up until OpenDP's map of that measurement is at most ``rho``;
2. the ledger is charged ``gaussian_charge(sigma)`` / ``selection_charge(scale, s)``: OpenDP's map,
   which equals the closed form ``1 / (2 sigma^2)`` / ``(2 s / scale)^2 / 8`` up to OpenDP's
   upward rounding (a test checks both), and is at most the share;
3. only then is the measurement released (for counts, only then are the counts computed).

Planning uses the same functions (synthesizers plan in rho shares, and the scale a share buys is
``gaussian_scale(share)``), so a plan and its charges cannot disagree.

Sensitivities under add/remove-one-record neighbours (docs/privacy.md):
- a marginal (histogram) over any clique: one record changes one cell by 1, so L2 sensitivity 1;
- the row count: 1;
- a selection score that is a weighted L1 error of a marginal: ``weight`` (the caller passes it).
  The scores are computed from the data before ``select`` is called; if the charge is refused,
  the selection is not made and nothing depending on the scores is released.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np

from privsynth.domain import Domain
from privsynth.marginals import marginal
from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.noise import NoiseSource, opendp_gaussian, opendp_noisy_max


def gaussian_rho(sigma: float, sensitivity: float = 1.0) -> float:
    """Closed-form zCDP cost of Gaussian noise ``sigma`` on a query of L2 sensitivity ``sensitivity``."""
    return sensitivity**2 / (2.0 * sigma**2)


def gaussian_sigma(rho: float, sensitivity: float = 1.0) -> float:
    """Closed-form noise scale costing ``rho`` (before OpenDP's rounding; see gaussian_scale)."""
    return sensitivity / math.sqrt(2.0 * rho)


def _check_share(rho: float) -> None:
    if not math.isfinite(rho) or rho <= 0:
        raise ValueError(f"a rho share must be finite and > 0, got {rho!r}")


def _calibrate(start: float, cost: Callable[[float], float], rho: float) -> float:
    """The smallest float scale >= ``start`` whose ``cost`` is at most ``rho``."""
    scale = start
    for _ in range(64):
        if cost(scale) <= rho:
            return scale
        scale = math.nextafter(scale, math.inf)
    raise RuntimeError(f"could not calibrate a noise scale to rho={rho!r}")  # pragma: no cover


@functools.lru_cache(maxsize=4096)
def gaussian_charge(sigma: float) -> float:
    """OpenDP's privacy map (zCDP) of the discrete Gaussian of scale ``sigma`` at L2 distance 1.

    Cached: the map is a pure function of the scale, and building the OpenDP measurement costs
    about a millisecond, which dominated cheap repeated fits (dp-audit runs thousands).
    """
    return float(opendp_gaussian(float(sigma)).map(1))


@functools.lru_cache(maxsize=4096)
def gaussian_scale(rho: float) -> float:
    """Noise scale of a count query (L2 sensitivity 1) bought by the share ``rho``."""
    _check_share(rho)
    return _calibrate(gaussian_sigma(rho), gaussian_charge, rho)


@functools.lru_cache(maxsize=4096)
def selection_charge(scale: float, sensitivity: float) -> float:
    """OpenDP's privacy map (zCDP) of report-noisy-max (Gumbel ``scale``) at score distance ``sensitivity``.

    Cached like :func:`gaussian_charge`: a pure function of its two floats.
    """
    return float(opendp_noisy_max(float(scale)).map(float(sensitivity)))


@functools.lru_cache(maxsize=4096)
def selection_scale(rho: float, sensitivity: float) -> float:
    """Gumbel scale of an exponential-mechanism selection bought by the share ``rho``.

    The exponential mechanism at epsilon (non-monotonic scores of sensitivity ``s``) uses scale
    ``2 s / epsilon`` and is ``epsilon^2 / 8``-zCDP, so ``epsilon = sqrt(8 rho)``.
    """
    _check_share(rho)
    if not math.isfinite(sensitivity) or sensitivity <= 0:
        raise ValueError(f"a selection sensitivity must be finite and > 0, got {sensitivity!r}")
    start = 2.0 * sensitivity / math.sqrt(8.0 * rho)
    return _calibrate(start, lambda s: selection_charge(s, sensitivity), rho)


def measure_marginal(
    codes: np.ndarray,
    domain: Domain,
    clique: Sequence[str],
    rho: float,
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> np.ndarray:
    """Noisy counts of ``clique`` (flattened), spending at most the share ``rho``.

    The ledger is charged before the counts are computed; the noise scale is
    ``gaussian_scale(rho)`` (recorded in the entry).
    """
    clique = tuple(clique)
    sigma = gaussian_scale(float(rho))
    ledger.charge(
        gaussian_charge(sigma),
        what=f"marginal {clique}",
        mechanism="discrete Gaussian",
        sensitivity=1.0,
        scale=sigma,
        cells=domain.size(clique),
        implementation="OpenDP make_gaussian",
    )
    return noise.discrete_gaussian(marginal(codes, domain, clique), sigma).astype(float)


def select(
    scores: np.ndarray,
    *,
    sensitivity: float,
    rho: float,
    ledger: PrivacyLedger,
    noise: NoiseSource,
    what: str,
) -> int:
    """Exponential mechanism (report-noisy-max with Gumbel noise) over ``scores``, at share ``rho``.

    ``sensitivity`` bounds how much any one score moves when one record is added or removed (in
    either direction).
    """
    scale = selection_scale(float(rho), float(sensitivity))
    ledger.charge(
        selection_charge(scale, sensitivity),
        what=what,
        mechanism="exponential (Gumbel report-noisy-max)",
        implementation="OpenDP make_noisy_max",
        sensitivity=float(sensitivity),
        scale=scale,
        epsilon=2.0 * float(sensitivity) / scale,
        candidates=int(len(scores)),
    )
    return noise.noisy_argmax(np.asarray(scores, dtype=float), scale)
