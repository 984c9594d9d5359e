"""Unit tests of the attack harness: statistics, geometry, bad input, single attacks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from attacks import (
    AttributeInferenceAttack,
    AuditInputError,
    AuditResult,
    DCRAttack,
    ExactMatchAttack,
    run_audit,
    stats,
)
from attacks.geometry import encode_tables
from attacks.neighbors import NeighborIndex


def _toy(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "c": rng.choice(["a", "b", "c"], size=n),
            "d": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
        }
    )


def test_intervals_basic():
    lo, hi = stats.wilson(50, 100)
    assert lo < 0.5 < hi and 0.39 < lo < 0.41
    lo, hi = stats.clopper_pearson(0, 100)
    assert lo == 0.0 and 0.03 < hi < 0.04
    lo, hi = stats.newcombe_diff(60, 100, 40, 100)
    assert 0 < lo < 0.2 < hi < 0.4
    assert stats.binomial_test(50, 100) == pytest.approx(1.0)


def test_delong_matches_sklearn():
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(0.3, 1, 400), rng.normal(0, 1, 500)
    pos[:50] = 0.0
    neg[:50] = 0.0  # ties
    e = stats.auc_delong(pos, neg)
    y = np.r_[np.ones(400), np.zeros(500)]
    assert e.value == pytest.approx(roc_auc_score(y, np.r_[pos, neg]))
    assert e.ci_low < e.value < e.ci_high


def test_geometry_distances_defined():
    a = pd.DataFrame({"n": [0.0, np.nan, 1.0], "c": ["u", None, "v"]})
    geo, enc = encode_tables({"a": a}, {"n": "numeric", "c": "categorical"})
    x = enc["a"].X.astype(np.float64)
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
    # row0 (0, u) vs row2 (1, v): 1 (numeric) + 1 (category)
    assert d2[0, 2] == pytest.approx(2.0, abs=1e-6)
    # NaN vs value: numeric (x-0.5)^2 + 0.75 = 1.0 for x=0, and categorical 1
    assert d2[0, 1] == pytest.approx(2.0, abs=1e-6)
    assert d2[1, 1] == 0
    assert geo.dims(["c"]).size == 3


def test_neighbors_ivf_has_recall():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3000, 8)).astype(np.float32)
    q = rng.normal(size=(500, 8)).astype(np.float32)
    exact = NeighborIndex.build(base)
    approx = NeighborIndex.build(base, exact_max_rows=100, nprobe=8)
    assert not approx.exact and exact.exact
    de, _ = exact.search(q, 2)
    da, _ = approx.search(q, 2)
    assert np.all(da[:, 0] >= de[:, 0] - 1e-9)
    assert approx.recall(q) > 0.8


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda t, h, s: (t.iloc[:0], h, s), "train table is empty"),
        (lambda t, h, s: (t, h.drop(columns="x"), s), "column mismatch"),
        (lambda t, h, s: (t.assign(x=np.nan), h.assign(x=np.nan), s.assign(x=np.nan)), "every row"),
    ],
)
def test_bad_input_raises_value_error(mutate, match):
    t, h, s = mutate(_toy(50, 0), _toy(50, 1), _toy(50, 2))
    with pytest.raises(AuditInputError, match=match):
        run_audit(t, h, s)
    assert issubclass(AuditInputError, ValueError)


def test_unknown_qi_and_secret():
    t, h, s = _toy(50, 0), _toy(50, 1), _toy(50, 2)
    with pytest.raises(AuditInputError, match="unknown qi"):
        run_audit(t, h, s, qi=["nope"])
    with pytest.raises(AuditInputError, match="unknown secret"):
        run_audit(t, h, s, secrets=["nope"])


def test_constant_secret_is_an_error_not_a_skip():
    t, h, s = _toy(200, 0), _toy(200, 1), _toy(200, 2)
    for df in (t, h, s):
        df["k"] = "same"
    res = run_audit(t, h, s, secrets=["k", "c"])
    att = {a.attack: a for a in res.attacks}["attribute"]
    assert att.status == "error" and "'k'" in att.message
    assert any(m.name == "attribute.c.risk" for m in att.metrics)
    assert not res.ok
    # inferred secrets: the constant column is excluded and said so
    res = run_audit(t, h, s)
    att = {a.attack: a for a in res.attacks}["attribute"]
    assert att.status == "ok" and "k" in att.details["excluded"]


def test_single_attacks_and_json_round_trip():
    t, h = _toy(300, 0), _toy(200, 1)
    s = pd.concat([t.iloc[:100], _toy(200, 2)], ignore_index=True)
    em = ExactMatchAttack(t, h, s, seed=1).evaluate()
    assert em.status == "ok"
    rates = {m.name: m.estimate.value for m in em.metrics}
    assert rates["exact_match.excess"] > 0.1
    dcr = DCRAttack(t, h, s, seed=1).evaluate()
    assert {m.name for m in dcr.metrics} == {"dcr.share_closer_to_train", "dcr.nndr_ratio"}
    attr = AttributeInferenceAttack(t, h, s, secrets=["c"]).evaluate()
    assert set(attr.details["columns"]["c"]) >= {"attack", "control", "baseline", "risk", "excess"}
    res = run_audit(t, h, s, seed=3)
    back = AuditResult.from_dict(json.loads(res.to_json()))
    assert (
        back.metric("dcr.share_closer_to_train").estimate
        == res.metric("dcr.share_closer_to_train").estimate
    )
    assert res.settings["n_used"] == 200 and res.settings["subsampled"] == "train"


def test_reproducible_with_seed():
    t, h, s = _toy(300, 0), _toy(300, 1), _toy(300, 2)
    a = run_audit(t, h, s, seed=5).to_dict()
    b = run_audit(t, h, s, seed=5).to_dict()
    for x in (a, b):
        x["settings"].pop("seconds")
        x["settings"].pop("prepare_seconds")
        for att in x["attacks"]:
            att.pop("seconds")
    assert a == b


def test_resolve_jobs_follows_scikit_learn_convention():
    import os

    from attacks.neighbors import resolve_jobs

    avail = len(os.sched_getaffinity(0))
    assert resolve_jobs(3) == 3
    assert resolve_jobs(-1) == resolve_jobs(None) == avail
    assert resolve_jobs(-avail - 5) == 1  # never below one thread
    with pytest.raises(ValueError, match="n_jobs"):
        resolve_jobs(0)
    with pytest.raises(AuditInputError, match="n_jobs"):
        run_audit(_toy(50, 0), _toy(50, 1), _toy(50, 2), n_jobs=0)
