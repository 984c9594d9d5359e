"""Small formatting helpers shared by the renderers."""

from __future__ import annotations

from reports.model import CheckResult

STATUS_MARK = {
    "PASS": "PASS",
    "FAIL": "FAIL",
    "INCONCLUSIVE": "INCONCLUSIVE",
    "ERROR": "ERROR",
    "NOT_APPLICABLE": "NOT APPLICABLE",
}
VERDICT_TEXT = {
    "PASS": "The evidence says the measured risks are below every threshold.",
    "FAIL": "At least one check shows a risk above its threshold. Do not release.",
    "INCONCLUSIVE": "Something could not be measured or decided. Do not release yet.",
}


def num(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "-"
    return f"{x + 0.0:.{digits}g}"  # + 0.0: a negative zero prints as 0


def interval(c: CheckResult) -> str:
    if c.estimate is None:
        return "-"
    return f"[{num(c.estimate.ci_low)}, {num(c.estimate.ci_high)}]"


def threshold(c: CheckResult) -> str:
    return f"{'<=' if c.comparison == 'max' else '>='} {num(c.threshold)}"
