"""Reading and writing tables: missing markers, trimming, formats, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from privsynth.errors import InputError
from privsynth.io import read_table, write_table


def test_adult_markers_and_spaces(adult: pd.DataFrame) -> None:
    assert adult.shape == (32561, 15)
    assert adult["workclass"].isna().sum() == 1836  # " ?" in the raw file
    assert adult["workclass"].dropna().str.startswith(" ").sum() == 0
    assert adult["age"].dtype.kind == "i"


def test_custom_missing_markers(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1, x \n-999,y\n")
    df = read_table(p, missing=["-999"])
    assert df["a"].isna().tolist() == [False, True]
    assert df["b"].tolist() == ["x", "y"]


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet"])
def test_round_trip_formats(name: str, tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "c": [0.5, 1.5, 2.5]})
    write_table(df, tmp_path / name)
    back = read_table(tmp_path / name)
    assert back["a"].tolist() == [1, 2, 3]
    assert back["b"].isna().tolist() == [False, False, True]
    assert back["c"].tolist() == [0.5, 1.5, 2.5]


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    class Boom(pd.DataFrame):
        def to_csv(self, *a: object, **k: object) -> None:
            Path(str(a[0])).write_text("partial")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_table(Boom({"a": [1]}), tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []


def test_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="unsupported table format"):
        read_table(tmp_path / "x.xlsx")
    with pytest.raises(InputError, match="does not exist"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "nope" / "x.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2,3,4\n")
    with pytest.raises(InputError, match="data row 1 has 4 fields but the header has 2"):
        read_table(bad)
