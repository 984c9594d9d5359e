"""Calibration (no false alarm on fresh population samples) and power (planted leaks are
flagged by the responsible attack) on the bundled Adult table."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attacks import AuditResult, DCRAttack, ExactMatchAttack, run_audit
from reports.policy import load_policy
from reports.verdict import evaluate

ADULT = Path(__file__).resolve().parents[1] / "privsynth" / "data" / "adult.csv.gz"
N = 5_000
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


@lru_cache(maxsize=1)
def adult() -> pd.DataFrame:
    return pd.read_csv(ADULT, skipinitialspace=True, na_values=["?"])


def triple(seed: int, n: int = N) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Disjoint train, holdout and a fresh 'synthetic' sample of the population."""
    df = adult()
    p = np.random.default_rng(seed).permutation(len(df))
    parts = [df.iloc[p[i * n : (i + 1) * n]].reset_index(drop=True) for i in range(3)]
    return parts[0], parts[1], parts[2]


def flagged(res: AuditResult, name: str) -> bool:
    """True when the metric's interval excludes its null value in the risky direction."""
    m = res.metric(name)
    if m.higher_is_riskier:
        return m.estimate.ci_low > m.null_value
    return m.estimate.ci_high < m.null_value


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.slow
def test_fresh_sample_does_not_fail_the_gate(seed):
    """Calibrated null check. The old test asserted that none of ~45 unadjusted 95% intervals
    excluded its null value: a family-wise false-alarm rate of about 14% per seed by its own
    criterion. What is calibrated is the gate's decision: over the null seeds of
    benchmarks/gate_calibration.py (docs/report.md) the standard FAIL rate is at most 1%, so a
    FAIL on one of these fixed seeds is a regression. No privacy check may FAIL under either
    preset; an INCONCLUSIVE is allowed (measured null rate up to 10%), a PASS of the
    distance and membership checks is required (their null upper bounds sit far below the
    thresholds at this size)."""
    train, holdout, synthetic = triple(seed)
    res = run_audit(train, holdout, synthetic, seed=seed)
    assert res.ok, [(a.attack, a.message) for a in res.attacks]
    for preset in ("standard", "strict"):
        checks, _, _, summary = evaluate(load_policy(preset), res)
        failed = [c.id for c in checks if c.status == "FAIL" and c.kind == "privacy"]
        assert failed == [], (preset, summary)
    checks, verdict, _, summary = evaluate(load_policy("standard"), res)
    assert verdict in ("PASS", "INCONCLUSIVE"), summary
    # copies and singling out count rare events: their resolution is set by the holdout's
    # chance hits (a few of 5,000); the per-class and per-subgroup checks test groups of 50+
    # records a side. At this size either may be INCONCLUSIVE, never FAIL (measured rates in
    # benchmarks/results/gate_calibration_2026-12-01_power.md and match_subgroup_2026-12-01.md)
    rare_event = ("exact-copies", "near-copies", "partial-copies", "singling-out")
    small_groups = ("class-inference", "subgroup-membership")
    wide = [
        c.id
        for c in checks
        if c.status not in ("PASS", "NOT_APPLICABLE")
        and c.id not in rare_event
        and c.id not in small_groups
    ]
    assert wide == [], summary


