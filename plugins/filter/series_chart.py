# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Prometheus range query's first series as points, a text sparkline and an SVG chart for a report."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.charts import series_chart as _chart

DOCUMENTATION = r"""
name: series_chart
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: Chart a Prometheus range query around an incident, as a sparkline and an SVG
description:
  - Takes the answer of C(/api/v1/query_range), that is the C(json) of a registered M(ansible.builtin.uri) result,
    and charts its first series - for example the error ratio from before an incident to after its rollback.
  - Samples that are no number (C(NaN), C(+Inf), C(-Inf)) are left out. An error answer or one without a series
    gives no points, an empty sparkline and an SVG that says C(no data).
  - The SVG is self-contained (no script, no external reference), so it can be inlined in an HTML report or an
    e-mail. Its y axis runs from 0 to the peak or O(threshold), whichever is higher, with gridlines labelled in
    the value times O(scale) and O(unit) (C(0.05) becomes C(5 %)); its x axis has 3 to 5 UTC C(HH:MM) labels.
    The threshold is a dashed line, and each marker is a vertical line with its label. Every text is XML-escaped.
  - The sparkline is the one of P(clickview.runbook.sparkline#filter), scaled up to O(threshold) when it is above
    the peak.
options:
  _input:
    description:
      - The answer of a range query, with C(status) V(success) and the series in C(data.result) (C(resultType) V(matrix)).
      - V(None), an empty dictionary or an error answer give no points.
    type: dict
    required: true
  title:
    description: The chart's title, shown above it.
    type: str
    required: true
  threshold:
    description: The value to draw as a dashed line, in the series' own unit (C(0.05) for 5 %).
    type: float
  markers:
    description:
      - Moments to mark on the chart, such as a rollout or a rollback, each a dictionary with C(at) and C(label).
      - C(at) is epoch seconds (a number or a numeric string) or an RFC 3339 timestamp such as
        C(2026-12-07T00:53:20Z); a timestamp without an offset is UTC.
      - Markers whose C(at) cannot be read, or that fall outside the series' first and last sample, are dropped.
    type: list
    elements: dict
  unit:
    description: The unit written after the axis and threshold labels; empty for none.
    type: str
    default: '%'
  scale:
    description: What the values are multiplied by for the labels; V(100) shows a ratio as a percentage.
    type: float
    default: 100.0
  width:
    description: The most characters of the sparkline.
    type: int
    default: 48
"""

EXAMPLES = r"""
- name: Read the error ratio from 30 minutes before the incident to now
  ansible.builtin.uri:
    url: "{{ prometheus_url }}/api/v1/query_range"
    body_format: form-urlencoded
    method: POST
    body:
      query: "{{ error_ratio_query }}"
      start: "{{ incident_started_epoch | int - 1800 }}"
      end: "{{ now(utc=true).timestamp() | int }}"
      step: 30s
  register: error_ratio_range

- name: Chart it, with the rollout and the rollback marked
  ansible.builtin.set_fact:
    error_ratio_chart: >-
      {{ error_ratio_range.json | clickview.runbook.series_chart('Error ratio, 5m',
           threshold=0.05,
           markers=[{'at': rollout_started_at, 'label': 'rollout rev 5'},
                    {'at': rollback_done_at, 'label': 'rollback to rev 4'}]) }}

- name: Show the sparkline and the peak
  ansible.builtin.debug:
    msg: "{{ error_ratio_chart.sparkline }} peak {{ (error_ratio_chart.peak * 100) | round(1) }} %"
  when: error_ratio_chart.peak is not none

- name: Keep the SVG with the report
  ansible.builtin.copy:
    content: "{{ error_ratio_chart.svg }}"
    dest: "{{ report_dir }}/error-ratio.svg"
    mode: "0640"
"""

RETURN = r"""
_value:
  description: The chart and the figures it shows.
  type: dict
  contains:
    points:
      description: The samples, C([epoch_seconds, value]) with both floats, oldest first.
      type: list
      elements: list
    markers:
      description: The markers within the series' time range, oldest first, each with C(at) in epoch seconds.
      type: list
      elements: dict
    sparkline:
      description: The values as a line of the blocks C(▁▂▃▄▅▆▇█); empty without points.
      type: str
    svg:
      description: The chart as a self-contained SVG document.
      type: str
    peak:
      description: The highest value, or V(None) without points.
      type: float
    last:
      description: The latest value, or V(None) without points.
      type: float
    start:
      description: The first sample's time in epoch seconds, or V(None) without points.
      type: float
    end:
      description: The last sample's time in epoch seconds, or V(None) without points.
      type: float
"""


def series_chart(response, title, threshold=None, markers=None, unit="%", scale=100.0, width=48):
    """{'points', 'markers', 'sparkline', 'svg', 'peak', 'last', 'start', 'end'} of a range query's answer."""
    try:
        return _chart(response, title, threshold=threshold, markers=markers, unit=unit, scale=scale, width=width)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("series_chart: %s" % exc) from exc


class FilterModule:
    """Chart filters."""

    def filters(self):
        return {"series_chart": series_chart}
