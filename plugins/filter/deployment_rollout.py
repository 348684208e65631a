# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a Deployment read with k8s_info has rolled out, and a line saying how far it got."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.k8s_rollout import read_state

DOCUMENTATION = r"""
name: deployment_rollout
author: ClickView Platform Team
version_added: 0.2.0
short_description: Whether a Deployment's rollout is complete, as C(kubectl rollout status) waits for it
description:
  - >-
    Complete when the controller has observed the Deployment's generation (C(status.observedGeneration) at least
    C(metadata.generation)) and C(updatedReplicas), C(replicas) and C(availableReplicas) all equal C(spec.replicas):
    every replica runs the new template and is available, and no old one is left.
  - A missing Deployment (no resources) is not complete.
  - A Deployment whose C(Progressing) condition says C(ProgressDeadlineExceeded) has failed; stop waiting on RV(_value.failed).
  - The rule is the one M(clickview.runbook.k8s_rollback) waits with, so both waits agree.
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
    description: Seconds waited, for the message of an incomplete rollout.
    type: raw
    default: ''
"""

EXAMPLES = r"""
- name: Wait for the rollout
  kubernetes.core.k8s_info:
    api_version: apps/v1
    kind: Deployment
    namespace: clickview
    name: clickview-backend
  register: poll
  until: >-
    (poll.resources | default([]) | clickview.runbook.deployment_rollout).complete
    or (poll.resources | default([]) | clickview.runbook.deployment_rollout).failed
  retries: 60
  delay: 2
"""

RETURN = r"""
_value:
  description: The state of the rollout.
  type: dict
  contains:
    complete:
      description: Whether the rollout is complete.
      type: bool
    failed:
      description: Whether the rollout has failed (its progress deadline was exceeded); waiting longer will not help.
      type: bool
    state:
      description: V(done), V(waiting) or V(failed).
      type: str
    detail:
      description: What the rollout waits for, as C(kubectl rollout status) says it, for example C(1 of 3 updated replicas are available).
      type: str
    message:
      description: >-
        C(deployment "backend" successfully rolled out: 3 of 3 updated, 3 available), or
        C(deployment "backend" still rolling out after 300 s: 1 of 3 updated, 2 available).
      type: str
"""


def deployment_rollout(resources, name="", timeout=""):
    """{'complete': bool, 'failed': bool, 'state': str, 'detail': str, 'message': str} (see DOCUMENTATION).

    The rule is k8s_rollout.rollout_state, the one the k8s_rollback module waits with."""
    if isinstance(resources, dict):
        resources = [resources]
    deployment = (resources or [{}])[0] or {}
    if deployment:
        state, detail = read_state("Deployment", deployment)
    else:
        state, detail = "waiting", "the Deployment does not exist"
    status = deployment.get("status") or {}
    spec = deployment.get("spec") or {}
    if state == "done":
        verdict = "successfully rolled out"
    elif state == "failed":
        verdict = "failed to roll out (%s)" % detail
    else:
        verdict = "still rolling out after %s s" % timeout
    message = 'deployment "%s" %s: %s of %s updated, %s available' % (
        name, verdict, status.get("updatedReplicas", 0), spec.get("replicas", 0), status.get("availableReplicas", 0))
    return {"complete": state == "done", "failed": state == "failed", "state": state, "detail": detail,
            "message": message}


class FilterModule:
    """Rollout filters."""

    def filters(self):
        return {"deployment_rollout": deployment_rollout}
