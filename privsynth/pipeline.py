"""The release steps the workflows share: read, fit, sample, write the table, its public manifest
and its private run record (``privsynth.manifest``; docs/privacy.md, "What is published").

``privsynth.workflows`` orders these steps (``synthesize_release``, ``certify``); this module takes
paths and settings, never command-line flags (the CLI resolves ``--example`` and explains a
missing schema: ``privsynth.cli.inputs``)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from privsynth.engines import EncodedTable, EngineConfig, choose_engine, encode_table, source_sha256
from privsynth.errors import InputError
from privsynth.io import DEFAULT_MISSING, read_table, table_format
from privsynth.manifest import build_manifest, build_run_record, new_release_id
from privsynth.privacy.budget import Budget
from privsynth.privacy.noise import NOT_FOR_RELEASE
from privsynth.progress import QUIET, Progress
from privsynth.schema import Schema, load_schema
from privsynth.synthesizers import Synthesizer, get_synthesizer


@dataclass(frozen=True)
class Inputs:
    """A table and its schema, with where they came from."""

    data: pd.DataFrame | EncodedTable
    schema: Schema
    path: Path


def load_inputs(
    data: Path,
    schema: Path,
    *,
    missing: tuple[str, ...] = DEFAULT_MISSING,
    engine: str = "numpy",
    engine_config: EngineConfig | None = None,
) -> Inputs:
    """Read the private table ``data`` and its schema file.

    With an engine other than numpy (``engine="auto"`` picks DuckDB for large files and globs),
    ``Inputs.data`` is an encoded table in that engine: the rows are never read into pandas.
    """
    chosen = choose_engine(str(data), engine)
    if chosen == "numpy" and not Path(data).is_file():
        raise InputError(f"{data}: no such file")
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


def input_rows(data: pd.DataFrame | EncodedTable) -> int:
    """The exact row count of the private input (for the private run record only)."""
    return int(data.n_rows) if isinstance(data, EncodedTable) else len(data)


def check_output(out: Path) -> None:
    """Fail before any budget is spent if the output cannot be written."""
    table_format(out)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{out}: output folder {parent} does not exist")
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name ending in .csv or .parquet")


def manifest_path(out: Path) -> Path:
    """The public release manifest beside ``out`` (publishable with the table)."""
    return out.with_name(out.name + ".manifest.json")


def run_record_path(out: Path) -> Path:
    """The private run record beside ``out`` (kept by the data owner, never published)."""
    return out.with_name(out.name + ".run-record.private.json")


def synthesize(
    inputs: Inputs,
    *,
    method: str,
    budget: Budget,
    rows: int | None = None,
    seed: int | None = None,
    noise_seed: int | None = None,
    progress: Progress = QUIET,
    method_params: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, Synthesizer]:
    """Fit ``method`` on the inputs and sample ``rows`` records (default: the noisy row count).

    ``seed`` drives post-processing only (sampling); ``noise_seed`` switches the mechanisms to
    seeded numpy noise (NOT FOR RELEASE, warned about on the terminal even when quiet).
    """
    cls = get_synthesizer(method)
    try:
        synth = cls(
            budget, seed=seed, noise_seed=noise_seed, progress=progress, **(method_params or {})
        )
    except TypeError as exc:
        raise InputError(f"method {method!r}: {exc}") from exc
    if noise_seed is not None:
        progress.warn(NOT_FOR_RELEASE)
    domain = inputs.schema.domain()
    progress.note(
        f"[bold]{method}[/bold]: {len(domain)} columns, domain of {float(domain.size()):.3g} cells, "
        f"epsilon={budget.epsilon:g}, delta={budget.delta:g} (rho={budget.rho:.6g})"
    )
    synth.fit(inputs.data, inputs.schema)
    with progress.task("sampling", total=1) as advance:
        if inputs.schema.rules:  # public row rules: structural zeros + rejection (free)
            from privsynth.model_store import constrained_sample

            post = seed if seed is not None else noise_seed  # noise_seed alone also seeds sampling
            table = constrained_sample(synth, rows, seed=None if post is None else post + 1)
        else:
            table = synth.sample(rows)
        advance()
    return table, synth


def release_records(
    table: pd.DataFrame,
    synth: Synthesizer,
    inputs: Inputs,
    out: Path,
    *,
    rows_requested: bool,
    record_extra: dict[str, Any] | None = None,
    final: Path | None = None,
    record_path: Path | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The public manifest and the private run record of a release written to ``out``.

    ``final`` is where ``out`` will end up when it is written inside a staged folder (certify):
    the run record names the final paths, not the temporary ones.
    """
    release_id = new_release_id()
    shown = final if final is not None else out
    manifest = build_manifest(
        synth,
        schema=inputs.schema,
        output_name=out.name,
        rows=len(table),
        rows_requested=rows_requested,
        release_id=release_id,
    )
    record = build_run_record(
        synth,
        release_id=release_id,
        input_path=str(inputs.path),
        input_sha256=source_sha256(inputs.path),
        input_rows=input_rows(inputs.data),
        outputs={
            "table": str(shown),
            "manifest (public)": str(manifest_path(shown)),
            "run record (private)": str(record_path or run_record_path(shown)),
        },
        extra=record_extra,
    )
    return manifest, record


def write_release(
    table: pd.DataFrame,
    synth: Synthesizer,
    inputs: Inputs,
    out: Path,
    *,
    rows_requested: bool = False,
    record_extra: dict[str, Any] | None = None,
    final: Path | None = None,
    record_path: Path | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the table, its public manifest and its private run record; all appear or none does.

    With ``record_path`` (certify: outside its output folder) the run record is returned, not
    written: the caller writes it once the folder is in place.
    """
    manifest, record = release_records(
        table,
        synth,
        inputs,
        out,
        rows_requested=rows_requested,
        record_extra=record_extra,
        final=final,
        record_path=record_path,
    )
    from privsynth.io import write_table_file
    from privsynth.outputs import atomic_group

    # All three go to temporaries and are renamed together, the public manifest last.
    if record_path is not None:
        with atomic_group([out, manifest_path(out)]) as (tmp_table, tmp_manifest):
            write_table_file(table, tmp_table, like=out)
            tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return manifest, record
    targets = [out, run_record_path(out), manifest_path(out)]
    with atomic_group(targets) as (tmp_table, tmp_record, tmp_manifest):
        write_table_file(table, tmp_table, like=out)
        tmp_record.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest, record


def certify_record_path(out: Path) -> Path:
    """Where ``certify --out D`` keeps the private run record: beside D, never inside it, so that
    nothing in D carries the input's hash, the split seed or the exact row counts."""
    return out.parent / f"{out.name}.run-record.private.json"
