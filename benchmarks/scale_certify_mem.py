"""Where ``privsynth certify``'s memory goes, stage by stage (companion of scale_bench.py certify).

Runs ``privsynth certify`` (MST, epsilon 1, ``--seed 0``, ``-j 1``) in this process with each
stage's function wrapped, while a thread samples the resident set size (``/proc/self/statm``)
every 20 ms. Per stage (outermost call only; stages nest: the attacks run inside the report
step): the RSS when it starts and ends and the highest RSS seen while it runs, in MB. The
process's peak (``ru_maxrss``) is given too, so the stage peaks can be checked against it::

    python benchmarks/scale_certify_mem.py .scale-data/adult_1000000.parquet --out-rows 50000
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

from scale_profile import rebind  # benchmarks/ is on the path when run as a script

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parent / "privsynth" / "data" / "adult-schema.json"
STAGES = [
    ("load+encode", "privsynth.pipeline", "load_inputs"),
    ("split", "privsynth.workflows.common", "split_in_engine"),
    ("synthesize", "privsynth.pipeline", "synthesize"),
    ("write release", "privsynth.pipeline", "write_release"),
    ("audit+report", "privsynth.workflows.certification", "audit_report"),
    ("attacks", "privsynth.workflows.common", "run_attacks"),
    ("as_read", "privsynth.workflows.audit", "as_read"),
    ("report: utility", "reports.gate", "compute_utility"),
    ("report: build", "reports.gate", "build_report"),
    ("render", "reports.gate", "render_all"),
    ("datasheet", "reports.datasheet", "render_datasheet"),
]
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


class Sampler(threading.Thread):
    """RSS every ``period`` seconds; ``high`` is the highest since the last ``reset``."""

    def __init__(self, period: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.period, self.high, self.stop = period, 0.0, False
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop:
            now = rss_mb()
            with self.lock:
                self.high = max(self.high, now)
            time.sleep(self.period)


def wrap(name: str, fn, sampler: Sampler, stats: dict, depth: dict):
    @functools.wraps(fn)
    def timed(*args, **kwargs):
        outer = depth.get(name, 0) == 0
        depth[name] = depth.get(name, 0) + 1
        start, t0 = rss_mb(), time.perf_counter()
        # the highest RSS seen inside this stage: the sampler's high-water mark, restarted here
        with sampler.lock:
            before, sampler.high = sampler.high, start
        try:
            return fn(*args, **kwargs)
        finally:
            depth[name] -= 1
            with sampler.lock:
                inside = max(sampler.high, rss_mb())
                sampler.high = max(before, inside)  # enclosing stages keep their own peak
            if outer:
                entry = stats.setdefault(name, {"calls": 0, "peak_mb": 0.0})
                entry["calls"] += 1
                entry["start_mb"] = entry.get("start_mb", round(start, 1))
                entry["end_mb"] = round(rss_mb(), 1)
                entry["peak_mb"] = round(max(entry["peak_mb"], inside), 1)
                entry["wall_s"] = round(entry.get("wall_s", 0.0) + time.perf_counter() - t0, 2)

    return timed


def install(sampler: Sampler, stats: dict) -> None:
    """Wrap each stage's function where it is defined and wherever it was imported by name."""
    depth: dict = {}
    for name, module, attr in STAGES:
        mod = importlib.import_module(module)
        fn = getattr(mod, attr)
        rebind(fn, wrap(name, fn, sampler, stats, depth), ("privsynth", "reports", "attacks"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--out-rows", type=int, default=50_000)
    ap.add_argument("--out", default="/tmp/scale/certify_mem")
    args = ap.parse_args()
    import privsynth.cli.commands  # noqa: F401  (what main() imports first)
    import reports.datasheet  # noqa: F401
    import reports.gate  # noqa: F401
    from privsynth.cli import main as cli_main

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    sampler, stats = Sampler(), {}
    install(sampler, stats)
    sampler.start()
    argv = ["certify", args.data, "-s", str(SCHEMA), "-m", "mst", "-e", "1", "--seed", "0"]
    argv += ["-n", str(args.out_rows), "-j", "1", "-o", str(out), "-q"]
    sys.argv = ["privsynth", *argv]
    load0, w0 = os.getloadavg(), time.perf_counter()
    try:
        cli_main()
    except SystemExit as exc:
        if exc.code not in (0, 1, 3, None):  # PASS, FAIL, INCONCLUSIVE: the run finished
            raise
    sampler.stop = True
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "part": "certify_mem",
                "data": args.data,
                "stages": stats,
                "peak_rss_mb": round(peak, 1),
                "wall_s": round(time.perf_counter() - w0, 1),
                "load_avg_start": load0,
                "load_avg_end": os.getloadavg(),
                "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
    )
    shutil.rmtree(out, ignore_errors=True)
    for extra in (".run-record.private.json", ".certify-record.private.json"):
        Path(str(out) + extra).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
