"""``privsynth certify``: split, synthesize from train, audit against the holdout, report, gate.

The one-shot path a privacy engineer runs before a release. The holdout never reaches the
generator; every rendering and a datasheet land in ``--out``; the exit code is the gate's verdict.

Randomness: the mechanisms always use OpenDP's samplers (there is no seeded-noise mode here).
``--seed`` drives only the split, the sampling from the fitted model and the attacks. The split is
a function of the private table and that seed, so the seed is written only to the private run
record and the internal report; without ``--seed`` a fresh random seed is used and written nowhere.
``--out`` gets a README.md listing which files may be published (docs/privacy.md).
"""

from __future__ import annotations

import json
import secrets as _secrets
import sys
from pathlib import Path
from typing import Any

import numpy as np
import typer

from privsynth.cli.app import (
    JobsOption,
    ParentOption,
    QuietOption,
    ReleaseRegistryOption,
    SourceOption,
    app,
    handle_errors,
    print_verdict,
)
from privsynth.cli.audit import check_columns
from privsynth.errors import InputError
from privsynth.limits import check_rows
from privsynth.outputs import atomic_dir, check_outputs
from privsynth.pipeline import (
    Inputs,
    certify_record_path,
    load_inputs,
    manifest_path,
    synthesize,
    write_release,
)
from privsynth.privacy.ledger import validate_epsilon_delta
from privsynth.progress import Progress
from privsynth.registry.reservation import cli_commit, cli_reserve, release_on_error

_AUDIT_TYPES = {"categorical": "categorical", "integer": "numeric", "float": "numeric"}


def split_holdout(n: int, fraction: float, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, holdout) row positions; the holdout is ``round(n * fraction)`` rows."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_h = int(round(n * fraction))
    if n_h < 1 or n - n_h < 1:
        raise InputError(f"--holdout-fraction {fraction} leaves no train or no holdout rows")
    return np.sort(perm[n_h:]), np.sort(perm[:n_h])


