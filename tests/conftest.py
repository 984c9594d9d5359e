"""Shared fixtures: the bundled Adult example (so tests run for anyone who clones the project)."""

from __future__ import annotations

import pandas as pd
import pytest

from privsynth.io import EXAMPLE_SCHEMA, EXAMPLE_TABLE, example_path, read_table
from privsynth.schema import Schema, load_schema


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    return read_table(example_path(EXAMPLE_TABLE))


@pytest.fixture(scope="session")
def adult_schema() -> Schema:
    return load_schema(example_path(EXAMPLE_SCHEMA))


@pytest.fixture(scope="session")
def adult_pgm() -> pd.DataFrame:
    return pd.read_csv(example_path("adult_pgm.csv.gz"))


@pytest.fixture(scope="session")
def adult_pgm_schema() -> Schema:
    return load_schema(example_path("adult_pgm-domain.json"))
