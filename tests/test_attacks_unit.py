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
from attacks.geometry import encode_tables, validate_tables
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


def test_ivf_recall_equals_the_brute_force_float64_recall(monkeypatch):
    """recall() against its definition (the share of sampled queries whose returned nearest
    distance is within 1e-4 of the exact one), on data with copied rows and ties, over several
    brute-force blocks (2026-12-02: candidates from float32 blocks, refined in float64)."""
    from attacks import neighbors as nbm

    monkeypatch.setattr(nbm, "RECALL_BLOCK_ROWS", 700)
    rng = np.random.default_rng(3)
    base = (rng.integers(0, 3, (6000, 6)) / 2).astype(np.float32)
    base[:, 0] += rng.normal(size=6000).astype(np.float32)
    base = base[np.argsort(base[:, 0])]  # blocks follow the first coordinate
    # copies and near-copies of rows of the last blocks: a pass that skipped blocks, or kept
    # too few candidates, would certify misses as hits
    q = np.concatenate([base[rng.integers(4000, 6000, 200)], base[5000:5200] + 0.01])
    approx = NeighborIndex.build(base, exact_max_rows=100, nprobe=1)
    take = np.sort(np.random.default_rng(0).choice(q.shape[0], 256, replace=False))
    got, _ = approx.search(q[take], 1)
    diff = q[take, None, :].astype(np.float64) - base[None, :, :].astype(np.float64)
    exact = np.sqrt((diff**2).sum(axis=2)).min(axis=1)
    expected = float(np.mean(got[:, 0] <= exact + 1e-4))
    assert approx.recall(q, seed=0) == expected
    assert 0.0 < expected < 1.0  # an IVF with nprobe 1 misses some


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


def test_text_in_a_numeric_column_names_the_table_row_and_fix_not_the_value():
    t, h, s = _toy(50, 0), _toy(50, 1), _toy(50, 2)
    s["x"] = s["x"].astype(object)
    s.loc[7, "x"] = "n/a-secret"
    s.loc[30, "x"] = "?"
    with pytest.raises(AuditInputError) as err:
        run_audit(t, h, s)
    msg = str(err.value)
    assert "column 'x' of the synthetic table has 2 value(s) that are not numeric" in msg
    assert "first in data row 8 (1-based" in msg and "--schema" in msg
    assert "n/a-secret" not in msg  # the table may be private: its values are never echoed


def test_a_numeric_training_column_with_stray_text_is_an_error_not_labels():
    t, h, s = _toy(100, 0), _toy(100, 1), _toy(100, 2)
    t["x"] = t["x"].astype(object)
    t.loc[41, "x"] = "?"
    with pytest.raises(AuditInputError) as err:
        run_audit(t, h, s)
    msg = str(err.value)
    assert "column 'x' of the train table holds numbers except 1 value(s)" in msg
    assert "first in data row 42" in msg and "categorical in the schema" in msg
    tables = {"train": t, "holdout": h, "synthetic": s}
    # declared categorical, the same table validates (audited as labels)
    _, types = validate_tables(tables, {"x": "categorical"})
    assert types["x"] == "categorical"
    # a genuinely mixed column (half text) is categorical by inference, no error
    t["x"] = np.where(np.arange(100) % 2 == 0, "a", t["x"].astype(str))
    assert validate_tables(tables)[1]["x"] == "categorical"


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
    em = ExactMatchAttack.from_tables(t, h, s, seed=1).evaluate()
    assert em.status == "ok"
    rates = {m.name: m.estimate.value for m in em.metrics}
    assert rates["exact_match.excess"] > 0.1
    dcr = DCRAttack.from_tables(t, h, s, seed=1).evaluate()
    assert {m.name for m in dcr.metrics} == {
        "dcr.excess",
        "dcr.share_closer_to_train",
        "dcr.nndr_ratio",
        "dcr.tolerant_copy_excess",
    }
    attr = AttributeInferenceAttack.from_tables(t, h, s, secrets=["c"]).evaluate()
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
        x["settings"].pop("search_seconds")
        for att in x["attacks"]:
            att.pop("seconds")
    assert a == b


