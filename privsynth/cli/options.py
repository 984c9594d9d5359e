"""The options several commands share, as ``Annotated`` types (one definition each).

Ranges and choices are click's (``min``/``max``, Enum): a value outside them is one ``error:``
line and exit 2 before the command runs (``privsynth.cli.app.PrivsynthGroup``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Audience(StrEnum):
    """Who a report is for: ``internal`` (every detail) or ``public`` (no per-record details)."""

    internal = "internal"
    public = "public"


def _jobs(value: int) -> int:
    if value == 0 or value < -1:
        raise typer.BadParameter("must be a positive number of threads, or -1 for every CPU")
    return value


Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars or notes (errors still print).")
]
Jobs = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        callback=_jobs,
        help="Threads for the privacy attacks (-1: every CPU; 1 on a busy machine). Same results.",
    ),
]
# The registry options shared by ``synth`` and ``certify`` (docs/governance.md).
Registry = Annotated[
    str | None, typer.Option("--registry", help="Release registry (see docs/governance.md).")
]
Source = Annotated[
    str | None, typer.Option("--source", help="Registry source whose lifetime budget this spends.")
]
Parent = Annotated[
    str | None, typer.Option("--parent", help="Release this one refreshes (lineage).")
]
Data = Annotated[Path | None, typer.Argument(help="Private table (CSV or Parquet).")]
SchemaFile = Annotated[
    Path | None, typer.Option("--schema", "-s", help="Schema JSON (public domain).")
]
Example = Annotated[bool, typer.Option("--example", help="Use the bundled Adult table and schema.")]
Epsilon = Annotated[float, typer.Option("--epsilon", "-e", help="Privacy budget epsilon (> 0).")]
Delta = Annotated[float, typer.Option("--delta", "-d", help="Privacy budget delta, in (0, 1e-3].")]
Method = Annotated[str, typer.Option("--method", "-m", help="aim, mst, mwem or independent.")]
Rows = Annotated[
    int | None, typer.Option("--rows", "-n", min=1, help="Synthetic rows (default: noisy count).")
]
Target = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="Column for the utility model (default: the policy's, else the last categorical "
        "column with 2-20 categories).",
    ),
]
Subgroups = Annotated[
    list[str] | None,
    typer.Option(
        "--subgroup", help="Sensitive column for subgroup fidelity and fairness (repeat)."
    ),
]
