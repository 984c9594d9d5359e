"""The audit's lean reading of large files: read_lean gives read_table's table (text columns as
Categoricals that as_read turns back exactly), and the encoder codes a column the same whatever
pandas dtype holds its labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attacks.geometry import encode_tables, validate_tables
from privsynth.errors import InputError
from privsynth.io import read_table
from privsynth.workflows.audit import as_read, read_lean

RNG = np.random.default_rng(0)
N = 400
CASES = {
    "markers": pd.DataFrame(
        {"a": RNG.choice([" x", "y ", "?", "NA", "z"], N), "b": RNG.integers(0, 9, N)}
    ),
    "nulls": pd.DataFrame({"a": pd.Series(RNG.choice(["x", "y", None], N), dtype=object)}),
    "marker_and_null": pd.DataFrame(
        {"a": pd.Series(RNG.choice(["x", "?", None], N), dtype=object)}
    ),
    "numeric_text": pd.DataFrame({"a": RNG.choice(["1", " 2", "3.5"], N)}),
    "integer_text": pd.DataFrame({"a": RNG.choice(["1", " 2", "-30", "4.0"], N)}),
    "integer_text_missing": pd.DataFrame(
        {"a": pd.Series(RNG.choice(["7", "?", " 8", None, "NA"], N), dtype=object)}
    ),
    "float_text_null": pd.DataFrame({"a": pd.Series(RNG.choice(["0.5", "1e3", None], N))}),
    "huge_integer_text": pd.DataFrame({"a": RNG.choice(["9007199254740993", "1"], N)}),
    "mixed_text": pd.DataFrame({"a": RNG.choice(["1", "x", "2"], N), "b": RNG.choice(["3"], N)}),
    "all_missing": pd.DataFrame({"a": pd.Series([None] * N, dtype=object), "b": ["?"] * N}),
    "categorical": pd.DataFrame({"a": pd.Categorical(RNG.choice(["p", "q"], N))}),
    "spaced_names": pd.DataFrame({" a ": RNG.choice(["u", "v"], N), "f": RNG.random(N)}),
}


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if list(a.columns) != list(b.columns):
        return False
    for c in a.columns:
        if a[c].dtype != b[c].dtype:
            return False
        for x, y in zip(a[c].tolist(), b[c].tolist(), strict=True):
            nan = isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y)
            if type(x) is not type(y) or not (x is y or x == y or nan):
                return False
    return True


@pytest.mark.parametrize("case", sorted(CASES))
def test_read_lean_gives_read_tables_table(tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.parquet"
    CASES[case].to_parquet(path, index=False)
    lean, text = read_lean(path)
    assert _same(as_read(lean, text), read_table(path))
    assert all(isinstance(lean[c].dtype, pd.CategoricalDtype) for c in text)


def test_read_lean_on_adult_keeps_no_python_string_per_cell(tmp_path: Path, adult) -> None:
    path = tmp_path / "adult.parquet"
    adult.to_parquet(path, index=False)
    lean, text = read_lean(path)
    ref = read_table(path)
    assert _same(as_read(lean, text), ref)
    assert set(text) == {c for c in ref.columns if ref[c].dtype == object}
    assert lean.memory_usage(deep=True).sum() < ref.memory_usage(deep=True).sum() / 4


def test_read_lean_reads_numbers_stored_as_text_without_read_table(
    tmp_path: Path, adult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part certify split from a CSV source holds every column as text: read on its distinct
    values (no fallback to read_table's cell-by-cell strings), equal to read_table's table."""
    import privsynth.workflows.audit as audit

    path = tmp_path / "adult_text.parquet"
    adult.head(3000).astype(str).to_parquet(path, index=False)
    ref = read_table(path)
    assert sum(ref[c].dtype != np.dtype(object) for c in ref) >= 6  # numbers came back

    def refuse(*args, **kwargs):
        raise AssertionError("read_lean fell back to read_table")

    monkeypatch.setattr(audit, "read_table", refuse)
    lean, text = read_lean(path)
    assert _same(as_read(lean, text), ref)
    assert set(text) == {c for c in ref.columns if ref[c].dtype == object}


def test_read_lean_errors_are_read_tables(tmp_path: Path) -> None:
    path = tmp_path / "inf.parquet"
    pd.DataFrame({"f": [1.0, np.inf]}).to_parquet(path, index=False)
    with pytest.raises(InputError, match="not a finite number"):
        read_lean(path)
    text_inf = tmp_path / "inf_text.parquet"
    pd.DataFrame({"f": ["1", "2", " inf"]}).to_parquet(text_inf, index=False)
    with pytest.raises(InputError, match="value inf at data row 3 is not a finite number"):
        read_lean(text_inf)
    with pytest.raises(InputError, match="no such file"):
        read_lean(tmp_path / "missing.parquet")
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n x ,1\n?,2\n")
    lean, text = read_lean(csv)  # CSV: read_table itself
    assert text == {} and _same(lean, read_table(csv))


def test_encoder_codes_do_not_depend_on_the_label_dtype() -> None:
    labels = RNG.choice(["b", "a", "c", None], 300)
    mixed = pd.Series([1, 1.0, "1", True, None, -0.0, 0.0] * 40)
    forms = {
        "object": pd.Series(labels, dtype=object),
        "str": pd.Series(labels, dtype="str"),
        "category": pd.Series(pd.Categorical(labels)),
    }
    codes = []
    for series in forms.values():
        frames = {
            n: pd.DataFrame(
                {
                    "c": series.iloc[i::3].reset_index(drop=True),
                    "m": mixed.iloc[: len(series.iloc[i::3])].reset_index(drop=True),
                }
            )
            for i, n in enumerate(("t", "h", "s"))
        }
        frames, types = validate_tables(frames, {"m": "categorical"})
        geo, enc = encode_tables(frames, types)
        codes.append([enc[n].values["c"] for n in ("t", "h", "s")] + [enc["t"].values["m"]])
        assert geo.n_levels["c"] == 4
    for other in codes[1:]:
        for x, y in zip(codes[0], other, strict=True):
            np.testing.assert_array_equal(x, y)
    # 1, 1.0, "1", True: labels "1", "1.0", "1", "True" (one hash-table value, three labels)
    assert len(set(codes[0][3][:4].tolist())) == 3
