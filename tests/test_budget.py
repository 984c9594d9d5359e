"""One straight rho path: a frozen Budget, mechanisms that charge exactly OpenDP's map (equal to
the closed form), and ``spent <= requested`` with exact float comparison for every method."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import opendp.prelude as dp
import pandas as pd
import pytest

from privsynth.domain import Domain
from privsynth.errors import BudgetExceededError, InputError
from privsynth.privacy.accounting import rho_to_epsilon
from privsynth.privacy.budget import Budget
from privsynth.privacy.ledger import PrivacyLedger, largest_addend
from privsynth.privacy.mechanisms import (
    gaussian_scale,
    measure_marginal,
    select,
    selection_scale,
)
from privsynth.privacy.noise import NoiseSource
from privsynth.schema_dp import infer_schema_dp
from privsynth.synthesizers import METHODS, get_synthesizer

dp.enable_features("contrib")

EPSILONS = (0.1, 1.0, 10.0)
# per-method settings that keep the matrix cheap (small models, few iterations)
FAST = {
    "independent": {},
    "mst": {"pgm_iters": 30},
    "mwem": {"pgm_iters": 30, "round_iters": 5, "rounds": 6},
    "aim": {"pgm_iters": 30, "round_iters": 5, "max_model_size_mb": 1.0},
}


def test_budget_is_frozen_validated_once_and_knows_rho() -> None:
    b = Budget(epsilon=1.0, delta=1e-9)
    assert b.rho == pytest.approx(0.014973, rel=1e-4)
    assert rho_to_epsilon(b.rho, b.delta_conversion) <= 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.epsilon = 2.0  # type: ignore[misc]
    r = Budget(epsilon=1.0, delta=1e-6, delta_reserve=5e-7)
    assert r.delta_conversion + r.delta_reserve <= r.delta
    # the synthesizer's budget exists before any data is read
    assert get_synthesizer("aim")(1.0, 1e-9).budget == b


@pytest.mark.parametrize(
    ("eps", "delta"),
    [(0, 1e-9), (-1, 1e-9), (math.nan, 1e-9), (math.inf, 1e-9), (1e6, 1e-9), (1, 0), (1, 0.5)],
)
def test_invalid_budgets_are_refused(eps: float, delta: float) -> None:
    with pytest.raises(InputError):
        Budget(epsilon=eps, delta=delta)


def test_remaining_never_overshoots() -> None:
    rng = np.random.default_rng(0)
    for _ in range(2000):
        total = float(rng.uniform(1e-6, 10))
        spent = float(total * rng.uniform(0, 1))
        r = largest_addend(spent, total)
        assert spent + r <= total and r >= (total - spent) * (1 - 4e-16)


def test_ledger_compares_exactly() -> None:
    ledger = PrivacyLedger.for_rho(0.3)
    for _ in range(9):
        ledger.charge(0.1 / 3, what="m", mechanism="t")
    ledger.charge(ledger.rho_remaining, what="last", mechanism="t")
    assert ledger.rho_spent <= 0.3
    with pytest.raises(BudgetExceededError):
        ledger.charge(math.ulp(0.3), what="one ulp more", mechanism="t")


@pytest.mark.parametrize("rho", [1e-5, 0.0123, 1 / 3, 2.0, 7.7])
def test_marginal_charges_opendps_map_which_is_the_closed_form(rho: float) -> None:
    ledger = PrivacyLedger.for_rho(10.0)
    measure_marginal(
        np.array([[0], [1], [1]]),
        Domain(("a",), (2,)),
        ("a",),
        rho,
        ledger=ledger,
        noise=NoiseSource(0),
    )
    (e,) = ledger.entries
    space = dp.vector_domain(dp.atom_domain(T="i64")), dp.l2_distance(T="i64")
    assert e.scale == gaussian_scale(rho)
    assert e.rho == dp.m.make_gaussian(*space, scale=e.scale).map(1)
    assert e.rho == pytest.approx(1 / (2 * e.scale**2), rel=1e-15)
    assert e.rho <= rho and e.rho == pytest.approx(rho, rel=1e-14)


@pytest.mark.parametrize(("rho", "sens"), [(1e-4, 1.0), (0.02, 3.0), (0.5, 0.25)])
def test_selection_charges_opendps_map_which_is_the_closed_form(rho: float, sens: float) -> None:
    ledger = PrivacyLedger.for_rho(10.0)
    select(
        np.array([0.0, 5.0, 1.0]),
        sensitivity=sens,
        rho=rho,
        ledger=ledger,
        noise=NoiseSource(None),
        what="t",
    )
    (e,) = ledger.entries
    assert e.scale == selection_scale(rho, sens)
    eps = 2 * sens / e.scale  # scale = 2 s / epsilon; cost epsilon^2 / 8
    assert e.rho == pytest.approx(eps**2 / 8, rel=1e-14)
    assert e.rho <= rho and e.rho == pytest.approx(rho, rel=1e-14)


@pytest.fixture(scope="module")
def small(adult: pd.DataFrame) -> pd.DataFrame:
    cols = ["age", "workclass", "education", "sex", "hours-per-week", "income"]
    return adult[cols].sample(3000, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def schemas(small: pd.DataFrame, adult_schema) -> dict:
    from privsynth.schema import Schema

    public = Schema([adult_schema[c] for c in small.columns])
    out = {"public": public}
    for eps in EPSILONS:
        out[eps] = infer_schema_dp(small, epsilon=eps, delta=1e-9)
    return out


@pytest.mark.parametrize("with_dp_schema", [False, True], ids=["public-schema", "dp-schema"])
@pytest.mark.parametrize("eps", EPSILONS)
@pytest.mark.parametrize("method", sorted(METHODS))
def test_spent_never_exceeds_requested(small, schemas, method, eps, with_dp_schema) -> None:
    from privsynth.manifest import privacy_section

    schema = schemas[eps] if with_dp_schema else schemas["public"]
    synth = get_synthesizer(method)(eps, 1e-9, **FAST[method]).fit(small, schema)
    ledger = synth.ledger_
    assert ledger.rho_spent <= ledger.rho_budget == synth.budget.rho
    assert math.fsum(e.rho for e in ledger.entries) == pytest.approx(ledger.rho_spent, rel=1e-14)
    spent_eps, spent_delta = ledger.spent_epsilon_delta()
    assert spent_eps <= eps and spent_delta <= 1e-9
    # nothing is left on the table: the last measurement took what was left
    assert ledger.rho_spent == pytest.approx(ledger.rho_budget, rel=1e-12)
    total = privacy_section(synth, schema)["total"]
    if with_dp_schema:
        dp_spent = schema.provenance["dp"]
        assert dp_spent["epsilon"] <= eps and dp_spent["delta"] <= 1e-9
        assert dp_spent["rho"] <= dp_spent["ledger"]["budget"]["rho"]
        assert total["epsilon"] <= eps + eps and total["delta"] <= 1e-9 + 1e-9
    else:
        assert total["epsilon"] <= eps and total["delta"] <= 1e-9


def test_seed_never_reaches_a_mechanism(monkeypatch, small, schemas) -> None:
    def seeded_noise(*args: object, **kwargs: object) -> None:
        raise AssertionError("seeded numpy noise drawn without noise_seed")

    monkeypatch.setattr("privsynth.privacy.noise.sample_discrete_gaussian", seeded_noise)
    synth = get_synthesizer("independent")(1.0, 1e-9, seed=5).fit(small, schemas["public"])
    assert synth.noise_.describe() == {"source": "OpenDP samplers", "release": True}
    # the same post-processing seed, fresh OpenDP noise: the fitted model differs between runs
    again = get_synthesizer("independent")(1.0, 1e-9, seed=5).fit(small, schemas["public"])
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(synth.probabilities_, again.probabilities_, strict=True)
    )


def test_noise_seed_is_reproducible_and_marked_not_for_release(small, schemas) -> None:
    runs = [
        get_synthesizer("independent")(1.0, 1e-9, noise_seed=3).fit(small, schemas["public"])
        for _ in range(2)
    ]
    assert runs[0].noise_.describe()["release"] is False
    assert "NOT FOR RELEASE" in runs[0].noise_.describe()["warning"]
    assert runs[0].sample(50).equals(runs[1].sample(50))
