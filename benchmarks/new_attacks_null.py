"""Null study of the attacker-knowledge attacks: singling out, linkability and attribute
inference (every knowledge set), on leak-free triples from the bundled Adult table.

Each seed draws three disjoint samples of Adult: train (12,000), holdout (3,000: an 80/20
split) and a "synthetic" table of 12,000 fresh population records, so nothing in the synthetic
table depends on which records were in training. For every gated maximum it counts

* ``alarm``: the simultaneous interval excludes 0 on the risky side (lower bound > 0), the
  false-alarm rate of the interval itself (target <= 5%: the intervals are 95% simultaneous);
* ``FAIL`` / ``INCONCLUSIVE`` at a threshold (``--thresholds``), as the gate would read it:
  FAIL when the lower bound exceeds it, INCONCLUSIVE when only the upper bound does.

    python benchmarks/new_attacks_null.py [--seeds 50] [--workers 2] [--no-attribute]
    python benchmarks/new_attacks_null.py --power [--seeds 5]   # planted leaks instead

``--power`` plants leaks into the fresh table instead (verbatim copies of 0.3% / 1% of train
replacing synthetic rows; the declared QIs of 5% of the training records that are unique on
them, appended as extra rows with fresh other columns) and prints the mean excess and the share
of seeds whose interval excludes 0.

Prints one line per seed and the rates with Clopper-Pearson 95% intervals; ``--json`` writes
the raw per-seed numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attacks import (  # noqa: E402
    AttributeInferenceAttack,
    AuditData,
    LinkabilityAttack,
    SinglingOutAttack,
)
from attacks.stats import clopper_pearson  # noqa: E402

N_TRAIN, N_HOLD = 12_000, 3_000
METRICS = (
    "singling_out.max_excess",
    "linkability.max_excess",
    "attribute.max_excess",
    "attribute.rare_class.max_excess",
)
THRESHOLDS = {
    "singling_out.max_excess": 0.0025,  # standard preset since the rare-unique design
    "linkability.max_excess": 0.01,
    "attribute.max_excess": 0.2,
    "attribute.rare_class.max_excess": 0.2,
}
QI = ["age", "sex", "race", "marital-status", "education", "native-country"]


def load() -> pd.DataFrame:
    return pd.read_csv(
        ROOT / "privsynth" / "data" / "adult.csv.gz", skipinitialspace=True, na_values=["?"]
    )


def plant(scenario: str, train: pd.DataFrame, synthetic: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A leak planted into the fresh table (see the module docstring)."""
    rng = np.random.default_rng([seed, 99])
    if scenario.startswith("copies"):
        k = int(round(float(scenario.split("-")[1]) / 100 * len(train)))
        out = synthetic.copy()
        at = rng.choice(len(out), size=k, replace=False)
        out.iloc[at] = train.iloc[rng.choice(len(train), size=k, replace=False)].to_numpy()
        return out
    unique = np.flatnonzero(~train.duplicated(QI, keep=False).to_numpy())
    rows = rng.choice(unique, size=int(0.05 * len(train)), replace=False)
    extra = synthetic.sample(len(rows), random_state=seed).reset_index(drop=True)
    for c in QI:
        extra[c] = train[c].to_numpy()[rows]
    return pd.concat([synthetic, extra], ignore_index=True)


SCENARIOS = ("copies-0.3", "copies-1", "qi-unique-5")


