"""First-step FAILs of exact-copies and singling-out under two weightings, on audits that ran
only those two attacks (out-of-sample seeds of the copy-weight pass, 2026-12-02, s11).

    python benchmarks/gate_calibration.py run --scenarios copies_0.3pct --seeds 20-69 \\
        --attacks exact_match,singling_out --out OOS.jsonl
    python benchmarks/copy_weight_oos.py OOS.jsonl [...]

A check FAILs on the gate's first Holm step when its estimate exceeds the threshold and its exact
p-value is at most its share of the gate's 2.5% (reports/verdict.py). The shares are those of the
full standard preset on the 12,800 / 3,200 calibration split (17 checks in play; the two
0.1%-FPR checks not applicable): exact-copies 3/21 and singling-out 3/21 at the old weight 3,
6/24 and 3/24 at the new weight 6. Later Holm steps can only add FAILs, so the counts are lower
bounds on the verdicts' FAILs (for a null they are its false FAILs from these two checks)."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.gate_calibration import rows  # noqa: E402
from reports.policy import load_policy  # noqa: E402

SCHEMES = {"weight 3 (3/21, 3/21)": (3 / 21, 3 / 21), "weight 6 (6/24, 3/24)": (6 / 24, 3 / 24)}
CHECKS = ("exact-copies", "singling-out")


def main(files: list[str]) -> None:
    pol = load_policy("standard")
    metric = {c.id: (c.metric, c.threshold) for c in pol.checks if c.id in CHECKS}
    fails: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seeds: dict[str, int] = defaultdict(int)
    for row, audit in rows(files):
        m, key = audit.metrics(), f"{row['table']}/{row['scenario']}"
        seeds[key] += 1
        for name, shares in SCHEMES.items():
            hit = False
            for cid, share in zip(CHECKS, shares, strict=True):
                x = m[metric[cid][0]]
                hit |= x.estimate.value > metric[cid][1] and x.context["p_value"] <= share * 0.025
            fails[key][name] += hit
    print("| scenario | seeds | " + " | ".join(SCHEMES) + " |")
    print("|---|---|" + "---|" * len(SCHEMES))
    for key in sorted(seeds):
        print(f"| {key} | {seeds[key]} | " + " | ".join(str(fails[key][s]) for s in SCHEMES) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
