"""``privsynth registry|source|release ...`` and ``privsynth drift``: governance across releases.

Every command takes ``--registry`` (a SQLite file path, ``sqlite:///path`` or a
``postgresql://`` URL; default ``$PRIVSYNTH_REGISTRY``) and ``--json`` for machine output on stdout.
Bad input (an unknown source or release, a file that is not a registry, a server that is down, a
bad URL) is one line and exit 2; nothing is written. docs/governance.md has the model.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from privsynth.cli import options as opt
from privsynth.cli.app import handle_errors
from privsynth.errors import InputError
from reports.fmt import num

registry_app = typer.Typer(help="Create or migrate a release registry.", no_args_is_help=True)
source_app = typer.Typer(
    help="Sources: private tables with a lifetime privacy budget.", no_args_is_help=True
)
release_app = typer.Typer(
    help="Releases: list, show lineage, suspend, retire, re-audit.", no_args_is_help=True
)

RegistryOption = typer.Option(
    None,
    "--registry",
    "-r",
    envvar="PRIVSYNTH_REGISTRY",
    help="Registry: a SQLite file, sqlite:///path, or postgresql://user@host:port/db.",
)
JsonOption = typer.Option(False, "--json", help="Print JSON on stdout instead of a table.")
_out = Console(width=None if sys.stdout.isatty() else 160)


def _need(registry: str | None) -> str:
    if not registry:
        raise InputError("no registry: give --registry PATH_OR_URL or set PRIVSYNTH_REGISTRY")
    return registry


def _emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# -- registry -------------------------------------------------------------------------------------
@registry_app.command("init")
@handle_errors
def init(
    location: str = typer.Argument(..., help="A SQLite file path or a postgresql:// URL."),
    as_json: bool = JsonOption,
) -> None:
    """Create the registry's tables (or migrate an older registry to this version)."""
    from privsynth.registry import init_registry
    from privsynth.registry.store import redact

    before, after = init_registry(location)
    if as_json:
        _emit({"registry": redact(location), "version_before": before, "version": after})
    elif before == after:
        _out.print(f"registry {redact(location)} is up to date (schema version {after})")
    else:
        _out.print(f"registry {redact(location)}: schema version {before} -> {after}")


# -- sources --------------------------------------------------------------------------------------
@source_app.command("add")
@handle_errors
def source_add(
    source_id: str = typer.Argument(..., help="A stable name for the private table."),
    budget: str = typer.Option(
        ..., "--budget", "-b", help="Lifetime cap: epsilon=E,delta=D or rho=R (zCDP)."
    ),
    description: str = typer.Option("", "--description", help="What the table is."),
    registry: str | None = RegistryOption,
    as_json: bool = JsonOption,
) -> None:
    """Register a source and its lifetime privacy budget (it can never be raised later)."""
    from privsynth.registry import open_registry, parse_budget

    cap = parse_budget(budget)  # bad units fail before the registry is touched
    with open_registry(_need(registry)) as reg:
        src = reg.add_source(source_id, cap, description)
    if as_json:
        _emit(src.to_dict())
    else:
        _out.print(
            f"source {src.id}: lifetime cap rho={src.cap_rho:.6g} "
            f"(epsilon={src.epsilon(src.cap_rho):.4g} at delta={src.delta:g})"
        )


@source_app.command("show")
@handle_errors
def source_show(
    source_id: str = typer.Argument(..., help="Source id."),
    registry: str | None = RegistryOption,
    as_json: bool = JsonOption,
) -> None:
    """A source's budget (cap, spent, left) and the spend of every release."""
    from privsynth.registry import open_registry

    with open_registry(_need(registry)) as reg:
        src = reg.source(source_id)
        rels = reg.releases(source_id)
    if as_json:
        _emit({**src.to_dict(), "per_release": [r.to_dict() for r in rels]})
        return
    _print_source(src)
    _out.print(_release_table(rels, title=f"releases of {src.id}"))


@source_app.command("list")
@handle_errors
def source_list(registry: str | None = RegistryOption, as_json: bool = JsonOption) -> None:
    """Every source with its budget spent and left."""
    from privsynth.registry import open_registry

    with open_registry(_need(registry)) as reg:
        sources = reg.sources()
    if as_json:
        _emit([s.to_dict() for s in sources])
        return
    table = Table(title="sources")
    for col in ("id", "cap eps", "spent eps", "left eps", "rho spent / cap", "releases"):
        table.add_column(col)
    for s in sources:
        table.add_row(
            s.id,
            num(s.epsilon(s.cap_rho)),
            num(s.epsilon(s.spent_rho)),
            num(s.epsilon(s.left_rho)),
            f"{s.spent_rho:.6g} / {s.cap_rho:.6g}",
            str(s.releases),
        )
    _out.print(table)


