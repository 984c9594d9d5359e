"""``privsynth audit``: options -> :class:`AuditTablesConfig` -> :func:`audit_tables`.

Runs the privacy-attack suite on a (train, holdout, synthetic) triple. Without ``--policy`` it
does not judge pass/fail; exit codes: 0 every attack ran, 2 bad input, 3 an attack could not run
(named, with its reason, on stderr). With ``--policy`` it gives a verdict, writes the report and
exits 0 PASS / 1 FAIL / 3 INCONCLUSIVE.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from privsynth.cli import options as opt
from privsynth.cli.app import err_console, handle_errors, print_verdict
from privsynth.errors import InputError
from privsynth.progress import Progress
from reports.fmt import num


def result_table(result: Any) -> Table:
    """The attack results as a rich table: each metric, its interval, its null and status."""
    table = Table(title="privacy attacks", show_lines=False)
    table.add_column("metric", no_wrap=True)
    for col in ("value", "95% interval", "null", "status"):
        table.add_column(col)
    for a in result.attacks:
        if not a.metrics:
            table.add_row(a.attack, "-", "-", "-", f"{a.status}: {a.message}")
        for m in a.metrics:
            e = m.estimate
            null = "-" if m.null_value is None else num(m.null_value)
            ci = f"[{num(e.ci_low)}, {num(e.ci_high)}]"
            if abs(e.confidence - 0.95) > 1e-9:
                ci += f" ({e.confidence:.3g})"
            table.add_row(m.name, num(e.value), ci, null, a.status)
    return table


def _names(*parts: list[str] | str | None) -> tuple[str, ...] | None:
    """Repeated options and comma-separated lists, merged (None when empty)."""
    out: list[str] = []
    for part in parts:
        items = part.split(",") if isinstance(part, str) else part or []
        out += [c.strip() for c in items if c.strip()]
    return tuple(out) or None


def _show(outcome: Any, json_out: str | None, quiet: bool, gated: bool) -> None:
    """JSON to a file or stdout, the table (ungated), and one line per attack that failed."""
    from privsynth.io import write_text

    text = outcome.result.to_json()
    if json_out == "-":
        sys.stdout.write(text + "\n")
    elif json_out:
        write_text(json_out, text + "\n")
    if not quiet and not gated:
        Console(stderr=True).print(result_table(outcome.result))
    for a in outcome.failed:
        err_console.print(
            f"[bold red]error:[/bold red] attack {escape(str(a.attack))} could not run: "
            f"{escape(str(a.message))}",
            highlight=False,
            soft_wrap=True,
        )


T = typer.Option
Train = Annotated[Path, T("--train", "-t", help="Training table the generator saw.")]
Holdout = Annotated[Path, T("--holdout", "-H", help="Holdout table it never saw.")]
Synthetic = Annotated[Path, T("--synthetic", "-S", help="Synthetic table to audit.")]
Schema = Annotated[
    Path | None, T("--schema", "-s", help="privsynth schema JSON or Private-PGM domain file.")
]
Secret = Annotated[
    list[str] | None,
    T("--secret", help="Secret column for attribute inference (repeat; default: all)."),
]
QI = Annotated[
    list[str] | None,
    T("--qi", help="Quasi-identifier column (repeat); same as --quasi-identifiers."),
]
QIs = Annotated[
    str | None,
    T(
        "--quasi-identifiers",
        help="Comma-separated columns the attacker is assumed to know: one knowledge set, beside "
        "every other column and public-rule subsets (default: the schema's role "
        "quasi_identifier).",
    ),
]
Sensitive = Annotated[
    str | None,
    T(
        "--sensitive",
        help="Comma-separated secret columns for attribute inference (default: the schema's "
        "role sensitive, else every column).",
    ),
]
Seed = Annotated[int, T("--seed", min=0, help="Seed of subsampling, splits and tie-breaking.")]
JsonOut = Annotated[
    str | None, T("--json", help="Write the results as JSON to this file ('-' for stdout).")
]
Policy = Annotated[
    str | None, T("--policy", "-p", help="Gate with a policy: standard, strict, or a TOML file.")
]
Report = Annotated[
    Path | None, T("--report", help="Folder for the report in every format (needs --policy).")
]
Target = Annotated[
    str | None, T("--target", help="Target column for the train-on-synthetic utility check.")
]
Audience = Annotated[
    opt.Audience, T("--audience", help="internal, or public (omits per-record details and seed).")
]


@handle_errors
def audit(
    train: Train,
    holdout: Holdout,
    synthetic: Synthetic,
    schema: Schema = None,
    secret: Secret = None,
    qi: QI = None,
    quasi_identifiers: QIs = None,
    sensitive: Sensitive = None,
    seed: Seed = 0,
    json_out: JsonOut = None,
    policy: Policy = None,
    report: Report = None,
    target: Target = None,
    audience: Audience = opt.Audience.internal,
    subgroup: opt.Subgroups = None,
    jobs: opt.Jobs = -1,
    quiet: opt.Quiet = False,
) -> None:
    """Run every privacy attack on TRAIN/HOLDOUT/SYNTHETIC and print each result with its
    interval. With --policy, also give a verdict, write the report and exit 0 PASS / 1 FAIL /
    3 INCONCLUSIVE."""
    from privsynth.workflows.audit import audit_tables
    from privsynth.workflows.config import AuditTablesConfig

    if report is not None and policy is None:
        raise InputError("--report needs --policy (standard, strict, or a policy TOML file)")
    if subgroup and policy is None:
        raise InputError("--subgroup needs --policy (the subgroup view is part of the report)")
    config = AuditTablesConfig(
        train=train,
        holdout=holdout,
        synthetic=synthetic,
        schema=schema,
        qi=_names(qi, quasi_identifiers),
        secrets=_names(secret, sensitive),
        seed=seed,
        policy=policy,
        report_dir=report,
        target=target,
        audience=audience.value,
        subgroups=_names(subgroup),
        jobs=jobs,
        json_out=json_out,
    )
    console = None if quiet else Console(stderr=True)
    outcome = audit_tables(config, progress=Progress(quiet=quiet), console=console)
    _show(outcome, json_out, quiet, gated=policy is not None)
    if quiet and policy is not None and outcome.exit_code != 0:
        print_verdict(outcome.exit_code, outcome.report_dir)
    raise typer.Exit(outcome.exit_code)
