#!/usr/bin/env python
"""Benchmark privsynth's synthesizers against peer implementations on UCI Adult.

Each run is a subprocess (``run_one.py``) under the right interpreter, with a wall-clock timeout;
its wall time and peak resident memory (``ru_maxrss`` of that child from ``os.wait4``) are measured
here. The synthetic table is scored against the real one by the mean total variation distance
(TVD = 0.5 * L1 of the normalised tables) over all 2-way and all 3-way marginals, on one finite
domain shared by every implementation. Results go to ``benchmarks/results/synth_<tag>.md`` and
``.json``; runs of the same tag are merged (a rerun of a key replaces the old row).

See benchmarks/README.md for the setup of the peers' environments and example commands.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import fcntl
import itertools
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from run_one import EXIT_SKIP, METHODS  # noqa: E402

DATASETS = ("adult_pgm", "adult", "nltcs", "titanic", "highcard", "wide")
# --suite: the shared coded tables plus two built ones of other shapes (see build_table)
SUITE = ("adult_pgm", "nltcs", "titanic", "highcard", "wide")
SUITE_METHODS = ("aim", "mst", "independent", "exact-independent", "exact-model")
CODED = ("adult_pgm", "nltcs", "titanic")  # <name>.csv + <name>-domain.json in the data dir
IMPLS = ("privsynth", "smartnoise", "opendp", "reference")
DEFAULT_PY = {
    "privsynth": os.environ.get("PRIVSYNTH_BENCH_PY", "/work/venv/bin/python"),
    "reference": os.environ.get("PRIVSYNTH_BENCH_PY", "/work/venv/bin/python"),
    "smartnoise": os.environ.get("PRIVSYNTH_BENCH_SMARTNOISE_PY", "/work/peers-venv/bin/python"),
    "opendp": os.environ.get("PRIVSYNTH_BENCH_OPENDP_PY", "/work/peers-venv-opendp/bin/python"),
}

# --------------------------------------------------------------------------- raw adult binning
# Public, data-independent bins for the numeric columns of raw adult, used when privsynth's reviewed
# schema (privsynth/data/adult-schema.json) is absent or has no bins we can read. Edges are left
# edges of right-open bins; values below the first edge go to bin 0, above the last to the last.
FALLBACK_ADULT_BINS: dict[str, list[float]] = {
    "age": [0, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80],
    "fnlwgt": [0, 50e3, 100e3, 150e3, 200e3, 250e3, 300e3, 350e3, 400e3, 500e3, 750e3],
    "education-num": list(range(1, 17)),
    "capital-gain": [0, 1, 2000, 4000, 6000, 8000, 10e3, 15e3, 20e3, 50e3],
    "capital-loss": [0, 1, 1000, 1500, 1800, 2000, 2200, 2500, 3000],
    "hours-per-week": [0, 10, 20, 25, 30, 35, 40, 41, 45, 50, 55, 60, 70, 80],
}
MISSING = "?"


def _schema_bins(path: Path) -> tuple[dict[str, list[float]], dict[str, list[str]]] | None:
    """Numeric bin edges and category lists from a privsynth schema JSON, if we can read them."""
    if not path.exists():
        return None
    try:
        spec = json.loads(path.read_text())
    except ValueError:
        return None
    cols = spec.get("columns", spec) if isinstance(spec, dict) else spec
    items = cols.items() if isinstance(cols, dict) else ((c.get("name"), c) for c in cols)
    bins: dict[str, list[float]] = {}
    cats: dict[str, list[str]] = {}
    for name, col in items:
        if not isinstance(col, dict) or name is None:
            continue
        for key in ("bins", "edges", "bin_edges", "cuts"):
            if isinstance(col.get(key), list):
                bins[name] = [float(x) for x in col[key]]
                break
        for key in ("categories", "values", "levels"):
            if isinstance(col.get(key), list):
                cats[name] = [str(x).strip() for x in col[key]]
                break
    return (bins, cats) if bins or cats else None


class Encoder:
    """Maps a table (real or synthetic) to integer codes over one finite evaluation domain.

    Every column gets one extra code, ``k``, for values outside the domain (NaN, unknown category,
    out-of-range code): real data never uses it, so an implementation that emits junk pays for it
    in TVD instead of having rows dropped.
    """

    def __init__(self, columns: list[str], sizes: list[int], kinds: dict, source: str):
        self.columns = columns
        self.sizes = np.asarray(sizes, dtype=np.int64)  # without the extra "invalid" code
        self.kinds = kinds  # col -> ("code",) | ("bins", edges) | ("cat", categories)
        self.source = source
        self.schema = None  # a privsynth Schema when privsynth's encoder is used

    @classmethod
    def for_pgm(cls, domain: dict[str, int]) -> Encoder:
        kinds = {c: ("code",) for c in domain}
        return cls(list(domain), list(domain.values()), kinds, "adult_pgm-domain.json")

    @classmethod
    def for_adult(cls, real: pd.DataFrame, schema_path: Path) -> Encoder:
        ps = _privsynth_schema(schema_path)
        if ps is not None:  # privsynth's own reviewed schema and encoder: same bins as privsynth
            dom = ps.domain()
            enc = cls(
                list(dom.attrs), list(dom.shape), {}, f"privsynth encoding with {schema_path}"
            )
            enc.schema = ps
            return enc
        found = _schema_bins(schema_path)
        bins, cats = found if found else ({}, {})
        source = f"harness bins from {schema_path.name}" if found else "harness fallback bins"
        kinds: dict = {}
        sizes = []
        for c in real.columns:
            if pd.api.types.is_numeric_dtype(real[c]):
                edges = bins.get(c) or FALLBACK_ADULT_BINS.get(c)
                if edges is None:
                    raise ValueError(f"no bins for numeric column {c!r}")
                kinds[c] = ("bins", np.asarray(edges, dtype=float))
                sizes.append(len(edges))
            else:
                values = cats.get(c) or sorted(set(_clean_str(real[c]).unique()))
                kinds[c] = ("cat", list(values))
                sizes.append(len(values))
        return cls(list(real.columns), sizes, kinds, source)

    def domain(self) -> dict[str, int]:
        return dict(zip(self.columns, self.sizes.tolist(), strict=True))

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """(n, d) int64 codes; a missing column is all-invalid."""
        if self.schema is not None:
            from privsynth.encoding import encode

            return encode(_normalise(df), self.schema).codes
        out = np.empty((len(df), len(self.columns)), dtype=np.int64)
        for j, c in enumerate(self.columns):
            k = int(self.sizes[j])
            if c not in df.columns:
                out[:, j] = k
                continue
            kind = self.kinds[c]
            if kind[0] == "cat":
                index = pd.Index(kind[1])
                codes = index.get_indexer(_clean_str(df[c]))
                out[:, j] = np.where(codes < 0, k, codes)
                continue
            x = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(x)
            if kind[0] == "bins":
                codes = np.clip(np.searchsorted(kind[1], x, side="right") - 1, 0, k - 1)
            else:
                codes = np.where(bad, 0, x).astype(np.int64)
                bad |= (codes < 0) | (codes >= k) | (np.where(bad, 0, x) != codes)
            out[:, j] = np.where(bad, k, codes)
        return out


def _privsynth_schema(path: Path):
    """privsynth's Schema for ``path``, or None when privsynth or the file is not available."""
    try:
        from privsynth.encoding import encode  # noqa: F401
        from privsynth.schema import load_schema
    except Exception:  # noqa: BLE001 - privsynth not importable: harness bins instead
        return None
    return load_schema(path) if path.exists() else None


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """As privsynth's reader does: trim text, missing markers ("?", "") to NA."""
    df = df.copy()
    for c in df.columns:
        if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]):
            s = df[c].astype("string").str.strip()
            df[c] = s.mask(s.isin(["?", ""])).astype(object)
            num = pd.to_numeric(df[c], errors="coerce")
            if num.notna().sum() == df[c].notna().sum() and df[c].notna().any():
                df[c] = num
    return df


