"""The typer application, its error convention and the entry point.

Every command is a thin layer over the Python API. Errors the user can fix (``PrivsynthError``)
become one line on stderr and the error's exit code (2 for bad input); an unexpected failure is one
line and exit code 3 ("could not run"), never a traceback unless PRIVSYNTH_DEBUG=1.

Exit codes: 0 success/PASS, 1 FAIL (a release gate said no), 2 bad input or configuration,
3 INCONCLUSIVE, an attack that could not run, or an internal error.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from privsynth import __version__
from privsynth.errors import PrivsynthError

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it

app = typer.Typer(
    name="privsynth",
    help="Make and certify privacy-safe synthetic tabular data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

QuietOption = typer.Option(
    False, "--quiet", "-q", help="No progress bars or notes (errors still print)."
)
# The registry options shared by ``synth`` and ``certify`` (docs/governance.md).
ReleaseRegistryOption = typer.Option(
    None, "--registry", help="Release registry (see docs/governance.md)."
)
SourceOption = typer.Option(
    None, "--source", help="Registry source whose lifetime budget this spends."
)
ParentOption = typer.Option(None, "--parent", help="Release this one refreshes (lineage).")
JobsOption = typer.Option(
    -1,
    "--jobs",
    "-j",
    help="Threads for the privacy attacks (-1: every CPU; 1 on a busy machine). Same results.",
)


# OS errors a user can fix (space, permissions, paths): exit 2 with the path and the reason.
_USER_OS_ERRORS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.EEXIST,
}
VERDICTS = {EXIT_OK: "PASS", EXIT_FAIL: "FAIL", EXIT_INCOMPLETE: "INCONCLUSIVE"}


def fail(message: str, code: int = EXIT_INPUT) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise.

    ``message`` is user text (paths, values): it is escaped, never read as rich markup.
    """
    err_console.print(
        f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code)


def print_verdict(code: int, report_dir: os.PathLike[str] | str | None = None) -> None:
    """One line on stderr with the gate's verdict (printed even with --quiet for exit 1 and 3)."""
    word = VERDICTS.get(code, f"exit {code}")
    where = f" (report: {report_dir})" if report_dir is not None else ""
    style = {EXIT_OK: "green", EXIT_FAIL: "bold red"}.get(code, "bold yellow")
    err_console.print(
        f"[{style}]verdict: {word}[/{style}]{escape(where)}", highlight=False, soft_wrap=True
    )


def os_error_message(exc: OSError) -> str | None:
    """One line for an OS error the user can fix, or None if it is not one of those."""
    if exc.errno not in _USER_OS_ERRORS:
        return None
    reason = exc.strerror or os.strerror(exc.errno or 0)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        reason += "; free some space or write elsewhere (nothing was left half-written)"
    return f"{exc.filename}: {reason}" if exc.filename else reason


def handle_errors(fn: F) -> F:
    """Turn exceptions into one line and an exit code (see module docstring)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except PrivsynthError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None
        except OSError as exc:
            message = os_error_message(exc)
            if message is None:
                raise fail(_internal(exc), EXIT_INCOMPLETE) from None
            raise fail(message, EXIT_INPUT) from None
        except Exception as exc:
            if os.environ.get("PRIVSYNTH_DEBUG"):
                raise
            raise fail(_internal(exc), EXIT_INCOMPLETE) from None

    return wrapper  # type: ignore[return-value]


def _internal(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"internal error: {type(exc).__name__}: {msg} (set PRIVSYNTH_DEBUG=1 for details)"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"privsynth {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Make and certify privacy-safe synthetic tabular data."""


schema_app = typer.Typer(
    help="Write and check schemas (the public domain of a table).", no_args_is_help=True
)
report_app = typer.Typer(help="Work with saved risk reports.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(report_app, name="report")


def main() -> None:
    """Console-script entry point: registers every command module, then runs the app."""
    from privsynth.cli import commands  # noqa: F401  (registers the commands)
    from privsynth.outputs import install_sigterm_handler, raise_if_terminated

    install_sigterm_handler()  # SIGTERM unwinds like Ctrl-C: temporary files are removed
    try:
        try:
            app(standalone_mode=True)
        finally:
            raise_if_terminated()  # a SIGTERM swallowed in a finalizer still ends the run as 143
    except SystemExit as exc:
        if exc.code == EXIT_TERMINATED:
            fail("terminated (SIGTERM); no partial output was left", EXIT_TERMINATED)
        sys.exit(exc.code)
