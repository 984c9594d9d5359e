"""Issue 16, case by case: every numbered case is a named test (exit 2 or the documented result,
one clear line, inputs byte-identical afterwards, no temporary file left).

Case 5 (a one-row synthetic table's degenerate DCR interval) belongs to the attacks and is tested
there; everything else is here.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from reliability_helpers import (
    TOY_SCHEMA,
    assert_clean,
    assert_user_error,
    digest,
    invoke,
    toy,
)

from privsynth.errors import InputError, SchemaError
from privsynth.io import EXAMPLE_SCHEMA, example_path, read_table
from privsynth.limits import MAX_SAMPLE_ROWS, MIN_EPSILON
from privsynth.schema import Schema, load_schema

ADULT_SCHEMA = str(example_path(EXAMPLE_SCHEMA))


def _synth(data: Path, schema: Path, out: Path, *extra: str) -> tuple[int, str]:
    return invoke(
        "synth", data, "-s", schema, "-e", "1", "-m", "independent", "--seed", "1", "-o", out,
        "-q", *extra,
    )  # fmt: skip


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture()
def no_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any attack runs: the error must come before the work."""
    import attacks

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("the audit ran before the error was found")

    monkeypatch.setattr(attacks, "run_audit", boom)


# -- data loss -----------------------------------------------------------------------------------
def test_case01_synth_output_is_its_input(folder: Path) -> None:
    data, schema = toy(folder)
    before = digest(folder)
    assert_user_error(*_synth(data, schema, data), "destroy the input")
    link = folder / "link.csv"
    link.symlink_to(data)
    assert_user_error(*_synth(data, schema, link), "same file as the input")
    # the manifest beside the output would overwrite the schema
    manifest_twin = folder / "s.csv"
    os.link(schema, folder / "s.csv.manifest.json")
    assert_user_error(*_synth(data, folder / "s.csv.manifest.json", manifest_twin), "destroy")
    (folder / "s.csv.manifest.json").unlink()
    link.unlink()
    assert digest(folder) == before
    assert_clean(folder)


def test_case02_audit_json_or_report_is_an_input(folder: Path, no_audit: None) -> None:
    data, _ = toy(folder)
    before = digest(folder)
    args = ["audit", "-t", data, "-H", data, "-S", data]
    assert_user_error(*invoke(*args, "--json", data), "destroy the input")
    assert_user_error(*invoke(*args, "--policy", "standard", "--report", folder), "holds the input")
    assert digest(folder) == before
    assert_clean(folder)


def test_case03_certify_folder_holds_its_input(folder: Path) -> None:
    cert = folder / "cert"
    cert.mkdir()
    data, schema = toy(cert)
    before = digest(folder)
    code, out = invoke("certify", cert / "toy.csv", "-s", schema, "-e", "1", "-o", cert, "-q")
    assert_user_error(code, out, "holds the input")
    assert digest(folder) == before
    assert_clean(folder)


# -- silently wrong ------------------------------------------------------------------------------
@pytest.mark.parametrize("big", ["1e20", "99999999999999999999", str(2**70), "1e308", "-1e19"])
def test_case04_numbers_beyond_int64_are_floats_never_wrapped(folder: Path, big: str) -> None:
    data = folder / "big.csv"
    data.write_text(f"a,b\n{big},x\n2,y\n3,x\n")
    before = digest(folder)
    table = read_table(data)
    assert table["a"].dtype == float and table["a"].iloc[0] == float(big)
    code, out = invoke("schema", "infer", data, "-o", folder / "s.json", "-q")
    assert code == 0, out
    spec = load_schema(folder / "s.json")["a"]
    assert spec.type == "float"
    assert (spec.lower, spec.upper) == (min(2.0, float(big)), max(3.0, float(big)))
    digest_in = digest(folder)
    code, out = _synth(data, folder / "s.json", folder / "o.csv", "-n", "50")
    assert code == 0, out
    values = pd.read_csv(folder / "o.csv")["a"]
    assert values.between(spec.lower, spec.upper).all()
    assert {k: v for k, v in digest(folder).items() if k in before} == before
    assert {k: v for k, v in digest(folder).items() if k in digest_in} == digest_in
    assert_clean(folder)


