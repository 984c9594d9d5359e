"""Subgroups on coded numeric columns (attacks/subgroup.py): a numeric column with at most
``MAX_NUMERIC_LEVELS`` distinct values among the pooled real records defines its values as
levels, so an all-binary survey table (NLTCS: 16 0/1 columns) is tested instead of an ERROR.

The real-data tests use a binary table made from the bundled Adult (12 0/1 indicators, 1,082
distinct rows among 32,561: duplicate-heavy like NLTCS). Measured on seeds 0-2 (8,000 / 2,000
records, 8,000 fresh synthetic rows): fresh null ``subgroup.max_auc`` 0.499-0.515, intervals
[0.494, 0.565] at most; every training record with a capital loss copied (the fresh rows with
one left out) 0.589-0.606, lower bounds 0.525-0.541, worst subgroup ``loss`` = 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attacks import AuditData
from attacks.subgroup import MAX_NUMERIC_LEVELS, SubgroupAttack, numeric_levels

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.leak_catalogue import binary_adult, load  # noqa: E402


def test_numeric_levels_are_a_function_of_the_pooled_real_values():
    rng = np.random.default_rng(0)
    pooled = rng.choice([0.0, 1.0, 2.0, np.nan], size=600, p=[0.5, 0.3, 0.15, 0.05])
    ref = None
    for _ in range(5):  # any split of the same pooled records: the same levels per record
        p = rng.permutation(pooled.size)
        t, h = p[:480], p[480:]
        c_t, c_h, values = numeric_levels(pooled[t], pooled[h])
        codes = np.empty(pooled.size, np.int64)
        codes[t], codes[h] = c_t, c_h
        np.testing.assert_array_equal(values, [0.0, 1.0, 2.0])
        assert ref is None or np.array_equal(codes, ref)
        ref = codes
    assert (ref[np.isnan(pooled)] == 3).all()  # missing is its own level, after the values
    np.testing.assert_array_equal(ref[~np.isnan(pooled)], pooled[~np.isnan(pooled)])
    # a value seen on one side only is still a level (the pooled records decide, not a side)
    assert numeric_levels(np.array([0.0, 1.0]), np.array([5.0]))[2].tolist() == [0, 1, 5]
    many = np.arange(MAX_NUMERIC_LEVELS + 1, dtype=float)
    assert numeric_levels(many[:6], many[6:]) is None
    assert numeric_levels(many[:-1][:5], many[:-1][5:]) is not None
    # Adult's numeric columns are measurements (education-num, the fewest, has 16 values):
    # none defines subgroups, so Adult's subgroups are the categorical rule's
    adult = load("adult")
    for col in adult.select_dtypes("number").columns:
        v = adult[col].to_numpy(float)
        assert numeric_levels(v[:20_000], v[20_000:]) is None, col


@pytest.fixture(scope="module")
def binary_split():
    b = binary_adult()
    p = np.random.default_rng(0).permutation(len(b))
    return b.iloc[p[:8000]], b.iloc[p[8000:10000]], b.iloc[p[10000:18000]]


def test_binary_table_is_tested_and_quiet_on_a_fresh_sample(binary_split):
    t, h, fresh = binary_split
    res = SubgroupAttack(AuditData.prepare(t, h, fresh, seed=0, n_jobs=1)).evaluate()
    assert res.status == "ok", res.message  # was ERROR: no categorical column
    assert res.details["tested"] == 24  # 12 binary columns x 2 values, all with 50 + 50
    assert {r["level"] for r in res.details["subgroups"]} == {"0", "1"}
    e = res.metrics[0].estimate
    assert e.ci_low <= 0.5 < e.ci_high < 0.6, e  # measured upper <= 0.565 (seeds 0-2)


def test_binary_table_leak_in_one_group_is_found(binary_split):
    t, h, fresh = binary_split
    leak = t[t["loss"].eq(1)]  # every training record with a capital loss, verbatim
    syn = pd.concat([fresh[fresh["loss"].eq(0)], leak])
    syn.iloc[0, 0] = 7  # a synthetic value outside the real ones defines no level
    res = SubgroupAttack(AuditData.prepare(t, h, syn, seed=0, n_jobs=1)).evaluate()
    assert res.details["tested"] == 24
    assert res.details["worst"] == {"column": "loss", "level": "1"}
    e = res.metrics[0].estimate
    assert e.ci_low > 0.51, e  # measured 0.525-0.541 (seeds 0-2)


def _class_metric(t, h, syn):
    from attacks.attribute_match import MatchInferenceAttack

    res = MatchInferenceAttack(AuditData.prepare(t, h, syn, seed=0, n_jobs=1)).evaluate()
    assert res.status == "ok", res.message
    return next(m for m in res.metrics if m.name == "attribute_match.class.max_excess"), res


def test_binary_secrets_are_classes_for_exact_match_inference(binary_split):
    """A 0/1 secret is a class-valued secret (the subgroups' rule): the worst-class family is
    measured on an all-binary table instead of "not measured" [0, 1] (was INCONCLUSIVE on every
    NLTCS null), quiet on a fresh sample, and it sees one class's records copied. Measured on
    split seeds 0-2: fresh estimate -0.001-0.030, upper bound 0.118-0.157; every training record
    with a capital loss copied: 0.179-0.213, lower bound 0.023-0.036."""
    t, h, fresh = binary_split
    null, res = _class_metric(t, h, fresh)
    assert "not measured" not in null.description, null.description
    assert res.details["classes"]  # class tests ran, labelled by knowledge set, secret, class
    e = null.estimate
    assert e.ci_low < 0.0 < e.ci_high < 0.2, e  # the gate's threshold is 0.5
    leak = t[t["loss"].eq(1)]  # every training record with a capital loss, verbatim
    copied, _ = _class_metric(t, h, pd.concat([fresh[fresh["loss"].eq(0)], leak]))
    assert copied.estimate.value > 0.15 and copied.estimate.ci_low > 0.01, copied.estimate
