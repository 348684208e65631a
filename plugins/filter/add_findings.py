# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An alert's findings with new ones appended, their grades and texts trimmed."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import tidy

DOCUMENTATION = r"""
name: add_findings
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Append graded findings to an alert's findings, trimmed
description:
  - Returns the findings of P(clickview.runbook.alert_response#role) so far with O(new) appended, in order.
  - Each new finding keeps its keys; C(status), C(figure), C(threshold) and C(recommendation) become trimmed
    strings, so a grade written over several YAML lines compares equal to C(OK), C(WARN) or C(FAIL).
  - The findings already there are returned unchanged.
  - A new finding without one of those four keys is an error naming the check.
options:
  _input:
    description: The findings so far.
    type: list
    elements: dict
    required: true
  new:
    description: The findings to append, each with C(check), C(target), C(status), C(figure), C(threshold),
      C(evidence) and C(recommendation).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Record the findings of this check
  ansible.builtin.set_fact:
    alert_response_findings: "{{ alert_response_findings | clickview.runbook.add_findings(new_findings) }}"
    # [{'check': 'postgres.connections', 'status': 'WARN', 'figure': '80 of 100 ...', ...}]
"""

RETURN = r"""
_value:
  description: The findings so far, then the new ones tidied.
  type: list
  elements: dict
"""


def add_findings(findings, new):
    """findings + the new findings with status, figure, threshold and recommendation trimmed."""
    try:
        return list(findings or []) + [tidy(finding) for finding in new or []]
    except ValueError as exc:
        raise AnsibleFilterError("add_findings: %s" % exc) from exc


class FilterModule:
    """Alert findings filters."""

    def filters(self):
        return {"add_findings": add_findings}
