"""``privsynth certify``: options -> :class:`CertifyConfig` -> :func:`privsynth.workflows.certify`.

The one-shot path a privacy engineer runs before a release: split, synthesize from train, audit
against the holdout, report, gate (see :mod:`privsynth.workflows.certification` for the privacy
reasoning: the holdout never reaches the generator, ``--seed`` never reaches the noise, the run
record stays beside ``--out``). The exit code is the gate's verdict.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from privsynth.cli import options as opt
from privsynth.cli.app import handle_errors, note_outcome, print_verdict
from privsynth.cli.inputs import resolve_inputs
from privsynth.progress import Progress

T = typer.Option
Policy = Annotated[
    str, T("--policy", "-p", help="Policy TOML file, or a preset: standard, strict.")
]
Seed = Annotated[
    int | None,
    T(
        "--seed",
        min=0,
        help="Seed for the split, sampling and attacks; never the privacy noise (OpenDP always). "
        "Recorded only in the private run record and the internal report.",
    ),
]
Out = Annotated[Path, T("--out", "-o", help="Output folder.")]
Holdout = Annotated[
    float,
    T(
        "--holdout-fraction",
        min=0.0,
        max=1.0,
        help="Share of rows kept from the generator for the audit, in (0, 1).",
    ),
]
Audience = Annotated[
    opt.Audience,
    T("--audience", help="internal (all details) or public (no per-record details, no seed)."),
]
DpAudit = Annotated[
    bool,
    T(
        "--dp-audit",
        help="Also bound the method's epsilon empirically (docs/dp-audit.md) on a worst-case "
        "base built from the public schema alone; the report gets a dp_audit section.",
    ),
]
DpAuditRuns = Annotated[
    int, T("--dp-audit-runs", min=2, help="Runs per world for --dp-audit (out and in).")
]


@handle_errors
def certify(
    data: opt.Data = None,
    schema: opt.SchemaFile = None,
    epsilon: opt.Epsilon = ...,  # type: ignore[assignment]
    delta: opt.Delta = 1e-9,
    method: opt.Method = "aim",
    policy: Policy = "standard",
    seed: Seed = None,
    out: Out = Path("certify-out"),
    holdout_fraction: Holdout = 0.2,
    target: opt.Target = None,
    audience: Audience = opt.Audience.internal,
    rows: opt.Rows = None,
    example: opt.Example = False,
    registry: opt.Registry = None,
    source: opt.Source = None,
    parent: opt.Parent = None,
    subgroup: opt.Subgroups = None,
    dp_audit: DpAudit = False,
    dp_audit_runs: DpAuditRuns = 200,
    jobs: opt.Jobs = -1,
    quiet: opt.Quiet = False,
) -> None:
    """Synthesize from a training split, attack it with the holdout, and gate the release."""
    from rich.console import Console

    from privsynth.workflows.certification import certify as run_certify
    from privsynth.workflows.config import CertifyConfig, DpAuditSettings, RegistryTarget
    from reports.gate import FILES

    data_path, schema_path = resolve_inputs(data, schema, example=example)
    config = CertifyConfig(
        data=data_path,
        schema=schema_path,
        epsilon=epsilon,
        delta=delta,
        method=method,
        policy=policy,
        seed=seed,
        out=out,
        holdout_fraction=holdout_fraction,
        target=target,
        audience=audience.value,
        rows=rows,
        registry=RegistryTarget(registry=registry, source=source, parent=parent),
        subgroups=tuple(subgroup) if subgroup else None,
        jobs=jobs,
        dp_audit=DpAuditSettings(runs=dp_audit_runs) if dp_audit else None,
        command=" ".join(["privsynth", *sys.argv[1:]]),
    )
    progress = Progress(quiet=quiet)
    result = run_certify(config, progress=progress, console=None if quiet else Console())
    note_outcome(result, out, quiet)
    progress.note(
        f"wrote {result.synthetic_path.name}, {', '.join(FILES.values())}, datasheet.md and "
        f"README.md to {out}; README.md says which files may be published"
    )
    if quiet and result.exit_code != 0:
        print_verdict(result.exit_code, out)
    raise typer.Exit(result.exit_code)
