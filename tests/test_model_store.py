"""The saved DP model: save/load, conditional sampling, structural zeros, rebalancing, edge cases,
and the `synth --save-model` / `sample` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import privsynth.cli.commands  # noqa: F401  (registers the commands)
from privsynth.cli.app import app
from privsynth.encoding import encode
from privsynth.errors import InputError
from privsynth.io import example_path
from privsynth.model.factor import Factor
from privsynth.model.graphical_model import GraphicalModel
from privsynth.model.junction_tree import JunctionTree
from privsynth.model_store import SavedModel, load_model
from privsynth.schema import Schema
from privsynth.synthesizers import get_synthesizer

KEEP = ("age", "marital-status", "sex", "income")
RULE = 'marital-status == "Never-married" or age >= 18'


def _schema(rules: list) -> Schema:
    data = json.loads(example_path("adult-schema.json").read_text())
    for name in data["columns"]:
        if name not in KEEP:
            data["columns"][name] = {"type": "exclude"}
    data["constraints"] = rules
    return Schema.from_dict(data)


def _exact(adult: pd.DataFrame, schema: Schema) -> SavedModel:
    """A model on two cliques with the real counts as potentials (a test fixture, not DP)."""
    codes = encode(adult[list(KEEP)], schema).codes
    dom = schema.domain()
    cliques = [("age", "marital-status"), ("sex", "income")]
    pots = {}
    for c in cliques:
        axes = [dom.attrs.index(a) for a in c]
        flat = np.ravel_multi_index(tuple(codes[:, i] for i in axes), [dom[a] for a in c])
        counts = np.bincount(flat, minlength=dom.size(c)).reshape([dom[a] for a in c])
        with np.errstate(divide="ignore"):
            pots[c] = Factor(dom.project(c), np.log(counts.astype(float)))
    model = GraphicalModel(dom, JunctionTree(dom, cliques), pots, total=len(adult))
    return SavedModel(schema=schema, model=model, info={"method": "exact-test"})


def _tvd(a: pd.Series, b: pd.Series) -> float:
    p, q = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(0.5 * p.sub(q, fill_value=0).abs().sum())


def test_structural_zeros_condition_the_model_exactly(adult: pd.DataFrame) -> None:
    schema = _schema([RULE])
    res = _exact(adult, schema).sample(40000, seed=0)
    assert res.stats["structural_zeros"] == ["rule-1"]
    assert res.stats["acceptance"] == 1.0  # integer bins: the rule is exact on cells
    assert res.stats["satisfaction"]["all"] == 1.0
    real = adult[schema.rules.satisfied(adult)]
    # the model is the real (age, marital) table, so the conditioned sample matches the rows
    # that satisfy the rule (measured TVD ~0.01 at 40,000 rows; 0.03 leaves room)
    joint = res.table["age"].astype(str) + res.table["marital-status"]
    assert _tvd(joint, real["age"].astype(str) + real["marital-status"]) < 0.03


def test_where_across_cliques_and_rebalance(adult: pd.DataFrame) -> None:
    saved = _exact(adult, _schema([]))
    res = saved.sample(5000, seed=1, where='sex == "Female" and income == ">50K"')
    assert (res.table["sex"] == "Female").all() and (res.table["income"] == ">50K").all()
    assert res.stats["structural_zeros"] == ["where"] and res.stats["acceptance"] == 1.0
    res = saved.sample(20000, seed=2, rebalance="income")
    share = res.table["income"].value_counts(normalize=True)
    assert share.sub(0.5).abs().max() < 0.01  # real share of >50K is 0.24
    res = saved.sample(20000, seed=2, rebalance="income", proportions=[0.1, 0.9])
    assert abs(float((res.table["income"] == ">50K").mean()) - 0.9) < 0.01
    with pytest.raises(InputError, match="give 2 non-negative proportions"):
        saved.sample(10, rebalance="income", proportions=[1, 2, 3])
    with pytest.raises(InputError, match="no record the model can produce"):
        saved.sample(10, where="age > 90")


def test_edge_cases_raise_rare_values(adult: pd.DataFrame) -> None:
    saved = _exact(adult, _schema([RULE]))
    plain = saved.sample(20000, seed=3).table
    edge = saved.sample(20000, seed=3, temperature=0.3)
    rare = "Married-AF-spouse"  # 23 of 32,561 real rows
    assert (edge.table["marital-status"] == rare).mean() > 5 * (
        plain["marital-status"] == rare
    ).mean()
    assert edge.stats["satisfaction"]["all"] == 1.0  # structural zeros survive tempering


def test_save_load_round_trip_is_exact_and_public(adult: pd.DataFrame, tmp_path: Path) -> None:
    schema = _schema([RULE])
    synth = get_synthesizer("mst")(1.0, 1e-9, seed=5).fit(adult[list(KEEP)], schema)
    saved = SavedModel.from_synthesizer(synth)
    saved.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    a, b = saved.sample(3000, seed=9), again.sample(3000, seed=9)
    pd.testing.assert_frame_equal(a.table, b.table)
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert set(doc) == {
        "format",
        "created",
        "method",
        "parameters",
        "seeded",
        "privacy",
        "schema",
        "model",
    }
    assert "seed" not in doc["parameters"] and doc["seeded"] is True
    assert doc["privacy"]["spent"]["rho"] <= synth.ledger_.rho_budget + 1e-12
    with np.load(tmp_path / "m" / "potentials.npz") as npz:
        assert all(k[0] in "pkw" for k in npz.files)  # potentials, compression keep/weights only
    with pytest.raises(InputError, match="already exists"):
        saved.save(tmp_path / "m")
    (tmp_path / "m" / "potentials.npz").write_bytes(b"x")
    with pytest.raises(InputError, match="sha256 differs"):
        load_model(tmp_path / "m")


def test_pipeline_enforces_schema_rules(adult: pd.DataFrame) -> None:
    from privsynth.pipeline import Inputs, synthesize
    from privsynth.privacy.budget import Budget

    schema = _schema([RULE, 'sex == "Male" or age <= 89'])
    for method in ("independent", "mst"):
        table, _ = synthesize(
            Inputs(adult[list(KEEP)], schema, Path("x.csv")),
            method=method,
            budget=Budget(epsilon=1.0, delta=1e-9),
            rows=5000,
            noise_seed=0,
        )
        assert len(table) == 5000 and schema.rules.satisfied(table).all(), method


@pytest.mark.slow
def test_cli_save_model_then_sample(tmp_path: Path) -> None:
    runner = CliRunner()
    model, out = tmp_path / "M", tmp_path / "s.csv"
    args = ["synth", "--example", "-e", "1", "-m", "independent", "--seed", "1", "-q"]
    r = runner.invoke(app, [*args, "-o", str(tmp_path / "t.csv"), "--save-model", str(model)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, [*args, "-o", str(tmp_path / "u.csv"), "--save-model", str(model)])
    assert r.exit_code == 2 and "already exists" in r.output and not (tmp_path / "u.csv").exists()
    r = runner.invoke(
        app,
        [
            "sample",
            str(model),
            "-n",
            "500",
            "--where",
            'income == ">50K"',
            "--seed",
            "1",
            "-o",
            str(out),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out)
    assert len(table) == 500 and (table["income"] == ">50K").all()
    manifest = json.loads(Path(str(out) + ".manifest.json").read_text())
    assert manifest["privacy"]["spent"]["epsilon"] <= 1.0 + 1e-9
    for bad, msg in (
        (["--where", "nope > 1"], "unknown column 'nope'"),
        (["--rebalance", "income=a,b"], "proportions must be numbers"),
        (["-n", "0"], "--rows must be a positive integer"),
    ):
        r = runner.invoke(app, ["sample", str(model), "-o", str(tmp_path / "bad.csv"), *bad])
        assert r.exit_code == 2 and msg in r.output and "Traceback" not in r.output
        assert not (tmp_path / "bad.csv").exists()
    r = runner.invoke(app, ["sample", str(tmp_path), "-o", str(tmp_path / "bad.csv")])
    assert r.exit_code == 2 and "not a privsynth model folder" in r.output


def _flat(doc: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in doc.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@pytest.mark.parametrize("method", ["independent", "mst"])
def test_neighbouring_tables_differ_only_in_dp_outputs(
    adult: pd.DataFrame, tmp_path: Path, method: str
) -> None:
    """Fits on D and D minus one row (same seed): model.json may differ only in the DP outputs
    (the noisy total and the potentials' hash) and the creation time; any other difference would
    be a data-dependent value stored outside the DP release."""
    schema = _schema([RULE])
    docs = []
    for i, data in enumerate((adult[list(KEEP)], adult[list(KEEP)].iloc[1:])):
        synth = get_synthesizer(method)(1.0, 1e-9, noise_seed=11).fit(data, schema)
        SavedModel.from_synthesizer(synth).save(tmp_path / f"m{i}")
        docs.append(_flat(json.loads((tmp_path / f"m{i}" / "model.json").read_text())))
    assert docs[0].keys() == docs[1].keys()
    differ = {k for k in docs[0] if docs[0][k] != docs[1][k]}
    dp_outputs = {"model.total", "model.arrays_sha256", "model.compression", "model.cliques"}
    assert differ <= {"created", *dp_outputs}
    assert "model.arrays_sha256" in differ  # the noisy potentials do depend on the data
