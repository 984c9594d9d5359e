"""``privsynth audit``: run the privacy-attack suite on a (train, holdout, synthetic) triple.

The junction between privsynth's schema files and the generator-agnostic ``attacks`` package.
It does not judge pass/fail (a report policy does that later). Exit codes: 0 every attack ran,
2 bad input, 3 an attack could not run (named, with its reason, on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from privsynth.cli.app import (
    EXIT_INCOMPLETE,
    JobsOption,
    QuietOption,
    app,
    err_console,
    handle_errors,
    print_verdict,
)
from privsynth.errors import InputError
from privsynth.outputs import atomic_dir, check_outputs
from privsynth.progress import Progress

_SCHEMA_TYPES = {
    "categorical": "categorical",
    "category": "categorical",
    "integer": "numeric",
    "int": "numeric",
    "float": "numeric",
    "numeric": "numeric",
    "datetime": "datetime",
}


def schema_column_types(path: Path, columns: list[str]) -> dict[str, str]:
    """Column types for the attacks from a privsynth schema JSON or a Private-PGM domain file."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable JSON schema ({exc})") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a schema must be a JSON object")
    out: dict[str, str] = {}
    if isinstance(raw.get("columns"), dict):
        for name, spec in raw["columns"].items():
            kind = spec.get("type") if isinstance(spec, dict) else None
            if kind not in _SCHEMA_TYPES:
                raise InputError(f"{path}: column {name!r} has unknown type {kind!r}")
            out[str(name)] = _SCHEMA_TYPES[kind]
    elif all(isinstance(v, int) for v in raw.values()):  # Private-PGM domain {name: k}
        out = {str(k): "categorical" for k in raw}
    else:
        raise InputError(f"{path}: neither a privsynth schema nor a Private-PGM domain file")
    unknown = sorted(set(out) - set(columns))
    missing = sorted(set(columns) - set(out))
    if unknown or missing:
        raise InputError(
            f"{path}: schema does not fit the data (schema-only columns {unknown}, "
            f"data-only columns {missing})"
        )
    return out


def check_columns(
    columns: list[str],
    *,
    target: str | None = None,
    secret: list[str] | None = None,
    qi: list[str] | None = None,
    policy: Any = None,
) -> None:
    """Every column an option or the policy names exists in the data (exit 2 before any work)."""
    named = [("--target", target)] + [("--secret", c) for c in secret or []]
    named += [("--qi", c) for c in qi or []]
    for option, col in named:
        if col is not None and col not in columns:
            raise InputError(f"{option} {col!r}: no such column (columns: {', '.join(columns)})")
    if policy is not None:
        from reports.policy import check_policy_columns

        check_policy_columns(policy, columns)


def schema_roles(path: Path) -> tuple[list[str], list[str]]:
    """(quasi-identifiers, sensitive columns) declared with ``"role"`` in a privsynth schema
    (a Private-PGM domain file declares none). Only the roles are read here: the types were
    checked by :func:`schema_column_types`."""
    from privsynth.schema import COLUMN_ROLES

    raw = json.loads(Path(path).read_text())
    columns = raw.get("columns") if isinstance(raw, dict) else None
    if not isinstance(columns, dict):
        return [], []
    found: dict[str, list[str]] = {r: [] for r in COLUMN_ROLES}
    for name, spec in columns.items():
        role = spec.get("role") if isinstance(spec, dict) else None
        if role is None:
            continue
        if role not in COLUMN_ROLES:
            raise InputError(
                f"{path}: column {name!r} has unknown role {role!r} (use one of "
                f"{', '.join(COLUMN_ROLES)}, or omit it)"
            )
        found[role].append(str(name))
    return found["quasi_identifier"], found["sensitive"]


def knowledge_columns(
    schema: Path | None,
    qi: list[str] | None,
    quasi_identifiers: str | None,
    secret: list[str] | None,
    sensitive: str | None,
) -> tuple[list[str] | None, list[str] | None]:
    """The declared quasi-identifiers and secrets: command line first, else the schema's roles."""
    split = lambda text: [c.strip() for c in (text or "").split(",") if c.strip()]  # noqa: E731
    cli_qi = [*(qi or []), *split(quasi_identifiers)]
    cli_secrets = [*(secret or []), *split(sensitive)]
    role_qi, role_secrets = schema_roles(schema) if schema else ([], [])
    return (cli_qi or role_qi or None), (cli_secrets or role_secrets or None)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def result_table(result: Any) -> Table:
    table = Table(title="privacy attacks", show_lines=False)
    table.add_column("metric", no_wrap=True)
    for col in ("value", "95% interval", "null", "status"):
        table.add_column(col)
    for a in result.attacks:
        if not a.metrics:
            table.add_row(a.attack, "-", "-", "-", f"{a.status}: {a.message}")
        for m in a.metrics:
            e = m.estimate
            null = "-" if m.null_value is None else _fmt(m.null_value)
            ci = f"[{_fmt(e.ci_low)}, {_fmt(e.ci_high)}]"
            if abs(e.confidence - 0.95) > 1e-9:
                ci += f" ({e.confidence:.3g})"
            table.add_row(m.name, _fmt(e.value), ci, null, a.status)
    return table


