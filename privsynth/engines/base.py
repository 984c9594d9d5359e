"""The engine protocol: the one place that reads private rows.

Marginal-based synthesis touches the private table in three ways only: encoding its values to
codes under the public schema, counting codes over cliques, and the row count (never released
without a mechanism). An :class:`Engine` does the first and returns an :class:`EncodedTable`, a
:class:`privsynth.marginals.MarginalOracle` that does the other two. Synthesizers, DP schema
inference and the ledger see only the oracle, so they do not know which engine ran; mechanisms
still charge the ledger before any count is released.

Every engine must give the codes ``privsynth.encoding.encode`` gives under the per-value category
key rule (``privsynth.engines.keys``) and the exact counts numpy gives on them; the tests in
``tests/test_engines*.py`` check this cell for cell on every engine.

Privacy: encoding is a per-record map that depends only on the public schema, so a neighbouring
table (one record added or removed) gives neighbouring code tables, and every marginal changes in
one cell by one: the sensitivities in docs/privacy.md hold whichever engine counted. The
encoding notes (clipping and "other" counts) and error messages are for the operator only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from privsynth.domain import Domain
from privsynth.errors import InputError
from privsynth.io import DEFAULT_MISSING
from privsynth.marginals import Clique

ENGINES: tuple[str, ...] = ("auto", "numpy", "duckdb", "spark")
# "auto" uses DuckDB for files (or the total of a glob's files) at least this large, numpy below
AUTO_DUCKDB_BYTES = 64 * 2**20
# the SQL engines fetch the histogram of distinct code tuples when it has at most this many rows
DEFAULT_MAX_TUPLES = 2_000_000
CLIQUES_PER_QUERY = 32


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """How an engine runs (none of it is private or changes a result).

    ``memory_limit`` and ``temp_directory``: DuckDB's buffer limit (e.g. "1GB") and spill folder;
    ``threads``: DuckDB worker threads (None: DuckDB's default, all cores);
    ``spark_master``: a Spark master URL (None: the active session, else local[*]);
    ``max_tuples``: the largest histogram of distinct code tuples a SQL engine brings into memory
    to answer marginals locally (0: never; every batch is then a GROUPING SETS query);
    ``missing``: the missing-value markers (as io.read_table).
    """

    memory_limit: str | None = None
    temp_directory: str | None = None
    threads: int | None = None
    spark_master: str | None = None
    max_tuples: int = DEFAULT_MAX_TUPLES
    missing: tuple[str, ...] = DEFAULT_MISSING

    def __post_init__(self) -> None:
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise InputError(f"threads must be a positive integer, got {self.threads!r}")
        if isinstance(self.max_tuples, bool) or not isinstance(self.max_tuples, int):
            raise InputError(f"max_tuples must be a non-negative integer, got {self.max_tuples!r}")
        if self.max_tuples < 0:
            raise InputError(f"max_tuples must be a non-negative integer, got {self.max_tuples!r}")
        if self.memory_limit is not None and not str(self.memory_limit).strip():
            raise InputError("memory_limit must be a size such as '2GB'")
        object.__setattr__(self, "missing", tuple(str(m) for m in self.missing))


@runtime_checkable
class EncodedTable(Protocol):
    """A private table encoded under a public schema, living in an engine."""

    engine: str

    @property
    def domain(self) -> Domain: ...

    @property
    def n_rows(self) -> int: ...

    @property
    def notes(self) -> list[str]: ...

    def marginals(self, cliques: Sequence[Sequence[str]]) -> dict[Clique, np.ndarray]: ...

    def codes(self) -> np.ndarray:
        """Every row's codes (rows x attributes), for tests and small tables only."""
        ...

    def close(self) -> None: ...


class Engine(Protocol):
    """Encodes a source (a DataFrame, a path or glob, a table name) under a schema."""

    name: str

    def encode(self, source: Any, schema: Any) -> EncodedTable: ...
