#!/usr/bin/env python
"""One synthesizer run, in its own process; launched by ``synth_bench.py``.

Runs under the interpreter of the implementation being measured (privsynth's venv for ``privsynth``
and ``reference``, a peers venv for ``smartnoise`` and ``opendp``), so it imports only numpy, pandas
and the implementation itself. It fits, samples, writes the synthetic table to ``--out`` (CSV) and a
small JSON record to ``--meta`` (status, timings inside the process, versions, notes).

Input handling:
- ``--input`` is the table the implementation is given. For ``adult_pgm`` that is the integer-coded
  table; for raw ``adult`` privsynth gets the raw CSV and its schema, while the peers and the
  references get the table already discretised by the harness (same public bins for everyone).
- ``--domain`` is a JSON ``{column: number of codes}`` for coded inputs (Private-PGM format).
- ``--schema`` is what ``privsynth.schema.load_schema`` reads (privsynth schema or PGM domain).

Exit codes: 0 ok, 3 skipped (implementation or method not available), anything else an error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

EXIT_SKIP = 3
REPO = Path(__file__).resolve().parents[1]

METHODS = {
    "privsynth": ("aim", "mst", "mwem", "independent"),
    "smartnoise": ("aim", "mst", "mwem"),
    "opendp": ("aim", "mst"),
    "reference": ("exact-independent", "exact-model"),
}


class Skip(Exception):
    """The implementation or method cannot run here; reported as status 'skipped'."""


# --------------------------------------------------------------------------- privacy conversion
def cdp_delta(rho: float, eps: float) -> float:
    """Smallest delta such that rho-zCDP implies (eps, delta)-DP (Canonne, Kamath, Steinke 2020)."""
    if rho <= 0:
        return 0.0
    amin, amax = 1.01, (eps + 1) / (2 * rho) + 2
    for _ in range(200):  # bisection on the order alpha of the Renyi bound
        alpha = (amin + amax) / 2
        if (2 * alpha - 1) * rho - eps + math.log1p(-1.0 / alpha) < 0:
            amin = alpha
        else:
            amax = alpha
    log_delta = (alpha - 1) * (alpha * rho - eps) + alpha * math.log1p(-1.0 / alpha)
    return min(math.exp(log_delta) / (alpha - 1.0), 1.0)


def cdp_rho(eps: float, delta: float) -> float:
    """Largest rho such that rho-zCDP implies (eps, delta)-DP."""
    if delta >= 1:
        return 0.0
    lo, hi = 0.0, eps + 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if cdp_delta(mid, eps) <= delta:
            lo = mid
        else:
            hi = mid
    return lo


def _up_add(a: float, b: float) -> float:
    """a + b rounded towards +inf, as OpenDP's accounting adds."""
    from fractions import Fraction

    s = a + b
    return math.nextafter(s, math.inf) if Fraction(a) + Fraction(b) > Fraction(s) else s


def _mst_safe_rho(rho: float, n_cols: int) -> float:
    """Largest rho' <= rho whose MST budget split in opendp.extras.mbi 0.16 adds up exactly."""

    def prior(x: float) -> float:
        return math.nextafter(x, -math.inf)

    k = n_cols - 1
    for _ in range(10_000):
        d_multiway = prior(prior(rho - rho * 0.5))
        d_select = prior(prior(d_multiway - d_multiway * 0.9))
        step, total = prior(d_select / k), 0.0
        for _ in range(k):
            total = _up_add(total, step)
        if total <= d_select:
            return rho
        rho = prior(rho)
    return rho


