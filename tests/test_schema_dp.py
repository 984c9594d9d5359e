"""Differentially private schema inference (privsynth.schema_dp): budget, utility, end to end."""

from __future__ import annotations

import json
import math
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
from privsynth.privacy.accounting import epsilon_to_rho, rho_to_epsilon
from privsynth.privacy.budget import Budget
from privsynth.privacy.ledger import PrivacyLedger
from privsynth.privacy.mechanisms import gaussian_charge
from privsynth.privacy.noise import NoiseSource
from privsynth.schema import Schema
from privsynth.schema_dp import (
    DP_SOURCE,
    MARGIN_MANTISSAS,
    NUMERIC_WEIGHT,
    SEED_Z,
    THRESHOLD_DELTA_SHARE,
    WINDOW_SEED_Z,
    bin_keys,
    column_type,
    covering_bins,
    infer_schema_dp,
    noisy_histogram,
    number_grid,
    threshold_for,
)

runner = CliRunner()
DATA = str(example_path("adult.csv.gz"))


@pytest.fixture(scope="module")
def draft(adult: pd.DataFrame) -> Schema:
    return infer_schema_dp(adult, epsilon=1.0, delta=1e-9, seed=7)


def test_spends_exactly_what_it_reports(draft: Schema) -> None:
    dp_info = draft.provenance["dp"]
    entries = dp_info["ledger"]["entries"]
    # one measurement per modelled column, each with its mechanism, scale and sensitivity
    assert len(entries) == len(draft.synth_columns) == 15
    for e in entries:
        assert e["mechanism"] and e["what"] and e["scale"] > 0 and e["sensitivity"] == 1.0
        if e["what"].endswith("categories"):  # keys from the data: thresholded, with a delta
            assert e["delta"] > 0 and e["meta"]["threshold"] >= 1
        else:  # a public grid: the plain discrete Gaussian, OpenDP's map, no delta
            assert e["delta"] == 0 and "threshold" not in e["meta"]
            assert e["rho"] == gaussian_charge(e["scale"])
    rho = math.fsum(e["rho"] for e in entries)
    delta_mech = math.fsum(e["delta"] for e in entries)
    assert rho == pytest.approx(dp_info["rho"], rel=1e-12)
    conv = 1e-9 * (1 - THRESHOLD_DELTA_SHARE)
    assert rho_to_epsilon(rho, conv) == pytest.approx(dp_info["epsilon"], rel=1e-9)
    assert conv + delta_mech == pytest.approx(dp_info["delta"], rel=1e-9)
    assert dp_info["epsilon"] <= 1.0 and dp_info["delta"] <= 1e-9
    assert dp_info["epsilon"] > 0.99  # the budget is used, not wasted
    assert draft.provenance["source"] == DP_SOURCE
    assert not draft.warning


def test_numeric_only_table_charges_the_exact_gaussian_map(adult: pd.DataFrame) -> None:
    cols = ["age", "hours-per-week", "fnlwgt"]
    schema = infer_schema_dp(adult[cols], epsilon=0.5, delta=1e-9, seed=1)
    dp_info = schema.provenance["dp"]
    entries = dp_info["ledger"]["entries"]
    budget_rho = epsilon_to_rho(0.5, 1e-9)  # no categorical column: no delta reserved
    assert [e["what"] for e in entries] == [
        f"column {c!r}: bounds (noisy histogram on the public grid)" for c in cols
    ]
    for e in entries:
        assert e["rho"] == gaussian_charge(e["scale"]) and e["delta"] == 0.0
        assert e["rho"] <= budget_rho / len(cols) * (1 + 1e-12)
        assert e["meta"]["cells"] == len(number_grid(integer=True)) - 1
    assert dp_info["rho"] == pytest.approx(budget_rho, rel=1e-9)
    assert dp_info["epsilon"] == pytest.approx(0.5, rel=1e-6) and dp_info["delta"] <= 1e-9


