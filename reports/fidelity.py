"""Fidelity views of the utility section: per-column distributions, association matrices,
subgroup fidelity and fairness, constraint satisfaction, and which uses the table is fit for.

**What is shown, and what is hidden.** Distribution plots use bins chosen from the *synthetic*
table (equal-width over its range for numbers; its most frequent categories), never from the real
one, so no real quantile or real-only category appears as a label; any bin or category with fewer
than ``k`` (the policy's ``min_count``) real or synthetic rows is suppressed (both bars hidden,
and its index listed). Subgroups are values of a sensitive column (``role: sensitive`` in the
schema, or ``--subgroup COL``) with at least ``k`` rows in the training, holdout and synthetic
tables; smaller groups are left out and counted. Everything reported is an aggregate.

**Subgroup fidelity.** For group ``g``: the mean over the other columns of the 1-way total
variation distance between the real and synthetic rows of ``g``, and, when a target is given,
the accuracy on the holdout rows of ``g`` of the model trained on synthetic data (TSTR) and of the
same model trained on real data (TRTR). **Fairness** (binary target; positive class = the
synthetic table's minority class): the demographic parity difference
``max_g P(yhat = + | g) - min_g P(yhat = + | g)`` and the equalised-odds difference
``max(range_g TPR_g, range_g FPR_g)`` on the holdout, for the model trained on real data and the
one trained on synthetic data; their difference says whether synthesis introduced or hid bias.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reports import svg

N_NUMERIC_BINS = 16
MAX_CATEGORIES = 12
MAX_CORR_COLUMNS = 12
MAX_PLOTS = 24

FIT_RULES = (
    (
        "single-column statistics (counts, shares, histograms)",
        "utility.marginal_1way.max_tvd",
        0.05,
    ),
    ("pairwise relationships and cross-tabulations", "utility.marginal_2way.mean_tvd", 0.10),
    ("training a model for the target, validated on real data", "utility.ml.gap", 0.03),
    ("subgroup analysis across the sensitive columns", "utility.subgroup.max_mean_tvd", 0.10),
    (
        "fairness studies (bias of a downstream model)",
        "utility.fairness.equalized_odds_delta",
        0.05,
    ),
)


def _labels(real: pd.Series, synth: pd.Series, numeric: bool) -> tuple[list[str], Any]:
    """Bins from the synthetic table only; a function mapping a series to label indices."""
    if numeric:
        s = pd.to_numeric(synth, errors="coerce").to_numpy(dtype=float)
        s = s[np.isfinite(s)]
        lo, hi = (float(s.min()), float(s.max())) if s.size else (0.0, 1.0)
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, N_NUMERIC_BINS + 1)
        labels = [f"{edges[i]:.4g}–{edges[i + 1]:.4g}" for i in range(N_NUMERIC_BINS)]

        def cut(x: pd.Series) -> np.ndarray:
            v = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)
            c = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, N_NUMERIC_BINS - 1)
            return np.where(np.isfinite(v), c, N_NUMERIC_BINS)

        return [*labels, "missing"], cut
    top = synth.dropna().astype(str).value_counts().index[:MAX_CATEGORIES].tolist()
    index = pd.Index(top)

    def enc(x: pd.Series) -> np.ndarray:
        c = index.get_indexer(x.astype(str))
        c = np.where(c < 0, len(top), c)
        return np.where(x.isna().to_numpy(), len(top) + 1, c)

    return [*top, "other", "missing"], enc


def sensitive_columns(schema: Any, given: list[str] | None = None) -> list[str]:
    """``--subgroup`` columns plus the schema's ``role: sensitive`` ones (checked: InputError)."""
    from privsynth.errors import InputError

    names = [c.name for c in schema.synth_columns]
    out = list(dict.fromkeys(given or []))
    for c in out:
        if c not in names:
            raise InputError(f"--subgroup {c!r}: not a synthesized column ({', '.join(names)})")
        if schema[c].type != "categorical":
            raise InputError(f"--subgroup {c!r}: subgroups need a categorical column")
    out += [c.name for c in schema.synth_columns
            if getattr(c, "role", None) == "sensitive" and c.name not in out]  # fmt: skip
    return out


