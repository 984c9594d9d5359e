"""The long fuzz run: the CI fuzz suite (tests/test_fuzz_cli.py) with many more, random examples.

CI runs the same tests derandomized at scale 1 (about 380 examples, ~10 s at load 2, ~60 s at load 20).
This runs them at ``--scale`` times as many examples with hypothesis seeded by ``--seed``, so each
seed explores different inputs and a failure is reproducible from the seed (hypothesis also prints
a ``@reproduce_failure`` blob). Run it under ``nice`` on a shared machine:

    nice -n 10 .venv/bin/python benchmarks/fuzz_long.py --scale 20 --seed 1

Exit status: pytest's (0 when every property held). Prints the examples run and the wall time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=20.0, help="examples x the CI number")
    parser.add_argument("--seed", type=int, default=1, help="hypothesis seed")
    parser.add_argument("-k", default=None, help="pytest -k expression (a subset of tests)")
    parser.add_argument("--console", action="store_true", help="also the console-script tests")
    args = parser.parse_args(argv)
    env = dict(os.environ, PRIVSYNTH_FUZZ_SCALE=str(args.scale), PRIVSYNTH_FUZZ_RANDOM="1")
    files = ["tests/test_fuzz_cli.py"] + (["tests/test_fuzz_console.py"] if args.console else [])
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files]
    cmd += [f"--hypothesis-seed={args.seed}", "--hypothesis-show-statistics"]
    if args.k:
        cmd += ["-k", args.k]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    load = os.getloadavg()[0]
    print(f"fuzz_long: scale {args.scale:g}, seed {args.seed}: exit {proc.returncode}, ")
    print(f"  {wall:.0f} s wall, load average {load:.1f}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
