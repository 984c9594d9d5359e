"""MWEM: rounds, per-round accounting, workload candidates, the model-size cap, accuracy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from one_way_replay import replay_one_ways

from privsynth.domain import Domain
from privsynth.errors import InputError
from privsynth.marginals import marginal
from privsynth.model.measurements import estimate_total
from privsynth.privacy.mechanisms import gaussian_rho
from privsynth.synthesizers.affordable import (
    one_way_weights,
    shrunk_one_ways,
    size_order,
)
from privsynth.synthesizers.mwem import MEASURE_SHARE, MWEMSynthesizer, default_rounds

COLS = ["sex", "race", "income>50K", "relationship", "marital-status", "workclass"]
SELECT = "exponential (Gumbel report-noisy-max)"


def data(adult_pgm: pd.DataFrame, n: int = 5000, cols=COLS) -> tuple[np.ndarray, Domain]:
    domain = Domain.from_dict({c: int(adult_pgm[c].max()) + 1 for c in cols})
    return adult_pgm[cols].to_numpy()[:n], domain


@pytest.fixture(scope="module")
def mwem(adult_pgm: pd.DataFrame) -> MWEMSynthesizer:
    codes, domain = data(adult_pgm)
    return MWEMSynthesizer(epsilon=1.0, seed=4, round_iters=50, pgm_iters=300).fit_codes(
        codes, domain
    )


def one_way_prefix(synth: MWEMSynthesizer) -> int:
    """How many ledger entries the one-way marginals take before the first round."""
    entries = synth.ledger_.entries
    return next(i for i, e in enumerate(entries) if not e.what.startswith("marginal (") or
                len(synth.measurements_[i].clique) > 1)  # fmt: skip


def test_rounds_and_per_round_accounting(mwem: MWEMSynthesizer) -> None:
    rounds = default_rounds(len(mwem.domain_))
    d = len(mwem.domain_)
    assert rounds == d and len(mwem.history_) == rounds
    entries = mwem.ledger_.entries
    rho = mwem.ledger_.rho_budget
    # the probe: one round's worth (rho / (T + 1)) on the one-way marginals, split by k^(2/3)
    order = size_order(mwem.domain_, mwem.domain_.attrs)  # smallest columns first
    assert [e.what for e in entries[:d]] == [f"marginal {(a,)}" for a in order]
    weights = rho / (rounds + 1) * one_way_weights(mwem.domain_)
    want = dict(zip(mwem.domain_.attrs, weights, strict=True))
    assert [e.rho for e in entries[:d]] == pytest.approx([want[a] for a in order])
    first = one_way_prefix(mwem)
    assert first in (d, 2 * d)  # with or without the one-way top-up
    assert len(entries) == first + 2 * rounds
    part = (rho - sum(e.rho for e in entries[:first])) / rounds
    for t in range(rounds):
        sel, meas = entries[first + 2 * t], entries[first + 2 * t + 1]
        assert sel.mechanism == SELECT and sel.what.startswith(f"MWEM round {t + 1}:")
        assert sel.sensitivity == 1.0
        assert sel.rho == pytest.approx((1 - MEASURE_SHARE) * part, rel=1e-9)
        assert meas.what == f"marginal {mwem.history_[t]['clique']}"
        assert meas.rho == pytest.approx(gaussian_rho(meas.scale), rel=1e-12)
        assert meas.rho == pytest.approx(MEASURE_SHARE * part, rel=1e-9)
    assert mwem.ledger_.rho_spent == pytest.approx(rho, rel=1e-12)


def test_measures_workload_marginals_only(mwem: MWEMSynthesizer) -> None:
    pairs = set(itertools.combinations(mwem.domain_.attrs, 2))
    assert all(h["clique"] in pairs for h in mwem.history_)


def test_custom_rounds_and_target(adult_pgm: pd.DataFrame) -> None:
    codes, domain = data(adult_pgm, 1000)
    synth = MWEMSynthesizer(
        epsilon=1.0, seed=0, rounds=3, target="income>50K", round_iters=20, pgm_iters=50
    ).fit_codes(codes, domain)
    assert len(synth.history_) == 3
    assert all("income>50K" in h["clique"] for h in synth.history_)
    assert synth.ledger_.rho_spent == pytest.approx(synth.ledger_.rho_budget, rel=1e-12)


def test_model_size_cap(adult_pgm: pd.DataFrame) -> None:
    codes, domain = data(adult_pgm, 1000)
    with pytest.raises(InputError, match="max_model_size_mb"):
        MWEMSynthesizer(max_model_size_mb=1e-9).fit_codes(codes, domain)
    # a cap that holds only small models: every chosen clique keeps the tree under it
    cap = 2e-3
    synth = MWEMSynthesizer(
        epsilon=1.0, seed=0, max_model_size_mb=cap, round_iters=20, pgm_iters=50
    ).fit_codes(codes, domain)
    assert synth.model_.fit_info["size_mb"] <= cap


def test_large_epsilon_fits_the_measured_marginals(adult_pgm: pd.DataFrame) -> None:
    codes, domain = data(adult_pgm)
    synth = MWEMSynthesizer(epsilon=50.0, seed=0).fit_codes(codes, domain)
    out = synth.sample_codes()
    tv = []
    for p in itertools.combinations(domain.attrs, 2):
        x, y = marginal(codes, domain, p), marginal(out, domain, p)
        tv.append(0.5 * np.abs(x / x.sum() - y / y.sum()).sum())
    # measured (3 seeds): mean 0.012-0.018, max 0.037-0.043; independent baseline mean 0.127
    assert np.mean(tv) < 0.03 and max(tv) < 0.08
    assert not math.isnan(synth.total_)


@pytest.mark.parametrize(
    "bad", [{"rounds": 0}, {"rounds": 1.5}, {"max_model_size_mb": -1}, {"workload": 1}]
)
def test_bad_params_raise(adult_pgm: pd.DataFrame, bad: dict) -> None:
    codes, domain = data(adult_pgm, 200)
    with pytest.raises(InputError):
        MWEMSynthesizer(**bad).fit_codes(codes, domain)


def test_small_very_private_table_measures_one_ways_only(adult_pgm: pd.DataFrame) -> None:
    """At 300 rows and epsilon 0.1 no workload marginal is worth its noise: after the probe, MWEM
    spends the rest on the one-way marginals and ends as the shrunk independent model."""
    codes, domain = data(adult_pgm, 300)
    synth = MWEMSynthesizer(epsilon=0.1, noise_seed=2, round_iters=5, pgm_iters=20)
    synth.fit_codes(codes, domain)
    assert synth.history_ == []
    assert all(e.what.startswith("marginal (") for e in synth.ledger_.entries)
    assert all(len(m.clique) == 1 for m in synth.measurements_)
    assert synth.ledger_.rho_spent == pytest.approx(synth.ledger_.rho_budget, rel=1e-12)
    total = estimate_total(synth.measurements_, domain)
    for m in shrunk_one_ways(synth.measurements_, total):
        p = np.ravel(synth.model_.project(m.clique))
        # independent_model floors every cell at 0.01 records (300 rows: 3e-5 of the mass each)
        assert p / p.sum() == pytest.approx(m.values / total, abs=1e-3)
    # at a larger budget the rounds run to the end
    big = MWEMSynthesizer(epsilon=5.0, noise_seed=2, round_iters=5, pgm_iters=20)
    assert len(big.fit_codes(codes, domain).history_) == default_rounds(len(domain))


def test_neighbouring_tables_one_ways_only_is_post_processing(adult_pgm: pd.DataFrame) -> None:
    """A table and the table plus one odd row (the rarest code of every column), noise pinned:
    the probe is charged the same, both runs measure the same marginals in the same order, every
    charge is the rule's function of that run's noisy totals, and the model is its noisy
    measurements shrunk (the decisions read the rows only through charged measurements)."""
    codes, domain = data(adult_pgm, 300)
    odd = np.array([[int(np.argmin(np.bincount(codes[:, j], minlength=k))) for j, k in
                     enumerate(domain.shape)]])  # fmt: skip
    runs = [
        MWEMSynthesizer(epsilon=0.1, noise_seed=11, pgm_iters=20).fit_codes(t, domain)
        for t in (codes, np.vstack([codes, odd]))
    ]
    d = len(domain)
    e0, e1 = runs[0].ledger_.entries, runs[1].ledger_.entries
    assert [e.what for e in e0] == [e.what for e in e1]
    assert [e.rho for e in e0[:d]] == [e.rho for e in e1[:d]]  # the probe: data-independent
    for run in runs:
        assert run.history_ == []
        assert [e.rho for e in run.ledger_.entries] == pytest.approx(
            replay_one_ways(run, 1 / (default_rounds(d) + 1)), rel=1e-9
        )
        assert run.ledger_.rho_spent == pytest.approx(run.ledger_.rho_budget, rel=1e-12)
