"""Schema constraints: parsing, validation at load, evaluation on real rows and on model cells."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privsynth.constraints import RuleSyntaxError, parse_rule
from privsynth.encoding import encode
from privsynth.errors import SchemaError
from privsynth.io import example_path
from privsynth.schema import Schema, load_schema

RULES = [
    'marital-status == "Never-married" or age >= 18',
    {"name": "doctor-age", "rule": 'education == "Doctorate" implies age >= 24'},
    "capital-gain == 0 or capital-loss == 0",
    'workclass is null or workclass not in ["Never-worked", "Without-pay"]',
    "not (hours-per-week > 80 and age >= 75)",
    "education-num <= 16 and fnlwgt > 0",
]


def _schema(rules: list) -> Schema:
    data = json.loads(example_path("adult-schema.json").read_text())
    data["constraints"] = rules
    return Schema.from_dict(data)


def test_rates_on_real_adult_match_pandas(adult: pd.DataFrame) -> None:
    schema = _schema(RULES)
    got = {r["name"]: r["satisfied"] for r in schema.rules.satisfaction(adult)["rules"]}
    a = adult
    expected = {
        "rule-1": (a["marital-status"] == "Never-married") | (a["age"] >= 18),
        "doctor-age": (a["education"] != "Doctorate") | (a["age"] >= 24),
        "rule-3": (a["capital-gain"] == 0) | (a["capital-loss"] == 0),
        "rule-4": a["workclass"].isna() | ~a["workclass"].isin(["Never-worked", "Without-pay"]),
        "rule-5": ~((a["hours-per-week"] > 80) & (a["age"] >= 75)),
        "rule-6": (a["education-num"] <= 16) & (a["fnlwgt"] > 0),
    }
    for name, mask in expected.items():
        assert got[name] == pytest.approx(mask.mean(), abs=1e-12), name
    assert got["rule-1"] < 1.0  # the bundled Adult has married 17-year-olds


def test_missing_values_make_comparisons_false() -> None:
    schema = _schema(['workclass == "Private"', "workclass is not null"])
    df = pd.DataFrame({"workclass": ["Private", None, "State-gov"]})
    assert schema.rules.check(df).tolist() == [[True, True], [False, False], [False, True]]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("agee >= 18", "unknown column 'agee'"),
        ('age >= "x"', "numeric but is compared with the text"),
        ('marital-status < "Widowed"', "use ==, != or in"),
        ('marital-status == "Nevermarried"', "has no category 'Nevermarried'"),
        ("age > marital-status", "compares 'age' (number) with 'marital-status' (text)"),
        ("3 < 4", "compares two constants"),
        ("age >= 18 and", "syntax error: expected a column or a constant but found the end"),
        ("age >= 18 )", "syntax error: unexpected ')'"),
        ("age ~ 3", "syntax error: unexpected character '~'"),
        ("age in [1, age]", "a list holds constants"),
        ("18 is null", "needs a column on its left"),
    ],
)
def test_bad_rules_fail_at_load_naming_the_rule(tmp_path: Path, rule: str, message: str) -> None:
    data = json.loads(example_path("adult-schema.json").read_text())
    data["constraints"] = [{"name": "my-rule", "rule": rule}]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError) as info:
        load_schema(path)
    text = str(info.value)
    assert "'my-rule'" in text and message in text and "\n" not in text


def test_excluded_column_and_bad_section() -> None:
    data = json.loads(example_path("adult-schema.json").read_text())
    data["columns"]["fnlwgt"] = {"type": "exclude"}
    data["constraints"] = ["fnlwgt > 0"]
    with pytest.raises(SchemaError, match="excluded"):
        Schema.from_dict(data)
    data["constraints"] = {"a": "age > 1"}
    with pytest.raises(SchemaError, match="must be a list"):
        Schema.from_dict(data)


def test_parser_precedence_and_no_eval() -> None:
    tree = parse_rule("a == 1 or b == 2 and not c == 3 implies d < 4")
    assert tree.op == "implies" and tree.args[0].op == "or"
    with pytest.raises(RuleSyntaxError):
        parse_rule("__import__('os').system('true')")


def test_round_trip_and_hash(adult_schema: Schema, tmp_path: Path) -> None:
    schema = _schema(RULES)
    path = tmp_path / "s.json"
    path.write_text(schema.to_json())
    again = load_schema(path)
    assert again.to_dict() == schema.to_dict() and again.hash() == schema.hash()
    assert schema.hash() != adult_schema.hash()
    assert _schema([]).hash() == adult_schema.hash()  # no rules: the old hash


def test_cell_feasibility_is_sound_on_every_real_row(adult: pd.DataFrame) -> None:
    """A row that satisfies a rule always lies in a cell the rule marks feasible (no false zero),
    and some cells are zeroed (the rule has teeth)."""
    schema = _schema(RULES)
    codes = encode(adult, schema).codes
    dom = schema.domain()
    ok = schema.rules.check(adult)
    zeroed_any = False
    for j, rule in enumerate(schema.rules):
        attrs = dom.canonical(rule.columns)
        mask = schema.rules.feasible_cells(rule, attrs, [dom[a] for a in attrs])
        idx = tuple(codes[:, dom.attrs.index(a)] for a in attrs)
        assert mask[idx][ok[:, j]].all(), rule.name
        zeroed_any |= not mask.all()
    assert zeroed_any


def test_binned_cells_stay_feasible_when_only_part_of_a_bin_fits() -> None:
    schema = _schema(["fnlwgt > 60000"])  # 30 bins of 50,000: the bin [50000, 100000) straddles
    rule = schema.rules.rules[0]
    mask = schema.rules.feasible_cells(rule, ("fnlwgt",), [schema.domain()["fnlwgt"]])
    edges = schema["fnlwgt"].bin_edges()
    straddle = int(np.searchsorted(edges, 60000, side="right") - 1)
    assert mask[straddle] and not mask[:straddle].any() and mask[straddle:].all()


def test_cross_column_date_order_on_rows_and_cells() -> None:
    cols = {
        name: {"type": "datetime", "format": "%Y-%m-%d", "lower": "2020-01-01",
               "upper": "2020-12-31", "bins": 12}
        for name in ("start", "end")
    }  # fmt: skip
    schema = Schema.from_dict(
        {"columns": cols, "constraints": ["start <= end", 'end >= "2020-03-01"']}
    )
    df = pd.DataFrame(
        {
            "start": ["2020-01-05", "2020-06-01", None],
            "end": ["2020-04-01", "2020-05-01", "2020-07-01"],
        }
    )
    assert schema.rules.check(df).tolist() == [[True, True], [False, True], [False, True]]
    rule = schema.rules.rules[0]
    n = schema.domain()["start"]
    mask = schema.rules.feasible_cells(rule, ("start", "end"), [n, n])
    # a start bin after an end bin is impossible; the same bin (overlap) stays possible
    assert not mask[5, 2] and mask[2, 2] and mask[2, 5]
    with pytest.raises(SchemaError, match="does not match format"):
        Schema.from_dict({"columns": cols, "constraints": ['start > "01/02/2020"']})
