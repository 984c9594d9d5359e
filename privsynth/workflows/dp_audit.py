"""The ``dp_audit`` section of a release report (``certify --dp-audit``).

The audit runs the method many times on a base table and on the base plus one canary record and
bounds epsilon from below (docs/dp-audit.md). Its base is built from the PUBLIC domain alone (a
worst-case base: copies of one record of the domain), never from the private table, so the
section is publishable and spends no privacy budget.

Adapter: ``privsynth.dpaudit.audit_for_report`` is moving to a keyword-only signature
``(method=, epsilon=, delta=, domain=, runs=, jobs=, progress=)`` that builds the worst-case base
itself. Until that version is in, this module builds the base with ``worst_case_base`` and calls
the positional form; both give the same section.
"""

from __future__ import annotations

import inspect
from typing import Any

from privsynth.domain import Domain
from privsynth.progress import QUIET, Progress

WORST_CASE_ROWS = 100  # copies of one record in the adapter's public worst-case base


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

    params = inspect.signature(audit_for_report).parameters
    if "base_codes" not in params:  # the public-domain, keyword-only version
        return dict(
            audit_for_report(
                method=method,
                epsilon=epsilon,
                delta=delta,
                domain=domain,
                runs=runs,
                jobs=jobs,
                progress=progress,
            )
        )
    from privsynth.dpaudit import worst_case_base

    base = worst_case_base(domain, WORST_CASE_ROWS)
    section = audit_for_report(
        method, epsilon, delta, base, domain, runs=runs, jobs=jobs, progress=progress
    )
    return dict(section)
