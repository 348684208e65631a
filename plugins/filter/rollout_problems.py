# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a Deployment did not roll out: its containers that are not ready and its last warning events."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils import k8s_rollout

DOCUMENTATION = r"""
name: rollout_problems
author: ClickView Platform Team
version_added: 0.2.0
short_description: The containers that are not ready and the last events of a Deployment that did not roll out
description:
  - For each container of the pods that is not ready - its pod, name, image, the reason it waits (C(CrashLoopBackOff),
    C(ImagePullBackOff), ...; else the state it is in), its restarts and the exit code of its last termination (a
    restarted container).
  - The events of the Deployment itself, and the C(Warning) events of its ReplicaSets and pods (objects named
    C(<deployment>-...)), oldest first as listed, the last O(limit) of them.
options:
  _input:
    description: The pods of the Deployment (the C(resources) of M(kubernetes.core.k8s_info)).
    type: list
    elements: dict
    required: true
  events:
    description: The events of the namespace (the C(resources) of M(kubernetes.core.k8s_info) for C(Event)).
    type: list
    elements: dict
    default: []
  name:
    description: The Deployment's name.
    type: str
    default: ''
  limit:
    description: How many events to keep, the most recent.
    type: int
    default: 10
"""

EXAMPLES = r"""
- name: Record why it did not roll out
  ansible.builtin.set_fact:
    rollout: "{{ rollout | combine(pods.resources | clickview.runbook.rollout_problems(events.resources, 'clickview-backend')) }}"
"""

RETURN = r"""
_value:
  description: The problems.
  type: dict
  contains:
    pods:
      description: C({pod, container, image, reason, restarts, last_exit_code}) of each container that is not ready.
      type: list
      elements: dict
    events:
      description: C({object, type, reason, message, count}) of the last relevant events.
      type: list
      elements: dict
"""


def rollout_problems(pods, events=None, name="", limit=10):
    """{'pods': [...], 'events': [...]} (see DOCUMENTATION); k8s_rollout.rollout_problems, which the
    k8s_rollout_status module explains a failed rollout with."""
    return k8s_rollout.rollout_problems(pods, events, name, limit)


class FilterModule:
    """Rollout filters."""

    def filters(self):
        return {"rollout_problems": rollout_problems}