def fidelity_inputs(schema_path: Any, subgroups: list[str] | None) -> dict[str, Any]:
    """``constraints`` and ``subgroups`` for the report, from an audit's ``--schema`` file."""
    if schema_path is None:
        if subgroups:
            from privsynth.errors import InputError

            raise InputError("--subgroup needs --schema (to know the column is categorical)")
        return {"constraints": None, "subgroups": None}
    from privsynth.schema import load_schema

    schema = load_schema(schema_path)
    return {"constraints": schema.rules, "subgroups": sensitive_columns(schema, subgroups)}


def distributions(
    train: pd.DataFrame, synthetic: pd.DataFrame, numeric: dict[str, bool], k: int
) -> list[dict[str, Any]]:
    """Real vs synthetic shares per column on synthetic-chosen bins, k-suppressed."""
    out = []
    for c in list(numeric)[:MAX_PLOTS]:
        labels, code = _labels(train[c], synthetic[c], numeric[c])
        rc = np.bincount(code(train[c]), minlength=len(labels))
        sc = np.bincount(code(synthetic[c]), minlength=len(labels))
        hide = ((rc > 0) & (rc < k)) | ((sc > 0) & (sc < k))
        keep = [i for i in range(len(labels)) if (rc[i] or sc[i]) and not hide[i]]
        out.append(
            {
                "column": c,
                "numeric": bool(numeric[c]),
                "labels": [labels[i] for i in keep],
                "real": [round(float(rc[i] / max(len(train), 1)), 5) for i in keep],
                "synthetic": [round(float(sc[i] / max(len(synthetic), 1)), 5) for i in keep],
                "suppressed": int(hide.sum()),
            }
        )
    return out


def _group_codes(s: pd.Series) -> np.ndarray:
    return s.astype(object).where(s.notna(), "\0missing").astype(str).to_numpy()


def _tvd_text(a: pd.Series, b: pd.Series) -> float:
    p = pd.Series(_group_codes(a)).value_counts(normalize=True)
    q = pd.Series(_group_codes(b)).value_counts(normalize=True)
    return float(0.5 * p.sub(q, fill_value=0.0).abs().sum())


def _coarse(train: pd.DataFrame, synthetic: pd.DataFrame, numeric: dict[str, bool]):
    """Both tables with numeric columns cut on synthetic-range bins (for within-group TVDs)."""
    t, s = train.copy(), synthetic.copy()
    for c, is_num in numeric.items():
        if is_num:
            _, cut = _labels(train[c], synthetic[c], True)
            t[c], s[c] = cut(train[c]), cut(synthetic[c])
    return t, s


def subgroups(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: list[str],
    numeric: dict[str, bool],
    k: int,
    preds: dict[str, Any] | None,
) -> dict[str, Any]:
    """Per-subgroup marginal error and TSTR/TRTR, and the fairness deltas (see module doc)."""
    t, s = _coarse(train, synthetic, numeric)
    out: dict[str, Any] = {"min_count": k, "columns": []}
    for col in columns:
        values = synthetic[col].dropna().astype(str).value_counts().index.tolist()
        groups, suppressed = [], 0
        tg, sg = train[col].astype(str), synthetic[col].astype(str)
        hg = holdout[col].astype(str)
        others = [c for c in numeric if c != col]
        for v in values:
            mt, ms, nh = tg == v, sg == v, int((hg == v).sum())
            if min(int(mt.sum()), int(ms.sum()), nh) < k:
                suppressed += 1
                continue
            tvd = float(np.mean([_tvd_text(t.loc[mt, c], s.loc[ms, c]) for c in others] or [0]))
            groups.append({"value": v, "n_train": int(mt.sum()), "n_synthetic": int(ms.sum()),
                           "mean_tvd": round(tvd, 6)})  # fmt: skip
        entry = {"column": col, "groups": groups, "suppressed_groups": suppressed}
        if preds is not None:
            _group_ml(entry, preds, col, k)
        out["columns"].append(entry)
    return out


