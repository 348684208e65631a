# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How far a Deployment's rollout got, as kubectl rollout status judges it, for the runbook's reports."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils import k8s_rollout

DOCUMENTATION = r"""
name: rollout_outcome
author: ClickView Platform Team
version_added: 0.2.0
short_description: The state of a Deployment's rollout - complete, deadline, progressing, timeout or missing
description:
  - Judges the Deployment read by M(kubernetes.core.k8s_info) with the same rule as the collection's rollback module
    (C(kubectl rollout status)) - C(complete) once the controller observed the Deployment's generation and every replica
    is updated and available with no old one left; C(deadline) once it reports C(ProgressDeadlineExceeded); else
    C(progressing).
  - A missing Deployment (no resources) is C(missing).
  - With O(final=true) (the last poll of a wait) a rollout still C(progressing) is C(timeout).
  - The message reads like C(kubectl rollout status) and, for a rollout that did not complete, says how many replicas are
    updated and available.
options:
  _input:
    description: The C(resources) list of M(kubernetes.core.k8s_info), or one Deployment.
    type: raw
    required: true
  name:
    description: The Deployment's name, for the message.
    type: str
    default: ''
  timeout:
    description: Seconds waited, for the message of a timed-out rollout.
    type: raw
    default: ''
  final:
    description: Whether this is the last poll (a rollout still in progress then timed out).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Wait for the rollout
  kubernetes.core.k8s_info:
    api_version: apps/v1
    kind: Deployment
    namespace: clickview
    name: clickview-backend
  register: poll
  until: (poll.resources | default([]) | clickview.runbook.rollout_outcome).state != 'progressing'
  retries: 60
  delay: 2

- name: Record how it ended
  ansible.builtin.set_fact:
    rollout: "{{ poll.resources | default([]) | clickview.runbook.rollout_outcome('clickview-backend', 120, final=true) }}"
"""

RETURN = r"""
_value:
  description: The state of the rollout.
  type: dict
  contains:
    name:
      description: The Deployment's name (O(name)).
      type: str
    state:
      description: C(complete), C(deadline), C(progressing), C(timeout) or C(missing).
      type: str
    message:
      description: >-
        C(deployment "backend" successfully rolled out), or
        C(deployment "backend" exceeded its progress deadline (1 of 3 updated, 2 available)).
      type: str
    replicas:
      description: The replicas wanted (C(spec.replicas)); 0 when missing.
      type: int
    ready:
      description: Ready replicas.
      type: int
    updated:
      description: Replicas running the new template.
      type: int
    available:
      description: Available replicas.
      type: int
    images:
      description: The images of the Deployment's containers.
      type: list
      elements: str
    conditions:
      description: The Deployment's status conditions.
      type: list
      elements: dict
    pods:
      description: Always empty here; see P(clickview.runbook.rollout_problems#filter).
      type: list
      elements: dict
    events:
      description: Always empty here; see P(clickview.runbook.rollout_problems#filter).
      type: list
      elements: dict
"""


def rollout_outcome(resources, name="", timeout="", final=False):
    """The rollout's state and figures (see DOCUMENTATION); k8s_rollout.rollout_outcome, which the
    k8s_rollout_status module's wait reports with."""
    return k8s_rollout.rollout_outcome(resources, name, timeout, final)


class FilterModule:
    """Rollout filters."""

    def filters(self):
        return {"rollout_outcome": rollout_outcome}
