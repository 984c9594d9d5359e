"""Benchmark of the privacy-attack suite on Adult, and of peers when installed.

Adult: train 80%, holdout 20%, synthetic = rows drawn with replacement from the holdout and
jittered, the same size as train; every record evaluated. Prints wall time and peak memory
(tracemalloc for Python allocations, ru_maxrss for the process). ``--scale N`` instead runs
N x N rows (Adult resampled and jittered). Peers (Anonymeter's three evaluators, SDMetrics' DCR
metrics, at their default sample sizes) run on the same triple when importable, else skipped
with a message.

    python benchmarks/attacks_bench.py [--scale 1000000] [--seed 0] [--no-peers]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attacks import run_audit  # noqa: E402

NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


def load() -> pd.DataFrame:
    return pd.read_csv(
        ROOT / "privsynth" / "data" / "adult.csv.gz", skipinitialspace=True, na_values=["?"]
    )


def jitter(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    out = df.copy()
    for c in NUMERIC:
        scale = max(float(df[c].std()) * 0.05, 1.0)
        out[c] = (df[c] + rng.normal(0, scale, len(df))).round().clip(lower=df[c].min())
    return out


def adult_triple(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    df = load()
    rng = np.random.default_rng(seed)
    p = rng.permutation(len(df))
    n_tr = int(0.8 * len(df))
    train = df.iloc[p[:n_tr]].reset_index(drop=True)
    holdout = df.iloc[p[n_tr:]].reset_index(drop=True)
    syn = jitter(holdout.iloc[rng.integers(0, len(holdout), n_tr)].reset_index(drop=True), rng)
    return train, holdout, syn


def scaled_triple(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    df = load()
    rng = np.random.default_rng(seed)
    return tuple(  # type: ignore[return-value]
        jitter(df.iloc[rng.integers(0, len(df), n)].reset_index(drop=True), rng) for _ in range(3)
    )


def run_ours(train, holdout, syn, seed: int) -> float:
    t0 = time.perf_counter()
    res = run_audit(train, holdout, syn, seed=seed)
    dt = time.perf_counter() - t0
    print(f"privsynth attacks: {dt:.2f} s, ok={res.ok}")
    for a in res.attacks:
        print(f"  {a.attack:22s} {a.status:5s} {a.seconds:7.2f} s {a.message}")
    for name in (
        "exact_match.excess",
        "dcr.share_closer_to_train",
        "membership.distance.auc",
        "membership.density.auc",
        "attribute.max_risk",
    ):
        e = res.metric(name).estimate
        print(f"  {name:32s} {e.value:.4f} [{e.ci_low:.4f}, {e.ci_high:.4f}]")
    print(f"  neighbours: {res.settings['neighbors']}")
    return dt


def run_peers(train, holdout, syn, ours: float) -> None:
    try:
        from anonymeter.evaluators import (
            InferenceEvaluator,
            LinkabilityEvaluator,
            SinglingOutEvaluator,
        )
    except ImportError as exc:
        print(f"skipped Anonymeter (not importable: {exc})")
    else:
        t0 = time.perf_counter()
        SinglingOutEvaluator(ori=train, syn=syn, control=holdout).evaluate()
        cols = list(train.columns)
        aux = [cols[: len(cols) // 2], cols[len(cols) // 2 :]]
        LinkabilityEvaluator(ori=train, syn=syn, control=holdout, aux_cols=aux).evaluate()
        for secret in cols:
            InferenceEvaluator(
                ori=train,
                syn=syn,
                control=holdout,
                aux_cols=[c for c in cols if c != secret],
                secret=secret,
            ).evaluate()
        dt = time.perf_counter() - t0
        print(
            f"Anonymeter (3 evaluators, defaults, inference on every column): {dt:.2f} s; "
            f"ratio {dt / ours:.1f}x"
        )
    try:
        from sdmetrics.single_table import DCRBaselineProtection, DCROverfittingProtection
    except ImportError as exc:
        print(f"skipped SDMetrics DCR metrics (not importable: {exc})")
    else:
        meta = {
            "columns": {
                c: {"sdtype": "numerical" if c in NUMERIC else "categorical"} for c in train.columns
            }
        }
        t0 = time.perf_counter()
        DCROverfittingProtection.compute(train, syn, holdout, meta)
        DCRBaselineProtection.compute(train, syn, meta)
        dt = time.perf_counter() - t0
        print(f"SDMetrics DCR metrics (defaults): {dt:.2f} s; ratio {dt / ours:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=0, help="N x N rows instead of Adult 80/20")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    if args.scale:
        train, holdout, syn = scaled_triple(args.scale, args.seed)
    else:
        train, holdout, syn = adult_triple(args.seed)
    print(f"rows: train {len(train)}, holdout {len(holdout)}, synthetic {len(syn)}")
    ours = run_ours(train, holdout, syn, args.seed)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (process, incl. data): {peak:.0f} MiB")
    if not args.no_peers:
        run_peers(train, holdout, syn, ours)


if __name__ == "__main__":
    main()
