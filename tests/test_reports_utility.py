"""The utility section: marginal distances, associations and train-synthetic-test-real."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reports.utility import compute_utility


@pytest.fixture(scope="module")
def split(adult: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = adult.sample(2000, random_state=2).reset_index(drop=True)
    return df.iloc[:1500].reset_index(drop=True), df.iloc[1500:].reset_index(drop=True)


def _values(section) -> dict[str, float]:
    return {m.name: m.estimate.value for m in section.metrics}


def test_identical_tables_have_no_error(split) -> None:
    train, holdout = split
    section, heat = compute_utility(train, holdout, train.copy(), target="income")
    v = _values(section)
    assert v["utility.marginal_1way.max_tvd"] == 0 and v["utility.marginal_2way.max_tvd"] == 0
    assert v["utility.correlation.max_abs_diff"] == pytest.approx(0, abs=1e-12)
    assert v["utility.ml.gap"] == pytest.approx(0, abs=1e-12)
    assert np.allclose(heat["tvd"], 0) and heat["columns"] == list(train.columns)


def test_damaged_column_is_named_worst(split) -> None:
    train, holdout = split
    synthetic = train.copy()
    synthetic["education"] = "Bachelors"
    section, _ = compute_utility(train, holdout, synthetic, target=None)
    assert section.worst_columns[0]["column"] == "education"
    assert "education" in section.worst_pairs[0]["columns"]
    assert section.ml is None and any("target" in n for n in section.notes)


def test_numeric_target_is_regression(split) -> None:
    train, holdout = split
    section, _ = compute_utility(train, holdout, train.copy(), target="hours-per-week")
    assert section.ml is not None and section.ml["task"] == "regression"
    assert section.ml["score"] == "R^2"
    tstr = next(m for m in section.metrics if m.name == "utility.ml.tstr").estimate
    assert tstr.ci_low <= tstr.value <= tstr.ci_high


def test_unknown_target_is_a_note(split) -> None:
    train, holdout = split
    section, _ = compute_utility(train, holdout, train.copy(), target="nope")
    assert section.ml is None and any("nope" in n for n in section.notes)
