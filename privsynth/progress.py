"""Progress display for long steps (rich bars on stderr), silenced entirely by ``quiet``.

Machine output (JSON, tables) goes to stdout or files; decoration only ever goes to stderr.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as _RichProgress

Advance = Callable[..., None]


class Progress:
    """Shows a bar per step and notes on stderr; does nothing when ``quiet``."""

    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self.console = console or Console(stderr=True)

    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[Advance]:
        """Context manager yielding ``advance(steps=1, description=None)``."""
        if self.quiet:
            yield lambda *a, **k: None
            return
        bar = _RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        with bar:
            tid = bar.add_task(description, total=total)

            def advance(steps: float = 1, description: str | None = None, **fields: object) -> None:
                kwargs: dict[str, object] = {"advance": steps}
                if description is not None:
                    kwargs["description"] = description
                bar.update(tid, **kwargs)  # type: ignore[arg-type]

            yield advance

    def note(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, highlight=False)

    def warn(self, message: str) -> None:
        """Warnings are shown even when quiet: they are about correctness, not decoration."""
        self.console.print(f"[yellow]warning:[/yellow] {message}", highlight=False)


QUIET = Progress(quiet=True)