def _group_ml(entry: dict[str, Any], preds: dict[str, Any], col: str, k: int) -> None:
    te = preds["test"][col].astype(str).to_numpy()
    y, pr, ps = preds["y"], preds["p_real"], preds["p_syn"]
    for g in entry["groups"]:
        m = te == g["value"]
        g["n_test"] = int(m.sum())
        g["trtr"] = round(float((pr[m] == y[m]).mean()), 6)
        g["tstr"] = round(float((ps[m] == y[m]).mean()), 6)
        g["gap"] = round(g["trtr"] - g["tstr"], 6)
    pos = preds.get("positive")
    if pos is None:
        return
    fair: dict[str, Any] = {"positive": pos}
    for name, p in (("real", pr), ("synthetic", ps)):
        rates, tpr, fpr = [], [], []
        for g in entry["groups"]:
            m = te == g["value"]
            rates.append(float((p[m] == pos).mean()))
            yp, yn = m & (y == pos), m & (y != pos)
            if yp.sum() >= k and yn.sum() >= k:
                tpr.append(float((p[yp] == pos).mean()))
                fpr.append(float((p[yn] == pos).mean()))
        fair[f"demographic_parity_{name}"] = round(max(rates) - min(rates), 6) if rates else None
        eo = max(max(tpr) - min(tpr), max(fpr) - min(fpr)) if len(tpr) >= 2 else None
        fair[f"equalized_odds_{name}"] = None if eo is None else round(eo, 6)
    entry["fairness"] = fair


def worst(sub: dict[str, Any]) -> dict[str, float]:
    """The headline numbers of :func:`subgroups` (for metrics and policy checks)."""
    out: dict[str, float] = {}
    groups = [g for c in sub["columns"] for g in c["groups"]]
    if groups:
        out["utility.subgroup.max_mean_tvd"] = max(g["mean_tvd"] for g in groups)
    gaps = [g["gap"] for g in groups if "gap" in g]
    if gaps:
        out["utility.subgroup.max_ml_gap"] = max(gaps)
    for key, metric in (
        ("demographic_parity", "utility.fairness.demographic_parity_delta"),
        ("equalized_odds", "utility.fairness.equalized_odds_delta"),
    ):
        deltas = []
        for c in sub["columns"]:
            f = c.get("fairness") or {}
            a, b = f.get(f"{key}_real"), f.get(f"{key}_synthetic")
            if a is not None and b is not None:
                deltas.append(abs(b - a))
        if deltas:
            out[metric] = round(max(deltas), 6)
    return out