@app.command()
@handle_errors
def audit(
    train: Path = typer.Option(..., "--train", "-t", help="Training table the generator saw."),
    holdout: Path = typer.Option(..., "--holdout", "-H", help="Holdout table it never saw."),
    synthetic: Path = typer.Option(..., "--synthetic", "-S", help="Synthetic table to audit."),
    schema: Path | None = typer.Option(
        None, "--schema", "-s", help="privsynth schema JSON or Private-PGM domain file."
    ),
    secret: list[str] | None = typer.Option(
        None, "--secret", help="Secret column for attribute inference (repeat; default: all)."
    ),
    qi: list[str] | None = typer.Option(
        None, "--qi", help="Quasi-identifier column (repeat); same as --quasi-identifiers."
    ),
    quasi_identifiers: str | None = typer.Option(
        None,
        "--quasi-identifiers",
        help="Comma-separated columns the attacker is assumed to know: one knowledge set, beside "
        "every other column and public-rule subsets (default: the schema's role "
        "quasi_identifier).",
    ),
    sensitive: str | None = typer.Option(
        None,
        "--sensitive",
        help="Comma-separated secret columns for attribute inference (default: the schema's "
        "role sensitive, else every column).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of subsampling, splits and tie-breaking."),
    json_out: str | None = typer.Option(
        None, "--json", help="Write the results as JSON to this file ('-' for stdout)."
    ),
    policy: str | None = typer.Option(
        None, "--policy", "-p", help="Gate with a policy: standard, strict, or a TOML file."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Folder for the report in every format (needs --policy)."
    ),
    target: str | None = typer.Option(
        None, "--target", help="Target column for the train-on-synthetic utility check."
    ),
    audience: str = typer.Option(
        "internal", "--audience", help="internal, or public (omits per-record details and seed)."
    ),
    subgroup: list[str] | None = typer.Option(
        None, "--subgroup", help="Sensitive column for subgroup fidelity and fairness (repeat)."
    ),
    jobs: int = JobsOption,
    quiet: bool = QuietOption,
) -> None:
    """Run every privacy attack on TRAIN/HOLDOUT/SYNTHETIC and print each result with its
    interval. With --policy, also give a verdict, write the report and exit 0 PASS / 1 FAIL /
    3 INCONCLUSIVE."""
    from attacks import ATTACKS, AuditInputError, run_audit
    from privsynth.io import read_table, write_text

    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    if jobs == 0:
        raise InputError("--jobs must be a positive number of threads, or -1 for every CPU")
    if report is not None and policy is None:
        raise InputError("--report needs --policy (standard, strict, or a policy TOML file)")
    if audience not in ("internal", "public"):
        raise InputError(f"--audience must be internal or public, got {audience!r}")
    report_dir = (report or Path("privsynth-report")) if policy is not None else None
    policy_file = Path(policy) if policy is not None and Path(policy).is_file() else None
    check_outputs(
        inputs=[train, holdout, synthetic, schema, policy_file],
        outputs=[json_out],
        folders=[report_dir],
    )
    gate_policy = None
    if subgroup and policy is None:
        raise InputError("--subgroup needs --policy (the subgroup view is part of the report)")
    if policy is not None:
        from reports.policy import load_policy

        gate_policy = load_policy(policy)  # a bad policy fails here, before any work
    from reports.fidelity import fidelity_inputs

    # schema rules and sensitive columns for the report; a bad one fails before any work
    fid = fidelity_inputs(schema, subgroup) if policy is not None else {}
    progress = Progress(quiet=quiet)
    frames = {
        name: read_table(p)
        for name, p in (("train", train), ("holdout", holdout), ("synthetic", synthetic))
    }
    columns = [str(c) for c in frames["train"].columns]
    types = schema_column_types(schema, columns) if schema else None
    declared_qi, secrets = knowledge_columns(schema, qi, quasi_identifiers, secret, sensitive)
    check_columns(columns, target=target, secret=secrets, qi=declared_qi, policy=gate_policy)
    with progress.task("auditing", total=len(ATTACKS) + 1) as advance:
        last = [0]

        def on_progress(step: str, done: int, total: int) -> None:
            advance(done - last[0], description=f"auditing: {step}")
            last[0] = done

        try:
            result = run_audit(
                frames["train"],
                frames["holdout"],
                frames["synthetic"],
                column_types=types,
                qi=declared_qi,
                secrets=secrets,
                seed=seed,
                progress=on_progress,
                n_jobs=jobs,
            )
        except AuditInputError as exc:
            raise InputError(str(exc)) from None
    text = result.to_json()
    if json_out == "-":
        sys.stdout.write(text + "\n")
    elif json_out:
        write_text(json_out, text + "\n")
    if not quiet and gate_policy is None:
        Console(stderr=True).print(result_table(result))
    failed = [a for a in result.attacks if a.status != "ok"]
    for a in failed:
        err_console.print(
            f"[bold red]error:[/bold red] attack {escape(str(a.attack))} could not run: "
            f"{escape(str(a.message))}",
            highlight=False,
            soft_wrap=True,
        )
    if gate_policy is not None:
        from reports.gate import gate_audit

        assert report_dir is not None
        with atomic_dir(report_dir) as tmp_report:
            code = gate_audit(
                result,
                gate_policy,
                tmp_report,
                train=frames["train"],
                holdout=frames["holdout"],
                synthetic=frames["synthetic"],
                train_path=train,
                holdout_path=holdout,
                synthetic_path=synthetic,
                column_types=types,
                target=target,
                seed=seed,
                audience=audience,
                console=None if quiet else Console(stderr=True),
                **fid,
            )
        if quiet and code != 0:
            print_verdict(code, report_dir)
        raise typer.Exit(code)
    if failed:
        raise typer.Exit(EXIT_INCOMPLETE)
