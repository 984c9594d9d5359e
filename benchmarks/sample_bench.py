#!/usr/bin/env python
"""Benchmark ``privsynth sample`` from a saved Adult model: target 100,000 rows in under 5 s.

Fits AIM (epsilon 1) on the bundled Adult table once and saves the model (``synth --save-model``),
then times, ``--repeats`` times each: the whole command ``privsynth sample M --rows N -o OUT.csv``
(interpreter start, imports, load, calibration, sampling, decoding, CSV write), the same with a
``--where`` condition and with ``--rebalance``, and in-process ``load_model(M).sample(N)``. Every
timing is printed beside the machine's load average (the machine is shared). Results go to
``benchmarks/results/sample_bench.md``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PRIVSYNTH = Path(sys.executable).with_name("privsynth")


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--method", default="aim")
    p.add_argument("--out", type=Path, default=HERE / "results" / "sample_bench.md")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="privsynth-sample-bench-"))
    model = work / "M"
    t_fit = timed([str(PRIVSYNTH), "synth", "--example", "-e", "1", "-m", args.method, "-q",
                   "-o", str(work / "fit.csv"), "--save-model", str(model)])  # fmt: skip
    base = [str(PRIVSYNTH), "sample", str(model), "--rows", str(args.rows), "-q"]
    cases = {
        "sample": [],
        "sample --where": ["--where", 'income == ">50K" and age < 40'],
        "sample --rebalance": ["--rebalance", "race"],
        "sample --edge-cases": ["--edge-cases"],
    }
    rows = []
    for name, extra in cases.items():
        times = [timed([*base, *extra, "-o", str(work / "out.csv")]) for _ in range(args.repeats)]
        rows.append((name, times, os.getloadavg()[0]))
    from privsynth.model_store import load_model

    inproc = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        load_model(model).sample(args.rows, seed=1)
        inproc.append(time.perf_counter() - t0)
    rows.append(("in-process load + sample (no CSV)", inproc, os.getloadavg()[0]))
    lines = [
        f"# privsynth sample: {args.rows:,} rows from a saved Adult {args.method} model",
        "",
        f"- fit + save (`synth --example -e 1 -m {args.method} --save-model`): {t_fit:.1f} s",
        f"- machine: {os.cpu_count()} CPUs, shared; load = 1-minute load average after the case",
        "- target: under 5 s for the whole `privsynth sample` command",
        "",
        "| case | median s | min s | max s | load |",
        "|---|---|---|---|---|",
    ]
    for name, times, load in rows:
        t = np.asarray(times)
        lines.append(
            f"| {name} | {np.median(t):.2f} | {t.min():.2f} | {t.max():.2f} | {load:.1f} |"
        )
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
