"""The ``dp_audit`` section of a release report (``certify --dp-audit``).

The audit runs the method many times on a base table and on the base plus one canary record and
bounds epsilon from below (docs/dp-audit.md). Its base is built from the PUBLIC domain alone
(``privsynth.dpaudit.canaries.public_base``), never from the private table, so the section is
publishable and spends no privacy budget: ``audit_for_report`` takes no table at all.
"""

from __future__ import annotations

from typing import Any

from privsynth.domain import Domain
from privsynth.progress import QUIET, Progress


def dp_audit_section(
    *,
    method: str,
    epsilon: float,
    delta: float,
    domain: Domain,
    runs: int,
    jobs: int = 1,
    progress: Progress = QUIET,
) -> dict[str, Any]:
    """``audit_for_report`` on the public ``domain``: the report's ``dp_audit`` dict."""
    from privsynth.dpaudit import audit_for_report

    section = audit_for_report(
        method=method,
        epsilon=epsilon,
        delta=delta,
        domain=domain,
        runs=runs,
        jobs=jobs,
        progress=progress,
    )
    return dict(section)