def one(seed: int, attribute: bool, scenario: str = "") -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    df = load()
    p = np.random.default_rng(seed).permutation(len(df))
    cut = np.cumsum([0, N_TRAIN, N_HOLD, N_TRAIN])
    train, holdout, synthetic = (
        df.iloc[p[cut[i] : cut[i + 1]]].reset_index(drop=True) for i in range(3)
    )
    if scenario:
        synthetic = plant(scenario, train, synthetic, seed)
    t0 = time.perf_counter()
    data = AuditData.prepare(train, holdout, synthetic, seed=seed, qi=QI, n_jobs=1)
    classes = [SinglingOutAttack, LinkabilityAttack]
    if attribute:
        classes.append(AttributeInferenceAttack)
    results = [cls.from_data(data).evaluate() for cls in classes]
    out = {
        "seed": seed,
        "seconds": round(time.perf_counter() - t0, 2),
        "attack_seconds": {a.attack: a.seconds for a in results},
        "status": {a.attack: a.status for a in results},
    }
    found = {m.name: m for a in results for m in a.metrics}
    for name in METRICS:
        if name.startswith("attribute") and not attribute:
            continue
        m = found.get(name)
        if m is None:
            continue
        e = m.estimate
        out[name] = {"value": e.value, "ci_low": e.ci_low, "ci_high": e.ci_high}
    return out


def summarise(rows: list[dict], thresholds: dict[str, float]) -> None:
    n = len(rows)
    print(
        f"\n{n} null seeds (Adult, train {N_TRAIN}, holdout {N_HOLD}, fresh synthetic "
        f"{N_TRAIN}); rates with Clopper-Pearson 95% intervals"
    )
    for name in METRICS:
        vals = [r[name] for r in rows if name in r]
        if not vals:
            continue
        thr = thresholds[name]
        alarm = sum(v["ci_low"] > 0 for v in vals)
        fail = sum(v["ci_low"] > thr for v in vals)
        inconc = sum(v["ci_low"] <= thr < v["ci_high"] for v in vals)
        uppers = np.array([v["ci_high"] for v in vals])

        def rate(k: int, total: int = len(vals)) -> str:
            lo, hi = clopper_pearson(k, total)
            return f"{k}/{total} [{lo:.3f}, {hi:.3f}]"

        print(
            f"  {name:34s} alarm {rate(alarm)}  at {thr}: FAIL {rate(fail)} "
            f"INCONCLUSIVE {rate(inconc)}  upper bound median {np.median(uppers):.4f} "
            f"p95 {np.quantile(uppers, 0.95):.4f}"
        )
    secs = {
        a: np.median([r["attack_seconds"].get(a, 0) for r in rows])
        for a in rows[0]["attack_seconds"]
    }
    print("  median seconds per attack: " + ", ".join(f"{a} {s:.2f}" for a, s in secs.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-attribute", action="store_true")
    ap.add_argument("--thresholds", type=str, default=json.dumps(THRESHOLDS))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--power", action="store_true")
    args = ap.parse_args()
    if args.power:
        power(args.seeds, args.first_seed, not args.no_attribute)
        return
    thresholds = {**THRESHOLDS, **json.loads(args.thresholds)}
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    rows = []
    with ProcessPoolExecutor(max_workers=max(1, min(args.workers, 2))) as pool:
        for r in pool.map(one, seeds, [not args.no_attribute] * len(seeds)):
            rows.append(r)
            parts = [
                f"{k.split('.')[0]}={r[k]['value']:.4f}[{r[k]['ci_low']:.4f},{r[k]['ci_high']:.4f}]"
                for k in METRICS
                if k in r
            ]
            print(f"seed {r['seed']}: {r['seconds']:.1f}s " + " ".join(parts), flush=True)
    summarise(rows, thresholds)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


def power(n_seeds: int, first: int, attribute: bool) -> None:
    for scenario in SCENARIOS:
        rows = [one(s, attribute, scenario) for s in range(first, first + n_seeds)]
        print(f"{scenario}: {n_seeds} seeds")
        for name in METRICS:
            vals = [r[name] for r in rows if name in r]
            if vals:
                found = sum(v["ci_low"] > 0 for v in vals)
                mean = np.mean([v["value"] for v in vals])
                width = np.mean([v["ci_high"] - v["ci_low"] for v in vals])
                print(
                    f"  {name:34s} mean excess {mean:.4f}, mean interval width {width:.4f}, "
                    f"flagged (lower > 0) {found}/{len(vals)}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
