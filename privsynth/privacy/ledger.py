"""The privacy ledger: the one place where privacy budget is spent.

Accounting is in zero-concentrated DP (rho), which composes by addition. A mechanism that is only
approximately zCDP (a thresholded histogram) adds a delta of its own; such deltas add too and are
paid from the budget's ``delta_reserve``. The total converts to (epsilon, delta) with the CKS bound
at the budget's ``delta_conversion``. Neighbouring relation: add/remove one record.

Exactness: the ledger compares with the budget in plain floating point, with no slack. A charge
is refused unless ``rho_spent + rho <= rho_budget`` (and the same for delta) holds as computed, so
``spent <= requested`` holds exactly as an auditor would check it. ``rho_remaining`` is
``rho_budget - rho_spent`` stepped down (by an ulp at a time, rarely more than one) until
``rho_spent + r <= rho_budget`` holds as computed: a last measurement that takes it (or less) is
always accepted, and rounding never pushes the total over.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from privsynth.errors import BudgetExceededError, InputError
from privsynth.privacy.accounting import rho_to_epsilon
from privsynth.privacy.budget import MAX_DELTA, MAX_EPSILON, Budget

__all__ = [
    "MAX_DELTA",
    "MAX_EPSILON",
    "LedgerEntry",
    "PrivacyLedger",
    "largest_addend",
    "validate_epsilon_delta",
]


@dataclass(frozen=True)
class LedgerEntry:
    """One measurement: what was measured, how, its noise scale and the privacy it cost."""

    what: str
    mechanism: str
    rho: float
    delta: float = 0.0
    sensitivity: float | None = None
    scale: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def validate_epsilon_delta(epsilon: float, delta: float) -> Budget:
    """Validate a request at the edge (one clear line on error) and return its :class:`Budget`."""
    return Budget(epsilon=epsilon, delta=delta)


def largest_addend(spent: float, total: float) -> float:
    """``total - spent``, stepped down until ``spent + r <= total`` holds in floating point (>= 0)."""
    if spent >= total:
        return 0.0
    r = total - spent
    while r > 0 and spent + r > total:
        r = math.nextafter(r, 0.0)
    return r


class PrivacyLedger:
    """Tracks rho (and reserved delta) spent against a :class:`Budget`; refuses any overspend.

    ``PrivacyLedger(budget)`` for a release; ``PrivacyLedger.for_rho(rho)`` for a bare zCDP budget
    (no (epsilon, delta) reporting; unit tests and building blocks).
    """

    def __init__(self, budget: Budget) -> None:
        if not isinstance(budget, Budget):
            raise TypeError("PrivacyLedger needs a privsynth.privacy.budget.Budget")
        self.budget: Budget | None = budget
        self.rho_budget = budget.rho
        self.delta_reserve = budget.delta_reserve
        self.entries: list[LedgerEntry] = []
        self._rho_spent = 0.0
        self._delta_spent = 0.0

    @classmethod
    def for_rho(cls, rho: float) -> PrivacyLedger:
        """A ledger over a bare rho budget (no delta: nothing approximate may be charged)."""
        if isinstance(rho, bool) or not isinstance(rho, int | float) or not math.isfinite(rho):
            raise InputError(f"rho must be a finite number > 0, got {rho!r}")
        if rho <= 0:
            raise InputError(f"rho must be a finite number > 0, got {rho!r}")
        self = cls.__new__(cls)
        self.budget = None
        self.rho_budget = float(rho)
        self.delta_reserve = 0.0
        self.entries = []
        self._rho_spent = 0.0
        self._delta_spent = 0.0
        return self

    # -- requested --------------------------------------------------------------------------------
    @property
    def epsilon(self) -> float | None:
        return None if self.budget is None else self.budget.epsilon

    @property
    def delta(self) -> float | None:
        return None if self.budget is None else self.budget.delta

    # -- spending ---------------------------------------------------------------------------------
    @property
    def rho_spent(self) -> float:
        return self._rho_spent

    @property
    def delta_spent(self) -> float:
        return self._delta_spent

    @property
    def rho_remaining(self) -> float:
        """What a next charge may take: ``rho_spent + rho_remaining <= rho_budget`` exactly."""
        return largest_addend(self._rho_spent, self.rho_budget)

    @property
    def delta_remaining(self) -> float:
        """The largest mechanism delta a next charge may take, from the reserve."""
        return largest_addend(self._delta_spent, self.delta_reserve)

    def can_afford(self, rho: float, delta: float = 0.0) -> bool:
        return (
            self._rho_spent + rho <= self.rho_budget
            and self._delta_spent + delta <= self.delta_reserve
        )

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
        """Record a measurement's cost before its result is released; raises on overspend."""
        if not math.isfinite(rho) or rho < 0 or not math.isfinite(delta) or delta < 0:
            raise ValueError(f"invalid charge rho={rho}, delta={delta}")
        if not self.can_afford(rho, delta):
            raise BudgetExceededError(
                f"measuring {what} needs rho={rho:.17g} (delta={delta:.3g}) but only "
                f"rho={self.rho_remaining:.17g} (delta={self.delta_remaining:.3g}) is left"
            )
        entry = LedgerEntry(
            what, mechanism, float(rho), float(delta), sensitivity, scale, dict(meta)
        )
        self.entries.append(entry)
        self._rho_spent += entry.rho
        self._delta_spent += entry.delta
        return entry

    # -- reporting --------------------------------------------------------------------------------
    def spent_epsilon_delta(self) -> tuple[float, float]:
        """(epsilon, delta) of everything spent so far: CKS at ``delta_conversion`` + mechanism deltas.

        The CKS epsilon is non-decreasing in rho and ``CKS(rho_budget) <= epsilon`` (the budget's
        rho was chosen so), hence when ``rho_spent <= rho_budget`` the spend is also at most the
        requested epsilon; we report the smaller of the two so that a numerical minimiser that is
        not monotone at the last digit cannot report a value a few ULPs above the request.
        """
        if self.budget is None:
            raise ValueError(
                "this ledger was created from rho: convert rho_spent with "
                "privacy.accounting.rho_to_epsilon(rho, delta)"
            )
        conv = self.budget.delta_conversion
        eps = rho_to_epsilon(self._rho_spent, conv)
        if self._rho_spent <= self.rho_budget:
            eps = min(eps, self.budget.epsilon)
        return eps, conv + self._delta_spent

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "accounting": "zCDP (rho), add/remove-one-record neighbours, CKS conversion",
            "budget": (
                self.budget.to_dict()
                if self.budget is not None
                else {"rho": self.rho_budget, "delta_reserve": 0.0}
            ),
            "spent": {"rho": self._rho_spent, "delta_from_mechanisms": self._delta_spent},
            "entries": [asdict(e) for e in self.entries],
        }
        if self.budget is not None:
            eps, delta = self.spent_epsilon_delta()
            out["spent"].update({"epsilon": eps, "delta": delta})
        return out
