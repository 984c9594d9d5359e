"""Exact row keys (attacks/rowkeys.py) against the hash-based matching they replace, on Adult."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attacks.context import AuditData
from attacks.geometry import row_hashes
from attacks.qi_neighbors import distinct_rows, nearest_on_columns
from attacks.rowkeys import (
    RowKeys,
    RowMatches,
    combine_digits,
    first_appearance,
    n_distinct,
    sorted_inverse,
    unique_counts,
    unique_sorted,
)
from attacks.singling_out import combination_keys


@pytest.fixture(scope="module")
def data(adult: pd.DataFrame) -> AuditData:
    """Adult with missing values, duplicated records and a synthetic table that copies some
    training rows and some holdout rows (so every match kind occurs)."""
    p = np.random.default_rng(3).permutation(len(adult))[:6000]
    train, holdout = adult.iloc[p[:3000]], adult.iloc[p[3000:4000]]
    fresh = adult.iloc[p[4000:6000]]
    syn = pd.concat([fresh, train.iloc[:40], holdout.iloc[:15], train.iloc[:5]])
    train = pd.concat([train, train.iloc[100:110]])  # duplicated records: not unique
    frames = [t.reset_index(drop=True) for t in (train, holdout, syn)]
    return AuditData.prepare(*frames, seed=0)


SETS = [
    ["age", "sex"],
    ["workclass", "native-country", "occupation"],  # missing values ("?") in these
    ["capital-gain", "income"],
    None,  # every column
]


@pytest.mark.parametrize("cols", SETS)
def test_keys_equal_the_hash_factorisation_label_for_label(data, cols):
    cols = cols or list(data.geometry.columns)
    tables = [data.tables[t] for t in ("train", "holdout", "synthetic")]
    want = combination_keys([t.value_matrix(cols) for t in tables])
    got = data.row_keys.keys(cols)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    # the column order does not matter, and the second call is the cached array
    again = data.row_keys.keys(list(reversed(cols)))
    assert all(np.shares_memory(a, b) for a, b in zip(again, got, strict=True))


@pytest.mark.parametrize("cols", SETS)
def test_matches_equal_isin_and_unique_on_hashes(data, cols):
    cols = cols or list(data.geometry.columns)
    h_t, h_h, h_s = (row_hashes(data.tables[t], cols) for t in ("train", "holdout", "synthetic"))
    m = data.row_matches(cols)
    np.testing.assert_array_equal(m.train_in_synthetic, np.isin(h_t, h_s))
    np.testing.assert_array_equal(m.holdout_in_synthetic, np.isin(h_h, h_s))
    np.testing.assert_array_equal(m.synthetic_in_train, np.isin(h_s, h_t))
    np.testing.assert_array_equal(m.synthetic_in_holdout, np.isin(h_s, h_h))
    u, c = np.unique(np.concatenate([h_t, h_h]), return_counts=True)
    np.testing.assert_array_equal(m.unique_train, np.isin(h_t, u[c == 1]))
    np.testing.assert_array_equal(m.unique_holdout, np.isin(h_h, u[c == 1]))
    sel = m.train_in_synthetic
    assert m.distinct_train(sel) == np.unique(h_t[sel]).size
    if cols == list(data.geometry.columns):  # the planted copies are found
        assert sel.sum() >= 40 and m.holdout_in_synthetic.sum() >= 15
        assert not m.unique_train[3000:].any()  # the duplicated records


def test_mixed_radix_redensifies_instead_of_overflowing():
    rng = np.random.default_rng(0)
    cols = [rng.integers(0, 60_000, 5_000) for _ in range(6)]  # 60,000^6 > 2^62
    cols[3][:2500] = cols[3][2500:]  # some structure
    digits = [first_appearance(c) for c in cols]
    got = combine_digits(digits)
    want, _ = pd.factorize(
        pd.util.hash_pandas_object(pd.DataFrame(np.column_stack(cols)), index=False)
    )
    np.testing.assert_array_equal(got, want)
    # NaN is one value and 0.0 equals -0.0
    codes, n = first_appearance(np.array([np.nan, 0.0, -0.0, np.nan, 1.0]))
    assert codes.tolist() == [0, 1, 1, 0, 2] and n == 3


def test_cache_keeps_within_its_byte_budget(data):
    keys = RowKeys(data.geometry, data.tables, budget=3 * 8 * 6060)
    for c in data.geometry.columns[:6]:
        keys.keys([c, "age"])
    assert len(keys._keys) <= 3
    with pytest.raises(ValueError, match="at least one column"):
        keys.keys([])
    with pytest.raises(ValueError, match="train, holdout, synthetic"):
        RowMatches.of(RowKeys(data.geometry, data.tables, order=("train", "holdout")), ["age"])


def test_nearest_on_distinct_rows_equals_the_full_search(data):
    """Searching distinct rows only returns the same (lowest-index) nearest row as the full
    search, and distinct_rows inverts."""
    syn, tr = data.tables["synthetic"].X, data.tables["train"].X[:500]
    for cols in (["capital-gain", "income"], ["age", "education", "relationship"]):
        dims = data.geometry.dims(cols)
        b, q = syn[:, dims], tr[:, dims]
        sq = (b.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
        want = np.argmin(sq[None, :] - 2.0 * (q @ b.T), axis=1)
        np.testing.assert_array_equal(nearest_on_columns(data.geometry, syn, tr, cols), want)
        first, inv = distinct_rows(b)
        assert first.size < b.shape[0] and np.all(np.diff(first) > 0)
        np.testing.assert_array_equal(b[first][inv], b)


def test_unique_replacements_equal_np_unique(data):
    """The hash-based stand-ins return exactly what np.unique returns, on Adult's codes and
    keys (including pair codes far larger than the table) and on edge cases."""
    keys = data.row_keys.concatenated(["age", "occupation"])
    ages = data.tables["train"].values["age"].astype(np.int64)
    pairs = keys.astype(np.int64) * 100_003 + np.resize(ages, keys.size)
    for x in (keys, pairs, ages, np.array([], dtype=np.int64), np.array([7, 7, 0])):
        u, c = unique_counts(x)
        want_u, want_c = np.unique(x, return_counts=True)
        np.testing.assert_array_equal(u, want_u)
        np.testing.assert_array_equal(c, want_c)
        np.testing.assert_array_equal(unique_sorted(x), want_u)
        assert n_distinct(x) == want_u.size
    for x in (keys, data.tables["train"].values["workclass"], np.array([5, -1, 5]), pairs):
        got_u, got_inv = sorted_inverse(x)
        want_u, want_inv = np.unique(x, return_inverse=True)
        np.testing.assert_array_equal(got_u, want_u)
        np.testing.assert_array_equal(got_inv, want_inv)
