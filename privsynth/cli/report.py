"""``privsynth report show``: re-render a saved report.json in the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from privsynth.cli.app import handle_errors
from privsynth.errors import InputError

report_app = typer.Typer(help="Work with saved risk reports.", no_args_is_help=True)


@report_app.command("show")
@handle_errors
def show(
    report: Path = typer.Argument(..., help="A report.json written by certify or audit --report."),
    exit_code: bool = typer.Option(
        False, "--exit-code", help="Exit with the report's gate code (0/1/3) instead of 0."
    ),
) -> None:
    """Print a saved risk report: verdict first, then the checks."""
    from rich.console import Console

    from reports.model import Report
    from reports.render_terminal import render_terminal

    if report.is_dir():
        raise InputError(f"{report}: is a folder; give the report.json inside it")
    if not report.is_file():
        raise InputError(f"{report}: no such file")
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{report}: not UTF-8 text (byte {exc.start}); not a report.json") from exc
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{report}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "verdict" not in data:
        raise InputError(
            f"{report}: not a privsynth report (expected a JSON object with a 'verdict', "
            f"got {type(data).__name__})"
        )
    try:
        loaded = Report.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{report}: not a privsynth report: {type(exc).__name__}: {exc}") from exc
    render_terminal(loaded, Console())
    if exit_code:
        raise typer.Exit(loaded.exit_code)
