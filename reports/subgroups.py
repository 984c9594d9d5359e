"""The report's subgroup section: the worst subgroups of ``attacks/subgroup.py``.

Each row names a subgroup by column and level (a public rule: every level of a categorical
column with at least 50 training and 50 holdout records) with its membership AUC and its
Bonferroni interval. Internal reports add the subgroup's sizes; a public report drops the sizes
and every subgroup with fewer than the report's ``min_count`` records on either side (none by
the attack's own rule unless ``min_count`` is raised above 50), so no small group is described.
"""

from __future__ import annotations

from html import escape
from typing import Any

from attacks.results import AuditResult
from reports.fmt import num

MAX_ROWS = 10


def subgroup_summary(audit: AuditResult, min_count: int, audience: str) -> list[dict[str, Any]]:
    """The worst subgroups (highest AUC first) as plain rows for the report."""
    attack = next((a for a in audit.attacks if a.attack == "subgroup" and a.status == "ok"), None)
    if attack is None:
        return []
    rows = []
    for r in attack.details.get("subgroups", []):
        n_t, n_h = int(r.get("n_train", 0)), int(r.get("n_holdout", 0))
        if audience == "public" and min(n_t, n_h) < min_count:
            continue
        row = {
            "column": str(r.get("column", "")),
            "level": str(r.get("level", "")),
            "auc": float(r.get("auc", 0.5)),
            "ci_low": float(r.get("ci_low", 0.0)),
            "ci_high": float(r.get("ci_high", 1.0)),
        }
        if audience != "public":
            row.update(n_train=n_t, n_holdout=n_h)
        rows.append(row)
    return rows[:MAX_ROWS]


def _sizes(r: dict[str, Any]) -> str:
    return f"{r['n_train']} / {r['n_holdout']}" if "n_train" in r else "-"


def subgroup_markdown(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines (a folded table) for the subgroup section; none without rows."""
    if not rows:
        return []
    lines = [
        "",
        "<details><summary>Subgroups (membership AUC within each categorical level; the worst "
        "is gated)</summary>",
        "",
        "| column | level | AUC | 95% simultaneous interval | train / holdout records |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        column, level = (str(x).replace("|", "\\|") for x in (r["column"], r["level"]))
        lines.append(
            f"| {column} | {level} | {num(r['auc'])} | [{num(r['ci_low'])}, {num(r['ci_high'])}] "
            f"| {_sizes(r)} |"
        )
    return [*lines, "", "</details>"]


def subgroup_html(rows: list[dict[str, Any]]) -> str:
    """The HTML section for the subgroup rows; empty without rows."""
    if not rows:
        return ""
    out = [
        "<h2>Subgroups</h2><p>Membership AUC (how much closer the synthetic data is to the "
        "subgroup's training records than to its holdout records; 0.5 = no difference) for each "
        "level of each categorical column with at least 50 records on both sides; the worst is "
        "gated, intervals simultaneous over the subgroups.</p>",
        "<table><tr><th>column</th><th>level</th><th>AUC</th><th>95% interval</th>"
        "<th>train / holdout records</th></tr>",
    ]
    for r in rows:
        out.append(
            f"<tr><td>{escape(r['column'])}</td><td>{escape(r['level'])}</td>"
            f"<td>{num(r['auc'])}</td><td>[{num(r['ci_low'])}, {num(r['ci_high'])}]</td>"
            f"<td>{escape(_sizes(r))}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)
