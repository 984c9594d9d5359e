"""The independent baseline: budget, private row count, accuracy, API misuse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from privsynth.domain import Domain
from privsynth.errors import InputError, NotFittedError
from privsynth.marginals import marginal
from privsynth.model.measurements import project_simplex
from privsynth.schema import Schema
from privsynth.synthesizers import get_synthesizer
from privsynth.synthesizers.independent import IndependentSynthesizer


def test_spends_the_budget_on_one_way_marginals(
    adult_pgm: pd.DataFrame, adult_pgm_schema: Schema
) -> None:
    synth = IndependentSynthesizer(epsilon=1.0, delta=1e-9, seed=0).fit(adult_pgm, adult_pgm_schema)
    ledger = synth.ledger_
    assert len(ledger.entries) == 14
    assert {e.what for e in ledger.entries} == {f"marginal {(c,)}" for c in adult_pgm.columns}
    assert sum(e.rho for e in ledger.entries) == pytest.approx(ledger.rho_budget, rel=1e-12)
    eps, delta = ledger.spent_epsilon_delta()
    assert eps <= 1.0 + 1e-9 and delta <= 1e-9


def test_row_count_is_estimated_not_read(adult_pgm: pd.DataFrame, adult_pgm_schema: Schema) -> None:
    totals = [
        IndependentSynthesizer(epsilon=0.5, seed=s).fit(adult_pgm, adult_pgm_schema).total_
        for s in range(3)
    ]
    assert all(t != len(adult_pgm) for t in totals)
    assert all(abs(t - len(adult_pgm)) < 200 for t in totals)  # measured: within ~60 at eps 0.5


def test_high_epsilon_recovers_one_way_marginals(
    adult_pgm: pd.DataFrame, adult_pgm_schema: Schema
) -> None:
    synth = IndependentSynthesizer(epsilon=20.0, seed=1).fit(adult_pgm, adult_pgm_schema)
    codes = synth.sample_codes(len(adult_pgm))
    real = adult_pgm.to_numpy()
    dom = adult_pgm_schema.domain()
    for attr in ("age", "workclass", "income>50K"):
        p = marginal(real, dom, (attr,)) / len(real)
        q = marginal(codes, dom, (attr,)) / len(codes)
        assert 0.5 * np.abs(p - q).sum() < 0.02, attr  # sampling error alone is ~0.01 for age


def test_misuse() -> None:
    with pytest.raises(NotFittedError):
        IndependentSynthesizer().sample(10)
    codes = np.zeros((5, 1), dtype=np.int64)
    domain = Domain.from_dict({"a": 2})
    with pytest.raises(InputError, match="epsilon"):
        IndependentSynthesizer(epsilon=-1).fit_codes(codes, domain)
    with pytest.raises(InputError, match="epsilon"):
        _ = IndependentSynthesizer(epsilon=-1).budget  # as a registry reads it before fitting
    with pytest.raises(InputError, match="seed"):
        IndependentSynthesizer(seed=-3).fit_codes(codes, domain)
    with pytest.raises(InputError):
        get_synthesizer("nonsense")


def test_project_simplex() -> None:
    y = np.array([5.0, -2.0, 1.0, 0.5])
    x = project_simplex(y, 4.0)
    assert x.sum() == pytest.approx(4.0) and np.all(x >= 0)
    assert x[1] == 0.0 and np.argmax(x) == 0
    assert np.allclose(project_simplex(np.array([1.0, 2.0, 3.0]), 6.0), [1.0, 2.0, 3.0])