def test_progress_names_the_shared_neighbour_search_as_its_own_step():
    """The distance searches the attacks share run before them as a step of their own, so the
    progress line and the timings never charge them to the first attack."""
    from attacks import ATTACKS, AUDIT_STEPS

    calls: list[tuple[str, int, int]] = []
    res = run_audit(
        _toy(300, 0), _toy(300, 1), _toy(300, 2), seed=5, progress=lambda *a: calls.append(a)
    )
    names = [c[0] for c in calls]
    assert names[:4] == ["prepare", "prepare", "neighbour search", "neighbour search"]
    assert names[4::2] == [cls.name for cls in ATTACKS] == names[5::2]
    done = [c[1] for c in calls]
    assert done == sorted(done) and done[-1] == AUDIT_STEPS == len(ATTACKS) + 2
    assert {c[2] for c in calls} == {AUDIT_STEPS}
    s = res.settings
    assert s["search_seconds"] >= 0 and s["prepare_seconds"] + s["search_seconds"] <= s["seconds"]


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


def test_cluster_excess_is_wider_for_repeated_rows_and_centred_on_the_null():
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.8
    single = stats.cluster_excess(y.astype(float), np.arange(500), 0.8)
    repeated = stats.cluster_excess(
        np.repeat(y, 10).astype(float), np.repeat(np.arange(500), 10), 0.8
    )
    assert single.ci_low < 0 < single.ci_high or abs(single.value) > 0
    # 10 copies of each row carry the information of one: the interval must not shrink
    assert repeated.ci_high - repeated.ci_low >= 0.95 * (single.ci_high - single.ci_low)


def test_cluster_bootstrap_covers_under_clustering():
    """Coverage of the Poisson cluster bootstrap of a median over 60 clustered samples (rows
    repeated 10x): the row bootstrap undercovers here; measured coverage stays >= 0.85."""
    hits = 0
    for s in range(60):
        rng = np.random.default_rng(s)
        v = np.repeat(rng.normal(size=200), 10)
        cl = np.repeat(np.arange(200), 10)
        _, (lo, hi) = stats.cluster_bootstrap(
            lambda w, v=v: stats.weighted_median(v, w), cl, n_boot=200, seed=s
        )
        hits += lo <= 0.0 <= hi
    assert hits >= 51


def test_weighted_median_matches_numpy():
    rng = np.random.default_rng(1)
    v = rng.normal(size=101)
    assert stats.weighted_median(v, np.ones((1, 101)))[0] == pytest.approx(np.median(v))


def test_epsilon_from_rates_and_one_sided_bounds():
    assert stats.epsilon_from_rates(0.5, 0.5, 0.0) == pytest.approx(0.0)
    assert stats.epsilon_from_rates(0.2, 0.01, 0.0) == pytest.approx(np.log(20))
    lo, hi = stats.clopper_pearson_one_sided(0, 3000, 0.05)
    assert lo == 0 and hi == pytest.approx(1 - 0.05 ** (1 / 3000), rel=1e-6)


def test_unsupported_fpr_level_is_flagged_with_a_vacuous_interval():
    t, h, s = _toy(1500, 0), _toy(1000, 1), _toy(1500, 2)
    res = run_audit(t, h, s, seed=0)
    m = res.metric("membership.distance.tpr_at_fpr_0.1pct")
    assert m.context["supported"] == 0.0 and (m.estimate.ci_low, m.estimate.ci_high) == (0, 1)
    m1 = res.metric("membership.distance.tpr_at_fpr_1pct")
    assert m1.context["supported"] == 1.0 and m1.estimate.ci_high < 0.05
    eps = res.metric("membership.distance.epsilon_lower").estimate
    assert 0.0 <= eps.ci_low <= eps.value


@pytest.mark.parametrize(
    "check",
    [
        {"metric": "membership.distance.auc", "max": 0.6, "statistic": "lower"},
        {"metric": "membership.distance.auc", "max": 0.6, "statistic": "value"},
        {"metric": "dcr.nndr_ratio", "min": 0.9, "statistic": "upper"},
    ],
)
def test_policy_refuses_anti_conservative_privacy_statistics(check):
    from privsynth.errors import InputError
    from reports.policy import parse_policy

    with pytest.raises(InputError, match="anti-conservative"):
        parse_policy({"checks": [check]})
    util = {"metric": "utility.marginal_1way.max_tvd", "max": 0.1, "statistic": "value"}
    assert parse_policy({"checks": [util]}).checks[0].statistic == "value"


