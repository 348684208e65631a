# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scale procedure's refusal and graded result."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils import scale_deployment as sd

DOCUMENTATION = r"""
name: scale_deployment
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: Decide whether a Deployment may be scaled, and grade the scale
description:
  - C(refusal) - the input is the namespace's Deployments (the C(resources) of M(kubernetes.core.k8s_info)). Returns why
    scaling O(name) to O(replicas) is refused, naming the variable to change, or an empty string when it may go ahead.
    Refused are an unknown Deployment, 0 replicas unless O(allow_zero), a number outside O(bounds), and, with
    O(respect_hpa), a number outside the range of an HPA that manages the Deployment (it would undo the scale).
  - C(result) - the input is the Deployment read after the scale. Returns the row C(scale.replicas_ready), OK when the
    Deployment wants and has O(replicas) ready (the ready replicas as the value), FAIL otherwise with the scale's error
    from O(scaled); in check mode, OK saying what would scale.
options:
  _input:
    description: The Deployments (C(refusal)) or the Deployment after the scale (C(result)).
    type: raw
    required: true
  step:
    description: Which decision.
    type: str
    required: true
    choices: [refusal, result]
  name:
    description: The Deployment to scale.
    type: str
    required: true
  replicas:
    description: The replicas asked for.
    type: int
    required: true
  bounds:
    description: The allowed replicas of O(name), a dictionary with C(min) and C(max).
    type: dict
    required: true
  namespace:
    description: The namespace, for the message (C(refusal)).
    type: str
    default: ''
  hpas:
    description: The namespace's HorizontalPodAutoscalers (C(refusal)).
    type: list
    elements: dict
    default: []
  allow_zero:
    description: Whether 0 replicas may be asked for (C(refusal)).
    type: bool
    default: false
  respect_hpa:
    description: Whether a number outside a managing HPA's range is refused (C(refusal)).
    type: bool
    default: true
  before:
    description: The replicas before the scale (C(result)).
    type: int
    default: 0
  wait_timeout:
    description: The seconds the scale waited for ready replicas (C(result), for the threshold).
    type: raw
    default: 300
  scaled:
    description: The registered M(kubernetes.core.k8s_scale) result (C(result)).
    type: dict
  check_mode:
    description: Whether the run is in check mode (C(result)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Refuse bad input before anything changes
  ansible.builtin.assert:
    that: refusal | length == 0
    fail_msg: "{{ refusal }}. Nothing was changed."
  vars:
    refusal: >-
      {{ deployments.resources | clickview.runbook.scale_deployment('refusal', name='clickview-frontend', replicas=4,
           bounds={'min': 1, 'max': 10}, namespace='clickview', hpas=hpas.resources) }}
"""

RETURN = r"""
_value:
  description:
    - C(refusal) - why the scale is refused, or an empty string.
    - C(result) - the row (check, target, status, figure, threshold, detail, value, unit).
  type: raw
"""


def scale_deployment(data, step, name, replicas, bounds, namespace="", hpas=None, allow_zero=False, respect_hpa=True,
                     before=0, wait_timeout=300, scaled=None, check_mode=False):
    """The refusal or the result row (see DOCUMENTATION)."""
    if not isinstance(bounds, dict):
        raise AnsibleFilterError("scale_deployment: bounds must be a dictionary with min and max, got %r" % (bounds,))
    if step == "refusal":
        return sd.refusal(data or [], hpas or [], name, replicas, bounds, namespace, bool(allow_zero), bool(respect_hpa))
    if step == "result":
        return sd.result_row(data or {}, name, replicas, before, bounds, wait_timeout, scaled, bool(check_mode))
    raise AnsibleFilterError("scale_deployment: step must be refusal or result, got %r" % (step,))


class FilterModule:
    """Scaling filters."""

    def filters(self):
        return {"scale_deployment": scale_deployment}
