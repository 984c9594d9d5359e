"""The cluster engine: Apache Spark (pyspark), the same plan as DuckDB in Spark SQL.

``SparkEngine(config, session=None)`` uses the session given, else the active one (a notebook's),
else builds one for ``config.spark_master`` (default ``local[*]``). A source is a Spark or pandas
DataFrame, a Parquet/CSV path or glob (local or a cluster URL such as ``s3a://``/``hdfs://``), or
a table name in the session's catalog. Spark scans the rows once, encodes them with the SQL plan
and aggregates them into the histogram of distinct code tuples (persisted, memory and disk); the
driver only ever receives the histogram (when small) or the marginals.

Datetimes are parsed with the schema's strftime format translated to Java's pattern letters
(zero-padded fields only) in UTC: the engine sets ``spark.sql.session.timeZone`` to UTC.
"""

from __future__ import annotations

import glob as globlib
import os
import uuid
from typing import Any

import numpy as np
import pandas as pd

from privsynth.engines.base import EngineConfig
from privsynth.engines.plan import Dialect, encode_select
from privsynth.engines.sql import SqlTable, column_kinds, histogram_select
from privsynth.errors import InputError, SchemaError
from privsynth.schema import Schema

SPARK = Dialect(name="spark")
_PATH_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz")


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError as exc:
        raise InputError(
            "the spark engine needs pyspark (and Java 17+): pip install 'privsynth[spark]'"
        ) from exc
    return pyspark.sql


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_path(source: str) -> bool:
    """A path or URL (read as files), rather than a table name in the catalog."""
    lower = source.lower()
    return "://" in source or os.sep in source or lower.endswith(_PATH_SUFFIXES)


class SparkTable(SqlTable):
    """An encoded table as a persisted Spark histogram (unpersisted by ``close``)."""

    engine = "spark"
    _dialect = SPARK

    def __init__(self, spark: Any, frame: Any, schema: Schema, cfg: EngineConfig) -> None:
        self._spark = spark
        tag = uuid.uuid4().hex[:12]
        self._view = f"privsynth_src_{tag}"
        self._hist_name = f"privsynth_hist_{tag}"
        frame.createOrReplaceTempView(self._view)
        self._kinds = column_kinds({n: t for n, t in frame.dtypes}, schema)
        self._markers = cfg.missing
        super().__init__(schema, [], cfg.max_tuples)
        self._maps = self._value_maps(self._view, self._kinds, cfg.missing, SPARK.ident)
        self._encode_sql, self._plans = encode_select(
            SPARK, schema, self._kinds, self._view, cfg.missing, maps=self._maps
        )
        sizes = list(schema.domain().shape)
        try:
            hist = spark.sql(histogram_select(self._encode_sql, self._plans, sizes))
            self._hist_frame = hist.persist(_storage_level())
            self._hist_frame.createOrReplaceTempView(self._hist_name)
            self._load_local()
            self._check()
        except (InputError, SchemaError):
            raise
        except Exception as exc:
            raise InputError(f"spark could not encode the table: {_first_line(exc)}") from exc

    @property
    def _hist_table(self) -> str:
        return self._hist_name

    def _rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self._spark.sql(sql).collect()]

    def _arrays(self, sql: str, columns: list[str]) -> dict[str, np.ndarray]:
        pdf = self._spark.sql(sql).toPandas()
        return {c: pdf[c].to_numpy() for c in columns}

    def _first_row(self, j: int, code: int) -> tuple[int | None, object]:
        with_values, _ = encode_select(
            SPARK,
            self._schema,
            self._kinds,
            self._view,
            self._markers,
            keep_values=True,
            maps=self._maps,
        )
        got = self._rows(f"SELECT v{j} FROM ({with_values}) AS w WHERE c{j} = {code} LIMIT 1")
        return (None, got[0][0]) if got else (None, None)  # Spark rows have no order

    def codes(self) -> np.ndarray:
        cols = [f"c{j}" for j in range(len(self._plans))]
        pdf = self._spark.sql(f"SELECT {', '.join(cols)} FROM ({self._encode_sql}) AS e").toPandas()
        return pdf[cols].to_numpy(dtype=np.int64)

    def close(self) -> None:
        self._hist_frame.unpersist()
        self._spark.catalog.dropTempView(self._hist_name)
        self._spark.catalog.dropTempView(self._view)


def _storage_level() -> Any:
    from pyspark import StorageLevel

    return StorageLevel.MEMORY_AND_DISK


class SparkEngine:
    """Encodes a path, table name or DataFrame with Spark SQL."""

    name = "spark"

    def __init__(self, config: EngineConfig | None = None, session: Any = None) -> None:
        self.config = config or EngineConfig()
        self._session = session

    def session(self) -> Any:
        """The session given, the active one, or a new one for ``spark_master``."""
        sql = _pyspark()
        spark = self._session
        if spark is None and self.config.spark_master is None:
            spark = sql.SparkSession.getActiveSession()
        if spark is None:
            master = self.config.spark_master or "local[*]"
            builder = (
                sql.SparkSession.builder.master(master)
                .appName("privsynth")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
            )
            if master.startswith("local"):  # the default 200 shuffle partitions cost seconds
                builder = builder.config("spark.sql.shuffle.partitions", "4")
            try:
                spark = builder.getOrCreate()
                spark.sparkContext.setLogLevel("ERROR")
            except Exception as exc:
                raise InputError(
                    f"--spark-master {master}: could not start Spark: {_first_line(exc)}"
                ) from exc
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        self._session = spark
        return spark

    def frame(self, source: Any) -> Any:
        """A Spark DataFrame for ``source`` (see the module docstring)."""
        spark = self.session()
        if isinstance(source, pd.DataFrame):
            return spark.createDataFrame(_textual(source))
        if hasattr(source, "createOrReplaceTempView"):
            return source
        text = os.fspath(source)
        if not is_path(text):
            try:
                return spark.table(text)
            except Exception as exc:
                raise InputError(f"{text}: no such table ({_first_line(exc)})") from exc
        if "://" not in text:
            files = sorted(globlib.glob(text)) if globlib.has_magic(text) else [text]
            if not [f for f in files if os.path.exists(f)]:
                raise InputError(f"{text}: no such file")
        lower = text.lower()
        if lower.endswith((".csv", ".csv.gz")):
            return spark.read.csv(text, header=True, inferSchema=False, quote='"', escape='"')
        if lower.endswith((".parquet", ".pq")) or os.path.isdir(text):
            return spark.read.parquet(text)
        raise InputError(f"{text}: unsupported table format (use .parquet, .pq, .csv, .csv.gz)")

    def encode(self, source: Any, schema: Schema) -> SparkTable:
        return SparkTable(self.session(), self.frame(source), schema, self.config)


def _textual(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns as text (NA as None), so Spark infers one type per column."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            s = out[c].astype(object)
            out[c] = s.where(s.isna(), s.astype(str)).where(s.notna(), None)
        elif pd.api.types.is_extension_array_dtype(out[c]):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out
