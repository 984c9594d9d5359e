"""Calibrate the release gate on the leak catalogue: null false-alarm rates and power.

Run (the audits; appends one JSON line per run, so studies can run in pieces):
    nice -n 10 python benchmarks/gate_calibration.py run --scenarios fresh --seeds 0-99 \\
        --out benchmarks/results/gate_calibration.jsonl
Table (re-evaluates the stored audits under the presets, or any policy files; audits of one seed
in several files are merged attack by attack, a later file winning):
    python benchmarks/gate_calibration.py table benchmarks/results/gate_calibration/*.jsonl.gz
Bounds (estimate, adjusted lower and upper bounds per check, to place thresholds):
    python benchmarks/gate_calibration.py bounds FILES [--policy standard]

The table gives, per scenario and table, the share of seeds whose verdict is FAIL /
INCONCLUSIVE / PASS under ``standard`` and ``strict``, with a Clopper-Pearson 95% upper bound on
the null FAIL and INCONCLUSIVE rates, and which checks fired. Audits run with one thread
(``n_jobs=1``), defaults otherwise (what ``privsynth audit`` runs).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attacks import ATTACKS, AuditData, AuditResult, run_audit  # noqa: E402
from attacks.stats import clopper_pearson  # noqa: E402
from benchmarks.leak_catalogue import NULLS, QI, SCENARIOS, make  # noqa: E402
from reports.policy import Policy, load_policy  # noqa: E402
from reports.verdict import (  # noqa: E402
    adjusted_bounds,
    check_shares,
    evaluate,
    not_applicable_checks,
)


def seeds(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def declared_qi(table: str, spec: str) -> list[str] | None:
    """The declared quasi-identifiers: ``auto`` = Adult's public demographics (leak_catalogue.QI;
    docs/report.md, "Calibration"), none on other tables; ``none``; or columns joined by commas."""
    if spec == "none":
        return None
    if spec == "auto":
        return list(QI) if table == "adult" else None
    return spec.split(",")


def audit(train, holdout, syn, seed: int, attacks: str, qi: list[str] | None) -> AuditResult:
    """The whole suite (``attacks == "all"``), or only the named attacks on shared data."""
    if attacks == "all":
        return run_audit(train, holdout, syn, seed=seed, n_jobs=1, qi=qi)
    wanted = attacks.split(",")
    classes = [c for c in ATTACKS if c.name in wanted]
    data = AuditData.prepare(train, holdout, syn, seed=seed, n_jobs=1, qi=qi)
    return AuditResult([c.from_data(data).evaluate() for c in classes], dict(data.settings))


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    names = list(SCENARIOS) if args.scenarios == "all" else args.scenarios.split(",")
    for name in names:
        for seed in seeds(args.seeds):
            t0 = time.perf_counter()
            s, syn = make(name, seed, args.table, args.n_real)
            t1 = time.perf_counter()
            qi = declared_qi(args.table, args.qi)
            res = audit(s.train, s.holdout, syn, seed, args.attacks, qi)
            data = res.to_dict()
            for a in data["attacks"]:
                a["details"] = {}
            row = {
                "scenario": name,
                "table": args.table,
                "seed": seed,
                "n_train": len(s.train),
                "n_holdout": len(s.holdout),
                "n_synthetic": len(syn),
                "make_seconds": round(t1 - t0, 2),
                "audit_seconds": round(time.perf_counter() - t1, 2),
                "attacks": args.attacks,
                "qi": qi,
                "audit": data,
            }
            with out.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(name, args.table, seed, f"{row['audit_seconds']}s", flush=True)


def rows(files: list[str]):
    """(row, AuditResult) per (table, scenario, seed) of the stored audit lines of ``files``
    (.jsonl or .jsonl.gz). Lines of one seed from several files are merged attack by attack
    (a later file wins), so a study can run its attacks in pieces: the audits are deterministic
    given the seed, and each attack sees the same data whatever else ran."""
    merged: dict[tuple[str, str, int], dict] = {}
    for path in files:
        raw = Path(path).read_bytes()
        text = gzip.decompress(raw).decode() if str(path).endswith(".gz") else raw.decode()
        for line in text.splitlines():
            row = json.loads(line)
            key = (row["table"], row["scenario"], row["seed"])
            if key not in merged:
                merged[key] = row
                continue
            have = merged[key]
            by_name = {a["attack"]: a for a in have["audit"]["attacks"]}
            by_name.update({a["attack"]: a for a in row["audit"]["attacks"]})
            have["audit"]["attacks"] = list(by_name.values())
            have["audit_seconds"] = round(have["audit_seconds"] + row["audit_seconds"], 2)
    for row in merged.values():
        yield row, AuditResult.from_dict(row["audit"])


def privacy_only(policy: Policy) -> Policy:
    """The policy without its utility checks (the stored audits carry no utility section)."""
    kept = [c for c in policy.checks if c.kind == "privacy"]
    return replace(policy, checks=kept)


def bounds(args: argparse.Namespace) -> None:
    """Per scenario and gated metric: estimate, Bonferroni lower bound and upper bound
    (median, 95th percentile and maximum over seeds), to place and justify thresholds."""
    pol = privacy_only(load_policy(args.policy))
    m = len(pol.checks)
    got: dict[tuple[str, str, str], list[tuple[float, ...]]] = defaultdict(list)
    for row, audit in rows(args.files):
        if args.complete_only and not complete(audit):
            continue
        metrics = audit.metrics()
        skip = not_applicable_checks(pol, metrics)  # as the gate: no share for them
        shares = check_shares(pol, not_applicable=skip)
        for c in pol.checks:
            if c.metric not in metrics or c.id in skip:
                continue
            metric = metrics[c.metric]
            e = metric.estimate
            lo_f, _ = adjusted_bounds(metric, shares[c.id])
            p = float(metric.context.get("p_value", np.nan))
            got[(row["table"], row["scenario"], c.id)].append((e.value, lo_f, e.ci_high, p))
    print(f"policy {pol.name} ({m} privacy checks; lower bounds and p-values at each check's")
    print("share of the gate's error, first step: reports/verdict.py)")
    print(
        "| table | scenario | check | threshold | n | estimate med | adj. lower med / max "
        "| upper med / p95 / max | p-value med / max |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    thr = {c.id: c.threshold for c in pol.checks}
    for key in sorted(got):
        a = np.array(got[key])
        q = np.quantile
        print(
            f"| {key[0]} | {key[1]} | {key[2]} | {thr[key[2]]:g} | {len(a)} | "
            f"{np.median(a[:, 0]):.4f} | {np.median(a[:, 1]):.4f} / {a[:, 1].max():.4f} | "
            f"{np.median(a[:, 2]):.4f} / {q(a[:, 2], 0.95):.4f} / {a[:, 2].max():.4f} | "
            f"{np.median(a[:, 3]):.2g} / {a[:, 3].max():.2g} |"
        )


def complete(audit: AuditResult) -> bool:
    """Every attack of the suite is in the (merged) audit."""
    return {c.name for c in ATTACKS} <= {a.attack for a in audit.attacks}


def table(args: argparse.Namespace) -> None:
    policies = {p: privacy_only(load_policy(p)) for p in args.policies.split(",")}
    verdicts: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    fired: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    secs: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row, audit in rows(args.files):
        if args.complete_only and not complete(audit):
            continue
        key = (row["table"], row["scenario"])
        secs[key].append(row["audit_seconds"])
        for pname, pol in policies.items():
            results, verdict, _, _ = evaluate(pol, audit)
            verdicts[(*key, pname)][verdict] += 1
            for r in results:
                if r.status not in ("PASS", "NOT_APPLICABLE"):  # N/A: did not run
                    fired[(*key, pname)][f"{r.id}:{r.status[0]}"] += 1
    print(
        "| table | scenario | seeds | "
        + " | ".join(f"{p} F / I / P" for p in policies)
        + " | checks not passing (standard) | s/audit |"
    )
    print("|---|---|---|" + "---|" * len(policies) + "---|---|")
    order = {n: i for i, n in enumerate(SCENARIOS)}
    for key in sorted(secs, key=lambda k: (k[0], order.get(k[1], 99))):
        n = len(secs[key])
        cells = []
        for p in policies:
            c = verdicts[(*key, p)]
            cells.append(f"{c['FAIL']} / {c['INCONCLUSIVE']} / {c['PASS']}")
        top = fired[(*key, next(iter(policies)))].most_common(4)
        why = ", ".join(f"{k} x{v}" for k, v in top) or "-"
        mean_s = sum(secs[key]) / n
        print(f"| {key[0]} | {key[1]} | {n} | " + " | ".join(cells) + f" | {why} | {mean_s:.1f} |")
    print()
    for key in sorted(secs):
        if key[1] not in NULLS:
            continue
        n = len(secs[key])
        for p in policies:
            c = verdicts[(*key, p)]
            f_hi = clopper_pearson(c["FAIL"], n)[1]
            i_hi = clopper_pearson(c["INCONCLUSIVE"], n)[1]
            print(
                f"null {key[0]}/{key[1]} {p}: FAIL {c['FAIL']}/{n} (95% upper {f_hi:.3f}), "
                f"INCONCLUSIVE {c['INCONCLUSIVE']}/{n} (95% upper {i_hi:.3f})"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--scenarios", default="all")
    r.add_argument("--seeds", default="0-4")
    r.add_argument("--table", default="adult")
    r.add_argument("--n-real", type=int, default=16_000)
    r.add_argument("--out", default="benchmarks/results/gate_calibration.jsonl")
    r.add_argument("--attacks", default="all", help="all, or attack names joined by commas")
    r.add_argument("--qi", default="auto", help="auto (Adult: leak_catalogue.QI), none, or a,b,c")
    t = sub.add_parser("table")
    t.add_argument("files", nargs="+")
    t.add_argument("--policies", default="standard,strict")
    t.add_argument("--complete-only", action="store_true", help="skip seeds missing an attack")
    b = sub.add_parser("bounds")
    b.add_argument("files", nargs="+")
    b.add_argument("--policy", default="standard")
    b.add_argument("--complete-only", action="store_true", help="skip seeds missing an attack")
    args = ap.parse_args()
    {"run": run, "table": table, "bounds": bounds}[args.cmd](args)


if __name__ == "__main__":
    main()