def _clean_str(s: pd.Series) -> pd.Series:
    s = s.astype("string").str.strip()
    return s.fillna(MISSING)  # privsynth may decode the " ?" marker to a missing value


# --------------------------------------------------------------------------- marginal TVD
def _counts(idx: np.ndarray, cells: int) -> np.ndarray:
    return np.bincount(idx, minlength=cells)


def mean_tvd(real: np.ndarray, syn: np.ndarray, sizes: np.ndarray, way: int) -> float:
    """Mean TVD over all ``way``-way marginals of two coded tables (codes may equal size)."""
    if len(syn) == 0:
        return 1.0
    shape_all = sizes + 1  # room for the invalid code
    r_cols = [np.ascontiguousarray(real[:, j]) for j in range(real.shape[1])]
    s_cols = [np.ascontiguousarray(syn[:, j]) for j in range(syn.shape[1])]
    nr, ns = len(real), len(syn)
    tvds = []
    for combo in itertools.combinations(range(real.shape[1]), way):
        shape = tuple(int(shape_all[j]) for j in combo)
        cells = int(np.prod(shape))
        r_idx = np.ravel_multi_index([r_cols[j] for j in combo], shape)
        s_idx = np.ravel_multi_index([s_cols[j] for j in combo], shape)
        if cells <= 4 * (nr + ns) or cells <= 1 << 20:
            p = _counts(r_idx, cells) / nr
            q = _counts(s_idx, cells) / ns
        else:  # sparse: only the cells that occur in either table
            uniq, inv = np.unique(np.concatenate([r_idx, s_idx]), return_inverse=True)
            p = np.bincount(inv[:nr], minlength=len(uniq)) / nr
            q = np.bincount(inv[nr:], minlength=len(uniq)) / ns
        tvds.append(0.5 * np.abs(p - q).sum())
    return float(np.mean(tvds))


