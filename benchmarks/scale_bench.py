"""Scale benchmark: synthesis and marginal counting per engine on large generated Parquet tables.

Tables are Adult resampled with jittered numbers (``benchmarks/scale_gen.py``), written under
``.scale-data/`` of the checkout (``--data-dir``; never committed: ``.scale-data/`` is ignored;
delete them when done). Two parts, both side by side in one run:

* ``synth``: ``privsynth synth`` as a user runs it (a fresh process per run), per method and
  engine: wall time, the child's CPU seconds and peak RSS (``wait4``), rows/s (input rows / wall
  second). The label ``numpy@baseline`` runs the numpy path of an earlier checkout given by
  ``--baseline`` (e.g. ``git worktree add /tmp/scale/baseline <ref>``), so "today's in-memory
  path" and this tree's engines are measured side by side in one run. Output
  rows are fixed (``--out-rows``) because sampling is post-processing and its memory is the
  output's size, not the input's.
* ``count``: in one process, the exact 1- and 2-way marginals of the table: numpy on codes
  already in memory (bincount) against DuckDB (histogram + in-memory bincount, and GROUPING SETS),
  and Spark local mode; the encode time of each is reported separately.
* ``certify``: ``privsynth certify`` (MST) as a fresh process per checkout (``baseline`` and
  ``this``): wall, CPU seconds, peak RSS and the verdict.
* ``infer``: the non-private schema draft with pandas and with DuckDB (``engines.profile``),
  wall and CPU seconds, and whether the drafts are identical.

    python benchmarks/scale_bench.py synth --rows 2000000 --engines numpy duckdb --methods mst
    python benchmarks/scale_bench.py synth --rows 2000000 --methods mst aim \
        --engines numpy@baseline numpy duckdb --baseline /tmp/scale/baseline
    python benchmarks/scale_bench.py count --rows 1000000 --engines numpy duckdb spark
    python benchmarks/scale_bench.py infer --rows 2000000
    python benchmarks/scale_bench.py certify --rows 1000000 --engines baseline this \
        --baseline /tmp/scale/baseline --out-rows 50000

Results are appended to ``benchmarks/results/scale_bench.jsonl`` with the load average.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "scale_bench.jsonl"
DATA = HERE.parent / ".scale-data"
SCHEMA = HERE.parent / "privsynth" / "data" / "adult-schema.json"


def table(rows: int) -> Path:
    """The generated table with ``rows`` rows (made if absent) under ``DATA`` (``--data-dir``)."""
    path = DATA / f"adult_{rows}.parquet"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from scale_gen import generate

        generate(rows, path)
    return path


def record(entry: dict) -> None:
    entry["load_avg"] = os.getloadavg()
    entry["cpus"] = os.cpu_count()
    entry["utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(entry) + "\n")
    print(json.dumps(entry), flush=True)


def run_synth(path: Path, rows: int, method: str, label: str, args: argparse.Namespace) -> None:
    """One ``privsynth synth`` run; ``label`` "numpy@baseline" runs the numpy path of the code
    checked out at ``--baseline`` (the same interpreter and packages, that tree first on the path)."""
    engine, _, tree = label.partition("@")
    out = DATA / f"synth_{method}_{engine}_{tree}_{rows}.parquet"
    cli = "import sys; from privsynth.cli import main; sys.argv[0] = 'privsynth'; sys.exit(main())"
    cmd = [sys.executable, "-c", cli, "synth", str(path), "-s", str(SCHEMA)]
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = str(Path(args.baseline).resolve())
    cmd += ["-e", str(args.epsilon), "-m", method, "--seed", "0", "-n", str(args.out_rows)]
    if not tree or (Path(args.baseline) / "privsynth" / "engines").exists():
        cmd += ["--engine", engine]  # a checkout from before the engine layer has no --engine
    cmd += ["-o", str(out), "-q"]
    if engine == "duckdb" and args.memory_limit:
        cmd += ["--memory-limit", args.memory_limit]
    if engine == "spark":
        cmd += ["--spark-master", "local[2]"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env, cwd=DATA)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    record(
        {
            "part": "synth",
            "rows": rows,
            "method": method,
            "engine": engine,
            "code": f"baseline {args.baseline_ref}" if tree else "this tree",
            "epsilon": args.epsilon,
            "memory_limit": args.memory_limit if engine == "duckdb" else None,
            "exit": os.waitstatus_to_exitcode(status),
            "wall_s": round(wall, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "rows_per_s": round(rows / wall),
            "error": err.strip().splitlines()[-1] if status and err.strip() else None,
        }
    )
    out.unlink(missing_ok=True)
    Path(str(out) + ".manifest.json").unlink(missing_ok=True)


def run_certify(path: Path, rows: int, label: str, args: argparse.Namespace) -> None:
    """One ``privsynth certify`` (MST, ``--out-rows`` synthetic rows, one attack thread) as a
    fresh process: wall, CPU, peak RSS; ``label`` "baseline" runs the ``--baseline`` checkout."""
    import shutil

    tree = label == "baseline"
    out = DATA / f"certify_{label}_{rows}"
    shutil.rmtree(out, ignore_errors=True)
    cli = "import sys; from privsynth.cli import main; sys.argv[0] = 'privsynth'; sys.exit(main())"
    cmd = [sys.executable, "-c", cli, "certify", str(path), "-s", str(SCHEMA), "-m", "mst"]
    cmd += ["-e", str(args.epsilon), "--seed", "0", "-n", str(args.out_rows), "-j", "1"]
    cmd += ["-o", str(out), "-q"]
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = str(Path(args.baseline).resolve())
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env, cwd=DATA)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    verdict = None
    if (out / "report.json").exists():
        verdict = json.loads((out / "report.json").read_text()).get("verdict")
    record(
        {
            "part": "certify",
            "rows": rows,
            "code": f"baseline {args.baseline_ref}" if tree else "this tree",
            "exit": os.waitstatus_to_exitcode(status),
            "verdict": verdict,
            "wall_s": round(wall, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "error": err.strip().splitlines()[-1] if status and err.strip() else None,
        }
    )
    shutil.rmtree(out, ignore_errors=True)
    for extra in (".run-record.private.json", ".certify-record.private.json"):
        Path(str(out) + extra).unlink(missing_ok=True)


def run_count(path: Path, rows: int, engines: list[str]) -> None:
    from privsynth.engines import EngineConfig, encode_table
    from privsynth.schema import load_schema

    schema = load_schema(SCHEMA)
    attrs = schema.domain().attrs
    cliques = [(a,) for a in attrs] + list(itertools.combinations(attrs, 2))
    for engine in engines:
        modes = [("local", None), ("grouping-sets", 0)] if engine != "numpy" else [("codes", None)]
        for mode, max_tuples in modes:
            cfg = EngineConfig() if max_tuples is None else EngineConfig(max_tuples=max_tuples)
            kwargs = {"spark_master": "local[2]"} if engine == "spark" else {}
            if kwargs:
                cfg = EngineConfig(max_tuples=cfg.max_tuples, spark_master="local[2]")
            t0 = time.perf_counter()
            enc = encode_table(str(path), schema, engine=engine, config=cfg)
            t1 = time.perf_counter()
            enc.marginals(cliques)
            t2 = time.perf_counter()
            local = getattr(enc, "_local", None)
            record(
                {
                    "part": "count",
                    "rows": rows,
                    "engine": engine,
                    "mode": mode,
                    "cliques": len(cliques),
                    "encode_s": round(t1 - t0, 2),
                    "marginals_s": round(t2 - t1, 2),
                    "histogram_rows": None if local is None else int(local.n_tuples),
                }
            )
            enc.close()


def _git_head(tree: str) -> str:
    got = subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True)
    return got.stdout.decode().strip() or "?"


def run_infer(path: Path, rows: int) -> None:
    """The non-private schema draft both ways in one process: pandas (read_table + infer_schema)
    and DuckDB (engines.profile.infer_schema_file); wall and CPU seconds, and whether the two
    drafts are byte-identical."""
    from privsynth.engines.profile import infer_schema_file
    from privsynth.io import read_table
    from privsynth.schema_infer import infer_schema

    drafts = {}
    for way in ("duckdb", "pandas"):
        w0, c0 = time.perf_counter(), time.process_time()
        if way == "pandas":
            drafts[way] = infer_schema(read_table(path)).to_json()
        else:
            drafts[way] = infer_schema_file(path).to_json()
        record(
            {
                "part": "infer",
                "rows": rows,
                "way": way,
                "wall_s": round(time.perf_counter() - w0, 2),
                "cpu_s": round(time.process_time() - c0, 2),
            }
        )
    record({"part": "infer", "rows": rows, "identical": drafts["pandas"] == drafts["duckdb"]})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["synth", "count", "infer", "certify"])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--engines", nargs="+", default=["numpy", "duckdb"])
    ap.add_argument("--methods", nargs="+", default=["mst"])
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--out-rows", type=int, default=100_000)
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=DATA,
        help="where the generated tables live (default .scale-data/ of the checkout)",
    )
    ap.add_argument(
        "--baseline",
        default=None,
        help="a checkout of earlier code (git worktree) for the engine label numpy@baseline",
    )
    args = ap.parse_args()
    args.baseline_ref = _git_head(args.baseline) if args.baseline else None
    globals()["DATA"] = args.data_dir
    for rows in args.rows:
        path = table(rows)
        if args.part == "count":
            run_count(path, rows, args.engines)
            continue
        if args.part == "infer":
            run_infer(path, rows)
            continue
        if args.part == "certify":  # --engines: "baseline" and/or "this"
            for label in args.engines:
                run_certify(path, rows, label, args)
            continue
        for method, engine in itertools.product(args.methods, args.engines):
            run_synth(path, rows, method, engine, args)


if __name__ == "__main__":
    main()
