"""Lifetime budgets in exact arithmetic: rho as integers of a fixed unit, rounded against the user.

zCDP composes by addition: a source from which releases of rho_1, ..., rho_k were made has spent
rho_1 + ... + rho_k (Bun and Steinke 2016, Lemma 2.3), whatever the mechanisms were. The registry
enforces ``sum of spends <= cap`` exactly:

* every spend is stored as ``ceil(rho / UNIT)`` and the cap as ``floor(rho_cap / UNIT)``, with
  ``UNIT = 1e-15`` rho, computed from the floats' exact binary values with ``Decimal``;
* the database sums integers (exact in SQLite's 64-bit INTEGER and PostgreSQL's BIGINT/NUMERIC);
* a reservation is accepted iff ``spent_units + units <= cap_units``.

Hence the exact real sum of the stored float spends is at most ``spent_units * UNIT`` and
``cap_units * UNIT <= rho_cap``: the sum never exceeds the cap, not even by one ULP, and a
correctly rounded sum of the floats (``math.fsum``) is ``<= rho_cap`` too. The price is at most
``UNIT`` rho refused per release that exact arithmetic would have allowed (1e-12 rho over 1,000
releases). The largest cap is ``MAX_CAP_RHO`` (so sums fit in 63 bits).

The cap is given in one of two units: ``rho=R`` (zCDP) or ``epsilon=E,delta=D`` (converted with
``privsynth.privacy.accounting.epsilon_to_rho``, rounded down; the delta is also the one at which
spends are displayed as (epsilon, delta)). Anything else is refused with the accepted forms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from privsynth.errors import InputError

UNITS_PER_RHO = 10**15
MAX_CAP_RHO = 9000.0
DEFAULT_DISPLAY_DELTA = 1e-9
_FORMS = "give rho=R, or epsilon=E,delta=D (e.g. epsilon=3,delta=1e-9)"


def units_up(rho: float) -> int:
    """``ceil(rho / UNIT)`` from the float's exact value (used for spends)."""
    return int((Decimal(rho) * UNITS_PER_RHO).to_integral_value(rounding=ROUND_CEILING))


def units_down(rho: float) -> int:
    """``floor(rho / UNIT)`` from the float's exact value (used for caps)."""
    return int((Decimal(rho) * UNITS_PER_RHO).to_integral_value(rounding=ROUND_FLOOR))


def units_to_rho(units: int) -> float:
    """A float close to ``units * UNIT`` (for display only; never compared)."""
    return float(Decimal(units) / UNITS_PER_RHO)


@dataclass(frozen=True, kw_only=True)
class LifetimeBudget:
    """A source's lifetime cap: rho (exact units) and the delta used to display epsilon."""

    rho: float
    delta: float = DEFAULT_DISPLAY_DELTA
    spec: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.rho, float | int) or not math.isfinite(self.rho) or self.rho <= 0:
            raise InputError(f"lifetime budget: rho must be a finite number > 0, got {self.rho!r}")
        if self.rho > MAX_CAP_RHO:
            raise InputError(
                f"lifetime budget: rho {self.rho:g} is above the limit {MAX_CAP_RHO:g}"
            )
        if not 0 < self.delta < 1:
            raise InputError(f"lifetime budget: delta must be in (0, 1), got {self.delta!r}")
        if units_down(self.rho) < 1:
            raise InputError(f"lifetime budget: rho {self.rho!r} is below the unit 1e-15")

    @property
    def units(self) -> int:
        return units_down(self.rho)

    @property
    def epsilon(self) -> float:
        from privsynth.privacy.accounting import rho_to_epsilon

        return rho_to_epsilon(self.rho, self.delta)


def parse_budget(spec: str) -> LifetimeBudget:
    """``"rho=0.5"``, ``"rho=0.5,delta=1e-9"`` or ``"epsilon=3,delta=1e-9"``; else InputError."""
    parts: dict[str, float] = {}
    for item in str(spec).replace(" ", "").split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"budget {spec!r}: {item!r} has no unit; {_FORMS}")
        key = key.lower()
        if key not in ("rho", "epsilon", "delta"):
            raise InputError(f"budget {spec!r}: unknown unit {key!r}; {_FORMS}")
        if key in parts:
            raise InputError(f"budget {spec!r}: {key} given twice")
        try:
            parts[key] = float(value)
        except ValueError:
            raise InputError(f"budget {spec!r}: {key}={value!r} is not a number") from None
        if not math.isfinite(parts[key]) or parts[key] <= 0:
            raise InputError(f"budget {spec!r}: {key} must be a finite number > 0")
    if "rho" in parts and "epsilon" in parts:
        raise InputError(f"budget {spec!r}: give rho or epsilon, not both")
    if "rho" in parts:
        delta = parts.get("delta", DEFAULT_DISPLAY_DELTA)
        return LifetimeBudget(rho=parts["rho"], delta=delta, spec=spec)
    if "epsilon" not in parts:
        raise InputError(f"budget {spec!r}: no rho or epsilon; {_FORMS}")
    if "delta" not in parts:
        raise InputError(f"budget {spec!r}: epsilon needs a delta to mean anything; {_FORMS}")
    if not parts["delta"] < 1:
        raise InputError(f"budget {spec!r}: delta must be below 1")
    from privsynth.privacy.accounting import epsilon_to_rho  # scipy: imported only when needed

    rho = epsilon_to_rho(parts["epsilon"], parts["delta"])
    return LifetimeBudget(rho=rho, delta=parts["delta"], spec=spec)
