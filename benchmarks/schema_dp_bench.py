#!/usr/bin/env python
"""Coverage of DP-inferred numeric bounds on raw tables (issue 15, item 7).

For each table and epsilon, ``privsynth.schema_dp.infer_schema_dp`` runs once per seed (seeded
noise: reproducible, NOT FOR RELEASE, fine for a measurement) and, for every numeric column, the
share of the real values inside the released bounds is MEASURED on the data. The target is a
coverage >= 99% for every numeric column. Writes ``benchmarks/results/schema_dp_<tag>.md/.json``.

    python benchmarks/schema_dp_bench.py --seeds 20
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from privsynth.io import read_table  # noqa: E402
from privsynth.schema_dp import infer_schema_dp  # noqa: E402

CASES = (("titanic_raw.csv", 0.5), ("adult.csv", 0.1))
TARGET = 0.99


def measure(path: Path, epsilon: float, seeds: int) -> list[dict]:
    df = read_table(path)
    rows = []
    for seed in range(seeds):
        t0 = time.perf_counter()
        schema = infer_schema_dp(df, epsilon=epsilon, delta=1e-9, seed=seed)
        secs = time.perf_counter() - t0
        for spec in schema.columns:
            if spec.type not in ("integer", "float"):
                if spec.type == "exclude":
                    rows.append({"column": spec.name, "seed": seed, "type": "exclude"})
                continue
            x = pd.to_numeric(df[spec.name], errors="coerce").dropna().to_numpy(dtype=float)
            cov = float(np.mean((x >= spec.lower) & (x <= spec.upper)))
            rows.append(
                {
                    "column": spec.name,
                    "seed": seed,
                    "type": spec.type,
                    "lower": spec.lower,
                    "upper": spec.upper,
                    "real": [float(x.min()), float(x.max())],
                    "coverage": cov,
                    "warned": "clipped" in spec.note or "LOW COVERAGE" in spec.note,
                    "seconds": secs,
                }
            )
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for col in dict.fromkeys(r["column"] for r in rows):
        rs = [r for r in rows if r["column"] == col]
        if rs[0]["type"] == "exclude":
            out.append({"column": col, "type": "exclude", "runs": len(rs)})
            continue
        cov = np.array([r["coverage"] for r in rs])
        miss = [r for r in rs if r["coverage"] < TARGET]
        out.append(
            {
                "column": col,
                "type": rs[0]["type"],
                "runs": len(rs),
                "real": rs[0]["real"],
                "median_bounds": [
                    float(np.median([r["lower"] for r in rs])),
                    float(np.median([r["upper"] for r in rs])),
                ],
                "median_coverage": float(np.median(cov)),
                "min_coverage": float(cov.min()),
                "share_ok": float(np.mean(cov >= TARGET)),
                "misses_warned": sum(r["warned"] for r in miss),
                "misses": len(miss),
                "false_alarms": sum(r["warned"] for r in rs if r["coverage"] >= TARGET),
            }
        )
    return out


def render(results: dict, info: dict) -> str:
    lines = [
        f"# DP schema bounds: measured coverage — {info['tag']}",
        "",
        f"- {info['seeds']} seeds per case (seeded noise, not for release); delta 1e-9; target: "
        f"bounds hold >= {TARGET:.0%} of the real values of every numeric column",
        f"- machine load (1-min) at the end: {info['load']}; wall time {info['seconds']:.1f} s",
        "",
        "| table | epsilon | column | type | real range | median bounds | median cov. | "
        "min cov. | runs >= 99% | misses warned | warned at >= 99% |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case, summary in results.items():
        name, eps = case.rsplit("@", 1)
        for s in summary:
            if s["type"] == "exclude":
                lines.append(f"| {name} | {eps} | {s['column']!r} | exclude | | | | | | | |")
                continue
            lines.append(
                f"| {name} | {eps} | {s['column']} | {s['type']} | "
                f"{s['real'][0]:g} - {s['real'][1]:g} | "
                f"{s['median_bounds'][0]:g} - {s['median_bounds'][1]:g} | "
                f"{s['median_coverage']:.4f} | {s['min_coverage']:.4f} | "
                f"{s['share_ok']:.0%} | {s['misses_warned']}/{s['misses']} | "
                f"{s['false_alarms']}/{s['runs'] - s['misses']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--data-dir", type=Path, default=HERE.parent.parent / "shared" / "data")
    p.add_argument("--results-dir", type=Path, default=HERE / "results")
    p.add_argument("--tag", default=_dt.date.today().isoformat())
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    results, raw = {}, {}
    for file, eps in CASES:
        rows = measure(args.data_dir / file, eps, args.seeds)
        raw[f"{file}@{eps:g}"] = rows
        results[f"{file}@{eps:g}"] = summarise(rows)
    info = {
        "tag": args.tag,
        "seeds": args.seeds,
        "load": f"{os.getloadavg()[0]:.1f}",
        "seconds": time.perf_counter() - t0,
    }
    md = render(results, info)
    out = args.results_dir / f"schema_dp_{args.tag}"
    out.with_suffix(".md").write_text(md)
    out.with_suffix(".json").write_text(json.dumps({"info": info, "summary": results, "runs": raw}))
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
