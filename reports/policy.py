"""Release policies: TOML files of checks, each a metric, a threshold and the statistic compared.

Format (``format = "privsynth-policy/1"``; every key below is the full set, anything else is an
error)::

    format = "privsynth-policy/1"
    name = "standard"
    description = "..."

    [report]
    min_count = 10          # plots suppress bins/categories with fewer records (k)

    [utility]
    target = "income"       # column for train-on-synthetic/test-on-real (optional)

    [[checks]]
    id = "membership-distance-auc"
    metric = "membership.distance.auc"
    max = 0.6               # or: min = ...  (exactly one)
    statistic = "upper"     # "upper" (default for max), "lower" (default for min) or "value";
                            # privacy checks must use the risky end (max: upper, min: lower)
    fail = "interval"       # when a check FAILs: "interval" (default: the Bonferroni interval
                            # lies wholly beyond the threshold) or "significant" (also when it
                            # excludes the metric's no-leak value and the estimate is beyond the
                            # threshold; reports/verdict.py). PASS is the same for both.
    weight = 1              # privacy checks: this check's share of the gate's error is its
                            # weight over the sum of the weights (default 1: equal shares;
                            # reports/verdict.py, docs/report.md "Multiplicity")
    applies = "always"      # privacy checks: "always" (default) or "if_supported": where the
                            # metric reports context supported = 0 (a level the sample cannot
                            # support, e.g. TPR at 0.1% FPR on a small holdout) the check is
                            # NOT_APPLICABLE: no share of the gate's error, no say in the
                            # verdict, listed with why. Utility checks: "always" only.
    rationale = "..."
    source = "..."

Presets ship in ``reports/presets/`` and are named by their stem (``standard``, ``strict``).
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from attacks.results import METRICS
from privsynth.errors import InputError
from reports.utility import UTILITY_METRICS

POLICY_FORMAT = "privsynth-policy/1"
PRESETS = ("standard", "strict")
STATISTICS = ("upper", "lower", "value")
FAIL_RULES = ("interval", "significant")
# when a check is in play: "always", or "if_supported" (not applicable where its metric reports
# context["supported"] = 0; reports/verdict.py)
APPLIES = ("always", "if_supported")
_TOP_KEYS = {"format", "name", "description", "report", "utility", "checks", "drift"}
_CHECK_KEYS = {
    "id",
    "metric",
    "max",
    "min",
    "statistic",
    "fail",
    "weight",
    "applies",
    "rationale",
    "source",
}
# a check's weight in the gate's joint correction: positive and finite, at most this many times
# another's (a larger ratio would leave the other checks almost no error to spend)
MAX_WEIGHT = 100.0
_REPORT_KEYS = {"min_count"}
_UTILITY_KEYS = {"target"}
_ATTRIBUTE = re.compile(r"^attribute\.(?P<col>.+)\.(risk|excess)$")


@dataclass(frozen=True)
class Check:
    id: str
    metric: str
    comparison: str  # "max" or "min"
    threshold: float
    statistic: str
    rationale: str = ""
    source: str = ""
    fail: str = "interval"  # FAIL_RULES
    weight: float = 1.0  # share of the gate's error: weight / sum of the privacy checks' weights
    applies: str = "always"  # APPLIES: "if_supported" -> NOT_APPLICABLE where supported = 0

    def __post_init__(self) -> None:
        if self.applies not in APPLIES:
            raise ValueError(f"check {self.id!r}: applies must be one of {APPLIES}")
        if self.applies != "always" and self.kind != "privacy":
            raise ValueError(f"check {self.id!r}: applies = {self.applies!r} is for privacy checks")
        if not (isinstance(self.weight, int | float) and 0 < self.weight <= MAX_WEIGHT):
            raise ValueError(f"check {self.id!r}: weight must be in (0, {MAX_WEIGHT:g}]")
        if self.comparison not in ("max", "min"):
            raise ValueError(f"check {self.id!r}: comparison must be 'max' or 'min'")
        if self.statistic not in STATISTICS:
            raise ValueError(f"check {self.id!r}: statistic must be one of {STATISTICS}")
        if self.fail not in FAIL_RULES:
            raise ValueError(f"check {self.id!r}: fail must be one of {FAIL_RULES}")

    @property
    def kind(self) -> str:
        return "utility" if self.metric.startswith("utility.") else "privacy"


@dataclass
class Policy:
    name: str
    checks: list[Check]
    description: str = ""
    min_count: int = 10
    target: str | None = None
    source: str = ""  # "preset:standard" or the file path
    sha256: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "sha256": self.sha256}


def known_metric(name: str) -> bool:
    """Whether ``name`` is a metric some attack or the utility section can report."""
    if name in METRICS or name in UTILITY_METRICS:
        return "{" not in name
    return bool(_ATTRIBUTE.match(name)) and name not in (
        "attribute.max_risk",
        "attribute.max_excess",
    )


def preset_path(name: str) -> Path:
    return Path(str(resources.files("reports") / "presets" / f"{name}.toml"))


def load_policy(spec: str | Path) -> Policy:
    """A preset name (``standard``, ``strict``) or a TOML file path; errors are InputError."""
    text_spec = str(spec)
    if text_spec in PRESETS:
        path, source = preset_path(text_spec), f"preset:{text_spec}"
    else:
        path, source = Path(text_spec), text_spec
        if not path.is_file():
            raise InputError(f"policy {text_spec!r}: no such file (presets: {', '.join(PRESETS)})")
    raw_bytes = path.read_bytes()
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"policy {source}: not valid TOML: {exc}") from exc
    policy = parse_policy(data, where=f"policy {source}")
    policy.source = source
    policy.sha256 = hashlib.sha256(raw_bytes).hexdigest()
    return policy


def parse_policy(data: dict[str, Any], *, where: str = "policy") -> Policy:
    _keys(data, _TOP_KEYS, where)
    if data.get("format", POLICY_FORMAT) != POLICY_FORMAT:
        raise InputError(f"{where}: format must be {POLICY_FORMAT!r}, got {data.get('format')!r}")
    report = _table(data, "report", where)
    _keys(report, _REPORT_KEYS, f"{where} [report]")
    utility = _table(data, "utility", where)
    _keys(utility, _UTILITY_KEYS, f"{where} [utility]")
    min_count = report.get("min_count", 10)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise InputError(f"{where}: [report] min_count must be a positive integer")
    target = utility.get("target")
    if target is not None and not isinstance(target, str):
        raise InputError(f"{where}: [utility] target must be a column name")
    raw_checks = data.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise InputError(f"{where}: needs at least one [[checks]] entry")
    checks = [_check(c, i, where) for i, c in enumerate(raw_checks)]
    ids = [c.id for c in checks]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError(f"{where}: duplicate check ids {dupes}")
    name = data.get("name", "custom")
    if not isinstance(name, str):
        raise InputError(f"{where}: name must be a string")
    return Policy(
        name=name,
        checks=checks,
        description=str(data.get("description", "")),
        min_count=min_count,
        target=target,
        raw=data,
    )


def _check(c: Any, i: int, where: str) -> Check:
    at = f"{where} check #{i + 1}"
    if not isinstance(c, dict):
        raise InputError(f"{at}: must be a table")
    _keys(c, _CHECK_KEYS, at)
    metric = c.get("metric")
    if not isinstance(metric, str) or not metric:
        raise InputError(f"{at}: needs a 'metric'")
    at = f"{where} check {c.get('id', metric)!r}"
    if not known_metric(metric):
        raise InputError(
            f"{at}: unknown metric {metric!r} (known: {', '.join(sorted(_listed()))}, "
            "and attribute.<column>.risk)"
        )
    bounds = [k for k in ("max", "min") if k in c]
    if len(bounds) != 1:
        raise InputError(f"{at}: give exactly one of 'max' or 'min'")
    comparison = bounds[0]
    threshold = c[comparison]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise InputError(f"{at}: {comparison} must be a number")
    if not math.isfinite(threshold):
        raise InputError(f"{at}: {comparison} must be finite")
    statistic = c.get("statistic", "upper" if comparison == "max" else "lower")
    if statistic not in STATISTICS:
        raise InputError(f"{at}: statistic must be one of {STATISTICS}, got {statistic!r}")
    _conservative(metric, comparison, statistic, at)
    fail = c.get("fail", "interval")
    if fail not in FAIL_RULES:
        raise InputError(f"{at}: fail must be one of {FAIL_RULES}, got {fail!r}")
    if fail == "significant" and statistic == "value":
        raise InputError(
            f"{at}: fail = 'significant' needs an interval statistic ('upper' or 'lower'), "
            "not 'value'"
        )
    for key in ("id", "rationale", "source"):
        if key in c and not isinstance(c[key], str):
            raise InputError(f"{at}: {key} must be a string")
    weight = c.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise InputError(f"{at}: weight must be a number")
    if not (math.isfinite(weight) and 0 < weight <= MAX_WEIGHT):
        raise InputError(
            f"{at}: weight must be positive and at most {MAX_WEIGHT:g}, got {weight!r} (it is "
            "the check's share of the gate's error, relative to the others)"
        )
    return Check(
        id=c.get("id", metric),
        applies=_applies(c, metric, at),
        metric=metric,
        comparison=comparison,
        threshold=float(threshold),
        statistic=statistic,
        rationale=c.get("rationale", ""),
        source=c.get("source", ""),
        fail=fail,
        weight=float(weight),
    )


def _applies(c: dict[str, Any], metric: str, at: str) -> str:
    """The ``applies`` key: one of APPLIES; anything but "always" on privacy checks only (a
    utility check that could drop out would let a release PASS without its utility floor)."""
    applies = c.get("applies", "always")
    if applies not in APPLIES:
        raise InputError(
            f"{at}: applies must be one of {', '.join(map(repr, APPLIES))}, got {applies!r}"
        )
    if applies != "always" and metric.startswith("utility."):
        raise InputError(
            f"{at}: applies = {applies!r} is for privacy checks only; a utility check always "
            "applies (remove the key)"
        )
    return applies


def conservative_statistic(comparison: str) -> str:
    """The interval end a privacy check must compare: the riskiest plausible value."""
    return "upper" if comparison == "max" else "lower"


def _conservative(metric: str, comparison: str, statistic: str, at: str) -> None:
    """Privacy checks must read the interval end on the risky side: a PASS then means the whole
    interval is on the safe side. ``max`` with ``lower`` (or ``value``) would PASS a leak whose
    interval reaches above the threshold; utility checks may use any statistic."""
    if metric.startswith("utility."):
        return
    need = conservative_statistic(comparison)
    if statistic != need:
        raise InputError(
            f"{at}: statistic {statistic!r} is anti-conservative for a privacy check with "
            f"{comparison!r}: a PASS must mean the whole interval is on the safe side; use "
            f"statistic = {need!r} (or leave it out)"
        )


def _listed() -> list[str]:
    return [m for m in (*METRICS, *UTILITY_METRICS) if "{" not in m]


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InputError(f"{where}: [{key}] must be a table")
    return value


def _keys(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown} (allowed: {sorted(allowed)})")


def check_policy_columns(policy: Policy, columns: list[str]) -> None:
    """Per-column checks (``attribute.<col>.risk``) and ``[utility] target`` name real columns.

    Called once the data is read, before any attack runs, so a typo is exit 2 up front rather
    than an INCONCLUSIVE check after the whole audit.
    """
    for c in policy.checks:
        m = _ATTRIBUTE.match(c.metric)
        if m and m.group("col") not in columns:
            raise InputError(
                f"policy {policy.source} check {c.id!r}: metric {c.metric!r} names column "
                f"{m.group('col')!r}, which is not in the data (columns: {', '.join(columns)})"
            )
    if policy.target is not None and policy.target not in columns:
        raise InputError(
            f"policy {policy.source}: [utility] target {policy.target!r} is not a column "
            f"(columns: {', '.join(columns)})"
        )
