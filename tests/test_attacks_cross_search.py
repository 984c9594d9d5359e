"""The fused two-way search (attacks.neighbors.cross_search) against brute force and against
the flat index it replaces, on random data with copied rows and ties, and on Adult."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attacks import neighbors as nb
from attacks.context import AuditData


def _brute(q: np.ndarray, base: np.ndarray, k: int) -> np.ndarray:
    """Exact float64 kNN distances (sorted)."""
    diff = q[:, None, :].astype(np.float64) - base[None, :, :].astype(np.float64)
    d = np.sqrt((diff**2).sum(axis=2))
    return np.sort(d, axis=1)[:, :k]


def _data(seed: int, n_a: int, n_b: int, dim: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, (n_a, dim)).astype(np.float32) / 2  # coarse grid: many ties
    b = rng.integers(0, 3, (n_b, dim)).astype(np.float32) / 2
    b[: n_b // 4] = a[rng.integers(0, n_a, n_b // 4)]  # copied rows: distance exactly 0
    a[:, 0] += rng.random(n_a).astype(np.float32) * 0.01
    return a, b


@pytest.mark.parametrize("block", [7, 64, 1 << 25])
def test_cross_search_matches_brute_force_in_both_directions(monkeypatch, block):
    monkeypatch.setattr(nb, "CROSS_BLOCK_ELEMENTS", block * 150)
    a, b = _data(0, 300, 150)
    sub = np.sort(np.random.default_rng(1).choice(300, 90, replace=False))
    res = nb.cross_search(a, b, 5, 2, subset=sub, k_subset=3)
    np.testing.assert_allclose(res.ab[0], _brute(a, b, 5), atol=1e-12)
    np.testing.assert_allclose(res.ba[0], _brute(b, a, 2), atol=1e-12)
    np.testing.assert_allclose(res.ba_subset[0], _brute(b, a[sub], 3), atol=1e-12)
    # indices point at rows at the reported distance
    for (dist, idx), q, base in ((res.ab, a, b), (res.ba, b, a), (res.ba_subset, b, a[sub])):
        recomputed = np.sqrt(((base[idx].astype(float) - q[:, None, :]) ** 2).sum(axis=2))
        np.testing.assert_allclose(recomputed, dist, atol=1e-12)


def test_cross_search_ties_go_to_the_lowest_row_and_k_is_capped():
    a = np.zeros((6, 3), np.float32)  # six identical rows
    b = np.ones((4, 3), np.float32)
    res = nb.cross_search(a, b, 10, 3, threads=1)
    assert res.ab[1].shape == (6, 4) and res.ba[1].shape == (4, 3)
    assert (res.ba[1] == [0, 1, 2]).all()  # every b row: a's first three rows
    assert (np.sort(res.ab[1], axis=1) == np.arange(4)).all()


def test_fused_searches_agree_with_the_flat_index_on_adult(adult_triple):
    train, holdout, synthetic = adult_triple
    fused = AuditData.prepare(train, holdout, synthetic, seed=0, n_jobs=1)
    flat = AuditData.prepare(train, holdout, synthetic, seed=0, n_jobs=1)
    flat._fused = True  # keep the one-search-at-a-time path
    fused.fuse_distance_searches()
    for q, base, k in [
        ("train_all", "synthetic", 5),
        ("synthetic", "train_all", 1),
        ("synthetic", "train", 2),
        ("holdout_all", "synthetic", 5),
        ("synthetic", "holdout_all", 2),
    ]:
        d_fused, i_fused = fused.neighbors(q, base, k)
        d_flat, i_flat = flat.neighbors(q, base, k)
        # the same distances; indices may differ only between rows at the same distance
        np.testing.assert_allclose(d_fused, d_flat, rtol=0, atol=1e-6)
        same = (i_fused == i_flat) | np.isclose(d_fused, d_flat, rtol=0, atol=1e-6)
        assert same.all()
        assert (i_fused != i_flat).mean() < 1e-3
    assert fused.settings["neighbors"]["indexes"].keys() >= {"synthetic", "train_all", "train"}


@pytest.fixture(scope="module")
def adult_triple(adult: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    p = np.random.default_rng(0).permutation(len(adult))[:8000]
    return tuple(
        adult.iloc[p[lo:hi]].reset_index(drop=True)
        for lo, hi in ((0, 4000), (4000, 5000), (5000, 8000))
    )


def test_cross_search_matches_brute_force_on_random_shapes_blocks_and_subsets(monkeypatch):
    """Every block size, including ones below sqrt(n_a) (floored) and one row per block, every
    subset size (none, one row, all rows), k above the table sizes; coarse grid values, so
    distances tie everywhere (2026-12-02: blocks reorder their rows to put the subset first)."""
    rng = np.random.default_rng(7)
    for _ in range(60):
        n_a, n_b = (int(x) for x in rng.integers(1, 90, 2))
        dim = int(rng.integers(1, 6))
        a = (rng.integers(0, 3, (n_a, dim)) / 2).astype(np.float32)
        b = (rng.integers(0, 3, (n_b, dim)) / 2).astype(np.float32)
        monkeypatch.setattr(nb, "CROSS_BLOCK_ELEMENTS", int(rng.integers(1, 400)))
        n_sub = int(rng.integers(0, n_a + 1))
        sub = np.sort(rng.choice(n_a, n_sub, replace=False)) if n_sub else None
        k_ab, k_ba, k_sub = (int(x) for x in rng.integers(1, 7, 3))
        res = nb.cross_search(a, b, k_ab, k_ba, subset=sub, k_subset=k_sub)
        np.testing.assert_allclose(res.ab[0], _brute(a, b, min(k_ab, n_b)), atol=1e-12)
        np.testing.assert_allclose(res.ba[0], _brute(b, a, min(k_ba, n_a)), atol=1e-12)
        if sub is not None:
            np.testing.assert_allclose(res.ba_subset[0], _brute(b, a[sub], min(k_sub, n_sub)))
            base = a[sub]
            recomputed = np.sqrt(((base[res.ba_subset[1]].astype(float) - b[:, None]) ** 2).sum(2))
            np.testing.assert_allclose(recomputed, res.ba_subset[0], atol=1e-12)
        else:
            assert res.ba_subset is None
