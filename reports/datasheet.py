"""A datasheet for the released synthetic table (Markdown): purpose, schema, method, budget,
evaluation summary, limitations, approved and forbidden uses."""

from __future__ import annotations

from privsynth.schema import Schema
from reports.fmt import num
from reports.model import Report

APPROVED = [
    "software development and testing against realistic data shapes",
    "exploratory analysis, teaching and demonstrations",
    "prototyping models whose final version is validated on real data under the usual controls",
    "aggregate statistics whose error (see Utility) is acceptable for the purpose",
]
FORBIDDEN = [
    "making decisions about any individual (a synthetic row describes no real person)",
    "re-identification, linkage to other data sets, or attempts to recover training records",
    "claims of statistical significance without accounting for the synthetic noise",
    "combining with other releases of the same source without adding up their privacy budgets",
    "publishing the private run record, the internal report, or a table made with seeded noise "
    "(NOT FOR RELEASE): each weakens or removes the guarantee",
]


def render_datasheet(
    report: Report,
    *,
    schema: Schema | None = None,
    method: str | None = None,
    purpose: str | None = None,
    rows: int | None = None,
) -> str:
    b = report.budget
    lines = [
        "# Datasheet: privsynth synthetic table",
        "",
        "## Purpose",
        "",
        purpose
        or "A privacy-preserving stand-in for the source table, for uses that need its structure "
        "and approximate statistics but not its individuals.",
        "",
        "## Schema",
        "",
    ]
    if schema is not None:
        lines += ["| column | type |", "|---|---|"]
        lines += [f"| `{c.name}` | {c.type} |" for c in schema.columns]
    else:
        lines.append("No schema was given; columns are as in the synthetic table.")
    lines += ["", "## Method", ""]
    lines.append(
        f"Generator: `{method or b.method or 'unknown'}`"
        + (f", {rows} rows." if rows is not None else ".")
    )
    lines += ["", "## Privacy budget", "", b.statement, ""]
    if b.known:
        lines.append(
            f"epsilon = {num(b.epsilon)}, delta = {num(b.delta)}, {len(b.entries)} noisy "
            f"measurements ({b.accounting or 'accounting unknown'})."
        )
    lines += ["", "## Evaluation summary", ""]
    lines.append(f"Release gate verdict: **{report.verdict}** ({report.summary}).")
    lines.append("")
    for c in report.checks:
        lines.append(f"- `{c.id}`: {c.status} ({c.explanation})")
    if report.utility is not None and report.utility.ml:
        ml = report.utility.ml
        lines.append(
            f"- utility: {ml['model']} predicting `{ml['target']}` scores {ml['score']} "
            f"{num(ml['tstr'], 3)} trained on this table vs {num(ml['trtr'], 3)} trained on the "
            "real data."
        )
    if report.utility is not None and report.utility.fidelity:
        from reports.fidelity import datasheet_lines

        lines += datasheet_lines(report.utility.fidelity)
    lines += [
        "",
        "## Limitations",
        "",
        "- The privacy guarantee covers the training table only, and only if the budget above is "
        "known; attack results are evidence, not proof.",
        "- Rare categories and combinations, outliers and small subgroups are reproduced poorly "
        "or not at all; relationships among more than two columns may be weakened.",
        "- Numeric columns are generated within public bounds and bins: fine detail is lost.",
        "",
        "## Approved uses",
        "",
        *[f"- {u}" for u in APPROVED],
        "",
        "## Forbidden uses",
        "",
        *[f"- {u}" for u in FORBIDDEN],
        "",
        f"<sub>{report.provenance.tool}, {report.provenance.created}</sub>",
        "",
    ]
    return "\n".join(lines)
