"""Before/after utility check of a model-engine change with the DP noise seeded.

``noise_seed`` makes the mechanisms' noise reproducible (NOT a release), so two checkouts given
the same seeds see the same noisy measurements and any difference in the synthetic table is the
code's. Prints one JSON line per run: mean 2-way TVD of the sample against the real table, the
fit's and the sampling's CPU seconds. Run it once per checkout (``PYTHONPATH`` for the other)::

    PYTHONPATH=/path/to/old/checkout python benchmarks/seeded_ab.py > before.jsonl
    python benchmarks/seeded_ab.py > after.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from privsynth.schema import load_schema
from privsynth.synthesizers import get_synthesizer

HERE = Path(__file__).resolve().parent
CONFIGS = (
    [("titanic", m, e) for m in ("aim", "mst") for e in (0.1, 1.0, 10.0)]
    + [("adult_pgm", "mst", e) for e in (0.1, 1.0, 10.0)]
    + [("adult_pgm", "aim", e) for e in (0.1, 1.0)]
)


def mean_tvd2(real: np.ndarray, fake: np.ndarray, sizes: list[int]) -> float:
    """Mean total variation distance over every 2-way marginal of two coded tables."""
    out = []
    for i, j in itertools.combinations(range(len(sizes)), 2):
        cells = sizes[i] * sizes[j]
        r = np.bincount(real[:, i] * sizes[j] + real[:, j], minlength=cells) / len(real)
        f = np.bincount(fake[:, i] * sizes[j] + fake[:, j], minlength=cells) / len(fake)
        out.append(0.5 * np.abs(r - f).sum())
    return float(np.mean(out))


def run(
    data_dir: Path, name: str, method: str, eps: float, noise_seed: int, sample_seed: int = 0
) -> dict:
    df = pd.read_csv(data_dir / f"{name}.csv")
    domain_path = data_dir / f"{name}-domain.json"
    sizes = json.loads(domain_path.read_text())
    synth = get_synthesizer(method)(
        epsilon=eps, delta=1e-9, seed=sample_seed, noise_seed=noise_seed, quiet=True
    )
    c0 = time.process_time()
    synth.fit(df, load_schema(domain_path))
    fit = time.process_time() - c0
    c0 = time.process_time()
    fake = synth.sample()
    sample = time.process_time() - c0
    cols = list(sizes)
    tvd = mean_tvd2(df[cols].to_numpy(), fake[cols].to_numpy().astype(int), list(sizes.values()))
    return {
        "data": name,
        "method": method,
        "eps": eps,
        "noise_seed": noise_seed,
        "tvd2": round(tvd, 5),
        "fit_cpu": round(fit, 2),
        "sample_cpu": round(sample, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=HERE.parent.parent / "shared" / "data")
    ap.add_argument("--noise-seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument(
        "--only", nargs="+", default=None, help="configs as DATA:METHOD:EPS, e.g. titanic:aim:1"
    )
    ap.add_argument(
        "--sample-seed-from-noise",
        action="store_true",
        help="sample with seed = noise seed (independent runs) instead of seed 0 (A/B of one run)",
    )
    args = ap.parse_args()
    configs = CONFIGS
    if args.only:
        configs = [(d, m, float(e)) for d, m, e in (o.split(":") for o in args.only)]
    for name, method, eps in configs:
        for seed in args.noise_seeds:
            sample_seed = seed if args.sample_seed_from_noise else 0
            print(json.dumps(run(args.data_dir, name, method, eps, seed, sample_seed)), flush=True)


if __name__ == "__main__":
    main()
