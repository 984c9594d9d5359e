"""Exceptions that the command line turns into one clear line and an exit code (never a traceback)."""

from __future__ import annotations


class PrivsynthError(Exception):
    """Base of every error privsynth reports to its user; ``exit_code`` is what the CLI returns."""

    exit_code = 2


class InputError(PrivsynthError, ValueError):
    """Bad input: a missing file, an unknown column, a value the schema does not allow, bad options."""


class SchemaError(InputError):
    """A schema file that is malformed or does not fit the data."""


class BudgetExceededError(PrivsynthError):
    """A measurement would spend more privacy budget than is left; raised before data is touched."""


class NotFittedError(PrivsynthError, RuntimeError):
    """An estimator used before ``fit``."""
