"""``certify``: split, synthesize from the training rows, audit against the holdout, report, gate
(``privsynth certify``).

The holdout never reaches the generator. Every rendering, a datasheet and a README saying which
files may be published land in ``config.out`` as one folder (it appears whole or not at all); the
private run record (the input's hash, exact counts, the split and the seed if one was given) goes
beside it, never inside it (docs/privacy.md).

Randomness: the mechanisms always draw from OpenDP (no seeded-noise mode here). ``seed`` drives
only the split, the sampling from the fitted model and the attacks; without it a fresh random seed
is drawn for those and written nowhere. Column types for the attacks come from the one
Schema -> audit-types mapping, so a datetime column is audited as a datetime.

With ``config.dp_audit`` the release report also carries a ``dp_audit`` section: an empirical
lower bound on the method's epsilon from runs on a worst-case base built from the PUBLIC domain
alone (``privsynth.dpaudit.audit_for_report``); it reads no private data and spends no budget.
"""

from __future__ import annotations

import json
import secrets as _secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from privsynth.engines import close_table
from privsynth.io import write_text
from privsynth.manifest import schema_release_problems
from privsynth.outputs import atomic_dir, check_outputs
from privsynth.pipeline import (
    Inputs,
    certify_record_path,
    input_rows,
    load_inputs,
    manifest_path,
    synthesize,
    write_release,
)
from privsynth.progress import QUIET, Progress
from privsynth.workflows.audit import as_read
from privsynth.workflows.common import (
    check_columns,
    reserve,
    run_attacks,
    split_holdout,
    split_in_engine,
)
from privsynth.workflows.config import CertifyConfig
from privsynth.workflows.release_index import release_index


@dataclass(frozen=True)
class CertifyResult:
    """A certified release: the report (its verdict and exit code) and where everything went."""

    report: Any  # reports.Report
    out: Path
    synthetic_path: Path
    record_path: Path
    release: Any = None  # the registry's ReleaseInfo, when a registry recorded the run
    not_for_release: tuple[str, ...] = ()  # why the schema makes this no DP release (manifest)

    @property
    def exit_code(self) -> int:
        return int(self.report.exit_code)

    @property
    def verdict(self) -> str:
        return str(self.report.verdict)


@dataclass(frozen=True)
class _Split:
    inputs: Inputs
    train: pd.DataFrame
    holdout: pd.DataFrame
    run_seed: int
    groups: list[str]
    train_source: Any = None  # the training rows encoded in the engine (a large file), or None
    text: dict[str, dict[str, Any]] | None = None  # an engine split's lean text columns, per part


def certify(
    config: CertifyConfig, *, progress: Progress = QUIET, console: Any = None
) -> CertifyResult:
    """Run the whole certification (module docstring); ``console`` gets the terminal report."""
    from privsynth.registry.reservation import cli_commit, release_on_error
    from reports.policy import load_policy

    out = Path(config.out)
    record_path = certify_record_path(out)  # private: beside the folder, never inside it
    policy_file = Path(config.policy) if Path(config.policy).is_file() else None
    check_outputs(
        inputs=[config.data, config.schema, policy_file], outputs=[record_path], folders=[out]
    )
    policy = load_policy(config.policy)  # a bad policy fails before any budget is spent
    reservation = reserve(config, "certify")
    with release_on_error(reservation):  # nothing is measured while loading
        split = _load_and_split(config, policy, progress)
    train = split.train if split.train_source is None else split.train_source
    table, synth = synthesize(
        Inputs(train, split.inputs.schema, split.inputs.path),
        method=config.method,
        budget=config.budget,
        rows=config.rows,
        seed=config.seed,
        progress=progress,
    )
    close_table(split.train_source)  # the engine's copy of the training rows (None: nothing)
    report, record = _write_folder(config, split, table, synth, policy, progress, console)
    write_text(record_path, json.dumps(record, indent=2) + "\n")
    release = cli_commit(
        reservation,
        manifest_path(out / "synthetic.csv"),
        report_path=out / "report.json",
        verdict=report.verdict,
        datasheet_path=out / "datasheet.md",
        synthetic_path=out / "synthetic.csv",
        input_path=split.inputs.path,
        quiet=True,
    )
    return CertifyResult(
        report=report,
        out=out,
        synthetic_path=out / "synthetic.csv",
        record_path=record_path,
        release=release,
        not_for_release=tuple(schema_release_problems(split.inputs.schema)),
    )


