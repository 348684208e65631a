# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The overall grade, the counts and the tidied rows of a run's report."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.health_status import worst_status

DOCUMENTATION = r"""
name: report_summary
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Overall grade, counts per grade and tidied rows of a report's checks
description:
  - Takes the checks a run graded (each with C(check) and C(status), optionally C(target), C(figure),
    C(threshold) and C(detail)) and returns what C(roles/report) writes.
  - Each row keeps its other keys; C(status), C(target), C(figure) and C(threshold) become trimmed strings
    (an absent one is empty), C(detail) defaults to an empty string, C(value) and C(unit) (the figure's number and
    its unit) default to null.
  - "The overall grade is the worst of the rows' grades (see P(clickview.runbook.worst_status#filter)):
    C(OK) for no checks, C(FAIL) for an unknown grade."
  - A check without C(status) is an error.
options:
  _input:
    description: The graded checks.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Sum up the checks
  ansible.builtin.set_fact:
    summary: >-
      {{ [{'check': 'connections', 'status': 'WARN ', 'figure': 82}] | clickview.runbook.report_summary }}
    # {'overall': 'WARN', 'counts': {'OK': 0, 'WARN': 1, 'FAIL': 0},
    #  'checks': [{'check': 'connections', 'status': 'WARN', 'target': '', 'figure': '82', 'threshold': '', 'detail': '',
    #              'value': None, 'unit': None}]}
"""

RETURN = r"""
_value:
  description: The summary.
  type: dict
  contains:
    overall:
      description: The worst grade, C(OK), C(WARN) or C(FAIL).
      type: str
    counts:
      description: How many rows are C(OK), C(WARN) and C(FAIL) (keys always present).
      type: dict
    checks:
      description: The rows, in the input's order, tidied.
      type: list
      elements: dict
      contains:
        value:
          description: The figure's number (int or float), null when it has none.
          type: raw
        unit:
          description: What C(value) counts (C(%), C(ms), C(s), C(hours), C(days), C(bytes), C(connections), C(keys),
            C(pods) or C(count)), null when there is no value.
          type: str
"""


def _text(value):
    return str(value).strip()


def report_summary(checks):
    """{overall, counts, checks} of a list of graded checks."""
    rows = []
    for check in checks or []:
        if "status" not in check:
            raise AnsibleFilterError("report_summary: the check %r has no status" % (check.get("check", check),))
        row = dict(check)
        row.update({"status": _text(check["status"]),
                    "target": _text(check.get("target", "")),
                    "figure": _text(check.get("figure", "")),
                    "threshold": _text(check.get("threshold", "")),
                    "detail": check.get("detail", ""),
                    "value": check.get("value"),
                    "unit": check.get("unit")})
        rows.append(row)
    statuses = [row["status"] for row in rows]
    return {"overall": worst_status(statuses),
            "counts": {grade: statuses.count(grade) for grade in ("OK", "WARN", "FAIL")},
            "checks": rows}


class FilterModule:
    """Report filters."""

    def filters(self):
        return {"report_summary": report_summary}
