"""The synthesis pipeline behind ``privsynth synth``: read, fit, sample, write table + manifest."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from privsynth.engines import EncodedTable, EngineConfig, choose_engine, encode_table, source_sha256
from privsynth.errors import InputError
from privsynth.io import (
    DEFAULT_MISSING,
    EXAMPLE_SCHEMA,
    EXAMPLE_TABLE,
    _kind,
    atomic_path,
    example_path,
    read_table,
)
from privsynth.manifest import build_manifest
from privsynth.progress import QUIET, Progress
from privsynth.schema import Schema, load_schema
from privsynth.synthesizers import Synthesizer, get_synthesizer

NO_SCHEMA_HELP = (
    "no --schema given. privsynth reads nothing about your data's domain for free; get a schema "
    "one of two ways: (1) `privsynth schema infer DATA -o schema.json` writes a draft read from "
    "the data (NOT private: review it and replace values with public knowledge), or "
    "(2) `privsynth schema infer DATA --epsilon 0.1 -o schema.json` writes a differentially "
    "private draft (its cost is recorded). A Private-PGM domain file also works."
)


@dataclass
class Inputs:
    """A table and its schema, with where they came from."""

    data: pd.DataFrame | EncodedTable
    schema: Schema
    path: Path


def load_inputs(
    data: Path | None,
    schema: Path | None,
    *,
    example: bool = False,
    missing: tuple[str, ...] = DEFAULT_MISSING,
    engine: str = "numpy",
    engine_config: EngineConfig | None = None,
) -> Inputs:
    """Resolve DATA/--example and --schema, with the CLI's error messages.

    With an engine other than numpy (``engine="auto"`` picks DuckDB for large files and globs),
    ``Inputs.data`` is an encoded table in that engine: the rows are never read into pandas.
    """
    if example and data is not None:
        raise InputError("give either a DATA file or --example, not both")
    if not example and data is None:
        raise InputError("no input table: give a DATA file (CSV or Parquet) or --example")
    if example:
        data = example_path(EXAMPLE_TABLE)
        schema = schema or example_path(EXAMPLE_SCHEMA)
    assert data is not None
    chosen = choose_engine(str(data), engine)
    if chosen == "numpy" and not Path(data).is_file():
        raise InputError(f"{data}: no such file")
    if schema is None:
        raise InputError(NO_SCHEMA_HELP)
    loaded_schema = load_schema(schema)
    if chosen != "numpy":  # the engine reads the file(s) or table itself
        config = dataclasses.replace(engine_config or EngineConfig(), missing=missing)
        return Inputs(
            encode_table(str(data), loaded_schema, engine=chosen, config=config),
            loaded_schema,
            Path(data),
        )
    table = read_table(data, missing=missing)
    if len(table) == 0:
        raise InputError(f"{data}: the table has no rows")
    return Inputs(table, loaded_schema, Path(data))


def check_output(out: Path) -> None:
    """Fail before any budget is spent if the output cannot be written."""
    _kind(out)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{out}: output folder {parent} does not exist")
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name ending in .csv or .parquet")


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".manifest.json")


def synthesize(
    inputs: Inputs,
    *,
    method: str,
    epsilon: float,
    delta: float,
    rows: int | None = None,
    seed: int | None = None,
    progress: Progress = QUIET,
    method_params: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, Synthesizer]:
    """Fit ``method`` on the inputs and sample ``rows`` records (default: the noisy row count)."""
    cls = get_synthesizer(method)
    try:
        synth = cls(epsilon, delta, seed=seed, progress=progress, **(method_params or {}))
    except TypeError as exc:
        raise InputError(f"method {method!r}: {exc}") from exc
    domain = inputs.schema.domain()
    progress.note(
        f"[bold]{method}[/bold]: {len(domain)} columns, domain of {float(domain.size()):.3g} cells, "
        f"epsilon={epsilon:g}, delta={delta:g}"
    )
    synth.fit(inputs.data, inputs.schema)
    with progress.task("sampling", total=1) as advance:
        table = synth.sample(rows)
        advance()
    return table, synth


def write_release(
    table: pd.DataFrame, synth: Synthesizer, inputs: Inputs, out: Path
) -> dict[str, Any]:
    """Write the table and its manifest; both appear, or neither does."""
    manifest = build_manifest(
        synth,
        schema=inputs.schema,
        input_sha256=source_sha256(inputs.path),
        input_name=inputs.path.name,
        output_name=out.name,
        rows=len(table),
    )
    from privsynth.io import write_table

    with atomic_path(manifest_path(out)) as tmp_manifest:
        tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        write_table(table, out)
    return manifest
