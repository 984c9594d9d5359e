"""read_table cleans text per distinct value: it must equal the plain cell-by-cell rule.

The reference below is the rule read_table documents (trim every cell, missing markers to NA,
numbers when every present cell parses), applied cell by cell as the earlier implementation did.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privsynth.errors import InputError
from privsynth.io import DEFAULT_MISSING, read_table

EXACT = 2.0**53


def reference_column(s: pd.Series, markers: set[str]) -> pd.Series:
    s = s.astype(object)
    text = s.where(s.isna(), s.astype(str)).str.strip()
    text = text.where(~text.isin(markers), None)
    present = text.notna()
    if not present.any():
        return text.astype(object)
    nums = pd.to_numeric(text, errors="coerce")
    if nums[present].isna().any():
        return text.astype(object)
    if nums.dtype.kind == "i" and int(nums.abs().max()) <= EXACT:
        return nums.astype(np.int64)
    finite = nums[present].to_numpy(dtype=float)
    whole = np.all(finite == np.round(finite)) and np.all(np.abs(finite) <= EXACT)
    if whole and not present.all():
        return nums.astype(float).round().astype("Int64")
    return nums.astype(float).astype(np.int64) if whole else nums.astype(float)


def tricky_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pick = lambda values: rng.choice(np.array(values, dtype=object), n)  # noqa: E731
    return pd.DataFrame(
        {
            "ints": pick(["1", " 2", "3 ", "-4", "10"]),
            "ints_missing": pick(["7", "?", "", " 8 ", "NA"]),
            "floats": pick(["1.5", "2", " -0.25", "1e3"]),
            "floats_missing": pick(["0.5", "null", "2.0"]),
            "huge": pick(["9007199254740993", "1"]),
            "text": pick(["a", " a", "b ", "NaN", "Never-married", "é x"]),
            "mostly_numbers": pick(["1", "2", "x"]),
            "all_missing": pick(["?", "", "NA"]),
            "whole_floats": pick(["1.0", "2.00", "?"]),
        }
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_csv_equals_the_cell_by_cell_rule(tmp_path: Path, seed: int) -> None:
    raw = tricky_table(400, seed)
    path = tmp_path / "t.csv"
    raw.to_csv(path, index=False)
    text = pd.read_csv(path, dtype=str, keep_default_na=False)  # the file's cells as text
    got = read_table(path)
    for col in raw.columns:
        want = reference_column(text[col], set(DEFAULT_MISSING))
        pd.testing.assert_series_equal(got[col], want, check_names=False, obj=col)


def test_parquet_text_with_its_own_index_and_nulls(tmp_path: Path) -> None:
    raw = tricky_table(300, 3)
    raw.loc[::7, "text"] = None
    raw.loc[::5, "ints_missing"] = np.nan
    raw.index = pd.Index(np.arange(300)[::-1] * 3, name="row")  # not a RangeIndex
    path = tmp_path / "t.parquet"
    raw.to_parquet(path)
    got = read_table(path)
    assert list(got.index) == list(raw.index)
    for col in raw.columns:
        want = reference_column(raw[col], set(DEFAULT_MISSING)).set_axis(raw.index)
        pd.testing.assert_series_equal(got[col], want, check_names=False, obj=col)


def test_non_text_objects_are_read_cell_by_cell(tmp_path: Path) -> None:
    from decimal import Decimal

    raw = pd.DataFrame({"dec": [Decimal("1.50"), None, Decimal("2")], "b": [b"x", b" y", None]})
    path = tmp_path / "m.parquet"
    raw.to_parquet(path)
    got = read_table(path)
    for col in raw.columns:
        want = reference_column(pd.read_parquet(path)[col], set(DEFAULT_MISSING))
        pd.testing.assert_series_equal(got[col], want, check_names=False, obj=col)
    assert got["dec"].dtype == float


def test_infinite_value_names_its_row(tmp_path: Path) -> None:
    path = tmp_path / "inf.csv"
    path.write_text("a,b\n1,x\n2,y\ninf,z\n-inf,w\n")
    with pytest.raises(InputError, match=r"column 'a'.*value inf at data row 3 .*\(2 rows\)"):
        read_table(path)
