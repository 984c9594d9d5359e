"""Neighbouring tables (one row added) through the real read -> encode -> fit path: the shared
rows keep their codes whatever the added value, and the ledgers do not depend on the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privsynth.encoding import category_key, category_keys, encode
from privsynth.errors import InputError, SchemaError
from privsynth.io import read_table
from privsynth.schema import ColumnSpec, Schema
from privsynth.synthesizers import METHODS, get_synthesizer

SCHEMA = Schema(
    [
        ColumnSpec("code", "categorical", True, categories=[1, 2], other=True),
        ColumnSpec("label", "categorical", True, categories=["a", "b", "1"], other=True),
        ColumnSpec("age", "integer", True, lower=0, upper=100, bins=10),
        ColumnSpec("score", "float", True, lower=0.0, upper=1.0, bins=4),
    ]
)
# one added row each; every value is odd for some column (the "1.5", a NaN marker,
# extreme and non-numeric numbers, text where numbers were)
ODD_ROWS = [
    {"code": "1.5", "label": "a", "age": "30", "score": "0.5"},
    {"code": "", "label": "", "age": "", "score": ""},
    {"code": "1e308", "label": "1.0", "age": "1e308", "score": "-1e308"},
    {"code": "x", "label": "2", "age": "-5", "score": "2"},
    {"code": "NaN", "label": "nan", "age": "7.5", "score": "0.999"},
    {"code": "True", "label": "True", "age": "100", "score": "1"},
]


def _base(n: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "code": rng.choice(["1", "2"], n),
            "label": rng.choice(["a", "b", "c"], n),
            "age": rng.integers(0, 101, n).astype(str),
            "score": rng.uniform(0, 1, n).round(3).astype(str),
        }
    )


def _read(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    df.to_csv(path, index=False)
    return read_table(path)  # the CLI's reader: dtypes are inferred from every cell


@pytest.mark.parametrize("extra", ODD_ROWS, ids=lambda r: r["code"] or "missing")
def test_one_added_row_changes_no_other_code(tmp_path: Path, extra: dict) -> None:
    base = _base()
    d = _read(base, tmp_path / "d.csv")
    d2 = _read(pd.concat([base, pd.DataFrame([extra])], ignore_index=True), tmp_path / "d2.csv")
    a = encode(d, SCHEMA).codes
    b = encode(d2, SCHEMA).codes
    assert b.shape == (len(base) + 1, 4)
    assert np.array_equal(a, b[: len(base)])
    # the example: [1, 2] + other, 1,000 records split between 1 and 2, none to other
    assert np.bincount(a[:, 0], minlength=4)[2:].sum() == 0


def test_keys_do_not_depend_on_the_column_dtype() -> None:
    as_text = category_keys(pd.Series(["1", "2", "1.0", "-0", "1.50", "1e3", "abc"]))
    assert as_text.tolist() == ["1", "2", "1", "0", "1.5", "1000", "abc"]
    assert category_keys(pd.Series([1, 2])).tolist() == ["1", "2"]
    assert category_keys(pd.Series([1.0, 2.0])).tolist() == ["1", "2"]
    assert category_keys(pd.Series([1.0, 1.5])).tolist() == ["1", "1.5"]
    mixed = pd.Series([1, "1", 1.0, True, "True", "x"], dtype=object)
    assert category_keys(mixed).tolist() == ["1", "1", "1", "True", "True", "x"]
    # not numbers: spaces, underscores, inf/nan, hex are text and stay as they are
    for text in (" 1", "1_000", "inf", "nan", "0x10"):
        assert category_key(text) == text
    assert category_key(2.0**53) == "9007199254740992.0" and category_key(2**53 - 1) == str(
        2**53 - 1
    )


def test_two_categories_with_one_key_are_a_schema_error() -> None:
    for cats in (["1", "1.0"], [1, "1"], ["2", 2.0], ["0", "-0"]):
        with pytest.raises(SchemaError, match="duplicate"):
            ColumnSpec("c", "categorical", categories=cats)
    # two texts that are different numbers are two categories
    ColumnSpec("c", "categorical", categories=["1", "1.5", "True", "true"])


def _codes(tmp_path: Path, extra: dict | None) -> tuple[np.ndarray, object]:
    base = _base(600)
    df = base if extra is None else pd.concat([base, pd.DataFrame([extra])], ignore_index=True)
    enc = encode(_read(df, tmp_path / f"t{extra is None}.csv"), SCHEMA)
    return enc.codes, enc.domain


FAST = {
    "independent": {},
    "mst": {"pgm_iters": 20},
    "mwem": {"pgm_iters": 20, "round_iters": 5},
    "aim": {"pgm_iters": 20, "round_iters": 5},
}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_neighbouring_tables_spend_the_same(tmp_path: Path, method: str) -> None:
    ledgers = []
    for extra in (None, ODD_ROWS[0]):
        codes, domain = _codes(tmp_path, extra)
        synth = get_synthesizer(method)(1.0, 1e-9, **FAST[method]).fit_codes(codes, domain)
        ledgers.append(synth.ledger_)
    a, b = ledgers
    assert a.rho_spent <= a.rho_budget and b.rho_spent <= b.rho_budget
    # AIM and MWEM split the budget by a rule on their noisy record count (post-processing), so
    # the float sum of the shares may differ in the last place; the total is the budget in both
    assert a.rho_spent == pytest.approx(b.rho_spent, rel=1e-12, abs=0)
    assert a.rho_spent == pytest.approx(a.rho_budget, rel=1e-12, abs=0)
    if method == "independent":  # nothing adapts: the very same entries
        assert [(e.what, e.rho, e.scale) for e in a.entries] == [
            (e.what, e.rho, e.scale) for e in b.entries
        ]
    if method == "mst":  # the tree adapts, the amounts do not
        assert [e.rho for e in a.entries] == [e.rho for e in b.entries]


def test_fit_codes_refuses_codes_outside_the_domain() -> None:
    synth = get_synthesizer("independent")(1.0, 1e-9)
    from privsynth.domain import Domain

    dom = Domain(("a", "b"), (2, 3))
    for bad in (np.array([[0, 3]]), np.array([[-1, 0]]), np.array([[0.5, 1.0]])):
        with pytest.raises(InputError):
            synth.fit_codes(bad, dom)
        assert not hasattr(synth, "ledger_")  # refused before a ledger exists
    synth.fit_codes(np.array([[1, 2], [0, 0]]), dom)
    assert synth.ledger_.rho_spent <= synth.ledger_.rho_budget
