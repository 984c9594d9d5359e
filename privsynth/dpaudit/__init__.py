"""Empirical privacy audits with the generator in the loop (``privsynth dp-audit``).

Modules, one concept each: ``canaries`` (target records, worst-case bases), ``generators`` (the
one adapter to privsynth's synthesizers; external commands), ``game`` (runs on ``D`` and ``D + x``,
in parallel), ``scores`` (black- and white-box), ``bounds`` (epsilon and Gaussian-DP mu lower
bounds with Clopper-Pearson confidence), ``store`` (resumable JSONL), ``report`` (verdict),
``audit`` (the whole audit in one call). See docs/dp-audit.md.
"""

from privsynth.dpaudit.audit import audit_for_report, run_audit
from privsynth.dpaudit.bounds import Bound, GameBounds, game_bounds, gdp_epsilon
from privsynth.dpaudit.canaries import Canary, worst_case_base
from privsynth.dpaudit.game import AuditConfig
from privsynth.dpaudit.generators import GeneratorSpec
from privsynth.dpaudit.report import AuditReport

__all__ = [
    "AuditConfig",
    "AuditReport",
    "Bound",
    "Canary",
    "GameBounds",
    "GeneratorSpec",
    "audit_for_report",
    "game_bounds",
    "gdp_epsilon",
    "run_audit",
    "worst_case_base",
]
