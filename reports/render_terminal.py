"""Terminal rendering (rich): the verdict first, then a table of checks."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from reports.fmt import STATUS_MARK, VERDICT_TEXT, interval, num, threshold
from reports.model import Report

_STYLE = {
    "PASS": "green",
    "FAIL": "bold red",
    "INCONCLUSIVE": "yellow",
    "ERROR": "yellow",
    "NOT_APPLICABLE": "dim",
}


def render_terminal(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    style = _STYLE[report.verdict]
    console.print(
        Panel(
            f"[{style}]{VERDICT_TEXT[report.verdict]}[/{style}]\n{report.summary}",
            title=f"[{style}]verdict: {report.verdict}[/{style}] (exit {report.exit_code})",
            expand=False,
        ),
        highlight=False,
    )
    table = Table(title=f"checks (policy {report.provenance.policy.get('name', '?')})")
    table.add_column("check", overflow="fold")
    table.add_column("result", no_wrap=True)
    table.add_column("estimate [95% interval]", overflow="fold")
    table.add_column("rule", overflow="fold")
    for c in report.checks:
        est = c.estimate
        table.add_row(
            f"{c.id}\n[dim]{c.metric}[/dim]",
            f"[{_STYLE[c.status]}]{STATUS_MARK[c.status]}[/{_STYLE[c.status]}]",
            f"{num(est.value)} {interval(c)}" if est else "-",
            f"{c.statistic} {threshold(c)}\n[dim]{c.explanation}[/dim]",
        )
    console.print(table)
    _knowledge(report, console)
    _subgroups(report, console)
    bad = [a for a in report.attacks if a.status != "ok"]
    for a in bad:
        console.print(
            f"[yellow]attack {a.attack} could not run:[/yellow] {a.message}", highlight=False
        )
    b = report.budget
    if b.known:
        console.print(f"[bold]privacy budget:[/bold] {b.statement}", highlight=False)
    else:
        console.print(f"[bold yellow]privacy budget:[/bold yellow] {b.statement}", highlight=False)
    if report.utility is not None:
        parts = [
            f"{m.name.removeprefix('utility.')}={num(m.estimate.value, 3)}"
            for m in report.utility.metrics
        ]
        console.print("[bold]utility:[/bold] " + ", ".join(parts), highlight=False)
        if report.utility.ml:
            ml = report.utility.ml
            console.print(
                f"  {ml['model']} on {ml['target']!s}: {ml['score']} trained on synthetic "
                f"{num(ml['tstr'], 3)} vs trained on real {num(ml['trtr'], 3)} "
                f"(majority baseline {num(ml['baseline'], 3)})",
                highlight=False,
            )
    p = report.provenance
    console.print(
        f"[dim]{p.tool}; {p.created}; audience {report.audience}; "
        f"policy sha256 {str(p.policy.get('sha256', ''))[:12]}[/dim]",
        highlight=False,
    )


def _knowledge(report: Report, console: Console) -> None:
    """The worst attacker-knowledge set per attack, then (internal) the most exposed rows."""
    if report.knowledge:
        table = Table(title="attacker knowledge (worst set per attack)")
        table.add_column("attack", no_wrap=True)
        table.add_column("worst set", no_wrap=True)
        table.add_column("attacker knows", overflow="fold")
        table.add_column("excess [95% simultaneous]", no_wrap=True)
        table.add_column("sets tried", no_wrap=True)
        for k in report.knowledge:
            worst = next((s for s in k["sets"] if s["name"] == k["worst"]), None)
            if worst is None:
                continue
            known = ", ".join(worst["columns"])
            if worst["right"]:
                known += " <-> " + ", ".join(worst["right"])
            table.add_row(
                k["attack"],
                worst["name"],
                known,
                f"{num(worst['excess'])} [{num(worst['ci_low'])}, {num(worst['ci_high'])}]",
                str(len(k["sets"])),
            )
        console.print(table)
    # Row numbers of the training split are private (they say which records were trained on) and
    # a terminal is often a CI log: name where they are, never print them.
    exposed = [k for k, v in report.records.items() if k.endswith(".exposed") and v]
    if exposed:
        names = ", ".join(k.removesuffix(".exposed") for k in exposed)
        console.print(
            f"[dim]most exposed training rows ({names}): listed in the internal report's "
            "records (private: report.json, report.html), not printed here[/dim]",
            highlight=False,
        )


def _subgroups(report: Report, console: Console) -> None:
    """One line with the worst subgroups (membership AUC within a categorical level, highest
    first); the report has already dropped small groups from a public report."""
    rows = report.subgroups[:3]
    if not rows:
        return
    parts = [
        f"{escape(r['column'])}={escape(r['level'])} {num(r['auc'], 3)} "
        f"[{num(r['ci_low'], 3)}, {num(r['ci_high'], 3)}]"
        for r in rows
    ]
    console.print(
        "[bold]worst subgroups[/bold] (membership AUC [95% simultaneous]): " + "; ".join(parts),
        highlight=False,
    )
