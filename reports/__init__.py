"""Risk report and release gate: policy, verdict, utility, provenance and renderings.

Public API::

    from reports import gate_audit, make_report, render_all, load_policy, Report

    code = gate_audit(audit_result, "standard", "out/", train=..., holdout=..., synthetic=...)
"""

from reports.gate import FILES, external_references, gate_audit, make_report, render_all
from reports.model import REPORT_FORMAT, REPORT_VERSION, Report
from reports.policy import PRESETS, Policy, load_policy

__all__ = [
    "FILES",
    "PRESETS",
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "Policy",
    "Report",
    "external_references",
    "gate_audit",
    "load_policy",
    "make_report",
    "render_all",
]
