"""Benchmark of the privacy-attack suite on Adult, side by side with Anonymeter and SDMetrics.

Adult (32,561 rows): train 80%, holdout 20% (seeded split), synthetic the same size as train,
every record evaluated. The synthetic table (``--synthetic``) is either

* ``independent`` (default): ``privsynth synth --method independent -e 1`` fitted on train (a
  real, if weak, generator that never sees the holdout), or
* ``holdout-jitter``: holdout rows drawn with replacement and jittered (a disjoint stand-in).

``--scale N`` instead runs N x N x N rows (Adult resampled with replacement and jittered, three
independent draws). Every run is its own process (``--child``), so wall time and peak RSS
(``ru_maxrss`` of that child, from ``os.wait4``) are measured the same way for every tool; the
child also reports the seconds inside the tool's own calls (excluding imports and reading the
tables) and its CPU seconds. Peers run with the interpreter of ``--peers-python`` (default
``.venv-peers/bin/python`` in the repository root, or ``$PRIVSYNTH_ATTACK_PEERS_PY``; install it
from the ``[anonymeter]`` block of ``benchmarks/peers-requirements.txt``), at their default
sample sizes, in the same run as ours (so both see the same machine load), round robin (ours 1,
peer 1, ours 2, ...: on a machine whose speed drifts over minutes, each tool's runs straddle the
same period; ``--repeats 3 --peer-repeats 2`` alternates them all):

* Anonymeter: ``SinglingOutEvaluator(...).evaluate()`` (multivariate, 500 attacks),
  ``LinkabilityEvaluator`` (500 attacks, aux columns = first / second half of the columns),
  ``InferenceEvaluator`` (500 attacks) once per column as the secret (our attribute attack also
  covers every column), all with ``control=holdout``.
* SDMetrics: ``DCROverfittingProtection`` (train, synthetic, holdout) and
  ``DCRBaselineProtection`` (train, synthetic), no subsampling (their default).

    nice -n 10 python benchmarks/attacks_bench.py [--repeats 3] [--no-peers] [--peers anonymeter sdmetrics]
    python benchmarks/attacks_bench.py --scale 1000000 --no-peers [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
PEERS_PY = os.environ.get("PRIVSYNTH_ATTACK_PEERS_PY", str(ROOT / ".venv-peers" / "bin" / "python"))
MEMORY_TARGET_MIB = 1536  # issue 10: the full suite on Adult within 1.5 GB
SPEED_TARGET = 10.0  # issue 10: at least 10x faster than Anonymeter's three evaluators
TABLES = ("train", "holdout", "synthetic")


# --- data -------------------------------------------------------------------------------
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


def split(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = load()
    rng = np.random.default_rng(seed)
    p = rng.permutation(len(df))
    n_tr = int(0.8 * len(df))
    return df.iloc[p[:n_tr]].reset_index(drop=True), df.iloc[p[n_tr:]].reset_index(drop=True)


def synth_independent(train: pd.DataFrame, seed: int, work: Path) -> pd.DataFrame:
    """privsynth's independent synthesizer (epsilon 1, seeded noise) fitted on train,
    len(train) rows."""
    exe = Path(sys.executable).with_name("privsynth")
    cmd = [str(exe)] if exe.exists() else [shutil.which("privsynth") or "privsynth"]
    src, out = work / "train_for_synth.csv", work / "synthetic_independent.csv"
    train.to_csv(src, index=False)
    schema = ROOT / "privsynth" / "data" / "adult-schema.json"
    cmd += ["synth", str(src), "-s", str(schema), "-e", "1", "-m", "independent"]
    # --noise-seed: the same table on every run of the benchmark (seeded noise: not a release)
    cmd += ["-n", str(len(train)), "--seed", str(seed), "--noise-seed", str(seed)]
    cmd += ["-o", str(out), "-q"]
    subprocess.run(cmd, check=True)
    syn = pd.read_csv(out, skipinitialspace=True, na_values=["?"])
    return syn.astype({c: train[c].dtype for c in train.columns if c in NUMERIC}, errors="ignore")


def adult_triple(seed: int, synthetic: str, work: Path) -> tuple[pd.DataFrame, ...]:
    train, holdout = split(seed)
    if synthetic == "independent":
        syn = synth_independent(train, seed, work)
    else:
        rng = np.random.default_rng(seed + 1)
        pick = rng.integers(0, len(holdout), len(train))
        syn = jitter(holdout.iloc[pick].reset_index(drop=True), rng)
    return train, holdout, syn


def scaled_triple(n: int, seed: int) -> tuple[pd.DataFrame, ...]:
    df = load()
    rng = np.random.default_rng(seed)
    return tuple(
        jitter(df.iloc[rng.integers(0, len(df), n)].reset_index(drop=True), rng) for _ in TABLES
    )


def write_triple(tables: tuple[pd.DataFrame, ...], work: Path) -> None:
    for name, df in zip(TABLES, tables, strict=True):
        df.to_parquet(work / f"{name}.parquet", index=False)


def read_triple(work: Path) -> tuple[pd.DataFrame, ...]:
    return tuple(pd.read_parquet(work / f"{name}.parquet") for name in TABLES)


# --- children (one tool per process) ------------------------------------------------------
def child_ours(
    work: Path, seed: int, jobs: int = -1, qi: list[str] | None = None
) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import resource

    from attacks import run_audit

    train, holdout, syn = read_triple(work)
    t0, c0 = time.perf_counter(), time.process_time()

    def progress(step: str, done: int, total: int) -> None:
        el, cpu = time.perf_counter() - t0, time.process_time() - c0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  [{el:7.1f} s, cpu {cpu:7.1f} s, {rss:6.0f} MiB] {step} {done}/{total}",
              file=sys.stderr, flush=True)  # fmt: skip

    res = run_audit(train, holdout, syn, seed=seed, progress=progress, n_jobs=jobs, qi=qi)
    out: dict[str, Any] = {
        "qi": qi,
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "ok": res.ok,
        "attacks": {a.attack: [a.status, a.seconds, a.message] for a in res.attacks},
        "prepare_seconds": res.settings.get("prepare_seconds"),
        "search_seconds": res.settings.get("search_seconds"),
        "neighbors": res.settings["neighbors"],
        "metrics": {},
    }
    for name in (
        "exact_match.train_rate",
        "exact_match.excess",
        "dcr.share_closer_to_train",
        "dcr.nndr_ratio",
        "membership.distance.auc",
        "membership.density.auc",
        "attribute.max_risk",
    ):
        e = res.metric(name).estimate
        out["metrics"][name] = [e.value, e.ci_low, e.ci_high]
    return out


def child_anonymeter(work: Path, seed: int) -> dict[str, Any]:
    from importlib.metadata import version

    from anonymeter.evaluators import (
        InferenceEvaluator,
        LinkabilityEvaluator,
        SinglingOutEvaluator,
    )

    train, holdout, syn = read_triple(work)
    cols = list(train.columns)
    out: dict[str, Any] = {"version": version("anonymeter"), "parts": {}, "risks": {}}
    t0, c0 = time.perf_counter(), time.process_time()
    t = time.perf_counter()
    so = SinglingOutEvaluator(ori=train, syn=syn, control=holdout, seed=seed).evaluate()
    out["parts"]["singling_out"] = time.perf_counter() - t
    out["risks"]["singling_out"] = list(so.risk())
    t = time.perf_counter()
    aux = (cols[: len(cols) // 2], cols[len(cols) // 2 :])
    lk = LinkabilityEvaluator(ori=train, syn=syn, control=holdout, aux_cols=aux).evaluate()
    out["parts"]["linkability"] = time.perf_counter() - t
    out["risks"]["linkability"] = list(lk.risk())
    t = time.perf_counter()
    worst = None
    for secret in cols:
        ev = InferenceEvaluator(
            ori=train,
            syn=syn,
            control=holdout,
            aux_cols=[c for c in cols if c != secret],
            secret=secret,
        ).evaluate()
        r = ev.risk()
        if worst is None or r.value > worst[1][0]:
            worst = (secret, list(r))
    out["parts"]["inference_all_columns"] = time.perf_counter() - t
    out["risks"]["inference_max"] = worst
    out["seconds"] = time.perf_counter() - t0
    out["cpu_seconds"] = time.process_time() - c0
    return out


def child_sdmetrics(work: Path, seed: int) -> dict[str, Any]:
    from importlib.metadata import version

    from sdmetrics.single_table import DCRBaselineProtection, DCROverfittingProtection

    np.random.seed(seed)
    train, holdout, syn = read_triple(work)
    cols = {c: {"sdtype": "numerical" if c in NUMERIC else "categorical"} for c in train.columns}
    meta = {"tables": {"adult": {"columns": cols}}}
    out: dict[str, Any] = {"version": version("sdmetrics"), "parts": {}, "scores": {}}
    t0, c0 = time.perf_counter(), time.process_time()
    t = time.perf_counter()
    out["scores"]["DCROverfittingProtection"] = float(
        DCROverfittingProtection.compute(train, syn, holdout, meta, "adult")
    )
    out["parts"]["DCROverfittingProtection"] = time.perf_counter() - t
    t = time.perf_counter()
    out["scores"]["DCRBaselineProtection"] = float(
        DCRBaselineProtection.compute(train, syn, meta, "adult")
    )
    out["parts"]["DCRBaselineProtection"] = time.perf_counter() - t
    out["seconds"] = time.perf_counter() - t0
    out["cpu_seconds"] = time.process_time() - c0
    return out


CHILDREN = {"ours": child_ours, "anonymeter": child_anonymeter, "sdmetrics": child_sdmetrics}


def run_child(
    tool: str,
    python: str,
    work: Path,
    seed: int,
    timeout: float,
    jobs: int | None = None,
    qi: str = "none",
) -> dict[str, Any]:
    """Run one tool in its own process; add its wall time and peak RSS (MiB)."""
    res_file = work / f"result_{tool}.json"
    res_file.unlink(missing_ok=True)
    cmd = [python, str(Path(__file__).resolve()), "--child", tool, "--work", str(work)]
    cmd += ["--seed", str(seed)]
    if jobs is not None:
        cmd += ["--jobs", str(jobs), "--qi", qi]
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    deadline = t0 + timeout
    status, ru = 0, None
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            _, status, ru = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    label = tool if jobs is None else f"{tool} (--jobs {jobs})"
    out: dict[str, Any] = {"tool": label, "process_seconds": wall, "loadavg_start": load0}
    out["loadavg_end"] = os.getloadavg()
    out["peak_rss_mib"] = ru.ru_maxrss / 1024 if ru else None
    code = os.waitstatus_to_exitcode(status)
    out["exit"] = code
    if code == 0 and res_file.exists():
        out.update(json.loads(res_file.read_text()))
    else:
        out["error"] = "timeout" if wall >= timeout else f"exit {code}"
    return out


# --- report -------------------------------------------------------------------------------
def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"tool": runs[0]["tool"], "error": runs[0].get("error"), "n": 0}

    def med(key: str) -> float:
        return statistics.median(float(r[key]) for r in ok)

    return {
        "tool": ok[0]["tool"],
        "n": len(ok),
        "seconds": med("seconds"),
        "seconds_all": [round(r["seconds"], 2) for r in ok],
        "cpu_seconds": med("cpu_seconds"),
        "process_seconds": med("process_seconds"),
        "peak_rss_mib": med("peak_rss_mib"),
        "loadavg": [r["loadavg_start"][0] for r in ok],
        "last": ok[-1],
    }


def print_report(rows: list[dict[str, Any]], header: str) -> None:
    print(f"\n{header}")
    print("| tool | runs | tool seconds (median; all) | CPU s | process s | peak RSS MiB | "
          "load avg at start | ours faster by |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    ours = [r for r in rows if r["tool"].startswith("ours") and r["n"]]
    for r in rows:
        if not r["n"]:
            print(f"| {r['tool']} | 0 | {r.get('error')} | | | | | |")
            continue
        ratio = ""
        if ours and not r["tool"].startswith("ours"):
            ratio = "; ".join(
                f"{r['seconds'] / o['seconds']:.1f}x wall, "
                f"{r['cpu_seconds'] / o['cpu_seconds']:.1f}x CPU vs {o['tool']}"
                for o in ours
            )
        loads = ", ".join(f"{v:.1f}" for v in r["loadavg"])
        print(
            f"| {r['tool']} | {r['n']} | {r['seconds']:.1f} ({r['seconds_all']}) | "
            f"{r['cpu_seconds']:.1f} | {r['process_seconds']:.1f} | {r['peak_rss_mib']:.0f} | "
            f"{loads} | {ratio} |"
        )
    print_targets(rows)
    for r in rows:
        if r["n"]:
            last = dict(r["last"])
            for k in ("loadavg_start", "loadavg_end", "tool", "exit"):
                last.pop(k, None)
            print(f"\n{r['tool']} (last run): {json.dumps(last, default=str)}")


def print_targets(rows: list[dict[str, Any]]) -> None:
    """Issue 10's targets: >= 10x faster than Anonymeter (same run), within 1.5 GB."""
    ours = [r for r in rows if r["tool"].startswith("ours") and r["n"]]
    peer = next((r for r in rows if r["tool"] == "anonymeter" and r["n"]), None)
    for o in ours:
        rss = o["peak_rss_mib"]
        mem = "met" if rss <= MEMORY_TARGET_MIB else "NOT met"
        print(f"\ntarget memory <= {MEMORY_TARGET_MIB} MiB, {o['tool']}: {rss:.0f} MiB, {mem}")
        if peer is None:
            continue
        wall, cpu = peer["seconds"] / o["seconds"], peer["cpu_seconds"] / o["cpu_seconds"]
        verdict = "met" if min(wall, cpu) >= SPEED_TARGET else "NOT met"
        print(
            f"target >= {SPEED_TARGET:g}x faster than Anonymeter, {o['tool']}: {wall:.1f}x wall, "
            f"{cpu:.1f}x CPU ({verdict} on the smaller of the two)"
        )


