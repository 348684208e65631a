# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A report of the collection as JUnit XML: one test case per check, for CI test reporters."""

from __future__ import annotations

import xml.etree.ElementTree as ET

DOCUMENTATION = r"""
name: junit_report
author: ClickView Platform Team
version_added: 0.3.0
short_description: A run's report as JUnit XML, one test case per check
description:
  - Takes a report of the collection (the health check's and the other procedures' C(report_result), an alert's
    findings report, a backups report, the on-call handoff) and returns a JUnit XML document with one test suite,
    the report's title, and one test case per check, so CI shows each check and not each Ansible task.
  - The checks are read from C(checks) or, in an alert report, C(findings); an alert's resolution steps (C(actions)
    with C(step) and C(status)) are cases too, named C(action.<step>), failing when the step C(failed). Each has C(check), C(status) and C(figure),
    and may have C(target), C(threshold), C(detail), C(evidence) and C(recommendation).
  - A C(FAIL) check is a C(failure) whose message is the figure and the threshold; a C(WARN) check is C(skipped) with
    a message starting C(WARN) (O(warn_as=skipped), the default) or a passing case with a C(status) property
    (O(warn_as=property)); an C(OK) check passes. Every case carries C(status), C(figure) and C(threshold) properties,
    C(value) and C(unit) ones too when the check has a C(value) (the figure's number), and its text (detail, evidence,
    recommendation) in C(system-out).
  - A report without checks but with a failure (a backup that could not run) is one failing case named after the
    report's kind.
options:
  _input:
    description: The report, a dict as written to the report's JSON file.
    type: dict
    required: true
  warn_as:
    description: How a C(WARN) check is written.
    type: str
    choices: [skipped, property]
    default: skipped
"""

EXAMPLES = r"""
- name: Write the report as JUnit next to its markdown
  ansible.builtin.copy:
    content: "{{ report_result | clickview.runbook.junit_report }}"
    dest: "{{ report_base }}.junit.xml"
    mode: "0640"
"""

RETURN = r"""
_value:
  description: The JUnit XML document, with its XML declaration.
  type: str
  sample: |
    <?xml version="1.0" encoding="utf-8"?>
    <testsuites name="Daily health check" tests="2" failures="1" skipped="0">
      <testsuite name="Daily health check" tests="2" failures="1" skipped="0" errors="0" timestamp="2026-12-06T20:58:27Z">
        <testcase classname="health-check.postgres" name="postgres.primary 127.0.0.1:15432">...</testcase>
        <testcase classname="health-check.redis" name="redis.ping 127.0.0.1:16379">
          <failure message="unreachable (threshold PONG)" type="FAIL">...</failure>
        </testcase>
      </testsuite>
    </testsuites>
"""

from ansible.errors import AnsibleFilterError

WARN_AS = ("skipped", "property")


def _text(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\n".join(_text(item) for item in value)
    return str(value)


def _checks(report):
    checks = report.get("checks")
    if checks is None:
        checks = report.get("findings")
    checks = [check for check in checks or [] if isinstance(check, dict)]
    failure = _text(report.get("failure")).strip()
    if failure and not any(check.get("status") == "FAIL" for check in checks):
        checks.append({"check": report.get("kind") or "run", "status": "FAIL", "figure": failure,
                       "threshold": "the procedure completes"})
    return checks


def _actions(report):
    """The run's actions (alert steps) as checks: a failed step fails, the others pass."""
    out = []
    for action in report.get("actions") or []:
        if not isinstance(action, dict) or "step" not in action:
            continue
        failed = _text(action.get("status")) == "failed"
        out.append({"check": "action." + _text(action.get("step")), "status": "FAIL" if failed else "OK",
                    "figure": _text(action.get("status")), "threshold": "done, would or skipped",
                    "detail": action.get("detail"), "evidence": action.get("evidence")})
    return out


def _message(check):
    figure, threshold = _text(check.get("figure")).strip(), _text(check.get("threshold")).strip()
    return "%s (threshold %s)" % (figure, threshold) if threshold else figure


def _case(suite, kind, check, warn_as):
    name = _text(check.get("check")) or "check"
    target = _text(check.get("target")).strip()
    status = _text(check.get("status")).upper() or "FAIL"
    case = ET.SubElement(suite, "testcase", classname="%s.%s" % (kind, name.split(".", 1)[0]),
                         name="%s %s" % (name, target) if target else name)
    props = ET.SubElement(case, "properties")
    for key in ("status", "figure", "threshold"):
        ET.SubElement(props, "property", name=key, value=_text(check.get(key)) if key != "status" else status)
    if check.get("value") is not None:
        for key in ("value", "unit"):
            ET.SubElement(props, "property", name=key, value=_text(check.get(key)))
    if status == "FAIL" or status not in ("OK", "WARN"):
        ET.SubElement(case, "failure", type=status, message=_message(check)).text = _text(check.get("detail"))
    elif status == "WARN" and warn_as == "skipped":
        ET.SubElement(case, "skipped", message="WARN: " + _message(check))
    out = [line for line in (_text(check.get("detail")), _text(check.get("evidence")),
                             _text(check.get("recommendation"))) if line.strip()]
    if out:
        ET.SubElement(case, "system-out").text = "\n".join(out)
    return status


def junit_report(report, warn_as="skipped"):
    """The report as a JUnit XML document (see DOCUMENTATION)."""
    if not isinstance(report, dict):
        raise AnsibleFilterError("junit_report: the input must be a report (a dict), got %s" % type(report).__name__)
    if warn_as not in WARN_AS:
        raise AnsibleFilterError("junit_report: warn_as must be one of %s, got %r" % (", ".join(WARN_AS), warn_as))
    title = _text(report.get("title") or report.get("alert")) or "clickview.runbook report"
    kind = _text(report.get("kind")) or "report"
    root = ET.Element("testsuites", name=title)
    suite = ET.SubElement(root, "testsuite", name=title, errors="0")
    if report.get("environment"):
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="environment",
                      value=_text(report.get("environment")))
    statuses = [_case(suite, kind, check, warn_as) for check in _checks(report) + _actions(report)]
    failures = sum(1 for status in statuses if status not in ("OK", "WARN"))
    skipped = sum(1 for status in statuses if status == "WARN") if warn_as == "skipped" else 0
    for element in (root, suite):
        element.set("tests", str(len(statuses)))
        element.set("failures", str(failures))
        element.set("skipped", str(skipped))
    stamp = report.get("finished") or report.get("started")
    if stamp:
        suite.set("timestamp", _text(stamp))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


class FilterModule:
    """JUnit output of the collection's reports."""

    def filters(self):
        return {"junit_report": junit_report}
