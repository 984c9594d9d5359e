"""The privacy ledger: the one place where privacy budget is spent.

Accounting is in zero-concentrated DP (rho), which composes by addition. A mechanism that is only
approximately zCDP (e.g. a thresholded histogram) adds a delta of its own; such deltas add too and
are paid from ``delta_reserve``. The total converts to (epsilon, delta) with the CKS bound, using
the part of the requested delta that is not reserved. Neighbouring relation: add/remove one record.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from privsynth.errors import BudgetExceededError, InputError
from privsynth.privacy.accounting import epsilon_to_rho, rho_to_epsilon

MAX_EPSILON = 100.0
MAX_DELTA = 1e-3
# Floating-point slack when comparing spends with the budget (a split of rho into parts that sum
# to it must not be refused for rounding). Far below any privacy-relevant amount.
_SLACK = 1e-12


@dataclass
class LedgerEntry:
    """One measurement: what was measured, how, its noise scale and the privacy it cost."""

    what: str
    mechanism: str
    rho: float
    delta: float = 0.0
    sensitivity: float | None = None
    scale: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def validate_epsilon_delta(epsilon: float, delta: float) -> None:
    """Reject privacy parameters that are invalid or meaningless, with one clear line."""
    if not isinstance(epsilon, int | float) or math.isnan(epsilon) or epsilon <= 0:
        raise InputError(f"epsilon must be a number > 0, got {epsilon}")
    if epsilon > MAX_EPSILON:
        raise InputError(
            f"epsilon {epsilon} is too large to mean anything (the limit is {MAX_EPSILON:g}); "
            "typical values are 0.1 to 10"
        )
    if not isinstance(delta, int | float) or math.isnan(delta) or not 0 < delta <= MAX_DELTA:
        raise InputError(
            f"delta must be in (0, {MAX_DELTA:g}], got {delta}; it should be far below 1/rows"
        )


class PrivacyLedger:
    """Tracks rho (and reserved delta) spent against a budget; refuses any overspend up front."""

    def __init__(
        self,
        *,
        epsilon: float | None = None,
        delta: float | None = None,
        rho: float | None = None,
        delta_reserve: float = 0.0,
    ) -> None:
        if rho is not None:
            if epsilon is not None:
                raise InputError("give the budget as (epsilon, delta) or as rho, not both")
            if not math.isfinite(rho) or rho <= 0:
                raise InputError(f"rho must be a finite number > 0, got {rho}")
            self.rho_budget = float(rho)
        else:
            if epsilon is None or delta is None:
                raise InputError("a privacy budget needs epsilon and delta (or rho)")
            validate_epsilon_delta(epsilon, delta)
            if not 0 <= delta_reserve < delta:
                raise InputError("delta_reserve must be in [0, delta)")
            self.rho_budget = epsilon_to_rho(epsilon, delta - delta_reserve)
        self.epsilon = epsilon
        self.delta = delta
        self.delta_reserve = float(delta_reserve)
        self.entries: list[LedgerEntry] = []
        self._rho_spent = 0.0
        self._delta_spent = 0.0

    # -- spending -------------------------------------------------------------------------------
    @property
    def rho_spent(self) -> float:
        return self._rho_spent

    @property
    def delta_spent(self) -> float:
        return self._delta_spent

    @property
    def rho_remaining(self) -> float:
        return max(self.rho_budget - self.rho_spent, 0.0)

    def can_afford(self, rho: float, delta: float = 0.0) -> bool:
        ok_rho = self.rho_spent + rho <= self.rho_budget * (1 + _SLACK)
        ok_delta = self.delta_spent + delta <= self.delta_reserve * (1 + _SLACK)
        return ok_rho and ok_delta

    def charge(
        self,
        rho: float,
        *,
        what: str,
        mechanism: str,
        delta: float = 0.0,
        sensitivity: float | None = None,
        scale: float | None = None,
        **meta: Any,
    ) -> LedgerEntry:
        """Record a measurement's cost. Call it BEFORE the data is touched: it raises on overspend."""
        if not math.isfinite(rho) or rho < 0 or delta < 0:
            raise ValueError(f"invalid charge rho={rho}, delta={delta}")
        if not self.can_afford(rho, delta):
            raise BudgetExceededError(
                f"measuring {what} needs rho={rho:.3g} (delta={delta:.3g}) but only "
                f"rho={self.rho_remaining:.3g} (delta={self.delta_reserve - self.delta_spent:.3g}) is left"
            )
        entry = LedgerEntry(
            what, mechanism, float(rho), float(delta), sensitivity, scale, dict(meta)
        )
        self.entries.append(entry)
        self._rho_spent += entry.rho
        self._delta_spent += entry.delta
        return entry

    # -- reporting ------------------------------------------------------------------------------
    def spent_epsilon_delta(self) -> tuple[float, float]:
        """(epsilon, delta) of everything spent so far, by the CKS conversion plus reserved deltas."""
        if self.delta is None:
            raise ValueError("this ledger was created from rho; pass a delta to epsilon_at()")
        conv = self.delta - self.delta_reserve
        return rho_to_epsilon(self.rho_spent, conv), conv + self.delta_spent

    def epsilon_at(self, delta: float) -> float:
        return rho_to_epsilon(self.rho_spent, delta)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "accounting": "zCDP (rho), add/remove-one-record neighbours, CKS conversion",
            "budget": {
                "epsilon": self.epsilon,
                "delta": self.delta,
                "rho": self.rho_budget,
                "delta_reserve": self.delta_reserve,
            },
            "spent": {"rho": self.rho_spent, "delta_from_mechanisms": self.delta_spent},
            "entries": [asdict(e) for e in self.entries],
        }
        if self.delta is not None:
            eps, delta = self.spent_epsilon_delta()
            out["spent"].update({"epsilon": eps, "delta": delta})
        return out