# --------------------------------------------------------------------------- running children
def run_child(cmd: list[str], timeout: float, log_path: Path) -> dict:
    """Run ``cmd``; return wall seconds, peak RSS (MB) of the child tree, return code, timeout."""
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO
        )
    timed_out = False
    status = ru = None
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > timeout:
            timed_out = True
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                time.sleep(2 if sig == signal.SIGTERM else 0)
                pid, status, ru = os.wait4(proc.pid, os.WNOHANG if sig == signal.SIGTERM else 0)
                if pid:
                    break
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen quiet
    return {
        "seconds": wall,
        "peak_mb": ru.ru_maxrss / 1024.0 if ru is not None else None,  # Linux: KiB
        "returncode": proc.returncode,
        "timed_out": timed_out,
    }


def tail(path: Path, n: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


# --------------------------------------------------------------------------- datasets
def build_table(name: str, data_dir: Path, work: Path) -> tuple[Path, Path]:
    """Write a built benchmark table (coded CSV + domain JSON) into ``work``; deterministic.

    ``highcard`` (48,842 x 9): adult_pgm with two high-cardinality columns made by crossing
    columns (age x education-num: 1,360 codes; occupation x native-country: 630 codes).
    ``wide`` (21,574 x 44): the 16 NLTCS indicators side by side with two blocks of 14 adult_pgm
    columns (the first 21,574 rows, and 21,574 rows drawn with seed 0): many columns, with
    strong dependence inside blocks and none across them.
    """
    adult = pd.read_csv(data_dir / "adult_pgm.csv")
    dom = json.loads((data_dir / "adult_pgm-domain.json").read_text())
    if name == "highcard":
        keep = ["fnlwgt", "marital-status", "relationship", "race", "sex", "capital-gain",
                "income>50K"]  # fmt: skip
        df = adult[keep].copy()
        df["age_x_edu"] = adult["age"] * dom["education-num"] + adult["education-num"]
        df["occ_x_country"] = adult["occupation"] * dom["native-country"] + adult["native-country"]
        domain = {c: dom[c] for c in keep}
        domain["age_x_edu"] = dom["age"] * dom["education-num"]
        domain["occ_x_country"] = dom["occupation"] * dom["native-country"]
    elif name == "wide":
        nltcs = pd.read_csv(data_dir / "nltcs.csv")
        n = len(nltcs)
        a = adult.iloc[:n].reset_index(drop=True).add_prefix("a_")
        rows = np.random.default_rng(0).choice(len(adult), n, replace=False)
        b = adult.iloc[rows].reset_index(drop=True).add_prefix("b_")
        nl = nltcs.rename(columns=lambda c: "n_" + c.replace(" ", "_").replace("/", "_"))
        df = pd.concat([nl, a, b], axis=1)
        domain = {c: 2 for c in nl.columns}
        domain.update({f"a_{c}": k for c, k in dom.items()})
        domain.update({f"b_{c}": k for c, k in dom.items()})
    else:
        raise ValueError(f"no built table {name!r}")
    csv, dom_path = work / f"{name}.csv", work / f"{name}-domain.json"
    df[list(domain)].to_csv(csv, index=False)
    dom_path.write_text(json.dumps(domain))
    return csv, dom_path


class Dataset:
    def __init__(self, name: str, data_dir: Path, work: Path, schema: Path):
        self.name = name
        if name != "adult":
            if name in CODED:
                self.raw_path = data_dir / f"{name}.csv"
                domain_path = data_dir / f"{name}-domain.json"
            else:
                self.raw_path, domain_path = build_table(name, data_dir, work)
            self.real = pd.read_csv(self.raw_path)
            self.encoder = Encoder.for_pgm(json.loads(domain_path.read_text()))
            self.encoder.source = domain_path.name
            self.coded_path, self.domain_path = self.raw_path, domain_path
            self.schema_path = domain_path
        else:
            self.raw_path = data_dir / "adult.csv"
            self.real = pd.read_csv(self.raw_path)
            self.encoder = Encoder.for_adult(self.real, schema)
            self.schema_path = schema
            # peers and references get the table discretised with the same public bins
            self.coded_path = work / "adult_coded.csv"
            self.domain_path = work / "adult_coded-domain.json"
        self.codes = self.encoder.encode(self.real)
        if name == "adult":
            pd.DataFrame(self.codes, columns=self.encoder.columns).to_csv(
                self.coded_path, index=False
            )
            self.domain_path.write_text(json.dumps(self.encoder.domain()))
        # what the peers and references return for raw adult: codes over the same domain
        self.code_encoder = Encoder.for_pgm(self.encoder.domain())
        if (self.codes == self.encoder.sizes).any():
            raise ValueError(f"{name}: real data has values outside the evaluation domain")

    def inputs_for(self, impl: str) -> list[str]:
        if impl == "privsynth":
            return ["--input", str(self.raw_path), "--schema", str(self.schema_path)]
        return ["--input", str(self.coded_path), "--domain", str(self.domain_path)]


# --------------------------------------------------------------------------- orchestration
def plan_runs(args) -> list[dict]:
    runs = []
    for data in args.datasets:
        for impl in args.impls:
            methods = [m for m in (args.methods or METHODS[impl]) if m in METHODS[impl]]
            for method in methods:
                epsilons = [None] if impl == "reference" else args.epsilons
                for eps in epsilons:
                    for seed in args.seeds:
                        runs.append(
                            {"data": data, "impl": impl, "method": method, "epsilon": eps,
                             "seed": seed}
                        )  # fmt: skip
    runs.sort(key=lambda r: r["method"] != "aim")  # longest first, so --jobs overlaps them
    return runs


def key(r: dict) -> tuple:
    return (r["data"], r["impl"], r["method"], r["epsilon"], r["seed"])


def timeout_for(args, method: str) -> float:
    return float(args.method_timeout.get(method, args.timeout))


def execute(run: dict, args, datasets: dict[str, Dataset], work: Path) -> dict:
    ds = datasets[run["data"]]
    impl, method = run["impl"], run["method"]
    eps = run["epsilon"] if run["epsilon"] is not None else 1.0
    tag = f"{run['data']}_{impl}_{method}_e{run['epsilon']}_s{run['seed']}"
    out, meta_path, log = work / f"{tag}.csv", work / f"{tag}.json", work / f"{tag}.log"
    iid_out = work / f"{tag}.iid.csv"
    for p in (out, meta_path, iid_out):
        p.unlink(missing_ok=True)
    py = args.python[impl]
    cmd = [py, str(HERE / "run_one.py"), "--impl", impl, "--method", method,
           "--data", run["data"], "--epsilon", repr(eps), "--delta", repr(args.delta),
           "--seed", str(run["seed"]), "--out", str(out), "--meta", str(meta_path),
           *ds.inputs_for(impl)]  # fmt: skip
    if impl in ("smartnoise", "opendp") and args.peer_iid:
        cmd += ["--iid-out", str(iid_out)]
    res = dict(run, delta=args.delta, command=shlex.join(cmd))
    res.update(run_child(cmd, timeout_for(args, method), log))
    res["jobs"], res["load5_after"] = args.jobs, os.getloadavg()[1]
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    res.update({k: meta.get(k) for k in ("fit_s", "sample_s", "rows", "versions", "note")})
    if res["timed_out"]:
        res["status"] = "timeout"
        res["error"] = f"killed after {timeout_for(args, method):.0f} s"
    elif res["returncode"] == EXIT_SKIP:
        res["status"], res["error"] = "skipped", meta.get("error", "")
    elif res["returncode"] != 0 or not out.exists():
        res["status"] = "error"
        res["error"] = meta.get("error") or tail(log, 400)
        res["log_tail"] = tail(log)
    else:
        enc = ds.encoder if impl == "privsynth" else ds.code_encoder
        try:
            t0 = time.perf_counter()
            syn = enc.encode(pd.read_csv(out))
            res["tvd2"] = mean_tvd(ds.codes, syn, enc.sizes, 2)
            res["tvd3"] = mean_tvd(ds.codes, syn, enc.sizes, 3)
            res["invalid_frac"] = float((syn == enc.sizes).any(axis=1).mean())
            if iid_out.exists():
                iid = enc.encode(pd.read_csv(iid_out))
                res["tvd2_iid"] = mean_tvd(ds.codes, iid, enc.sizes, 2)
                res["tvd3_iid"] = mean_tvd(ds.codes, iid, enc.sizes, 3)
            res["score_s"] = time.perf_counter() - t0
            res["status"] = "ok"
        except Exception as exc:  # noqa: BLE001 - an unscorable output is that run's error
            res["status"] = "error"
            res["error"] = f"output could not be scored: {type(exc).__name__}: {exc}"
        if not args.keep_synth:
            out.unlink(missing_ok=True)
            iid_out.unlink(missing_ok=True)
    print(
        f"[{res['status']:>7}] {tag}: {res['seconds']:.1f}s {res['peak_mb'] or 0:.0f}MB"
        + (f" tvd2={res['tvd2']:.4f} tvd3={res['tvd3']:.4f}" if res["status"] == "ok" else "")
        + (f" iid: {res['tvd2_iid']:.4f} {res['tvd3_iid']:.4f}" if "tvd2_iid" in res else "")
        + (f" ({str(res.get('error', ''))[:200]})" if res["status"] != "ok" else ""),
        flush=True,
    )
    return res


# --------------------------------------------------------------------------- reporting
def _f(x, fmt: str) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, fmt)


