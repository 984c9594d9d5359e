"""``privsynth synth``: fit a DP synthesizer and write a synthetic table, its public manifest and its
private run record. ``--epsilon`` becomes a Budget here, once (docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from privsynth.cli.app import (
    ParentOption,
    QuietOption,
    ReleaseRegistryOption,
    SourceOption,
    app,
    handle_errors,
)
from privsynth.engines import EngineConfig, close_table
from privsynth.errors import InputError
from privsynth.io import DEFAULT_MISSING
from privsynth.limits import check_rows
from privsynth.outputs import check_outputs
from privsynth.pipeline import (
    check_output,
    load_inputs,
    manifest_path,
    run_record_path,
    synthesize,
    write_release,
)
from privsynth.privacy.ledger import validate_epsilon_delta
from privsynth.privacy.noise import NOT_FOR_RELEASE
from privsynth.progress import Progress
from privsynth.registry.reservation import cli_commit, cli_reserve, release_on_error


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
        help="Seed for sampling from the fitted model only (never reaches the privacy noise).",
    ),
    noise_seed: int | None = typer.Option(
        None,
        "--noise-seed",
        help="Seeded, reproducible privacy noise for tests and benchmarks: NOT FOR RELEASE.",
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
    registry: str | None = ReleaseRegistryOption,
    source: str | None = SourceOption,
    parent: str | None = ParentOption,
    save_model: Path | None = typer.Option(
        None, "--save-model", help="Also save the fitted DP model to this folder (for `sample`)."
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
    budget = validate_epsilon_delta(epsilon, delta)
    if rows is not None:
        check_rows(rows)
    for name, value in (("--seed", seed), ("--noise-seed", noise_seed)):
        if value is not None and value < 0:
            raise InputError(f"{name} must be a non-negative integer, got {value}")
    check_output(out)
    check_outputs(inputs=[data, schema], outputs=[out, manifest_path(out), run_record_path(out)])
    if save_model is not None and save_model.exists():
        raise InputError(f"--save-model {save_model}: already exists; give a new folder name")
    progress = Progress(quiet=quiet)
    markers = tuple(missing) if missing else DEFAULT_MISSING
    reservation = cli_reserve(
        registry,
        source,
        parent,
        kind="synth",
        epsilon=epsilon,
        delta=delta,
        method=method,
        rho=budget.rho,
    )
    config = EngineConfig(memory_limit=memory_limit, spark_master=spark_master)
    # Nothing is measured while loading: a failure here gives the reservation back.
    with release_on_error(reservation):
        inputs = load_inputs(
            data, schema, example=example, missing=markers, engine=engine, engine_config=config
        )
    try:
        table, synthesizer = synthesize(
            inputs,
            method=method,
            budget=budget,
            rows=rows,
            seed=seed,
            noise_seed=noise_seed,
            progress=progress,
        )
        manifest, _ = write_release(
            table, synthesizer, inputs, out, rows_requested=rows is not None
        )
    finally:
        close_table(inputs.data)
    cli_commit(
        reservation, manifest_path(out), synthetic_path=out, input_path=inputs.path, quiet=quiet
    )
    if save_model is not None:
        from privsynth.model_store import SavedModel

        SavedModel.from_synthesizer(synthesizer).save(save_model)
    spent = manifest["privacy"]["total"]
    progress.note(
        f"wrote {out} ({len(table)} rows), {manifest_path(out).name} (public) and "
        f"{run_record_path(out).name} (private: keep it, never publish it); "
        f"privacy spent: epsilon={spent['epsilon']:.4g}, delta={spent['delta']:.3g}"
    )
    if noise_seed is not None:
        progress.warn(f"{out}: {NOT_FOR_RELEASE}")
