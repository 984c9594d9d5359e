"""Probe (not a gate check): would a partial-copy subset chosen on one half of the records and
tested on the other half see the catalogue's linkage leak?

Why. The gate FAILs the 3% linkage leak in 7 of 20 seeds; an oracle that knows its 11 columns
FAILs 20 (benchmarks/gate_power_bound.py). ``partial-copies`` tests 20 public-rule random subsets
(Bonferroni), which rarely fall inside the leaked columns. A data-chosen subset is valid if it is
chosen on records that the test does not use: split train and holdout each into halves A and B
(a seeded random split, independent of the data); on A, score every subset that drops 1 to
``--max-drop`` of the columns by the z of the train-vs-holdout difference of "unique among the
pooled real records on the subset and reproduced by some synthetic row"; on B, run the exact
conditional test (``attacks.rates.conditional_p``) on the chosen subset alone. Under the null the
B-records are exchangeable given the choice, so the p-value is exact.

Keys: per column a factorisation of the three tables stacked; a subset's key is the sum of its
columns' codes times random 64-bit odd multipliers (wrapping; a collision needs equal sums, which
at 2^-64 per pair is ignored here). Prints one JSON line per (scenario, seed).

Run: python benchmarks/partial_split_probe.py --scenarios fresh,linkage_3pct --seeds 0-19
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attacks.rates import conditional_p  # noqa: E402
from benchmarks.gate_calibration import seeds  # noqa: E402
from benchmarks.leak_catalogue import make  # noqa: E402


def codes(tables: list[pd.DataFrame]) -> np.ndarray:
    """One int64 code per cell, per column, of the tables stacked (NaN a value of its own)."""
    stacked = pd.concat(tables, ignore_index=True)
    return np.column_stack(
        [pd.factorize(stacked[c], use_na_sentinel=False)[0] for c in stacked.columns]
    ).astype(np.uint64)


def hits(keys: np.ndarray, n_real: int) -> np.ndarray:
    """Real rows (the first ``n_real`` keys) unique among the real rows and present among the
    synthetic ones (the rest)."""
    real, syn = keys[:n_real], keys[n_real:]
    _, inv, cnt = np.unique(real, return_inverse=True, return_counts=True)
    return (cnt[inv] == 1) & np.isin(real, syn)


def probe(scenario: str, seed: int, max_drop: int) -> dict:
    s, syn = make(scenario, seed)
    n_t, n_h = len(s.train), len(s.holdout)
    c = codes([s.train, s.holdout, syn[s.train.columns]])
    rng = np.random.default_rng([seed, 99])
    mult = rng.integers(1, 2**63, size=c.shape[1], dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    half_t = rng.random(n_t) < 0.5
    half_h = rng.random(n_h) < 0.5
    cols = list(s.train.columns)
    best, best_z = None, -np.inf
    for d in range(1, max_drop + 1):
        for drop in combinations(range(len(cols)), d):
            keep = np.array([i for i in range(len(cols)) if i not in drop])
            h = hits(c[:, keep] @ mult[keep], n_t + n_h)
            ht, hh = h[:n_t], h[n_t:]
            pt, ph = ht[half_t].mean(), hh[half_h].mean()
            pool = (ht[half_t].sum() + hh[half_h].sum()) / (half_t.sum() + half_h.sum())
            se = np.sqrt(max(pool * (1 - pool), 1e-12) * (1 / half_t.sum() + 1 / half_h.sum()))
            z = (pt - ph) / se
            if z > best_z:
                best, best_z, best_hits = keep, z, (ht, hh)
    ht, hh = best_hits
    bt, bh = ~half_t, ~half_h
    x, y = int(ht[bt].sum()), int(hh[bh].sum())
    return {
        "scenario": scenario,
        "seed": seed,
        "chosen_columns": [cols[i] for i in best],
        "z_on_A": round(float(best_z), 3),
        "train_hits_B": x,
        "n_train_B": int(bt.sum()),
        "holdout_hits_B": y,
        "n_holdout_B": int(bh.sum()),
        "excess_B": x / bt.sum() - y / bh.sum(),
        "p_B": conditional_p(x, int(bt.sum()), y, int(bh.sum())),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="fresh,linkage_3pct")
    ap.add_argument("--seeds", default="0-19")
    ap.add_argument("--max-drop", type=int, default=4)
    args = ap.parse_args()
    for scenario in args.scenarios.split(","):
        for seed in seeds(args.seeds):
            print(json.dumps(probe(scenario, seed, args.max_drop)), flush=True)


if __name__ == "__main__":
    main()
