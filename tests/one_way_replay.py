"""Replays of AIM's and MWEM's one-way passes from a run's own noisy measurements.

Each charge is re-derived from the public rule (the probe's ``k^(2/3)`` split, the top-up to
``one_way_share``, the capped split of the rest, smallest columns first, a column skipped once
``drowned`` at the noisy total of the measurements before it): a run whose ledger matches its
replay read the rows only through charged measurements.
"""

from __future__ import annotations

import numpy as np

from privsynth.model.measurements import estimate_total
from privsynth.synthesizers.affordable import (
    capped_weights,
    drowned,
    one_way_share,
    one_way_weights,
    size_order,
    top_up,
    total_sd,
)


def replay_pass(synth, per: dict, rest: bool, start: int, skipped: list) -> list[float]:
    """The charges of one pass planned as ``per`` (column -> rho), from measurement ``start``."""
    domain, ms, rho = synth.domain_, synth.measurements_, synth.ledger_.rho_budget
    out: list[float] = []
    for a in size_order(domain, list(per)):
        before = ms[: start + len(out)]
        if a not in skipped and before and len(skipped) < len(domain) - 1:
            n_hat, sd = estimate_total(before, domain), total_sd(before, domain)
            if a in drowned(domain, rho, n_hat, sd):
                skipped.append(a)
        if a not in skipped:
            out.append(per[a])
    if rest and abs(sum(per.values()) - sum(out)) > 1e-12 * rho:  # the rest, on one more charge
        out.append(sum(per.values()) - sum(out))
    return out


def replay_one_ways(synth, base: float) -> list[float]:
    """Every charge of a run that measured one-way marginals only (probe share ``base``)."""
    domain, ms, rho = synth.domain_, synth.measurements_, synth.ledger_.rho_budget
    skipped: list[str] = []
    probe = dict(zip(domain.attrs, base * rho * one_way_weights(domain), strict=True))
    out = replay_pass(synth, probe, False, 0, skipped)
    share = max(one_way_share(domain, rho, estimate_total(ms[: len(out)], domain), base), base)
    for rest, extra in ((False, share * rho - sum(out)), (True, rho - share * rho)):
        if extra <= 1e-15:
            continue
        spent = np.zeros(len(domain))
        for m, x in zip(ms[: len(out)], out, strict=True):
            spent[domain.attrs.index(m.clique[0])] += x
        weights = capped_weights(
            domain, spent.sum() + extra, estimate_total(ms[: len(out)], domain)
        )
        weights[[domain.attrs.index(a) for a in skipped]] = 0.0
        per = top_up(spent, extra, weights / weights.sum())
        plan = {a: float(x) for a, x in zip(domain.attrs, per, strict=True) if x > 1e-12 * extra}
        out += replay_pass(synth, plan, rest, len(out), skipped)
    assert synth.skipped_ == skipped
    return out