# --------------------------------------------------------------------------- implementations
def run_privsynth(args, df: pd.DataFrame, domain: dict | None, meta: dict) -> pd.DataFrame:
    try:
        import privsynth
        from privsynth.schema import load_schema
        from privsynth.synthesizers import get_synthesizer
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available yet"
        raise Skip(f"privsynth API not importable: {exc!r}") from exc
    meta["versions"] = {"privsynth": getattr(privsynth, "__version__", "?")}
    schema = load_schema(args.schema)
    try:
        cls = get_synthesizer(args.method)
    except Exception as exc:  # noqa: BLE001
        raise Skip(f"privsynth has no synthesizer {args.method!r}: {exc!r}") from exc
    synth = cls(epsilon=args.epsilon, delta=args.delta, seed=args.seed, quiet=True)
    t0 = time.perf_counter()
    synth.fit(df, schema)
    meta["fit_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = synth.sample()
    meta["sample_s"] = time.perf_counter() - t0
    return out


def run_smartnoise(args, df: pd.DataFrame, domain: dict | None, meta: dict) -> pd.DataFrame:
    try:
        import snsynth
        from snsynth import Synthesizer
    except Exception as exc:  # noqa: BLE001
        raise Skip(f"smartnoise-synth not importable: {exc!r}") from exc
    from importlib.metadata import version

    meta["versions"] = {p: version(p) for p in ("smartnoise-synth", "mbi", "opendp")}
    del snsynth
    # smartnoise has no seed argument: it draws from numpy's global RNG (and jax keys it makes).
    np.random.seed(args.seed)
    random.seed(args.seed)
    if args.method == "mwem":
        synth = Synthesizer.create("mwem", epsilon=args.epsilon)  # MWEM is pure eps-DP, no delta
    else:
        synth = Synthesizer.create(args.method, epsilon=args.epsilon, delta=args.delta)
    cols = list(df.columns)
    t0 = time.perf_counter()
    # All columns are already discretised codes: declare them categorical, so no privacy budget
    # is spent on preprocessing (preprocessor_eps=0). smartnoise infers each column's category
    # set from the data (its LabelTransformer): its own behaviour, not a choice of this harness.
    synth.fit(df, categorical_columns=cols, preprocessor_eps=0.0)
    meta["fit_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = synth.sample(len(df))
    meta["sample_s"] = time.perf_counter() - t0
    if not isinstance(out, pd.DataFrame):
        out = pd.DataFrame(np.asarray(out), columns=cols)
    model = getattr(synth, "synthesizer", None)
    if args.iid_out and model is not None and hasattr(model, "synthetic_data"):
        # Same fitted model, rows drawn i.i.d. (mbi's method="sample") instead of mbi 1.1's
        # default randomized rounding; see README ("peer sampling").
        # MarkovRandomField is a frozen dataclass: patch its class for this one call.
        mrf = type(model)
        default = mrf.synthetic_data
        mrf.synthetic_data = lambda self, rows=None, method="sample": default(self, rows, "sample")
        try:
            t0 = time.perf_counter()
            iid = synth.sample(len(df))
            meta["sample_iid_s"] = time.perf_counter() - t0
            if not isinstance(iid, pd.DataFrame):
                iid = pd.DataFrame(np.asarray(iid), columns=cols)
            iid.to_csv(args.iid_out, index=False)
        except Exception as exc:  # noqa: BLE001 - the main (as shipped) output still counts
            meta["iid_error"] = f"{type(exc).__name__}: {exc}"
        finally:
            mrf.synthetic_data = default
    meta["note"] = "seeded through numpy's global RNG; no seed argument in smartnoise-synth"
    return out


def run_opendp(args, df: pd.DataFrame, domain: dict | None, meta: dict) -> pd.DataFrame:
    try:
        import opendp.prelude as dp
        import polars as pl
        from opendp.extras import mbi as _mbi  # noqa: F401 - fails without opendp[mbi]
    except Exception as exc:  # noqa: BLE001
        raise Skip(f"opendp[mbi] not importable: {exc!r}") from exc
    from importlib.metadata import version

    meta["versions"] = {p: version(p) for p in ("opendp", "mbi", "jax")}
    if domain is None:
        raise Skip("opendp runs need a coded input with a domain file")
    dp.enable_features("contrib")
    # All keys are public (0..k-1 for every column), so OpenDP requires delta = 0 inside the
    # table release: spend the (epsilon, delta) budget as the equivalent rho of zCDP.
    rho = cdp_rho(args.epsilon, args.delta)
    keys = {c: list(range(int(domain[c]))) for c in df.columns}
    lf = pl.from_pandas(df.astype("int64")).lazy()
    if args.method == "mst":
        # OpenDP's MST can reject its own budget split by a few ulps (opendp/opendp#2789); step
        # rho down (never up) until the split it will make adds up, checked without the data.
        rho = _mst_safe_rho(rho, len(df.columns))
    t0 = time.perf_counter()
    attempts = []
    for attempt in range(4):
        algorithm = dp.mbi.AIM() if args.method == "aim" else dp.mbi.MST()
        context = dp.Context.compositor(
            data=lf,
            privacy_unit=dp.unit_of(contributions=1),
            privacy_loss=dp.loss_of(rho=rho),
            split_evenly_over=1,
        )
        try:
            table = context.query().contingency_table(keys=keys, algorithm=algorithm).release()
            break
        except dp.OpenDPException as exc:
            if "insufficient budget" not in str(exc) or attempt == 3:
                raise
            attempts.append(rho)
            rho = rho * (1 - 1e-12 * 10**attempt)  # same bug, later in the run: retry smaller
    meta["rho"] = rho
    if attempts:
        meta["retried_rho"] = attempts
    meta["fit_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = table.synthesize(rows=len(df)).to_pandas()
    meta["sample_s"] = time.perf_counter() - t0
    if args.iid_out:  # same fitted model, rows drawn i.i.d.; see README ("peer sampling")
        t0 = time.perf_counter()
        iid = table.synthesize(rows=len(df), method="sample").to_pandas()
        meta["sample_iid_s"] = time.perf_counter() - t0
        iid[list(df.columns)].to_csv(args.iid_out, index=False)
    meta["note"] = "OpenDP samples its noise from OS entropy; the seed does not control it"
    if attempts:
        meta["note"] += f"; retried {len(attempts)}x with a smaller rho (opendp/opendp#2789)"
    return out[list(df.columns)]


def run_reference(args, df: pd.DataFrame, domain: dict | None, meta: dict) -> pd.DataFrame:
    if domain is None:
        raise Skip("reference runs need a coded input with a domain file")
    rng = np.random.default_rng(args.seed)
    n = len(df)
    if args.method == "exact-independent":
        t0 = time.perf_counter()
        out = {}
        for c in df.columns:
            k = int(domain[c])
            counts = np.bincount(df[c].to_numpy(dtype=np.int64), minlength=k)[:k]
            out[c] = rng.choice(k, size=n, p=counts / counts.sum())
        meta["fit_s"] = time.perf_counter() - t0
        meta["sample_s"] = 0.0
        return pd.DataFrame(out)
    return run_exact_model(args, df, domain, meta, rng)


def run_exact_model(args, df, domain, meta, rng) -> pd.DataFrame:
    """Non-private: privsynth's graphical model fit on exact marginals of a tree structure.

    The structure is the Chow-Liu tree (maximum spanning tree of the exact pairwise mutual
    information, the tree MST would pick with no noise); the model is fit by privsynth.model's
    estimator on the exact 1-way and tree 2-way marginals, then sampled by privsynth.
    """
    try:
        from scipy.sparse.csgraph import minimum_spanning_tree

        from privsynth.domain import Domain
        from privsynth.model import Measurement, estimate
    except Exception as exc:  # noqa: BLE001
        raise Skip(f"privsynth.model not importable ({exc!r}); exact-model skipped") from exc
    import privsynth

    meta["versions"] = {"privsynth": getattr(privsynth, "__version__", "?")}
    cols = list(domain)
    dom = Domain.from_dict({c: int(domain[c]) for c in cols})
    codes = df[cols].to_numpy(dtype=np.int64)
    sizes = np.asarray(dom.shape)
    n, d = codes.shape
    t0 = time.perf_counter()
    ones = [np.bincount(codes[:, j], minlength=sizes[j]).astype(float) for j in range(d)]
    mi = np.zeros((d, d))
    pairs = {}
    for i in range(d):
        for j in range(i + 1, d):
            idx = codes[:, i] * sizes[j] + codes[:, j]
            joint = np.bincount(idx, minlength=sizes[i] * sizes[j]).astype(float)
            pairs[i, j] = joint
            p = joint.reshape(sizes[i], sizes[j]) / n
            outer = np.outer(ones[i], ones[j]) / n**2
            nz = p > 0
            mi[i, j] = float((p[nz] * np.log(p[nz] / outer[nz])).sum())
    # maximum spanning tree of MI == minimum spanning tree of (max - MI) on the complete graph
    w = np.where(np.triu(np.ones((d, d)), 1) > 0, mi.max() + 1.0 - mi, 0.0)
    edges = np.transpose(np.nonzero(minimum_spanning_tree(w).toarray()))
    ms = [Measurement((cols[j],), ones[j], 1.0) for j in range(d)]
    ms += [Measurement((cols[i], cols[j]), pairs[min(i, j), max(i, j)], 1.0)
           for i, j in ((min(a, b), max(a, b)) for a, b in edges)]  # fmt: skip
    model = estimate(dom, ms, total=float(n))
    meta["fit_s"] = time.perf_counter() - t0
    meta["note"] = "tree: " + ", ".join(f"{cols[a]}-{cols[b]}" for a, b in edges)
    t0 = time.perf_counter()
    out = model.sample(n, rng)
    meta["sample_s"] = time.perf_counter() - t0
    return pd.DataFrame(out, columns=list(dom.attrs))


RUNNERS = {
    "privsynth": run_privsynth,
    "smartnoise": run_smartnoise,
    "opendp": run_opendp,
    "reference": run_reference,
}


# --------------------------------------------------------------------------- main
def default_paths(data: str, data_dir: Path) -> dict[str, Path | None]:
    if data == "adult_pgm":
        dom = data_dir / "adult_pgm-domain.json"
        return {"input": data_dir / "adult_pgm.csv", "domain": dom, "schema": dom}
    return {
        "input": data_dir / "adult.csv",
        "domain": None,
        "schema": REPO / "privsynth" / "data" / "adult-schema.json",
    }


def read_input(args) -> pd.DataFrame:
    """privsynth reads the CSV with its own reader (trims text, " ?" -> missing); others: pandas."""
    if args.impl == "privsynth":
        try:
            from privsynth.io import read_table
        except Exception:  # noqa: BLE001 - fall back to plain pandas
            return pd.read_csv(args.input)
        return read_table(args.input)
    return pd.read_csv(args.input)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", required=True, choices=sorted(RUNNERS))
    p.add_argument("--method", required=True)
    p.add_argument(
        "--data", required=True, help="dataset name (adult_pgm, adult, or a suite table)"
    )
    p.add_argument("--epsilon", type=float, default=1.0)
    p.add_argument("--delta", type=float, default=1e-9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path, help="synthetic table (CSV)")
    p.add_argument("--meta", type=Path, help="JSON record of the run (default: OUT.json)")
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--input", type=Path, help="table given to the implementation")
    p.add_argument("--domain", type=Path, help="{column: k} JSON for a coded --input")
    p.add_argument("--schema", type=Path, help="schema file for privsynth")
    p.add_argument("--iid-out", type=Path,
                   help="peers: also write rows sampled i.i.d. from the same fitted model here")  # fmt: skip
    args = p.parse_args(argv)

    paths = default_paths(args.data, args.data_dir)
    args.input = args.input or paths["input"]
    args.domain = args.domain or paths["domain"]
    args.schema = args.schema or paths["schema"]
    meta_path = args.meta or args.out.with_suffix(args.out.suffix + ".json")
    meta: dict = {
        "impl": args.impl,
        "method": args.method,
        "data": args.data,
        "epsilon": args.epsilon,
        "delta": args.delta,
        "seed": args.seed,
        "pid": os.getpid(),
        "python": sys.executable,
    }

    code = 0
    try:
        if args.method not in METHODS[args.impl]:
            raise Skip(f"{args.impl} has no method {args.method!r}")
        domain = json.loads(args.domain.read_text()) if args.domain else None
        t0 = time.perf_counter()
        df = read_input(args)
        meta["read_s"] = time.perf_counter() - t0
        out = RUNNERS[args.impl](args, df, domain, meta)
        out.to_csv(args.out, index=False)
        meta["rows"] = len(out)
        meta["status"] = "ok"
    except Skip as exc:
        meta["status"] = "skipped"
        meta["error"] = str(exc)
        code = EXIT_SKIP
    except Exception as exc:  # noqa: BLE001 - report every failure, do not crash silently
        meta["status"] = "error"
        meta["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        code = 1
    meta_path.write_text(json.dumps(meta, indent=1, default=str))
    print(json.dumps({k: meta.get(k) for k in ("status", "error", "fit_s", "rows")}))
    return code


if __name__ == "__main__":
    sys.exit(main())