@pytest.mark.parametrize("odd", [7.5, 1e308, -1e308, -5.0, float("nan"), 0.0])
def test_neighbouring_tables_move_one_histogram_count_by_one(adult: pd.DataFrame, odd) -> None:
    """One row added (odd values included), noise pinned: the noisy histograms on the public grid
    differ in at most one bin, by exactly 1 (L2 sensitivity 1); a missing value changes nothing."""
    x = adult["age"].to_numpy(dtype=float)
    edges = number_grid(integer=False)
    outs = []
    for table in (x, np.append(x, odd)):
        ledger = PrivacyLedger(Budget(epsilon=1.0, delta=1e-9))
        present = table[~np.isnan(table)]
        y, sigma = noisy_histogram(
            lambda present=present: bin_keys(present, edges),
            len(edges) - 1,
            0.01,
            ledger=ledger,
            noise=NoiseSource(3),
            what="h",
        )
        outs.append(y)
        assert ledger.entries[0].rho == gaussian_charge(sigma) <= 0.01
    diff = outs[1] - outs[0]
    assert np.abs(diff).sum() == (0.0 if np.isnan(odd) else 1.0)
    assert set(np.unique(diff)) <= {0.0, 1.0}


def test_row_index_and_identifiers_are_excluded_by_the_public_rule() -> None:
    idx = pd.Series(np.r_[np.arange(891), np.arange(415)])  # a written index of two tables
    assert column_type(idx, "")[0] == "exclude"
    assert column_type(pd.Series([3, 1, 2] * 10), "Unnamed: 0")[0] == "exclude"
    assert column_type(pd.Series(np.arange(5000) * 3 + 7), "order_id")[0] == "exclude"
    shuffled = pd.Series(np.random.default_rng(0).integers(0, 90, 1000))
    assert column_type(shuffled, "age")[0] == "integer"
    assert column_type(shuffled)[0] == "integer"


def test_covering_bins_on_a_small_skewed_table() -> None:
    """A small table at a small budget (Titanic-like fares): the seeds, growth and margin give a
    range that holds the tail the noise hides; pure noise gives nothing."""
    rng = np.random.default_rng(0)
    x = np.round(np.exp(rng.normal(2.7, 0.9, 1300)), 2)
    edges = number_grid(integer=False)
    counts = np.bincount(bin_keys(x, edges), minlength=len(edges) - 1).astype(float)
    sigma = 40.0
    covered = []
    for seed in range(10):
        y = counts + np.random.default_rng(seed).normal(0, sigma, counts.size).round()
        lo, hi, share, sides, se = covering_bins(y, sigma, edges)
        covered.append(np.mean((x >= edges[lo]) & (x < edges[hi + 1])))
        assert 0 <= share <= 1 and edges[lo] >= 0  # never across 0 without evidence
    # measured: 10/10 seeds >= 99%
    assert np.mean(np.array(covered) >= 0.99) >= 0.9
    assert covering_bins(np.random.default_rng(1).normal(0, 1, 50).round(), 40.0, None) is None


def test_numeric_columns_get_twice_a_categorical_share(draft: Schema) -> None:
    """The split is a public rule on the column types: a numeric column's rho is NUMERIC_WEIGHT
    times a categorical column's, the last column takes exactly the rest."""
    entries = draft.provenance["dp"]["ledger"]["entries"]
    cat = [e["rho"] for e in entries if e["what"].endswith("categories")]
    num = [e["rho"] for e in entries if not e["what"].endswith("categories")]
    assert cat and num and NUMERIC_WEIGHT == 2.0
    unit = draft.provenance["dp"]["rho"] / (len(cat) + NUMERIC_WEIGHT * len(num))
    # the categorical charge is the threshold mechanism's rho for its share (<= the share)
    assert all(r <= unit * (1 + 1e-9) for r in cat)
    assert num == pytest.approx([NUMERIC_WEIGHT * unit] * len(num), rel=1e-6)


def test_far_mode_under_the_bin_seed_is_found_by_a_window() -> None:
    """Adult's capital-loss at epsilon 0.1: 95% at 0 and a far mode of ~4.5% in two bins
    (1,000-5,000) that the noise can pull under SEED_Z. A window of 2 bins at WINDOW_SEED_Z
    seeds it once the column has a range; the same weak window alone (pure noise elsewhere) or
    across 0 seeds nothing."""
    edges = number_grid(integer=True)
    zero = int(np.searchsorted(edges, 0.0))
    sigma = 176.0
    y = np.zeros(len(edges) - 1)
    y[zero] = 31042.0
    far = zero + 10  # the bin [1000, 2000)
    y[far : far + 2] = [3.9 * sigma, 0.5 * sigma]  # both bins under SEED_Z, their sum is not
    assert y[far] < SEED_Z * sigma and y[far : far + 2].sum() >= WINDOW_SEED_Z * sigma * 2**0.5
    lo, hi, *_ = covering_bins(y, sigma, edges)
    assert lo == zero and hi >= far + 1
    alone = y.copy()
    alone[zero] = 0.0
    assert covering_bins(alone, sigma, edges) is None
    mirrored = y.copy()
    mirrored[far : far + 2] = 0.0
    mirrored[zero - 12 : zero - 10] = [3.9 * sigma, 0.5 * sigma]  # the same weak window, below 0
    lo, hi, *_ = covering_bins(mirrored, sigma, edges)
    assert edges[lo] >= 0


