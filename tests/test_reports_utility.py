"""The utility section: marginal distances, associations and train-synthetic-test-real."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from privsynth.schema import AUDIT_TYPES, ColumnSpec, Schema
from reports.utility import compute_utility, default_target, is_numeric_column


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


def test_default_target_is_the_last_small_categorical_column(adult_schema: Schema) -> None:
    assert default_target(adult_schema) == "income"
    cols = {c.name: c for c in adult_schema.columns}
    dated = ColumnSpec(
        name="visit", type="datetime", format="%Y-%m-%d", lower="2020-01-01", upper="2020-12-31"
    )
    # a date (or any numeric column) last: the default skips it for the last small categorical
    schema = Schema(columns=[cols["age"], cols["education"], cols["sex"], cols["fnlwgt"], dated])
    assert default_target(schema) == "sex"
    # education has 16 levels (<= 20); with neither sex nor income, it is the target
    assert default_target(Schema(columns=[cols["education"], dated])) == "education"
    many = ColumnSpec(name="code", type="categorical", categories=[str(i) for i in range(40)])
    assert default_target(Schema(columns=[cols["age"], many, dated])) is None


def test_numeric_columns_follow_the_schema_audit_types(adult: pd.DataFrame) -> None:
    age = adult["age"]
    for schema_type, numeric in (("integer", True), ("float", True), ("numeric", True),
                                 ("datetime", False), ("categorical", False)):  # fmt: skip
        assert is_numeric_column(age, schema_type) is numeric
    assert set(AUDIT_TYPES) <= {"integer", "float", "datetime", "categorical"}
    assert is_numeric_column(age, None) and not is_numeric_column(adult["sex"], None)
