# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The outcome of an alert response: overall grade, counts, recommended action, and whether a human must act."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.health_status import worst_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import (
    attention_text, grade_counts, outcome, recommended_action)

DOCUMENTATION = r"""
name: alert_outcome
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Decide the outcome of an alert response from its findings, steps and verification
description:
  - Takes the findings of the first investigation of P(clickview.runbook.alert_response#role), the resolution
    steps taken and, when the investigation ran again after them, its verification; returns what the report says.
  - C(overall) is the worst grade of the findings (P(clickview.runbook.worst_status#filter)); C(counts) counts them.
  - C(outcome) is C(needs_attention) when a step failed, or when a finding is left C(FAIL) (in the verification when
    there is one, else in the findings); C(remediated) when the verification is better than the findings
    (C(FAIL) to C(WARN) or C(OK), C(WARN) to C(OK)); C(ok) otherwise - nothing C(FAIL), or nothing changed.
  - C(recommended_action) is the recommendation of the first C(FAIL) finding, else of the first other finding not
    C(OK), else a sentence saying no action is needed.
  - C(attention) says why a human must act (the checks left C(FAIL), the steps that failed); empty when nothing is.
options:
  _input:
    description: The findings of the first investigation (each with C(check), C(status), C(recommendation)).
    type: list
    elements: dict
    required: true
  actions:
    description: The resolution steps (each with C(step) and C(status) - C(done), C(would), C(skipped) or C(failed)).
    type: list
    elements: dict
    default: []
  verification:
    description: The investigation run again after the steps (C(overall), C(findings)); null when it did not run.
    type: dict
"""

EXAMPLES = r"""
- name: Decide the outcome
  ansible.builtin.set_fact:
    decision: "{{ alert_response_findings | clickview.runbook.alert_outcome(alert_response_actions, alert_response_verification) }}"
    # {'overall': 'FAIL', 'counts': {'OK': 2, 'WARN': 0, 'FAIL': 1}, 'outcome': 'remediated',
    #  'recommended_action': 'End the long-running queries ...', 'attention': ''}
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    overall:
      description: C(OK), C(WARN) or C(FAIL), the worst grade of the findings (C(OK) for none).
      type: str
    counts:
      description: How many findings are C(OK), C(WARN) and C(FAIL) (every key present).
      type: dict
    outcome:
      description: C(ok), C(remediated) or C(needs_attention).
      type: str
    recommended_action:
      description: What to do first.
      type: str
    attention:
      description: >-
        Why a human must act, for instance C(2 finding(s) FAIL: postgres.connections, pgbouncer.pools) or
        C(1 finding(s) still FAIL after the resolution steps: tls.certificate_expiry; step(s) failed: VACUUM (ANALYZE));
        empty when nothing is left.
      type: str
"""


def alert_outcome(findings, actions=None, verification=None):
    """{overall, counts, outcome, recommended_action, attention} of an alert response."""
    findings = list(findings or [])
    failed_steps = [a.get("step") for a in actions or [] if a.get("status") == "failed"]
    overall = worst_status([f.get("status") for f in findings])
    return {
        "overall": overall,
        "counts": grade_counts(findings),
        "outcome": outcome(overall, failed_steps, (verification or {}).get("overall")),
        "recommended_action": recommended_action(findings),
        "attention": attention_text(findings, failed_steps, verification),
    }


class FilterModule:
    """Alert outcome filters."""

    def filters(self):
        return {"alert_outcome": alert_outcome}
