# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a Deployment read with k8s_info has rolled out, and a line saying how far it got."""

from __future__ import annotations

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
  until: (poll.resources | default([]) | clickview.runbook.deployment_rollout).complete
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
    message:
      description: >-
        C(deployment "backend" successfully rolled out: 3 of 3 updated, 3 available), or
        C(deployment "backend" still rolling out after 300 s: 1 of 3 updated, 2 available).
      type: str
"""


def deployment_rollout(resources, name="", timeout=""):
    """{'complete': bool, 'message': str} (see DOCUMENTATION)."""
    if isinstance(resources, dict):
        resources = [resources]
    deployment = (resources or [{}])[0] or {}
    status = deployment.get("status") or {}
    spec = deployment.get("spec") or {}
    want = spec.get("replicas", 1) if deployment else 0
    complete = bool(deployment) and (
        (status.get("observedGeneration") or 0) >= (deployment.get("metadata") or {}).get("generation", 1)
        and status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
        and status.get("availableReplicas", 0) == want)
    message = 'deployment "%s" %s: %s of %s updated, %s available' % (
        name, "successfully rolled out" if complete else "still rolling out after %s s" % timeout,
        status.get("updatedReplicas", 0), spec.get("replicas", 0), status.get("availableReplicas", 0))
    return {"complete": complete, "message": message}


class FilterModule:
    """Rollout filters."""

    def filters(self):
        return {"deployment_rollout": deployment_rollout}
