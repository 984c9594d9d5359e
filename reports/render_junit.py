"""JUnit XML: one test case per policy check (FAIL -> failure, INCONCLUSIVE/ERROR -> error,
NOT_APPLICABLE -> skipped, with why: the check did not run at this sample size), plus one error
case per attack that could not run, so a CI dashboard shows what did not run."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reports.fmt import interval, threshold
from reports.model import Report


def render_junit(report: Report) -> str:
    checks = report.checks
    not_run = [a for a in report.attacks if a.status != "ok"]
    failures = sum(c.status == "FAIL" for c in checks)
    errors = sum(c.status in ("INCONCLUSIVE", "ERROR") for c in checks) + len(not_run)
    skipped = sum(c.status == "NOT_APPLICABLE" for c in checks)
    suites = ET.Element("testsuites", name="privsynth")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"privsynth.policy.{report.provenance.policy.get('name', 'custom')}",
        tests=str(len(checks) + len(not_run)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        timestamp=report.provenance.created,
    )
    props = ET.SubElement(suite, "properties")
    for k, v in (("verdict", report.verdict), ("exit_code", str(report.exit_code))):
        ET.SubElement(props, "property", name=k, value=v)
    for c in checks:
        case = ET.SubElement(suite, "testcase", classname=f"privsynth.{c.kind}", name=c.id)
        text = (
            f"{c.metric}: estimate {c.estimate.value if c.estimate else '-'}, interval "
            f"{interval(c)}, {c.statistic} {threshold(c)}: {c.explanation}"
        )
        if c.status == "FAIL":
            ET.SubElement(
                case, "failure", message=c.explanation, type="RiskAboveThreshold"
            ).text = text
        elif c.status in ("INCONCLUSIVE", "ERROR"):
            ET.SubElement(case, "error", message=c.explanation, type=c.status).text = text
        elif c.status == "NOT_APPLICABLE":
            ET.SubElement(case, "skipped", message=f"not applicable: {c.explanation}")
        else:
            ET.SubElement(case, "system-out").text = text
    for a in not_run:
        case = ET.SubElement(suite, "testcase", classname="privsynth.attack", name=a.attack)
        ET.SubElement(case, "error", message=a.message or "could not run", type="AttackError")
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
