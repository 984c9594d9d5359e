"""The privacy ledger: zCDP arithmetic, the CKS conversion (checked against OpenDP), refusals."""

from __future__ import annotations

import math

import numpy as np
import opendp.prelude as dp
import pytest

from privsynth.domain import Domain
from privsynth.errors import BudgetExceededError, InputError
from privsynth.privacy.accounting import epsilon_to_rho, pure_to_rho, rho_to_epsilon
from privsynth.privacy.budget import Budget
from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.mechanisms import gaussian_scale, measure_marginal
from privsynth.privacy.noise import NoiseSource

dp.enable_features("contrib")


@pytest.mark.parametrize("scale", [0.5, 2.0, 10.0, 100.0])
@pytest.mark.parametrize("delta", [1e-5, 1e-9])
def test_cks_conversion_matches_opendp(scale: float, delta: float) -> None:
    space = dp.vector_domain(dp.atom_domain(T="i64")), dp.l2_distance(T="i64")
    meas = dp.m.make_gaussian(*space, scale=scale)
    rho = meas.map(1)
    opendp_eps = dp.c.make_zCDP_to_approxDP(meas).map(1).epsilon(delta)
    assert rho_to_epsilon(rho, delta) == pytest.approx(opendp_eps, rel=1e-7)
    # CKS is never looser than the classic bound
    assert rho_to_epsilon(rho, delta) <= rho + 2 * math.sqrt(rho * math.log(1 / delta))


@pytest.mark.parametrize("eps", [0.1, 1.0, 10.0])
def test_epsilon_to_rho_is_the_conservative_inverse(eps: float) -> None:
    rho = epsilon_to_rho(eps, 1e-9)
    assert rho_to_epsilon(rho, 1e-9) <= eps
    assert rho_to_epsilon(rho * (1 + 1e-9), 1e-9) == pytest.approx(eps, rel=1e-6)


def test_known_values() -> None:
    # epsilon 1, delta 1e-9 is rho ~ 0.01497 (AIM/MST papers' setting)
    assert epsilon_to_rho(1.0, 1e-9) == pytest.approx(0.014973, rel=1e-4)
    assert pure_to_rho(1.0) == 0.5


def test_ledger_adds_and_converts() -> None:
    ledger = PrivacyLedger(Budget(epsilon=1.0, delta=1e-9))
    for i in range(3):
        ledger.charge(ledger.rho_remaining / (3 - i), what=f"m{i}", mechanism="test")
    assert ledger.rho_spent <= ledger.rho_budget
    assert ledger.rho_spent == pytest.approx(ledger.rho_budget, rel=1e-15)
    eps, delta = ledger.spent_epsilon_delta()
    assert eps == pytest.approx(1.0, rel=1e-6) and eps <= 1.0
    assert delta == 1e-9
    d = ledger.to_dict()
    assert len(d["entries"]) == 3 and d["spent"]["epsilon"] == eps


def test_refuses_overspend_before_touching_data() -> None:
    ledger = PrivacyLedger.for_rho(0.01)

    class Untouchable:
        """Stands in for private data: any access fails the test."""

        shape = (10, 1)

        def __getitem__(self, item: object) -> None:
            raise AssertionError("private data was read before the budget check")

    with pytest.raises(BudgetExceededError):
        measure_marginal(
            Untouchable(), Domain(("a",), (3,)), ("a",), 0.02, ledger=ledger, noise=NoiseSource(0)
        )  # type: ignore[arg-type]  (0.02: twice the budget)
    assert ledger.entries == []


def test_delta_reserve_for_approximate_mechanisms() -> None:
    ledger = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6, delta_reserve=5e-7))
    ledger.charge(ledger.rho_budget / 2, what="thresholded histogram", mechanism="t", delta=5e-7)
    with pytest.raises(BudgetExceededError):
        ledger.charge(0.0, what="more", mechanism="t", delta=1e-9)
    eps, delta = ledger.spent_epsilon_delta()
    assert delta == pytest.approx(1e-6) and delta <= 1e-6
    assert eps < 1.0


@pytest.mark.parametrize(
    ("eps", "delta"), [(0, 1e-9), (-1, 1e-9), (float("nan"), 1e-9), (1e6, 1e-9), (1, 0), (1, 0.5)]
)
def test_invalid_budgets_are_refused(eps: float, delta: float) -> None:
    with pytest.raises(InputError):
        PrivacyLedger(Budget(epsilon=eps, delta=delta))


def test_measurement_charges_what_opendp_says() -> None:
    ledger = PrivacyLedger.for_rho(1.0)
    codes = np.array([[0], [1], [1], [2]])
    rho = 1 / 32
    measure_marginal(codes, Domain(("a",), (3,)), ("a",), rho, ledger=ledger, noise=NoiseSource(1))
    sigma = gaussian_scale(rho)
    assert sigma == pytest.approx(4.0, rel=1e-15)
    space = dp.vector_domain(dp.atom_domain(T="i64")), dp.l2_distance(T="i64")
    assert ledger.rho_spent == pytest.approx(dp.m.make_gaussian(*space, scale=sigma).map(1))
    assert ledger.entries[0].sensitivity == 1.0 and ledger.entries[0].scale == sigma
