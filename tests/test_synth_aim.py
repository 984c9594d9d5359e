"""AIM: ledger structure, candidates, the model-size cap, annealing, accuracy at large epsilon."""

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
from privsynth.model.estimation import estimate_total
from privsynth.model.measurements import project_simplex
from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.mechanisms import gaussian_rho, gaussian_scale
from privsynth.synthesizers.affordable import (
    NOISE_SIGNAL_RATIO,
    affordable,
    drowned,
    one_way_share,
    one_way_weights,
    shrink_weight,
    shrunk_one_ways,
    size_order,
)
from privsynth.synthesizers.aim import AIMSynthesizer, default_rounds
from privsynth.synthesizers.mwem import MWEMSynthesizer
from privsynth.synthesizers.workload import candidate_weights, downward_closure, resolve_workload

COLS = ["sex", "race", "income>50K", "relationship", "marital-status", "workclass"]
SELECT = "exponential (Gumbel report-noisy-max)"


def data(adult_pgm: pd.DataFrame, n: int = 5000, cols=COLS) -> tuple[np.ndarray, Domain]:
    domain = Domain.from_dict({c: int(adult_pgm[c].max()) + 1 for c in cols})
    return adult_pgm[cols].to_numpy()[:n], domain


def tvds(a: np.ndarray, b: np.ndarray, domain: Domain) -> np.ndarray:
    out = []
    for p in itertools.combinations(domain.attrs, 2):
        x, y = marginal(a, domain, p), marginal(b, domain, p)
        out.append(0.5 * np.abs(x / x.sum() - y / y.sum()).sum())
    return np.array(out)


@pytest.fixture(scope="module")
def aim(adult_pgm: pd.DataFrame) -> AIMSynthesizer:
    codes, domain = data(adult_pgm)
    return AIMSynthesizer(epsilon=1.0, seed=5, round_iters=50, pgm_iters=300).fit_codes(
        codes, domain
    )


def test_ledger_is_one_way_then_select_measure_rounds(aim: AIMSynthesizer) -> None:
    entries = aim.ledger_.entries
    d = len(aim.domain_)
    probe = size_order(aim.domain_, aim.domain_.attrs)  # smallest columns first
    assert [e.what for e in entries[:d]] == [f"marginal {(a,)}" for a in probe]
    rounds = entries[d:]
    assert len(rounds) == 2 * len(aim.history_)
    for t, h in enumerate(aim.history_):
        sel, meas = rounds[2 * t], rounds[2 * t + 1]
        assert sel.mechanism == SELECT and sel.what.startswith(f"AIM round {t + 1}:")
        assert meas.mechanism == "discrete Gaussian"
        assert meas.what == f"marginal {h['clique']}"
        assert meas.scale == h["sigma"] and sel.meta["epsilon"] == h["epsilon"]
        assert sel.rho == pytest.approx(h["epsilon"] ** 2 / 8, rel=1e-12)
    # every round but the last: alpha = 0.9 of its spend measures
    for h in aim.history_[:-1]:
        sel_rho, meas_rho = h["epsilon"] ** 2 / 8, gaussian_rho(h["sigma"])
        assert meas_rho / (sel_rho + meas_rho) == pytest.approx(0.9, rel=1e-9)
    assert aim.ledger_.rho_spent == pytest.approx(aim.ledger_.rho_budget, rel=1e-12)


def test_default_rounds_are_4d(aim: AIMSynthesizer) -> None:
    d = len(aim.domain_)
    assert default_rounds(d) == 4 * d and aim.params()["rounds"] is None
    rho = aim.ledger_.rho_budget
    # the one-way marginals are priced from T = 4 d: d alpha rho / T in all, split by k^(2/3)
    probe = {m.clique[0]: gaussian_rho(m.sigma) for m in aim.measurements_[:d]}
    got = np.array([probe[a] for a in aim.domain_.attrs])
    assert got.sum() == pytest.approx(d * 0.9 * rho / (4 * d), rel=1e-12)
    assert np.allclose(got / got.sum(), one_way_weights(aim.domain_), rtol=1e-12)
    # round 1 measures at alpha rho / T, or 4^j times that if annealed before spending
    ratio = gaussian_rho(aim.history_[0]["sigma"]) / (0.9 * rho / (4 * d))
    assert math.log(ratio, 4) == pytest.approx(round(math.log(ratio, 4)), abs=1e-9)
    # each round costs at least rho / T, the one-way marginals d alpha rho / T
    assert len(aim.history_) <= 4 * d - d + 1


