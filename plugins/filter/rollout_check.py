# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report check of a watched rollout."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: rollout_check
author: ClickView Platform Team
version_added: 0.2.0
short_description: The report check of a rollout watched to its end
description:
  - C(OK) when the rollout is C(complete), else C(FAIL) with the Deployment's conditions, the containers that are not
    ready and the last events as the check's detail.
  - The figure is the rollout's message and how long the watch took, then O(suffix).
options:
  _input:
    description: The rollout (P(clickview.runbook.rollout_outcome#filter), with C(seconds) and the problems of
      P(clickview.runbook.rollout_problems#filter)).
    type: dict
    required: true
  check:
    description: The check's name, such as C(deploy.rollout).
    type: str
    required: true
  target:
    description: The check's target, such as C(deployment/backend).
    type: str
    required: true
  threshold:
    description: What the check expects, in words.
    type: str
    required: true
  suffix:
    description: Text after the figure, such as C(, image reg/app:1.5.0).
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Record the rollout
  ansible.builtin.set_fact:
    checks: >-
      {{ checks + [rollout | clickview.runbook.rollout_check('deploy.rollout', 'deployment/backend',
                                                             'rollout complete within the progress deadline',
                                                             suffix=', image ' ~ image)] }}
"""

RETURN = r"""
_value:
  description: A report check - C(check), C(target), C(status), C(figure), C(threshold), C(detail), C(value) (the
    rollout's C(seconds), null when not given) and C(unit) (C(s)).
  type: dict
"""


def rollout_check(rollout, check, target, threshold, suffix=""):
    """The report check (see DOCUMENTATION)."""
    rollout = rollout or {}
    complete = rollout.get("state") == "complete"
    return check_row(check, target, "OK" if complete else "FAIL",
                     "%s in %s s%s" % (rollout.get("message", ""), rollout.get("seconds", "?"), suffix), threshold,
                     "" if complete else {"conditions": rollout.get("conditions") or [], "pods": rollout.get("pods") or [],
                                          "events": rollout.get("events") or []},
                     value=rollout.get("seconds"), unit="s")


class FilterModule:
    """Rollout filters."""

    def filters(self):
        return {"rollout_check": rollout_check}
