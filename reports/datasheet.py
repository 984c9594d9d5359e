"""A datasheet for the released synthetic table (Markdown): purpose, schema, method, budget,
evaluation summary, limitations, approved and forbidden uses."""

from __future__ import annotations

from privsynth.schema import Schema
from reports.fmt import num
from reports.model import CheckResult, Report

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


LIMITATIONS = [
    "The privacy guarantee covers the training table only, and only if the budget above is "
    "known; attack results are evidence, not proof.",
    "Rare categories and combinations, outliers and small subgroups are reproduced poorly "
    "or not at all; relationships among more than two columns may be weakened.",
    "Numeric columns are generated within public bounds and bins: fine detail is lost.",
]
DEFAULT_PURPOSE = (
    "A privacy-preserving stand-in for the source table, for uses that need its structure "
    "and approximate statistics but not its individuals."
)


def render_datasheet(
    report: Report,
    *,
    schema: Schema | None = None,
    method: str | None = None,
    purpose: str | None = None,
    rows: int | None = None,
) -> str:
    lines = ["# Datasheet: privsynth synthetic table", "", "## Purpose", ""]
    lines += [purpose or DEFAULT_PURPOSE, "", "## Schema", ""]
    lines += _schema_lines(schema)
    lines += ["", "## Method", ""]
    lines.append(
        f"Generator: `{method or report.budget.method or 'unknown'}`"
        + (f", {rows} rows." if rows is not None else ".")
    )
    lines += _budget_lines(report)
    lines += _evaluation_lines(report)
    lines += ["", "## Limitations", "", *[f"- {u}" for u in LIMITATIONS]]
    lines += ["", "## Approved uses", "", *[f"- {u}" for u in APPROVED]]
    lines += ["", "## Forbidden uses", "", *[f"- {u}" for u in FORBIDDEN]]
    lines += ["", f"<sub>{report.provenance.tool}, {report.provenance.created}</sub>", ""]
    return "\n".join(lines)


def _schema_lines(schema: Schema | None) -> list[str]:
    if schema is None:
        return ["No schema was given; columns are as in the synthetic table."]
    return [
        "| column | type |",
        "|---|---|",
        *[f"| `{c.name}` | {c.type} |" for c in schema.columns],
    ]


def _budget_lines(report: Report) -> list[str]:
    b = report.budget
    lines = ["", "## Privacy budget", "", b.statement, ""]
    if b.known:
        lines.append(
            f"epsilon = {num(b.epsilon)}, delta = {num(b.delta)}, {len(b.entries)} noisy "
            f"measurements ({b.accounting or 'accounting unknown'})."
        )
    return lines


def _evaluation_lines(report: Report) -> list[str]:
    """The gate's verdict and each check's status against its public threshold; no measured figure.

    The datasheet is publishable: every number it prints is public (policy thresholds, the budget)
    or a function of the synthetic table alone (rule satisfaction). The attack bounds and utility
    figures are aggregates of the private tables computed without DP, so they stay in the report
    (docs/privacy.md, "What is published").
    """
    lines = ["", "## Evaluation summary", ""]
    lines += [f"Release gate verdict: **{report.verdict}** ({report.summary}).", ""]
    lines += [
        f"- `{c.id}`: {c.status} ({_needs(c)}"
        + ("; did not run: this sample cannot support it" if c.status == "NOT_APPLICABLE" else "")
        + ")"
        for c in report.checks
    ]
    utility = report.utility
    if utility is not None and utility.ml:
        ml = utility.ml
        lines.append(
            f"- utility: a {ml['model']} predicting `{ml['target']}` was trained on this table "
            "and on the real data; the scores are in the report (computed without DP, so not "
            "printed here)."
        )
    if utility is not None and utility.fidelity:
        from reports.fidelity import datasheet_lines

        lines += datasheet_lines(utility.fidelity)
    return lines


def _needs(check: CheckResult) -> str:
    """The check's public rule, e.g. ``needs the upper 95% bound at most 0.0015``."""
    side = {"upper": "the upper bound", "lower": "the lower bound"}.get(
        check.statistic, "the value"
    )
    rule = "at most" if check.comparison == "max" else "at least"
    return f"needs {side} of `{check.metric}` {rule} {num(check.threshold)}"
