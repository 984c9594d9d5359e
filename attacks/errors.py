"""Exceptions of the attack harness."""

from __future__ import annotations

from privsynth.errors import InputError


class AuditInputError(InputError):  # one error root: the CLI reports it as bad input (exit 2)
    """Bad input to an attack: empty table, column mismatch, unknown column, all-missing column."""


class AttackCannotRun(RuntimeError):
    """An attack cannot run on these tables (e.g. a constant secret column); reported, not raised."""
