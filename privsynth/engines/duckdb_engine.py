"""The embedded out-of-core engine: DuckDB, for Parquet/CSV files or globs larger than memory.

DuckDB scans the file(s) once, encodes every row with the SQL plan and aggregates the encoded rows
into the histogram of distinct code tuples, in a database file of its own under a temporary
folder. ``memory_limit`` bounds DuckDB's buffers (aggregation spills to ``temp_directory`` past
it) and ``threads`` its workers. Python never holds a row: only the histogram (when it has at most
``max_tuples`` rows) or the marginals themselves.
"""

from __future__ import annotations

import glob as globlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privsynth.engines.base import EngineConfig
from privsynth.engines.plan import Dialect, encode_select
from privsynth.engines.sql import SqlTable, column_kinds, histogram_select
from privsynth.errors import InputError
from privsynth.schema import Schema

DUCKDB = Dialect(name="duckdb")


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:  # a base dependency, but say what to do if it is missing
        raise InputError("the duckdb engine needs the duckdb package: pip install duckdb") from exc
    return duckdb


def expand_paths(source: str | os.PathLike[str]) -> list[str]:
    """The files a path or glob names (sorted), with one clear error if there are none."""
    text = os.fspath(source)
    files = sorted(globlib.glob(text)) if globlib.has_magic(text) else [text]
    files = [f for f in files if Path(f).is_file()]
    if not files:
        raise InputError(f"{text}: no such file")
    return files


def table_function(files: list[str]) -> str:
    """DuckDB's reader for Parquet or CSV files (one format per source)."""
    lower = [f.lower() for f in files]
    listed = "[" + ", ".join(DUCKDB.text(f) for f in files) + "]"
    if all(f.endswith((".parquet", ".pq")) for f in lower):
        return f"read_parquet({listed})"
    if all(f.endswith((".csv", ".csv.gz")) for f in lower):
        # every cell as text, as io.read_table; the missing markers are applied by the plan
        return (
            f"read_csv({listed}, all_varchar = true, header = true, delim = ',', quote = '\"', "
            "escape = '\"', nullstr = '\x01')"
        )
    raise InputError(
        f"{files[0]}: unsupported table format (the duckdb engine reads .parquet, .pq, .csv, "
        ".csv.gz; one format per glob)"
    )


class DuckDBTable(SqlTable):
    """An encoded table in a private DuckDB database (removed by ``close``)."""

    engine = "duckdb"
    _dialect = DUCKDB

    def __init__(self, con: Any, folder: str, source: str, schema: Schema, cfg: EngineConfig):
        self._con = con
        self._folder = folder
        self._source = source
        kinds = _kinds(con, source, schema)
        self._kinds = kinds
        self._markers = cfg.missing
        super().__init__(schema, [], cfg.max_tuples)
        self._maps = self._value_maps(source, kinds, cfg.missing, DUCKDB.ident)
        self._encode_sql, plans = encode_select(
            DUCKDB, schema, kinds, source, cfg.missing, maps=self._maps
        )
        self._plans = plans
        try:
            sizes = list(schema.domain().shape)
            con.execute(f"CREATE TABLE hist AS {histogram_select(self._encode_sql, plans, sizes)}")
        except Exception as exc:
            raise InputError(f"duckdb could not read the table: {_first_line(exc)}") from exc
        self._load_local()
        self._check()

    @property
    def _hist_table(self) -> str:
        return "hist"

    def _rows(self, sql: str) -> list[tuple]:
        return self._con.execute(sql).fetchall()

    def _arrays(self, sql: str, columns: list[str]) -> dict[str, np.ndarray]:
        got = self._con.execute(sql).fetchnumpy()
        return {c: np.asarray(got[c]) for c in columns}

    def _first_row(self, j: int, code: int) -> tuple[int | None, object]:
        with_values, _ = encode_select(
            DUCKDB,
            self._schema,
            self._kinds,
            self._source,
            self._markers,
            keep_values=True,
            maps=self._maps,
        )
        sql = (
            f"SELECT r, v{j} FROM (SELECT row_number() OVER () AS r, * FROM ({with_values})) "
            f"WHERE c{j} = {code} ORDER BY r LIMIT 1"
        )
        try:
            got = self._con.execute(sql).fetchall()
        except Exception:  # the row number is a courtesy; the error itself stands
            got = []
        return (int(got[0][0]), got[0][1]) if got else (None, None)

    def codes(self) -> np.ndarray:
        cols = [f"c{j}" for j in range(len(self._plans))]
        got = self._con.execute(f"SELECT {', '.join(cols)} FROM ({self._encode_sql})").fetchnumpy()
        return np.column_stack([np.asarray(got[c], dtype=np.int64) for c in cols])

    def close(self) -> None:
        try:
            self._con.close()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _kinds(con: Any, source: str, schema: Schema) -> dict[str, str]:
    """Each column's kind (text/integer/float/boolean/other), checking columns both ways."""
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except Exception as exc:
        raise InputError(f"duckdb could not read the table: {_first_line(exc)}") from exc
    return column_kinds({str(r[0]): str(r[1]) for r in described}, schema)


class DuckDBEngine:
    """Encodes a Parquet/CSV path or glob, or a DataFrame, in DuckDB."""

    name = "duckdb"

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()

    def connect(self) -> tuple[Any, str]:
        """A connection to a fresh on-disk database with the configured limits."""
        duckdb = _duckdb()
        base = self.config.temp_directory
        if base is not None:
            Path(base).mkdir(parents=True, exist_ok=True)
        folder = tempfile.mkdtemp(prefix="privsynth-duckdb-", dir=base)
        con = duckdb.connect(os.path.join(folder, "encoded.duckdb"))
        con.execute(f"SET temp_directory = {DUCKDB.text(os.path.join(folder, 'spill'))}")
        if self.config.memory_limit is not None:
            try:
                con.execute(f"SET memory_limit = {DUCKDB.text(str(self.config.memory_limit))}")
            except Exception as exc:
                con.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise InputError(
                    f"--memory-limit {self.config.memory_limit!r}: {_first_line(exc)}"
                ) from exc
        if self.config.threads is not None:
            con.execute(f"SET threads = {int(self.config.threads)}")
        con.execute("SET preserve_insertion_order = true")
        return con, folder

    def encode(self, source: Any, schema: Schema) -> DuckDBTable:
        con, folder = self.connect()
        try:
            if isinstance(source, pd.DataFrame):
                con.register("source_frame", _textual(source))
                expr = "source_frame"
            else:
                expr = table_function(expand_paths(source))
            return DuckDBTable(con, folder, expr, schema, self.config)
        except BaseException:
            con.close()
            shutil.rmtree(folder, ignore_errors=True)
            raise


def _textual(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns as text (NA kept), so DuckDB sees one type per column."""
    out = df.copy(deep=False)
    for c in out.columns:
        if out[c].dtype == object:
            s = out[c]
            out[c] = s.where(s.isna(), s.astype(str)).astype(object)
    return out
