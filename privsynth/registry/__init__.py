"""Governance across releases: a registry of sources, releases and their lifetime privacy budget.

* :mod:`privsynth.registry.store`: one storage interface, SQLite (a file) and PostgreSQL (a URL).
* :mod:`privsynth.registry.migrations`: the versioned tables.
* :mod:`privsynth.registry.budget`: exact lifetime caps (integer units of rho).
* :mod:`privsynth.registry.registry`: sources, releases, lineage, status, the audit trail.
* :mod:`privsynth.registry.reservation`: reserve before reading data, commit after writing.
* :mod:`privsynth.registry.drift`: a new source version against a release (NOT private).

docs/governance.md has the model and a compliance reviewer's walk-through.
"""

from privsynth.registry.budget import LifetimeBudget, parse_budget
from privsynth.registry.registry import (
    Registry,
    ReleaseInfo,
    SourceInfo,
    init_registry,
    open_registry,
)
from privsynth.registry.reservation import Reservation, cli_commit, cli_reserve, reserve

__all__ = [
    "LifetimeBudget",
    "Registry",
    "ReleaseInfo",
    "Reservation",
    "SourceInfo",
    "cli_commit",
    "cli_reserve",
    "init_registry",
    "open_registry",
    "parse_budget",
    "reserve",
]
