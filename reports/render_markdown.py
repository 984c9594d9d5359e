"""Markdown rendering for a CI step summary or a pull-request comment (GitHub-flavoured)."""

from __future__ import annotations

from typing import Any

from reports.fmt import STATUS_MARK, VERDICT_TEXT, interval, num, threshold
from reports.model import Report
from reports.subgroups import subgroup_markdown

_ICON = {"PASS": "✅", "FAIL": "❌", "INCONCLUSIVE": "⚠️", "ERROR": "⚠️", "NOT_APPLICABLE": "➖"}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    lines = [
        f"## privsynth risk report: {_ICON[report.verdict]} {report.verdict}",
        "",
        f"**{VERDICT_TEXT[report.verdict]}** {_cell(report.summary)} (exit code {report.exit_code})",
        "",
        "| check | result | estimate | 95% interval | threshold | why |",
        "|---|---|---|---|---|---|",
    ]
    for c in report.checks:
        lines.append(
            f"| `{_cell(c.id)}` | {_ICON[c.status]} {STATUS_MARK[c.status]} | "
            f"{num(c.estimate.value) if c.estimate else '-'} | {interval(c)} | "
            f"{c.statistic} {_cell(threshold(c))} | {_cell(c.explanation)} |"
        )
    lines += _knowledge(report)
    lines += subgroup_markdown(report.subgroups)
    bad = [a for a in report.attacks if a.status != "ok"]
    if bad:
        lines += ["", "**Attacks that could not run:**", ""]
        lines += [f"- `{a.attack}`: {_cell(a.message)}" for a in bad]
    b = report.budget
    lines += ["", f"**Privacy budget:** {_cell(b.statement)}", *dp_audit_lines(report.dp_audit)]
    if report.utility is not None:
        lines += ["", "<details><summary>Utility (what the privacy costs)</summary>", ""]
        lines += [f"- {m.name}: {num(m.estimate.value, 3)}" for m in report.utility.metrics]
        if report.utility.worst_columns:
            worst = ", ".join(
                f"`{_cell(w['column'])}` {num(w['tvd'], 3)}"
                for w in report.utility.worst_columns[:3]
            )
            lines.append(f"- worst columns (TVD): {worst}")
        if report.utility.worst_pairs:
            worst = ", ".join(
                f"`{_cell(' × '.join(w['columns']))}` {num(w['tvd'], 3)}"
                for w in report.utility.worst_pairs[:3]
            )
            lines.append(f"- worst pairs (TVD): {worst}")
        if report.utility.ml:
            ml = report.utility.ml
            lines.append(
                f"- {ml['model']} predicting `{_cell(ml['target'])}`: {ml['score']} "
                f"{num(ml['tstr'], 3)} trained on synthetic vs {num(ml['trtr'], 3)} on real "
                f"(majority baseline {num(ml['baseline'], 3)})"
            )
        if report.utility.fidelity:
            from reports.fidelity import render_markdown as fidelity_lines

            lines += [_cell(x)[:300] for x in fidelity_lines(report.utility.fidelity)]
        lines += ["", "</details>"]
    p = report.provenance
    lines += [
        "",
        f"<sub>{_cell(p.tool)} · {p.created} · policy `{_cell(p.policy.get('name', ''))}` "
        f"sha256 `{str(p.policy.get('sha256', ''))[:12]}` · audience {report.audience}</sub>",
        "",
    ]
    return "\n".join(lines)


def dp_audit_lines(section: dict[str, Any] | None) -> list[str]:
    """``certify --dp-audit``: the claim, the empirical lower bound and their ratio."""
    if not section:
        return []
    claim = section.get("claim") or {}
    bound = section.get("epsilon_lower_bound")
    text = (
        f"empirical epsilon lower bound {num(bound)} at delta {num(claim.get('delta'))} "
        f"({num(100 * section.get('confidence', 0.95))}% confidence, "
        f"{section.get('runs_per_world')} runs per world, base built from the public schema)"
    )
    if claim:
        ratio = (section.get("tightness") or {}).get("epsilon")
        text += f" against the claimed epsilon {num(claim.get('epsilon'))} (ratio {num(ratio)})"
    verdict = section.get("verdict", "")
    return ["", f"**Empirical DP audit:** {_cell(text)}; {_cell(str(verdict))}"]


def _knowledge(report: Report) -> list[str]:
    """Attacker knowledge: the worst set per attack, every set in a fold, exposed rows."""
    if not report.knowledge:
        return []
    lines = [
        "",
        "**Attacker knowledge** (each attack tried several sets of known columns; the worst is "
        "gated, intervals simultaneous over the sets):",
        "",
        "| attack | knowledge set | attacker knows | excess | 95% interval | |",
        "|---|---|---|---|---|---|",
    ]
    for k in report.knowledge:
        for s in sorted(k["sets"], key=lambda s: s["name"] != k["worst"]):
            known = ", ".join(s["columns"]) + (" ↔ " + ", ".join(s["right"]) if s["right"] else "")
            mark = "**worst**" if s["name"] == k["worst"] else ""
            lines.append(
                f"| `{_cell(k['attack'])}` | {_cell(s['name'])} | {_cell(known)} | "
                f"{num(s['excess'])} | [{num(s['ci_low'])}, {num(s['ci_high'])}] | {mark} |"
            )
    exposed = {k: v for k, v in report.records.items() if k.endswith(".exposed") and v}
    if exposed:
        lines += [
            "",
            "<details><summary>Most exposed training records (row positions; internal "
            "report only)</summary>",
            "",
        ]
        for key, rows in exposed.items():
            listed = ", ".join(str(r.get("row")) for r in rows[:20] if isinstance(r, dict))
            lines.append(f"- `{_cell(key.removesuffix('.exposed'))}`: {listed}")
        lines += ["", "</details>"]
    return lines
