"""The audit's report and verdict.

- **violation** (exit 1): the epsilon lower bound, already at the stated confidence, exceeds the
  claimed epsilon. Only the rigorous epsilon bound can give this verdict.
- **consistent** (exit 0): the bound is at or below the claim; the report gives the claim, the
  bound and their ratio (tightness), and the Gaussian-DP mu bound against sqrt(2 rho), rho the
  zCDP budget of the claim (the Gaussian equivalent of the claim), with its ratio.
- **no claim** (exit 0): an external generator without ``--epsilon``; the bound is the finding.

A bound is a *lower* bound: it shows at least this much leakage for this canary, base table and
attack. "consistent" does not prove the claim; a loose bound says the attack was weak, not that the
generator is private.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from privsynth.dpaudit.bounds import Bound, GameBounds, gdp_epsilon
from privsynth.privacy.accounting import epsilon_to_rho

VIOLATION, CONSISTENT, NO_CLAIM = "violation", "consistent", "no claim"
SECTION_FORMAT = "privsynth-dpaudit-section/1"


@dataclass(frozen=True, kw_only=True)
class AuditReport:
    """An immutable audit result: what was run, the bounds with their confidence, the verdict."""

    generator: dict[str, Any]
    canary: dict[str, Any]
    base_rows: int
    columns: tuple[str, ...]
    runs_per_world: int
    bounds: GameBounds
    claim_epsilon: float | None
    delta: float
    seconds: float
    score_summary: dict[str, dict[str, float]] = field(default_factory=dict)
    run_scores: dict[str, dict[str, tuple[float, ...]]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.claim_epsilon is None:
            return NO_CLAIM
        return VIOLATION if self.bounds.epsilon.epsilon_lb > self.claim_epsilon else CONSISTENT

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == VIOLATION else 0

    @property
    def claim_mu(self) -> float | None:
        if self.claim_epsilon is None:
            return None
        return math.sqrt(2.0 * epsilon_to_rho(self.claim_epsilon, self.delta))

    def tightness(self) -> dict[str, float | None]:
        """Bound / claim, for epsilon (rigorous), mu (GDP) and the epsilon implied by the mu bound."""
        if self.claim_epsilon is None:
            return {"epsilon": None, "mu": None, "gdp_epsilon": None}
        mu_c = self.claim_mu or float("nan")
        return {
            "epsilon": self.bounds.epsilon.epsilon_lb / self.claim_epsilon,
            "mu": self.bounds.mu.mu_lb / mu_c,
            "gdp_epsilon": gdp_epsilon(self.bounds.mu.mu_lb, self.delta) / self.claim_epsilon,
        }

    def to_dict(self) -> dict[str, Any]:
        def b(x: Bound) -> dict[str, Any]:
            return x.to_dict()

        return {
            "format": "privsynth-dpaudit/1",
            "verdict": self.verdict,
            "claim": None
            if self.claim_epsilon is None
            else {
                "epsilon": self.claim_epsilon,
                "delta": self.delta,
                "mu_gaussian_equivalent": self.claim_mu,
            },
            "epsilon_lower_bound": self.bounds.epsilon.epsilon_lb,
            "mu_lower_bound": self.bounds.mu.mu_lb,
            "gdp_epsilon_from_mu": gdp_epsilon(self.bounds.mu.mu_lb, self.delta),
            "confidence": self.bounds.epsilon.confidence,
            "tightness": self.tightness(),
            "epsilon_test": b(self.bounds.epsilon),
            "mu_test": b(self.bounds.mu),
            "per_score": [b(x) for x in self.bounds.per_score],
            "score_summary": self.score_summary,
            "run_scores": {
                k: {w: list(v) for w, v in d.items()} for k, d in self.run_scores.items()
            },
            "generator": self.generator,
            "canary": self.canary,
            "base_rows": self.base_rows,
            "columns": list(self.columns),
            "runs_per_world": self.runs_per_world,
            "seconds": round(self.seconds, 2),
            "selection": "score, direction, threshold and method chosen on the first runs of each "
            "world (epsilon_test.n_out of them are the held-out rest); bounds computed once on "
            "the held-out runs (Clopper-Pearson with Bonferroni over FPR and FNR, or the exact "
            "conditional test of one DP inequality, epsilon_test.method)",
        }

    def section(self) -> dict[str, Any]:
        """The release report's ``dp_audit`` section: the report without the per-run scores."""
        doc = self.to_dict()
        doc.pop("run_scores")
        doc["format"] = SECTION_FORMAT
        doc["base"] = "public: built from the domain alone (canaries.public_base); no private data"
        return doc

    def summary_lines(self) -> list[str]:
        e, m = self.bounds.epsilon, self.bounds.mu
        conf = f"{100 * e.confidence:g}%"
        lines = [
            f"dp-audit: {self.runs_per_world} runs per world, canary {self.canary['kind']}, "
            f"base {self.base_rows} rows x {len(self.columns)} columns",
            f"epsilon lower bound {e.epsilon_lb:.3f} at delta {self.delta:g} ({conf}, {e.method}; "
            f"score {e.score}, {e.false_positives}/{e.n_out} FP, {e.false_negatives}/{e.n_in} FN)",
            f"Gaussian-DP mu lower bound {m.mu_lb:.3f} ({conf}; score {m.score})",
        ]
        if self.claim_epsilon is None:
            lines.append("no claim: the bound is the finding")
            return lines
        t = self.tightness()
        lines.append(
            f"claim epsilon {self.claim_epsilon:g} (mu equivalent {self.claim_mu:.3f}); "
            f"tightness: epsilon {t['epsilon']:.2f}, mu {t['mu']:.2f}"
        )
        if self.verdict == VIOLATION:
            lines.append(
                f"VIOLATION: the empirical bound {e.epsilon_lb:.3f} exceeds the claimed epsilon "
                f"{self.claim_epsilon:g} at {conf} confidence"
            )
        else:
            lines.append("consistent with the claim (a lower bound does not prove the claim)")
        return lines
