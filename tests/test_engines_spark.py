"""The Spark engine (local mode): the same codes and marginals as numpy, on Adult and on the
generated table with nulls, "other", clipping, "1.5"-style categories and datetimes.

One session for the module (a local SparkSession takes 10-20 s to start). Where pyspark or Java
is missing these tests skip, except in CI (CI=true, or PRIVSYNTH_REQUIRE_SPARK=1 as .ci/run sets),
where that is a failure: .ci/run installs the [spark] extra so that they run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from privsynth.engines import EngineConfig, encode_table
from privsynth.io import EXAMPLE_TABLE, example_path
from tests.test_engines import all_cliques, mixed_frame, mixed_schema

# pyspark 4 warns that it does not fully support pandas 3 and uses a deprecated astype(copy=...);
# the engine only receives integer arrays from Spark (histogram, marginals), checked cell for cell
# below, so both warnings are harmless here
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def _missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'privsynth[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (Spark needs Java 17+)"
    return None


@pytest.fixture(scope="module")
def spark():
    why = _missing()
    if why:
        if os.environ.get("CI") == "true" or os.environ.get("PRIVSYNTH_REQUIRE_SPARK") == "1":
            pytest.fail(f"the Spark tests must run in CI: {why}")
        pytest.skip(why)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("privsynth-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def assert_same(a, b) -> None:
    assert a.domain == b.domain and a.n_rows == b.n_rows and a.notes == b.notes
    assert np.array_equal(a.codes(), b.codes())
    d = len(a.domain)
    cl = all_cliques(a.domain.attrs)[: d + 12] + [a.domain.attrs[:3]]  # one GROUPING SETS query
    ma, mb = a.marginals(cl), b.marginals(cl)
    for c in cl:
        assert np.array_equal(ma[c], mb[c]), c


@pytest.mark.slow
def test_spark_adult_csv_grouping_sets(spark, adult_schema) -> None:
    path = str(example_path(EXAMPLE_TABLE))
    a = encode_table(path, adult_schema, engine="numpy")
    b = encode_table(
        path, adult_schema, engine="spark", config=EngineConfig(max_tuples=0), session=spark
    )
    try:
        assert b.engine == "spark"
        assert_same(a, b)  # every marginal counted by Spark SQL GROUPING SETS
    finally:
        b.close()


@pytest.mark.slow
def test_spark_generated_table_by_name(spark, tmp_path: Path) -> None:
    df = mixed_frame(600, seed=3)
    path = tmp_path / "mixed.parquet"
    df.to_parquet(path, index=False)
    spark.read.parquet(str(path)).createOrReplaceTempView("privsynth_mixed")
    a = encode_table(path, mixed_schema(), engine="numpy")
    b = encode_table("privsynth_mixed", mixed_schema(), engine="spark", session=spark)
    try:
        assert_same(a, b)  # the histogram brought to the driver
    finally:
        b.close()
