"""Apply a policy to measured metrics: each check PASS / FAIL / INCONCLUSIVE / ERROR, then a verdict.

A check compares a statistic of the metric's estimate with its threshold:

* ``upper`` / ``lower`` (interval ends): PASS when that end is on the safe side of the threshold,
  FAIL when the whole interval is on the unsafe side, INCONCLUSIVE when the interval straddles it.
* ``value``: the point estimate alone decides PASS or FAIL.

Multiplicity (family-wise control of false FAILs), since 2026-12-01 one joint correction over
every sub-test of every privacy check (docs/report.md, "Multiplicity"). Let a = 1 - confidence
(so a/2 is the one-sided error a FAIL may carry for the whole gate). Check k has a weight w_k
(``weight`` in the policy, default 1) and gets the share r_k = w_k / sum of the weights of the
privacy checks still in play: a check whose metric is a maximum over a family of m_k sub-tests
(knowledge sets, subsets, secrets; each at one-sided tail t_j, summing to a/2, the attack's own
Bonferroni) is re-tested with each sub-test at tail t_j r_k, so the gate as a whole spends at most
sum_k r_k a/2 = a/2 however the checks and their sub-tests depend on each other (Bonferroni's
inequality). Two ways to apply it, per metric:

* exact: where the metric carries ``context["p_value"]`` (the exact conditional test of exact
  copies, near copies, partial copies and singling out; min_j p_j scaled by the family's own
  Bonferroni share, ``attacks.rates.gate_keys``), "no leak" is rejected when p_value <= r_k a/2;
* stretch: otherwise the risky-side half-width is stretched by z(1 - t r_k) / z(1 - t), with t the
  one-sided tail of the metric's sub-tests (``context["test_confidence"]``, else the metric's own
  confidence, which is the most conservative reading): exact for normal-based intervals, an
  approximation for exact and bootstrap ones. Before 2026-12-01 the stretch always started from the
  family level, stretching an already-adjusted interval again (z 4.53 for 20 subsets instead of
  Bonferroni's 3.77).

Holm's step-down over the checks: once some checks FAIL, the others are re-tested with the
FAILed checks' weights removed from the sum (weighted Holm, valid under any dependence: the
first false FAIL happens while every leak-free check is still in play, so its share is at most
its share among the leak-free checks). It can only add FAILs to a verdict that already FAILs,
so it changes which checks are listed, never the verdict. Between the adjusted and the plain
bound a check is INCONCLUSIVE. PASS needs no correction: the verdict PASSes only if every
check does (an intersection-union test), so a false PASS has probability at most a/2.

FAIL rule (``fail`` in the policy). ``interval`` (default): FAIL needs the adjusted interval to
lie wholly beyond the threshold ("the excess is demonstrably above the tolerance").
``significant``: FAIL when the adjusted test excludes the metric's no-leak value
(``Metric.null_value``, e.g. 0 for an excess, 0.5 for an AUC) on the risky side **and** the point
estimate is beyond the threshold ("a leak is demonstrated and its best estimate exceeds the
tolerance"). Both rules FAIL only where the adjusted test rejects "no leak", so the family-wise
false-FAIL rate on leak-free data is the same a/2 bound; ``significant`` trades the claim "above
the tolerance with 97.5% confidence" for power where the interval is wider than the tolerance
(0.3% verbatim copies on a 3,200-record holdout: docs/report.md, "Calibration"). PASS is the same
under both rules.

A check whose metric was not measured (its attack errored, or no utility target) is ERROR.

Not applicable (``applies = "if_supported"`` in the policy, privacy checks only). Some metrics
are defined only where the sample supports them: TPR at 0.1% FPR needs about 2,995 non-members
in each fitting half (the Neyman-Pearson threshold; attacks/membership.py), and reports
``context["supported"] = 0`` with the interval [0, 1] below that. A check on it that applies
``always`` is INCONCLUSIVE there (the interval straddles every threshold), so a preset carrying
it could never PASS on a small holdout. A check that applies ``if_supported`` is
NOT_APPLICABLE instead: it did not run at this size. (The same holds for a metric that needs
configuration the audit was not given, such as singling out on the declared quasi-identifiers
plus one column when none are declared: ``context["needs_declared_qi"] = 1``.) It is out of play
from the start: no share
of the gate's error (:func:`check_shares` divides the weights of the checks in play only, so
the others keep their full a/2 between them and the family-wise bound is unchanged), no say in
the verdict (a PASS of the others is a PASS of everything that ran; the report lists the
check and why), never a PASS itself. Only an explicit ``supported = 0`` makes a check not
applicable: a metric that is missing (its attack errored) is ERROR as before, and a metric
that does not report ``supported`` is always in play. The rule never sees the data beyond that
flag, which is a function of the holdout size alone (public in the report as "the holdout is
too small"; the size itself is not printed, docs/privacy.md).

Verdict: any FAIL -> FAIL (exit 1); else any ERROR/INCONCLUSIVE, or any attack that could not run
-> INCONCLUSIVE (exit 3); else PASS (exit 0). Never PASS when something did not run that the
policy needs (a NOT_APPLICABLE check is one the policy itself declares not needed at this size),
nor when no privacy check of the policy applies at all (INCONCLUSIVE: nothing was decided).
"""