def test_affordable_rule_caps_clique_size_by_n_and_sigma(adult_pgm: pd.DataFrame) -> None:
    codes, domain = data(adult_pgm)
    cands = list(candidate_weights(resolve_workload(domain, "all-2way")))
    sigma = 10.0
    for n in (50.0, 1e3, 1e4, 1e6):
        kept = affordable(cands, domain, sigma, n)
        assert all(len(c) > 1 for c in kept)
        for c in cands:
            if len(c) > 1:  # kept exactly when sqrt(2/pi) sigma |c| <= 0.5 n
                ok = math.sqrt(2 / math.pi) * sigma * domain.size(c) <= NOISE_SIGNAL_RATIO * n
                assert (c in kept) == ok
    assert affordable(cands, domain, sigma, 50.0) == []
    assert len(affordable(cands, domain, sigma, 1e6)) == len([c for c in cands if len(c) > 1])
    # the one-way share grows as n x rho shrinks, from the probe's share up to everything
    shares = [
        one_way_share(domain, rho, n, 0.225) for rho, n in ((1, 1e6), (1e-2, 1e3), (1e-4, 300))
    ]
    assert shares == sorted(shares) and shares[0] == 0.225 and shares[-1] > 0.9


def test_small_very_private_table_ends_as_the_independent_split(adult_pgm: pd.DataFrame) -> None:
    codes, domain = data(adult_pgm, 300)
    synth = AIMSynthesizer(epsilon=0.1, noise_seed=3, round_iters=5, pgm_iters=20).fit_codes(
        codes, domain
    )
    # nothing of two columns is worth its noise: no round, only one-way marginals
    assert synth.history_ == [] and all(len(m.clique) == 1 for m in synth.measurements_)
    rho = synth.ledger_.rho_budget
    per_column = {a: 0.0 for a in domain.attrs}
    for e in synth.ledger_.entries:
        assert e.mechanism == "discrete Gaussian"
        per_column[e.what.removeprefix("marginal ('").removesuffix("',)")] += e.rho
    assert synth.ledger_.rho_spent == pytest.approx(rho, rel=1e-12)
    # a k^(2/3) probe, a top-up, then the rest, each pass the rule's function of the noisy total
    # before it (never the true n): replayed from the measurements, charge for charge
    assert [e.rho for e in synth.ledger_.entries] == pytest.approx(
        replay_one_ways(synth, 0.9 / 4), rel=1e-9
    )
    # 300 rows at epsilon 0.1: k* is below every column's size, so the split is nearly equal
    got = np.array([per_column[a] for a in domain.attrs]) / rho
    assert not np.allclose(got, one_way_weights(domain), rtol=0.1)
    assert got.max() / got.min() < 1.3


DROWN_COLS = [*COLS, "age"]  # age: 75 codes here, drowned at 300 rows and epsilon 0.1


def test_drowned_rule_is_the_noise_of_the_whole_budget_against_twice_n() -> None:
    domain = Domain.from_dict({"a": 2, "b": 30, "c": 90})
    rho = 1.77e-4  # epsilon 0.1 at delta 1e-9: sigma 53 with all of it on one column
    sigma = gaussian_scale(rho)
    for n in (100.0, 1300.0, 2000.0, 1e5):
        want = [
            a for a in domain.attrs if math.sqrt(2 / math.pi) * sigma * domain.size((a,)) >= 2 * n
        ]
        assert drowned(domain, rho, n) == want
    assert drowned(domain, rho, 1300.0) == ["c"] and drowned(domain, rho, 1e5) == []