def declared(spec: str) -> list[str] | None:
    """The ``--qi`` option as run_audit's ``qi``."""
    if spec == "none":
        return None
    if spec == "auto":
        sys.path.insert(0, str(ROOT))
        from benchmarks.leak_catalogue import QI

        return list(QI)
    return spec.split(",")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=0, help="N x N x N rows instead of Adult 80/20")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--synthetic", choices=("independent", "holdout-jitter"), default="independent")
    ap.add_argument("--repeats", type=int, default=3, help="runs per tool (median reported)")
    ap.add_argument("--peer-repeats", type=int, default=1)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument(
        "--peers",
        nargs="+",
        choices=["anonymeter", "sdmetrics"],
        default=["anonymeter"],
        help="which peers to run (default: anonymeter; sdmetrics needs its own install)",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        nargs="+",
        default=[-1],
        help="privsynth's threads (run_audit n_jobs; -1 = every CPU); several values run each, "
        "and ratios are against the first",
    )
    ap.add_argument(
        "--qi",
        default="none",
        help="quasi-identifiers declared to privsynth: none (default, as every stored run), auto "
        "(Adult's public demographics, benchmarks.leak_catalogue.QI: the declared-QI knowledge "
        "sets run too) or a,b,c",
    )
    ap.add_argument("--peers-python", default=PEERS_PY)
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    ap.add_argument("--json", type=Path, help="write every run's record here")
    ap.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kw = {"jobs": args.jobs[0], "qi": declared(args.qi)} if args.child == "ours" else {}
        out = CHILDREN[args.child](args.work, args.seed, **kw)
        (args.work / f"result_{args.child}.json").write_text(json.dumps(out, default=str))
        return
    with tempfile.TemporaryDirectory(prefix="attacks_bench_") as tmp:
        work = Path(tmp)
        if args.scale:
            tables = scaled_triple(args.scale, args.seed)
            what = f"scaled Adult {args.scale:,} x 3 (resampled + jittered)"
        else:
            tables = adult_triple(args.seed, args.synthetic, work)
            what = f"Adult 80/20, synthetic = {args.synthetic}"
        write_triple(tables, work)
        sizes = " / ".join(f"{len(t):,}" for t in tables)
        what += f", declared QIs: {args.qi}"
        print(f"{what}: train / holdout / synthetic = {sizes}", flush=True)
        del tables
        plan = [("ours", sys.executable, args.repeats, j) for j in args.jobs]
        if not args.no_peers:
            if Path(args.peers_python).exists():
                plan += [(p, args.peers_python, args.peer_repeats, None) for p in args.peers]
            else:
                print(f"peers skipped: {args.peers_python} does not exist")
        runs: dict[str, list[dict[str, Any]]] = {}
        # round robin (ours 1, peer 1, ours 2, ...): on a shared machine whose speed drifts
        # over minutes, each tool's runs straddle the same period instead of following each other
        order = [(i, p) for i in range(max(p[2] for p in plan)) for p in plan if i < p[2]]
        for i, (tool, py, reps, jobs) in order:
            r = run_child(tool, py, work, args.seed, args.timeout, jobs, args.qi)
            msg = r.get("error") or f"{r['seconds']:.1f} s in tool"
            print(
                f"{r['tool']} run {i + 1}/{reps}: {msg}, process {r['process_seconds']:.1f} s, "
                f"peak RSS {r['peak_rss_mib']:.0f} MiB, load {r['loadavg_start'][0]:.2f}",
                flush=True,
            )
            runs.setdefault(r["tool"], []).append(r)
        rows = [summarise(v) for v in runs.values()]
        header = (
            f"{what}; {platform.machine()} {os.cpu_count()} cores, "
            f"python {platform.python_version()}"
        )
        print_report(rows, header)
        if args.json:
            args.json.write_text(json.dumps({"setup": header, "runs": runs}, default=str, indent=1))


if __name__ == "__main__":
    main()
