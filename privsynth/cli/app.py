"""The typer application, its error convention, its command table and the entry point.

Every command is ``Annotated`` options and one call into :mod:`privsynth.workflows` (or a small
library call). Errors the user can fix (``PrivsynthError``) become one line on stderr and the
error's exit code (2 for bad input); a bad option value that click rejects (a range, a choice) is
one line and exit 2 as well; an unexpected failure is one line and exit code 3 ("could not run"),
never a traceback unless PRIVSYNTH_DEBUG=1. A library error that names a config field
(:class:`privsynth.errors.OptionError`) is shown with the flag's name (``holdout_fraction`` ->
``--holdout-fraction``).

Exit codes: :class:`privsynth.errors.ExitCode` (0 success/PASS, 1 FAIL, 2 bad input, 3
INCONCLUSIVE / could not run, 130 interrupted, 143 terminated).

Commands are registered explicitly in :data:`COMMANDS` (name -> module, attribute, one-line help)
and loaded lazily: ``privsynth --help`` imports no command module, ``privsynth sample`` imports
only ``privsynth.cli.sample``.
"""

from __future__ import annotations

import errno
import functools
import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from privsynth import __version__
from privsynth.errors import ExitCode, OptionError, PrivsynthError

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INCOMPLETE = (int(c) for c in tuple(ExitCode)[:4])
EXIT_TERMINATED = int(ExitCode.TERMINATED)

# name -> (module, attribute, one-line help shown by ``privsynth --help``). The attribute is a
# command function or a typer sub-application; tests check each help line against its docstring.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "synth": (
        "privsynth.cli.synth",
        "synth",
        "Make a differentially private synthetic copy of DATA.",
    ),
    "schema": (
        "privsynth.cli.schema",
        "schema_app",
        "Write and check schemas (the public domain of a table).",
    ),
    "audit": (
        "privsynth.cli.audit",
        "audit",
        "Run every privacy attack on TRAIN/HOLDOUT/SYNTHETIC and print each result with its "
        "interval.",
    ),
    "certify": (
        "privsynth.cli.certify",
        "certify",
        "Synthesize from a training split, attack it with the holdout, and gate the release.",
    ),
    "report": ("privsynth.cli.report", "report_app", "Work with saved risk reports."),
    "registry": ("privsynth.cli.registry", "registry_app", "Create or migrate a release registry."),
    "source": (
        "privsynth.cli.registry",
        "source_app",
        "Sources: private tables with a lifetime privacy budget.",
    ),
    "release": (
        "privsynth.cli.registry",
        "release_app",
        "Releases: list, show lineage, suspend, retire, re-audit.",
    ),
    "drift": (
        "privsynth.cli.registry",
        "drift",
        "Compare a new source version with the release's (NOT private: internal use only).",
    ),
    "dp-audit": (
        "privsynth.cli.dpaudit",
        "dp_audit",
        "Audit a generator's DP claim empirically: run it on D and D + canary, bound epsilon.",
    ),
    "sample": (
        "privsynth.cli.sample",
        "sample",
        "Draw synthetic records from a saved DP model (no privacy cost).",
    ),
}

err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

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


def note_release(release: Any, quiet: bool) -> None:
    """The registry's line after a recorded release (none without a registry, or with --quiet)."""
    if release is None or quiet:
        return
    err_console.print(
        f"registry: release {release.id} (v{release.version} of {release.source_id}) recorded; "
        f"rho={release.rho:.6g} spent from the source's lifetime cap",
        highlight=False,
    )


def note_outcome(result: Any, out: Any, quiet: bool) -> None:
    """After a synth or certify run: the registry's line, and why the run is no DP release (an
    unreviewed or seeded schema; printed even when quiet)."""
    note_release(result.release, quiet)
    for problem in result.not_for_release:
        err_console.print(
            f"[yellow]warning:[/yellow] {escape(f'{out}: {problem}')}", highlight=False
        )


def os_error_message(exc: OSError) -> str | None:
    """One line for an OS error the user can fix, or None if it is not one of those."""
    if exc.errno not in _USER_OS_ERRORS:
        return None
    reason = exc.strerror or os.strerror(exc.errno or 0)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        reason += "; free some space or write elsewhere (nothing was left half-written)"
    return f"{exc.filename}: {reason}" if exc.filename else reason


