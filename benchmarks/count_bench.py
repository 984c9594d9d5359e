#!/usr/bin/env python
"""Marginal counting, numpy against DuckDB, side by side on the same table (issue 12 target).

Target: DuckDB counts within 2x of the numpy path at 1M rows, and faster above 5M rows.

For each row count, the generated table (``benchmarks/scale_gen.py``: Adult resampled with
jittered numbers, Parquet under ``/tmp/scale``) is encoded once in DuckDB. Then, in one process:

- ``numpy``: the codes matrix the numpy engine would hold (``DuckDBTable.codes()``, identical to
  ``encode(read_table(...))``'s codes by tests/test_engines.py; read out of DuckDB so that 10M
  rows need no pandas copy) in a :class:`privsynth.marginals.CodesOracle`; the marginals are its
  bincounts. Its encode time (pandas) is not part of counting and is not measured here;
- ``duckdb local``: ``encode_table(..., engine="duckdb")`` (the scan and the histogram of
  distinct code tuples, timed as ``encode_s``) then the marginals from the histogram in memory;
- ``duckdb grouping-sets``: the same with ``max_tuples=0``: every batch of cliques is a GROUPING
  SETS query over the histogram inside DuckDB.

Counted: all 1- and 2-way marginals of the 15 Adult columns (120 cliques) and 20 3-way ones,
each engine on a fresh table (no cache). The marginals of every engine are checked equal.
``counting_s`` is the marginals call; ``total_s`` adds the encode (the histogram is the
counting's first pass). CPU seconds of the process are given beside wall seconds (the machine
is shared: the load average is recorded with every row).

    nice -n 10 python benchmarks/count_bench.py --rows 1000000 5000000 10000000

Appends to ``benchmarks/results/count_bench.jsonl`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from privsynth.engines import EngineConfig, encode_table  # noqa: E402
from privsynth.marginals import CodesOracle  # noqa: E402
from privsynth.schema import load_schema  # noqa: E402

RESULTS = HERE / "results" / "count_bench.jsonl"
DATA = Path("/tmp/scale")
SCHEMA = HERE.parent / "privsynth" / "data" / "adult-schema.json"


def table(rows: int) -> Path:
    path = DATA / f"adult_{rows}.parquet"
    if not path.exists():
        from scale_gen import generate

        generate(rows, path)
    return path


def cliques(attrs: list[str]) -> list[tuple[str, ...]]:
    two = [(a,) for a in attrs] + list(itertools.combinations(attrs, 2))
    return two + list(itertools.combinations(attrs, 3))[:: max(1, 455 // 20)][:20]


def timed(fn):  # noqa: ANN001, ANN201
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def run(rows: int, threads: int | None) -> list[dict]:
    path, schema = table(rows), load_schema(SCHEMA)
    qs = cliques(list(schema.domain().attrs))
    out, ref = [], None
    for mode, max_tuples in (("duckdb local", None), ("duckdb grouping-sets", 0), ("numpy", None)):
        cfg = EngineConfig(threads=threads, **({} if max_tuples is None else {"max_tuples": 0}))
        enc, e_wall, e_cpu = timed(lambda cfg=cfg: encode_table(str(path), schema, engine="duckdb",
                                                                config=cfg))  # fmt: skip
        if mode == "numpy":
            codes = enc.codes()
            enc.close()
            enc, e_wall, e_cpu = CodesOracle(codes, schema.domain()), 0.0, 0.0
            del codes
        got, m_wall, m_cpu = timed(lambda enc=enc: enc.marginals(qs))
        ref = ref or got
        same = all(np.array_equal(got[c], ref[c]) for c in qs)
        tuples = getattr(getattr(enc, "_local", None), "n_tuples", None)
        if hasattr(enc, "close"):
            enc.close()
        out.append(
            {
                "rows": rows, "mode": mode, "cliques": len(qs), "threads": threads,
                "encode_s": round(e_wall, 2), "encode_cpu_s": round(e_cpu, 2),
                "counting_s": round(m_wall, 3), "counting_cpu_s": round(m_cpu, 3),
                "total_s": round(e_wall + m_wall, 2), "histogram_rows": tuples,
                "identical": same, "load_avg": [round(x, 1) for x in os.getloadavg()],
                "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )  # fmt: skip
        print(json.dumps(out[-1]), flush=True)
    return out


def render(rows: list[dict]) -> str:
    lines = [
        "| rows | path | encode (wall / CPU s) | counting (wall / CPU s) | vs numpy (wall) "
        "| histogram rows | identical | load (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = next(x for x in rows if x["rows"] == r["rows"] and x["mode"] == "numpy")
        ratio = r["counting_s"] / max(base["counting_s"], 1e-9)
        lines.append(
            f"| {r['rows']:,} | {r['mode']} | {r['encode_s']} / {r['encode_cpu_s']} | "
            f"{r['counting_s']} / {r['counting_cpu_s']} | {ratio:.2f}x | "
            f"{r['histogram_rows'] or ''} | {r['identical']} | {r['load_avg'][0]} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads (2: the box's cores)")
    args = ap.parse_args()
    rows = [r for n in args.rows for r in run(n, args.threads)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
