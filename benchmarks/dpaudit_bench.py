"""dp-audit benchmark: full audits of privsynth's mechanisms, their bounds against the claims.

For each (method, epsilon): the bundled Adult, 5 categorical columns, 300 rows (a small base; DP
holds for any base), the chosen worst-case canary, every score, ``--runs`` runs per world in
``--jobs`` processes. Writes one JSON record per audit (bounds, ratios, seconds, load) to
``--out`` (JSONL, appended) and prints a Markdown row per audit.

    nice -n 10 python benchmarks/dpaudit_bench.py --methods independent,mst,aim \
        --epsilons 1,4 --runs 1000 --jobs 2 --out benchmarks/results/dpaudit.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from privsynth.dpaudit import AuditConfig, GeneratorSpec, run_audit
from privsynth.dpaudit.conditional import ceiling
from privsynth.encoding import encode
from privsynth.io import EXAMPLE_SCHEMA, EXAMPLE_TABLE, example_path, read_table
from privsynth.schema import Schema, load_schema

COLUMNS = ["workclass", "marital-status", "race", "sex", "relationship"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="independent,mst,aim")
    ap.add_argument("--epsilons", default="1,4")
    ap.add_argument("--delta", type=float, default=1e-5)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--canary", default="empty-cell")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--select-fraction", type=float, default=0.5)
    ap.add_argument("--scores", default="count,density,nn,whitebox")
    ap.add_argument("--store-dir", type=Path, default=None, help="keep run stores (resumable)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/dpaudit.jsonl"))
    args = ap.parse_args()
    table = read_table(example_path(EXAMPLE_TABLE))
    schema = load_schema(example_path(EXAMPLE_SCHEMA))
    sub = Schema([schema[c] for c in COLUMNS])
    codes = encode(table[COLUMNS].iloc[: args.rows], sub).codes
    print(
        "| method | eps | runs/world | eps LB | ratio | mu LB | mu claim | mu ratio | GDP eps ratio "
        "| ceiling ratio | method | s | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for method in args.methods.split(","):
        for eps in (float(e) for e in args.epsilons.split(",")):
            store = None
            if args.store_dir is not None:
                store = args.store_dir / f"{method}-eps{eps:g}-{args.canary}-s{args.seed}.jsonl"
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            report = run_audit(
                GeneratorSpec(method=method, epsilon=eps, delta=args.delta),
                codes,
                sub.domain(),
                canary=args.canary,
                schema=sub,
                config=AuditConfig(
                    runs=args.runs,
                    jobs=args.jobs,
                    seed=args.seed,
                    select_fraction=args.select_fraction,
                    scores=tuple(args.scores.split(",")),
                ),
                store_path=store,
            )
            wall = time.perf_counter() - t0
            doc = report.to_dict()
            doc.pop("run_scores")  # kept in the run store, not in the results file
            doc.update(
                {
                    "wall_s": round(wall, 1),
                    "load_start": load0,
                    "load_end": os.getloadavg()[0],
                    "rows": args.rows,
                    "select_fraction": args.select_fraction,
                }
            )
            e = report.bounds.epsilon
            doc["ceiling"] = ceiling(
                doc["claim"]["mu_gaussian_equivalent"], min(e.n_out, e.n_in), delta=args.delta
            )
            doc["epsilon_method"] = e.method
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a") as fh:
                fh.write(json.dumps(doc) + "\n")
            t = doc["tightness"]
            print(
                f"| {method} | {eps:g} | {args.runs} | {doc['epsilon_lower_bound']:.3f} | "
                f"{t['epsilon']:.2f} | {doc['mu_lower_bound']:.3f} | "
                f"{doc['claim']['mu_gaussian_equivalent']:.3f} | {t['mu']:.2f} | "
                f"{t['gdp_epsilon']:.2f} | {doc['ceiling']['best'] / eps:.2f} | {e.method} | "
                f"{wall:.0f} | {load0:.1f}-{os.getloadavg()[0]:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