@pytest.mark.parametrize("method", [AIMSynthesizer, MWEMSynthesizer])
def test_drowned_column_gets_nothing_more_and_is_left_uniform(
    adult_pgm: pd.DataFrame, method
) -> None:
    """300 rows at epsilon 0.1: age (75 codes) cannot be measured whatever it gets. It gets no
    charge, the other columns share its budget, and the fallback model leaves it uniform."""
    codes, domain = data(adult_pgm, 300, DROWN_COLS)
    synth = method(epsilon=0.1, noise_seed=3, round_iters=5, pgm_iters=20).fit_codes(codes, domain)
    d = len(domain)
    assert synth.skipped_ == ["age"] and synth.history_ == []
    # the probe measures the smallest columns first; their noisy total already says age is
    # drowned, so it is never measured at all
    assert [e.what for e in synth.ledger_.entries[: d - 1]] == [
        f"marginal {(a,)}" for a in size_order(domain, COLS)
    ]
    assert "marginal ('age',)" not in [e.what for e in synth.ledger_.entries]
    assert len(synth.ledger_.entries) > 2 * (d - 1)  # the others were topped up
    assert synth.ledger_.rho_spent == pytest.approx(synth.ledger_.rho_budget, rel=1e-12)
    p = np.ravel(synth.project(("age",)))
    k = domain.size(("age",))
    assert p / p.sum() == pytest.approx(np.full(k, 1 / k), abs=1e-12)
    total = estimate_total(synth.measurements_, domain)
    for m in shrunk_one_ways(synth.measurements_, total, ["age"]):
        q = np.ravel(synth.project(m.clique))
        # independent_model floors every cell at 0.01 records: at most 0.01 k / total apart
        assert q / q.sum() == pytest.approx(m.values / total, abs=0.01 * q.size / total)


def neighbouring_runs(codes: np.ndarray, domain) -> list[AIMSynthesizer]:
    """AIM at epsilon 0.1, noise pinned, on ``codes`` and on ``codes`` plus one odd row (each
    column's rarest code)."""
    odd = np.array([[int(np.argmin(np.bincount(codes[:, j], minlength=k))) for j, k in
                     enumerate(domain.shape)]])  # fmt: skip
    return [
        AIMSynthesizer(epsilon=0.1, noise_seed=11).fit_codes(t, domain)
        for t in (codes, np.vstack([codes, odd]))
    ]


def test_neighbouring_tables_drowned_column_is_post_processing(adult_pgm: pd.DataFrame) -> None:
    """A table and the table plus one odd row, noise pinned, with a drowned column: both skip
    it after the probe (a function of the noisy total), measure the same marginals in the same
    order, and every charge is the replay of that run's own noisy totals."""
    codes, domain = data(adult_pgm, 300, DROWN_COLS)
    runs = neighbouring_runs(codes, domain)
    assert [e.what for e in runs[0].ledger_.entries] == [e.what for e in runs[1].ledger_.entries]
    for run in runs:
        assert run.skipped_ == ["age"]
        assert [e.rho for e in run.ledger_.entries] == pytest.approx(
            replay_one_ways(run, 0.9 / 4), rel=1e-9
        )
        assert run.ledger_.rho_spent == pytest.approx(run.ledger_.rho_budget, rel=1e-12)


def test_fallback_model_is_the_shrunk_noisy_one_ways(adult_pgm: pd.DataFrame) -> None:
    """The independent model AIM falls back to is a function of the noisy measurements alone."""
    codes, domain = data(adult_pgm, 300)
    synth = AIMSynthesizer(epsilon=0.1, noise_seed=3).fit_codes(codes, domain)
    total = estimate_total(synth.measurements_, domain)
    shrunk = {m.clique[0]: m for m in shrunk_one_ways(synth.measurements_, total)}
    lams = []
    for a in domain.attrs:
        ys = [m for m in synth.measurements_ if m.clique == (a,)]
        w = sum(1 / m.sigma**2 for m in ys)
        y = sum(m.values / m.sigma**2 for m in ys) / w
        lams.append(shrink_weight(y, w**-0.5, total))
        p = np.ravel(synth.model_.project((a,)))
        # (independent_model floors every cell at 0.01 records)
        assert p / p.sum() == pytest.approx(shrunk[a].values / total, abs=0.01 * p.size / total)
    # at sigma ~ 100 per cell on 300 rows some columns are shrunk towards uniform
    assert min(lams) < 1.0 and all(0.0 <= x <= 1.0 for x in lams)


