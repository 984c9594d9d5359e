"""Benchmark of the graphical-model engine (``privsynth.model``) on AIM-like models of adult_pgm.

Builds a model from 14 noisy one-way measurements plus random noisy 2-/3-way measurements (chosen
so the junction tree reaches a target size), then times: one calibration, ``estimate()`` cold and
warm (one more measurement, as in an AIM round), ``project()`` of all 91 two-way and 364 three-way
cliques, ``sample()`` and the peak RSS. Each size runs in its own process::

    /work/venv/bin/python benchmarks/model_bench.py --size 2 20 80

``PYTHONPATH=/path/to/old/checkout`` benchmarks another version of the package (the script falls
back to a loop of ``project()`` when ``project_many`` does not exist). ``--quick`` skips the
three-way projections (the slowest part) when only estimation, calibration and sampling matter.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time
from importlib import resources

import numpy as np
import pandas as pd

from privsynth.domain import Domain
from privsynth.model import GraphicalModel, Measurement, estimate, model_size_mb

try:
    from privsynth.model import calibrate
except ImportError:  # an older checkout (PYTHONPATH=...): calibration lived in graphical_model
    from privsynth.model.graphical_model import calibrate


def load_adult() -> tuple[Domain, np.ndarray]:
    pkg = resources.files("privsynth") / "data"
    dom = Domain.from_dict(json.loads((pkg / "adult_pgm-domain.json").read_text()))
    with resources.as_file(pkg / "adult_pgm.csv.gz") as path:
        data = pd.read_csv(path)[list(dom.attrs)].to_numpy()
    return dom, data


def marginal(dom: Domain, data: np.ndarray, clique) -> np.ndarray:
    idx = np.ravel_multi_index(
        tuple(data[:, dom.attrs.index(a)] for a in clique), dom.project(clique).shape
    )
    return np.bincount(idx, minlength=dom.size(clique)).astype(float)


def build_measurements(dom, data, target_mb: float, seed: int = 0):
    """14 one-way (sigma 10) + random 2/3-way (sigma 20) until the model is ~``target_mb``."""
    rng = np.random.default_rng(seed)
    ms = [
        Measurement((a,), marginal(dom, data, (a,)) + 10 * rng.standard_normal(dom[a]), 10.0)
        for a in dom.attrs
    ]
    pool = list(itertools.combinations(dom.attrs, 2))
    if target_mb > 5:
        pool += list(itertools.combinations(dom.attrs, 3))
    order = rng.permutation(len(pool))
    chosen: list[tuple[str, ...]] = []
    for i in order:
        c = pool[i]
        size = model_size_mb(dom, chosen + [c])
        if size > target_mb:
            continue
        chosen.append(c)
        if size > 0.8 * target_mb and len(chosen) >= 8:
            break
    for c in chosen:
        y = marginal(dom, data, c) + 20 * rng.standard_normal(dom.size(c))
        ms.append(Measurement(c, y, 20.0))
    return ms


def timed(fn, repeat: int = 3):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def fresh(model: GraphicalModel) -> GraphicalModel:
    """Same distribution, empty caches, already calibrated (calibration is timed separately)."""
    m = GraphicalModel(model.domain, model.tree, model.potentials, total=model.total)
    m.marginals()
    return m


def project_all(model: GraphicalModel, cliques) -> dict:
    if hasattr(model, "project_many"):
        return model.project_many(cliques)
    return {c: model.project(c) for c in cliques}


def run_size(target_mb: float, cold_iters: int, warm_iters: int, quick: bool = False) -> dict:
    dom, data = load_adult()
    ms = build_measurements(dom, data, target_mb)
    res: dict = {"target_mb": target_mb, "measurements": len(ms)}

    t0, c0 = time.perf_counter(), time.process_time()
    base = estimate(dom, ms[:-1], iters=cold_iters)
    res["cold_s"] = time.perf_counter() - t0
    res["cold_cpu_s"] = time.process_time() - c0
    res["cold_iters"] = base.fit_info["iterations"]
    res["cold_calibrations"] = base.fit_info["calibrations"]
    res["cold_loss"] = base.fit_info["loss"]
    res["model_mb"] = base.tree.size_mb()
    res["cliques"] = len(base.tree.maximal_cliques)

    t0, c0 = time.perf_counter(), time.process_time()
    warm = estimate(dom, ms, warm_start=base, iters=warm_iters)
    res["warm_s"] = time.perf_counter() - t0
    res["warm_cpu_s"] = time.process_time() - c0
    res["warm_iters"] = warm.fit_info["iterations"]
    res["warm_calibrations"] = warm.fit_info["calibrations"]
    res["warm_loss"] = warm.fit_info["loss"]

    theta = {c: f.values for c, f in warm.potentials.items()}
    res["calibrate_s"], _ = timed(lambda: calibrate(warm.tree, theta, warm.total), repeat=5)

    pairs = list(itertools.combinations(dom.attrs, 2))
    triples = list(itertools.combinations(dom.attrs, 3))
    m = fresh(warm)
    t0 = time.perf_counter()
    p2 = project_all(m, pairs)
    res["project_2way_s"] = time.perf_counter() - t0
    m = fresh(warm)
    t0 = time.perf_counter()
    p3 = {} if quick else project_all(m, triples)
    res["project_3way_s"] = None if quick else time.perf_counter() - t0
    m = fresh(warm)
    t0 = time.perf_counter()
    single = [m.project(c) for c in pairs[:20]]
    res["project_single_2way_ms"] = 1000 * (time.perf_counter() - t0) / 20
    for c, arr in zip(pairs[:20], single, strict=True):
        assert np.allclose(arr, p2[c], rtol=1e-8, atol=1e-6 * warm.total)
    for c in [] if quick else triples[::37]:
        assert np.allclose(warm.project(c), p3[c], rtol=1e-8, atol=1e-6 * warm.total)
    rng = np.random.default_rng(0)
    c0 = time.process_time()
    res["sample_rounding_s"], _ = timed(lambda: warm.sample(len(data), rng, "rounding"))
    res["sample_rounding_cpu_s"] = (time.process_time() - c0) / 3
    res["sample_sampling_s"], _ = timed(lambda: warm.sample(len(data), rng, "sampling"))
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, nargs="+", default=[2.0, 20.0, 80.0])
    ap.add_argument("--cold-iters", type=int, default=200)
    ap.add_argument("--warm-iters", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="skip the 364 three-way projections")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_size(args.size[0], args.cold_iters, args.warm_iters, args.quick)))
        return
    for size in args.size:
        cmd = [sys.executable, __file__, "--child", "--size", str(size)]
        cmd += ["--cold-iters", str(args.cold_iters), "--warm-iters", str(args.warm_iters)]
        cmd += ["--quick"] if args.quick else []
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"size {size}: failed\n{out.stderr}", file=sys.stderr)
            continue
        res = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(res, indent=None, default=float), flush=True)


if __name__ == "__main__":
    main()
