"""``privsynth synth``: options -> :class:`SynthesisConfig` -> :func:`synthesize_release`.

``--epsilon`` becomes a Budget once, in the config (docs/privacy.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from privsynth.cli import options as opt
from privsynth.cli.app import handle_errors, note_outcome
from privsynth.cli.inputs import resolve_inputs
from privsynth.progress import Progress

Seed = Annotated[
    int | None,
    typer.Option(
        "--seed",
        min=0,
        help="Seed for sampling from the fitted model only (never reaches the privacy noise).",
    ),
]
NoiseSeed = Annotated[
    int | None,
    typer.Option(
        "--noise-seed",
        min=0,
        help="Seeded, reproducible privacy noise for tests and benchmarks: NOT FOR RELEASE.",
    ),
]
Out = Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv, .csv.gz or .parquet).")]
Missing = Annotated[
    list[str] | None,
    typer.Option(
        "--missing", help="A missing-value marker (repeatable); default: '', ?, NA, NaN, null."
    ),
]
SaveModel = Annotated[
    Path | None,
    typer.Option(
        "--save-model", help="Also save the fitted DP model to this folder (for `sample`)."
    ),
]
Engine = Annotated[
    str, typer.Option("--engine", help="auto, numpy, duckdb or spark (see docs/scaling.md).")
]
SparkMaster = Annotated[
    str | None,
    typer.Option("--spark-master", help="Spark master URL for --engine spark (default: local[*])."),
]
MemoryLimit = Annotated[
    str | None,
    typer.Option("--memory-limit", help="DuckDB's memory limit, e.g. 2GB (it spills past it)."),
]


@handle_errors
def synth(
    data: opt.Data = None,
    schema: opt.SchemaFile = None,
    epsilon: opt.Epsilon = ...,  # type: ignore[assignment]
    delta: opt.Delta = 1e-9,
    method: opt.Method = "aim",
    rows: opt.Rows = None,
    seed: Seed = None,
    noise_seed: NoiseSeed = None,
    out: Out = ...,  # type: ignore[assignment]
    example: opt.Example = False,
    missing: Missing = None,
    registry: opt.Registry = None,
    source: opt.Source = None,
    parent: opt.Parent = None,
    save_model: SaveModel = None,
    engine: Engine = "auto",
    spark_master: SparkMaster = None,
    memory_limit: MemoryLimit = None,
    quiet: opt.Quiet = False,
) -> None:
    """Make a differentially private synthetic copy of DATA."""
    from privsynth.engines import EngineConfig
    from privsynth.io import DEFAULT_MISSING
    from privsynth.privacy.noise import NOT_FOR_RELEASE
    from privsynth.workflows.config import RegistryTarget, SynthesisConfig
    from privsynth.workflows.synthesize import synthesize_release

    data_path, schema_path = resolve_inputs(data, schema, example=example)
    config = SynthesisConfig(
        epsilon=epsilon,
        delta=delta,
        method=method,
        rows=rows,
        seed=seed,
        noise_seed=noise_seed,
        out=out,
        missing=tuple(missing) if missing else DEFAULT_MISSING,
        save_model=save_model,
        engine=engine,
        engine_config=EngineConfig(memory_limit=memory_limit, spark_master=spark_master),
        registry=RegistryTarget(registry=registry, source=source, parent=parent),
        data=data_path,
        schema=schema_path,
    )
    progress = Progress(quiet=quiet)
    result = synthesize_release(config, progress=progress)
    note_outcome(result, out, quiet)
    spent = result.spent
    progress.note(
        f"wrote {out} ({len(result.table)} rows), {result.manifest_path.name} (public) and "
        f"{result.run_record_path.name} (private: keep it, never publish it); "
        f"privacy spent: epsilon={spent['epsilon']:.4g}, delta={spent['delta']:.3g}"
    )
    if result.seeded_noise:
        progress.warn(f"{out}: {NOT_FOR_RELEASE}")
