"""Mechanisms that read private data: each charges the ledger first, then measures with noise.

Sensitivities under add/remove-one-record neighbours (docs/privacy.md):
- a marginal (histogram) over any clique: one record changes one cell by 1, so L2 sensitivity 1;
- the row count: 1;
- a selection score that is a weighted L1 error of a marginal: ``weight`` (the caller passes it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from privsynth.domain import Domain
from privsynth.marginals import marginal
from privsynth.privacy.accounting import exponential_mechanism_rho
from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.noise import NoiseSource, opendp_gaussian, opendp_noisy_max


def gaussian_rho(sigma: float, sensitivity: float = 1.0) -> float:
    """zCDP cost of Gaussian noise of scale sigma on a query of L2 sensitivity ``sensitivity``."""
    return sensitivity**2 / (2.0 * sigma**2)


def gaussian_sigma(rho: float, sensitivity: float = 1.0) -> float:
    """Noise scale that costs exactly ``rho`` on a query of L2 sensitivity ``sensitivity``."""
    return sensitivity / math.sqrt(2.0 * rho)


def measure_marginal(
    codes: np.ndarray,
    domain: Domain,
    clique: Sequence[str],
    sigma: float,
    *,
    ledger: PrivacyLedger,
    noise: NoiseSource,
) -> np.ndarray:
    """Noisy counts of ``clique`` (flattened), after charging rho = 1 / (2 sigma^2) to the ledger."""
    clique = tuple(clique)
    rho = gaussian_rho(sigma)
    # OpenDP's own accounting for this exact measurement must not exceed ours.
    od_rho = float(opendp_gaussian(sigma).map(1))
    ledger.charge(
        max(rho, od_rho),
        what=f"marginal {clique}",
        mechanism="discrete Gaussian",
        sensitivity=1.0,
        scale=sigma,
        cells=domain.size(clique),
    )
    return noise.discrete_gaussian(marginal(codes, domain, clique), sigma).astype(float)


def measure_count(n_rows: int, sigma: float, *, ledger: PrivacyLedger, noise: NoiseSource) -> float:
    """Noisy row count (the true count is private), charged to the ledger first."""
    ledger.charge(
        max(gaussian_rho(sigma), float(opendp_gaussian(sigma).map(1))),
        what="row count",
        mechanism="discrete Gaussian",
        sensitivity=1.0,
        scale=sigma,
    )
    return float(noise.discrete_gaussian(np.array([n_rows]), sigma)[0])


def select(
    scores: np.ndarray,
    *,
    sensitivity: float,
    epsilon: float,
    ledger: PrivacyLedger,
    noise: NoiseSource,
    what: str,
) -> int:
    """Exponential mechanism (report-noisy-max with Gumbel noise) over ``scores``.

    ``sensitivity`` bounds how much any one score moves when one record is added or removed (in
    either direction). Costs epsilon^2 / 8 in zCDP.
    """
    scale = 2.0 * sensitivity / epsilon
    rho = exponential_mechanism_rho(epsilon)
    od_rho = float(opendp_noisy_max(scale).map(float(sensitivity)))
    ledger.charge(
        max(rho, od_rho),
        what=what,
        mechanism="exponential (Gumbel report-noisy-max)",
        sensitivity=float(sensitivity),
        scale=scale,
        epsilon=epsilon,
        candidates=int(len(scores)),
    )
    return noise.noisy_argmax(np.asarray(scores, dtype=float), scale)
