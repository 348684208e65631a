# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verdict of a canary analysis: report rows, promote / hold / rollback, and why."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status, worst_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.release_checks import (
    FIGURES, figure_values, row_value, shown, threshold_text)

DOCUMENTATION = r"""
name: canary_verdict
author: ClickView Platform Team
version_added: 0.2.0
short_description: Decide a canary from its samples - promote, hold or roll back
description:
  - Takes the canary's samples graded by P(clickview.runbook.release_sample#filter) (with C(no_data=FAIL)) and decides.
  - One report row per figure (C(canary.error_ratio), C(canary.latency_p95_seconds)) graded on the worst value of all
    samples; a sample without the figure makes the row C(FAIL) (the canary is not proven healthy), and so does a canary
    never sampled.
  - The canary passes when it became ready, at least one sample was taken and no sample is C(FAIL). A passing canary is
    promoted when O(auto_promote) is true, else held; any other canary is rolled back.
options:
  _input:
    description: The graded samples, oldest first.
    type: list
    elements: dict
    required: true
  thresholds:
    description: Figure to C({warn, fail}), as C(deployment_canary_thresholds).
    type: dict
    required: true
  target:
    description: The canary Deployment (C(deployment/<name>)), the target of the rows.
    type: str
    default: ''
  window:
    description: The rate window of the queries, for the threshold text.
    type: str
    default: ''
  ready:
    description: Whether the canary's rollout completed.
    type: bool
    default: true
  rollout_message:
    description: How the canary's rollout ended, for the reason when it never became ready.
    type: str
    default: ''
  analysis_seconds:
    description: How long the canary was to be watched, for the reason.
    type: raw
    default: ''
  auto_promote:
    description: Whether a passing canary is promoted (else it is held).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Decide
  ansible.builtin.set_fact:
    verdict: >-
      {{ samples | clickview.runbook.canary_verdict(thresholds, target='deployment/backend-canary', window='1m',
                                                    ready=rollout.state == 'complete', rollout_message=rollout.message,
                                                    analysis_seconds=300) }}
"""

RETURN = r"""
_value:
  description: The verdict.
  type: dict
  contains:
    rows:
      description: Report checks (C(check), C(target), C(status), C(figure), C(threshold), C(detail), C(value),
        C(unit)); the value of C(canary.error_ratio) is the worst error ratio as a percent number (unit C(%)), of
        C(canary.latency_p95_seconds) the worst P95 in seconds (unit C(s)), null when no sample has the figure.
      type: list
      elements: dict
    decision:
      description: C(promote), C(hold) or C(rollback).
      type: str
    reason:
      description: Why, for the report and the incident timeline.
      type: str
"""


def _figure_row(samples, key, limits, target, window):
    worst, missing, last = figure_values(samples, key)
    if samples:
        status = worst_status([health_status(worst, limits)] + (["FAIL"] if missing else []))
        figure = "worst of %d sample(s): %s%s, last: %s" % (
            len(samples), shown(worst), (", %d sample(s) without data" % missing) if missing else "", shown(last))
    else:
        status, figure = "FAIL", "not sampled (the canary never became ready)"
    value, unit = row_value(key, worst)
    return check_row("canary." + key, target, status, figure, threshold_text(limits, window), value=value, unit=unit)


def _reason(samples, ready, passed, rollout_message, analysis_seconds):
    if not ready:
        return "the canary never became ready: %s" % rollout_message
    if passed:
        return "every sample within the FAIL thresholds (%d sample(s) over %s s)" % (len(samples), analysis_seconds)
    if not samples:
        return "no sample was taken"
    last = samples[-1]
    return "sample %d crossed a FAIL threshold or had no data: error ratio %s, P95 latency %s s" % (
        len(samples), last.get("error_ratio"), last.get("latency_p95_seconds"))


def canary_verdict(samples, thresholds, target="", window="", ready=True, rollout_message="",
                   analysis_seconds="", auto_promote=True):
    """{'rows', 'decision', 'reason'} (see DOCUMENTATION)."""
    samples = samples or []
    thresholds = thresholds or {}
    passed = bool(ready) and bool(samples) and worst_status([sample.get("status") for sample in samples]) != "FAIL"
    decision = ("promote" if auto_promote else "hold") if passed else "rollback"
    return {"rows": [_figure_row(samples, key, thresholds.get(key) or {}, target, window) for key in FIGURES],
            "decision": decision, "reason": _reason(samples, ready, passed, rollout_message, analysis_seconds)}


class FilterModule:
    """Release analysis filters."""

    def filters(self):
        return {"canary_verdict": canary_verdict}