from __future__ import annotations

import re

from scipy import stats as sps

from attacks.results import AuditResult, Metric
from privsynth.errors import VERDICT_EXIT_CODES
from reports.fmt import num as _fmt
from reports.model import CheckResult, UtilitySection
from reports.policy import Check, Policy
from reports.resolution import copy_resolution

EXIT_CODES = VERDICT_EXIT_CODES


def stretch_factor(share: float, test_confidence: float) -> float:
    """How much wider a one-sided bound built at ``test_confidence`` gets when its tail is cut to
    ``share`` of itself (Bonferroni): z(1 - t share) / z(1 - t), t = (1 - test_confidence) / 2."""
    if share >= 1.0:
        return 1.0
    t = (1.0 - test_confidence) / 2
    return float(sps.norm.ppf(1 - t * share) / sps.norm.ppf(1 - t))


def family_factor(family: int, confidence: float) -> float:
    """The stretch of a one-sided bound at ``confidence`` under Bonferroni over ``family`` equal
    checks (:func:`stretch_factor` with share 1 / family)."""
    return stretch_factor(1.0 / family, confidence) if family > 1 else 1.0


def check_shares(
    policy: Policy,
    failed: frozenset[str] = frozenset(),
    not_applicable: frozenset[str] = frozenset(),
) -> dict[str, float]:
    """Each privacy check's share r_k of the gate's error: its weight over the weights of the
    privacy checks in play, i.e. neither FAILed yet (Holm's step-down; none at the first step)
    nor ``not_applicable`` (out of play from the start; :func:`not_applicable_checks`)."""
    out = failed | not_applicable
    live = [c for c in policy.checks if c.kind == "privacy" and c.id not in out]
    total = sum(c.weight for c in live)
    return {c.id: c.weight / total for c in live}


def is_applicable(check: Check, metric: Metric | None) -> bool:
    """False only for a check with ``applies = "if_supported"`` whose metric was measured and
    reports ``context["supported"] = 0``; a missing metric stays in play (and is ERROR)."""
    if check.applies != "if_supported" or metric is None:
        return True
    return is_supported(metric)


def is_supported(metric: Metric) -> bool:
    """False where the metric reports ``context["supported"] = 0`` (a level the sample cannot
    support: its interval is [0, 1])."""
    supported = metric.context.get("supported")
    return supported is None or float(supported) != 0.0


def not_applicable_checks(policy: Policy, metrics: dict[str, Metric]) -> frozenset[str]:
    """The ids of the checks that do not apply at this sample size (:func:`is_applicable`)."""
    return frozenset(c.id for c in policy.checks if not is_applicable(c, metrics.get(c.metric)))