def _print_source(src: Any) -> None:
    _out.print(f"[bold]source {src.id}[/bold]  {src.description}")
    for label, rho in (("cap", src.cap_rho), ("spent", src.spent_rho), ("left", src.left_rho)):
        _out.print(
            f"  {label:5s} rho={rho:.6g}  epsilon={src.epsilon(rho):.4g} at delta={src.delta:g}"
        )
    _out.print("  (zCDP composes by adding rho; epsilon is not additive)")


def _release_table(rels: list[Any], *, title: str) -> Table:
    table = Table(title=title)
    for col in (
        "id",
        "v",
        "status",
        "kind",
        "method",
        "epsilon",
        "delta",
        "rho",
        "verdict",
        "parent",
    ):
        table.add_column(col)
    for r in rels:
        table.add_row(
            r.id,
            str(r.version),
            r.status + (" (past retention)" if r.past_retention() else ""),
            r.kind,
            r.method or "-",
            num(r.epsilon),
            f"{r.delta:g}",
            f"{r.rho:.6g}",
            r.verdict or "-",
            r.parent_id or "-",
        )
    return table


# -- releases -------------------------------------------------------------------------------------
@release_app.command("list")
@handle_errors
def release_list(
    source: str | None = typer.Option(None, "--source", help="Only this source's releases."),
    status: str | None = typer.Option(None, "--status", help="Only releases with this status."),
    registry: str | None = RegistryOption,
    as_json: bool = JsonOption,
) -> None:
    """Releases with their status, budget and verdict."""
    from privsynth.registry import open_registry

    with open_registry(_need(registry)) as reg:
        rels = reg.releases(source, status)
    if as_json:
        _emit([r.to_dict() for r in rels])
    else:
        _out.print(_release_table(rels, title="releases"))


@release_app.command("show")
@handle_errors
def release_show(
    release_id: str = typer.Argument(..., help="Release id."),
    registry: str | None = RegistryOption,
    as_json: bool = JsonOption,
) -> None:
    """One release: budget, hashes, status, its ledger, audit trail and lineage chain."""
    from privsynth.registry import open_registry
    from privsynth.registry.registry import iter_chain

    with open_registry(_need(registry)) as reg:
        rel = reg.release(release_id)
        chain, children = reg.lineage(rel.id), reg.children(rel.id)
        ledger, events = reg.ledger(rel.id), reg.events(rel.id)
    if as_json:
        _emit(
            {
                **rel.to_dict(),
                "lineage": [r.id for r in chain],
                "children": [r.id for r in children],
                "ledger": [asdict(e) for e in ledger],
                "events": [{"at": a, "action": b, "detail": c} for a, b, c in events],
            }
        )
        return
    flag = "" if rel.status == "active" else f"  [bold red]{rel.status.upper()}[/bold red]"
    _out.print(f"[bold]release {rel.id}[/bold]  v{rel.version} of {rel.source_id}{flag}")
    if rel.reason:
        _out.print(f"  reason: {rel.reason}")
    _out.print(
        f"  {rel.kind} {rel.method or ''}: epsilon={rel.epsilon:.4g} delta={rel.delta:g} "
        f"rho={rel.rho:.6g}; verdict {rel.verdict or '-'}; created {rel.created}"
    )
    _out.print(
        f"  manifest sha256 {rel.manifest_sha256 or '-'}; report sha256 {rel.report_sha256 or '-'}"
    )
    _out.print(
        f"  {len(ledger)} ledger entries; children: {', '.join(c.id for c in children) or '-'}"
    )
    _out.print("lineage (oldest first):")
    for line in iter_chain(chain):
        _out.print("  " + line, highlight=False)
    _out.print("audit trail:")
    for at, action, detail in events:
        _out.print(f"  {at}  {action}  {detail or ''}", highlight=False)


def _set_status(
    release_id: str, status: str, reason: str, registry: str | None, as_json: bool
) -> None:
    from privsynth.registry import open_registry
    from privsynth.registry.reservation import flag_release_files

    with open_registry(_need(registry)) as reg:
        rel = reg.set_status(release_id, status, reason)
    flag_release_files(rel)  # the datasheet and readable reports say so too
    if as_json:
        _emit(rel.to_dict())
    else:
        _out.print(f"release {rel.id} is now {rel.status} ({reason}); its budget stays spent")


