# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The severity of each runbook alert, from the collection's one table."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils import runbook_thresholds

DOCUMENTATION = r"""
name: runbook_alert_severities
author: ClickView Platform Team
version_added: 0.1.0
short_description: The severity of each runbook alert, by its title and by its rule name
description:
  - Returns a dictionary from alert name to severity (P1 to P4) for every alert of the runbook's
    "Alert Response", under the runbook's title (V(Database Connection Pool Exhausted)) and under
    the name of its Prometheus rule (V(DatabaseConnectionPoolExhausted)), as Alertmanager sends it.
  - The severities are those the shipped alert rules carry as their C(severity) label, so an
    incident declared from an alert gets the severity the alert was raised with.
  - The input adds (or overrides) names, for alerts outside the runbook's list.
options:
  _input:
    description: Extra names and their severities; an empty dictionary for none.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Severity of an alert received from Alertmanager
  ansible.builtin.debug:
    msg: "{{ ({'BackendDown': 'P1'} | clickview.runbook.runbook_alert_severities)['DatabaseConnectionPoolExhausted'] }}"   # P1
"""

RETURN = r"""
_value:
  description: Alert name to severity.
  type: dict
"""


def runbook_alert_severities(extra):
    """{alert name: severity}, the runbook's alerts then ``extra``."""
    return runbook_thresholds.alert_severities(extra)


class FilterModule:
    """Alert severity filters."""

    def filters(self):
        return {"runbook_alert_severities": runbook_alert_severities}