def test_case04_integer_schema_beyond_2_53_is_refused(folder: Path) -> None:
    spec = {"columns": {"a": {"type": "integer", "lower": 0, "upper": 10**20}}}
    (folder / "s.json").write_text(json.dumps(spec))
    with pytest.raises(SchemaError, match=r'use "type": "float"'):
        load_schema(folder / "s.json")
    # whole numbers beyond 2**53 (still inside int64) are read as floats, not rounded as ints
    (folder / "t.csv").write_text(f"a\n{2**60 + 1}\n1\n")
    assert read_table(folder / "t.csv")["a"].dtype == float


def _bad_schema(folder: Path, column: dict) -> tuple[Path, Path]:
    data, _ = toy(folder)
    spec = {"columns": {**TOY_SCHEMA["columns"], **column}}
    path = folder / "bad-schema.json"
    path.write_text(json.dumps(spec))
    return data, path


def test_case06_categories_must_be_a_list(folder: Path) -> None:
    data, schema = _bad_schema(folder, {"b": {"type": "categorical", "categories": "xy"}})
    before = digest(folder)
    assert_user_error(*invoke("schema", "check", data, "-s", schema), "'categories' must be a list")
    assert_user_error(*_synth(data, schema, folder / "o.csv"), "must be a list")
    assert digest(folder) == before
    assert not (folder / "o.csv").exists()


def test_case07_rows_with_too_few_fields_are_an_error(folder: Path) -> None:
    data, schema = toy(folder, csv="a,b\n1,x\n2\n3,y\n")
    before = digest(folder)
    code, out = invoke("schema", "check", data, "-s", schema)
    assert_user_error(code, out, "data row 2 has 1 fields but the header has 2")
    data.write_text("a,b\n1,x\n2,y,z\n")
    assert_user_error(*invoke("schema", "check", data, "-s", schema), "data row 2 has 3 fields")
    data.write_text('a,b\n1,"x,y"\n2,\n')  # a quoted comma and an empty last field are fine
    assert read_table(data)["b"].tolist() == ["x,y", None]
    assert digest(folder).keys() == before.keys()


def test_case08_bin_edges_must_span_the_bounds(folder: Path) -> None:
    column = {"a": {"type": "integer", "lower": 0, "upper": 9, "bins": [100, 200, 300]}}
    data, schema = _bad_schema(folder, column)
    assert_user_error(*_synth(data, schema, folder / "o.csv"), "must start at lower (0)")
    ok = {"a": {"type": "integer", "lower": 0, "upper": 9, "bins": [0, 5, 9]}}
    spec = Schema.from_dict({"columns": {**TOY_SCHEMA["columns"], **ok}})
    assert spec["a"].n_values() == 2
    assert not (folder / "o.csv").exists()


def test_case09_other_label_must_differ_from_the_categories(folder: Path) -> None:
    column = {"b": {"type": "categorical", "categories": ["x", "y"], "other": True}}
    column["b"]["other_label"] = "x"
    data, schema = _bad_schema(folder, column)
    assert_user_error(*_synth(data, schema, folder / "o.csv"), "could not be told apart")
    # the default label steps aside for a real category named "other"
    spec = Schema.from_dict(
        {"columns": {"b": {"type": "categorical", "categories": ["other"], "other": True}}}
    )
    assert spec["b"].other_label == "other (not listed)"
    assert Schema.from_dict(spec.to_dict()).hash() == spec.hash()


# -- memory --------------------------------------------------------------------------------------
@pytest.mark.parametrize("epsilon", ["1e-20", "1e-300", "5e-7"])
def test_case10_epsilon_below_the_floor(folder: Path, epsilon: str) -> None:
    data, schema = toy(folder)
    code, out = invoke("synth", data, "-s", schema, "-e", epsilon, "-o", folder / "o.csv")
    assert_user_error(code, out, "below the floor")
    code, out = invoke("certify", data, "-s", schema, "-e", epsilon, "-o", folder / "c", "-q")
    assert_user_error(code, out, "below the floor")
    code, out = invoke("schema", "infer", data, "-e", epsilon, "-o", folder / "s.json")
    assert_user_error(code, out, "below the floor")
    assert sorted(p.name for p in folder.iterdir()) == ["toy-schema.json", "toy.csv"]


def test_case10_floor_admits_small_but_meaningful_epsilon(folder: Path) -> None:
    data, schema = toy(folder)
    assert _synth(data, schema, folder / "o.csv", "-e", str(MIN_EPSILON * 10), "-n", "5")[0] == 0


