"""The report model: one dataclass tree, rendered five ways, saved as versioned JSON.

Every renderer reads a :class:`Report`; nothing renders from raw attack output. The JSON form is
``Report.to_dict()`` (schema: ``docs/report.schema.json``) and ``Report.from_dict`` reads it back,
so a saved report re-renders identically (``privsynth report show``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from attacks.results import Estimate, Metric

REPORT_FORMAT = "privsynth-report"
REPORT_VERSION = "1"

# NOT_APPLICABLE: a check with applies = "if_supported" whose metric the sample cannot support
# (reports/verdict.py); it did not run and takes no part in the verdict (never a PASS)
Status = Literal["PASS", "FAIL", "INCONCLUSIVE", "ERROR", "NOT_APPLICABLE"]
STATUSES = ("PASS", "FAIL", "INCONCLUSIVE", "ERROR", "NOT_APPLICABLE")
Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE"]
Audience = Literal["internal", "public"]


@dataclass
class CheckResult:
    """One policy check applied to one metric."""

    id: str
    metric: str
    kind: str  # "privacy" or "utility"
    comparison: str  # "max": pass when at most the threshold; "min": at least
    threshold: float
    statistic: str  # "upper", "lower" or "value"
    status: Status
    explanation: str
    observed: float | None = None
    estimate: Estimate | None = None
    rationale: str = ""
    source: str = ""
    description: str = ""


@dataclass
class AttackSummary:
    attack: str
    status: str
    message: str = ""
    seconds: float | None = 0.0  # None in a public report: run time is a function of the tables
    metrics: list[Metric] = field(default_factory=list)


@dataclass
class UtilitySection:
    """What the privacy costs: marginal errors, association errors, train-synthetic-test-real."""

    metrics: list[Metric] = field(default_factory=list)
    worst_columns: list[dict[str, Any]] = field(default_factory=list)  # {"column", "tvd"}
    worst_pairs: list[dict[str, Any]] = field(default_factory=list)  # {"columns", "tvd"}
    worst_associations: list[dict[str, Any]] = field(default_factory=list)
    ml: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    # distributions, associations, rules, subgroups, fit-for verdicts (reports/fidelity.py)
    fidelity: dict[str, Any] | None = None


@dataclass
class Budget:
    """The generator's privacy guarantee, from its manifest (or a statement that it is unknown)."""

    known: bool
    statement: str
    method: str | None = None
    epsilon: float | None = None
    delta: float | None = None
    rho: float | None = None
    neighbouring: str | None = None
    accounting: str | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Provenance:
    created: str
    tool: str
    versions: dict[str, str]
    inputs: list[dict[str, Any]]  # {"role", "file", "sha256", "rows"}
    policy: dict[str, Any]  # {"name", "source", "sha256"}
    seed: int | None = None  # omitted (None) in the public variant
    settings: dict[str, Any] = field(default_factory=dict)
    command: str | None = None


@dataclass
class Plots:
    """Plot data, already suppressed (bins and categories with fewer than ``min_count``)."""

    dcr_histogram: dict[str, Any] | None = None  # {"edges", "train", "holdout", "suppressed"}
    roc: dict[str, dict[str, Any]] = field(default_factory=dict)  # attack -> {"fpr","tpr","auc"}
    attribute_risk: list[dict[str, Any]] = field(default_factory=list)
    marginal_heatmap: dict[str, Any] | None = None  # {"columns", "tvd": [[...]]}


@dataclass
class Report:
    verdict: Verdict
    exit_code: int
    summary: str
    checks: list[CheckResult]
    attacks: list[AttackSummary]
    budget: Budget
    provenance: Provenance
    audience: Audience = "internal"
    min_count: int = 10
    utility: UtilitySection | None = None
    plots: Plots = field(default_factory=Plots)
    # Per-record material (training row indices and scores, never values); empty when public.
    records: dict[str, Any] = field(default_factory=dict)
    # Attacker knowledge: per attack run for several knowledge sets (attribute, singling_out,
    # linkability), every set with its columns and excess interval, and the worst set named:
    # {"attack", "metric", "worst", "sets": [{"name", "columns", "right", "rule", "excess",
    #  "ci_low", "ci_high", "attack", "control", "note"}]}. Aggregates only: kept when public.
    knowledge: list[dict[str, Any]] = field(default_factory=list)
    # The worst subgroups (attacks/subgroup.py; reports/subgroups.py): {"column", "level", "auc",
    # "ci_low", "ci_high"} (+ "n_train", "n_holdout" internal only).
    subgroups: list[dict[str, Any]] = field(default_factory=list)
    # certify --dp-audit: privsynth.dpaudit.audit_for_report's dict (public domain only), or None.
    dp_audit: dict[str, Any] | None = None
    format: str = REPORT_FORMAT
    version: str = REPORT_VERSION

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for c in self.checks:
            out[c.status] += 1
        return out

    def not_applicable(self) -> list[CheckResult]:
        """The checks that did not run at this sample size (not part of the verdict)."""
        return [c for c in self.checks if c.status == "NOT_APPLICABLE"]

    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "FAIL"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        head = {"format": data.pop("format"), "version": data.pop("version")}
        return {**head, **data}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        if data.get("format") != REPORT_FORMAT:
            raise ValueError(f"not a privsynth report (format {data.get('format')!r})")
        if str(data.get("version")) != REPORT_VERSION:
            raise ValueError(f"report version {data.get('version')!r} is not {REPORT_VERSION!r}")
        utility = data.get("utility")
        return cls(
            verdict=data["verdict"],
            exit_code=int(data["exit_code"]),
            summary=data["summary"],
            checks=[
                CheckResult(**{**c, "estimate": _estimate(c.get("estimate"))})
                for c in data["checks"]
            ],
            attacks=[
                AttackSummary(**{**a, "metrics": [_metric(m) for m in a.get("metrics", [])]})
                for a in data["attacks"]
            ],
            budget=Budget(**data["budget"]),
            provenance=Provenance(**data["provenance"]),
            audience=data.get("audience", "internal"),
            min_count=int(data.get("min_count", 10)),
            utility=None
            if utility is None
            else UtilitySection(**{**utility, "metrics": [_metric(m) for m in utility["metrics"]]}),
            plots=Plots(**data.get("plots", {})),
            records=data.get("records", {}),
            knowledge=data.get("knowledge", []),
            subgroups=data.get("subgroups", []),
            dp_audit=data.get("dp_audit"),
        )

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_dict(json.loads(text))


def _estimate(data: dict[str, Any] | None) -> Estimate | None:
    return None if data is None else Estimate(**data)


def _metric(data: dict[str, Any]) -> Metric:
    return Metric(**{**data, "estimate": Estimate(**data["estimate"])})