def test_shrink_weight_is_one_when_well_measured_and_helps_when_drowned() -> None:
    rng = np.random.default_rng(0)
    x = 1000.0 * np.exp(-0.5 * ((np.arange(50) - 20.0) / 8.0) ** 2)
    x *= 1000.0 / x.sum()  # a 50-code column of 1,000 rows, spread like an age
    assert shrink_weight(x + rng.normal(0, 1.0, x.size), 1.0, 1000.0) > 0.99
    errors = {"projection": [], "shrunk": []}
    for _ in range(50):  # sigma 150 per cell: the plain projection keeps a few noise spikes
        y = x + rng.normal(0, 150.0, x.size)
        lam = shrink_weight(y, 150.0, 1000.0)
        p = project_simplex(y, 1000.0)
        q = lam * p + (1 - lam) * 20.0
        errors["projection"].append(np.abs(p - x).sum() / 2000.0)
        errors["shrunk"].append(np.abs(q - x).sum() / 2000.0)
    assert np.mean(errors["shrunk"]) < 0.8 * np.mean(errors["projection"])


def test_neighbouring_tables_take_the_same_one_way_phase(adult_pgm: pd.DataFrame) -> None:
    """One row added (an odd one: the rarest code of every column), noise pinned: the one-way
    probe and its top-up (what is measured, at which rho) are the same, since the top-up depends
    on the data only through the noisy total."""
    codes, domain = data(adult_pgm, 400)
    odd = np.array([[int(np.argmin(np.bincount(codes[:, j], minlength=k))) for j, k in
                     enumerate(domain.shape)]])  # fmt: skip
    runs = []
    for table in (codes, np.vstack([codes, odd])):
        synth = AIMSynthesizer(epsilon=0.5, noise_seed=7, round_iters=5, pgm_iters=20)
        runs.append(synth.fit_codes(table, domain))
    a, b = (r.ledger_ for r in runs)
    d = len(domain)
    names = [f"marginal {(x,)}" for x in size_order(domain, domain.attrs)]
    assert [e.what for e in a.entries[: 2 * d]] == names + names  # the probe, then a top-up
    assert [e.rho for e in a.entries[:d]] == [e.rho for e in b.entries[:d]]
    rho, base = a.rho_budget, 0.9 / 4
    totals = []
    for run in runs:
        # the probe's noisy total: with the same noise it moves by exactly the added row
        n_hat = estimate_total(run.measurements_[:d], domain)
        totals.append(n_hat)
        # the top-up is the rule's function of that noisy total alone, charged exactly
        top_up = sum(e.rho for e in run.ledger_.entries[d : 2 * d])
        assert base + top_up / rho == pytest.approx(
            one_way_share(domain, rho, n_hat, base), rel=1e-9
        )
        assert run.ledger_.rho_spent == pytest.approx(rho, rel=1e-12)
    assert totals[1] - totals[0] == pytest.approx(1.0, abs=1e-6)


def test_selected_cliques_come_from_the_workload_closure(aim: AIMSynthesizer) -> None:
    closure = set(downward_closure(resolve_workload(aim.domain_, "all-2way")))
    assert all(h["clique"] in closure for h in aim.history_)
    assert aim.cliques_ == [m.clique for m in aim.measurements_]


def test_annealing_shrinks_sigma_and_grows_epsilon(aim: AIMSynthesizer) -> None:
    hist = aim.history_[:-1]  # the last round's sigma and epsilon come from what is left
    for a, b in itertools.pairwise(hist):
        if a["annealed"]:
            assert b["sigma"] == pytest.approx(a["sigma"] / 2)
            assert b["epsilon"] == pytest.approx(a["epsilon"] * 2)
        else:
            assert b["sigma"] == a["sigma"] and b["epsilon"] == a["epsilon"]
    assert aim.history_[-1]["annealed"] is False


def test_model_size_cap_limits_candidates(adult_pgm: pd.DataFrame) -> None:
    codes, domain = data(adult_pgm, 1000)
    synth = AIMSynthesizer(
        epsilon=1.0, seed=0, max_model_size_mb=1e-6, round_iters=20, pgm_iters=50
    ).fit_codes(codes, domain)
    # nothing but the free (already measured) one-way marginals fits under the cap
    assert all(len(m.clique) == 1 for m in synth.measurements_)
    assert synth.ledger_.rho_spent == pytest.approx(synth.ledger_.rho_budget, rel=1e-12)


