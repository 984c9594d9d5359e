"""The shared base of errors and exit codes (no dependency on anything else in privsynth).

Every error privsynth reports to its user derives from :class:`PrivsynthError`; the command line
turns it into one line on stderr and its ``exit_code`` (never a traceback). The attack harness's
input error (``attacks.AuditInputError``) derives from :class:`InputError`, so one handler serves
both packages. :class:`ExitCode` is the one table of exit codes; :data:`VERDICT_EXIT_CODES` maps a
release gate's verdict onto it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The command line's exit codes (docs/architecture.md, "Exit codes")."""

    OK = 0  # success, or the gate said PASS
    FAIL = 1  # a release gate (or a DP audit) said no
    INPUT = 2  # bad input or configuration: one line on stderr, nothing written
    INCOMPLETE = 3  # INCONCLUSIVE, an attack that could not run, or an internal error
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # 128 + SIGTERM, as a shell reports it


VERDICT_EXIT_CODES: dict[str, int] = {
    "PASS": int(ExitCode.OK),
    "FAIL": int(ExitCode.FAIL),
    "INCONCLUSIVE": int(ExitCode.INCOMPLETE),
}


class PrivsynthError(Exception):
    """Base of every error privsynth reports to its user; ``exit_code`` is what the CLI returns."""

    exit_code: int = int(ExitCode.INPUT)


class InputError(PrivsynthError, ValueError):
    """Bad input: a missing file, an unknown column, a value the schema does not allow, bad options."""


class SchemaError(InputError):
    """A schema file that is malformed or does not fit the data."""


class BudgetExceededError(PrivsynthError):
    """A measurement would spend more privacy budget than is left; raised before data is touched."""


class NotFittedError(PrivsynthError, RuntimeError):
    """An estimator used before ``fit``."""


class OptionError(InputError):
    """A bad value of one configuration field, named by its field (``holdout_fraction``).

    The library names the field; the command line names the flag (``--holdout-fraction``) by
    reading :attr:`field` and :attr:`detail`, so no CLI wording lives in the library.
    """

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        self.detail = detail
        super().__init__(f"{field} {detail}")
