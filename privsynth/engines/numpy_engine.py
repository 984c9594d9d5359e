"""The in-memory engine: pandas + numpy, today's path, for tables that fit in memory.

Encoding is ``privsynth.encoding.encode`` with categorical cells (and the schema's categories)
first replaced by their per-value keys (``privsynth.engines.keys``), so the match is decided per
cell whatever dtype pandas inferred for the column. Keys are a fixed point of the key function, so
this stays exact when ``encoding.py`` applies the same rule itself.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from privsynth.domain import Domain
from privsynth.encoding import encode
from privsynth.engines.base import EngineConfig
from privsynth.engines.keys import category_key, category_keys
from privsynth.io import read_table
from privsynth.marginals import Clique, CodesOracle
from privsynth.schema import Schema


def keyed_schema(schema: Schema) -> Schema:
    """``schema`` with every category replaced by its key (duplicate keys: a SchemaError)."""
    cols = [
        dataclasses.replace(c, categories=[category_key(v) for v in c.categories or []])
        if c.type == "categorical"
        else c
        for c in schema.columns
    ]
    return Schema(cols, provenance=dict(schema.provenance), warning=schema.warning)


def keyed_frame(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``df`` with each categorical column's cells replaced by their keys (NA stays NA)."""
    out = df.copy(deep=False)
    for spec in schema.synth_columns:
        if spec.type == "categorical" and spec.name in out.columns:
            out[spec.name] = category_keys(out[spec.name])
    return out


class NumpyTable:
    """Codes in memory; marginals by bincount."""

    engine = "numpy"

    def __init__(self, codes: np.ndarray, domain: Domain, notes: list[str]) -> None:
        self._oracle = CodesOracle(codes, domain)
        self._codes = codes
        self._notes = list(notes)

    @property
    def domain(self) -> Domain:
        return self._oracle.domain

    @property
    def n_rows(self) -> int:
        return int(self._codes.shape[0])

    @property
    def notes(self) -> list[str]:
        return list(self._notes)

    def marginals(self, cliques: Sequence[Sequence[str]]) -> dict[Clique, np.ndarray]:
        return self._oracle.marginals(cliques)

    def codes(self) -> np.ndarray:
        return self._codes

    def close(self) -> None:
        """Nothing to release."""


class NumpyEngine:
    """Reads the table into pandas (if given a path) and encodes it in memory."""

    name = "numpy"

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()

    def encode(self, source: Any, schema: Schema) -> NumpyTable:
        if isinstance(source, str | os.PathLike):
            source = read_table(source, missing=self.config.missing)
        if not isinstance(source, pd.DataFrame):
            raise TypeError(f"the numpy engine encodes a DataFrame or a file path, not {source!r}")
        enc = encode(keyed_frame(source, schema), keyed_schema(schema))
        return NumpyTable(enc.codes, enc.domain, enc.notes)
