"""The common shape of an attack: built from the prepared data (:class:`AuditData`) and the
audit's configuration (:class:`AuditConfig`), ``evaluate()`` returns an :class:`AttackResult`;
a failure to run becomes status "error".

An attack reads only ``self.data`` (shared, read-only apart from the search cache) and
``self.config`` (frozen): its own settings are the typed field of the config named after it
(``config.dcr``, ``config.attribute``, ...).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

import pandas as pd

from attacks.config import AuditConfig
from attacks.context import AuditData
from attacks.errors import AttackCannotRun
from attacks.results import AttackResult, Metric


class Attack:
    """Base class. Subclasses set ``name`` and implement ``_run() -> (metrics, details)``."""

    name: ClassVar[str] = "attack"

    def __init__(self, data: AuditData, config: AuditConfig | None = None) -> None:
        if not isinstance(data, AuditData):
            raise TypeError("an attack takes AuditData; use from_tables() for raw tables")
        self.data = data
        self.config = config if config is not None else data.config
        self.seed = data.seed
        self.confidence = self.config.confidence

    @classmethod
    def from_data(cls, data: AuditData, config: AuditConfig | None = None) -> Attack:
        return cls(data, config)

    @classmethod
    def from_tables(
        cls,
        train: pd.DataFrame,
        holdout: pd.DataFrame,
        synthetic: pd.DataFrame,
        config: AuditConfig | None = None,
        *,
        column_types: dict[str, str] | None = None,
        qi: Sequence[str] | None = None,
        secrets: Sequence[str] | None = None,
        seed: int | None = None,
        n_jobs: int | None = None,
    ) -> Attack:
        """Prepare the triple (:meth:`AuditData.prepare`) and build the attack on it."""
        data = AuditData.prepare(
            train,
            holdout,
            synthetic,
            config,
            column_types=column_types,
            qi=qi,
            secrets=secrets,
            seed=seed,
            n_jobs=n_jobs,
        )
        return cls(data)

    def _run(self) -> tuple[list[Metric], dict[str, Any]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self) -> AttackResult:
        t0 = time.perf_counter()
        try:
            metrics, details = self._run()
            status, message = "ok", ""
            if details.pop("_error", None):
                status, message = "error", str(details.pop("_message", ""))
        except AttackCannotRun as exc:
            metrics, details, status, message = [], {}, "error", str(exc)
        return AttackResult(
            attack=self.name,
            status=status,
            metrics=metrics,
            message=message,
            details=details,
            seconds=round(time.perf_counter() - t0, 4),
        )
