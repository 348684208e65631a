# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Statuspage API call that creates, updates or resolves an incident's public incident."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.module_utils import incident_notify

DOCUMENTATION = r"""
name: statuspage_request
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: The Statuspage API call (method, URL, body) for a status-page plan
description:
  - Turns the C(status_page) part of M(clickview.runbook.notify_plan#filter)'s plan into one call of the Statuspage API.
  - C(create) - C(POST <api_url>/pages/<page_id>/incidents) with the incident's name, status, public text, impact,
    the components' status from the severity (P1 C(major_outage), P2 C(partial_outage), P3 C(degraded_performance),
    or O(component_status)) and C(metadata.clickview.incident_id).
  - C(update) - C(PATCH .../incidents/<id>) with the new status, text and components' status.
  - C(resolve) - C(PATCH .../incidents/<id>) with status C(resolved) and every component C(operational).
  - An empty plan gives an empty dict. The API key is not part of it (the caller sends C(Authorization) itself).
options:
  _input:
    description: The plan's C(status_page) - C({action, status, incident}).
    type: dict
    required: true
  record:
    description: The incident record (id, title, severity).
    type: dict
    required: true
  text:
    description: The public text of the incident update.
    type: str
    required: true
  api_url:
    description: The API base URL, for example V(https://api.statuspage.io/v1).
    type: str
    required: true
  page_id:
    description: The page id.
    type: str
    required: true
  component_ids:
    description: The components the incident affects.
    type: list
    elements: str
    default: []
  component_status:
    description: The components' status by severity, overriding the defaults.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Build the status page call
  ansible.builtin.set_fact:
    call: >-
      {{ plan.status_page | clickview.runbook.statuspage_request(incident_record, 'We are investigating.',
           api_url='https://api.statuspage.io/v1', page_id='kctbh9vrtdwd', component_ids=['8kbf7d35c070']) }}
    # {'method': 'POST', 'url': 'https://api.statuspage.io/v1/pages/kctbh9vrtdwd/incidents',
    #  'body': {'incident': {'name': ..., 'status': 'investigating', 'components': {'8kbf7d35c070': 'partial_outage'}, ...}}}
"""

RETURN = r"""
_value:
  description: C({method, url, body}), or an empty dict when the plan makes no call.
  type: dict
"""


def statuspage_request(plan, record, text, api_url, page_id, component_ids=None, component_status=None):
    """incident_notify.statuspage_request, as a filter."""
    try:
        return incident_notify.statuspage_request(plan, record, text, api_url, page_id, component_ids=component_ids or [],
                                                  component_status_map=component_status or {})
    except incident_notify.NotifyError as exc:
        raise AnsibleFilterError("statuspage_request: %s" % exc)


class FilterModule:
    """Notification filters."""

    def filters(self):
        return {"statuspage_request": statuspage_request}
