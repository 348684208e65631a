# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PagerDuty Events API v2 body of one event about an incident."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.module_utils import incident_notify

DOCUMENTATION = r"""
name: pagerduty_event
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: The PagerDuty Events API v2 body of a trigger, acknowledge or resolve of an incident
description:
  - The dedup key is the incident id, so every event about one incident is about one PagerDuty alert.
  - A C(trigger) carries the payload - summary C([P1] <title>), source, severity (P1 critical, P2 error, P3 warning,
    P4 info) and the incident's id, status, impact and alert as custom details. C(acknowledge) and C(resolve) carry
    only the routing key, the action and the dedup key.
  - The body holds the routing key, a secret; give it only to a task that does not print it
    (M(clickview.runbook.webhook_post) hides its body).
options:
  _input:
    description: The event action - V(trigger), V(acknowledge) or V(resolve).
    type: str
    required: true
  record:
    description: The incident record (id, title, severity, status, impact, alert).
    type: dict
    required: true
  routing_key:
    description: The integration's routing key.
    type: str
    required: true
  source:
    description: The payload's source.
    type: str
    default: clickview.runbook
"""

EXAMPLES = r"""
- name: Page
  clickview.runbook.webhook_post:
    url: https://events.pagerduty.com/v2/enqueue
    body: "{{ 'trigger' | clickview.runbook.pagerduty_event(incident_record, routing_key=vault_routing_key) }}"
    status_code: [202]
"""

RETURN = r"""
_value:
  description: The event, C({routing_key, event_action, dedup_key[, payload, client]}).
  type: dict
"""


def pagerduty_event(action, record, routing_key, source="clickview.runbook"):
    """incident_notify.pagerduty_event, as a filter."""
    try:
        return incident_notify.pagerduty_event(action, record, routing_key, source=source)
    except incident_notify.NotifyError as exc:
        raise AnsibleFilterError("pagerduty_event: %s" % exc)


class FilterModule:
    """Notification filters."""

    def filters(self):
        return {"pagerduty_event": pagerduty_event}
