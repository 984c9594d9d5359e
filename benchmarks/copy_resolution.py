"""Does the copy check's stated resolution hold? The model of ``reports/resolution.py`` against
the real ``exact-copies`` check, over seeds, at several table sizes.

For each size (``--n-real`` real Adult rows split 80/20, the rest the fresh population of
``benchmarks/leak_catalogue.py``) and each seed, a fresh synthetic sample gets ``m`` training
records planted verbatim, where ``m`` is a share of train (``--shares``). The exact-match attack
runs on the full tables, and the ``standard`` preset's ``exact-copies`` check is evaluated at its
first-step share of the gate's error (the calibration's: the checks that apply only where
supported take none at these sizes; ``benchmarks/gate_power_bound.py:levels``). Per (size, share)
the table gives the FAIL rate observed and the power the model predicts from each seed's own
holdout count (their mean); per size, the resolution the explanation prints on the fresh null
(the median over seeds). The model leaves out the attack's rarity weights and reads the p-value
as its binomial limit, so it should sit at or a little below the observed rate.

Run (about 2 s an audit at 16,000 rows, one core):
    python benchmarks/copy_resolution.py run --n-real 8000,16000 --shares 0.002,0.003,0.005 \\
        --seeds 0-39 --out benchmarks/results/copy_resolution.jsonl
    python benchmarks/copy_resolution.py table benchmarks/results/copy_resolution.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attacks import AuditData, ExactMatchAttack  # noqa: E402
from benchmarks.gate_calibration import seeds  # noqa: E402
from benchmarks.gate_power_bound import GATE_ERROR, levels  # noqa: E402
from benchmarks.leak_catalogue import copies, fresh, leak_count, near_copies, split  # noqa: E402
from reports.policy import load_policy  # noqa: E402
from reports.resolution import copy_detection_power, copy_inputs, copy_resolution  # noqa: E402
from reports.verdict import evaluate_check  # noqa: E402

# --kind: the planted leak, the check that should see it and its level (gate_power_bound.levels)
KINDS = {
    "verbatim": (copies, "exact-copies", "weight-3 check"),
    "near": (near_copies, "near-copies", "weight-1 check"),
}
CHECK = KINDS["verbatim"][1]


def one(n_real: int, seed: int, share: float, level: float, check, kind: str = "verbatim") -> dict:
    """One audit: ``share`` of train planted as ``kind`` copies (0: the fresh null)."""
    s = split(seed, "adult", n_real)
    rng = np.random.default_rng([seed, 11])
    syn = KINDS[kind][0](share)(s, rng) if share else fresh(s, rng)
    m = leak_count(s, share) if share else 0
    data = AuditData.prepare(s.train, s.holdout, syn, seed=seed, n_jobs=1)
    metric = next(
        x for x in ExactMatchAttack.from_data(data).evaluate().metrics if x.name == check.metric
    )
    n_t, n_h, chance = copy_inputs(metric)
    status = evaluate_check(check, metric, share=level / GATE_ERROR).status
    return {
        "kind": kind,
        "n_real": n_real,
        "seed": seed,
        "share": share,
        "m": m,
        "status": status,
        "model_power": copy_detection_power(m, n_t, n_h, chance, level, check.threshold),
        "resolution": copy_resolution(metric, check.threshold, level),
    }


def run(args: argparse.Namespace) -> None:
    _, check_id, weight = KINDS[args.kind]
    check = next(c for c in load_policy("standard").checks if c.id == check_id)
    level = levels()[weight]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as fh:
        for n_real in (int(x) for x in args.n_real.split(",")):
            for share in [0.0, *(float(x) for x in args.shares.split(","))]:
                for seed in seeds(args.seeds):
                    row = one(n_real, seed, share, level, check, args.kind)
                    fh.write(json.dumps(row) + "\n")
                    fh.flush()
                    print(f"{n_real} {share} {seed} {row['status']} {row['model_power']:.3f}")


def table(args: argparse.Namespace) -> None:
    got: dict[tuple[str, int, float], list[dict]] = defaultdict(list)
    for path in args.files:
        for line in Path(path).read_text().splitlines():
            row = json.loads(line)
            got[(row.get("kind", "verbatim"), row["n_real"], row["share"])].append(row)
    print("| kind | real rows (train / holdout) | planted | seeds | FAIL observed | model power |")
    print("|---|---|---|---|---|---|")
    for (kind, n_real, share), rows in sorted(
        got.items(), key=lambda kv: (kv[0][0] != "verbatim", kv[0])
    ):
        n_t = int(round(0.8 * n_real))
        fails = sum(r["status"] == "FAIL" for r in rows)
        model = np.mean([r["model_power"] for r in rows])
        label = f"{kind} | {n_real:,} ({n_t:,} / {n_real - n_t:,})"
        if share == 0.0:
            said = [re.search(r"about ([0-9.]+)%", r["resolution"] or "") for r in rows]
            shares = [float(x.group(1)) for x in said if x]
            median = f"{np.median(shares):.2g}%" if shares else "none"
            print(
                f"| {label} | none (fresh null) | {len(rows)} | {fails} | median resolution: "
                f"{median} |"
            )
            continue
        print(
            f"| {label} | {100 * share:.2g}% ({rows[0]['m']}) | {len(rows)} | {fails} "
            f"({fails / len(rows):.2f}) | {model:.2f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--n-real", default="8000,16000")
    r.add_argument("--shares", default="0.002,0.003,0.005")
    r.add_argument("--seeds", default="0-39")
    r.add_argument("--kind", choices=sorted(KINDS), default="verbatim")
    r.add_argument("--out", required=True)
    t = sub.add_parser("table")
    t.add_argument("files", nargs="+")
    args = ap.parse_args()
    (run if args.cmd == "run" else table)(args)


if __name__ == "__main__":
    main()
