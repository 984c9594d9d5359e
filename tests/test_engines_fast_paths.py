"""The engines' fast paths give the numpy path's codes and counts exactly.

Unit bins by arithmetic (``plan._unit_bins``), clip flags packed into the histogram's keys
(``sql.pack_slots``, more than one flag slot and more than one key), the column-wise in-memory
oracle (``CodesOracle``), and the engine's column profile (``profile_columns``) that the non-DP
schema draft reads.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privsynth.domain import Domain
from privsynth.engines import EngineConfig, encode_table
from privsynth.engines.duckdb_engine import DUCKDB
from privsynth.engines.plan import encode_select
from privsynth.engines.sql import FLAGS_PER_SLOT, pack_groups, pack_slots
from privsynth.marginals import CodesOracle, count_codes
from privsynth.schema import ColumnSpec, Schema

# cells around, at and between unit edges, far outside, huge, signed zeros, non-finite
EDGE_CELLS = [
    "-1e300", "-5", "-0.5", "-0.0", "0", "0.0", "1e-300", "0.5", "0.9999999999999999", "1",
    "1.0000000000000002", "2.5", "3", "7.99", "8", "9", "9.5", "9.999999999999998", "10", "10.5",
    "11", "4503599627370497", "1e300", "", "inf", "-inf", "nan",
]  # fmt: skip


def assert_identical(a, b) -> None:
    assert a.n_rows == b.n_rows
    assert a.notes == b.notes
    assert np.array_equal(a.codes(), b.codes())
    attrs = a.domain.attrs
    cliques = [(x,) for x in attrs] + list(itertools.combinations(attrs, 2))
    ma, mb = a.marginals(cliques), b.marginals(cliques)
    for c in cliques:
        assert np.array_equal(ma[c], mb[c]), c


def test_unit_bins_by_arithmetic_match_numpy(tmp_path: Path) -> None:
    schema = Schema(
        [
            ColumnSpec("f", "float", lower=0, upper=10, bins=10, nullable=True),
            ColumnSpec("i", "integer", lower=-3, upper=40, bins=44),
            ColumnSpec("g", "float", lower=0, upper=10, bins=4),  # edges 2.5, 5, 7.5: a tree
        ]
    )
    rng = np.random.default_rng(1)
    n = 600
    finite = [c for c in EDGE_CELLS if c not in ("", "inf", "-inf", "nan")]
    df = pd.DataFrame(
        {
            "f": rng.choice(np.array(EDGE_CELLS, dtype=object), size=n),
            "i": rng.integers(-10, 50, size=n).astype(str),
            "g": rng.choice(np.array(finite, dtype=object), size=n),
        }
    )
    df.loc[df["f"].isin(["inf", "-inf", "nan"]), "f"] = ""  # the numpy path: not a number
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    sql, _ = encode_select(DUCKDB, schema, {"f": "text", "i": "text", "g": "text"}, "t", ())
    assert sql.count("floor(least(greatest(") == 2  # f and i take the fast path, g does not
    a = encode_table(path, schema, engine="numpy")
    b = encode_table(path, schema, engine="duckdb")
    c = encode_table(path, schema, engine="duckdb", config=EngineConfig(max_tuples=0))
    try:
        assert_identical(a, b)
        assert_identical(a, c)
        assert any("clipped" in note for note in b.notes)
    finally:
        b.close()
        c.close()


def test_many_clip_flags_pack_into_slots_and_keys(tmp_path: Path) -> None:
    k = FLAGS_PER_SLOT + 5  # two flag slots
    cols = [ColumnSpec(f"x{j}", "integer", lower=0, upper=10 + j % 3, bins=3) for j in range(k)]
    schema = Schema(cols)
    rng = np.random.default_rng(2)
    df = pd.DataFrame({f"x{j}": rng.integers(-2, 16, size=300) for j in range(k)})
    path = tmp_path / "wide.parquet"
    df.to_parquet(path, index=False)
    a = encode_table(path, schema, engine="numpy")
    b = encode_table(path, schema, engine="duckdb")
    try:
        plans = b._plans  # noqa: SLF001 - the engine's own plan, to check the packing it used
        slots = pack_slots(list(schema.domain().shape), plans)
        assert len(slots) == k + 2
        assert len(pack_groups([r for _, r in slots])) >= 2
        assert_identical(a, b)
        assert sum("clipped" in note for note in b.notes) == k
    finally:
        b.close()


@pytest.mark.parametrize("weighted", [False, True])
def test_codes_oracle_columns_equal_matrix_counts(weighted: bool) -> None:
    dom = Domain.from_dict({"a": 3, "b": 300, "c": 700, "d": 2})
    rng = np.random.default_rng(3)
    codes = np.column_stack([rng.integers(0, k, size=5000) for k in dom.shape])
    w = rng.integers(1, 9, size=5000).astype(float) if weighted else None
    oracle = CodesOracle(codes, dom, w)
    same = CodesOracle.from_columns([codes[:, j] for j in range(4)], dom, w)
    cliques = [(), ("c",), ("a", "b"), ("b", "c"), ("a", "b", "c", "d")]
    got, got2 = oracle.marginals(cliques), same.marginals(cliques)
    for cl in cliques:
        shape = dom.project(cl).shape
        if cl:
            flat = np.ravel_multi_index(tuple(codes[:, dom.axes(cl)].T), shape)
            want = np.bincount(flat, weights=w, minlength=int(np.prod(shape)))
        else:
            want = np.array([codes.shape[0] if w is None else w.sum()])
        want = np.rint(want).astype(np.int64)
        assert np.array_equal(got[cl], want), cl
        assert np.array_equal(got2[cl], want), cl
        assert np.array_equal(count_codes(codes, dom, cl, w), want), cl
    assert oracle.n_rows == (5000 if w is None else int(w.sum()))
    assert oracle.n_tuples == 5000


def test_whitespace_set_is_python_strip_set() -> None:
    from privsynth.engines.keys import WHITESPACE

    assert "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) == WHITESPACE


# -- the schema draft from DuckDB's column profile ---------------------------------------------
def profile_frame(n: int = 400, seed: int = 4) -> pd.DataFrame:
    """Numeric text (with "1.0"-style and missing cells), datetimes, identifiers, booleans."""
    rng = np.random.default_rng(seed)
    pick = lambda values: rng.choice(np.array(values, dtype=object), size=n)  # noqa: E731
    days = rng.integers(0, 300, size=n)
    when = (pd.Timestamp("2021-03-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "int_text": pick(["1", "2.0", " 3 ", "40", "", "NA"]),
            "float_text": pick(["1.5", "2", "-0.25", "1e3"]),
            "whole": pick(["7", "8", "9"]),
            "when": when.to_numpy(),
            "ident": [f"id{i:05d}" for i in rng.permutation(n)],
            "seq": np.arange(n) * 3,
            "cat": pick([" a", "b ", "?", "c"]),
            "flag": pick(["True", "False"]),
            "empty_ish": pick(["x", "null"]),
        }
    )


@pytest.mark.parametrize(
    "kind",
    [
        "adult-csv",
        pytest.param("adult-parquet", marks=pytest.mark.slow),
        "mixed-csv",
        "mixed-parquet",
    ],
)
@pytest.mark.slow
def test_schema_draft_same_from_duckdb_profile(kind: str, tmp_path: Path) -> None:
    from privsynth.engines.profile import infer_schema_file, profile_columns
    from privsynth.io import EXAMPLE_TABLE, example_path, read_table
    from privsynth.schema_infer import infer_schema

    df = read_table(example_path(EXAMPLE_TABLE)) if kind == "adult-parquet" else profile_frame()
    path = tmp_path / ("t.csv" if kind.endswith("csv") else "t.parquet")
    if kind == "adult-csv":
        path = example_path(EXAMPLE_TABLE)  # the bundled file as it is
    elif kind.endswith("csv"):
        df.to_csv(path, index=False)
    else:
        typed = df.copy()
        if kind.startswith("mixed"):
            typed["flag"] = typed["flag"] == "True"  # a boolean column
            typed["with_null"] = pd.array([1, None] * (len(df) // 2), dtype="Int64")
            typed["float_nan"] = np.where(np.arange(len(df)) % 5 == 0, np.nan, 0.5)
        typed.to_parquet(path, index=False)
    want = infer_schema(read_table(path), bins=12).to_json()
    assert profile_columns(path) is not None  # DuckDB profiled it (no pandas fallback)
    got = infer_schema_file(path, bins=12).to_json()
    assert got == want
    assert '"exclude"' in want or kind.startswith("adult")


def test_cli_schema_infer_and_check_through_duckdb(tmp_path: Path, monkeypatch) -> None:
    """Above the auto size, `schema infer` and `schema check` run in DuckDB, same output."""
    from typer.testing import CliRunner

    import privsynth.cli.commands  # noqa: F401  (registers the commands)
    import privsynth.engines as engines
    from privsynth.cli.app import app

    data = tmp_path / "mixed.csv"
    profile_frame().to_csv(data, index=False)
    out = {}
    for name, threshold in (("pandas", 2**62), ("duckdb", 0)):
        monkeypatch.setattr(engines, "AUTO_DUCKDB_BYTES", threshold)
        assert engines.choose_engine(str(data)) == ("duckdb" if threshold == 0 else "numpy")
        target = tmp_path / f"{name}.json"
        got = CliRunner().invoke(app, ["schema", "infer", str(data), "-o", str(target), "-q"])
        assert got.exit_code == 0, got.output
        out[name] = target.read_text()
        checked = CliRunner().invoke(app, ["schema", "check", str(data), "-s", str(target)])
        assert checked.exit_code == 0, checked.output
        out[name + "-check"] = checked.output.replace(name, "X")
    assert out["pandas"] == out["duckdb"]
    assert out["pandas-check"] == out["duckdb-check"]
    assert "400 rows" in " ".join(out["duckdb-check"].split())
