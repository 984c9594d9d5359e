"""Empirical privacy audits with the generator in the loop (``privsynth dp-audit``).

Modules, one concept each: ``canaries`` (target records, worst-case bases), ``generators`` (the
one adapter to privsynth's synthesizers; external commands), ``game`` (runs on ``D`` and ``D + x``,
in parallel), ``scores`` (black- and white-box), ``bounds`` (epsilon and Gaussian-DP mu lower
bounds with Clopper-Pearson confidence), ``store`` (resumable JSONL), ``report`` (verdict),
``audit`` (the whole audit in one call; the release report's section), ``conditional`` (the
exact conditional epsilon bound; the ceiling at a run count), ``onerun`` (one-run auditing),
``command`` (what the CLI runs). See docs/dp-audit.md.
"""

from privsynth.dpaudit.audit import audit_for_report, run_audit
from privsynth.dpaudit.bounds import Bound, GameBounds, game_bounds, gdp_epsilon
from privsynth.dpaudit.canaries import Canary, worst_case_base
from privsynth.dpaudit.game import AuditConfig
from privsynth.dpaudit.generators import GeneratorSpec
from privsynth.dpaudit.onerun import OneRunConfig, OneRunReport, one_run_audit
from privsynth.dpaudit.report import AuditReport

__all__ = [
    "AuditConfig",
    "AuditReport",
    "Bound",
    "Canary",
    "GameBounds",
    "GeneratorSpec",
    "OneRunConfig",
    "OneRunReport",
    "audit_for_report",
    "game_bounds",
    "gdp_epsilon",
    "one_run_audit",
    "run_audit",
    "worst_case_base",
]