def test_case10_rows_and_bins_are_capped(folder: Path) -> None:
    data, schema = toy(folder)
    for rows in ("1000000000", str(MAX_SAMPLE_ROWS + 1)):
        assert_user_error(*_synth(data, schema, folder / "o.csv", "-n", rows), "above the limit")
    code, out = invoke("schema", "infer", data, "--bins", "1000000000", "-o", folder / "s.json")
    assert_user_error(code, out, "above the limit")
    column = {"a": {"type": "float", "lower": 0, "upper": 9, "bins": 1000000000}}
    data, bad = _bad_schema(folder, column)
    assert_user_error(*_synth(data, bad, folder / "o.csv"), "above the limit")
    with pytest.raises(InputError, match="above the limit"):
        Schema.from_pgm_domain({"a": 10**12})
    assert not (folder / "o.csv").exists() and not (folder / "s.json").exists()


# -- partial outputs -----------------------------------------------------------------------------
def test_case11_manifest_path_is_a_folder(folder: Path) -> None:
    data, schema = toy(folder)
    (folder / "o.csv.manifest.json").mkdir()
    assert_user_error(*_synth(data, schema, folder / "o.csv"), "is a folder")
    assert not (folder / "o.csv").exists()
    assert_clean(folder)


@pytest.mark.slow
def test_case11_full_disk_in_certify_leaves_nothing(
    folder: Path, monkeypatch: pytest.MonkeyPatch, adult: pd.DataFrame
) -> None:
    import errno

    import reports.gate

    data = folder / "adult.csv"
    adult.sample(1500, random_state=1).to_csv(data, index=False)
    before = digest(folder)
    real = reports.gate.write_text

    def full(path: object, text: str) -> None:
        if str(path).endswith(".html"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, text)

    monkeypatch.setattr(reports.gate, "write_text", full)
    code, out = invoke(
        "certify", data, "-s", ADULT_SCHEMA, "-e", "1", "-m", "independent", "--seed", "1",
        "-o", folder / "cert", "-q",
    )  # fmt: skip
    assert_user_error(code, out, "No space left on device", "free some space")
    assert not (folder / "cert").exists()
    assert digest(folder) == before
    assert_clean(folder)