def not_applicable_result(check: Check, metric: Metric) -> CheckResult:
    """A NOT_APPLICABLE check: no statistic, no estimate, and why, in public terms only (the
    level's constant need, never the sample's exact size)."""
    return CheckResult(
        **_base(check),
        status="NOT_APPLICABLE",
        explanation=(
            f"did not run ({unsupported_why(metric)}); applies = 'if_supported', "
            "so it takes no part "
            "in the verdict and no share of the gate's error"
        ),
        description=metric.description,
    )


def unsupported_why(metric: Metric) -> str:
    """Why a metric reporting ``context["supported"] = 0`` was not measured, in public terms
    only (the level's constant need, never the sample's exact size)."""
    if metric.context.get("needs_declared_qi"):
        return "needs declared quasi-identifiers: a schema role or --quasi-identifiers"
    need = metric.context.get("nonmembers_needed")
    if need is not None:
        return f"needs about {int(need):,} non-members per fitting half; this holdout is too small"
    return "the metric is not supported at this sample size"


def _base(check: Check) -> dict[str, object]:
    return {
        "id": check.id,
        "metric": check.metric,
        "kind": check.kind,
        "comparison": check.comparison,
        "threshold": check.threshold,
        "statistic": check.statistic,
        "rationale": check.rationale,
        "source": check.source,
    }


def adjusted_bounds(metric: Metric, share: float) -> tuple[float, float]:
    """The metric's interval with its sub-tests' tails cut to ``share`` (the stretch rule)."""
    est = metric.estimate
    level = float(metric.context.get("test_confidence", est.confidence))
    f = stretch_factor(share, level)
    return est.value - (est.value - est.ci_low) * f, est.value + (est.ci_high - est.value) * f


# The range of a metric, from the last part of its name: rates, AUCs and shares lie in [0, 1],
# excesses and advantages (a difference of two rates) in [-1, 1], ratios and epsilons in
# [0, inf). A stretched bound beyond the range is shown at the range's end.
_RANGES: tuple[tuple[tuple[str, ...], tuple[float, float]], ...] = (
    (("excess", "advantage"), (-1.0, 1.0)),
    (("auc", "tpr", "fpr", "share", "risk", "rate", "accuracy"), (0.0, 1.0)),
    (("ratio", "epsilon"), (0.0, float("inf"))),
)


def metric_range(name: str) -> tuple[float, float]:
    """The values a metric can take, read from its name (``(-inf, inf)`` when not known)."""
    last = re.sub(r"_[0-9.]+pct$", "", name)  # tpr_at_fpr_0.1pct: the level's dot
    last = last.rsplit(".", 1)[-1]
    for words, bounds in _RANGES:
        if any(w in last for w in words):
            return bounds
    return (-float("inf"), float("inf"))


def shown_bounds(metric: Metric, share: float) -> tuple[float, float]:
    """:func:`adjusted_bounds` clipped to :func:`metric_range`, for the explanation only: a
    stretched bound can pass the end of the range (a TPR lower bound below 0), which states
    nothing and reads as an error. Decisions use the unclipped bounds; clipping could change
    none of them, as every threshold and no-leak value lies inside the range."""
    lo, hi = adjusted_bounds(metric, share)
    r_lo, r_hi = metric_range(metric.name)
    return min(max(lo, r_lo), r_hi), min(max(hi, r_lo), r_hi)


