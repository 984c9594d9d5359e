"""First-step FAILs of exact-copies and singling-out under two weightings, on audits that ran
only those two attacks (out-of-sample seeds of the copy-weight pass, 2026-12-02, s11).

    python benchmarks/gate_calibration.py run --scenarios copies_0.3pct --seeds 20-69 \\
        --attacks exact_match,singling_out --out OOS.jsonl
    python benchmarks/copy_weight_oos.py OOS.jsonl [...]

A check FAILs on the gate's first Holm step when its estimate exceeds the threshold and its exact
p-value is at most its share of the gate's 2.5% (reports/verdict.py). The shares are those of the
full standard preset on the 12,800 / 3,200 calibration split, from ``reports.verdict.check_shares``
with the two 0.1%-FPR checks not applicable there (17 checks in play): exact-copies 3/21 and
singling-out 3/21 at the old weight 3, 6/24 and 3/24 at the new weight 6. Later Holm steps can only add FAILs, so the counts are lower
bounds on the verdicts' FAILs (for a null they are its false FAILs from these two checks)."""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.gate_calibration import rows  # noqa: E402
from reports.policy import Policy, load_policy  # noqa: E402
from reports.verdict import check_shares  # noqa: E402

CHECKS = ("exact-copies", "singling-out")
# not applicable on the calibration split (too few non-members for 0.1% FPR)
LOW_FPR = frozenset({"membership-distance-tpr-0.1pct", "membership-density-tpr-0.1pct"})


def with_copy_weight(policy: Policy, weight: float) -> Policy:
    checks = [replace(c, weight=weight) if c.id == "exact-copies" else c for c in policy.checks]
    return replace(policy, checks=checks)


def main(files: list[str]) -> None:
    pol = load_policy("standard")
    metric = {c.id: (c.metric, c.threshold) for c in pol.checks if c.id in CHECKS}
    schemes = {}
    for w in (3.0, 6.0):
        shares = check_shares(with_copy_weight(pol, w), not_applicable=LOW_FPR)
        schemes[f"weight {w:g}"] = tuple(shares[c] for c in CHECKS)
    fails: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seeds: dict[str, int] = defaultdict(int)
    for row, audit in rows(files):
        m, key = audit.metrics(), f"{row['table']}/{row['scenario']}"
        seeds[key] += 1
        for name, shares in schemes.items():
            hit = False
            for cid, share in zip(CHECKS, shares, strict=True):
                x = m[metric[cid][0]]
                level = share * (1.0 - x.estimate.confidence) / 2  # as reports/verdict.py
                hit |= x.estimate.value > metric[cid][1] and x.context["p_value"] <= level
            fails[key][name] += hit
    heads = [f"{n} (shares {s[0]:.3g}, {s[1]:.3g})" for n, s in schemes.items()]
    print("| scenario | seeds | " + " | ".join(heads) + " |")
    print("|---|---|" + "---|" * len(schemes))
    for key in sorted(seeds):
        print(f"| {key} | {seeds[key]} | " + " | ".join(str(fails[key][s]) for s in schemes) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
