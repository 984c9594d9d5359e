#!/usr/bin/env python
"""Quick accuracy check of one privsynth method on adult_pgm (integer-coded adult, Private-PGM).

Fits ``method`` at epsilon 1 (delta 1e-9) with a seed on the coded table and prints, for the
fitted model itself (``model``: the model's exact marginals, no sampling) and for each sampler
(``rounding``, ``sampling`` = i.i.d.), the mean TVD over all 2-way and 3-way marginals, plus the
fit and sample times.

    python benchmarks/tvd_check.py mst --seed 0
    python benchmarks/tvd_check.py aim --seed 1 --set round_iters=200 --no-3way
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from privsynth.domain import Domain  # noqa: E402
from privsynth.synthesizers import get_synthesizer  # noqa: E402


def _table(codes: np.ndarray, combo: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    idx = np.ravel_multi_index([codes[:, j] for j in combo], shape)
    return np.bincount(idx, minlength=int(np.prod(shape))).reshape(shape) / len(codes)


def mean_tvd(real: np.ndarray, synth, attrs: list[str], sizes: list[int], way: int) -> float:
    """Mean TVD of all ``way``-way marginals; ``synth`` is codes or a model (project)."""
    out = []
    for combo in itertools.combinations(range(len(attrs)), way):
        shape = tuple(sizes[j] for j in combo)
        p = _table(real, combo, shape)
        if isinstance(synth, np.ndarray):
            q = _table(synth, combo, shape)
        else:
            q = np.asarray(synth.project(tuple(attrs[j] for j in combo)), dtype=float)
            q = np.maximum(q, 0) / max(q.sum(), 1e-300)
        out.append(0.5 * np.abs(p - q).sum())
    return float(np.mean(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("method")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--set", action="append", default=[], help="constructor param k=v (JSON v)")
    ap.add_argument("--no-3way", action="store_true")
    ap.add_argument("--samplers", default="model,rounding,sampling")
    args = ap.parse_args()

    data = REPO / "privsynth" / "data"
    df = pd.read_csv(data / "adult_pgm.csv.gz")
    dom = json.loads((data / "adult_pgm-domain.json").read_text())
    attrs = list(dom)
    sizes = [int(dom[a]) for a in attrs]
    codes = df[attrs].to_numpy(dtype=np.int64)
    domain = Domain.from_dict(dom)

    kwargs = {}
    for kv in args.set:
        k, v = kv.split("=", 1)
        kwargs[k] = json.loads(v)
    synth = get_synthesizer(args.method)(epsilon=args.epsilon, seed=args.seed, **kwargs)
    t0 = time.perf_counter()
    synth.fit_codes(codes, domain)
    fit_s = time.perf_counter() - t0
    extra = ""
    if hasattr(synth, "tree_"):
        extra = f" tree={len(synth.tree_)}"
    print(
        f"# {args.method} seed={args.seed} eps={args.epsilon} {kwargs} fit={fit_s:.1f}s "
        f"rho_spent={synth.ledger_.rho_spent:.6g}/{synth.ledger_.rho_budget:.6g}{extra}",
        flush=True,
    )
    for how in args.samplers.split(","):
        t0 = time.perf_counter()
        if how == "model":
            target = synth  # its project(): the model, on the original domain
        else:
            synth.sample_method = how
            synth._rng = np.random.default_rng([args.seed, 1])
            target = synth.sample_codes()
        s_s = time.perf_counter() - t0
        t2 = mean_tvd(codes, target, attrs, sizes, 2)
        t3 = float("nan") if args.no_3way else mean_tvd(codes, target, attrs, sizes, 3)
        print(
            f"{args.method}\tseed={args.seed}\t{how}\t2way={t2:.4f}\t3way={t3:.4f}\t"
            f"fit={fit_s:.1f}s\tsample={s_s:.1f}s",
            flush=True,
        )


if __name__ == "__main__":
    main()
