"""The DP schema draft through DuckDB (privsynth.engines.facts): the same facts, the same exact
counts and so the same schema as the pandas path (issue 12.4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privsynth.engines.facts import FileSource, FrameSource, open_source
from privsynth.io import EXAMPLE_TABLE, example_path, read_table
from privsynth.schema_dp import date_grid, infer_schema_dp, number_grid, type_from_facts


def mixed_frame(n: int = 600, seed: int = 5) -> pd.DataFrame:
    """Numeric text ("2.0", blanks, NA), floats, datetimes, identifiers, a row index in order,
    booleans-as-text, categories with spaces and number-like keys, a rare category."""
    rng = np.random.default_rng(seed)
    pick = lambda values: rng.choice(np.array(values, dtype=object), size=n)  # noqa: E731
    days = rng.integers(0, 3000, size=n)
    when = (pd.Timestamp("2015-03-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    row = np.arange(n)
    row[1::200] -= 1  # runs in order, not unique
    return pd.DataFrame(
        {
            "int_text": pick(["1", "2.0", " 3 ", "40", "", "NA", "-7"]),
            "float_text": pick(["1.5", "2", "-0.25", "1e3", "0.001"]),
            "money": np.round(np.exp(rng.normal(4, 1.5, n)), 2),
            "count": rng.poisson(3, n),
            "when": when.to_numpy(),
            "ident": [f"id{i:05d}" for i in rng.permutation(n)],
            "rowno": row,
            "cat": pick([" a", "b ", "?", "c", "1.0", "1"]),
            "flag": pick(["True", "False"]),
        }
    )


def write(df: pd.DataFrame, path: Path, parquet: bool) -> Path:
    if not parquet:
        df.to_csv(path, index=False)
        return path
    typed = df.copy()
    typed["flag"] = typed["flag"] == "True"  # a boolean column
    typed["with_null"] = pd.array([4, None, 6] * (len(df) // 3), dtype="Int64")
    typed["float_nan"] = np.where(np.arange(len(df)) % 7 == 0, np.nan, np.arange(len(df)) * 0.5)
    typed.to_parquet(path, index=False)
    return path


def assert_same_source(frame: FrameSource, engine: FileSource) -> None:
    assert frame.names == engine.names and frame.n_rows == engine.n_rows
    for j, name in enumerate(frame.names):
        a, b = frame.facts(j), engine.facts(j)
        assert (a.dtype, a.n_present, a.n_distinct, a.whole) == (
            b.dtype, b.n_present, b.n_distinct, b.whole,
        ), name  # fmt: skip
        assert (a.in_order is None) == (b.in_order is None), name
        if a.in_order is not None:
            assert a.in_order() == b.in_order(), name
        if a.text_values is not None:
            assert sorted(a.text_values) == sorted(b.text_values), name
        kind, fmt, _ = type_from_facts(a, name)
        assert type_from_facts(b, name) == type_from_facts(a, name)
        if kind == "categorical":
            pd.testing.assert_series_equal(frame.key_counts(j), engine.key_counts(j), obj=name)
        elif kind in ("integer", "float", "datetime"):
            edges = date_grid() if kind == "datetime" else number_grid(kind == "integer")
            f = fmt if kind == "datetime" else None
            got, want = engine.bin_counts(j, edges, f), frame.bin_counts(j, edges, f)
            assert got.dtype == want.dtype == np.int64 and np.array_equal(got, want), name
            assert want.sum() == a.n_present


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_mixed_table_same_facts_counts_and_schema(tmp_path: Path, parquet: bool) -> None:
    path = write(mixed_frame(), tmp_path / ("t.parquet" if parquet else "t.csv"), parquet)
    frame = FrameSource(read_table(path))
    engine = open_source(path)
    assert isinstance(engine, FileSource)  # DuckDB profiled it, no pandas fallback
    try:
        assert_same_source(frame, engine)
        types = {n: type_from_facts(engine.facts(j), n)[0] for j, n in enumerate(engine.names)}
        assert types["ident"] == "exclude" and types["rowno"] == "exclude"
        assert types["when"] == "datetime" and types["money"] == "float"
        assert types["int_text"] == "integer" and types["cat"] == "categorical"
        want = infer_schema_dp(read_table(path), epsilon=2.0, delta=1e-9, seed=3)
        got = infer_schema_dp(engine, epsilon=2.0, delta=1e-9, seed=3)
    finally:
        engine.close()
    assert got.to_json() == want.to_json()  # seeded: the same noise on the same counts


@pytest.mark.slow
def test_bundled_adult_same_counts_and_schema() -> None:
    path = example_path(EXAMPLE_TABLE)  # the bundled CSV (gzip) as it is
    frame, engine = FrameSource(read_table(path)), open_source(path)
    assert isinstance(engine, FileSource)
    try:
        assert_same_source(frame, engine)
        got = infer_schema_dp(engine, epsilon=1.0, delta=1e-9, seed=11)
    finally:
        engine.close()
    want = infer_schema_dp(read_table(path), epsilon=1.0, delta=1e-9, seed=11)
    assert got.to_json() == want.to_json()


def test_sorted_key_order_does_not_depend_on_row_order() -> None:
    """Seeded noise is drawn in sorted key order: shuffling the rows changes nothing."""
    df = mixed_frame()
    shuffled = df.sample(frac=1.0, random_state=1).reset_index(drop=True)
    cols = ["cat", "flag", "money", "int_text"]
    a = infer_schema_dp(df[cols], epsilon=1.0, delta=1e-9, seed=2)
    b = infer_schema_dp(shuffled[cols], epsilon=1.0, delta=1e-9, seed=2)
    assert a.to_json() == b.to_json()


def test_cli_dp_infer_through_duckdb_writes_the_pandas_schema(tmp_path: Path, monkeypatch) -> None:
    """Above the auto size, `schema infer --epsilon` profiles and counts in DuckDB (no pandas
    copy of the table) and writes the byte-identical seeded schema; the charges are the same."""
    import json

    from typer.testing import CliRunner

    import privsynth.cli.commands  # noqa: F401  (registers the commands)
    import privsynth.cli.schema as cli_schema
    import privsynth.engines as engines
    from privsynth.cli.app import app

    data = write(mixed_frame(), tmp_path / "mixed.csv", parquet=False)
    out, read = {}, []
    monkeypatch.setattr(
        cli_schema, "read_table", lambda *a, **k: read.append(1) or read_table(*a, **k)
    )
    for name, threshold in (("pandas", 2**62), ("duckdb", 0)):
        monkeypatch.setattr(engines, "AUTO_DUCKDB_BYTES", threshold)
        target = tmp_path / f"{name}.json"
        args = ["schema", "infer", str(data), "-e", "1", "--seed", "4", "-q", "-o", str(target)]
        got = CliRunner().invoke(app, args)
        assert got.exit_code == 0, got.output
        out[name] = target.read_text()
        assert len(read) == 1  # the pandas run read the table; the DuckDB run did not
    assert out["pandas"] == out["duckdb"]
    ledger = json.loads(out["duckdb"])["provenance"]["dp"]["ledger"]["entries"]
    assert len(ledger) == 7 and all(e["rho"] > 0 for e in ledger)


@pytest.mark.parametrize(("odd", "cat"), [("7.5", "zzz"), ("-1e308", "a"), ("", "")])
def test_neighbouring_files_move_one_count_by_one(tmp_path: Path, odd: str, cat: str) -> None:
    """One row added to the file: DuckDB's counts on a fixed public grid and its category-key
    counts differ in at most one cell, by exactly 1 (a missing cell: in none): the sensitivity
    the mechanisms are charged for holds on the engine path."""
    base = pd.DataFrame(
        {"x": [str(v) for v in range(1, 300)], "c": ["a", "b", "c"] * 99 + ["a"] * 2}
    )
    grown = pd.concat([base, pd.DataFrame({"x": [odd], "c": [cat]})], ignore_index=True)
    edges = number_grid(integer=False)
    got = []
    for k, df in enumerate((base, grown)):
        path = tmp_path / f"t{k}.csv"
        df.to_csv(path, index=False)
        src = open_source(path)
        assert isinstance(src, FileSource)
        try:
            got.append((src.bin_counts(0, edges, None), src.key_counts(1)))
        finally:
            src.close()
    bins = got[1][0] - got[0][0]
    keys = got[1][1].sub(got[0][1], fill_value=0)
    assert np.abs(bins).sum() == (0 if odd == "" else 1) and set(np.unique(bins)) <= {0, 1}
    assert np.abs(keys.to_numpy()).sum() == (0 if cat == "" else 1)
