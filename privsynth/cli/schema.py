"""``privsynth schema infer`` and ``privsynth schema check``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.markup import escape

from privsynth.cli.app import err_console, handle_errors
from privsynth.encoding import encode
from privsynth.engines import choose_engine, encode_table
from privsynth.engines.facts import open_source
from privsynth.engines.profile import infer_schema_file
from privsynth.errors import InputError
from privsynth.io import DEFAULT_MISSING, read_table, write_text
from privsynth.limits import check_bins, check_epsilon
from privsynth.outputs import check_outputs
from privsynth.privacy.ledger import validate_epsilon_delta
from privsynth.progress import Progress
from privsynth.registry.reservation import cli_commit, cli_reserve, release_on_error
from privsynth.schema import DEFAULT_BINS, Schema, load_schema
from privsynth.schema_infer import NOT_PRIVATE_WARNING, infer_schema

QuietOption = typer.Option(
    False, "--quiet", "-q", help="No progress bars or notes (errors still print)."
)
schema_app = typer.Typer(
    help="Write and check schemas (the public domain of a table).", no_args_is_help=True
)


def _draft(
    data: Path,
    table: Any,
    *,
    epsilon: float | None,
    delta: float,
    bins: int,
    seed: int | None,
    markers: tuple[str, ...],
    progress: Progress,
) -> Schema:
    """The draft: DP with ``epsilon`` (``table`` a DataFrame or a DuckDB draft source), else read
    from the data (DuckDB profile when ``table`` is None: a large file is not read into pandas)."""
    if epsilon is not None:
        from privsynth.schema_dp import infer_schema_dp

        try:
            return infer_schema_dp(
                table, epsilon=epsilon, delta=delta, bins=bins, seed=seed, progress=progress
            )
        finally:
            if not isinstance(table, pd.DataFrame):
                table.close()
    if table is None:
        schema = infer_schema_file(data, bins=bins, missing=markers)
    else:
        schema = infer_schema(table, bins=bins)
    err_console.print(
        f"[bold yellow]WARNING:[/bold yellow] {escape(NOT_PRIVATE_WARNING)}", highlight=False
    )
    return schema


@schema_app.command("infer")
@handle_errors
def infer(
    data: Path = typer.Argument(..., help="Table to draft a schema for (CSV or Parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the schema JSON."),
    epsilon: float | None = typer.Option(
        None, "--epsilon", "-e", help="Make a differentially private draft, spending this epsilon."
    ),
    delta: float = typer.Option(1e-9, "--delta", "-d", help="Delta for the private draft."),
    bins: int = typer.Option(DEFAULT_BINS, "--bins", help="Bins for numeric columns."),
    missing: list[str] | None = typer.Option(
        None,
        "--missing",
        help="A missing-value marker (repeatable); default: '', ?, NA, NaN, null.",
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed (private mode; keep it secret)."),
    registry: str | None = typer.Option(
        None, "--registry", help="Release registry (with --epsilon; see docs/governance.md)."
    ),
    source: str | None = typer.Option(
        None, "--source", help="Registry source whose lifetime budget the DP draft spends."
    ),
    quiet: bool = QuietOption,
) -> None:
    """Draft a schema from DATA: read from the data (default, NOT private) or with --epsilon (DP)."""
    check_bins(bins)
    if out.suffix.lower() != ".json":
        raise InputError(f"{out}: the schema is JSON; give a file name ending in .json")
    if epsilon is not None:
        validate_epsilon_delta(epsilon, delta)
        check_epsilon(epsilon)
    check_outputs(inputs=[data], outputs=[out])
    progress = Progress(quiet=quiet)
    if epsilon is None and (registry or source):
        raise InputError("--registry/--source need --epsilon: a non-private draft spends no budget")
    reservation = cli_reserve(
        registry, source, None, kind="schema", epsilon=epsilon or 1.0, delta=delta
    )
    # Nothing is measured while loading: a failure here gives the reservation back.
    markers = tuple(missing) if missing else DEFAULT_MISSING
    # a large file's draft is profiled in DuckDB, not read into pandas (docs/scaling.md); the DP
    # draft's profile (column types, public metadata) is read here, before anything is measured
    large = choose_engine(str(data)) == "duckdb"
    with release_on_error(reservation):
        if large and epsilon is not None:
            table: Any = open_source(data, missing=markers)
        else:
            table = None if large else read_table(data, missing=markers)
        if table is not None and (table.n_rows if large else len(table)) == 0:
            if large:
                table.close()
            raise InputError(f"{data}: the table has no rows")
    schema = _draft(
        data, table, epsilon=epsilon, delta=delta, bins=bins, seed=seed, markers=markers,
        progress=progress,
    )  # fmt: skip
    write_text(out, schema.to_json())
    cli_commit(reservation, out, input_path=data, quiet=quiet)
    for column in schema.columns:
        if column.note and column.type == "categorical":  # e.g. numbers with stray text
            progress.warn(escape(f"column {column.name!r}: {column.note}"))
    progress.note(escape(f"wrote {out} ({len(schema.columns)} columns)"))


@schema_app.command("check")
@handle_errors
def check(
    data: Path = typer.Argument(..., help="Table to check (CSV or Parquet)."),
    schema: Path = typer.Option(..., "--schema", "-s", help="Schema JSON."),
    quiet: bool = QuietOption,
) -> None:
    """Check that DATA fits SCHEMA: every column known, every value encodable."""
    loaded = load_schema(schema)
    if choose_engine(str(data)) == "duckdb":  # a large file: encoded in DuckDB, not pandas
        encoded = encode_table(str(data), loaded, engine="duckdb")
        encoded.close()
    else:
        encoded = encode(read_table(data), loaded)
    progress = Progress(quiet=quiet)
    for note in encoded.notes:
        progress.warn(escape(note))
    if loaded.warning:
        progress.warn(escape(f"the schema carries a warning: {loaded.warning}"))
    progress.note(
        escape(
            f"{data} fits {schema}: {encoded.n_rows} rows, {len(encoded.domain)} columns "
            "(these counts are of the private table, read without DP: for the data owner only)"
        )
    )