@app.command()
@handle_errors
def certify(
    data: Path | None = typer.Argument(None, help="Private table (CSV or Parquet)."),
    schema: Path | None = typer.Option(None, "--schema", "-s", help="Schema JSON (public domain)."),
    epsilon: float = typer.Option(..., "--epsilon", "-e", help="Privacy budget epsilon (> 0)."),
    delta: float = typer.Option(1e-9, "--delta", "-d", help="Privacy budget delta, in (0, 1e-3]."),
    method: str = typer.Option("aim", "--method", "-m", help="aim, mst, mwem or independent."),
    policy: str = typer.Option(
        "standard", "--policy", "-p", help="Policy TOML file, or a preset: standard, strict."
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        help="Seed for the split, sampling and attacks; never the privacy noise (OpenDP always). "
        "Recorded only in the private run record and the internal report.",
    ),
    out: Path = typer.Option(Path("certify-out"), "--out", "-o", help="Output folder."),
    holdout_fraction: float = typer.Option(
        0.2, "--holdout-fraction", help="Share of rows kept from the generator for the audit."
    ),
    target: str | None = typer.Option(
        None, "--target", help="Column for the utility model (default: policy's, else last column)."
    ),
    audience: str = typer.Option(
        "internal",
        "--audience",
        help="internal (all details) or public (no per-record details, no seed).",
    ),
    rows: int | None = typer.Option(
        None, "--rows", "-n", help="Synthetic rows (default: noisy count)."
    ),
    example: bool = typer.Option(
        False, "--example", help="Use the bundled Adult table and schema."
    ),
    registry: str | None = ReleaseRegistryOption,
    source: str | None = SourceOption,
    parent: str | None = ParentOption,
    subgroup: list[str] | None = typer.Option(
        None, "--subgroup", help="Sensitive column for subgroup fidelity and fairness (repeat)."
    ),
    jobs: int = JobsOption,
    quiet: bool = QuietOption,
) -> None:
    """Synthesize from a training split, attack it with the holdout, and gate the release."""
    from rich.console import Console

    from privsynth.io import write_text
    from reports.datasheet import render_datasheet
    from reports.gate import FILES, render_all
    from reports.policy import load_policy

    budget = validate_epsilon_delta(epsilon, delta)
    if rows is not None:
        check_rows(rows)
    if not 0 < holdout_fraction < 1:
        raise InputError(f"--holdout-fraction must be in (0, 1), got {holdout_fraction}")
    if seed is not None and seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    if jobs == 0:
        raise InputError("--jobs must be a positive number of threads, or -1 for every CPU")
    if audience not in ("internal", "public"):
        raise InputError(f"--audience must be internal or public, got {audience!r}")
    policy_file = Path(policy) if Path(policy).is_file() else None
    record_path = certify_record_path(out)  # private: beside the folder, never inside it
    check_outputs(inputs=[data, schema, policy_file], outputs=[record_path], folders=[out])
    pol = load_policy(policy)  # a bad policy fails before any budget is spent
    from reports.fidelity import sensitive_columns

    progress = Progress(quiet=quiet)
    reservation = cli_reserve(
        registry,
        source,
        parent,
        kind="certify",
        epsilon=epsilon,
        delta=delta,
        method=method,
        rho=budget.rho,
    )
    # Nothing is measured while loading: a failure here gives the reservation back.
    with release_on_error(reservation):
        inputs = load_inputs(data, schema, example=example)
        check_columns([c.name for c in inputs.schema.synth_columns], target=target, policy=pol)
        groups = sensitive_columns(inputs.schema, subgroup)  # before any budget is spent
    # post-processing randomness only: never reaches a mechanism, never written when not given
    run_seed = seed if seed is not None else _secrets.randbits(31)
    train_rows, holdout_rows = split_holdout(len(inputs.data), holdout_fraction, run_seed)
    train = inputs.data.iloc[train_rows].reset_index(drop=True)
    holdout = inputs.data.iloc[holdout_rows].reset_index(drop=True)
    progress.note(
        f"split: {len(train)} training rows, {len(holdout)} holdout rows (never synthesized from)"
    )
    table, synth = synthesize(
        Inputs(train, inputs.schema, inputs.path),
        method=method,
        budget=budget,
        rows=rows,
        seed=seed,
        progress=progress,
    )
    synthetic_path = out / "synthetic.csv"
    split = {
        "holdout_fraction": holdout_fraction,
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "split_seed": seed,
    }
    with atomic_dir(out) as staged:  # the folder appears whole, or not at all
        staged_synthetic = staged / synthetic_path.name
        manifest, record = write_release(
            table,
            synth,
            inputs,
            staged_synthetic,
            rows_requested=rows is not None,
            record_extra={"certify": split},
            final=synthetic_path,
            record_path=record_path,
        )
        report = _audit_report(
            inputs,
            train,
            holdout,
            table,
            manifest,
            pol,
            staged_synthetic,
            seed=seed,
            run_seed=run_seed,
            target=target,
            audience=audience,
            jobs=jobs,
            progress=progress,
            groups=groups,
        )
        report.provenance.settings["holdout_fraction"] = holdout_fraction
        report.provenance.settings["method"] = method
        render_all(report, staged, console=None if quiet else Console())
        sheet = render_datasheet(report, schema=inputs.schema, method=method)
        write_text(staged / "datasheet.md", sheet)
        index = release_index(synthetic_path, audience, manifest, record_path)
        write_text(staged / "README.md", index)
    write_text(record_path, json.dumps(record, indent=2) + "\n")
    cli_commit(
        reservation,
        manifest_path(synthetic_path),
        report_path=out / "report.json",
        verdict=report.verdict,
        datasheet_path=out / "datasheet.md",
        synthetic_path=synthetic_path,
        input_path=inputs.path,
        quiet=quiet,
    )
    progress.note(
        f"wrote {synthetic_path.name}, {', '.join(FILES.values())}, datasheet.md and README.md "
        f"to {out}; README.md says which files may be published"
    )
    if quiet and report.exit_code != 0:
        print_verdict(report.exit_code, out)
    raise typer.Exit(report.exit_code)


