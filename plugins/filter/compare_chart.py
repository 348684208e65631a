# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several Prometheus range queries on one chart, such as a canary against its stable track."""
from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.charts import compare_chart as _compare

DOCUMENTATION = r"""
name: compare_chart
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: Chart several Prometheus range queries on one SVG, with a sparkline each on a common scale
description:
  - Takes a dictionary of series name to the answer of C(/api/v1/query_range) (the C(json) of a registered
    M(ansible.builtin.uri) result) and draws the first series of each answer on the same axes, in the order of
    the dictionary - for example a canary's error ratio against its stable track's during the canary analysis.
  - The lines are blue, orange and green in that order (at most three), with a legend naming each. A series
    without points (an error answer, no series, only C(NaN)) is named in the legend as C(no data) and not drawn;
    none with points gives an SVG that says C(no data).
  - Every sparkline is scaled to the same top (the highest value of all series, or O(threshold) when higher),
    so two sparklines side by side compare like the lines on the chart.
  - The axes, threshold line, markers and escaping are those of P(clickview.runbook.series_chart#filter).
options:
  _input:
    description:
      - The series to draw, a dictionary of name to the answer of a range query.
      - At least one and at most three.
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
      - Moments to mark on the chart, each a dictionary with C(at) (epoch seconds or an RFC 3339 timestamp) and
        C(label). Markers outside the time the series span are dropped.
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
    description: The most characters of each sparkline.
    type: int
    default: 48
"""

EXAMPLES = r"""
- name: Read the canary's and the stable track's error ratio over the analysis
  ansible.builtin.uri:
    url: "{{ prometheus_url }}/api/v1/query_range"
    method: POST
    body_format: form-urlencoded
    body:
      query: "{{ item.value }}"
      start: "{{ analysis_started_epoch }}"
      end: "{{ now(utc=true).timestamp() | int }}"
      step: 15s
  loop: "{{ {'canary': canary_error_ratio_query, 'stable': stable_error_ratio_query} | dict2items }}"
  register: error_ranges

- name: Chart canary against stable
  ansible.builtin.set_fact:
    canary_chart: >-
      {{ dict(error_ranges.results | map(attribute='item.key') | zip(error_ranges.results | map(attribute='json')))
         | clickview.runbook.compare_chart('Error ratio, canary against stable', threshold=0.05) }}

- name: Show both sparklines
  ansible.builtin.debug:
    msg:
      - "canary {{ canary_chart.series.canary.sparkline }}"
      - "stable {{ canary_chart.series.stable.sparkline }}"
"""

RETURN = r"""
_value:
  description: The chart and, per series, the figures it shows.
  type: dict
  contains:
    series:
      description:
        - Per series name, C(points) (C([epoch_seconds, value]), oldest first), C(sparkline) (on the common scale;
          empty without points), C(peak) and C(last) (V(None) without points).
      type: dict
    svg:
      description: The chart as a self-contained SVG document.
      type: str
    markers:
      description: The markers within the series' time span, oldest first, each with C(at) in epoch seconds.
      type: list
      elements: dict
    start:
      description: The earliest sample of any series in epoch seconds, or V(None) without points.
      type: float
    end:
      description: The latest sample of any series in epoch seconds, or V(None) without points.
      type: float
"""


def compare_chart(responses, title, threshold=None, markers=None, unit="%", scale=100.0, width=48):
    """{'series': {name: {'points', 'sparkline', 'peak', 'last'}}, 'svg', 'markers', 'start', 'end'}."""
    try:
        return _compare(responses, title, threshold=threshold, markers=markers, unit=unit, scale=scale, width=width)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("compare_chart: %s" % exc) from exc


class FilterModule:
    """Chart filters."""

    def filters(self):
        return {"compare_chart": compare_chart}
