"""Budget-aware structure selection: which marginals a budget can afford on a table of ``n`` rows.

A marginal ``r`` with ``|r|`` cells measured with Gaussian noise of scale ``sigma`` carries noise of
expected L1 norm ``sqrt(2/pi) * sigma * |r|`` (:func:`expected_noise_l1`). The most that measuring
it can correct in the model is the model's L1 error on ``r``, at most ``2 n`` (a TVD of 1) and in
practice a fraction of that: the dependence that an independent model misses is a TVD of 0.05-0.3
on real tables. So a measurement whose expected noise is larger than ``NOISE_SIGNAL_RATIO * n``
adds more noise than signal, whatever the data: AIM and MWEM drop such candidates before they
select, and when no marginal of two or more columns is affordable even with every remaining round
folded into one, the rest of the budget re-measures the one-way marginals (so a very small or
very private table ends as the independent baseline, measured at the same total rho, rather than
with a few pure-noise 2-way cliques).

Privacy. ``n`` is never read from the data: it is the inverse-variance weighted noisy total of the
measurements already made (the one-way marginals, charged to the ledger as part of the run). The
rule is a function of that estimate, of public sigmas and of the public domain sizes only, so
filtering candidates by it is post-processing: it changes which marginals are measured and at
which share, never what a measurement costs (every charge is still a discrete Gaussian or an
exponential-mechanism entry, priced exactly as before).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from privsynth.domain import Domain
from privsynth.privacy.mechanisms import gaussian_scale
from privsynth.synthesizers.workload import SQRT_2_OVER_PI, Clique, expected_noise_l1

# The one-way marginals may lose at most this much TVD (on average) to the rounds' budget.
ONE_WAY_SLACK = 0.02
# A marginal is affordable when its expected noise (L1) is at most this share of n (see above).
NOISE_SIGNAL_RATIO = 0.25


def affordable(
    candidates: Sequence[Clique],
    domain: Domain,
    sigma: float,
    n_hat: float,
    ratio: float = NOISE_SIGNAL_RATIO,
) -> list[Clique]:
    """The candidates of two or more columns whose measurement at ``sigma`` is worth its noise.

    ``n_hat`` must be a DP estimate of the record count (a noisy total), never the true count.
    """
    limit = ratio * max(float(n_hat), 1.0)
    return [
        c for c in candidates if len(c) > 1 and expected_noise_l1(sigma, domain.size(c)) <= limit
    ]


def one_way_weights(domain: Domain) -> np.ndarray:
    """Each column's share of the one-way budget: ``k^(2/3)`` normalised (``k`` its codes).

    The expected L1 noise of column ``a`` measured at ``rho_a`` is ``sqrt(2/pi) k_a / sqrt(2 rho_a)``;
    minimising the sum over columns subject to ``sum rho_a = rho`` (Lagrange) gives
    ``rho_a ~ k_a^(2/3)``. Domain sizes are public, so the split is too.
    """
    k = np.array([domain.size((a,)) for a in domain.attrs], dtype=float)
    w = k ** (2.0 / 3.0)
    return w / w.sum()


def one_way_share(
    domain: Domain, rho: float, n_hat: float, base: float, slack: float = ONE_WAY_SLACK
) -> float:
    """The share of ``rho`` the one-way marginals should get (at least ``base``, at most 1).

    With all of ``rho`` on the one-way marginals (split by :func:`one_way_weights`) a column of
    ``k`` codes carries an expected noise TVD ``e = sqrt(2/pi) sigma k / (2 n)`` (capped at 1),
    and ``R`` is the mean of ``e`` over the columns. With a share ``f`` the noise grows to
    ``R / sqrt(f)``. Allowing the one-way marginals to lose at most ``slack`` to the later rounds
    gives ``f = (R / (R + slack))^2``: nearly everything when the one-way marginals are already
    noisy (small ``n``, small ``rho``), ``base`` when they are accurate.
    """
    sizes = np.array([domain.size((a,)) for a in domain.attrs], dtype=float)
    sigma = np.array([gaussian_scale(rho * w) for w in one_way_weights(domain)])
    tvd = np.minimum(SQRT_2_OVER_PI * sigma * sizes / (2.0 * max(float(n_hat), 1.0)), 1.0)
    r = float(tvd.mean())
    return float(min(max((r / (r + slack)) ** 2, base), 1.0))
