# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus rule name of a runbook alert, from the collection's one table."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.module_utils import runbook_thresholds

DOCUMENTATION = r"""
name: runbook_alert_rule
author: ClickView Platform Team
version_added: 0.1.0
short_description: The alert rule name of a runbook alert
description:
  - Returns the name of the shipped Prometheus rule (its C(alertname) label) of one of the runbook's alerts, given its
    title as the runbook writes it (V(High Error Rate) gives V(HighErrorRate)) or the rule name itself.
  - An unknown alert fails the task, naming the known ones.
options:
  _input:
    description: The alert's title or rule name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The alertname Alertmanager knows the alert by
  ansible.builtin.debug:
    msg: "{{ 'Disk Space Low' | clickview.runbook.runbook_alert_rule }}"   # DiskSpaceLow
"""

RETURN = r"""
_value:
  description: The rule's name.
  type: str
"""


def runbook_alert_rule(title):
    """The rule name of the alert."""
    try:
        return runbook_thresholds.alert_rule(title)
    except runbook_thresholds.UnknownMeasure as exc:
        raise AnsibleFilterError("runbook_alert_rule: %s" % exc.args[0])


class FilterModule:
    """Alert rule filters."""

    def filters(self):
        return {"runbook_alert_rule": runbook_alert_rule}
