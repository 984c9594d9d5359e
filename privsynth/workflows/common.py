"""Helpers the workflows share: column checks, the holdout split, the attack run.

The split: ``round(n * fraction)`` holdout rows drawn by a seeded permutation of the row positions.
It is a function of the private table's size and the seed, which is why a seed the user did not
give is written nowhere (docs/privacy.md). The attacks and the split are evaluation, internal
output: they spend no privacy budget and never reach a mechanism.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from privsynth.errors import OptionError
from privsynth.progress import Progress


def split_holdout(n: int, fraction: float, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, holdout) row positions; the holdout is ``round(n * fraction)`` rows."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_h = int(round(n * fraction))
    if n_h < 1 or n - n_h < 1:
        raise OptionError("holdout_fraction", f"{fraction} leaves no train or no holdout rows")
    return np.sort(perm[n_h:]), np.sort(perm[:n_h])


def check_columns(
    columns: Sequence[str],
    *,
    target: str | None = None,
    secrets: Sequence[str] | None = None,
    qi: Sequence[str] | None = None,
    policy: Any = None,
) -> None:
    """Every column a setting or the policy names exists in the data (InputError before any work).

    A bad one raises :class:`OptionError` naming the field (``target``, ``secret``, ``qi``).
    """
    columns = list(columns)
    named = [("target", target)] + [("secret", c) for c in secrets or []]
    named += [("qi", c) for c in qi or []]
    for field, col in named:
        if col is not None and col not in columns:
            raise OptionError(field, f"{col!r}: no such column (columns: {', '.join(columns)})")
    if policy is not None:
        from reports.policy import check_policy_columns

        check_policy_columns(policy, columns)


def run_attacks(
    tables: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    progress: Progress,
    **settings: Any,
) -> Any:
    """``attacks.run_audit`` on (train, holdout, synthetic) under a progress bar.

    ``settings`` go to ``run_audit`` unchanged (``column_types``, ``qi``, ``secrets``, ``seed``,
    ``n_jobs``). An :class:`attacks.AuditInputError` is an ``InputError``: it needs no translation.
    """
    from attacks import ATTACKS, run_audit

    with progress.task("auditing", total=len(ATTACKS) + 1) as advance:
        last = [0]

        def on_progress(step: str, done: int, total: int) -> None:
            advance(done - last[0], description=f"auditing: {step}")
            last[0] = done

        result = run_audit(*tables, progress=on_progress, **settings)
        advance(len(ATTACKS) + 1 - last[0])
    return result


def reserve(config: Any, kind: str) -> Any:
    """The registry's reservation of ``config``'s budget (None without a registry), taken before
    any private data is read (docs/governance.md)."""
    from privsynth.registry.reservation import cli_reserve

    reg = config.registry
    return cli_reserve(
        reg.registry,
        reg.source,
        reg.parent,
        kind=kind,
        epsilon=config.epsilon,
        delta=config.delta,
        method=config.method,
        rho=config.budget.rho,
    )