def _eps(e) -> str:
    return "-" if e is None else f"{e:g}"


def summarise(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["data"], r["impl"], r["method"], r["epsilon"]), []).append(r)
    out = []
    for (data, impl, method, eps), rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]

        def med(field, rs=ok):
            vals = [r[field] for r in rs if r.get(field) is not None]
            return float(np.median(vals)) if vals else None

        statuses = sorted({r["status"] for r in rs})
        out.append(
            {"data": data, "impl": impl, "method": method, "epsilon": eps,
             "ok": len(ok), "runs": len(rs), "tvd2": med("tvd2"), "tvd3": med("tvd3"),
             "tvd2_iid": med("tvd2_iid"), "tvd3_iid": med("tvd3_iid"),
             "seconds": med("seconds", ok or rs), "peak_mb": med("peak_mb", ok or rs),
             "statuses": ",".join(statuses)}
        )  # fmt: skip
    return out


def sort_key(r: dict) -> tuple:
    """Dataset, then epsilon (references first), then method, then impl: peers side by side."""
    order = {i: n for n, i in enumerate(IMPLS)}
    return (
        DATASETS.index(r["data"]) if r["data"] in DATASETS else 9,
        -1 if r["epsilon"] is None else r["epsilon"],
        r["method"],
        order.get(r["impl"], 9),
        r.get("seed", 0),
    )


