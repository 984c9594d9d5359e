"""``privsynth report show``: re-render a saved report.json in the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from privsynth.cli.app import handle_errors, report_app
from privsynth.errors import InputError


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

    if not report.is_file():
        raise InputError(f"{report}: no such file")
    try:
        loaded = Report.from_dict(json.loads(report.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{report}: not a privsynth report: {exc}") from exc
    render_terminal(loaded, Console())
    if exit_code:
        raise typer.Exit(loaded.exit_code)
