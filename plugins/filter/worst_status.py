# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The worst of a list of grades, for the runbook's reports.

Its own file so that ansible-doc renders its own page; the function lives beside its sibling
in health_status.py.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: worst_status
author: ClickView Platform Team
version_added: 0.1.0
short_description: The worst of a list of OK/WARN/FAIL grades
description:
  - Returns C(FAIL) if any grade is C(FAIL), else C(WARN) if any is C(WARN), else C(OK).
  - An empty list is C(OK). An unknown grade counts as C(FAIL).
options:
  _input:
    description: The grades.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Overall result of a report
  ansible.builtin.debug:
    msg: "{{ ['OK', 'WARN', 'OK'] | clickview.runbook.worst_status }}"   # WARN
"""

RETURN = r"""
_value:
  description: One of C(OK), C(WARN), C(FAIL).
  type: str
"""

from ansible_collections.clickview.runbook.plugins.filter.health_status import worst_status


class FilterModule:
    """The worst_status filter."""

    def filters(self):
        return {"worst_status": worst_status}
