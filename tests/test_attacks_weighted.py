"""The weighted conditional test (attacks/rates.py ``weighted_conditional_p``) and its label-free
weights (``exact_match.rarity_weights``, ``singling_out.special_weights``).

Validity is exact (docs/attacks.md, "Weighted conditional test"): these tests check the
computation against the hypergeometric tail (unit weights) and against full enumeration of
every split, that the false-alarm rate stays under its level when labels are drawn at random,
and that the weights do not change when the same pooled records are split differently.
Measured power and nulls: benchmarks/results/gate_calibration_2026-12-01_w7_copies.md.
"""

from __future__ import annotations

import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from attacks import AuditData, rates
from attacks.exact_match import RARITY_TIERS, rarity_weights
from attacks.singling_out import TIER_WEIGHTS, special_weights

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.leak_catalogue import QI, make  # noqa: E402


@pytest.mark.parametrize(("k_t", "k_h"), [(44, 2), (46, 4), (3, 0), (10, 10), (1, 0)])
def test_unit_weights_give_the_hypergeometric_tail(k_t: int, k_h: int) -> None:
    p = rates.weighted_conditional_p(np.ones(k_t, int), np.ones(k_h, int), 12_800, 3_200)
    assert p == pytest.approx(rates.conditional_p(k_t, 12_800, k_h, 3_200), rel=1e-12)
    assert p == pytest.approx(sps.hypergeom.sf(k_t - 1, 16_000, 12_800, k_t + k_h), rel=1e-12)


def _enumerated(w_hit: np.ndarray, n_records: int, n_t: int, t_obs: int) -> float:
    """P(T >= t_obs) over every n_t-subset of n_records records, the first ones hit."""
    w = np.zeros(n_records, dtype=np.int64)
    w[: w_hit.size] = w_hit
    sums = [int(w[list(c)].sum()) for c in combinations(range(n_records), n_t)]
    return float(np.mean(np.array(sums) >= t_obs))


def test_weighted_p_equals_the_enumeration_of_every_split() -> None:
    rng = np.random.default_rng(0)
    for _ in range(12):
        w_hit = rng.integers(1, 6, size=int(rng.integers(2, 8)))
        label = rng.permutation(14) < 9  # 9 training records of 14
        hit_t, hit_h = w_hit[label[: w_hit.size]], w_hit[~label[: w_hit.size]]
        p = rates.weighted_conditional_p(hit_t, hit_h, 9, 5)
        assert p == pytest.approx(_enumerated(w_hit, 14, 9, int(hit_t.sum())), abs=1e-12)


def test_weighted_p_keeps_its_level_on_random_splits() -> None:
    """Fixed weights of 60 hit records among 2,000, labels a random 1,600-subset: P(p <= a)
    <= a at a = 0.05 and 0.01 (1,000 splits; Monte Carlo slack 2.5 sd)."""
    rng = np.random.default_rng(7)
    w = rng.integers(1, 8, size=60)
    ps = []
    for _ in range(1_000):
        label = rng.permutation(2_000)[:60] < 1_600
        ps.append(rates.weighted_conditional_p(w[label], w[~label], 1_600, 400))
    ps = np.array(ps)
    for a in (0.05, 0.01):
        assert np.mean(ps <= a) <= a + 2.5 * np.sqrt(a * (1 - a) / 1_000)
    assert np.mean(ps <= 0.5) > 0.3  # not trivially conservative


def test_zero_weights_leave_records_out_and_bad_weights_are_refused() -> None:
    p = rates.weighted_conditional_p(np.array([3, 0, 0, 3]), np.array([0, 1]), 800, 200)
    assert p == pytest.approx(rates.weighted_conditional_p(np.array([3, 3]), [1], 800, 200))
    assert rates.weighted_conditional_p(np.zeros(5, int), np.ones(2, int), 800, 200) == 1.0
    with pytest.raises(ValueError, match="non-negative"):
        rates.weighted_conditional_p(np.array([-1]), np.array([1]), 800, 200)


def test_large_problems_fall_back_to_the_unweighted_test(monkeypatch) -> None:
    w_t, w_h = np.r_[np.full(30, 2), np.full(40, 1)], np.r_[np.full(3, 2), np.full(5, 1)]
    weighted = rates.weighted_conditional_p(w_t, w_h, 12_800, 3_200)
    monkeypatch.setattr(rates, "MAX_WEIGHTED_CELLS", 10)
    plain = rates.weighted_conditional_p(w_t, w_h, 12_800, 3_200)
    assert plain == pytest.approx(rates.conditional_p(70, 12_800, 8, 3_200), rel=1e-12)
    assert weighted != pytest.approx(plain)
    monkeypatch.setattr(rates, "MAX_WEIGHTED_CELLS", 4_000_000)
    monkeypatch.setattr(rates, "MAX_WEIGHTED_WORK", 1_000)
    assert rates.weighted_conditional_p(w_t, w_h, 12_800, 3_200) == pytest.approx(plain)


def test_the_largest_admitted_problem_stays_fast() -> None:
    """Four tiers just under the work cap: the programme finishes in seconds (CPU, not asserted
    tightly: shared machines)."""
    import time

    w_t = np.repeat(np.arange(4, 8), 150)  # ~1.2M cells, ~5e8 updates: admitted
    t0 = time.process_time()
    p = rates.weighted_conditional_p(w_t, np.array([4, 5, 6]), 12_800, 3_200)
    assert time.process_time() - t0 < 10.0
    assert 0.0 < p < 1e-20
    assert abs(p / rates.conditional_p(600, 12_800, 3, 3_200) - 1) > 0.1  # not the fallback


def test_rarity_weights_do_not_read_the_labels() -> None:
    """The same 16,000 pooled Adult records split two ways: every record keeps its weight."""
    s, syn = make("fresh", 0)
    a = AuditData.prepare(s.train, s.holdout, syn, seed=0, n_jobs=1, qi=QI)
    cols = list(a.geometry.columns)
    w_a = rarity_weights(a.row_keys, cols, 16_000)
    swap = np.random.default_rng(1).permutation(16_000)
    pooled = pd.concat([s.train, s.holdout], ignore_index=True)
    b = AuditData.prepare(
        pooled.iloc[swap[:12_800]], pooled.iloc[swap[12_800:]], syn, seed=0, n_jobs=1, qi=QI
    )
    w_b = rarity_weights(b.row_keys, cols, 16_000)
    assert np.array_equal(w_b, w_a[swap])
    counts = np.bincount(w_a - RARITY_TIERS, minlength=RARITY_TIERS)
    assert counts.size == RARITY_TIERS and (np.abs(counts - 4_000) < 200).all()


def test_special_weights_follow_the_leave_one_out_degree() -> None:
    keys = np.array([0, 1, 2, 2, 3])  # records 0, 1, 4 unique on the whole set
    loo = [np.array([0, 0, 1, 1, 2]), np.array([0, 1, 2, 2, 3])]
    # record 4: unique on both projections; 0 and 1: on one; 2, 3: not unique at all
    assert special_weights(keys, loo).tolist() == [8, 8, 0, 0, 16]
    assert special_weights(keys, []).tolist() == [16, 16, 0, 0, 16]
    assert TIER_WEIGHTS[0] == 16
