"""``privsynth certify``: split, synthesize from train, audit against the holdout, report, gate.

The one-shot path a privacy engineer runs before a release. The holdout never reaches the
generator; every rendering and a datasheet land in ``--out``; the exit code is the gate's verdict.
"""

from __future__ import annotations

import secrets as _secrets
import sys
from pathlib import Path

import numpy as np
import typer

from privsynth.cli.app import JobsOption, QuietOption, app, handle_errors
from privsynth.errors import InputError
from privsynth.pipeline import Inputs, load_inputs, synthesize, write_release
from privsynth.privacy.ledger import validate_epsilon_delta
from privsynth.progress import Progress

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
        None, "--seed", help="Seed for split, synthesis and audit (keep it secret)."
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
    subgroup: list[str] | None = typer.Option(
        None, "--subgroup", help="Sensitive column for subgroup fidelity and fairness (repeat)."
    ),
    jobs: int = JobsOption,
    quiet: bool = QuietOption,
) -> None:
    """Synthesize from a training split, attack it with the holdout, and gate the release."""
    from rich.console import Console

    from attacks import AuditInputError, run_audit
    from privsynth.io import write_text
    from reports.datasheet import render_datasheet
    from reports.gate import FILES, make_report, render_all
    from reports.policy import load_policy

    validate_epsilon_delta(epsilon, delta)
    if not 0 < holdout_fraction < 1:
        raise InputError(f"--holdout-fraction must be in (0, 1), got {holdout_fraction}")
    if seed is not None and seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    if jobs == 0:
        raise InputError("--jobs must be a positive number of threads, or -1 for every CPU")
    if audience not in ("internal", "public"):
        raise InputError(f"--audience must be internal or public, got {audience!r}")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    pol = load_policy(policy)  # a bad policy fails before any budget is spent
    from reports.fidelity import sensitive_columns

    progress = Progress(quiet=quiet)
    inputs = load_inputs(data, schema, example=example)
    groups = sensitive_columns(inputs.schema, subgroup)  # before any budget is spent
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
        epsilon=epsilon,
        delta=delta,
        rows=rows,
        seed=run_seed,
        progress=progress,
    )
    out.mkdir(parents=True, exist_ok=True)
    synthetic_path = out / "synthetic.csv"
    manifest = write_release(table, synth, inputs, synthetic_path)
    cols = [c.name for c in inputs.schema.synth_columns]
    types = {c.name: _AUDIT_TYPES.get(c.type, "categorical") for c in inputs.schema.synth_columns}
    with progress.task("auditing", total=6) as advance:
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
        advance(6)
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
            {
                "role": "data",
                "file": inputs.path.name,
                "sha256": manifest["input"]["sha256"],
                "rows": len(inputs.data),
            },
            {"role": "schema", "file": None, "sha256": inputs.schema.hash(), "rows": None},
        ],
        command=None if audience == "public" else " ".join(["privsynth", *sys.argv[1:]]),
        constraints=inputs.schema.rules,
        subgroups=groups,
    )
    report.provenance.settings["holdout_fraction"] = holdout_fraction
    report.provenance.settings["method"] = method
    render_all(report, out, console=None if quiet else Console())
    sheet = render_datasheet(report, schema=inputs.schema, method=method, rows=len(table))
    write_text(out / "datasheet.md", sheet)
    progress.note(
        f"wrote {synthetic_path.name}, {', '.join(FILES.values())} and datasheet.md to {out}"
    )
    raise typer.Exit(report.exit_code)
