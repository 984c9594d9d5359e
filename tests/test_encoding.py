"""Encoding tables to codes and back: round trips, bounds, and clear errors."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from privsynth.encoding import decode, encode, release_text
from privsynth.errors import SchemaError
from privsynth.schema import ColumnSpec, Schema


def test_adult_round_trip(adult: pd.DataFrame, adult_schema: Schema) -> None:
    enc = encode(adult, adult_schema)
    assert enc.codes.shape == (len(adult), 15)
    assert np.all(enc.codes >= 0) and np.all(enc.codes < np.array(enc.domain.shape))
    out = decode(enc.codes, adult_schema, np.random.default_rng(0))
    assert list(out.columns) == list(adult.columns)
    # decoding then encoding again gives back the same codes: values stay inside their bins
    assert np.array_equal(encode(out, adult_schema).codes, enc.codes)
    # categories come back exactly, missing markers as missing
    for col in ("workclass", "occupation", "income"):
        assert out[col].isna().sum() == adult[col].isna().sum()
        assert (out[col].dropna() == adult[col].dropna()).all()
    # numbers keep their dtype and stay within the public bounds
    assert out["age"].dtype == np.int64
    assert out["age"].between(17, 90).all() and out["fnlwgt"].between(0, 1_500_000).all()


def test_integer_bins_decode_inside_the_bin() -> None:
    schema = Schema([ColumnSpec("x", "integer", lower=0, upper=99, bins=10)])
    df = pd.DataFrame({"x": np.arange(100)})
    enc = encode(df, schema)
    assert np.array_equal(enc.codes[:, 0], np.arange(100) // 10)
    out = decode(enc.codes, schema, np.random.default_rng(1))
    assert np.array_equal(out["x"].to_numpy() // 10, np.arange(100) // 10)


def test_clipping_and_other_bucket_are_reported() -> None:
    schema = Schema(
        [
            ColumnSpec("n", "float", lower=0.0, upper=1.0, bins=4),
            ColumnSpec("c", "categorical", categories=["a", "b"], other=True),
        ]
    )
    df = pd.DataFrame({"n": [-5.0, 0.5, 7.0], "c": ["a", "zzz", "b"]})
    enc = encode(df, schema)
    assert enc.codes[:, 0].tolist() == [0, 2, 3]
    assert enc.codes[:, 1].tolist() == [0, 2, 1]
    assert enc.notes == ["column 'n': 2 values outside [0.0, 1.0] clipped",
                         "column 'c': 1 values outside the categories mapped to 'other'"]  # fmt: skip
    # the release rendering drops the private count; a note survives pickling (engines)
    assert [release_text(n).split(" (")[0] for n in enc.notes] == [
        "column 'n': some values outside [0.0, 1.0] clipped",
        "column 'c': some values outside the categories mapped to 'other'",
    ]
    again = pickle.loads(pickle.dumps(enc.notes))
    assert again == enc.notes and [n.release for n in again] == [n.release for n in enc.notes]
    out = decode(enc.codes, schema, np.random.default_rng(0))
    assert out["c"].tolist() == ["a", "other", "b"]


def test_nullable_gets_its_own_code() -> None:
    schema = Schema([ColumnSpec("x", "integer", lower=0, upper=3, bins=4, nullable=True)])
    df = pd.DataFrame({"x": pd.array([0, None, 3], dtype="Int64")})
    enc = encode(df, schema)
    assert enc.codes[:, 0].tolist() == [0, 4, 3]
    out = decode(enc.codes, schema, np.random.default_rng(0))
    assert out["x"].isna().tolist() == [False, True, False]


def test_datetime_round_trip() -> None:
    schema = Schema(
        [
            ColumnSpec(
                "d", "datetime", format="%Y-%m-%d", lower="2020-01-01", upper="2020-12-31", bins=12
            )
        ]
    )
    df = pd.DataFrame({"d": ["2020-01-15", "2020-06-30", "2020-12-31"]})
    enc = encode(df, schema)
    out = decode(enc.codes, schema, np.random.default_rng(0))
    assert np.array_equal(encode(out, schema).codes, enc.codes)
    assert pd.to_datetime(out["d"], format="%Y-%m-%d").notna().all()


@pytest.mark.parametrize(
    ("frame", "spec", "message"),
    [
        (
            pd.DataFrame({"c": ["a", "q"]}),
            ColumnSpec("c", "categorical", categories=["a"]),
            r"value 'q' at data row 2",
        ),
        (
            pd.DataFrame({"c": ["a", None]}),
            ColumnSpec("c", "categorical", categories=["a"]),
            r"missing value at data row 2",
        ),
        (
            pd.DataFrame({"x": ["1", "x1"]}),
            ColumnSpec("x", "integer", lower=0, upper=5),
            r"'x1' at data row 2 is not a number",
        ),
        (
            pd.DataFrame({"x": [1.0, np.nan]}),
            ColumnSpec("x", "float", lower=0, upper=5),
            r"missing value at data row 2",
        ),
    ],
)
def test_errors_name_column_row_and_value(
    frame: pd.DataFrame, spec: ColumnSpec, message: str
) -> None:
    with pytest.raises(SchemaError, match=message):
        encode(frame, Schema([spec]))


def test_column_mismatches(adult: pd.DataFrame, adult_schema: Schema) -> None:
    with pytest.raises(SchemaError, match=r"in the data but not in the schema"):
        encode(adult.assign(extra=1), adult_schema)
    with pytest.raises(SchemaError, match=r"in the schema but not in the data"):
        encode(adult.drop(columns=["age"]), adult_schema)
    with pytest.raises(SchemaError, match="no rows"):
        encode(adult.iloc[:0], adult_schema)


def test_excluded_columns_are_dropped(adult: pd.DataFrame, adult_schema: Schema) -> None:
    d = adult_schema.to_dict()
    d["columns"]["fnlwgt"] = {"type": "exclude"}
    schema = Schema.from_dict(d)
    enc = encode(adult, schema)
    assert "fnlwgt" not in enc.domain
    assert "fnlwgt" not in decode(enc.codes, schema, np.random.default_rng(0)).columns
