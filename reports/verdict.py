"""Apply a policy to measured metrics: each check PASS / FAIL / INCONCLUSIVE / ERROR, then a verdict.

A check compares a statistic of the metric's estimate with its threshold:

* ``upper`` / ``lower`` (interval ends): PASS when that end is on the safe side of the threshold,
  FAIL when the whole interval is on the unsafe side, INCONCLUSIVE when the interval straddles it.
* ``value``: the point estimate alone decides PASS or FAIL.

Multiplicity (family-wise control of false FAILs): with m privacy checks in the policy, FAIL
needs the Bonferroni lower bound, the interval's risky-side half-width stretched by
z(1 - a/(2m)) / z(1 - a/2) (a = 1 - confidence; exact for the normal-based intervals, an
approximation for the exact and bootstrap ones), to clear the threshold; between that and the
plain bound the check is INCONCLUSIVE. PASS needs no correction: the verdict PASSes only if
every check does (an intersection-union test), so a false PASS has probability at most a/2.

FAIL rule (``fail`` in the policy). ``interval`` (default): FAIL needs that Bonferroni interval to
lie wholly beyond the threshold ("the excess is demonstrably above the tolerance").
``significant``: FAIL also when the Bonferroni interval excludes the metric's no-leak value
(``Metric.null_value``, e.g. 0 for an excess, 0.5 for an AUC) on the risky side **and** the point
estimate is beyond the threshold ("a leak is demonstrated and its best estimate exceeds the
tolerance"). Both rules FAIL only where the Bonferroni bound excludes the no-leak value, so the
family-wise false-FAIL rate on leak-free data is the same a/2 bound; ``significant`` trades the
claim "above the tolerance with 97.5% confidence" for power where the interval is wider than the
tolerance (0.3% verbatim copies on a 3,200-record holdout: docs/report.md, "Calibration"). PASS is
the same under both rules.

A check whose metric was not measured (its attack errored, or no utility target) is ERROR.
Verdict: any FAIL -> FAIL (exit 1); else any ERROR/INCONCLUSIVE, or any attack that could not run
-> INCONCLUSIVE (exit 3); else PASS (exit 0). Never PASS when something did not run.
"""

from __future__ import annotations

from scipy import stats as sps

from attacks.results import AuditResult, Metric
from privsynth.errors import VERDICT_EXIT_CODES
from reports.fmt import num as _fmt
from reports.model import CheckResult, UtilitySection
from reports.policy import Check, Policy

EXIT_CODES = VERDICT_EXIT_CODES


def family_factor(family: int, confidence: float) -> float:
    """How much wider a one-sided bound gets under Bonferroni over ``family`` checks."""
    if family <= 1:
        return 1.0
    a = 1 - confidence
    return float(sps.norm.ppf(1 - a / (2 * family)) / sps.norm.ppf(1 - a / 2))


def evaluate_check(
    check: Check, metric: Metric | None, why_missing: str = "", family: int = 1
) -> CheckResult:
    base = {
        "id": check.id,
        "metric": check.metric,
        "kind": check.kind,
        "comparison": check.comparison,
        "threshold": check.threshold,
        "statistic": check.statistic,
        "rationale": check.rationale,
        "source": check.source,
    }
    if metric is None:
        return CheckResult(
            **base, status="ERROR", explanation=f"not measured: {why_missing or 'metric missing'}"
        )
    est = metric.estimate
    lo, hi, thr = est.ci_low, est.ci_high, check.threshold
    safe_max = check.comparison == "max"
    observed = {"upper": hi, "lower": lo, "value": est.value}[check.statistic]
    ok = observed <= thr if safe_max else observed >= thr
    sign = "<=" if safe_max else ">="
    bad = ">" if safe_max else "<"
    interval = f"[{_fmt(lo)}, {_fmt(hi)}]"
    label = {"upper": "upper CI bound", "lower": "lower CI bound", "value": "estimate"}
    stat = label[check.statistic]
    if ok:
        status = "PASS"
        text = f"{stat} {_fmt(observed)} {sign} {_fmt(thr)}"
    elif check.statistic == "value":
        status = "FAIL"
        text = f"estimate {_fmt(observed)} {bad} {_fmt(thr)}"
    else:
        status, text = _beyond_threshold(check, metric, family, interval, bad)
    return CheckResult(
        **base,
        status=status,
        explanation=text,
        observed=observed,
        estimate=est,
        description=metric.description,
    )


