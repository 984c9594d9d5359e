"""Engines: identical codes and marginals from numpy and DuckDB, the key rule, the oracle seam."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privsynth.engines import EngineConfig, category_key, choose_engine, encode_table
from privsynth.engines.keys import category_keys
from privsynth.errors import InputError, SchemaError
from privsynth.io import EXAMPLE_TABLE, example_path, read_table, sha256_file
from privsynth.marginals import CodesOracle, compress, marginals
from privsynth.schema import ColumnSpec, Schema
from privsynth.synthesizers import get_synthesizer


def mixed_schema() -> Schema:
    return Schema(
        [
            ColumnSpec("cat_int", "categorical", categories=[1, 2, 3], other=True, nullable=True),
            ColumnSpec("cat_half", "categorical", categories=["1.5", 2, "x"], other=True),
            ColumnSpec("cat_text", "categorical", categories=["a", "b", "1e3"], nullable=True),
            ColumnSpec("num", "float", lower=0, upper=10, bins=5, nullable=True),
            ColumnSpec("int", "integer", lower=0, upper=100, bins=7),
            ColumnSpec(
                "when",
                "datetime",
                format="%Y-%m-%d",
                lower="2020-01-01",
                upper="2020-12-31",
                bins=6,
                nullable=True,
            ),
            ColumnSpec("note", "exclude"),
        ]
    )


def mixed_frame(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Nulls, "other" values, clipping, integer-looking and "1.5"-style cells, datetimes."""
    rng = np.random.default_rng(seed)
    pick = lambda values: rng.choice(np.array(values, dtype=object), size=n)  # noqa: E731
    days = rng.integers(-40, 400, size=n)
    when = (pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    when = np.where(rng.random(n) < 0.05, "", when.to_numpy())
    return pd.DataFrame(
        {
            "cat_int": pick(["1", "2.0", " 3 ", "1e0", "4", "", "NA", "02", "1_0"]),
            "cat_half": pick(["1.5", "1.50", "2", "2.0", "x", "y", "\tx\u00a0", "15e-1"]),
            "cat_text": pick(["a", "b", "1000", "1e3", "?", "a "]),
            "num": pick(["-1", "0", "5.5", "9.99", "10", "11", "", "2e0", ".5"]),
            "int": pick(["0", "100", "150", "-3", "42", "7.0", "99"]),
            "when": when,
            "note": pick(["free text", "x"]),
        }
    )


@pytest.fixture(scope="module")
def mixed_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("engines")
    df = mixed_frame()
    csv = folder / "mixed.csv"
    df.to_csv(csv, index=False)
    parquet = folder / "mixed.parquet"
    typed = df.copy()
    typed["int"] = pd.to_numeric(typed["int"]).astype(np.int64)  # a typed numeric column
    typed.to_parquet(parquet, index=False)
    return {"csv": csv, "parquet": parquet}


def all_cliques(attrs: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [(a,) for a in attrs] + list(itertools.combinations(attrs, 2)) + [attrs[:3], ()]


def assert_same(a, b) -> None:
    assert a.domain == b.domain
    assert a.n_rows == b.n_rows
    assert np.array_equal(a.codes(), b.codes())
    assert a.notes == b.notes
    cl = all_cliques(a.domain.attrs)
    ma, mb = a.marginals(cl), b.marginals(cl)
    for c in cl:
        assert ma[c].dtype == np.int64 and mb[c].dtype == np.int64
        assert np.array_equal(ma[c], mb[c]), c


# -- the per-value key rule -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("1", "1"),
        ("1.0", "1"),
        (1.0, "1"),
        (np.int64(-3), "-3"),
        ("-0", "0"),
        ("1.5", "1.5"),
        ("1.50", "1.5"),
        ("15e-1", "1.5"),
        ("1_000", "1000"),
        ("1e20", "1e+20"),
        (2**53, "9007199254740992.0"),
        ("abc", "abc"),
        ("inf", "inf"),
        (True, "True"),
        ("0x10", "0x10"),
    ],
)
def test_category_key(value: object, key: str) -> None:
    assert category_key(value) == key


def test_keys_are_per_cell_not_per_column() -> None:
    ints = pd.Series([1.0, 2.0, 3.0])
    with_half = pd.Series([1.0, 2.0, 3.0, 1.5])
    assert category_keys(ints).tolist() == ["1", "2", "3"]
    assert category_keys(with_half).tolist()[:3] == ["1", "2", "3"]  # unchanged by the 1.5 row
    assert category_keys(pd.Series([True, 1, None], dtype=object)).tolist() == ["True", "1", None]


