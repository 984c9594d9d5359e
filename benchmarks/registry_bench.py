"""Registry overhead per release, the 1,000-release exact cap, and the 8-process race.

    nice -n 10 python benchmarks/registry_bench.py [--releases 1000] [--postgres]

Per release it times what ``synth``/``certify`` add: ``reserve`` (open, check the schema version,
one write transaction) and ``commit`` (open, hash the manifest, store its ledger, one write
transaction) with a manifest of 60 ledger entries, as the commands call them (a fresh connection
each time). Target: under 100 ms per release on SQLite. Then it checks that the stored spends sum
to exactly the cap and races 8 processes for the last budget. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from privsynth.errors import BudgetExceededError
from privsynth.registry import init_registry, open_registry, parse_budget, reserve


def _manifest(folder: Path, entries: int) -> Path:
    path = folder / "synthetic.csv.manifest.json"
    ledger = [
        {"what": f"marginal {i}", "mechanism": "gaussian", "rho": 1e-4, "delta": 0.0, "scale": 3.0}
        for i in range(entries)
    ]
    path.write_text(json.dumps({"method": "aim", "privacy": {"ledger": {"entries": ledger}}}))
    return path


def sequential(url: str, n: int, folder: Path) -> dict[str, Any]:
    step = 2.0**-10
    with open_registry(url) as reg:
        reg.add_source("bench", parse_budget(f"rho={n * step!r}"))
    manifest = _manifest(folder, 60)
    per: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        res = reserve(url, "bench", step, delta=1e-9, epsilon=0.2, kind="synth", method="aim")
        res.commit(manifest, verdict="PASS")
        per.append(time.perf_counter() - t0)
    refused = False
    try:
        reserve(url, "bench", 1e-15, delta=1e-9, epsilon=1e-6)
    except BudgetExceededError:
        refused = True
    with open_registry(url) as reg:
        src = reg.source("bench")
        spends = [r.rho for r in reg.releases("bench")]
    return {
        "releases": n,
        "ms_per_release_median": 1000 * statistics.median(per),
        "ms_per_release_p95": 1000 * sorted(per)[int(0.95 * len(per)) - 1],
        "ms_per_release_max": 1000 * max(per),
        "total_s": sum(per),
        "cap_filled_exactly": src.spent_units == src.cap_units,
        "fsum_of_spends_equals_cap": math.fsum(spends) == n * step,
        "next_release_refused": refused,
    }


def _racer(url: str, barrier: Any, out: Any) -> None:
    barrier.wait(timeout=60)
    try:
        reserve(url, "race", 0.1, delta=1e-9, epsilon=2.0)
        out.put("ok")
    except BudgetExceededError:
        out.put("refused")


def race(url: str, procs: int = 8, affordable: int = 3) -> dict[str, Any]:
    with open_registry(url) as reg:
        reg.add_source("race", parse_budget(f"rho={0.1 * affordable + 0.05!r}"))
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=_racer, args=(url, barrier, out)) for _ in range(procs)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    results = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join()
    return {
        "processes": procs,
        "affordable": affordable,
        "succeeded": results.count("ok"),
        "wall_s": time.perf_counter() - t0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--releases", type=int, default=1000)
    ap.add_argument("--postgres", action="store_true", help="Also on a throwaway PostgreSQL.")
    args = ap.parse_args()
    out: dict[str, Any] = {"load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = str(folder / "bench.db")
        init_registry(url)
        out["sqlite"] = {**sequential(url, args.releases, folder), "race": race(url)}
        if args.postgres:
            from privsynth.registry import pgserver

            with pgserver.running() as server:
                pg = pgserver.fresh_database(server.url, "bench")
                init_registry(pg)
                out["postgresql"] = {**sequential(pg, args.releases, folder), "race": race(pg)}
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
