"""Tiny inline-SVG plots (standard library only): bars, lines, interval bars, heat map."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

W, H, PAD = 520, 300, 48
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def _frame(title: str, body: str, xlabel: str, ylabel: str, w: int = W, h: int = H) -> str:
    return (
        f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>'
        f'<text x="{w / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">'
        f"{escape(title)}</text>{body}"
        f'<text x="{w / 2}" y="{h - 6}" text-anchor="middle" font-size="11">{escape(xlabel)}</text>'
        f'<text x="12" y="{h / 2}" font-size="11" transform="rotate(-90 12 {h / 2})" '
        f'text-anchor="middle">{escape(ylabel)}</text></svg>'
    )


def _axes(x0: float, x1: float, y0: float, y1: float, w: int = W, h: int = H) -> tuple:
    def sx(x: float) -> float:
        return PAD + (x - x0) / ((x1 - x0) or 1) * (w - 2 * PAD)

    def sy(y: float) -> float:
        return h - PAD + 10 - (y - y0) / ((y1 - y0) or 1) * (h - 2 * PAD)

    ticks = []
    for i in range(5):
        xv, yv = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        ticks.append(
            f'<text x="{sx(xv):.1f}" y="{h - PAD + 24}" font-size="10" text-anchor="middle">'
            f"{xv:.3g}</text>"
            f'<text x="{PAD - 4}" y="{sy(yv) + 3:.1f}" font-size="10" text-anchor="end">{yv:.3g}</text>'
            f'<line x1="{PAD}" x2="{w - PAD}" y1="{sy(yv):.1f}" y2="{sy(yv):.1f}" stroke="#eee"/>'
        )
    box = (
        f'<line x1="{PAD}" y1="{sy(y0):.1f}" x2="{w - PAD}" y2="{sy(y0):.1f}" stroke="black"/>'
        f'<line x1="{PAD}" y1="{sy(y0):.1f}" x2="{PAD}" y2="{sy(y1):.1f}" stroke="black"/>'
    )
    return sx, sy, "".join(ticks) + box


def _legend(names: Sequence[str], w: int = W) -> str:
    out = []
    for i, n in enumerate(names):
        y = 34 + 14 * i
        out.append(
            f'<rect x="{w - PAD - 130}" y="{y - 9}" width="10" height="10" fill="{COLORS[i % 5]}"/>'
            f'<text x="{w - PAD - 115}" y="{y}" font-size="11">{escape(n)}</text>'
        )
    return "".join(out)


def histogram(
    title: str,
    edges: Sequence[float],
    series: dict[str, Sequence[float]],
    xlabel: str,
    ylabel: str = "share of rows",
) -> str:
    if len(edges) < 2:
        return ""
    totals = {k: (sum(v) or 1) for k, v in series.items()}
    ymax = max((c / totals[k] for k, v in series.items() for c in v), default=1) or 1
    sx, sy, axes = _axes(edges[0], edges[-1], 0, ymax * 1.05)
    body = [axes]
    for i, (name, counts) in enumerate(series.items()):
        pts = [f"{sx(edges[0]):.1f},{sy(0):.1f}"]
        for j, c in enumerate(counts):
            y = sy(c / totals[name])
            pts += [f"{sx(edges[j]):.1f},{y:.1f}", f"{sx(edges[j + 1]):.1f},{y:.1f}"]
        pts.append(f"{sx(edges[-1]):.1f},{sy(0):.1f}")
        body.append(
            f'<polyline points="{" ".join(pts)}" fill="none" stroke="{COLORS[i]}" stroke-width="2"/>'
        )
    body.append(_legend(list(series)))
    return _frame(title, "".join(body), xlabel, ylabel)


def roc(title: str, curves: dict[str, tuple[Sequence[float], Sequence[float]]]) -> str:
    sx, sy, axes = _axes(0, 1, 0, 1)
    body = [
        axes,
        f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(1)}" y2="{sy(1)}" '
        'stroke="#999" stroke-dasharray="4 3"/>',
    ]
    for i, (fpr, tpr) in enumerate(curves.values()):
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(fpr, tpr, strict=False))
        body.append(
            f'<polyline points="{pts}" fill="none" stroke="{COLORS[i % 5]}" stroke-width="2"/>'
        )
    body.append(_legend(list(curves)))
    return _frame(title, "".join(body), "false positive rate", "true positive rate")


def intervals(
    title: str,
    rows: Sequence[tuple[str, float, float, float]],
    threshold: float | None,
    xlabel: str,
) -> str:
    """Horizontal point-and-interval rows: (label, value, low, high)."""
    if not rows:
        return ""
    h = 40 + 22 * len(rows) + 40
    lo = min(0.0, *(r[2] for r in rows))
    hi = max(0.05, *(r[3] for r in rows), threshold or 0) * 1.1
    left = 150

    def sx(x: float) -> float:
        return left + (x - lo) / ((hi - lo) or 1) * (W - left - 20)

    body = []
    for i, (label, v, a, b) in enumerate(rows):
        y = 40 + 22 * i
        body.append(
            f'<text x="{left - 6}" y="{y + 4}" font-size="11" text-anchor="end">{escape(label)}</text>'
            f'<line x1="{sx(a):.1f}" x2="{sx(b):.1f}" y1="{y}" y2="{y}" stroke="{COLORS[0]}" stroke-width="3"/>'
            f'<circle cx="{sx(v):.1f}" cy="{y}" r="4" fill="{COLORS[0]}"/>'
        )
    base = 40 + 22 * len(rows)
    body.append(f'<line x1="{sx(0):.1f}" x2="{sx(0):.1f}" y1="28" y2="{base}" stroke="#999"/>')
    if threshold is not None:
        body.append(
            f'<line x1="{sx(threshold):.1f}" x2="{sx(threshold):.1f}" y1="28" y2="{base}" '
            f'stroke="{COLORS[1]}" stroke-dasharray="4 3"/>'
            f'<text x="{sx(threshold):.1f}" y="{base + 12}" font-size="10" fill="{COLORS[1]}" '
            f'text-anchor="end">threshold {threshold:.3g}</text>'
        )
    for t in range(5):
        xv = lo + (hi - lo) * t / 4
        body.append(
            f'<text x="{sx(xv):.1f}" y="{base + 26}" font-size="10" text-anchor="middle">{xv:.2g}</text>'
        )
    return _frame(title, "".join(body), xlabel, "", h=h + 10)


def bars(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    ylabel: str = "share of rows",
) -> str:
    """Grouped vertical bars: one group per label, one bar per series (e.g. real, synthetic)."""
    if not labels:
        return ""
    ymax = max((v for vs in series.values() for v in vs), default=0.0) or 1.0
    sx, sy, _ = _axes(0, len(labels), 0, ymax * 1.05)
    slot = (sx(1) - sx(0)) / (len(series) + 1)
    body = [_y_ticks(sy, ymax * 1.05)]
    for i, (name, vals) in enumerate(series.items()):
        for j, v in enumerate(vals):
            x = sx(j) + slot * (i + 0.5)
            body.append(
                f'<rect x="{x:.1f}" y="{sy(v):.1f}" width="{slot:.1f}" '
                f'height="{max(sy(0) - sy(v), 0):.1f}" fill="{COLORS[i % 5]}">'
                f"<title>{escape(str(labels[j]))}, {escape(name)}: {v:.3g}</title></rect>"
            )
    for j, lab in enumerate(labels):
        x, y = sx(j + 0.5), H - PAD + 14
        text = str(lab) if len(str(lab)) <= 14 else str(lab)[:13] + "…"
        body.append(
            f'<text x="{x:.1f}" y="{y}" font-size="9" text-anchor="end" '
            f'transform="rotate(-40 {x:.1f} {y})">{escape(text)}</text>'
        )
    body.append(
        f'<line x1="{PAD}" y1="{sy(0):.1f}" x2="{W - PAD}" y2="{sy(0):.1f}" stroke="black"/>'
    )
    body.append(_legend(list(series)))
    return _frame(title, "".join(body), "", ylabel, h=H + 30)


def _y_ticks(sy, top: float) -> str:
    out = []
    for i in range(5):
        yv = top * i / 4
        out.append(
            f'<text x="{PAD - 4}" y="{sy(yv) + 3:.1f}" font-size="10" text-anchor="end">{yv:.2g}</text>'
            f'<line x1="{PAD}" x2="{W - PAD}" y1="{sy(yv):.1f}" y2="{sy(yv):.1f}" stroke="#eee"/>'
        )
    return "".join(out)


def heatmap(
    title: str,
    labels: Sequence[str],
    matrix: Sequence[Sequence[float]],
    vmax: float | None = None,
) -> str:
    """Square heat map; ``vmax`` fixes the colour scale (to compare two maps side by side)."""
    n = len(labels)
    if n == 0:
        return ""
    cell = max(10, min(28, 420 // n))
    left, top = 130, 40
    size = left + cell * n + 90
    peak = max((v for row in matrix for v in row), default=0.0)
    vmax = vmax or peak or 1.0
    body = []
    for i in range(n):
        body.append(
            f'<text x="{left - 4}" y="{top + cell * i + cell * 0.7:.1f}" font-size="10" '
            f'text-anchor="end">{escape(labels[i])}</text>'
            f'<text x="{left + cell * i + cell * 0.6:.1f}" y="{top + cell * n + 6}" font-size="10" '
            f'transform="rotate(60 {left + cell * i + cell * 0.6:.1f} {top + cell * n + 6})">'
            f"{escape(labels[i])}</text>"
        )
        for j in range(n):
            v = matrix[i][j]
            t = min(max(v / vmax, 0.0), 1.0)
            color = f"rgb(255,{int(255 * (1 - t))},{int(255 * (1 - t))})"
            body.append(
                f'<rect x="{left + cell * j}" y="{top + cell * i}" width="{cell}" height="{cell}" '
                f'fill="{color}" stroke="white"><title>{escape(labels[i])} × {escape(labels[j])}: '
                f"{v:.3f}</title></rect>"
            )
    body.append(
        f'<text x="{left + cell * n + 8}" y="{top + 10}" font-size="10">darkest = {peak:.3f}</text>'
    )
    return _frame(title, "".join(body), "", "", w=size, h=top + cell * n + 110)
