"""Assemble a :class:`Report` from an audit, a policy, utility, budget and provenance."""

from __future__ import annotations

from typing import Any

from attacks.results import AuditResult
from attacks.singling_out import PLUS_ONE_METRIC
from reports.model import AttackSummary, Budget, Plots, Provenance, Report, UtilitySection
from reports.policy import Policy
from reports.provenance import public_report
from reports.subgroups import subgroup_summary
from reports.verdict import evaluate

MAX_RECORDS = 20
# details keys that carry per-record material (training row indices, scores): internal only
_RECORD_KEYS = ("vulnerable", "closest", "copied_training_rows", "exposed")
# attacks run once per attacker-knowledge set, and the metric that gates their worst set
KNOWLEDGE_METRICS = {
    "attribute": "attribute.max_excess",
    "singling_out": "singling_out.max_excess",
    "linkability": "linkability.max_excess",
    "attribute_match": "attribute_match.unique.max_excess",
}


def build_report(
    audit: AuditResult,
    policy: Policy,
    *,
    budget: Budget,
    provenance: Provenance,
    utility: UtilitySection | None = None,
    heatmap: dict[str, Any] | None = None,
    audience: str = "internal",
    min_count: int | None = None,
) -> Report:
    if audience not in ("internal", "public"):
        raise ValueError(f"audience must be 'internal' or 'public', got {audience!r}")
    k = int(min_count if min_count is not None else policy.min_count)
    checks, verdict, code, summary = evaluate(policy, audit, utility)
    attacks = [
        AttackSummary(a.attack, a.status, a.message, a.seconds, list(a.metrics))
        for a in audit.attacks
    ]
    settings = dict(audit.settings)
    if audience == "public":
        provenance.seed = None
        settings.pop("seed", None)
        provenance.command = None
    provenance.settings = {**settings, **provenance.settings}
    if audience == "public":
        provenance.settings.pop("seed", None)
    report = Report(
        verdict=verdict,
        exit_code=code,
        summary=summary,
        checks=checks,
        attacks=attacks,
        budget=budget,
        provenance=provenance,
        audience=audience,  # type: ignore[arg-type]
        min_count=k,
        utility=utility,
        plots=_plots(audit, heatmap, k),
        records={} if audience == "public" else _records(audit),
        knowledge=knowledge_summary(audit),
        subgroups=subgroup_summary(audit, k, audience),
    )
    # a public report carries no private hash, exact count or seed (reports/provenance.py)
    return public_report(report) if audience == "public" else report


def _plots(audit: AuditResult, heatmap: dict[str, Any] | None, k: int) -> Plots:
    plots = Plots(marginal_heatmap=heatmap)
    metrics = audit.metrics()
    for a in audit.attacks:
        if a.status != "ok":
            continue
        hist = a.details.get("histogram")
        if a.attack == "dcr" and isinstance(hist, dict):
            train = [int(v) for v in hist.get("train", [])]
            hold = [int(v) for v in hist.get("holdout", [])]
            suppressed = [
                i
                for i, (t, h) in enumerate(zip(train, hold, strict=False))
                if 0 < t < k or 0 < h < k
            ]
            for i in suppressed:
                train[i] = hold[i] = 0
            plots.dcr_histogram = {
                "edges": [float(e) for e in hist.get("edges", [])],
                "train": train,
                "holdout": hold,
                "suppressed": suppressed,
            }
        roc = a.details.get("roc")
        if isinstance(roc, dict) and roc.get("fpr"):
            auc = metrics.get(f"{a.attack}.auc")
            plots.roc[a.attack] = {
                "fpr": [float(v) for v in roc["fpr"]],
                "tpr": [float(v) for v in roc["tpr"]],
                "auc": None if auc is None else auc.estimate.value,
            }
    for name, m in metrics.items():
        parts = name.split(".")
        if parts[0] == "attribute" and parts[-1] == "risk" and len(parts) >= 3:
            plots.attribute_risk.append(
                {
                    "column": ".".join(parts[1:-1]),
                    "risk": m.estimate.value,
                    "ci_low": m.estimate.ci_low,
                    "ci_high": m.estimate.ci_high,
                }
            )
    return plots


def _records(audit: AuditResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in audit.attacks:
        for key in _RECORD_KEYS:
            value = a.details.get(key)
            if isinstance(value, list) and value:
                out[f"{a.attack}.{key}"] = [_numbers(v) for v in value[:MAX_RECORDS]]
    return out


def _numbers(item: Any) -> Any:
    """Keep numbers only: row indices, scores and distances, never a value of a record."""
    if isinstance(item, dict):
        return {str(k): v for k, v in item.items() if _is_number(v)}
    return item if _is_number(item) else None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def knowledge_summary(audit: AuditResult) -> list[dict[str, Any]]:
    """Per knowledge family: every knowledge set's excess and interval, and the worst set.

    Reads ``details["knowledge"]`` (attribute, singling out) or ``details["pairs"]``
    (linkability) and ``details["worst_knowledge"]``, and singling out's second family (the
    declared quasi-identifiers plus one column: ``details["knowledge_plus_one"]``,
    ``details["worst_plus_one"]``); column names and rates only.
    """
    out: list[dict[str, Any]] = []
    for a in audit.attacks:
        metric = KNOWLEDGE_METRICS.get(a.attack)
        if a.status != "ok" or metric is None:
            continue
        families = [
            (metric, a.details.get("knowledge") or a.details.get("pairs"), "worst_knowledge")
        ]
        if a.attack == "singling_out":
            families.append(
                (PLUS_ONE_METRIC, a.details.get("knowledge_plus_one"), "worst_plus_one")
            )
        for name, sets, worst in families:
            if isinstance(sets, dict) and sets:
                out.append(
                    {
                        "attack": a.attack,
                        "metric": name,
                        "worst": str(a.details.get(worst, "")),
                        "sets": _knowledge_rows(sets),
                    }
                )
    return out


def _knowledge_rows(sets: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, info in sets.items():
        rows.append(
            {
                "name": str(name),
                "columns": [str(c) for c in info.get("columns", info.get("left", []))],
                "right": [str(c) for c in info.get("right", [])],
                "rule": str(info.get("rule", "")),
                "excess": float(info.get("excess", info.get("max_excess", 0.0))),
                "ci_low": float(info.get("ci_low", 0.0)),
                "ci_high": float(info.get("ci_high", 0.0)),
                "attack": _maybe(info.get("attack")),
                "control": _maybe(info.get("control")),
                "note": f"worst secret {info['worst_secret']!r}" if "worst_secret" in info else "",
            }
        )
    return rows


def _maybe(v: Any) -> float | None:
    return float(v) if _is_number(v) else None
