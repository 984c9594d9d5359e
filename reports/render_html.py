"""A self-contained offline HTML page: inline CSS and SVG, no scripts, nothing fetched."""

from __future__ import annotations

from html import escape

from reports import svg
from reports.fmt import STATUS_MARK, VERDICT_TEXT, interval, num, threshold
from reports.model import Report
from reports.subgroups import subgroup_html

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.PASS{color:#137333;font-weight:bold}.FAIL{color:#b3261e;font-weight:bold}
.INCONCLUSIVE,.ERROR{color:#a15c00;font-weight:bold}.NOT_APPLICABLE{color:#666;font-style:italic}
.verdict{font-size:1.4em;padding:.6em 1em;border-radius:6px;border:2px solid}
.v-PASS{border-color:#137333;background:#e6f4ea}.v-FAIL{border-color:#b3261e;background:#fce8e6}
.v-INCONCLUSIVE{border-color:#a15c00;background:#fef7e0}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots figure{margin:0}
figcaption{font-size:12px;color:#555;max-width:520px}small,.muted{color:#666}
code{background:#f4f4f4;padding:0 3px}
"""


def _e(x: object) -> str:
    return escape(str(x))


def render_html(report: Report) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>privsynth risk report: {_e(report.verdict)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>privsynth risk report</h1>",
        f'<div class="verdict v-{report.verdict}"><b>{_e(report.verdict)}</b> '
        f"(exit code {report.exit_code}): {_e(VERDICT_TEXT[report.verdict])}<br>"
        f"<small>{_e(report.summary)}</small></div>",
        _checks(report),
        _knowledge(report),
        subgroup_html(report.subgroups),
        "<h2>Plots</h2>" + _plots(report),
        _budget(report),
    ]
    if report.utility is not None:
        out.append(_utility(report))
    out.append(_attacks(report))
    out.append(_provenance(report))
    return "\n".join(out)


def _checks(report: Report) -> str:
    """The checks table, then the attacks that could not run."""
    out = [
        "<h2>Checks</h2>",
        "<table><tr><th>check</th><th>result</th><th>estimate</th><th>95% interval</th>"
        "<th>compared</th><th>threshold</th><th>why</th></tr>",
    ]
    for c in report.checks:
        out.append(
            f"<tr><td><b>{_e(c.id)}</b><br><code>{_e(c.metric)}</code><br>"
            f"<small>{_e(c.description)}</small></td>"
            f'<td class="{c.status}">{STATUS_MARK[c.status]}</td>'
            f"<td>{num(c.estimate.value) if c.estimate else '-'}</td><td>{interval(c)}</td>"
            f"<td>{_e(c.statistic)}</td><td>{_e(threshold(c))}</td>"
            f"<td>{_e(c.explanation)}<br><small>{_e(c.rationale)} "
            f"<i>{_e(c.source)}</i></small></td></tr>"
        )
    out.append("</table>")
    bad = [a for a in report.attacks if a.status != "ok"]
    if bad:
        out.append("<h3>Attacks that could not run</h3><ul>")
        out += [f"<li><code>{_e(a.attack)}</code>: {_e(a.message)}</li>" for a in bad]
        out.append("</ul>")
    return "\n".join(out)


def _budget(report: Report) -> str:
    """The budget statement and, when known, the privacy ledger."""
    b = report.budget
    out = [f"<h2>Privacy budget</h2><p>{_e(b.statement)}</p>"]
    if b.known and b.entries:
        out.append(
            "<details><summary>privacy ledger "
            f"({len(b.entries)} measurements)</summary><table><tr><th>#</th><th>what</th>"
            "<th>mechanism</th><th>rho</th><th>noise scale</th></tr>"
        )
        for i, e in enumerate(b.entries, 1):
            out.append(
                f"<tr><td>{i}</td><td>{_e(e['what'])}</td><td>{_e(e['mechanism'])}</td>"
                f"<td>{num(e['rho'])}</td><td>{num(e.get('scale'))}</td></tr>"
            )
        out.append("</table></details>")
    return "\n".join(out)


def _provenance(report: Report) -> str:
    p = report.provenance
    rows = [
        ("tool", p.tool),
        ("created", p.created),
        ("audience", report.audience),
        (
            "policy",
            f"{p.policy.get('name')} ({p.policy.get('source')}) sha256 {p.policy.get('sha256')}",
        ),
        ("seed", "withheld" if p.seed is None else p.seed),
        ("plot suppression", f"bins with fewer than {report.min_count} records hidden"),
    ]
    rows += [
        (f"input: {i['role']}", f"{i.get('file')} sha256 {i.get('sha256')} rows {i.get('rows')}")
        for i in p.inputs
    ]
    rows += [(f"version: {k}", v) for k, v in p.versions.items()]
    out = ["<h2>Provenance</h2><table>"]
    out += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows]
    out.append("</table></body></html>\n")
    return "\n".join(out)


def _fig(svg_text: str, caption: str) -> str:
    if not svg_text:
        return ""
    return f"<figure>{svg_text}<figcaption>{_e(caption)}</figcaption></figure>"


def _plots(report: Report) -> str:
    pl = report.plots
    figs = []
    if pl.dcr_histogram:
        h = pl.dcr_histogram
        figs.append(
            _fig(
                svg.histogram(
                    "Distance to closest synthetic record",
                    h["edges"],
                    {"training rows": h["train"], "holdout rows": h["holdout"]},
                    "distance to the nearest synthetic row",
                ),
                "If the synthetic data copies training records, the training curve sits left of the "
                f"holdout curve. Bins with fewer than {report.min_count} rows are hidden "
                f"({len(h.get('suppressed', []))} hidden).",
            )
        )
    if pl.roc:
        curves = {k: (v["fpr"], v["tpr"]) for k, v in pl.roc.items()}
        figs.append(
            _fig(
                svg.roc("Membership inference ROC", curves),
                "Each curve is an attacker guessing whether a record was in the training data. "
                "The dashed diagonal is guessing; a curve bowing above it means leakage.",
            )
        )
    if pl.attribute_risk:
        thr = next((c.threshold for c in report.checks if c.metric.startswith("attribute.")), None)
        rows = [(r["column"], r["risk"], r["ci_low"], r["ci_high"]) for r in pl.attribute_risk]
        figs.append(
            _fig(
                svg.intervals(
                    "Attribute inference risk per column", rows, thr, "risk (0 = no gain)"
                ),
                "How much better than a control an attacker infers each secret column "
                "from the synthetic data (dot: estimate, bar: 95% interval).",
            )
        )
    if pl.marginal_heatmap and pl.marginal_heatmap.get("columns"):
        hm = pl.marginal_heatmap
        figs.append(
            _fig(
                svg.heatmap("Marginal error (total variation distance)", hm["columns"], hm["tvd"]),
                "Diagonal: one column's distribution error; off-diagonal: a pair's. Darker = the "
                "synthetic data reproduces that part worse.",
            )
        )
    if not figs:
        return "<p class=muted>No plot data.</p>"
    return '<div class="plots">' + "".join(figs) + "</div>"


def _utility(report: Report) -> str:
    u = report.utility
    assert u is not None
    out = [
        "<h2>Utility: what the privacy costs</h2><table><tr><th>metric</th><th>value</th>"
        "<th>95% interval</th><th>meaning</th></tr>"
    ]
    for m in u.metrics:
        e = m.estimate
        out.append(
            f"<tr><td><code>{_e(m.name)}</code></td><td>{num(e.value)}</td>"
            f"<td>[{num(e.ci_low)}, {num(e.ci_high)}]</td><td>{_e(m.description)}</td></tr>"
        )
    out.append("</table>")
    if u.worst_columns:
        out.append(
            "<p>Worst columns: "
            + ", ".join(
                f"<code>{_e(w['column'])}</code> ({num(w['tvd'], 3)})" for w in u.worst_columns
            )
            + "</p>"
        )
    if u.worst_pairs:
        out.append(
            "<p>Worst pairs: "
            + ", ".join(
                f"<code>{_e(' × '.join(w['columns']))}</code> ({num(w['tvd'], 3)})"
                for w in u.worst_pairs
            )
            + "</p>"
        )
    if u.ml:
        ml = u.ml
        out.append(
            f"<p>{_e(ml['model'])} predicting <code>{_e(ml['target'])}</code>: "
            f"{_e(ml['score'])} {num(ml['tstr'], 3)} when trained on synthetic data, "
            f"{num(ml['trtr'], 3)} when trained on the real training data (majority-class "
            f"baseline {num(ml['baseline'], 3)}), both tested on the real holdout.</p>"
        )
    out += [f"<p class=muted>{_e(n)}</p>" for n in u.notes]
    if u.fidelity:
        from reports.fidelity import render_html as fidelity_html

        out.append(fidelity_html(u.fidelity, _e))
    return "".join(out)


def _attacks(report: Report) -> str:
    out = [
        "<h2>All attack metrics</h2><table><tr><th>attack</th><th>status</th><th>metric</th>"
        "<th>estimate</th><th>95% interval</th><th>no-leak value</th></tr>"
    ]
    for a in report.attacks:
        if not a.metrics:
            out.append(
                f"<tr><td>{_e(a.attack)}</td><td class=ERROR>{_e(a.status)}</td>"
                f"<td colspan=4>{_e(a.message)}</td></tr>"
            )
        for m in a.metrics:
            e = m.estimate
            out.append(
                f"<tr><td>{_e(a.attack)}</td><td>{_e(a.status)}</td>"
                f"<td><code>{_e(m.name)}</code></td><td>{num(e.value)}</td>"
                f"<td>[{num(e.ci_low)}, {num(e.ci_high)}]</td><td>{num(m.null_value)}</td></tr>"
            )
    out.append("</table>")
    if report.records:
        out.append(
            f"<p class=muted>Per-record evidence (training row positions and scores only, "
            f"never values) for {len(report.records)} attack views is in the JSON report "
            "(internal audience only).</p>"
        )
    return "".join(out)


def _knowledge(report: Report) -> str:
    """Attacker knowledge per attack (every set, the worst marked) and, for the internal
    audience, the most exposed training rows (positions only)."""
    if not report.knowledge:
        return ""
    out = [
        "<h2>Attacker knowledge</h2><p>Attribute inference, singling out and linkability each "
        "ran for several sets of columns the attacker is assumed to know (every other column, "
        "the declared quasi-identifiers, and small subsets chosen by a fixed public rule). The "
        "worst set is gated; intervals hold simultaneously over the sets.</p>",
        "<table><tr><th>attack</th><th>knowledge set</th><th>attacker knows</th>"
        "<th>excess</th><th>95% interval</th><th>rule</th></tr>",
    ]
    for k in report.knowledge:
        for s in sorted(k["sets"], key=lambda s: s["name"] != k["worst"]):
            known = ", ".join(s["columns"]) + (" ↔ " + ", ".join(s["right"]) if s["right"] else "")
            worst = s["name"] == k["worst"]
            name = f"<b>{_e(s['name'])}</b> (worst)" if worst else _e(s["name"])
            note = f"; {_e(s['note'])}" if s.get("note") else ""
            out.append(
                f"<tr><td><code>{_e(k['attack'])}</code></td><td>{name}</td><td>{_e(known)}</td>"
                f"<td>{num(s['excess'])}</td><td>[{num(s['ci_low'])}, {num(s['ci_high'])}]</td>"
                f"<td><small>{_e(s['rule'])}{note}</small></td></tr>"
            )
    out.append("</table>")
    exposed = {k: v for k, v in report.records.items() if k.endswith(".exposed") and v}
    if exposed:
        out.append(
            "<h3>Most exposed training records</h3><p class=muted>Row positions in the "
            "training table (never values); internal report only.</p><ul>"
        )
        for key, rows in exposed.items():
            listed = ", ".join(str(r.get("row")) for r in rows[:20] if isinstance(r, dict))
            out.append(f"<li><code>{_e(key.removesuffix('.exposed'))}</code>: {_e(listed)}</li>")
        out.append("</ul>")
    return "".join(out)
