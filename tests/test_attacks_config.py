"""AuditConfig: validation with one clear message per field, and one route for every setting
(run_audit, AuditData.prepare and the attacks read the same frozen object)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from attacks import (
    AttributeSettings,
    AuditConfig,
    AuditData,
    AuditInputError,
    DCRAttack,
    DCRSettings,
    ExactMatchSettings,
    KnowledgeConfig,
    MembershipSettings,
    NeighborSettings,
    run_audit,
)
from attacks.rates import compare, family_metrics

ADULT = Path(__file__).resolve().parents[1] / "privsynth" / "data" / "adult.csv.gz"


def _adult(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    df = pd.read_csv(ADULT, skipinitialspace=True, na_values=["?"])
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(df))[: 3 * n]
    t, h, s = (df.iloc[rows[i * n : (i + 1) * n]].reset_index(drop=True) for i in range(3))
    return t, h, s


def _strip(d: dict) -> dict:
    d["settings"].pop("seconds")
    d["settings"].pop("prepare_seconds")
    d["settings"].pop("search_seconds")
    for a in d["attacks"]:
        a.pop("seconds")
    return d


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: AuditConfig(confidence=1.0), "confidence"),
        (lambda: AuditConfig(seed=-1), "seed"),
        (lambda: AuditConfig(seed=True), "seed"),
        (lambda: AuditConfig(scaling="log"), "scaling"),
        (lambda: AuditConfig(n_jobs=0), "n_jobs"),
        (lambda: AuditConfig(dcr={"n_boot": 3}), "dcr"),
        (lambda: NeighborSettings(nprobe=0), "neighbors.nprobe"),
        (lambda: ExactMatchSettings(max_differ=0), "exact_match.max_differ"),
        (lambda: ExactMatchSettings(min_identifying=1.5), "exact_match.min_identifying"),
        (lambda: DCRSettings(tie_tol=-1.0), "dcr.tie_tol"),
        (lambda: MembershipSettings(k=2, density_k=3), "membership.density_k"),
        (lambda: AttributeSettings(rare_share=0.0), "attribute.rare_share"),
        (lambda: AttributeSettings(max_targets=2.5), "attribute.max_targets"),
        (lambda: KnowledgeConfig(subset_sizes=(0,)), "knowledge.subset_sizes"),
    ],
)
def test_invalid_settings_name_the_field(build, field):
    with pytest.raises(AuditInputError, match=f"^{field}"):
        build()


def test_config_is_frozen_keyword_only_and_normalises_integers():
    cfg = AuditConfig(seed=np.int64(3), attribute=AttributeSettings(max_targets=np.int32(10)))
    assert type(cfg.seed) is int and type(cfg.attribute.max_targets) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        AuditConfig(0)  # type: ignore[misc]
    assert cfg.with_overrides(seed=None, n_jobs=1) == dataclasses.replace(cfg, n_jobs=1)
    assert cfg.settings()["attribute"]["max_targets"] == 10


@pytest.mark.slow
def test_one_route_for_every_setting():
    """The same audit through the shortcuts, through a config, and attack by attack; and a
    per-attack setting reaches only its attack."""
    t, h, s = _adult(400, 0)
    cfg = AuditConfig(seed=5, n_jobs=1)
    base = run_audit(t, h, s, cfg)
    # the shortcuts replace the config's fields
    other = run_audit(t, h, s, AuditConfig(seed=1, n_jobs=2), seed=5, n_jobs=1)
    assert _strip(other.to_dict()) == _strip(base.to_dict())
    wide = run_audit(t, h, s, dataclasses.replace(cfg, dcr=DCRSettings(n_boot=0)))
    x, y = _strip(wide.to_dict()), _strip(base.to_dict())
    for name in ("exact_match", "membership.distance", "attribute", "linkability"):
        pick = [next(r for r in z["attacks"] if r["attack"] == name) for z in (x, y)]
        assert pick[0] == pick[1], name
    nndr = [r.metric("dcr.nndr_ratio").estimate for r in (wide, base)]
    # no bootstrap resample: the same ratio, with the widest interval (nothing decided)
    assert nndr[0].value == nndr[1].value
    assert (nndr[0].ci_low, nndr[0].ci_high) == (0.0, 1e6) != (nndr[1].ci_low, nndr[1].ci_high)
    data = AuditData.prepare(t, h, s, cfg)
    alone = DCRAttack(data).evaluate()
    assert [m.estimate for m in alone.metrics] == [
        m.estimate for m in base.attacks[1].metrics
    ]  # same numbers attack by attack


def test_leaf_predictions_equal_predict():
    """The attribute attack reads predictions off the leaves (one tree pass): the same as
    ``predict`` for classifiers (ties: first class) and regressors."""
    from attacks.attribute import _leaf_prediction

    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(2_000, 3)).astype(float)
    y_cls = rng.integers(0, 3, 2_000)
    y_num = x[:, 0] * 2 + rng.normal(size=2_000)
    for model, y in (
        (DecisionTreeClassifier(min_samples_leaf=5, random_state=0), y_cls),
        (DecisionTreeRegressor(min_samples_leaf=5, random_state=0), y_num),
    ):
        model.fit(x, y)
        q = rng.integers(0, 5, size=(500, 3)).astype(float)
        np.testing.assert_array_equal(_leaf_prediction(model, model.apply(q)), model.predict(q))


def test_family_metrics_share_one_shape():
    rng = np.random.default_rng(1)
    comps = [
        compare(f"set-{i}", rng.random(300) < 0.1 + 0.1 * i, rng.random(300) < 0.1, 0.99)
        for i in range(3)
    ]
    metrics, worst = family_metrics("x", comps, 0.97, lambda c: c.label, lambda w: w.label)
    assert [m.name for m in metrics] == ["x.set-0.excess", "x.set-1.excess", "x.set-2.excess",
                                         "x.max_excess"]  # fmt: skip
    top = metrics[-1]
    assert worst.label == "set-2" and top.estimate.value == worst.excess.value
    assert top.estimate.ci_high == max(c.excess.ci_high for c in comps)
    assert top.context["n_attack"] == 300 and metrics[0].context["attack"] == comps[0].attack