def evaluate_check(
    check: Check,
    metric: Metric | None,
    why_missing: str = "",
    family: int = 1,
    *,
    share: float | None = None,
) -> CheckResult:
    """One check's status. ``share``: the check's part of the gate's one-sided error (default
    1 / ``family``: equal weights over ``family`` privacy checks)."""
    base = _base(check)
    share = 1.0 / max(int(family), 1) if share is None else share
    if metric is None:
        return CheckResult(
            **base, status="ERROR", explanation=f"not measured: {why_missing or 'metric missing'}"
        )
    est = metric.estimate
    thr = check.threshold
    safe_max = check.comparison == "max"
    observed = pass_bound(check, metric)
    ok = observed <= thr if safe_max else observed >= thr
    sign = "<=" if safe_max else ">="
    bad = ">" if safe_max else "<"
    label = {"upper": "upper CI bound", "lower": "lower CI bound", "value": "estimate"}
    if observed < est.ci_high and check.statistic == "upper":
        label["upper"] = "largest sub-test upper CI bound (intersection-union)"
    if ok:
        status, text = "PASS", f"{label[check.statistic]} {_fmt(observed)} {sign} {_fmt(thr)}"
    elif check.statistic == "value":
        status, text = "FAIL", f"estimate {_fmt(observed)} {bad} {_fmt(thr)}"
    elif not is_supported(metric):  # its interval is [0, 1]: no stretched bounds to show
        status = "INCONCLUSIVE"
        more = "declare them to decide" if metric.context.get("needs_declared_qi") else None
        size = "" if more else " at this size"
        text = f"not measurable{size} ({unsupported_why(metric)}): {more or 'more data needed'}"
    else:
        status, text = _beyond_threshold(check, metric, share if check.kind == "privacy" else 1.0)
    note = _resolution(check, metric, status, share)
    text = f"{text}; {note}" if note else text
    return CheckResult(
        **base,
        status=status,
        explanation=text,
        observed=observed,
        estimate=est,
        description=metric.description,
    )


def _resolution(check: Check, metric: Metric, status: str, share: float) -> str | None:
    """What a copy check that did not FAIL can see at this size (reports/resolution.py): only
    for the copy excess under ``fail = "significant"``, at the check's level."""
    if status not in ("PASS", "INCONCLUSIVE") or check.kind != "privacy":
        return None
    if check.fail != "significant" or check.comparison != "max":
        return None
    level = share * (1.0 - metric.estimate.confidence) / 2
    return copy_resolution(metric, check.threshold, level)


def pass_bound(check: Check, metric: Metric) -> float:
    """The statistic a check compares with its threshold for PASS.

    The metric's interval end (or estimate), except for a privacy maximum whose attack reports
    ``context["pass_upper"]``: the largest of its sub-tests' own upper bounds, each at the
    metric's confidence with no Bonferroni. PASS claims "every sub-test's true value is at most
    the threshold" (the maximum is), the intersection of the sub-tests' claims, so it is an
    intersection-union test (Berger 1982, Technometrics 24): a false PASS needs the own bound of
    a sub-test whose true value exceeds the threshold to fall at or below it, which happens with
    probability at most a/2 whatever the family size and dependence. FAIL still needs the
    joint correction (:func:`_beyond_threshold`), so a check between the two is INCONCLUSIVE.
    """
    est = metric.estimate
    if check.statistic == "upper":
        own = metric.context.get("pass_upper")
        if own is not None and check.kind == "privacy" and check.comparison == "max":
            return min(float(own), est.ci_high)
        return est.ci_high
    return est.ci_low if check.statistic == "lower" else est.value