def _beyond_threshold(
    check: Check, metric: Metric, family: int, interval: str, bad: str
) -> tuple[str, str]:
    """FAIL or INCONCLUSIVE for an interval statistic beyond its threshold (Bonferroni-widened
    over the privacy family: FAIL when the whole interval is beyond, or a leak is demonstrated)."""
    est, thr = metric.estimate, check.threshold
    f = family_factor(family, est.confidence) if check.kind == "privacy" else 1.0
    lo_f = est.value - (est.value - est.ci_low) * f
    hi_f = est.value + (est.ci_high - est.value) * f
    whole_bad = lo_f > thr if check.comparison == "max" else hi_f < thr
    if f > 1.0:
        interval = f"[{_fmt(lo_f)}, {_fmt(hi_f)}] (Bonferroni over {family} checks)"
    if whole_bad:
        return "FAIL", f"whole interval {interval} {bad} {_fmt(thr)}"
    if _demonstrated(check, metric, lo_f, hi_f):
        return "FAIL", (
            f"estimate {_fmt(est.value)} {bad} {_fmt(thr)} and interval {interval} excludes "
            f"the no-leak value {_fmt(metric.null_value)}: a leak is demonstrated"
        )
    return "INCONCLUSIVE", f"interval {interval} straddles {_fmt(thr)}: more data needed to decide"


def _demonstrated(check: Check, metric: Metric, lo_f: float, hi_f: float) -> bool:
    """``fail = "significant"``: the adjusted interval excludes the no-leak value on the risky
    side and the estimate is beyond the threshold."""
    if check.fail != "significant" or metric.null_value is None or check.kind != "privacy":
        return False
    null, value, thr = metric.null_value, metric.estimate.value, check.threshold
    if check.comparison == "max":
        return lo_f > null and value > thr
    return hi_f < null and value < thr


def evaluate(
    policy: Policy, audit: AuditResult, utility: UtilitySection | None = None
) -> tuple[list[CheckResult], str, int, str]:
    """(check results, verdict, exit code, one-line summary)."""
    metrics = audit.metrics()
    errored = {a.attack: a.message for a in audit.attacks if a.status != "ok"}
    if utility is not None:
        metrics.update({m.name: m for m in utility.metrics})
    results = []
    family = sum(1 for c in policy.checks if c.kind == "privacy")
    for check in policy.checks:
        metric = metrics.get(check.metric)
        why = ""
        if metric is None:
            why = _why_missing(check, errored, utility)
        results.append(evaluate_check(check, metric, why, family))
    statuses = [r.status for r in results]
    if "FAIL" in statuses:
        verdict = "FAIL"
    elif "ERROR" in statuses or "INCONCLUSIVE" in statuses or errored:
        verdict = "INCONCLUSIVE"
    else:
        verdict = "PASS"
    n_fail = statuses.count("FAIL")
    n_open = statuses.count("INCONCLUSIVE") + statuses.count("ERROR")
    parts = [f"{statuses.count('PASS')}/{len(results)} checks passed"]
    if n_fail:
        parts.append(f"failed: {', '.join(r.id for r in results if r.status == 'FAIL')}")
    if n_open:
        parts.append(
            "undecided: "
            + ", ".join(r.id for r in results if r.status in ("INCONCLUSIVE", "ERROR"))
        )
    if errored:
        parts.append(f"attacks that could not run: {', '.join(sorted(errored))}")
    return results, verdict, EXIT_CODES[verdict], "; ".join(parts)


def _why_missing(check: Check, errored: dict[str, str], utility: UtilitySection | None) -> str:
    if check.kind == "utility":
        if utility is None:
            return "the utility section was not computed"
        return "; ".join(utility.notes) or "utility metric not computed"
    for attack, message in errored.items():
        if check.metric.startswith(attack + ".") or check.metric.split(".")[0] == attack:
            return f"attack {attack!r} could not run: {message}"
    return "no attack reported this metric (is the column a secret of the audit?)"
