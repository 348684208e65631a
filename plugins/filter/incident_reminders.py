# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which open incidents are due an escalation reminder or an update reminder."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.module_utils import incident_record as ir

DOCUMENTATION = r"""
name: incident_reminders
author: ClickView Platform Team
version_added: 0.3.0
short_description: Decide which open incidents are due an escalation or an update reminder
description:
  - For each incident record (as M(clickview.runbook.incident) returns them), the runbook's two clocks of an
    open incident (Incident Response, "3. MITIGATE").
  - C(escalation) - "Escalate if blocked > 30 minutes" - when the incident is open for O(escalate_after_minutes)
    or more, and no escalation reminder was posted in the last O(escalate_after_minutes).
  - C(update_reminder) - "Communicate status every 15 minutes" - when its last update (the declaration when it was
    recorded, a status change, a progress note, a delivered initial, update or resolution message) is
    O(update_interval_minutes) old or more, and no update reminder was posted in the last
    O(update_interval_minutes).
  - A previous reminder is a timeline event whose C(details.message) is C(escalation) or C(reminder).
    Resolved incidents are never due. A limit of 0 switches that reminder off.
options:
  _input:
    description: The incident records.
    type: list
    elements: dict
    required: true
  now:
    description: The time to judge at, ISO 8601 (UTC). Defaults to now.
    type: str
  escalate_after_minutes:
    description: Age of an open incident after which escalation is due, and its repeat interval.
    type: int
    default: 30
  update_interval_minutes:
    description: Age of the last update after which an update reminder is due, and its repeat interval.
    type: int
    default: 15
"""

EXAMPLES = r"""
- name: Which open incidents need a reminder
  ansible.builtin.set_fact:
    due: "{{ listed.records | clickview.runbook.incident_reminders(escalate_after_minutes=30, update_interval_minutes=15) }}"
    # [{id: INC-1, escalation: true, update_reminder: false, reasons: ['open for 45m (escalate when blocked > 30m)'], ...}]
"""

RETURN = r"""
_value:
  description: One entry per record, in the input's order.
  type: list
  elements: dict
  contains:
    id:
      description: The incident id.
      type: str
    title:
      description: Its title.
      type: str
    severity:
      description: Its severity.
      type: str
    open:
      description: Whether it is not resolved.
      type: bool
    escalation:
      description: Whether an escalation reminder is due.
      type: bool
    update_reminder:
      description: Whether an update reminder is due.
      type: bool
    age_seconds:
      description: Seconds since the incident started (null when resolved).
      type: int
    since_update_seconds:
      description: Seconds since its last update (null when resolved).
      type: int
    age:
      description: C(age_seconds) in words (V(45m)).
      type: str
    since_update:
      description: C(since_update_seconds) in words (V(20m 5s)).
      type: str
    last_update_at:
      description: When it was last updated (null when resolved).
      type: str
    reasons:
      description: Why each reminder is due, in words.
      type: list
      elements: str
"""


def incident_reminders(records, now=None, escalate_after_minutes=30, update_interval_minutes=15):
    """The decision for each record (see DOCUMENTATION)."""
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list):
        raise AnsibleFilterError("incident_reminders: expects a list of incident records, got %s" % type(records).__name__)
    try:
        moment = ir.parse_ts(now, "now") if now else None
        escalate, update = int(escalate_after_minutes) * 60, int(update_interval_minutes) * 60
        return [ir.reminders(record, now=moment, escalate_after=escalate, update_every=update)
                for record in records if isinstance(record, dict)]
    except (ir.IncidentError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("incident_reminders: %s" % exc) from exc


class FilterModule:
    """Incident reminder filters."""

    def filters(self):
        return {"incident_reminders": incident_reminders}