def _audit_report(
    inputs: Inputs,
    train: Any,
    holdout: Any,
    table: Any,
    manifest: dict[str, Any],
    pol: Any,
    synthetic_path: Path,
    *,
    seed: int | None,
    run_seed: int,
    target: str | None,
    audience: str,
    jobs: int,
    progress: Progress,
    groups: Any = None,
) -> Any:
    """Attack the synthetic table with train and holdout; the report (no seed unless given)."""
    from attacks import ATTACKS, AuditInputError, run_audit
    from reports.gate import make_report

    cols = [c.name for c in inputs.schema.synth_columns]
    types = {c.name: _AUDIT_TYPES.get(c.type, "categorical") for c in inputs.schema.synth_columns}
    steps = len(ATTACKS) + 1  # "prepare", then each attack
    with progress.task("auditing", total=steps) as advance:
        try:
            audit = run_audit(
                train[cols],
                holdout[cols],
                table[cols],
                column_types=types,
                seed=run_seed,
                progress=lambda step, done, total: advance(0, description=f"auditing: {step}"),
                n_jobs=jobs,
            )
        except AuditInputError as exc:
            raise InputError(str(exc)) from None
        advance(steps)
    if seed is None:  # a seed the user did not give is written nowhere
        audit.settings.pop("seed", None)
    report = make_report(
        audit,
        pol,
        train=train[cols],
        holdout=holdout[cols],
        synthetic=table[cols],
        synthetic_path=synthetic_path,
        manifest=manifest,
        column_types={c.name: c.type for c in inputs.schema.synth_columns},
        target=target or pol.target or cols[-1],
        seed=seed,
        audience=audience,
        extra_inputs=[
            {"role": "data", "file": inputs.path.name, "sha256": None, "rows": len(inputs.data)},
            {"role": "schema", "file": None, "sha256": inputs.schema.hash(), "rows": None},
        ],
        command=None if audience == "public" else " ".join(["privsynth", *sys.argv[1:]]),
        constraints=inputs.schema.rules,
        subgroups=groups,
    )
    if seed is None:
        report.provenance.seed = None
        report.provenance.settings.pop("seed", None)
    return report


def release_index(
    synthetic_path: Path, audience: str, manifest: dict[str, Any], record_path: Path
) -> str:
    """README.md of a certify folder: which files may be published and which stay private."""
    from reports.gate import FILES

    table = synthetic_path.name
    reports = ", ".join(f"`{f}`" for f in FILES.values())
    noise = manifest["privacy"]["noise"]
    lines = [
        "# What may be published from this folder",
        "",
        f"Release id `{manifest['release_id']}`; noise: {noise['source']}.",
        "",
        "## Publishable",
        "",
        f"- `{table}`: the synthetic table (differentially private).",
        f"- `{table}.manifest.json`: the public release manifest (method, parameters, public "
        "schema hash, privacy ledger; no seed, no input hash, no exact count).",
        "- `datasheet.md`: the datasheet (no hash, seed or exact count of the private data; its "
        "check bounds and utility figures are aggregates computed from the private tables "
        "WITHOUT differential privacy, like the public report's: publish it only if your policy "
        "accepts such aggregates, or strip those sections).",
    ]
    if audience == "public":
        lines.append(
            f"- {reports}: the public report. Its attack and utility figures are computed from "
            "the private train and holdout tables WITHOUT differential privacy (aggregates with "
            "intervals, no per-record detail, no exact counts): publish them only if your policy "
            "accepts such aggregates."
        )
    lines += ["", "## Private: keep with the data owner, never publish", ""]
    lines.append(
        f"- `../{record_path.name}` (beside this folder, not in it): the private run record: the "
        "input's hash and exact row counts, the split and the seed (if one was given)."
    )
    if audience != "public":
        lines.append(
            f"- {reports}: the internal report (per-record details, exact counts, hashes, the "
            "seed if given). Re-run with `--audience public` for a publishable report."
        )
    if not noise["release"]:  # pragma: no cover - certify always uses OpenDP noise
        lines += ["", f"**{noise.get('warning', 'NOT FOR RELEASE')}**"]
    return "\n".join(lines) + "\n"
