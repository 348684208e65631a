# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether an incident may be resolved: the runbook's "Confirm service restored", from the health check's rows."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.module_utils import restore_check as rc

DOCUMENTATION = r"""
name: restore_check
author: ClickView Platform Team
version_added: 0.3.0
short_description: Decide from the health check whether the service of an incident's area is restored
description:
  - The runbook's "4. RESOLVE - Confirm service restored". Takes the rows of the on-call health check
    (C(on_call_report.checks)) and keeps those of the affected O(area), by check-name prefix -
    V(api) (C(api.), C(ingress.), C(app.)), V(database) (C(postgres.), C(pgbouncer.), C(replication.)),
    V(cache) (C(redis.)), V(kubernetes) (C(kubernetes.)), V(monitoring) (C(prometheus.), C(alerts.firing)),
    V(all) (every one of these). Checks about the past (C(alerts.overnight)) or backups belong to no area.
  - The service is restored when at least one check of the area ran and none is C(FAIL); C(WARN) does not
    hold the resolution back.
  - Not restored, the resolution is allowed only with O(force) and a non-empty O(force_reason); the decision
    then keeps the reason and the failing checks, for the incident record.
  - O(force) without a reason fails the task, naming O(force_reason); an unknown area fails naming the known ones.
options:
  _input:
    description: The health check's rows, each C({check, target, status, figure}).
    type: list
    elements: dict
    required: true
  area:
    description: The affected area.
    type: str
    default: all
    choices: [all, api, cache, database, kubernetes, monitoring]
  force:
    description: Resolve even when the area is not confirmed restored.
    type: bool
    default: false
  force_reason:
    description: Why, when O(force) is used; kept in the record.
    type: str
    default: ''
  report:
    description: Where the health check's report is, kept with the decision.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Decide whether the incident may be resolved
  ansible.builtin.set_fact:
    restore: "{{ on_call_report.checks | clickview.runbook.restore_check(area='api') }}"
    # {area: api, restored: false, allowed: false, forced: false, checked: 3,
    #  failing: [{check: api.health, target: http://..., figure: HTTP 503}], summary: 'service not restored in area api: ...'}
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    area:
      description: The area checked.
      type: str
    restored:
      description: Whether a check of the area ran and none is C(FAIL).
      type: bool
    allowed:
      description: Whether the incident may be resolved (restored, or forced with a reason).
      type: bool
    forced:
      description: Whether it is resolved by force while not confirmed restored.
      type: bool
    force_reason:
      description: The reason, when forced; else null.
      type: str
    checked:
      description: How many checks of the area ran.
      type: int
    counts:
      description: C(OK), C(WARN) and C(FAIL) counts of the area's checks.
      type: dict
    failing:
      description: C({check, target, figure, value, unit}) of each check of the area that is C(FAIL) (C(value) and
        C(unit) null when the row has none).
      type: list
      elements: dict
    warnings:
      description: The names of the area's checks that are C(WARN).
      type: list
      elements: str
    report:
      description: The O(report) given, or null.
      type: str
    summary:
      description: The decision in one line.
      type: str
"""


def restore_check(checks, area=rc.ALL, force=False, force_reason="", report=""):
    """The decision (see DOCUMENTATION)."""
    if not isinstance(checks, list):
        raise AnsibleFilterError("restore_check: expects the health check's rows (a list), got %s" % type(checks).__name__)
    try:
        return rc.decide(checks, area=area, force=bool(force), force_reason=force_reason, report=report)
    except rc.RestoreCheckError as exc:
        raise AnsibleFilterError("restore_check: %s" % exc) from exc


class FilterModule:
    """Restore check filters."""

    def filters(self):
        return {"restore_check": restore_check}