def _beyond_threshold(check: Check, metric: Metric, share: float) -> tuple[str, str]:
    """FAIL or INCONCLUSIVE for an interval statistic beyond its threshold, under the check's
    ``share`` of the gate's error (exact p-value where the metric has one, else the stretch)."""
    est, thr = metric.estimate, check.threshold
    bad = ">" if check.comparison == "max" else "<"
    lo_f, hi_f = adjusted_bounds(metric, share)
    interval = f"[{_fmt(est.ci_low)}, {_fmt(est.ci_high)}]"
    if share < 1.0:
        lo_s, hi_s = shown_bounds(metric, share)
        interval = (
            f"[{_fmt(lo_s)}, {_fmt(hi_s)}] (Bonferroni-Holm share {share:.3g} of the gate's error)"
        )
    p = metric.context.get("p_value") if check.fail == "significant" else None
    if p is None and (lo_f > thr if check.comparison == "max" else hi_f < thr):
        return "FAIL", f"whole interval {interval} {bad} {_fmt(thr)}"
    beyond = est.value > thr if check.comparison == "max" else est.value < thr
    if p is not None and beyond and metric.null_value is not None:
        level = share * (1.0 - est.confidence) / 2
        if p <= level and check.kind == "privacy":
            return "FAIL", (
                f"estimate {_fmt(est.value)} {bad} {_fmt(thr)} and the exact test of no leak "
                f"gives p = {p:.2g} <= {level:.2g} (its share of the gate's error): a leak is "
                "demonstrated"
            )
    elif p is None and _demonstrated(check, metric, lo_f, hi_f):
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


def evaluate_checks(
    policy: Policy, metrics: dict[str, Metric], why: dict[str, str]
) -> list[CheckResult]:
    """Every check's status under the joint correction with Holm's step-down: re-test the checks
    not FAILed with the FAILed checks' weights removed, until no new check FAILs. Checks that do
    not apply at this size (:func:`not_applicable_checks`) are NOT_APPLICABLE throughout."""
    skip = not_applicable_checks(policy, metrics)
    in_play = sum(c.kind == "privacy" and c.id not in skip for c in policy.checks)
    failed: frozenset[str] = frozenset()
    previous = {
        c.id: not_applicable_result(c, metrics[c.metric]) for c in policy.checks if c.id in skip
    }
    while True:
        shares = check_shares(policy, failed, skip)
        results = [
            evaluate_check(c, metrics.get(c.metric), why.get(c.id, ""), share=shares.get(c.id, 1.0))
            if c.id not in failed and c.id not in skip
            else previous[c.id]
            for c in policy.checks
        ]
        previous = {r.id: r for r in results}
        now = frozenset(r.id for r in results if r.status == "FAIL" and r.kind == "privacy")
        if now == failed or len(now) == in_play:
            return results
        failed = now


def evaluate(
    policy: Policy, audit: AuditResult, utility: UtilitySection | None = None
) -> tuple[list[CheckResult], str, int, str]:
    """(check results, verdict, exit code, one-line summary)."""
    metrics = audit.metrics()
    errored = {a.attack: a.message for a in audit.attacks if a.status != "ok"}
    if utility is not None:
        metrics.update({m.name: m for m in utility.metrics})
    why = {
        c.id: _why_missing(c, errored, utility) for c in policy.checks if c.metric not in metrics
    }
    results = evaluate_checks(policy, metrics, why)
    statuses = [r.status for r in results if r.status != "NOT_APPLICABLE"]
    skipped = [r.id for r in results if r.status == "NOT_APPLICABLE"]
    # a policy whose privacy checks all drop out decided nothing about privacy: never a PASS
    none_ran = bool(skipped) and not any(
        r.kind == "privacy" and r.status != "NOT_APPLICABLE" for r in results
    )
    if "FAIL" in statuses:
        verdict = "FAIL"
    elif "ERROR" in statuses or "INCONCLUSIVE" in statuses or errored or none_ran:
        verdict = "INCONCLUSIVE"
    else:
        verdict = "PASS"
    n_fail = statuses.count("FAIL")
    n_open = statuses.count("INCONCLUSIVE") + statuses.count("ERROR")
    parts = [f"{statuses.count('PASS')}/{len(statuses)} checks passed"]
    if n_fail:
        parts.append(f"failed: {', '.join(r.id for r in results if r.status == 'FAIL')}")
    if n_open:
        parts.append(
            "undecided: "
            + ", ".join(r.id for r in results if r.status in ("INCONCLUSIVE", "ERROR"))
        )
    if skipped:
        parts.append(f"not applicable to this audit: {', '.join(skipped)}")
    if none_ran:
        parts.append("no privacy check applies at this size")
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
