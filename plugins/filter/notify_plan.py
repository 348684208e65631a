# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one step of an incident sends to chat, PagerDuty and the status page, decided from its record."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.module_utils import incident_notify

DOCUMENTATION = r"""
name: notify_plan
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: Which messages one step of an incident sends - chat, PagerDuty event action, Statuspage call
description:
  - Reads the incident record (after the step ran) and its timeline's notification events, and decides what the step
    sends. One incident, one page - the dedup key is the incident id, and a trigger is sent only while no trigger was
    delivered, so declaring twice or re-running never pages twice, while a page that was not delivered is sent again by
    the next declare or update run.
  - V(declare) and V(update) post to chat when the record changed, trigger PagerDuty for a severity in O(page_severities)
    not paged yet, create the Statuspage incident once for a severity in O(status_page_severities) (again when a create
    was not delivered) and update it when its status or the severity changes after that.
  - V(acknowledge) sends C(acknowledge) once after a delivered trigger (the runbook's "Acknowledge in PagerDuty").
  - V(resolve) posts to chat when newly resolved, sends C(resolve) once after any trigger and resolves the Statuspage
    incident once.
  - V(escalation) posts the reminder to chat only.
options:
  _input:
    description: The incident record (severity, status, timeline) as M(clickview.runbook.incident) returns it.
    type: dict
    required: true
  step:
    description: V(declare), V(update), V(acknowledge), V(resolve) or V(escalation).
    type: str
    required: true
  changed:
    description: Whether the step changed the record (a message to post).
    type: bool
    default: true
  page_severities:
    description: Severities that page.
    type: list
    elements: str
    default: []
  status_page_severities:
    description: Severities that open a Statuspage incident.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Decide what the update sends
  ansible.builtin.set_fact:
    plan: >-
      {{ incident_response_record | clickview.runbook.notify_plan('update', changed=true,
           page_severities=['P1', 'P2'], status_page_severities=['P1', 'P2']) }}
    # {'chat': true, 'pager_action': '', 'reason': 'already paged',
    #  'status_page': {'action': 'update', 'status': 'identified', 'incident': 'p31zjtct2jer'}, 'pager': {...}}
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    chat:
      description: Post the step's message to chat.
      type: bool
    pager_action:
      description: The PagerDuty event action to send - C(trigger), C(acknowledge), C(resolve) - or empty.
      type: str
    reason:
      description: Why nothing goes to PagerDuty, when nothing does.
      type: str
    status_page:
      description: "C(action) (C(create), C(update), C(resolve) or empty), C(status) and C(incident), the Statuspage
        incident id recorded."
      type: dict
    pager:
      description: What the timeline says PagerDuty was told - C(attempted), C(triggered), C(acknowledged), C(resolved).
      type: dict
"""


def notify_plan(record, step, changed=True, page_severities=None, status_page_severities=None):
    """incident_notify.notify_plan, as a filter."""
    try:
        return incident_notify.notify_plan(record, step, changed=changed, page_severities=page_severities or [],
                                           status_page_severities=status_page_severities or [])
    except incident_notify.NotifyError as exc:
        raise AnsibleFilterError("notify_plan: %s" % exc)


class FilterModule:
    """Notification filters."""

    def filters(self):
        return {"notify_plan": notify_plan}
