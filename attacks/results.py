"""The result model every attack returns and the report consumes: plain dataclasses, JSON round trip.

This file is the contract between ``attacks/`` and ``reports/``. A metric's ``name`` is stable and
is what a policy check refers to (see ``METRICS`` below). Every estimate carries an interval, and a
metric says which value means "no leak" (``null_value``) so that a reader and a policy can compare.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RESULTS_VERSION = "1"

Status = Literal["ok", "error"]


@dataclass
class Estimate:
    """A point estimate with a two-sided confidence interval."""

    value: float
    ci_low: float
    ci_high: float
    confidence: float = 0.95
    method: str = ""  # "wilson", "clopper-pearson", "bootstrap", "exact", ...

    def __post_init__(self) -> None:
        for v in (self.value, self.ci_low, self.ci_high):
            if isinstance(v, float) and math.isnan(v):
                raise ValueError("Estimate: NaN is not a valid estimate")


@dataclass
class Metric:
    """One measured quantity of one attack, e.g. ``membership.distance.auc``."""

    name: str
    estimate: Estimate
    description: str = ""
    # The value expected when the synthetic data leaks nothing about the training records
    # (0.5 for an AUC or a DCR share, 0.0 for an advantage or an excess rate).
    null_value: float | None = None
    higher_is_riskier: bool = True
    # Comparison numbers a reader needs to judge the metric (baseline, control, counts, ...).
    context: dict[str, float] = field(default_factory=dict)


@dataclass
class AttackResult:
    """The outcome of one attack. ``status == "error"`` means it could not run: never a silent skip."""

    attack: str  # "exact_match", "dcr", "membership.distance", "membership.density", "attribute"
    status: Status
    metrics: list[Metric] = field(default_factory=list)
    message: str = ""
    # JSON-serialisable material for plots and the worst-case view, keyed as documented in METRICS.
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class AuditResult:
    """All attacks run on one (train, holdout, synthetic) triple."""

    attacks: list[AttackResult]
    # seed, sizes (n_train, n_holdout, n_synthetic, n_used), subsampling, columns, qi, secrets ...
    settings: dict[str, Any] = field(default_factory=dict)
    version: str = RESULTS_VERSION

    @property
    def ok(self) -> bool:
        return all(a.status == "ok" for a in self.attacks)

    def metrics(self) -> dict[str, Metric]:
        return {m.name: m for a in self.attacks for m in a.metrics}

    def metric(self, name: str) -> Metric:
        found = self.metrics()
        if name not in found:
            raise KeyError(f"no metric named {name!r}; known: {sorted(found)}")
        return found[name]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditResult:
        attacks = []
        for a in data["attacks"]:
            metrics = [
                Metric(**{**m, "estimate": Estimate(**m["estimate"])}) for m in a.get("metrics", [])
            ]
            attacks.append(AttackResult(**{**a, "metrics": metrics}))
        return cls(
            attacks=attacks,
            settings=data.get("settings", {}),
            version=str(data.get("version", RESULTS_VERSION)),
        )


# Stable metric names (what policies refer to). ``{col}`` is a secret column's name.
METRICS: dict[str, str] = {
    "exact_match.train_rate": "share of synthetic rows identical to some training row",
    "exact_match.holdout_rate": "share of synthetic rows identical to some holdout row (control)",
    "exact_match.excess": "share of training records copied - share of holdout records copied; null 0",
    "exact_match.near_copy_excess": "the same for records matched on all but max_differ columns; null 0",
    "dcr.excess": "share of synthetic rows nearest to a training record - n_T/(n_T+n_H); null 0",
    "dcr.share_closer_to_train": "P(d(s, train) < d(s, holdout)), full tables; null n_T/(n_T+n_H)",
    "dcr.nndr_ratio": "median NNDR to train / median NNDR to holdout; null 1",
    "dcr.tolerant_copy_excess": "share of training records copied with every number within 5% "
    "(tolerance-unique records) - the same for holdout records; null 0",
    "membership.distance.auc": "ROC AUC of the distance-to-synthetic membership score; null 0.5",
    "membership.distance.advantage": "max TPR - FPR on held-out thresholds; null 0",
    "membership.distance.tpr_at_fpr_1pct": "TPR at FPR 1%; null 0.01",
    "membership.distance.tpr_at_fpr_0.1pct": "TPR at FPR 0.1%; null 0.001",
    "membership.distance.epsilon_lower": "epsilon lower bound from (TPR, FPR); ci_low the bound",
    "membership.density.auc": "ROC AUC of the density-ratio membership score; null 0.5",
    "membership.density.advantage": "as above for the density-ratio score",
    "membership.density.tpr_at_fpr_1pct": "as above",
    "membership.density.tpr_at_fpr_0.1pct": "as above",
    "membership.density.epsilon_lower": "as above",
    "exact_match.partial_copy_excess": "largest share of training records reproduced on a "
    "public-rule subset of 2/3 of the columns, unique on it, beyond holdout; null 0",
    "exact_match.isolated_copy_excess": "share of training records reproduced on every column "
    "but the near-unique ones, isolated on them (no record within one value), beyond holdout; null 0",
    "attribute.{col}.risk": "(attack - control) / (1 - control) on the secret {col}; null 0",
    "attribute.{col}.excess": "attack - control on the secret {col} (not normalised); null 0",
    "attribute.max_risk": "the largest attribute.{col}.risk; interval [max lower, max upper]",
    "attribute.max_excess": "the largest attribute.{col}.excess; interval [max lower, max upper]",
    # --- attacker-knowledge attacks (attacks/knowledge.py, singling_out.py, linkability.py)
    "attribute.rare_class.max_excess": "largest excess among rare-class targets; null 0",
    "singling_out.max_excess": "largest share of training records singled out beyond holdout; null 0",
    "linkability.max_excess": "largest share of training records linked beyond holdout; null 0",
    "singling_out.{set}.excess": "singling-out excess on one knowledge set; null 0",
    "singling_out.plus_one.max_excess": "largest share of training records singled out on the "
    "declared quasi-identifiers plus one other column, beyond holdout; null 0 (supported = 0 "
    "without declared quasi-identifiers)",
    "linkability.{pair}.excess": "linkability excess on one column pair; null 0",
    # --- exact-match inference and subgroups (attacks/attribute_match.py, subgroup.py)
    "attribute_match.unique.max_excess": "largest share of unique training records whose "
    "secret the matching synthetic rows give away, beyond holdout; null 0",
    "attribute_match.class.max_excess": "largest per-class excess of the candidate-set "
    "guess; null 0",
    "subgroup.max_auc": "largest membership AUC within one subgroup (a categorical level); null 0.5",
}

# ``details`` keys the report knows how to plot (all lists of numbers, JSON-safe):
#   dcr:                 {"histogram": {"edges": [...], "train": [...], "holdout": [...]}}
#   membership.*:        {"roc": {"fpr": [...], "tpr": [...]}, "vulnerable": [{"row": i, "score": s}]}
#   attribute:           {"columns": {col: {"attack": a, "control": c, "baseline": b, "risk": r,
#                                          "excess": e}}}
# Row indices refer to positions in the training table; they are never record values.
