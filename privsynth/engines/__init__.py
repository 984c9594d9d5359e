"""Engines: the one layer that reads private rows (numpy in memory, DuckDB out of core, Spark).

``encode_table(source, schema, engine=...)`` encodes a table under the public schema in an
engine and returns an :class:`EncodedTable`: a marginal oracle (``marginals(cliques)``, exact
int64 counts), the private row count, the operator's notes, and ``close()``. Synthesizers take it
in ``fit`` like a DataFrame and never see a row; every engine gives identical codes and counts
(tests/test_engines*.py), so a seeded run gives the same synthetic table whichever engine counted.

Which engine (``engine="auto"``): a DataFrame is encoded in memory (numpy); a file or glob totalling
at least ``AUTO_DUCKDB_BYTES`` (64 MiB), or any glob, goes to DuckDB; smaller files to numpy.
Spark is never chosen automatically: ask for it (``engine="spark"``). See docs/scaling.md.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import os
from pathlib import Path
from typing import Any

import pandas as pd

from privsynth.engines.base import (
    AUTO_DUCKDB_BYTES,
    ENGINES,
    EncodedTable,
    Engine,
    EngineConfig,
)
from privsynth.engines.keys import category_key, category_keys
from privsynth.errors import InputError
from privsynth.io import sha256_file

__all__ = [
    "AUTO_DUCKDB_BYTES",
    "ENGINES",
    "EncodedTable",
    "Engine",
    "EngineConfig",
    "category_key",
    "category_keys",
    "choose_engine",
    "close_table",
    "encode_table",
    "get_engine",
    "source_sha256",
]


def get_engine(name: str, config: EngineConfig | None = None, **kwargs: Any) -> Engine:
    """The engine called ``name`` ("numpy", "duckdb" or "spark")."""
    config = config or EngineConfig()
    if name == "numpy":
        from privsynth.engines.numpy_engine import NumpyEngine

        return NumpyEngine(config)
    if name == "duckdb":
        from privsynth.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(config)
    if name == "spark":
        from privsynth.engines.spark_engine import SparkEngine

        return SparkEngine(config, **kwargs)
    raise InputError(f"unknown engine {name!r} (use one of {', '.join(ENGINES)})")


def _files(source: str | os.PathLike[str]) -> list[Path]:
    text = os.fspath(source)
    literal = Path(text).is_file() or not globlib.has_magic(text)
    names = [text] if literal else sorted(globlib.glob(text))
    return [Path(n) for n in names if Path(n).is_file()]


def choose_engine(source: Any, engine: str = "auto") -> str:
    """The engine ``auto`` picks for ``source`` (see the module docstring)."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r} (use one of {', '.join(ENGINES)})")
    if engine != "auto":
        return engine
    if isinstance(source, pd.DataFrame):
        return "numpy"
    if isinstance(source, str | os.PathLike):
        # an existing file is that file even if its name has glob characters ("[x].csv")
        if globlib.has_magic(os.fspath(source)) and not Path(source).is_file():
            return "duckdb"
        files = _files(source)
        if files and sum(f.stat().st_size for f in files) >= AUTO_DUCKDB_BYTES:
            return "duckdb"
        return "numpy"
    raise InputError(f"cannot choose an engine for {type(source).__name__}; name one")


def encode_table(
    source: Any,
    schema: Any,
    *,
    engine: str = "auto",
    config: EngineConfig | None = None,
    **kwargs: Any,
) -> EncodedTable:
    """Encode ``source`` (DataFrame, path or glob, Spark table name or DataFrame) in an engine.

    An :class:`EncodedTable` passes through unchanged.
    """
    if isinstance(source, EncodedTable):
        return source
    name = choose_engine(source, engine)
    return get_engine(name, config, **kwargs).encode(source, schema)


def close_table(table: Any) -> None:
    """Release an engine's encoded table (DuckDB's files, Spark's cache); other objects: nothing."""
    if isinstance(table, EncodedTable):
        table.close()


def source_sha256(source: Any) -> str:
    """SHA-256 of the input for the manifest: of the file, or of the sorted files' hashes (glob).

    A table name (Spark) has no bytes here: its hash is of the text ``table:NAME``.
    """
    files = _files(source) if isinstance(source, str | os.PathLike) else []
    if len(files) == 1 and (Path(source).is_file() or not globlib.has_magic(os.fspath(source))):
        return sha256_file(files[0])
    if files:
        h = hashlib.sha256()
        for f in files:
            h.update(f"{f.name}:{sha256_file(f)}\n".encode())
        return h.hexdigest()
    return hashlib.sha256(f"table:{source}".encode()).hexdigest()
