"""Check that a change leaves audit results identical: write full audit JSON (details included)
for the attacks_bench triple and catalogue scenarios, then compare two such folders field by
field, timings aside.

    # before: a worktree of the old commit on PYTHONPATH; after: this checkout
    PYTHONPATH=/tmp/old python benchmarks/audit_identity.py run OUT_BEFORE --root /tmp/old \
        --scenarios fresh,copies_0.3pct,rare_class_attr --seeds 0,1 [--bench-triple DIR]
    python benchmarks/audit_identity.py run OUT_AFTER --scenarios ... --seeds 0,1
    python benchmarks/audit_identity.py compare OUT_BEFORE OUT_AFTER

``--bench-triple DIR`` also audits DIR/{train,holdout,synthetic}.parquet (the tables
``attacks_bench.py`` writes) with the bench's settings (seed 0, one thread, no declared QIs).
``compare`` exits 1 when any file differs and lists the first differing fields.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

TIMING = frozenset({"seconds", "prepare_seconds", "search_seconds"})


def _audits(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(args.root).resolve()))
    import pandas as pd

    from attacks import run_audit
    from benchmarks.leak_catalogue import QI, make

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, Any]] = []
    if args.bench_triple:
        tables = [pd.read_parquet(Path(args.bench_triple) / f"{t}.parquet") for t in TABLES]
        jobs.append(("bench", lambda: run_audit(*tables, seed=0, n_jobs=1)))
    for name in filter(None, args.scenarios.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):

            def one(name: str = name, seed: int = seed) -> Any:
                s, syn = make(name, seed, "adult", args.n_real)
                return run_audit(s.train, s.holdout, syn, seed=seed, n_jobs=1, qi=list(QI))

            jobs.append((f"{name}_{seed}", one))
    for label, job in jobs:
        c0 = time.process_time()
        res = job()
        (out / f"{label}.json").write_text(json.dumps(res.to_dict(), sort_keys=True, default=str))
        print(f"{label}: {time.process_time() - c0:.2f} s CPU", flush=True)


TABLES = ("train", "holdout", "synthetic")


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two JSON values differ (dict keys in ``TIMING`` skipped; NaN equals NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b)):
            if k in TIMING:
                continue
            if k not in a or k not in b:
                out.append(f"{path}/{k}: missing on one side")
            else:
                out += differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: lengths {len(a)} vs {len(b)}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{path}[{i}]")]
    same = a == b or (a != a and b != b)  # NaN
    return [] if same else [f"{path}: {a!r} vs {b!r}"]


def _compare(args: argparse.Namespace) -> None:
    left, right = Path(args.before), Path(args.after)
    bad = 0
    for f in sorted(left.glob("*.json")):
        other = right / f.name
        if not other.exists():
            print(f"{f.name}: missing in {right}")
            bad += 1
            continue
        diff = differences(json.loads(f.read_text()), json.loads(other.read_text()))
        print(f"{f.name}: {len(diff)} differences")
        for d in diff[:20]:
            print(f"  {d}")
        bad += bool(diff)
    sys.exit(1 if bad else 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("out")
    r.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    r.add_argument("--scenarios", default="fresh,copies_0.3pct,rare_class_attr")
    r.add_argument("--seeds", default="0,1")
    r.add_argument("--n-real", type=int, default=16_000)
    r.add_argument("--bench-triple", help="folder with the bench's train/holdout/synthetic.parquet")
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    args = ap.parse_args()
    _audits(args) if args.cmd == "run" else _compare(args)


if __name__ == "__main__":
    main()
