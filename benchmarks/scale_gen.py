"""Generate large tables for benchmarks/scale_bench.py: Adult resampled with jittered numbers.

Rows are drawn with replacement from the bundled Adult table (as io.read_table reads it, trimmed);
age, hours-per-week and education-num move by a small integer, fnlwgt and non-zero capital
gains/losses by a log-normal factor, so the numbers are not just copies. Written as Parquet in
row groups of ``chunk`` rows (memory stays at one chunk). Never committed: write under /tmp.

    python benchmarks/scale_gen.py 10000000 /tmp/scale/adult_10m.parquet
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from privsynth.io import EXAMPLE_TABLE, example_path, read_table


def jittered_chunk(base: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    df = base.iloc[rng.integers(0, len(base), size=n)].reset_index(drop=True)
    for col, lo, hi, step in (
        ("age", 17, 90, 2),
        ("hours-per-week", 1, 99, 3),
        ("education-num", 1, 16, 0),
    ):
        if step:
            df[col] = np.clip(df[col].to_numpy() + rng.integers(-step, step + 1, size=n), lo, hi)
    df["fnlwgt"] = np.rint(df["fnlwgt"].to_numpy() * rng.lognormal(0.0, 0.1, size=n)).astype(
        np.int64
    )
    for col in ("capital-gain", "capital-loss"):
        x = df[col].to_numpy()
        df[col] = np.where(x > 0, np.rint(x * rng.lognormal(0.0, 0.05, size=n)), 0).astype(np.int64)
    return df


def generate(n_rows: int, path: str | Path, *, seed: int = 0, chunk: int = 1_000_000) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = read_table(example_path(EXAMPLE_TABLE))
    rng = np.random.default_rng(seed)
    writer = None
    done = 0
    try:
        while done < n_rows:
            m = min(chunk, n_rows - done)
            table = pa.Table.from_pandas(jittered_chunk(base, m, rng), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            done += m
    finally:
        if writer is not None:
            writer.close()
    return path


if __name__ == "__main__":
    generate(int(sys.argv[1]), sys.argv[2])
