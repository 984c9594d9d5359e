"""The common shape of an attack: build from tables (or a shared :class:`AuditData`), then
``evaluate()`` returns an :class:`AttackResult`; a failure to run becomes status "error"."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

import pandas as pd

from attacks.context import AuditData
from attacks.errors import AttackCannotRun
from attacks.results import AttackResult, Metric


class Attack:
    """Base class. Subclasses set ``name`` and implement ``_run() -> (metrics, details)``."""

    name: ClassVar[str] = "attack"

    def __init__(
        self,
        train: pd.DataFrame | None = None,
        holdout: pd.DataFrame | None = None,
        synthetic: pd.DataFrame | None = None,
        *,
        column_types: dict[str, str] | None = None,
        qi: Sequence[str] | None = None,
        secrets: Sequence[str] | None = None,
        seed: int = 0,
        data: AuditData | None = None,
        confidence: float = 0.95,
        **prepare: Any,
    ) -> None:
        if data is None:
            if train is None or holdout is None or synthetic is None:
                raise TypeError("give train, holdout and synthetic tables, or data=AuditData")
            data = AuditData.prepare(
                train,
                holdout,
                synthetic,
                column_types=column_types,
                qi=qi,
                secrets=secrets,
                seed=seed,
                **prepare,
            )
        self.data = data
        self.seed = data.seed
        self.confidence = confidence

    @classmethod
    def from_data(cls, data: AuditData, **params: Any) -> Attack:
        return cls(data=data, **params)

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
