"""Budget-aware structure selection: which marginals a budget can afford on a table of ``n`` rows.

A marginal ``r`` with ``|r|`` cells measured with Gaussian noise of scale ``sigma`` carries noise of
expected L1 norm ``sqrt(2/pi) * sigma * |r|`` (:func:`expected_noise_l1`). The most that measuring
it can correct in the model is the model's L1 error on ``r``, at most ``2 n`` (a TVD of 1) and in
practice a fraction of that: the dependence that an independent model misses is a TVD of 0.05-0.3
on real tables. So a measurement whose expected noise is larger than ``NOISE_SIGNAL_RATIO * n``
adds more noise than signal, whatever the data: AIM and MWEM drop such candidates before they
select, and when no marginal of two or more columns is affordable even with every remaining round
folded into one, the rest of the budget re-measures the one-way marginals (so a very small or
very private table ends as an independent model at the same total rho, rather than with a few
pure-noise 2-way cliques). Two things make that model better than the independent baseline, not
only level with it: the one-way budget is split by ``k^(2/3)`` with ``k`` capped where a column
would be drowned in noise whatever it gets (:func:`capped_weights`, :func:`top_up`), and each
column's noisy counts are shrunk towards uniform by the weight that minimises Stein's unbiased
risk estimate (:func:`shrink_weight`, :func:`shrunk_one_ways`). A column that would be drowned
even with the whole budget on it alone (:func:`drowned`: expected noise L1 at least ``2 n``, a
noise TVD of 1) is left out of the one-way passes from the measurement before which it is found
drowned (every pass measures the smallest columns first, :func:`size_order`, so the noisy total
that judges a large column already holds the small ones), and is left uniform in the
independent fallback: measuring it only takes budget from the columns that can be measured (on
Titanic at epsilon 0.1, Age: 91 codes, the shrunk estimate had a TVD of 0.51 against uniform's
0.47).

Privacy. ``n`` is never read from the data: it is the inverse-variance weighted noisy total of the
measurements already made (the one-way marginals, charged to the ledger as part of the run). The
rule is a function of that estimate, of public sigmas and of the public domain sizes only, so
filtering candidates by it is post-processing: it changes which marginals are measured and at
which share, never what a measurement costs (every charge is still a discrete Gaussian or an
exponential-mechanism entry, priced exactly as before). The capped split is a function of the
same estimate, and the shrinkage of the noisy counts and their public sigma: post-processing.
:func:`drowned` is a function of ``n_hat`` (of the measurements charged before), its public
standard error, the public budget and domain sizes only, so which columns it leaves uniform is
post-processing too; the budget they do not take is spent
on the other columns (the ledger still sums to the budget exactly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from privsynth.domain import Domain
from privsynth.model.measurements import Measurement, project_simplex
from privsynth.privacy.mechanisms import gaussian_scale
from privsynth.synthesizers.workload import SQRT_2_OVER_PI, Clique, expected_noise_l1

# The one-way marginals may lose at most this much TVD (on average) to the rounds' budget.
ONE_WAY_SLACK = 0.02
# A marginal is affordable when its expected noise (L1) is at most this share of n (see above):
# a noise TVD of 0.25. At 0.25 n (a noise TVD of 0.125) AIM lost 10% on titanic at epsilon 10 and
# highcard at epsilon 1 (2-way TVD 0.0714 vs 0.0638, 0.092 vs 0.084) for no gain at small n x rho.
NOISE_SIGNAL_RATIO = 0.5
# A column is drowned when, with all of rho on it alone, its expected noise L1 is at least this
# multiple of n (a noise TVD of at least 1: no measurement the budget can buy is worth making).
DROWNED_RATIO = 2.0
# ... judged at n_hat plus this many standard errors of n_hat, so that a noisy total (the probe's
# sd is ~360 records on Titanic at epsilon 0.1) rarely leaves out a column that can be measured.
DROWNED_Z = 1.0


def total_sd(measurements: Sequence[Measurement], domain: Domain) -> float:
    """The standard error of the inverse-variance weighted noisy total of ``measurements`` (a
    measurement over ``k`` cells has a sum of variance ``k sigma^2``): public sigmas only."""
    precision = sum(1.0 / (m.sigma**2 * domain.size(m.clique)) for m in measurements)
    return float(precision) ** -0.5 if precision > 0 else math.inf


def drowned(
    domain: Domain, rho: float, n_hat: float, sd: float = 0.0, ratio: float = DROWNED_RATIO
) -> list[str]:
    """The columns whose one-way marginal, measured with all of ``rho``, would carry expected
    noise L1 ``sqrt(2/pi) sigma(rho) k`` of at least ``ratio * (n_hat + DROWNED_Z * sd)``
    (``k`` its codes, ``sd`` the standard error of ``n_hat``: :func:`total_sd`).

    ``n_hat`` must be a DP estimate of the record count; with the public ``rho``, ``sd`` and
    domain sizes the answer is post-processing. AIM and MWEM give such a column nothing after
    the probe and leave it uniform when they end as the independent model.
    """
    limit = ratio * max(float(n_hat) + DROWNED_Z * float(sd), 1.0)
    sigma = gaussian_scale(rho)
    return [a for a in domain.attrs if expected_noise_l1(sigma, domain.size((a,))) >= limit]


def size_order(domain: Domain, attrs: Sequence[str]) -> list[str]:
    """``attrs`` smallest domain first, ties in the given order: the order of every one-way pass,
    so the noisy total that decides whether a large column is :func:`drowned` already holds the
    small ones (public: domain sizes only)."""
    return sorted(attrs, key=lambda a: domain.size((a,)))


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


def capped_weights(domain: Domain, rho: float, n_hat: float) -> np.ndarray:
    """:func:`one_way_weights` with each ``k`` capped at ``k* = 2 n / (sqrt(2/pi) sigma_eq)``.

    ``sigma_eq`` is the noise of an equal split of ``rho`` over the columns. A column of more than
    ``k*`` codes would carry, at that noise, an expected noise L1 above twice the record count (a
    TVD above 1): its measurement is noise-dominated whatever it gets, so the ``k^(2/3)`` rule,
    which assumes the error keeps falling as ``1 / sqrt(rho_a)``, would give it budget that the
    small columns use better. Such a column takes the share of a ``k*``-code column. ``n_hat``
    must be a DP estimate of the record count; with ``rho`` and the public sizes, the weights are
    post-processing. For large ``n x rho`` no column reaches ``k*`` and this is ``k^(2/3)``.
    """
    k = np.array([domain.size((a,)) for a in domain.attrs], dtype=float)
    sigma_eq = gaussian_scale(rho / len(k))
    k_star = 2.0 * max(float(n_hat), 1.0) / (SQRT_2_OVER_PI * sigma_eq)
    w = np.minimum(k, max(k_star, 1.0)) ** (2.0 / 3.0)
    return w / w.sum()


def top_up(spent: np.ndarray, rho: float, weights: np.ndarray) -> np.ndarray:
    """Per-column rho of a new one-way pass of ``rho`` in all, so that the columns' totals come
    as close to ``(spent.sum() + rho) * weights`` as the ones already measured allow.

    ``spent`` is what each column has had (public: the ledger's charges). A column already above
    its target gets nothing; the others share ``rho`` in proportion to what they lack.
    """
    spent = np.asarray(spent, dtype=float)
    lack = np.maximum((spent.sum() + rho) * np.asarray(weights, dtype=float) - spent, 0.0)
    if lack.sum() <= 0.0:
        return rho * np.asarray(weights, dtype=float)
    return rho * lack / lack.sum()


def shrink_weight(y: np.ndarray, sigma: float, total: float) -> float:
    """The weight ``w`` in ``w P(y) + (1 - w) u`` that minimises Stein's unbiased risk estimate.

    ``y`` are noisy counts of one column (Gaussian noise of scale ``sigma`` per cell), ``P`` the
    Euclidean projection onto ``{x >= 0, sum x = total}`` and ``u`` the uniform vector of that
    sum. ``P`` is piecewise affine with divergence ``|S| - 1`` (``S`` its support), so the risk
    ``E ||q_w - x||^2`` of ``q_w`` is estimated without bias by
    ``||q_w - y||^2 - k sigma^2 + 2 sigma^2 w (|S| - 1)``, a quadratic in ``w`` minimised at
    ``w = (<a, b> - sigma^2 (|S| - 1)) / ||a||^2`` (``a = P(y) - u``, ``b = y - u``), clipped to
    ``[0, 1]``. A function of the noisy counts and public ``sigma`` alone: post-processing.
    When the column is well measured ``w = 1`` (the plain projection); when it is drowned in
    noise (a 91-code column of a 1,300-row table at epsilon 0.1) ``w`` falls towards 0 and the
    column tends to uniform instead of to a few noise spikes.
    """
    y = np.asarray(y, dtype=float)
    p = project_simplex(y, total)
    u = np.full(y.size, float(total) / y.size)
    a, b = p - u, y - u
    aa = float(a @ a)
    if aa <= 0.0:
        return 1.0
    support = int(np.count_nonzero(p > 0))
    return float(np.clip((float(a @ b) - sigma**2 * (support - 1)) / aa, 0.0, 1.0))


def shrunk_one_ways(
    measurements: Sequence[Measurement], total: float, skip: Sequence[str] = ()
) -> list[Measurement]:
    """One measurement per column: its one-way measurements inverse-variance averaged, then the
    projection shrunk towards uniform by :func:`shrink_weight`; for ``independent_model``.

    Columns in ``skip`` (:func:`drowned`) get none: ``independent_model`` leaves them uniform.
    Only one-way measurements are accepted. Their average ``sum(y_i / s_i^2) / sum(1 / s_i^2)``
    has noise of scale ``(sum 1 / s_i^2)^(-1/2)``, the sigma the result carries.
    """
    acc: dict[str, list[Any]] = {}
    for m in measurements:
        if len(m.clique) != 1:
            raise ValueError("shrunk_one_ways takes one-way measurements only")
        w = 1.0 / m.sigma**2
        entry = acc.setdefault(m.clique[0], [0.0, 0.0])
        entry[0], entry[1] = entry[0] + w * m.values, entry[1] + w
    out = []
    for a, (wy, w) in acc.items():
        if a in skip:
            continue
        y, sigma = np.asarray(wy) / w, float(w) ** -0.5
        lam = shrink_weight(y, sigma, total)
        q = lam * project_simplex(y, total) + (1.0 - lam) * float(total) / y.size
        out.append(Measurement((a,), q, sigma))
    return out
