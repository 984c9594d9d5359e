"""Schema files: parsing, validation, Private-PGM domains, hashing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from privsynth.errors import SchemaError
from privsynth.schema import ColumnSpec, Schema, load_schema


def test_bundled_schema_round_trips(adult_schema: Schema, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(adult_schema.to_json())
    again = load_schema(path)
    assert again.to_dict() == adult_schema.to_dict()
    assert again.hash() == adult_schema.hash()
    assert again.domain() == adult_schema.domain()


def test_pgm_domain_file(adult_pgm_schema: Schema) -> None:
    dom = adult_pgm_schema.domain()
    assert dom["age"] == 85 and dom["income>50K"] == 2
    assert adult_pgm_schema["age"].categories == list(range(85))


def test_integer_bins_one_per_value_when_they_fit() -> None:
    spec = ColumnSpec("x", "integer", lower=1, upper=16, bins=32)
    assert spec.n_values() == 16
    spec = ColumnSpec("x", "integer", lower=0, upper=999, bins=10)
    edges = spec.bin_edges()
    assert spec.n_values() == 10 and edges[0] == 0 and edges[-1] == 1000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"columns": {"a": {"type": "bogus"}}}, "unknown type"),
        ({"columns": {"a": {"type": "integer", "lower": 0}}}, "needs public 'lower' and 'upper'"),
        ({"columns": {"a": {"type": "integer", "lower": 5, "upper": 1}}}, "lower <= upper"),
        ({"columns": {"a": {"type": "categorical", "categories": []}}}, "non-empty"),
        (
            {"columns": {"a": {"type": "categorical", "categories": ["x"], "colour": 1}}},
            "unknown keys",
        ),
        ({"columns": {"a": {"type": "exclude"}}}, "nothing to synthesize"),
        (
            {"columns": {"a": {"type": "float", "lower": 0, "upper": 1, "bins": [0, 0.5, 0.4]}}},
            "increasing",
        ),
        (
            {"columns": {"a": {"type": "datetime", "lower": "2020-01-01", "upper": "2021-01-01"}}},
            "format",
        ),
        ({"nonsense": "x"}, "expected a privsynth schema"),
        ({"columns": {"a": {"type": "exclude"}}, "extra": 1}, "unknown top-level keys"),
    ],
)
def test_bad_schemas_are_refused_with_a_reason(data: dict, message: str, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError, match=message):
        load_schema(path)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json")
    with pytest.raises(SchemaError, match="not valid JSON"):
        load_schema(path)


def test_hash_ignores_provenance_but_not_columns(adult_schema: Schema) -> None:
    d = adult_schema.to_dict()
    d["provenance"] = {"source": "elsewhere"}
    assert Schema.from_dict(d).hash() == adult_schema.hash()
    d["columns"]["age"]["upper"] = 91
    assert Schema.from_dict(d).hash() != adult_schema.hash()
