"""``privsynth dp-audit``: an empirical privacy audit with the generator in the loop.

Exit codes: 0 the bound is consistent with the claim (or there is no claim), 1 a DP violation
(the lower bound exceeds the claimed epsilon at the stated confidence), 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import typer

from privsynth.cli.app import handle_errors
from privsynth.cli.inputs import load_inputs
from privsynth.cli.options import Quiet
from privsynth.dpaudit import scores as scoring
from privsynth.dpaudit.audit import run_audit
from privsynth.dpaudit.canaries import KINDS, worst_case_base
from privsynth.dpaudit.game import AuditConfig
from privsynth.dpaudit.generators import GeneratorSpec
from privsynth.encoding import encode
from privsynth.errors import InputError
from privsynth.io import DEFAULT_MISSING, write_text
from privsynth.progress import Progress
from privsynth.schema import Schema


def parse_params(items: list[str] | None) -> tuple[tuple[str, Any], ...]:
    """``key=value`` pairs (value read as JSON when it parses, else as text)."""
    out = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {item!r}: expected key=value, e.g. pgm_iters=200")
        try:
            parsed: Any = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.append((key.strip(), parsed))
    return tuple(out)


def base_table(
    codes: np.ndarray, schema: Schema, columns: list[str] | None, rows: int | None, seed: int
) -> tuple[np.ndarray, Schema]:
    """The audit's base: the chosen columns and a fixed random subset of ``rows`` rows."""
    names = [c.name for c in schema.synth_columns]
    if columns:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise InputError(f"--columns: {unknown} not in the schema (it has {', '.join(names)})")
        idx = [names.index(c) for c in columns]
        codes = codes[:, idx]
        schema = Schema([schema[c] for c in columns], provenance=schema.provenance)
    if rows is not None:
        if rows < 2:
            raise InputError(f"--rows must be at least 2, got {rows}")
        if rows < codes.shape[0]:
            pick = np.sort(
                np.random.default_rng([seed, 7]).choice(codes.shape[0], rows, replace=False)
            )
            codes = codes[pick]
    return codes, schema


@handle_errors
def dp_audit(
    data: Path | None = typer.Argument(None, help="Base table (CSV or Parquet)."),
    schema: Path | None = typer.Option(None, "--schema", "-s", help="Schema JSON (public domain)."),
    example: bool = typer.Option(
        False, "--example", help="Use the bundled Adult table and schema."
    ),
    method: str | None = typer.Option(None, "--method", "-m", help="privsynth method to audit."),
    generator: str | None = typer.Option(
        None, "--generator", "-g", help="External generator: a command with {train} and {out}."
    ),
    epsilon: float | None = typer.Option(
        None, "--epsilon", "-e", help="Claimed epsilon (required with --method)."
    ),
    delta: float = typer.Option(1e-5, "--delta", "-d", help="Claimed delta (the bound's delta)."),
    param: list[str] | None = typer.Option(None, "--param", help="Method parameter key=value."),
    columns: str | None = typer.Option(None, "--columns", help="Comma-separated columns to keep."),
    rows: int | None = typer.Option(None, "--rows", help="Use a fixed random subset of N rows."),
    worst_case: int | None = typer.Option(
        None, "--worst-case-base", help="Use N copies of one record as the base table instead."
    ),
    canary: str = typer.Option("out-of-support", "--canary", help=" | ".join(KINDS)),
    score: str = typer.Option(
        "all", "--scores", help="all or a comma list: " + ",".join(scoring.ALL)
    ),
    runs: int = typer.Option(200, "--runs", "-r", help="Runs per world (out and in)."),
    confidence: float = typer.Option(0.95, "--confidence", help="Confidence of the bounds."),
    select_fraction: float = typer.Option(
        0.5, "--select-fraction", help="Share of runs that choose the test (the rest bound it)."
    ),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Worker processes (1 or 2)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the audit (row subset, run seeds)."),
    noise: str = typer.Option(
        "seeded", "--noise", help="seeded (fast, fresh seed per run) | opendp."
    ),
    noise_divisor: float = typer.Option(
        1.0, "--noise-divisor", help="Self-test only: divide the noise scale (a broken variant)."
    ),
    store: Path | None = typer.Option(None, "--store", help="JSONL of runs (resumes if present)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the JSON report here."),
    fmt: str = typer.Option("text", "--format", help="text or json (on stdout)."),
    quiet: Quiet = False,
) -> None:
    """Audit a generator's DP claim empirically: run it on D and D + canary, bound epsilon."""
    if fmt not in ("text", "json"):
        raise InputError(f"--format must be text or json, got {fmt!r}")
    names = (
        scoring.ALL if score == "all" else tuple(s.strip() for s in score.split(",") if s.strip())
    )
    config = AuditConfig(
        runs=runs,
        scores=names,
        confidence=confidence,
        jobs=jobs,
        seed=seed,
        select_fraction=select_fraction,
    )
    spec = GeneratorSpec(
        method=method,
        command=generator,
        epsilon=epsilon,
        delta=delta,
        params=parse_params(param),
        noise=noise,
        noise_divisor=noise_divisor,
    )
    progress = Progress(quiet=quiet)
    inputs = load_inputs(data, schema, example=example, missing=DEFAULT_MISSING)
    enc = encode(inputs.data, inputs.schema)
    cols = [c.strip() for c in columns.split(",")] if columns else None
    codes, sch = base_table(enc.codes, inputs.schema, cols, rows, seed)
    if worst_case is not None:
        codes = worst_case_base(sch.domain(), worst_case)
    report = run_audit(
        spec,
        codes,
        sch.domain(),
        canary=canary,
        config=config,
        schema=sch,
        store_path=store,
        progress=progress,
    )
    doc = report.to_dict()
    if out is not None:
        write_text(out, json.dumps(doc, indent=2) + "\n")
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        for line in report.summary_lines():
            typer.echo(line)
    raise typer.Exit(report.exit_code)
