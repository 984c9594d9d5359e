"""``privsynth dp-audit``: an empirical privacy audit with the generator in the loop.

Exit codes: 0 the bound is consistent with the claim (or there is no claim), 1 a DP violation
(the lower bound exceeds the claimed epsilon at the stated confidence), 2 bad input. The options
are declared here; everything else is ``privsynth.dpaudit.command.run_command``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from privsynth.cli.app import handle_errors
from privsynth.cli.inputs import resolve_inputs
from privsynth.cli.options import Quiet
from privsynth.dpaudit.canaries import KINDS
from privsynth.dpaudit.command import CommandOptions, run_command
from privsynth.dpaudit.scores import ALL

Opt = typer.Option


@handle_errors
def dp_audit(
    data: Annotated[Path | None, typer.Argument(help="Base table (CSV or Parquet).")] = None,
    schema: Annotated[Path | None, Opt("--schema", "-s", help="Schema JSON.")] = None,
    example: Annotated[bool, Opt("--example", help="The bundled Adult table.")] = False,
    method: Annotated[str | None, Opt("--method", "-m", help="privsynth method.")] = None,
    generator: Annotated[str | None, Opt("--generator", "-g", help="{train}/{out} cmd.")] = None,
    epsilon: Annotated[float | None, Opt("--epsilon", "-e", help="Claimed epsilon.")] = None,
    delta: Annotated[float, Opt("--delta", "-d", help="Claimed delta.")] = 1e-5,
    param: Annotated[list[str] | None, Opt("--param", help="Method key=value.")] = None,
    columns: Annotated[str | None, Opt("--columns", help="Columns to keep (a,b,c).")] = None,
    rows: Annotated[int | None, Opt("--rows", help="Random subset of N rows.")] = None,
    worst_case: Annotated[int | None, Opt("--worst-case-base", help="N copies of one row.")] = None,
    public: Annotated[int | None, Opt("--public-base", help="N rows from the domain.")] = None,
    canary: Annotated[str, Opt("--canary", help=" | ".join(KINDS))] = "out-of-support",
    scores: Annotated[str, Opt("--scores", help="all or " + ",".join(ALL))] = "all",
    runs: Annotated[int, Opt("--runs", "-r", help="Runs per world.")] = 200,
    confidence: Annotated[float, Opt("--confidence", help="Of the bounds.")] = 0.95,
    select: Annotated[float, Opt("--select-fraction", help="Share choosing the test.")] = 0.5,
    jobs: Annotated[int, Opt("--jobs", "-j", help="Worker processes (1 or 2).")] = 1,
    seed: Annotated[int, Opt("--seed", help="Audit seed (subset, run seeds).")] = 0,
    noise: Annotated[str, Opt("--noise", help="seeded (fast) | opendp.")] = "seeded",
    divisor: Annotated[float, Opt("--noise-divisor", help="Self-test: broken.")] = 1.0,
    store: Annotated[Path | None, Opt("--store", help="Run JSONL (resumes).")] = None,
    out: Annotated[Path | None, Opt("--out", "-o", help="JSON report file.")] = None,
    fmt: Annotated[str, Opt("--format", help="text or json.")] = "text",
    one_run: Annotated[int | None, Opt("--one-run", help="One run, N canaries.")] = None,
    quiet: Quiet = False,
) -> None:
    """Audit a generator's DP claim empirically: run it on D and D + canary, bound epsilon."""
    data, schema = resolve_inputs(data, schema, example=example)
    opts = CommandOptions(
        data=data, schema=schema, method=method, generator=generator,
        epsilon=epsilon, delta=delta, param=tuple(param or ()), columns=columns, rows=rows,
        worst_case_base=worst_case, public_base=public, canary=canary, scores=scores, runs=runs,
        confidence=confidence, select_fraction=select, jobs=jobs, seed=seed, noise=noise,
        noise_divisor=divisor, store=store, out=out, fmt=fmt, one_run=one_run, quiet=quiet,
    )  # fmt: skip
    raise typer.Exit(run_command(opts))
