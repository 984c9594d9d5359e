"""Risk report and release gate: policy, verdict, utility, provenance and renderings.

Public API::

    from reports import GateInputs, gate_audit, make_report, render_all, load_policy, Report

    inputs = GateInputs(train=..., holdout=..., synthetic=..., target="income")
    code = gate_audit(audit_result, "standard", "out/", inputs)
"""

from reports.gate import (
    FILES,
    GateInputs,
    external_references,
    gate_audit,
    make_report,
    render_all,
)
from reports.model import REPORT_FORMAT, REPORT_VERSION, Report
from reports.policy import PRESETS, Policy, load_policy

__all__ = [
    "FILES",
    "GateInputs",
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