# -- numpy and DuckDB agree -------------------------------------------------------------------
@pytest.mark.slow
def test_adult_identical_codes_and_marginals(adult_schema: Schema) -> None:
    path = example_path(EXAMPLE_TABLE)
    a = encode_table(path, adult_schema, engine="numpy")
    b = encode_table(path, adult_schema, engine="duckdb")
    c = encode_table(path, adult_schema, engine="duckdb", config=EngineConfig(max_tuples=0))
    try:
        assert_same(a, b)
        assert_same(a, c)  # the GROUPING SETS path, not the in-memory histogram
    finally:
        b.close()
        c.close()


@pytest.mark.parametrize("kind", ["csv", "parquet", "frame"])
def test_generated_table_identical(kind: str, mixed_files: dict[str, Path]) -> None:
    schema = mixed_schema()
    source = read_table(mixed_files["csv"]) if kind == "frame" else mixed_files[kind]
    a = encode_table(source, schema, engine="numpy")
    b = encode_table(source, schema, engine="duckdb", config=EngineConfig(max_tuples=0))
    try:
        assert_same(a, b)
        codes = a.codes()
        assert (codes[:, 0] == 3).sum() > 0  # "other" used
        assert (codes[:, 0] == 4).sum() > 0  # the NA code used
        assert any("clipped" in n for n in a.notes)
    finally:
        b.close()


def test_unmapped_text_path_identical(mixed_files: dict[str, Path], monkeypatch) -> None:
    """Columns with many distinct values go through the SQL parse instead of a lookup."""
    import privsynth.engines.sql as sql

    monkeypatch.setattr(sql, "MAX_MAPPED_VALUES", 0)
    a = encode_table(mixed_files["csv"], mixed_schema(), engine="numpy")
    b = encode_table(mixed_files["csv"], mixed_schema(), engine="duckdb")
    try:
        assert not b._maps  # noqa: SLF001  (the test checks which path ran)
        assert_same(a, b)
    finally:
        b.close()


def test_errors_match_numpy(tmp_path: Path) -> None:
    schema = Schema([ColumnSpec("c", "categorical", categories=["a", "b"])])
    for cells, needle in (
        (["a", "", "b"], "missing value at data row 2 (1 rows)"),
        (["a", "b", "zz"], "'zz' at data row 3 is not among"),
    ):
        path = tmp_path / "bad.csv"
        pd.DataFrame({"c": cells}).to_csv(path, index=False)
        for engine in ("numpy", "duckdb"):
            with pytest.raises(SchemaError, match=needle.replace("(", r"\(").replace(")", r"\)")):
                encode_table(path, schema, engine=engine)
    num = Schema([ColumnSpec("x", "integer", lower=0, upper=9)])
    pd.DataFrame({"x": ["1", "two"]}).to_csv(tmp_path / "n.csv", index=False)
    with pytest.raises(SchemaError, match="'two' at data row 2 is not a number"):
        encode_table(tmp_path / "n.csv", num, engine="duckdb")
    pd.DataFrame({"x": ["1"], "y": ["2"]}).to_csv(tmp_path / "extra.csv", index=False)
    with pytest.raises(SchemaError, match=r"columns \['y'\] are in the data but not"):
        encode_table(tmp_path / "extra.csv", num, engine="duckdb")
    with pytest.raises(InputError, match="no such file"):
        encode_table(tmp_path / "none-*.parquet", num, engine="duckdb")


def test_neighbouring_tables(mixed_files: dict[str, Path], tmp_path: Path) -> None:
    """Removing one record changes every marginal in exactly one cell, by one, on DuckDB, and
    no other record's codes (the per-value key rule)."""
    df = mixed_frame()
    full = encode_table(mixed_files["csv"], mixed_schema(), engine="duckdb")
    path = tmp_path / "minus.csv"
    df.drop(index=17).to_csv(path, index=False)
    minus = encode_table(path, mixed_schema(), engine="duckdb", config=EngineConfig(max_tuples=0))
    try:
        assert np.array_equal(np.delete(full.codes(), 17, axis=0), minus.codes())
        cl = all_cliques(full.domain.attrs)
        mf, mm = full.marginals(cl), minus.marginals(cl)
        for c in cl:
            diff = mf[c] - mm[c]
            assert diff.sum() == 1 and np.abs(diff).sum() == 1, c
    finally:
        full.close()
        minus.close()