def machine() -> str:
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}){mem}"


def render(rows: list[dict], info: dict) -> str:
    rows = sorted(rows, key=sort_key)
    L = [
        f"# Synthesizer benchmark — {info['tag']}",
        "",
        f"- machine: {info['machine']}",
        f"- delta: {info['delta']:g}; TVD domain for raw adult: {info.get('adult_bins', 'n/a')}",
        "- jobs: runs of this harness at once; load: the machine's 5-minute load average when "
        "the run ended (other processes included). On 2 cores, seconds are comparable only "
        "between runs with jobs 1 and load below 2",
        "- 2-way / 3-way TVD: mean over all 2-way / 3-way marginals of the total variation "
        "distance between the real and the synthetic table (0 = identical, 1 = disjoint)",
        "- seconds: wall time of the whole child process (interpreter start, imports, read, fit, "
        "sample, write); fit s: time inside fit as reported by the child; peak MB: max RSS of "
        "the child",
        "- reference rows are non-private (epsilon '-')",
        "- TVD iid (peers only): the same fitted peer model, rows drawn i.i.d. from it (mbi's "
        "method='sample') instead of the peers' default randomized rounding (see README)",
        "",
        "## Summary (medians over seeds)",
        "",
        "| dataset | impl | method | epsilon | ok/runs | 2-way TVD | 3-way TVD | seconds "
        "| peak MB | status | 2-way TVD iid | 3-way TVD iid |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in sorted(summarise(rows), key=sort_key):
        L.append(
            f"| {s['data']} | {s['impl']} | {s['method']} | {_eps(s['epsilon'])} "
            f"| {s['ok']}/{s['runs']} | {_f(s['tvd2'], '.4f')} | {_f(s['tvd3'], '.4f')} "
            f"| {_f(s['seconds'], '.1f')} | {_f(s['peak_mb'], '.0f')} | {s['statuses']} "
            f"| {_f(s['tvd2_iid'], '.4f')} | {_f(s['tvd3_iid'], '.4f')} |"
        )
    L += aim_vs_baseline(summarise(rows))
    L += [
        "",
        "## All runs",
        "",
        "| dataset | impl | method | epsilon | seed | 2-way TVD | 3-way TVD | seconds | fit s "
        "| peak MB | status | 2-way TVD iid | 3-way TVD iid | jobs | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        L.append(
            f"| {r['data']} | {r['impl']} | {r['method']} | {_eps(r['epsilon'])} | {r['seed']} "
            f"| {_f(r.get('tvd2'), '.4f')} | {_f(r.get('tvd3'), '.4f')} "
            f"| {_f(r.get('seconds'), '.1f')} | {_f(r.get('fit_s'), '.1f')} "
            f"| {_f(r.get('peak_mb'), '.0f')} | {r['status']} "
            f"| {_f(r.get('tvd2_iid'), '.4f')} | {_f(r.get('tvd3_iid'), '.4f')} "
            f"| {r.get('jobs', '-')} | {_f(r.get('load5_after'), '.1f')} |"
        )
    notes = [r for r in rows if r["status"] != "ok" or r.get("note") or r.get("invalid_frac")]
    if notes:
        L += ["", "## Notes", ""]
        for r in notes:
            what = r.get("error") if r["status"] != "ok" else r.get("note")
            if r.get("invalid_frac"):
                what = f"{what or ''}; {100 * r['invalid_frac']:.2f}% of rows out of domain"
            what = " ".join(str(what).split())[:400]
            L.append(
                f"- {r['data']}/{r['impl']}/{r['method']}/eps={_eps(r['epsilon'])}/seed="
                f"{r['seed']}: **{r['status']}** — {what}"
            )
    versions: dict[str, dict] = {}
    for r in rows:
        if r.get("versions"):
            versions.setdefault(r["impl"], {}).update(r["versions"])
    if versions:
        L += ["", "## Versions", ""]
        for impl, v in sorted(versions.items()):
            L.append(f"- {impl}: " + ", ".join(f"{k} {x}" for k, x in sorted(v.items())))
    return "\n".join(L) + "\n"


def aim_vs_baseline(summary: list[dict]) -> list[str]:
    """Where privsynth's AIM is worse than the DP independent baseline or than the Private-PGM
    reference AIM (OpenDP's ``opendp.extras.mbi``, impl ``opendp``) at the same epsilon."""
    by = {(s["data"], s["impl"], s["method"], s["epsilon"]): s for s in summary}
    floor = {s["data"]: s for s in summary if s["method"] == "exact-independent"}
    out = ["", "## AIM against the DP independent baseline and the Private-PGM reference AIM "
           "(2-way TVD, medians over seeds)", "",
           "| dataset | epsilon | AIM | independent | AIM / independent | reference AIM (runs ok) "
           "| AIM / reference | non-private independent | verdict |",
           "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    found = False
    for (data, impl, method, eps), s in sorted(
        by.items(), key=lambda kv: (str(kv[0][0]), kv[0][3] or 0)
    ):
        base = by.get((data, "privsynth", "independent", eps))
        if impl != "privsynth" or method != "aim" or base is None:
            continue
        if s["tvd2"] is None or base["tvd2"] is None:
            continue
        found = True
        ratio = s["tvd2"] / base["tvd2"]
        ref = by.get((data, "opendp", "aim", eps))
        ref_txt, ref_ratio, worse_ref = "not run", "-", False
        if ref is not None:
            ref_txt = f"{_f(ref['tvd2'], '.4f')} ({ref['ok']}/{ref['runs']} {ref['statuses']})"
            if ref["tvd2"] is not None:
                ref_ratio = f"{s['tvd2'] / ref['tvd2']:.3f}"
                worse_ref = s["tvd2"] > ref["tvd2"]
        fl = floor.get(data, {}).get("tvd2")
        worse = [w for w, bad in (("independent", ratio > 1), ("reference", worse_ref)) if bad]
        verdict = f"**AIM worse than {' and '.join(worse)}**" if worse else "AIM better"
        out.append(
            f"| {data} | {_eps(eps)} | {s['tvd2']:.4f} | {base['tvd2']:.4f} | {ratio:.3f} "
            f"| {ref_txt} | {ref_ratio} | {_f(fl, '.4f')} | {verdict} |"
        )
    return out if found else []


class Saver:
    """Merges finished runs into the tag's JSON and Markdown (atomic writes, locked)."""

    def __init__(self, json_path: Path, args, datasets: dict) -> None:
        self.json_path = json_path
        self.args = args
        self.fresh = args.fresh
        self.lock = threading.Lock()
        self.lock_path = Path(tempfile.gettempdir()) / f"privsynth-bench-{json_path.stem}.lock"
        self.info = {
            "tag": args.tag,
            "machine": machine(),
            "delta": args.delta,
            "python": sys.version.split()[0],
        }
        if "adult" in datasets:
            self.info["adult_bins"] = datasets["adult"].encoder.source

    def save(self, res: dict) -> None:
        with self.lock, open(self.lock_path, "w") as lf:
            fcntl.flock(lf, fcntl.LOCK_EX)  # other harness processes writing the same tag
            old: dict = {}
            if self.json_path.exists() and not self.fresh:
                old = json.loads(self.json_path.read_text())
            self.fresh = False
            merged = {key(r): r for r in old.get("runs", [])}
            merged[key(res)] = res
            info = dict(self.info)
            if "adult_bins" not in info and old.get("info", {}).get("adult_bins"):
                info["adult_bins"] = old["info"]["adult_bins"]
            rows = sorted(merged.values(), key=sort_key)
            _atomic_write(self.json_path, json.dumps({"info": info, "runs": rows}, indent=1,
                                                      default=str))  # fmt: skip
            _atomic_write(self.json_path.with_suffix(".md"), render(rows, info))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def parse_timeouts(items: list[str]) -> dict[str, float]:
    out = {}
    for it in items:
        m, _, s = it.partition("=")
        out[m] = float(s)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", action="store_true",
                   help=f"the multi-dataset suite: {', '.join(SUITE)}; methods "
                   f"{', '.join(SUITE_METHODS)}; privsynth and reference (and peers if found)")  # fmt: skip
    p.add_argument("--datasets", nargs="+", choices=DATASETS, help="default: adult_pgm adult")
    p.add_argument("--impls", nargs="+", choices=IMPLS, help="default: every one found")
    p.add_argument("--methods", nargs="+", help="default: every method of each impl")
    p.add_argument("--epsilons", nargs="+", type=float, default=[0.1, 1.0, 10.0])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--delta", type=float, default=1e-9)
    p.add_argument("--timeout", type=float, default=900.0, help="per-run wall clock, seconds")
    p.add_argument("--method-timeout", nargs="*", default=[], metavar="METHOD=SECONDS",
                   help="per-method override, e.g. aim=1200")  # fmt: skip
    p.add_argument("--no-peer-iid", dest="peer_iid", action="store_false",
                   help="do not also score i.i.d. samples from the peers' fitted models")  # fmt: skip
    p.add_argument("--jobs", type=int, default=1, help="concurrent runs (timings then contend)")
    for impl in ("privsynth", "smartnoise", "opendp"):
        p.add_argument(f"--python-{impl}", default=DEFAULT_PY[impl], help=f"interpreter: {impl}")
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--schema", type=Path, default=REPO / "privsynth" / "data" / "adult-schema.json",
                   help="privsynth schema for raw adult")  # fmt: skip
    p.add_argument("--results-dir", type=Path, default=HERE / "results")
    p.add_argument("--tag", default=_dt.date.today().isoformat(), help="results file suffix")
    p.add_argument("--fresh", action="store_true", help="do not merge with existing results")
    p.add_argument("--work-dir", type=Path, help="synthetic tables and logs (default: temp dir)")
    p.add_argument("--keep-synth", action="store_true", help="keep the synthetic CSVs")
    p.add_argument("--dry-run", action="store_true", help="print the planned runs and exit")
    args = p.parse_args(argv)
    if args.suite:
        args.datasets = args.datasets or list(SUITE)
        args.methods = args.methods or list(SUITE_METHODS)
        if args.tag == _dt.date.today().isoformat():
            args.tag = f"suite_{args.tag}"
    args.datasets = args.datasets or ["adult_pgm", "adult"]
    args.method_timeout = parse_timeouts(args.method_timeout)
    args.python = {
        "privsynth": args.python_privsynth,
        "reference": args.python_privsynth,
        "smartnoise": args.python_smartnoise,
        "opendp": args.python_opendp,
    }
    if args.impls is None:
        args.impls = [i for i in IMPLS if Path(args.python[i]).exists()]
        missing = sorted(set(IMPLS) - set(args.impls))
        if missing:
            print(f"not found, skipped: {missing} (see --python-* flags)", file=sys.stderr)

    runs = plan_runs(args)
    if args.dry_run:
        for r in runs:
            print(r)
        return 0
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="privsynth-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{len(runs)} runs; work dir {work}", flush=True)
    datasets = {d: Dataset(d, args.data_dir, work, args.schema) for d in args.datasets}

    args.results_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.results_dir / f"synth_{args.tag}.json"
    saver = Saver(json_path, args, datasets)

    def one(run: dict) -> dict:
        res = execute(run, args, datasets, work)
        saver.save(res)  # after every run: an interrupted benchmark keeps what it measured
        return res

    if args.jobs > 1:
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(one, runs))
    else:
        for r in runs:
            one(r)
    print(f"wrote {json_path.with_suffix('.md')} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
