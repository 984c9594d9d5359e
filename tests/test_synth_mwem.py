"""MWEM: rounds, per-round accounting, workload candidates, the model-size cap, accuracy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from privsynth.domain import Domain
from privsynth.errors import InputError
from privsynth.marginals import marginal
from privsynth.privacy.mechanisms import gaussian_rho
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


def test_rounds_and_per_round_accounting(mwem: MWEMSynthesizer) -> None:
    rounds = default_rounds(len(mwem.domain_))
    assert rounds == len(mwem.domain_) and len(mwem.history_) == rounds
    entries = mwem.ledger_.entries
    rho = mwem.ledger_.rho_budget
    assert len(entries) == 2 * rounds
    for t in range(rounds):
        sel, meas = entries[2 * t], entries[2 * t + 1]
        assert sel.mechanism == SELECT and sel.what.startswith(f"MWEM round {t + 1}:")
        assert sel.sensitivity == 1.0
        assert sel.rho == pytest.approx((1 - MEASURE_SHARE) * rho / rounds, rel=1e-9)
        assert meas.what == f"marginal {mwem.history_[t]['clique']}"
        assert meas.rho == pytest.approx(gaussian_rho(meas.scale), rel=1e-12)
        assert meas.rho == pytest.approx(MEASURE_SHARE * rho / rounds, rel=1e-9)
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


def test_small_very_private_table_stops_rounds_for_one_ways(adult_pgm: pd.DataFrame) -> None:
    codes, domain = data(adult_pgm, 300)
    synth = MWEMSynthesizer(epsilon=0.1, noise_seed=2, round_iters=5, pgm_iters=20)
    synth.fit_codes(codes, domain)
    # round 1 picks a marginal blind to n; then nothing is worth its noise at 300 rows
    assert len(synth.history_) == 1
    tail = synth.ledger_.entries[2:]
    assert [e.what for e in tail] == [f"marginal {(a,)}" for a in domain.attrs]
    rest = synth.ledger_.rho_budget * (1 - 1 / default_rounds(len(domain)))
    assert sum(e.rho for e in tail) == pytest.approx(rest, rel=1e-9)
    assert synth.ledger_.rho_spent == pytest.approx(synth.ledger_.rho_budget, rel=1e-12)
    # at a larger budget the rounds run to the end
    big = MWEMSynthesizer(epsilon=5.0, noise_seed=2, round_iters=5, pgm_iters=20)
    assert len(big.fit_codes(codes, domain).history_) == default_rounds(len(domain))
