"""Where a ``privsynth synth`` run spends its time, phase by phase (companion of scale_bench.py).

Runs the CLI in this process with each phase's function wrapped by a timer (no profiler, so no
profiling overhead): wall seconds and process CPU seconds (all threads: DuckDB's workers count)
per phase. On a shared machine the CPU figures are the stable ones; the wall figures carry the
load (given beside them). Phases nest: counting happens inside selection and estimation inside
nothing else.

    python benchmarks/scale_profile.py /tmp/scale/adult_2000000.parquet --engine duckdb -m mst

Phases (the function timed):

- ``import``: importing the CLI and the commands (everything before the command runs);
- ``read+encode``: ``pipeline.load_inputs`` (numpy: read_table + encode; SQL engines: the scan,
  the histogram, the checks, bringing the histogram into memory);
- ``counting``: ``marginals.marginals`` (every exact count the synthesizer asked for);
- ``estimation``: ``model.estimation.estimate`` (fitting the graphical model);
- ``selection``: scoring the candidates (``workload.l1_errors``, MST's tree and AIM's rounds; it
  includes the counting it asks for);
- ``sampling``: ``Synthesizer.sample``;
- ``writing``: ``pipeline.write_release``;
- ``total``: the whole run.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parent / "privsynth" / "data" / "adult-schema.json"
PHASES = {
    "read+encode": ("privsynth.pipeline", "load_inputs"),
    "counting": ("privsynth.marginals", "marginals"),
    "estimation": ("privsynth.model.estimation", "estimate"),
    "selection": ("privsynth.synthesizers.workload", "l1_errors"),
    "sampling": ("privsynth.synthesizers.base", "Synthesizer.sample"),
    "writing": ("privsynth.pipeline", "write_release"),
}


class Clock:
    """Accumulated wall and CPU seconds per phase (re-entrant calls counted once)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.depth: dict[str, int] = {}

    def wrap(self, phase: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            outer = self.depth.get(phase, 0) == 0
            self.depth[phase] = self.depth.get(phase, 0) + 1
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.depth[phase] -= 1
                if outer:
                    self.wall[phase] = self.wall.get(phase, 0.0) + time.perf_counter() - w0
                    self.cpu[phase] = self.cpu.get(phase, 0.0) + time.process_time() - c0

        return timed


def install(clock: Clock) -> None:
    """Wrap each phase's function where it is defined and wherever it was imported by name."""
    for phase, (module, name) in PHASES.items():
        mod = importlib.import_module(module)
        owner, _, attr = name.rpartition(".")
        if owner:
            cls = getattr(mod, owner)
            setattr(cls, attr, clock.wrap(phase, getattr(cls, attr)))
            continue
        fn = getattr(mod, attr)
        rebind(fn, clock.wrap(phase, fn), ("privsynth",))


def rebind(fn, new, prefixes: tuple[str, ...]) -> None:
    """Replace ``fn`` by ``new`` in every loaded module under ``prefixes`` that holds it by name
    (where it is defined and wherever it was imported with ``from ... import``)."""
    for m in list(sys.modules.values()):
        if getattr(m, "__name__", "").startswith(prefixes):
            for key, value in list(vars(m).items()):
                if value is fn:
                    setattr(m, key, new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("-m", "--method", default="mst")
    ap.add_argument("--out-rows", type=int, default=100_000)
    args = ap.parse_args()
    out = Path("/tmp/scale") / f"profile_{args.method}_{args.engine}.parquet"
    argv = ["synth", args.data, "-s", str(SCHEMA), "-e", "1", "-m", args.method, "--seed", "0"]
    argv += ["-n", str(args.out_rows), "--engine", args.engine, "-o", str(out), "-q"]
    if args.engine == "duckdb":
        argv += ["--memory-limit", "1GB"]
    load0 = os.getloadavg()
    w0, c0 = time.perf_counter(), time.process_time()
    import privsynth.cli.commands  # noqa: F401  (what main() imports first)
    from privsynth.cli import main as cli_main

    imported = (time.perf_counter() - w0, time.process_time() - c0)
    clock = Clock()
    install(clock)
    sys.argv = ["privsynth", *argv]
    try:
        cli_main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    wall = {"import": imported[0], **clock.wall, "total": time.perf_counter() - w0}
    cpu = {"import": imported[1], **clock.cpu, "total": time.process_time() - c0}
    print(
        json.dumps(
            {
                "part": "profile",
                "data": args.data,
                "engine": args.engine,
                "method": args.method,
                "wall_s": {k: round(v, 2) for k, v in wall.items()},
                "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
                "load_avg_start": load0,
                "load_avg_end": os.getloadavg(),
                "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
    )
    out.unlink(missing_ok=True)
    for extra in (".manifest.json", ".run-record.private.json"):
        Path(str(out) + extra).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