def _load_and_split(config: CertifyConfig, policy: Any, progress: Progress) -> _Split:
    """Read the inputs, check every named column, and split off the holdout."""
    from reports.fidelity import sensitive_columns

    inputs = load_inputs(config.data, config.schema, engine="auto")  # large file: DuckDB
    check_columns(
        [c.name for c in inputs.schema.synth_columns], target=config.target, policy=policy
    )
    groups = sensitive_columns(inputs.schema, list(config.subgroups or []))
    # post-processing randomness only: never reaches a mechanism, never written when not given
    run_seed = config.seed if config.seed is not None else _secrets.randbits(31)
    train_source, text = None, None
    if isinstance(inputs.data, pd.DataFrame):
        train_rows, holdout_rows = split_holdout(
            len(inputs.data), config.holdout_fraction, run_seed
        )
        train = inputs.data.iloc[train_rows].reset_index(drop=True)
        holdout = inputs.data.iloc[holdout_rows].reset_index(drop=True)
    else:  # the same split, made in the engine (workflows.common.split_in_engine)
        train, holdout, train_source, text = split_in_engine(
            inputs, config.holdout_fraction, run_seed
        )
    share = config.holdout_fraction
    progress.note(  # shares, not counts: the row count is private (docs/privacy.md)
        f"split: {100 * (1 - share):.4g}% of the rows for training, {100 * share:.4g}% held "
        "out (never synthesized from)"
    )
    return _Split(inputs, train, holdout, run_seed, groups, train_source, text)


def _write_folder(
    config: CertifyConfig,
    split: _Split,
    table: pd.DataFrame,
    synth: Any,
    policy: Any,
    progress: Progress,
    console: Any,
) -> tuple[Any, dict[str, Any]]:
    """Write the release, audit it, and render the report, datasheet and README as one folder."""
    from reports.datasheet import render_datasheet
    from reports.gate import render_all

    out = Path(config.out)
    synthetic_path = out / "synthetic.csv"
    split_info = {
        "holdout_fraction": config.holdout_fraction,
        "train_rows": len(split.train),
        "holdout_rows": len(split.holdout),
        "split_seed": config.seed,
    }
    with atomic_dir(out) as staged:  # the folder appears whole, or not at all
        staged_synthetic = staged / synthetic_path.name
        manifest, record = write_release(
            table,
            synth,
            split.inputs,
            staged_synthetic,
            rows_requested=config.rows is not None,
            record_extra={"certify": split_info},
            final=synthetic_path,
            record_path=certify_record_path(out),
        )
        report = audit_report(config, split, table, manifest, policy, staged_synthetic, progress)
        render_all(report, staged, console=console)
        sheet = render_datasheet(report, schema=split.inputs.schema, method=config.method)
        write_text(staged / "datasheet.md", sheet)
        index = release_index(synthetic_path, config.audience, manifest, certify_record_path(out))
        write_text(staged / "README.md", index)
    return report, record


def audit_report(
    config: CertifyConfig,
    split: _Split,
    table: pd.DataFrame,
    manifest: dict[str, Any],
    policy: Any,
    synthetic_path: Path,
    progress: Progress,
) -> Any:
    """Attack the synthetic table with train and holdout; the gated report (no seed unless given)."""
    from reports.gate import make_report
    from reports.utility import default_target

    schema = split.inputs.schema
    cols = [c.name for c in schema.synth_columns]
    tables = (split.train[cols], split.holdout[cols], table[cols])  # lean after an engine split
    audit = run_attacks(
        tables, progress, column_types=schema.audit_types(), seed=split.run_seed, n_jobs=config.jobs
    )
    if split.text is not None:  # the report reads read_table's form (shared string objects)
        tables = (
            as_read(tables[0], split.text["train"]),
            as_read(tables[1], split.text["holdout"]),
        )
        tables += (table[cols],)
    if config.seed is None:  # a seed the user did not give is written nowhere
        audit.settings.pop("seed", None)
    report = make_report(
        audit,
        policy,
        train=tables[0],
        holdout=tables[1],
        synthetic=tables[2],
        synthetic_path=synthetic_path,
        manifest=manifest,
        column_types={c.name: c.type for c in schema.synth_columns},
        target=config.target or policy.target or default_target(schema),
        seed=config.seed,
        audience=config.audience,
        extra_inputs=_extra_inputs(split.inputs),
        command=None if config.audience == "public" else config.command,
        constraints=schema.rules,
        subgroups=split.groups,
    )
    if config.seed is None:
        report.provenance.seed = None
        report.provenance.settings.pop("seed", None)
    report.provenance.settings["holdout_fraction"] = config.holdout_fraction
    report.provenance.settings["method"] = config.method
    if config.dp_audit is not None:
        attach_dp_audit(report, config, schema, progress)
    return report


def _extra_inputs(inputs: Inputs) -> list[dict[str, Any]]:
    return [
        {"role": "data", "file": inputs.path.name, "sha256": None, "rows": input_rows(inputs.data)},
        {"role": "schema", "file": None, "sha256": inputs.schema.hash(), "rows": None},
    ]


def attach_dp_audit(report: Any, config: CertifyConfig, schema: Any, progress: Progress) -> None:
    """Run the empirical DP audit on the public domain and put it in the report's ``dp_audit``."""
    from privsynth.workflows.dp_audit import dp_audit_section

    assert config.dp_audit is not None
    report.dp_audit = dp_audit_section(
        method=config.method,
        epsilon=config.epsilon,
        delta=config.delta,
        domain=schema.domain(),
        runs=config.dp_audit.runs,
        jobs=2 if config.jobs == -1 else min(config.jobs, 2),
        progress=progress,
    )