def fit_for(values: dict[str, float], constraints: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Plain-words verdicts: for each use, whether the measured error is small enough.

    The thresholds are rules of thumb stated in docs/utility.md, not guarantees.
    """
    out = []
    if constraints is not None:
        rate = constraints["all"]
        out.append({"use": "software testing against the schema and its business rules",
                    "fit": rate >= 0.999,
                    "because": f"{100 * rate:.2f}% of rows meet every rule (needs 99.9%)",
                    "needs": f"{100 * rate:.2f}% of rows meet every rule; needs 99.9%"})  # fmt: skip
    for use, metric, limit in FIT_RULES:
        if metric in values:
            v = values[metric]
            out.append({"use": use, "fit": bool(v <= limit),
                        "because": f"{metric.removeprefix('utility.')} = {v:.3g} "
                        f"({'at most' if v <= limit else 'above'} {limit:g})",
                        "needs": f"needs {metric.removeprefix('utility.')} at most {limit:g}"})  # fmt: skip
    return out


# ------------------------------------------------------------------------------- rendering
def render_html(fid: dict[str, Any], esc: Any) -> str:
    """The fidelity part of the HTML report (``esc`` is the renderer's HTML escape)."""
    out = []
    if fid.get("fit_for"):
        out.append("<h3>What this table is fit for</h3><ul>")
        for f in fid["fit_for"]:
            mark = "fit" if f["fit"] else "<b>not fit</b>"
            out.append(f"<li>{esc(f['use'])}: {mark} ({esc(f['because'])})</li>")
        out.append("</ul>")
    con = fid.get("constraints")
    if con:
        out.append(f"<h3>Business rules</h3><p>{100 * con['all']:.2f}% of synthetic rows meet "
                   "every rule (constraints are public: checking them costs no budget).</p><ul>")  # fmt: skip
        out += [f"<li><code>{esc(r['rule'])}</code>: {100 * r['satisfied']:.2f}%</li>"
                for r in con["rules"]]  # fmt: skip
        out.append("</ul>")
    out.append(_subgroup_html(fid.get("subgroups"), esc))
    figs = [svg.bars(f"{d['column']}: real vs synthetic", d["labels"],
                     {"real": d["real"], "synthetic": d["synthetic"]})
            for d in fid.get("distributions", [])]  # fmt: skip
    if figs:
        out.append("<h3>Distributions</h3><p class=muted>Shares of rows per bin (bins chosen from "
                   "the synthetic table; bins with fewer than k rows hidden).</p>"
                   '<div class="plots">' + "".join(figs) + "</div>")  # fmt: skip
    corr = fid.get("correlations")
    if corr and corr.get("columns"):
        cols = corr["columns"]
        pair = [svg.heatmap(f"Association: {name}", cols, corr[name], vmax=1.0)
                for name in ("real", "synthetic")]  # fmt: skip
        out.append("<h3>Associations</h3><p class=muted>|Pearson r| for two numeric columns, "
                   "Cramér's V otherwise; same colour scale.</p>"
                   '<div class="plots">' + "".join(pair) + "</div>")  # fmt: skip
    return "".join(out)


def _subgroup_html(sub: dict[str, Any] | None, esc: Any) -> str:
    if not sub or not sub.get("columns"):
        return ""
    out = ["<h3>Subgroups</h3>"]
    for c in sub["columns"]:
        out.append(f"<p><code>{esc(c['column'])}</code>: {len(c['groups'])} groups shown, "
                   f"{c['suppressed_groups']} with fewer than {sub['min_count']} rows hidden.</p>"
                   "<table><tr><th>group</th><th>rows (real)</th><th>mean 1-way TVD</th>"
                   "<th>TRTR</th><th>TSTR</th><th>gap</th></tr>")  # fmt: skip
        for g in c["groups"]:
            out.append(f"<tr><td>{esc(g['value'])}</td><td>{g['n_train']}</td>"
                       f"<td>{g['mean_tvd']:.3f}</td><td>{_n(g.get('trtr'))}</td>"
                       f"<td>{_n(g.get('tstr'))}</td><td>{_n(g.get('gap'))}</td></tr>")  # fmt: skip
        out.append("</table>")
        f = c.get("fairness")
        if f:
            out.append(f"<p>Fairness (positive class {esc(f['positive'])}): demographic parity "
                       f"difference {_n(f['demographic_parity_real'])} (real-trained) vs "
                       f"{_n(f['demographic_parity_synthetic'])} (synthetic-trained); equalised "
                       f"odds {_n(f['equalized_odds_real'])} vs "
                       f"{_n(f['equalized_odds_synthetic'])}.</p>")  # fmt: skip
    return "".join(out)


def _n(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def render_markdown(fid: dict[str, Any]) -> list[str]:
    """Markdown lines: fit-for verdicts, rule satisfaction, worst subgroup."""
    lines = []
    for f in fid.get("fit_for", []):
        lines.append(f"- {'✅ fit' if f['fit'] else '❌ not fit'} for {f['use']} ({f['because']})")
    con = fid.get("constraints")
    if con:
        lines.append(f"- business rules: {100 * con['all']:.2f}% of rows meet every rule")
    for c in (fid.get("subgroups") or {}).get("columns", []):
        if c["groups"]:
            w = max(c["groups"], key=lambda g: g["mean_tvd"])
            lines.append(f"- subgroups of `{c['column']}`: worst mean 1-way TVD {w['mean_tvd']:.3f} "
                         f"({w['value']}); {c['suppressed_groups']} small groups hidden")  # fmt: skip
    return lines


def datasheet_lines(fid: dict[str, Any]) -> list[str]:
    """Datasheet bullets: rule satisfaction (per rule) and the fit-for verdicts.

    Publishable, so only figures of the synthetic table and public thresholds: the real table's
    rule satisfaction and the measured errors (non-DP aggregates of private data) stay in the report.
    """
    lines = []
    con = fid.get("constraints")
    if con:
        lines.append(f"- business rules: {100 * con['all']:.2f}% of rows meet every schema rule")
        lines += [f"  - `{r['rule']}`: {100 * r['satisfied']:.2f}%" for r in con["rules"]]
    fits = fid.get("fit_for") or []
    if fits:
        lines += ["", "Fit for (measured on this table; thresholds in docs/utility.md):", ""]
        lines += [f"- {'yes' if f['fit'] else 'NO'}: {f['use']} ({_public(f)})" for f in fits]
    return lines


def _public(fit: dict[str, Any]) -> str:
    """A fit-for reason without private figures (reports made before ``needs`` existed: none)."""
    return fit.get("needs", "threshold in docs/utility.md")