def _replace(synthetic: pd.DataFrame, rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    out = synthetic.copy()
    at = np.random.default_rng(seed).choice(len(out), size=len(rows), replace=False)
    out.iloc[at] = rows.to_numpy()
    return out


@pytest.mark.slow
def test_copied_training_rows_are_flagged():
    train, holdout, synthetic = triple(10)
    leak = train.sample(n=N // 10, random_state=0)
    res = run_audit(train, holdout, _replace(synthetic, leak, 0), seed=0, secrets=["income"])
    for name in (
        "exact_match.excess",
        "dcr.share_closer_to_train",
        "membership.distance.auc",
        "membership.distance.tpr_at_fpr_1pct",
        "membership.density.auc",
    ):
        assert flagged(res, name), name


@pytest.mark.slow
def test_perturbed_training_rows_are_flagged_without_exact_matches():
    train, holdout, synthetic = triple(11)
    rng = np.random.default_rng(1)
    leak = train.sample(n=N // 5, random_state=1).reset_index(drop=True)
    leak["age"] = leak["age"] + rng.integers(-1, 2, len(leak))
    leak["hours-per-week"] = leak["hours-per-week"] + rng.integers(1, 3, len(leak))
    leak["fnlwgt"] = (leak["fnlwgt"] * rng.uniform(0.97, 1.03, len(leak))).round().astype(int)
    res = run_audit(train, holdout, _replace(synthetic, leak, 1), seed=1, secrets=["income"])
    assert not flagged(res, "exact_match.excess")
    for name in ("dcr.share_closer_to_train", "membership.distance.auc", "membership.density.auc"):
        assert flagged(res, name), name


@pytest.mark.slow
def test_memorised_rare_records_are_flagged_and_listed():
    from attacks.geometry import encode_tables, infer_column_types
    from attacks.neighbors import NeighborIndex

    train, holdout, synthetic = triple(12)
    _, enc = encode_tables({"t": train, "h": holdout}, infer_column_types(train))
    dist, _ = NeighborIndex.build(enc["h"].X).search(enc["t"].X, 1)
    rare = np.argsort(-dist[:, 0])[:50]  # the 1% of training rows farthest from the population
    res = run_audit(
        train, holdout, _replace(synthetic, train.iloc[rare], 2), seed=2, secrets=["income"]
    )
    assert flagged(res, "membership.density.tpr_at_fpr_1pct")
    assert flagged(res, "membership.distance.tpr_at_fpr_1pct")
    att = {a.attack: a for a in res.attacks}["membership.density"]
    listed = {v["row"] for v in att.details["vulnerable"]}
    assert len(listed & set(rare.tolist())) >= 20


@pytest.mark.slow
def test_leaked_secret_column_is_flagged_by_attribute_inference():
    train, holdout, synthetic = triple(13)
    qi = ["age", "sex", "race", "marital-status", "education", "native-country"]
    secret = "occupation"
    rng = np.random.default_rng(3)
    take = rng.choice(len(synthetic), size=N // 2, replace=False)
    src = rng.choice(len(train), size=N // 2, replace=False)
    leaky = synthetic.copy()
    for c in [*qi, secret]:
        leaky.loc[take, c] = train[c].to_numpy()[src]
    res = run_audit(train, holdout, leaky, seed=3, qi=qi, secrets=[secret, "income"])
    assert flagged(res, f"attribute.{secret}.risk")
    assert not flagged(res, "attribute.income.risk")
    assert (
        res.metric("attribute.max_risk").context == res.metric(f"attribute.{secret}.risk").context
    )
    assert flagged(res, f"attribute.{secret}.excess")
    assert not flagged(res, "attribute.income.excess")
    # the maximum's interval is simultaneous: its upper end covers every column's
    top = res.metric("attribute.max_excess").estimate
    for col in (secret, "income"):
        assert top.ci_high >= res.metric(f"attribute.{col}.excess").estimate.ci_high
    assert top.ci_low >= res.metric(f"attribute.{secret}.excess").estimate.ci_low


@pytest.mark.slow
def test_results_do_not_depend_on_the_number_of_threads():
    """Parallel secrets and multi-threaded searches give byte-identical results to one thread,
    including on a table with a planted leak (so the compared numbers are not all null)."""
    train, holdout, synthetic = triple(5, n=2_000)
    leaky = _replace(synthetic, train.iloc[:200], seed=5)
    runs = [
        run_audit(train, holdout, leaky, seed=5, secrets=["age", "sex", "occupation"], n_jobs=j)
        for j in (1, 2, 3)
    ]

    def strip(res: AuditResult) -> dict:
        data = res.to_dict()
        for a in data["attacks"]:
            a.pop("seconds", None)
        for key in ("seconds", "prepare_seconds", "search_seconds"):
            data["settings"].pop(key, None)
        data["settings"]["neighbors"].pop("threads")
        return data

    assert [r.settings["neighbors"]["threads"] for r in runs] == [1, 2, 3]
    assert strip(runs[0]) == strip(runs[1]) == strip(runs[2])
    assert flagged(runs[0], "dcr.share_closer_to_train")


# --- the fast subset of the leak catalogue (benchmarks/leak_catalogue.py has the whole) -------
# Sizes as in the benchmark: 80/20 split of 16,000 Adult records, a synthetic table as large
# as train drawn from the other records. Tolerances are the benchmark's measured margins.
def catalogue_split(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    df = adult()
    p = np.random.default_rng(seed).permutation(len(df))
    tr, ho, rest = p[:12_800], p[12_800:16_000], p[16_000:]
    fresh = np.random.default_rng([seed, 7]).choice(rest, size=12_800, replace=False)
    return tuple(df.iloc[i].reset_index(drop=True) for i in (tr, ho, fresh))


def _check_status(res: AuditResult, preset: str, check_id: str) -> str:
    checks, _, _, _ = evaluate(load_policy(preset), res)
    return {c.id: c.status for c in checks}[check_id]


@pytest.mark.parametrize("share, expected", [(0.003, ("FAIL", "INCONCLUSIVE")), (0.01, ("FAIL",))])
def test_verbatim_copies_never_pass_and_fail_from_1pct(share, expected):
    """Copies of random training records. At this size (3,200 holdout records) chance copies
    put the null upper bound up to 0.0017 (benchmark), so 0.3% copies reach a lower bound of
    0.0006-0.0022: never a PASS, a FAIL when the holdout has few chance copies; 1% always
    FAILs (docs/report.md)."""
    train, holdout, fresh = catalogue_split(20)
    k = int(share * len(train))
    leak = train.sample(n=k, random_state=0)
    res = AuditResult(
        [ExactMatchAttack.from_tables(train, holdout, _replace(fresh, leak, 0)).evaluate()]
    )
    assert _check_status(res, "standard", "exact-copies") in expected
    ctx = res.metric("exact_match.excess").context
    assert ctx["training_records_copied"] >= k and ctx["distinct_training_records_copied"] >= k


def test_near_copies_with_one_categorical_changed_fail_standard():
    """1% of the synthetic rows are training records with one categorical column changed: no
    exact copy, but the "all but one column identical" measure FAILs it."""
    train, holdout, fresh = catalogue_split(21)
    rng = np.random.default_rng(4)
    leak = train.sample(n=128, random_state=1).reset_index(drop=True)
    swap = {"Male": "Female", "Female": "Male"}
    leak["sex"] = leak["sex"].map(swap)
    res = AuditResult(
        [
            ExactMatchAttack.from_tables(
                train, holdout, _replace(fresh, leak, rng.integers(99))
            ).evaluate()
        ]
    )
    assert _check_status(res, "standard", "exact-copies") != "FAIL"
    assert _check_status(res, "standard", "near-copies") == "FAIL"


@pytest.mark.slow
def test_mode_collapse_null_does_not_fail():
    """500 fresh rows repeated to the train size: no training record involved. Before the
    cluster-robust intervals the gate FAILed such tables (5/90 seeds standard)."""
    train, holdout, fresh = catalogue_split(22)
    collapsed = fresh.iloc[np.arange(len(train)) % 500].reset_index(drop=True)
    res = AuditResult(
        [
            ExactMatchAttack.from_tables(train, holdout, collapsed).evaluate(),
            DCRAttack.from_tables(train, holdout, collapsed).evaluate(),
        ]
    )
    for check in ("exact-copies", "near-copies", "closer-to-train"):
        assert _check_status(res, "standard", check) == "PASS", check
    assert _check_status(res, "strict", "nearest-neighbour-ratio") != "FAIL"
    assert res.metric("dcr.excess").context["clusters"] <= 1_000


def test_one_row_synthetic_table_is_inconclusive_not_degenerate():
    train, holdout, synthetic = triple(30, n=500)
    res = run_audit(train, holdout, synthetic.iloc[:1], seed=0)
    errored = {a.attack: a.message for a in res.attacks if a.status == "error"}
    for name in ("exact_match", "dcr", "membership.distance", "membership.density"):
        assert "not enough data" in errored[name], name
    _, verdict, code, _ = evaluate(load_policy("standard"), res)
    assert verdict == "INCONCLUSIVE" and code == 3