@release_app.command("suspend")
@handle_errors
def release_suspend(
    release_id: str = typer.Argument(..., help="Release id."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    registry: str | None = RegistryOption,
    as_json: bool = JsonOption,
) -> None:
    """Suspend a release (e.g. a leak is suspected); its budget stays spent."""
    _set_status(release_id, "suspended", reason, registry, as_json)


@release_app.command("retire")
@handle_errors
def release_retire(
    release_id: str = typer.Argument(..., help="Release id."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    registry: str | None = RegistryOption,
    as_json: bool = JsonOption,
) -> None:
    """Retire a release for good (superseded, past retention); its budget stays spent."""
    _set_status(release_id, "retired", reason, registry, as_json)


@release_app.command("retention")
@handle_errors
def release_retention(
    release_id: str = typer.Argument(..., help="Release id."),
    until: str = typer.Option(..., "--until", help="Keep or use it until this date (YYYY-MM-DD)."),
    registry: str | None = RegistryOption,
    as_json: bool = JsonOption,
) -> None:
    """Set a release's retention date; `release list` flags releases past it."""
    from privsynth.registry import open_registry

    with open_registry(_need(registry)) as reg:
        rel = reg.set_retention(release_id, until)
    if as_json:
        _emit(rel.to_dict())
    else:
        _out.print(f"release {rel.id}: retained until {rel.retention_until}")


@release_app.command("reaudit")
@handle_errors
def release_reaudit(
    release_id: str = typer.Argument(..., help="Release id."),
    train: Path = typer.Option(..., "--train", "-t", help="The training table the release saw."),
    holdout: Path = typer.Option(..., "--holdout", "-H", help="A holdout it never saw."),
    synthetic: Path | None = typer.Option(
        None, "--synthetic", "-S", help="The released table (default: beside its manifest)."
    ),
    policy: str = typer.Option("standard", "--policy", "-p", help="Policy preset or TOML file."),
    out: Path = typer.Option(Path("reaudit-out"), "--out", "-o", help="Folder for the report."),
    seed: int = typer.Option(0, "--seed", help="Seed of the audit's subsampling and splits."),
    registry: str | None = RegistryOption,
    as_json: bool = JsonOption,
    jobs: opt.Jobs = -1,
    quiet: opt.Quiet = False,
) -> None:
    """Re-run the attack suite and the gate on a stored release; exit 0 PASS / 1 FAIL / 3."""
    from privsynth.registry import open_registry
    from privsynth.registry.reaudit import reaudit

    with open_registry(_need(registry)) as reg:
        result = reaudit(
            reg,
            release_id,
            train=train,
            holdout=holdout,
            synthetic=synthetic,
            policy=policy,
            out=out,
            seed=seed,
            jobs=jobs,
            console=None if quiet or as_json else Console(stderr=True),
        )
    if as_json:
        _emit(result)
    raise typer.Exit(result["exit_code"])


# -- drift ----------------------------------------------------------------------------------------
@handle_errors
def drift(
    release: str = typer.Option(..., "--release", help="The release to check."),
    data: Path = typer.Option(..., "--data", help="The new version of the source (private)."),
    baseline: Path | None = typer.Option(
        None, "--baseline", help="The source version the release was made from (default: recorded)."
    ),
    synthetic: Path | None = typer.Option(
        None, "--synthetic", "-S", help="The released table (default: beside its manifest)."
    ),
    schema: Path | None = typer.Option(None, "--schema", "-s", help="Schema JSON (bins, bounds)."),
    policy: str | None = typer.Option(
        None,
        "--policy",
        "-p",
        help="Policy TOML with a [drift] table (default thresholds otherwise).",
    ),
    registry: str | None = RegistryOption,
    as_json: bool = JsonOption,
) -> None:
    """Compare a new source version with the release's (NOT private: internal use only).

    Exit 0: no refresh needed; 1: refresh recommended."""
    from privsynth.registry import open_registry
    from privsynth.registry.drift import drift_for_release, render_drift

    with open_registry(_need(registry)) as reg:
        result = drift_for_release(
            reg,
            release,
            data=data,
            baseline=baseline,
            synthetic=synthetic,
            schema=schema,
            policy=policy,
        )
    if as_json:
        _emit(result.to_dict())
    else:
        render_drift(result, _out)
    raise typer.Exit(1 if result.refresh else 0)
