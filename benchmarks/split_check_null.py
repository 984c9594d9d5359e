"""Null study of the holdout-apart input check (attacks/split.py): seeded valid splits of the
shared tables must never be refused, and their standardised gap (U - E) / sqrt(V) shows the margin
to the refusal at -Z.

    python benchmarks/split_check_null.py --seeds 20

Per table: every row, 2,000 rows and 400 rows (where the table has them), at 80/20, 50/50 and
30/70, seeds 0..N-1; then the refusals of a subset of train, the same table twice and a
half-overlapping holdout (80/20, seed 0, every row).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attacks.errors import AuditInputError  # noqa: E402
from attacks.geometry import encode_tables, validate_tables  # noqa: E402
from attacks.rowkeys import RowKeys  # noqa: E402
from attacks.split import (  # noqa: E402
    MIN_EXPECTED,
    check_holdout_apart,
    holdout_coverage,
    standardised_gap,
)
from benchmarks.leak_catalogue import load  # noqa: E402

TABLES = ("adult", "adult_pgm", "nltcs", "titanic")


def keys(train: pd.DataFrame, holdout: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    frames, types = validate_tables({"train": train, "holdout": holdout, "synthetic": holdout})
    geo, enc = encode_tables(frames, types, fit_on=("train", "holdout"))
    key_t, key_h, _ = RowKeys(geo, enc).keys(list(geo.columns))
    return key_t, key_h


def refused(key_t: np.ndarray, key_h: np.ndarray) -> bool:
    try:
        check_holdout_apart(key_t, key_h)
    except AuditInputError:
        return True
    return False


def null_row(df: pd.DataFrame, n_seeds: int) -> tuple[int, int, list[float]]:
    n, bad, zs = 0, 0, []
    for seed in range(n_seeds):
        rng = np.random.default_rng(seed)
        for n_real in sorted({len(df), min(2000, len(df)), 400}):
            idx = rng.permutation(len(df))[:n_real]
            for share in (0.8, 0.5, 0.3):
                n_t = int(share * n_real)
                key_t, key_h = keys(df.iloc[idx[:n_t]], df.iloc[idx[n_t:]])
                unmatched, expected, _ = holdout_coverage(key_t, key_h)
                if expected >= MIN_EXPECTED:
                    zs.append(standardised_gap(unmatched, expected, key_h.size, key_t.size))
                n, bad = n + 1, bad + refused(key_t, key_h)
    return n, bad, zs


def bad_cases(df: pd.DataFrame) -> str:
    idx = np.random.default_rng(0).permutation(len(df))
    n_t = int(0.8 * len(df))
    train, holdout = df.iloc[idx[:n_t]], df.iloc[idx[n_t:]]
    half = pd.concat([train.iloc[: len(holdout) // 2], holdout.iloc[: len(holdout) // 2]])
    cases = {"subset": (df, holdout), "same": (train, train), "half overlap": (train, half)}
    return ", ".join(
        f"{k} {'refused' if refused(*keys(*v)) else 'passed'}" for k, v in cases.items()
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()
    print("| table | valid splits | refused | z median / min / max (E >= 20) | bad splits |")
    print("|---|---|---|---|---|")
    for table in TABLES:
        df = load(table)
        n, bad, zs = null_row(df, args.seeds)
        z = np.array(zs)
        print(
            f"| {table} | {n} | {bad} | {np.median(z):.2f} / {z.min():.2f} / {z.max():.2f} "
            f"| {bad_cases(df)} |"
        )


if __name__ == "__main__":
    main()
