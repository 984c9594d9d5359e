"""``synthesize_release``: fit a DP synthesizer and write a release (``privsynth synth``).

Order matters for privacy accounting and safe outputs: the config is validated and the outputs
checked before anything is read; the registry reservation (if any) is taken before the data is
read and given back if loading fails (nothing was measured); the budget is spent once, by the
synthesizer's mechanisms; the table, its public manifest and its private run record appear
together or not at all (``privsynth.outputs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from privsynth.outputs import check_outputs
from privsynth.pipeline import (
    check_output,
    load_inputs,
    manifest_path,
    run_record_path,
    synthesize,
    write_release,
)
from privsynth.progress import QUIET, Progress
from privsynth.workflows.common import reserve
from privsynth.workflows.config import SynthesisConfig


@dataclass(frozen=True)
class SynthesisResult:
    """What a synthesis wrote: the table and the paths of its two records."""

    table: pd.DataFrame
    out: Path
    manifest: dict[str, Any]
    manifest_path: Path
    run_record_path: Path
    seeded_noise: bool  # True: NOT FOR RELEASE (seeded privacy noise)
    release: Any = None  # the registry's ReleaseInfo, when a registry recorded the run

    @property
    def not_for_release(self) -> tuple[str, ...]:
        """Why the schema makes this no DP release (the manifest's ``not_for_release``)."""
        return tuple(self.manifest.get("not_for_release", ()))

    @property
    def spent(self) -> dict[str, Any]:
        """The privacy spent, as the public manifest states it."""
        return dict(self.manifest["privacy"]["total"])


def synthesize_release(config: SynthesisConfig, *, progress: Progress = QUIET) -> SynthesisResult:
    """Fit ``config.method`` on ``config.data`` and write the release (module docstring)."""
    from privsynth.engines import EngineConfig, close_table
    from privsynth.registry.reservation import cli_commit, release_on_error

    out = Path(config.out)
    check_output(out)
    check_outputs(
        inputs=[config.data, config.schema],
        outputs=[out, manifest_path(out), run_record_path(out)],
    )
    reservation = reserve(config, "synth")
    with release_on_error(reservation):  # nothing is measured while loading
        inputs = load_inputs(
            config.data,
            config.schema,
            missing=config.missing,
            engine=config.engine,
            engine_config=config.engine_config or EngineConfig(),
        )
    try:
        table, synthesizer = synthesize(
            inputs,
            method=config.method,
            budget=config.budget,
            rows=config.rows,
            seed=config.seed,
            noise_seed=config.noise_seed,
            progress=progress,
        )
        manifest, _ = write_release(
            table, synthesizer, inputs, out, rows_requested=config.rows is not None
        )
    finally:
        close_table(inputs.data)
    release = cli_commit(
        reservation, manifest_path(out), synthetic_path=out, input_path=inputs.path, quiet=True
    )
    if config.save_model is not None:
        from privsynth.model_store import SavedModel

        SavedModel.from_synthesizer(synthesizer).save(config.save_model)
    return SynthesisResult(
        table=table,
        out=out,
        manifest=manifest,
        manifest_path=manifest_path(out),
        run_record_path=run_record_path(out),
        seeded_noise=config.noise_seed is not None,
        release=release,
    )