# fields that two flags fill (``audit --secret A --sensitive B,C``): the error names both
FLAG_ALIASES = {"secret": "--secret/--sensitive", "qi": "--qi/--quasi-identifiers"}


def flag(field: str) -> str:
    """The command-line flag of a config field: ``holdout_fraction`` -> ``--holdout-fraction``."""
    return FLAG_ALIASES.get(field, "--" + field.replace("_", "-"))


def error_line(exc: PrivsynthError) -> str:
    """The one line shown for a library error (an OptionError names the flag)."""
    if isinstance(exc, OptionError):
        return f"{flag(exc.field)} {exc.detail}"
    return str(exc)


def handle_errors(fn: F) -> F:
    """Turn exceptions into one line and an exit code (see module docstring)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except PrivsynthError as exc:
            raise fail(error_line(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted", ExitCode.INTERRUPTED) from None
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


def _option_name(param: Any) -> str:
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    if opts:
        return opts[0]
    return str(getattr(param, "human_readable_name", None) or getattr(param, "name", "value"))


def _range_phrase(low: Any, high: Any) -> str | None:
    if low is None and high is None:
        return None
    if high is None and isinstance(low, int) and low in (0, 1):
        return "a non-negative integer" if low == 0 else "a positive integer"
    if high is None:
        return f"at least {low}"
    return f"at most {high}" if low is None else f"in [{low}, {high}]"


def bad_parameter_line(exc: typer.BadParameter) -> str:
    """One line for an option value that click (or an option callback) rejected."""
    name = _option_name(exc.param) if exc.param is not None else "value"
    msg = str(exc.message).removeprefix("Value error, ")
    choice = re.match(r"'(.*)' is not one of (.*?)\.?$", msg)
    if choice:
        return f"{name} must be one of {choice[2].replace(chr(39), '')}, got {choice[1]!r}"
    if msg.startswith("Input should be greater") or msg.startswith("Input should be less"):
        phrase = _range_phrase(getattr(exc.param, "min", None), getattr(exc.param, "max", None))
        return f"{name} must be {phrase}" if phrase else f"{name}: {msg}"
    return f"{name} {msg}" if msg.startswith("must ") else f"{name}: {msg}"


class PrivsynthGroup(TyperGroup):
    """The root group: loads the commands of :data:`COMMANDS` on first use (not for ``--help``)
    and reports a rejected option value as one ``error:`` line with exit code 2."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None or cmd_name not in COMMANDS:
            return cmd
        if self._listing:  # the help listing needs the one-line help only
            return typer.core.TyperCommand(name=cmd_name, help=COMMANDS[cmd_name][2])
        cmd = load_command(cmd_name)
        self.add_command(cmd, cmd_name)
        return cmd

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:
            if type(exc).__name__ == "MissingParameter":
                raise fail(usage_line(exc)) from None
            raise fail(bad_parameter_line(exc)) from None
        except typer.TyperException as exc:  # typer's click: a UsageError has exit code 2
            if getattr(exc, "exit_code", None) != EXIT_INPUT:
                raise
            raise fail(usage_line(exc)) from None


def usage_line(exc: Any) -> str:
    """One line for a usage error (unknown option or command, missing value): click's own
    message and where the options are listed."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "privsynth"
    return f"{exc.format_message().rstrip('.')} (`{where} --help` lists the options)"


def load_command(name: str) -> Any:
    """Import the module of command ``name`` and build its click command (or group)."""
    module, attribute, _ = COMMANDS[name]
    obj = getattr(importlib.import_module(module), attribute)
    if isinstance(obj, typer.Typer):
        group = typer.main.get_group(obj)
        group.name = name
        return group
    info = typer.models.CommandInfo(name=name, callback=obj)
    return typer.main.get_command_from_info(
        info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=None
    )


app = typer.Typer(
    name="privsynth",
    cls=PrivsynthGroup,
    help="Make and certify privacy-safe synthetic tabular data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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


def main() -> None:
    """Console-script entry point: runs the app (commands load on first use)."""
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
