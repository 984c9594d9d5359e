"""``privsynth synth``: fit a DP synthesizer and write a synthetic table plus its manifest."""

from __future__ import annotations

from pathlib import Path

import typer

from privsynth.cli.app import QuietOption, app, handle_errors
from privsynth.engines import EngineConfig, close_table
from privsynth.errors import InputError
from privsynth.io import DEFAULT_MISSING
from privsynth.pipeline import check_output, load_inputs, manifest_path, synthesize, write_release
from privsynth.privacy.ledger import validate_epsilon_delta
from privsynth.progress import Progress


@app.command()
@handle_errors
def synth(
    data: Path | None = typer.Argument(None, help="Private table (CSV or Parquet)."),
    schema: Path | None = typer.Option(None, "--schema", "-s", help="Schema JSON (public domain)."),
    epsilon: float = typer.Option(..., "--epsilon", "-e", help="Privacy budget epsilon (> 0)."),
    delta: float = typer.Option(1e-9, "--delta", "-d", help="Privacy budget delta, in (0, 1e-3]."),
    method: str = typer.Option("aim", "--method", "-m", help="aim, mst, mwem or independent."),
    rows: int | None = typer.Option(
        None, "--rows", "-n", help="Rows to sample (default: noisy count)."
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        help="Seed for a reproducible run (not a privacy guarantee: keep it secret).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output table (.csv, .csv.gz or .parquet)."),
    example: bool = typer.Option(
        False, "--example", help="Use the bundled Adult table and schema."
    ),
    missing: list[str] | None = typer.Option(
        None,
        "--missing",
        help="A missing-value marker (repeatable); default: '', ?, NA, NaN, null.",
    ),
    engine: str = typer.Option(
        "auto", "--engine", help="auto, numpy, duckdb or spark (see docs/scaling.md)."
    ),
    spark_master: str | None = typer.Option(
        None, "--spark-master", help="Spark master URL for --engine spark (default: local[*])."
    ),
    memory_limit: str | None = typer.Option(
        None, "--memory-limit", help="DuckDB's memory limit, e.g. 2GB (it spills past it)."
    ),
    quiet: bool = QuietOption,
) -> None:
    """Make a differentially private synthetic copy of DATA."""
    validate_epsilon_delta(epsilon, delta)
    if rows is not None and rows < 1:
        raise InputError(f"--rows must be a positive integer, got {rows}")
    if seed is not None and seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    check_output(out)
    progress = Progress(quiet=quiet)
    markers = tuple(missing) if missing else DEFAULT_MISSING
    config = EngineConfig(memory_limit=memory_limit, spark_master=spark_master)
    inputs = load_inputs(
        data, schema, example=example, missing=markers, engine=engine, engine_config=config
    )
    try:
        table, synthesizer = synthesize(
            inputs,
            method=method,
            epsilon=epsilon,
            delta=delta,
            rows=rows,
            seed=seed,
            progress=progress,
        )
        manifest = write_release(table, synthesizer, inputs, out)
    finally:
        close_table(inputs.data)
    spent = manifest["privacy"]["total"]
    progress.note(
        f"wrote {out} ({len(table)} rows) and {manifest_path(out).name}; "
        f"privacy spent: epsilon={spent['epsilon']:.4g}, delta={spent['delta']:.3g}"
    )