def test_high_cardinality_column_is_compared_exactly_in_the_search():
    """A 300-level categorical has no coordinates (no random embedding): the search adds 1 per
    mismatching code, and agrees with brute force on the exact mixed distance."""
    from attacks import AuditData

    rng = np.random.default_rng(0)

    def table(n: int) -> pd.DataFrame:
        return pd.DataFrame({"x": rng.normal(size=n), "id": rng.integers(0, 300, n).astype(str)})

    t, h, s = table(400), table(400), table(300)
    d = AuditData.prepare(t, h, s, seed=0)
    assert d.geometry.exact_columns == ["id"]
    assert d.geometry.dims(["id"]).size == 0
    dist, idx = d.neighbors("synthetic", "train_all", 3)
    xs, xt = d.matrix("synthetic").astype(float), d.matrix("train_all").astype(float)
    cs, ct = d.codes("synthetic")[:, 0], d.codes("train_all")[:, 0]
    full = ((xs[:, None, :] - xt[None]) ** 2).sum(-1) + (cs[:, None] != ct[None])
    brute = np.sqrt(np.sort(full, axis=1)[:, :3])
    # every query has its certificate (same-code rows are candidates), so the search is exact
    assert d.settings["neighbors"]["indexes"]["train_all"]["inexact_queries"] == 0
    np.testing.assert_allclose(dist, brute, atol=1e-6)


def test_fail_needs_the_bonferroni_lower_bound_over_the_privacy_checks():
    from attacks.results import AttackResult, Estimate, Metric
    from reports.policy import parse_policy
    from reports.verdict import evaluate, family_factor

    est = Estimate(0.004, 0.0022, 0.0058, 0.95, "newcombe")  # lower 0.0022 > 0.002
    audit = AuditResult([AttackResult("exact_match", "ok", [Metric("exact_match.excess", est)])])
    one = parse_policy({"checks": [{"metric": "exact_match.excess", "max": 0.002}]})
    assert evaluate(one, audit)[1] == "FAIL"
    many = parse_policy(
        {
            "checks": [
                {"id": f"c{i}", "metric": "exact_match.excess", "max": 0.002} for i in range(8)
            ]
        }
    )
    results, verdict, _, _ = evaluate(many, audit)
    # stretched lower bound: 0.004 - 0.0018 * 1.395 = 0.0015 < 0.002
    assert verdict == "INCONCLUSIVE" and "Bonferroni-Holm share 0.125" in results[0].explanation
    assert family_factor(8, 0.95) == pytest.approx(1.395, abs=1e-3)


def test_exact_refinement_needs_candidates_beyond_the_first_at_near_ties():
    """faiss ranks in float32; the float64 refinement can only reorder what it returns. At
    near-ties (two rows at distances equal up to float32 rounding) the first of one candidate
    is not always the exact nearest, the first of five is: why the membership scores ask for
    k = 5 and read the first (attacks/membership.py)."""
    rng = np.random.default_rng(0)
    nq, dim = 200, 40
    q = rng.random((nq, dim)).astype(np.float32)
    off = rng.normal(0, 0.05, (nq, dim))
    # the second row mirrors the first's offset with its coordinates permuted: same distance
    # in exact arithmetic up to the float32 rounding of the rows
    twins = [q + off, q - off[:, rng.permutation(dim)]]
    far = rng.random((500, dim)) + 3
    base = np.concatenate([*twins, far]).astype(np.float32)
    index = NeighborIndex.build(base)
    exact = np.sqrt(((q.astype(float)[:, None] - base.astype(float)[None]) ** 2).sum(-1)).min(1)
    one, _ = index.search(q, 1)
    five, _ = index.search(q, 5)
    np.testing.assert_allclose(five[:, 0], exact, rtol=1e-12)
    wrong = np.abs(one[:, 0] - exact) > 1e-12 * exact
    assert wrong.sum() >= 10, wrong.sum()  # measured 34 of 200 with this seed


def test_many_class_secret_on_a_small_table_prints_no_sklearn_warning(recwarn) -> None:
    # 60 rows, a secret with 40 labels: scikit-learn would warn "could represent a regression
    # problem" on every tree fit (seen on stderr of `certify` on a 29-row table)
    rng = np.random.default_rng(0)

    def table(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {"age": rng.integers(18, 90, n), "code": [f"c{i}" for i in rng.integers(0, 40, n)]}
        )

    res = AttributeInferenceAttack.from_tables(table(60), table(60), table(60), seed=0).evaluate()
    assert res.status == "ok", res.message
    assert not [w for w in recwarn if "unique classes" in str(w.message)]
