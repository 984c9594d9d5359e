"""Add DCR's tolerant-copy metric to stored DCR results, for calibration studies under load.

``dcr.tolerant_copy_excess`` (attacks/dcr.py) is a function of the (scenario, seed) data alone;
the other DCR metrics are unchanged by its introduction. Re-running the whole DCR attack (two
full neighbour searches and a 300-resample bootstrap) for every stored null seed costs about a
minute an audit on a loaded machine; this script rebuilds the scenario's data, computes only
the tolerant-copy comparison and writes, per seed, a gate_calibration line whose ``dcr`` attack
is the stored one (latest file wins) with the new metric appended. The results file of the study
that used it compares augmented seeds with full reruns (identical metrics).

    nice -n 10 python benchmarks/tolerant_augment.py --scenarios fresh --seeds 56-99 \\
        --out OUT.jsonl STORED_FILES...
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attacks import AuditData  # noqa: E402
from attacks.dcr import tolerant_copies  # noqa: E402
from benchmarks.gate_calibration import declared_qi, rows, seeds  # noqa: E402
from benchmarks.leak_catalogue import make  # noqa: E402

NAME = "dcr.tolerant_copy_excess"
TEXT = "tolerant copies (tolerance-unique records): training share - holdout share"


def tolerant_metric(scenario: str, seed: int, table: str, qi_spec: str) -> dict:
    """The metric as an AttackResult metric dict, on the scenario's data at ``seed``."""
    s, syn = make(scenario, seed, table)
    data = AuditData.prepare(
        s.train, s.holdout, syn, seed=seed, n_jobs=1, qi=declared_qi(table, qi_spec)
    )
    return asdict(tolerant_copies(data, 0.95).metric(NAME, TEXT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("stored", nargs="+", help="gate_calibration result files (.jsonl[.gz])")
    ap.add_argument("--scenarios", required=True)
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--table", default="adult")
    ap.add_argument("--qi", default="auto")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    want = {(args.table, sc, sd) for sc in args.scenarios.split(",") for sd in seeds(args.seeds)}
    for row, _ in rows(args.stored):
        key = (row["table"], row["scenario"], row["seed"])
        dcr = [a for a in row["audit"]["attacks"] if a["attack"] == "dcr"]
        if key not in want or not dcr:
            continue
        t0 = time.perf_counter()
        metric = tolerant_metric(row["scenario"], row["seed"], row["table"], args.qi)
        kept = [m for m in dcr[0]["metrics"] if m["name"] != NAME]
        row["audit"]["attacks"] = [{**dcr[0], "metrics": [*kept, metric]}]
        row["attacks"] = "dcr (stored) + dcr.tolerant_copy_excess (tolerant_augment.py)"
        row["audit_seconds"] = round(time.perf_counter() - t0, 2)
        with Path(args.out).open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(*key, f"{row['audit_seconds']}s", flush=True)


if __name__ == "__main__":
    main()
