# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which stretch of the error ratio a Post-Incident Review draws."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils import pir
from ansible_collections.clickview.runbook.plugins.module_utils.incident_record import IncidentError

DOCUMENTATION = r"""
name: pir_chart_window
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The time range, step and markers of a Post-Incident Review's error-ratio chart
description:
  - From a review built by P(clickview.runbook.pir_document#filter), the range to ask Prometheus for (C(query_range))
    and the moments to mark on the chart.
  - The range starts O(margin_minutes) before the earliest milestone (the alert's C(startsAt), else the declaration)
    and ends as long after the resolution; for an open incident it ends now. It never ends in the future.
  - The step is the range over O(points) samples, at least O(min_step) seconds, so that the answer stays small.
  - The markers are the milestones the record holds (alert, acknowledged, root cause, mitigation, restored), each
    with C(at) and C(label), as P(clickview.runbook.series_chart#filter) takes them.
options:
  _input:
    description: The review (the output of P(clickview.runbook.pir_document#filter)).
    type: dict
    required: true
  margin_minutes:
    description: Minutes shown before the first milestone and after the resolution.
    type: int
    default: 15
  points:
    description: About how many samples the chart has.
    type: int
    default: 120
  min_step:
    description: The smallest step, in seconds.
    type: int
    default: 15
"""

EXAMPLES = r"""
- name: The error ratio around the incident
  vars:
    window: "{{ post_incident_review_doc | clickview.runbook.pir_chart_window }}"
  ansible.builtin.uri:
    url: "{{ prometheus_url }}/api/v1/query_range?query={{ query | urlencode }}&start={{ window.start }}&end={{ window.end }}&step={{ window.step }}"
  register: error_range
"""

RETURN = r"""
_value:
  description: The window.
  type: dict
  contains:
    start:
      description: Start, in epoch seconds.
      type: int
    end:
      description: End, in epoch seconds, never after now.
      type: int
    step:
      description: Seconds between samples.
      type: int
    markers:
      description: The milestones recorded, each C({at, label}).
      type: list
      elements: dict
"""


def pir_chart_window(doc, margin_minutes=15, points=120, min_step=15):
    """The window (see DOCUMENTATION)."""
    if not isinstance(doc, dict) or not doc.get("started_at"):
        raise AnsibleFilterError("pir_chart_window: the input must be a review from pir_document")
    try:
        return pir.chart_window(doc, int(margin_minutes), int(points), int(min_step))
    except (pir.PirError, IncidentError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("pir_chart_window: %s" % exc) from exc


class FilterModule:
    """PIR filters."""

    def filters(self):
        return {"pir_chart_window": pir_chart_window}
