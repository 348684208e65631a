# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The High Error Rate alert's "If external API: Check ClickUp/OpenAI status": the services' status pages, graded."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.dependency_findings import status_page_findings

DOCUMENTATION = r"""
name: status_page_findings
author: ClickView Platform Team
version_added: 0.3.0
short_description: Grade the status pages of the external services the backend calls
description:
  - Takes the registered result of the M(ansible.builtin.uri) loop over C(alert_response_external_status_pages) (each
    item C({name, url}), the task run with C(failed_when=false)) and returns one finding C(external.status_page) per
    page, in the order of the list, as C({check, target, status, figure, threshold, evidence, recommendation}).
  - >-
    Each page is an Atlassian Statuspage C(/api/v2/status.json) - C({"page": {...}, "status": {"indicator": ...,
    "description": ...}}). Its C(status.indicator) is graded - C(none) is C(OK), C(minor) is C(WARN), C(major) and
    C(critical) are C(FAIL). An indicator this filter does not know is C(WARN). The figure is the description and
    the indicator.
  - A page that cannot be read is C(WARN), never C(FAIL) - an unreachable third-party status page is no proof the
    service is down. The figure says why - no HTTP answer (connection refused, timed out, host name not found,
    certificate not trusted), a status other than 2xx, a body that is not JSON, an answer without C(status.indicator).
  - An empty list (the loop skipped, or no results at all) gives no finding.
options:
  _input:
    description: The registered result of the loop (its C(results) are read), or the list of its results.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: External services' status pages
  ansible.builtin.uri:
    url: "{{ item.url }}"
    timeout: "{{ alert_response_connect_timeout }}"
    return_content: true
  loop: "{{ alert_response_external_status_pages }}"
  loop_control:
    label: "{{ item.name }}"
  register: alert_response_status_pages
  check_mode: false
  failed_when: false

- name: Grade them
  ansible.builtin.set_fact:
    alert_response_new_findings: "{{ alert_response_status_pages | clickview.runbook.status_page_findings }}"
    # [{'check': 'external.status_page', 'target': 'OpenAI https://status.openai.com/api/v2/status.json',
    #   'status': 'FAIL', 'figure': 'Partial System Outage (indicator major)', ...}]
"""

RETURN = r"""
_value:
  description: One C(external.status_page) finding per page.
  type: list
  elements: dict
  contains:
    check:
      description: The check's name.
      type: str
      sample: external.status_page
    target:
      description: The service's name and the page's URL.
      type: str
      sample: ClickUp https://status.clickup.com/api/v2/status.json
    status:
      description: C(OK), C(WARN) or C(FAIL).
      type: str
    figure:
      description: The page's description and indicator, or why it could not be read.
      type: str
      sample: All Systems Operational (indicator none)
    threshold:
      description: The grades of the indicators.
      type: str
    evidence:
      description: The page's name, address and update time as it gave them, or the module's message.
      type: list
      elements: str
    recommendation:
      description: What to do about it.
      type: str
    value:
      description: Always null (a status page's indicator has no number).
      type: raw
    unit:
      description: Always null.
      type: str
"""


class FilterModule:
    """The status_page_findings filter."""

    def filters(self):
        return {"status_page_findings": status_page_findings}