def test_common_categories_present_rare_ones_absent(draft: Schema, adult: pd.DataFrame) -> None:
    assert "Private" in draft["workclass"].categories
    assert set(draft["income"].categories) == {"<=50K", ">50K"}
    assert set(draft["sex"].categories) == {"Female", "Male"}
    for col in ("workclass", "education", "native-country"):
        spec = draft[col]
        assert spec.other and spec.nullable
        assert set(spec.categories) <= set(adult[col].dropna().astype(str))  # nothing invented


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rare_category_absent_at_small_epsilon(adult: pd.DataFrame, seed: int) -> None:
    # "Never-worked" has 7 rows, "Without-pay" 14.
    schema = infer_schema_dp(adult[["workclass", "income"]], epsilon=0.1, delta=1e-9, seed=seed)
    assert "Private" in schema["workclass"].categories
    assert "Never-worked" not in schema["workclass"].categories
    assert "Without-pay" not in schema["workclass"].categories


def test_bounds_hold_the_bulk_and_are_not_min_max(draft: Schema, adult: pd.DataFrame) -> None:
    for col in ("age", "hours-per-week", "fnlwgt"):
        spec = draft[col]
        assert spec.type == "integer"
        x = adult[col].to_numpy(dtype=float)
        inside = np.mean((x >= spec.lower) & (x <= spec.upper))
        assert inside >= 0.99, (col, spec.lower, spec.upper, inside)
        assert (spec.lower, spec.upper) != (x.min(), x.max())
        assert isinstance(spec.lower, int) and isinstance(spec.upper, int)
    grid = number_grid(integer=True, mantissas=MARGIN_MANTISSAS)  # the margin's finer grid
    assert draft["age"].lower in grid and draft["age"].upper + 1 in grid  # public edges only


def test_schema_encodes_the_data(draft: Schema, adult: pd.DataFrame) -> None:
    encoded = encode(adult, draft)
    assert encoded.codes.shape == adult.shape
    # the bounds cover the data: no value of the bundled Adult is clipped at epsilon 1
    assert not any("clipped" in n for n in encoded.notes)
    assert any("'other'" in n for n in encoded.notes)
    assert np.all(encoded.codes < np.array(encoded.domain.shape))


def test_seeded_runs_reproduce(adult: pd.DataFrame, draft: Schema) -> None:
    again = infer_schema_dp(adult, epsilon=1.0, delta=1e-9, seed=7)
    assert again.to_json() == draft.to_json()


def test_unseeded_uses_opendp_and_is_valid(adult: pd.DataFrame) -> None:
    schema = infer_schema_dp(adult.iloc[:, :4], epsilon=1.0, delta=1e-9)
    assert schema.provenance["dp"]["seeded"] is False
    assert "Private" in schema["workclass"].categories
    assert schema["age"].lower <= 30 <= schema["age"].upper


def test_types_follow_the_public_metadata_rule() -> None:
    assert column_type(pd.Series([1, 2, None]))[0] == "integer"
    assert column_type(pd.Series([1.5, 2.0]))[0] == "float"
    assert column_type(pd.Series(["2020-01-02", "2021-03-04"])) == ("datetime", "%Y-%m-%d", "")
    assert column_type(pd.Series([f"id{i}" for i in range(500)]))[0] == "exclude"
    assert column_type(pd.Series([None, None], dtype=object))[0] == "exclude"
    assert column_type(pd.Series(["a", "b", "a"]))[0] == "categorical"