def test_glob_and_memory_settings(tmp_path: Path, adult: pd.DataFrame, adult_schema) -> None:
    for i, part in enumerate(np.array_split(np.arange(len(adult)), 3)):
        adult.iloc[part].to_parquet(tmp_path / f"part-{i}.parquet", index=False)
    glob = str(tmp_path / "part-*.parquet")
    assert choose_engine(glob) == "duckdb"
    cfg = EngineConfig(memory_limit="256MB", threads=1, temp_directory=str(tmp_path / "spill"))
    b = encode_table(glob, adult_schema, config=cfg)
    a = encode_table(adult, adult_schema, engine="numpy")
    try:
        assert b.engine == "duckdb"
        assert_same(a, b)
    finally:
        b.close()
    with pytest.raises(InputError, match="memory-limit"):
        encode_table(glob, adult_schema, engine="duckdb", config=EngineConfig(memory_limit="lots"))
    with pytest.raises(InputError, match="threads"):
        EngineConfig(threads=0)


# -- the oracle seam --------------------------------------------------------------------------
def test_compressed_oracle_equals_compressed_codes(adult: pd.DataFrame, adult_schema) -> None:
    table = encode_table(adult, adult_schema, engine="numpy")
    dom = table.domain
    forward = {"native-country": np.minimum(np.arange(dom["native-country"]), 5)}
    new = type(dom).from_dict({**dom.to_dict(), "native-country": 6})
    codes = compress(table.codes(), dom, new, forward)
    oracle = compress(CodesOracle(table.codes(), dom), dom, new, forward)
    cl = all_cliques(new.attrs)
    assert all(
        np.array_equal(x, y)
        for x, y in zip(
            marginals(codes, new, cl).values(), marginals(oracle, new, cl).values(), strict=True
        )
    )


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mst", "aim"])
def test_seeded_synthesis_identical_across_engines(method: str, adult_schema: Schema) -> None:
    path = example_path(EXAMPLE_TABLE)
    params = {"pgm_iters": 30, **({"rounds": 16} if method == "aim" else {})}
    outs = []
    for engine, cfg in (("numpy", None), ("duckdb", EngineConfig(max_tuples=0))):
        table = encode_table(path, adult_schema, engine=engine, config=cfg)
        synth = get_synthesizer(method)(1.0, 1e-9, noise_seed=5, **params).fit(table, adult_schema)
        outs.append(synth.sample(500))
        assert synth.ledger_.rho_spent <= synth.ledger_.rho_budget
        table.close()
    pd.testing.assert_frame_equal(outs[0], outs[1])


# -- the CLI ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_engine_options(tmp_path: Path, adult: pd.DataFrame) -> None:
    from typer.testing import CliRunner

    import privsynth.cli.commands  # noqa: F401  (registers the commands)
    from privsynth.cli.app import app

    data = tmp_path / "adult.parquet"
    adult.sample(4000, random_state=1).to_parquet(data, index=False)
    schema = str(example_path("adult-schema.json"))
    outs = {}
    for engine in ("numpy", "duckdb"):
        out = tmp_path / f"{engine}.csv"
        args = ["synth", str(data), "-s", schema, "-e", "1", "-m", "mst", "--noise-seed", "2"]
        args += ["--engine", engine, "--memory-limit", "512MB", "-o", str(out), "-q"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        outs[engine] = pd.read_csv(out)
        record = json.loads((tmp_path / f"{engine}.csv.run-record.private.json").read_text())
        assert record["input"]["sha256"] == sha256_file(data)  # private record only
        manifest = (tmp_path / f"{engine}.csv.manifest.json").read_text()
        assert sha256_file(data) not in manifest
    pd.testing.assert_frame_equal(outs["numpy"], outs["duckdb"])
    bad = CliRunner().invoke(
        app,
        [
            "synth",
            str(data),
            "-s",
            schema,
            "-e",
            "1",
            "--engine",
            "gpu",
            "-o",
            str(tmp_path / "x.csv"),
        ],
    )
    assert bad.exit_code == 2 and "unknown engine 'gpu'" in bad.output
