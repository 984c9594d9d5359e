"""The privacy budget: (epsilon, delta) validated once, converted to a zCDP budget rho once.

A :class:`Budget` is built at the edge (the CLI, or a synthesizer's ``__init__``) and never
re-validated. Everything after it works in rho, which composes by addition:

    (epsilon, delta)  --Budget-->  rho  --shares-->  mechanisms  --OpenDP map-->  ledger entries

``delta`` is split in two parts: ``delta_reserve``, paid to mechanisms that carry a delta of
their own (the thresholded histograms of DP schema inference), and ``delta_conversion``, used by
the CKS conversion from zCDP to (epsilon, delta) (``privsynth.privacy.accounting``).

``rho = epsilon_to_rho(epsilon, delta_conversion)`` is the largest rho whose conversion is at most
``epsilon`` (bisection, rounded down), so a ledger that spends at most ``rho`` and at most
``delta_reserve`` satisfies (epsilon, delta)-DP. ``delta_conversion`` is rounded down so that
``delta_conversion + delta_reserve <= delta`` holds in floating point, not just in exact arithmetic.

The requested rho is known as soon as the Budget exists, before any data is read: a registry can
reserve it up front (``Synthesizer(...).budget.rho``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from privsynth.errors import InputError
from privsynth.limits import check_epsilon
from privsynth.privacy.accounting import epsilon_to_rho

MAX_EPSILON = 100.0
MAX_DELTA = 1e-3


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


@dataclass(frozen=True, kw_only=True)
class Budget:
    """A validated (epsilon, delta) request and the zCDP budget rho it converts to."""

    epsilon: float
    delta: float
    delta_reserve: float = 0.0
    rho: float = field(init=False)
    delta_conversion: float = field(init=False)

    def __post_init__(self) -> None:
        eps, delta, reserve = self.epsilon, self.delta, self.delta_reserve
        if not _is_number(eps) or not math.isfinite(eps) or eps <= 0:
            raise InputError(f"epsilon must be a number > 0 and finite, got {eps!r}")
        check_epsilon(eps)  # the floor below which nothing meaningful is released (limits.py)
        if eps > MAX_EPSILON:
            raise InputError(
                f"epsilon {eps} is too large to mean anything (the limit is {MAX_EPSILON:g}); "
                "typical values are 0.1 to 10"
            )
        if not _is_number(delta) or not math.isfinite(delta) or not 0 < delta <= MAX_DELTA:
            raise InputError(
                f"delta must be in (0, {MAX_DELTA:g}], got {delta!r}; it should be far below "
                "1/rows (zCDP needs a delta > 0 to convert to (epsilon, delta))"
            )
        if not _is_number(reserve) or not 0 <= reserve < delta:
            raise InputError(f"delta_reserve must be in [0, delta), got {reserve!r}")
        conv = float(delta) - float(reserve)
        while conv + reserve > delta:  # round down until the sum holds in floating point
            conv = math.nextafter(conv, 0.0)
        object.__setattr__(self, "epsilon", float(eps))
        object.__setattr__(self, "delta", float(delta))
        object.__setattr__(self, "delta_reserve", float(reserve))
        object.__setattr__(self, "delta_conversion", conv)
        object.__setattr__(self, "rho", epsilon_to_rho(float(eps), conv))

    def to_dict(self) -> dict[str, float]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "delta_reserve": self.delta_reserve,
            "delta_conversion": self.delta_conversion,
        }
