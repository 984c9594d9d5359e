#!/usr/bin/env python3
"""A simple NON-private generator, to show how ``privsynth dp-audit`` audits an external tool.

It reads a CSV (``--in``) and writes ``--rows`` synthetic rows (default: as many as the input) to
``--out``. Two modes:

- ``marginals`` (default): every column sampled independently from its exact empirical frequencies.
  It looks harmless (no row is copied) but has no noise: a rare value of one person shows up in the
  output whenever that person is in the input.
- ``copy``: every output row is a copy of a random input row (a bootstrap), the extreme of
  memorisation.

Standard library only, so each run starts fast. Usage:

    python naive_generator.py --in train.csv --out synth.csv [--mode copy] [--seed 3]
"""

from __future__ import annotations

import argparse
import csv
import random


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", choices=("marginals", "copy"), default="marginals")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with open(args.inp, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    n = args.rows or len(rows)
    if args.mode == "copy":
        out = [rng.choice(rows) for _ in range(n)]
    else:
        cols = list(zip(*rows, strict=True))
        sampled = [rng.choices(col, k=n) for col in cols]
        out = [list(r) for r in zip(*sampled, strict=True)]
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(out)


if __name__ == "__main__":
    main()