def test_case11_outputs_follow_the_umask(folder: Path) -> None:
    data, schema = toy(folder)
    old = os.umask(0o027)
    try:
        assert _synth(data, schema, folder / "o.csv")[0] == 0
    finally:
        os.umask(old)
    for name in ("o.csv", "o.csv.manifest.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o640, name


# -- exit codes ----------------------------------------------------------------------------------
def test_case12_header_names_equal_after_trimming(folder: Path) -> None:
    data, schema = toy(folder, csv="a, a \n1,2\n")
    assert_user_error(*invoke("schema", "check", data, "-s", schema), "duplicate column names")
    assert_user_error(*invoke("schema", "infer", data, "-o", folder / "s.json"), "after trimming")


@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity", "1e400"])
def test_case12_infinite_numbers(folder: Path, text: str, no_audit: None) -> None:
    data, schema = toy(folder, csv=f"a,b\n1,x\n{text},y\n")
    before = digest(folder)
    code, out = invoke("schema", "infer", data, "-o", folder / "s.json")
    assert_user_error(code, out, "column 'a'", "data row 2", "not a finite number")
    assert "np.float64" not in out
    code, out = invoke("audit", "-t", data, "-H", data, "-S", data, "--json", folder / "r.json")
    assert_user_error(code, out, "not a finite number")
    assert digest(folder) == before


def test_case12_stray_text_in_a_numeric_column(folder: Path) -> None:
    # found when the audit prepares its tables (before any attack), nothing written
    rows = "".join(f"{i},{'xy'[i % 2]}\n" for i in range(40))
    clean, _ = toy(folder, csv="a,b\n" + rows)
    stray = folder / "stray.csv"
    stray.write_text("a,b\n" + rows.replace("17,y", "seventeen,y"))
    before = digest(folder)
    # in the synthetic table: the audit's types come from the training table
    code, out = invoke("audit", "-t", clean, "-H", clean, "-S", stray, "--json", folder / "r.json")
    assert_user_error(code, out, "column 'a'", "synthetic", "data row 18", "not numeric")
    # in the training table: not silently audited as labels
    code, out = invoke("audit", "-t", stray, "-H", clean, "-S", clean, "--json", folder / "r.json")
    assert_user_error(code, out, "column 'a'", "train", "data row 18", "categorical in the schema")
    assert "seventeen" not in out  # a table's values are never echoed
    assert digest(folder) == before


def test_case12_schema_not_utf8(folder: Path) -> None:
    data, schema = toy(folder)
    schema.write_bytes(b'{"columns": {"a": {"type": "categorical", "categories": ["\xff"]}}}')
    assert_user_error(*invoke("schema", "check", data, "-s", schema), "not UTF-8")


def test_case12_schema_infer_notes_numbers_with_stray_text(folder: Path) -> None:
    # the draft stays categorical (it reads the data as it is) but says why, in the file and
    # on the terminal, with no figure or value from the data; the DuckDB profile agrees
    from privsynth.engines.profile import infer_schema_file
    from privsynth.schema_infer import infer_schema

    rows = [f"{i % 90},{'xy'[i % 2]}" for i in range(400)]
    rows[17] = "seventeen,y"
    data = folder / "t.csv"
    data.write_text("a,b\n" + "\n".join(rows) + "\n")
    code, out = invoke("schema", "infer", data, "-o", folder / "s.json")
    assert code == 0, out
    assert "column 'a': at least 95% of the rows are numbers but some" in " ".join(out.split())
    assert "99.8" not in out and "399" not in out
    assert "seventeen" not in out.replace(str(folder), "")
    spec = json.loads((folder / "s.json").read_text())["columns"]["a"]
    assert spec["type"] == "categorical" and "infer again" in spec["note"]
    assert infer_schema_file(str(data)).to_json() == infer_schema(read_table(data)).to_json()
    assert "note" not in json.loads((folder / "s.json").read_text())["columns"]["b"]


def test_case12_table_not_utf8(folder: Path) -> None:
    # Latin-1 text (0xe9 for an e with an accent): one line saying how to fix it, no codec dump
    data, schema = toy(folder)
    data.write_bytes(b"a,b\n" + b"".join(b"%d,caf\xe9\n" % (i % 10) for i in range(40)))
    code, out = invoke("schema", "check", data, "-s", schema)
    assert_user_error(code, out, "not UTF-8 text", "save it as UTF-8")
    assert "codec" not in out and "0xe9" not in out


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_case12_other_separator_is_named(folder: Path, sep: str) -> None:
    data, schema = toy(folder)
    data.write_text(f"a{sep}b\n" + "".join(f"{i % 10}{sep}{'xy'[i % 2]}\n" for i in range(40)))
    code, out = invoke("schema", "check", data, "-s", schema)
    assert_user_error(code, out, "header is one column", "comma-separated")
    with pytest.raises(InputError, match="looks separated by"):
        read_table(data)
    # a one-column table without such a character is still a table
    (folder / "one.csv").write_text("a\n" + "".join(f"{i}\n" for i in range(5)))
    assert read_table(folder / "one.csv").shape == (5, 1)


@pytest.mark.parametrize("value", ["no", "0", 0, 1, None])
def test_case12_nullable_must_be_a_boolean(folder: Path, value: object) -> None:
    column = {"b": {"type": "categorical", "categories": ["x", "y"], "nullable": value}}
    data, schema = _bad_schema(folder, column)
    assert_user_error(*invoke("schema", "check", data, "-s", schema), "'nullable' must be true")


def test_case12_audit_outputs_checked_before_work(folder: Path, no_audit: None) -> None:
    data, _ = toy(folder)
    (folder / "taken.txt").write_text("mine")
    (folder / "adir").mkdir()
    args = ["audit", "-t", data, "-H", data, "-S", data]
    code, out = invoke(*args, "--policy", "standard", "--report", folder / "taken.txt")
    assert_user_error(code, out, "not a folder")
    assert_user_error(*invoke(*args, "--json", folder / "adir"), "is a folder")
    assert (folder / "taken.txt").read_text() == "mine"


def test_case12_report_show_on_a_json_list(folder: Path) -> None:
    (folder / "r.json").write_text("[1, 2]")
    assert_user_error(*invoke("report", "show", folder / "r.json"), "not a privsynth report")
    assert_user_error(*invoke("report", "show", folder), "is a folder")


def test_case12_unknown_target_and_policy_column(folder: Path, no_audit: None) -> None:
    data, _ = toy(folder)
    args = ["audit", "-t", data, "-H", data, "-S", data]
    assert_user_error(*invoke(*args, "--target", "nosuchcol"), "--target 'nosuchcol'")
    assert_user_error(*invoke(*args, "--secret", "nosuchcol"), "no such column")
    policy = folder / "p.toml"
    policy.write_text(
        'format = "privsynth-policy/1"\n[[checks]]\nid = "c"\n'
        'metric = "attribute.nosuchcol.risk"\nmax = 0.5\n'
    )
    assert_user_error(*invoke(*args, "--policy", policy), "'nosuchcol', which is not in the data")


# -- messages ------------------------------------------------------------------------------------
def test_case13_square_brackets_survive(folder: Path) -> None:
    weird = folder / "[bold red]x[/bold red].csv"
    code, out = invoke("schema", "check", weird, "-s", folder / "[report].json")
    assert_user_error(code, out, "[report].json")
    policy = folder / "p.toml"
    policy.write_text('format = "privsynth-policy/1"\n')
    data, _ = toy(folder)
    code, out = invoke("audit", "-t", data, "-H", data, "-S", data, "--policy", policy)
    assert_user_error(code, out, "needs at least one [[checks]] entry")
    data2, schema = toy(folder)
    weird.parent.mkdir()  # the "/" of "[/bold red]" makes a folder
    os.replace(data2, weird)
    code, out = invoke("schema", "check", weird, "-s", schema)
    assert code == 0 and "[boldred]x[/boldred].csv" in "".join(out.split()), out  # wrapped


def test_case13_folder_or_fifo_as_data(folder: Path) -> None:
    _, schema = toy(folder)
    assert_user_error(*invoke("schema", "check", folder, "-s", schema), "not a table file")
    (folder / "d.csv").mkdir()
    assert_user_error(*invoke("schema", "check", folder / "d.csv", "-s", schema), "is a folder")
    os.mkfifo(folder / "f.csv")
    code, out = invoke("schema", "check", folder / "f.csv", "-s", schema)
    assert_user_error(code, out, "not a regular file")


@pytest.mark.slow
def test_case13_quiet_still_prints_the_verdict(folder: Path, adult: pd.DataFrame) -> None:
    rows = adult.sample(1200, random_state=4).reset_index(drop=True)
    train, holdout = folder / "train.csv", folder / "holdout.csv"
    rows.iloc[:600].to_csv(train, index=False)
    rows.iloc[600:].to_csv(holdout, index=False)
    code, out = invoke(
        "audit", "-t", train, "-H", holdout, "-S", train, "-s", ADULT_SCHEMA,
        "--policy", "standard", "--report", folder / "rep", "-q", "-j", "1",
    )  # fmt: skip
    assert code == 1, out
    assert out.strip().splitlines()[-1].startswith("verdict: FAIL"), out
    assert_clean(folder)


def test_case13_pgm_domain_value_message(folder: Path) -> None:
    data = folder / "d.csv"
    data.write_text("a\n0\n1\n7\n")
    domain = folder / "domain.json"
    domain.write_text('{"a": 2}')
    code, out = invoke("schema", "check", data, "-s", domain)
    assert_user_error(code, out, "value '7'", "Private-PGM domain file has codes 0..k-1")
    assert '"other": true' not in out.split("or write a privsynth schema")[0]


# -- found by the fuzz suite ---------------------------------------------------------------------
def test_fuzz_found_dates_outside_the_nanosecond_range_never_wrap(folder: Path) -> None:
    """1595-10-21 wrapped to 2180 through datetime64[ns] (pandas 3 parses it in microseconds)."""
    data = folder / "d.csv"
    data.write_text("a,b\n1595-10-21,0\n2020-01-01,1\n")
    code, out = invoke("schema", "infer", data, "-o", folder / "s.json", "-q")
    assert code == 0 and load_schema(folder / "s.json")["a"].type == "categorical", out
    spec = {
        "a": {"type": "datetime", "format": "%Y-%m-%d", "lower": "1990-01-01"},
        "b": {"type": "integer", "lower": 0, "upper": 1},
    }
    spec["a"]["upper"] = "2030-01-01"
    schema = Schema.from_dict({"columns": spec})
    from privsynth.encoding import encode

    encoded = encode(read_table(data), schema)
    assert encoded.codes[0, 0] == 0  # clipped to the lower bound, not wrapped past the upper one
    spec["a"]["lower"] = "1500-01-01"
    with pytest.raises(SchemaError, match="outside the supported range"):
        Schema.from_dict({"columns": spec})