def test_cap_grows_with_the_budget_spent(aim: AIMSynthesizer) -> None:
    caps = [h["size_cap_mb"] for h in aim.history_]
    cap = aim.max_model_size_mb
    assert caps == sorted(caps) and caps[-1] == pytest.approx(cap)
    assert all(h["model_mb"] <= cap for h in aim.history_)


def test_target_and_3way_workloads(adult_pgm: pd.DataFrame) -> None:
    codes, domain = data(adult_pgm, 1000, COLS[:4])
    synth = AIMSynthesizer(
        epsilon=2.0, seed=1, workload="all-3way", target="income>50K", round_iters=20, pgm_iters=50
    ).fit_codes(codes, domain)
    closure = set(candidate_weights(resolve_workload(domain, "all-3way", "income>50K")))
    assert all(h["clique"] in closure for h in synth.history_)
    listed = AIMSynthesizer(
        epsilon=2.0, seed=1, workload=[("sex", "race"), ("race", "relationship")], round_iters=20
    ).fit_codes(codes, domain)
    assert {h["clique"] for h in listed.history_} <= {
        ("sex",),
        ("race",),
        ("relationship",),
        ("sex", "race"),
        ("race", "relationship"),
    }
    assert listed.params()["workload"] == [[["sex", "race"], 1.0], [["race", "relationship"], 1.0]]


@pytest.mark.slow
def test_large_epsilon_recovers_two_way_marginals(adult_pgm: pd.DataFrame) -> None:
    codes, domain = data(adult_pgm)
    synth = AIMSynthesizer(epsilon=50.0, seed=0, round_iters=50, pgm_iters=500)
    tv = tvds(codes, synth.fit_codes(codes, domain).sample_codes(), domain)
    # measured (3 seeds, default iterations): mean 0.0024-0.0028, max 0.0054-0.0076
    assert tv.mean() < 0.01 and tv.max() < 0.03


@pytest.mark.parametrize(
    "bad",
    [
        {"alpha": 0.0},
        {"alpha": 1.0},
        {"max_model_size_mb": 0},
        {"rounds": 0},
        {"round_iters": -1},
        {"workload": 3},
        {"target": 5},
    ],
)
def test_bad_params_raise(adult_pgm: pd.DataFrame, bad: dict) -> None:
    codes, domain = data(adult_pgm, 200)
    with pytest.raises(InputError):
        AIMSynthesizer(**bad).fit_codes(codes, domain)


@pytest.mark.parametrize(
    "kw", [{"rounds": 3}, {"workload": "all-7way"}, {"target": "nope"}, {"workload": [("a", "b")]}]
)
def test_bad_fit_settings_raise_before_spending(
    adult_pgm: pd.DataFrame, kw: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes, domain = data(adult_pgm, 200)
    synth = AIMSynthesizer(**kw)
    charges = []
    monkeypatch.setattr(PrivacyLedger, "charge", lambda *a, **k: charges.append(a))
    with pytest.raises(InputError):
        synth.fit_codes(codes, domain)
    assert charges == []  # nothing measured
    assert "ledger_" not in vars(synth)  # and the failed fit left it unfitted


def test_neighbouring_tables_fallback_is_post_processing(adult_pgm: pd.DataFrame) -> None:
    """A table and the table plus one odd row, noise pinned, at a budget where AIM ends as the
    independent model: both runs measure the same marginals in the same order, every charge is
    the rule's function of that run's noisy totals, and the model is its noisy measurements
    shrunk (no other access to the rows)."""
    codes, domain = data(adult_pgm, 300)
    runs = neighbouring_runs(codes, domain)
    assert [e.what for e in runs[0].ledger_.entries] == [e.what for e in runs[1].ledger_.entries]
    for run in runs:
        assert run.history_ == []
        assert [e.rho for e in run.ledger_.entries] == pytest.approx(
            replay_one_ways(run, 0.9 / 4), rel=1e-9
        )
        assert run.ledger_.rho_spent == pytest.approx(run.ledger_.rho_budget, rel=1e-12)
        total = estimate_total(run.measurements_, domain)
        for m in shrunk_one_ways(run.measurements_, total):
            p = np.ravel(run.model_.project(m.clique))
            # independent_model floors every cell at 0.01 records: at most 0.01 k / total apart
            assert p / p.sum() == pytest.approx(m.values / total, abs=0.01 * p.size / total)