def test_tiny_table_gives_a_valid_flagged_schema() -> None:
    df = pd.DataFrame(
        {
            "city": ["a", "b", "c", "a", "b"],
            "n": [1, 2, 3, 4, 5],
            "day": ["2020-01-01"] * 5,
            "empty": [None] * 5,
        }
    )
    schema = infer_schema_dp(df, epsilon=1.0, delta=1e-9, seed=0)
    assert schema["city"].categories == ["other"] and schema["city"].other
    assert "no category" in schema["city"].note
    assert schema["n"].lower == -1_000_000_000 and "no range" in schema["n"].note
    assert schema["day"].lower == "1900-01-01"
    assert schema["empty"].type == "exclude"
    encode(df.drop(columns="empty"), Schema(schema.synth_columns))  # still encodes


def test_datetime_bounds_are_whole_years() -> None:
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365, 20_000), "D")
    df = pd.DataFrame({"when": days.strftime("%Y-%m-%d")})
    spec = infer_schema_dp(df, epsilon=1.0, delta=1e-9, seed=0)["when"]
    assert spec.type == "datetime" and spec.format == "%Y-%m-%d"
    # the years seen, plus one public bin (a year) of margin on each side
    assert spec.lower == "2014-01-01" and spec.upper == "2021-01-01"


def test_threshold_meets_delta() -> None:
    t = threshold_for(10.0, 1e-10)
    assert 50 < t < 100
    assert threshold_for(10.0, 1e-6) < t


def test_bad_parameters(adult: pd.DataFrame) -> None:
    with pytest.raises(InputError):
        infer_schema_dp(adult, epsilon=0.0, delta=1e-9)
    with pytest.raises(InputError):
        infer_schema_dp(adult, epsilon=1.0, delta=0.5)
    with pytest.raises(InputError):
        infer_schema_dp(adult.iloc[:0], epsilon=1.0, delta=1e-9)


@pytest.mark.slow
def test_cli_infer_then_synth(tmp_path: Path) -> None:
    schema_path = tmp_path / "s.json"
    out = tmp_path / "out.csv"
    args = ["schema", "infer", DATA, "--epsilon", "1", "--seed", "3", "-q", "-o", str(schema_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(schema_path.read_text())
    assert data["provenance"]["source"] == DP_SOURCE and "warning" not in data
    first = schema_path.read_bytes()
    assert runner.invoke(app, args).exit_code == 0
    assert schema_path.read_bytes() == first  # seeded: byte-identical
    synth = ["synth", DATA, "--schema", str(schema_path), "--epsilon", "1", "--seed", "1"]
    result = runner.invoke(app, [*synth, "--method", "independent", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == list(data["columns"])
    age = table["age"].dropna()  # every column is nullable, so a few NA may be drawn
    spec = data["columns"]["age"]
    assert len(age) > 0.99 * len(table) and age.between(spec["lower"], spec["upper"]).all()


def test_cli_bad_epsilon_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["schema", "infer", DATA, "--epsilon", "-1", "-o", str(tmp_path / "s.json")]
    )
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "epsilon" in result.output


@pytest.mark.slow
def test_fine_margin_is_inside_the_whole_bin_margin_and_covers(monkeypatch) -> None:
    """The margin on the finer public grid (docs/schema.md): bounds inside those of whole-bin
    margins (the coarse grid, no extra step), on the finer grid, never across 0; on a small
    skewed table they still cover >= 99% of the values (measured: 10/10 seeds)."""
    import privsynth.schema_dp as sd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"fare": np.round(np.exp(rng.normal(2.7, 0.9, 1300)), 2)})
    x = df["fare"].to_numpy()
    fine = sd.number_grid(False, sd.MARGIN_MANTISSAS)
    covered = []
    for seed in range(10):
        tight = infer_schema_dp(df, epsilon=0.3, delta=1e-9, seed=seed)["fare"]
        with monkeypatch.context() as m:
            m.setattr(sd, "MARGIN_MANTISSAS", sd.COVERAGE_MANTISSAS)
            m.setattr(sd, "MARGIN_EXTRA", 0)
            whole = infer_schema_dp(df, epsilon=0.3, delta=1e-9, seed=seed)["fare"]
        coarse = sd.number_grid(False)
        assert whole.lower in coarse and whole.upper in coarse
        assert whole.lower <= tight.lower <= tight.upper <= whole.upper
        assert tight.upper in fine and tight.lower >= 0
        covered.append(np.mean((x >= tight.lower) & (x <= tight.upper)))
    assert np.mean(np.array(covered) >= 0.99) >= 0.9
