"""JSON rendering: ``Report.to_json`` (versioned; schema in docs/report.schema.json)."""

from __future__ import annotations

from reports.model import Report


def render_json(report: Report) -> str:
    return report.to_json(indent=2) + "\n"
