"""Drift between source versions on the bundled Adult: a null study, real drift, schema changes,
the [drift] policy table and the ``privsynth drift`` command's exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from privsynth.cli import commands  # noqa: F401
from privsynth.cli.app import app
from privsynth.errors import InputError
from privsynth.registry import init_registry, open_registry, parse_budget
from privsynth.registry.drift import DriftPolicy, compute_drift, load_drift_policy
from reports.policy import load_policy

runner = CliRunner()


def _halves(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    perm = np.random.default_rng(seed).permutation(len(df))
    half = len(df) // 2
    return df.iloc[perm[:half]].reset_index(drop=True), df.iloc[perm[half:]].reset_index(drop=True)


@pytest.mark.slow
def test_null_study_random_halves_never_recommend_refresh(adult: pd.DataFrame) -> None:
    """Two random halves of one table are the same distribution: over 12 splits no interval may
    exclude 0 at the simultaneous 95% level. Measured: 0 of 12 splits raise an alarm, the largest
    lower bound over every column and pair is 0 (the bound is conservative: its nominal
    family-wise false-alarm rate is 5%, the observed one 0%)."""
    alarms, worst = 0, 0.0
    for seed in range(12):
        a, b = _halves(adult, seed)
        res = compute_drift(a, b, b.sample(frac=1.0, random_state=seed))
        alarms += res.refresh
        worst = max(worst, max(d.low for d in res.baseline))
        assert all(d.low <= d.tvd <= d.high for d in res.baseline)
    assert alarms == 0 and worst == 0.0


@pytest.mark.slow
def test_real_drift_and_schema_changes_recommend_refresh(
    adult: pd.DataFrame, adult_schema: object
) -> None:
    a, b = _halves(adult, 1)
    shifted = b.copy()
    shifted["age"] = shifted["age"] + 8  # the population aged
    res = compute_drift(a, shifted)
    age = next(d for d in res.baseline if d.columns == ("age",))
    assert res.refresh and age.low > 0.05
    assert all(d.low == 0 for d in res.baseline if "age" not in d.columns)  # no false blame
    changed = b.copy()
    changed.loc[changed.index[:40], "workclass"] = "Gig-economy"
    changed.loc[changed.index[:5], "hours-per-week"] = 120
    res2 = compute_drift(a, changed, schema=adult_schema)
    kinds = {(c.column, c.kind, c.triggers) for c in res2.changes}
    assert {("workclass", "new_category", True), ("hours-per-week", "out_of_bounds", True)} <= kinds
    assert res2.refresh
    # without a schema, unseen values are listed but do not trigger; 40 rows move no TVD past 0.05
    res3 = compute_drift(a, changed)
    assert ("workclass", "unseen_value", False) in {
        (c.column, c.kind, c.triggers) for c in res3.changes
    }
    assert not res3.refresh
    added = compute_drift(
        a, b.assign(new_col=1), policy=DriftPolicy(refresh_on_schema_change=False)
    )
    assert not added.refresh and compute_drift(a, b.assign(new_col=1)).refresh


def test_drift_policy_table(tmp_path: Path) -> None:
    pol = tmp_path / "p.toml"
    base = (Path(__file__).parents[1] / "reports" / "presets" / "standard.toml").read_text()
    pol.write_text(base + "\n[drift]\nmax_tvd = 0.02\nmax_tvd_2way = 0.04\n")
    assert load_drift_policy(str(pol)) == DriftPolicy(max_tvd=0.02, max_tvd_2way=0.04)
    assert load_policy(str(pol)).name == "standard"  # the gate accepts a policy with [drift]
    pol.write_text("[drift]\nmax_tvd = 2\n")
    with pytest.raises(InputError, match="max_tvd must be a number in"):
        load_drift_policy(str(pol))
    pol.write_text("[drift]\nmaxtvd = 0.1\n")
    with pytest.raises(InputError, match="unknown \\[drift\\] keys"):
        load_drift_policy(str(pol))


@pytest.mark.slow
def test_drift_command_exit_codes(adult: pd.DataFrame, tmp_path: Path) -> None:
    a, b = _halves(adult.sample(8000, random_state=4), 2)
    base, same, aged, syn = (tmp_path / f"{n}.csv" for n in ("base", "same", "aged", "syn"))
    a.to_csv(base, index=False)
    b.to_csv(same, index=False)
    b.assign(age=b["age"] + 8).to_csv(aged, index=False)
    b.sample(frac=1.0, random_state=0).to_csv(syn, index=False)
    reg = tmp_path / "r.db"
    init_registry(reg)
    with open_registry(reg) as r:
        r.add_source("adult", parse_budget("rho=1"))
        rel = r.commit(r.reserve("adult", 0.01, delta=1e-9).id, synthetic_path=syn, input_path=base)
    common = ["drift", "--release", rel.id, "--registry", str(reg)]
    ok = runner.invoke(app, [*common, "--data", str(same), "--json"])
    assert ok.exit_code == 0, ok.output
    out = json.loads(ok.stdout)
    assert out["refresh"] is False and "without differential privacy" in out["note"]
    assert len(out["baseline"]) == 15 + 15 * 14 // 2 and len(out["synthetic"]) == len(
        out["baseline"]
    )
    bad = runner.invoke(app, [*common, "--data", str(aged)])
    assert bad.exit_code == 1 and "REFRESH RECOMMENDED" in bad.output and "INTERNAL" in bad.output
    missing = runner.invoke(app, [*common, "--data", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.output
