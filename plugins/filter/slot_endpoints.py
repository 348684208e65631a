# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a Service's endpoints are the pods of the Deployment it was switched to."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
name: slot_endpoints
author: ClickView Platform Team
version_added: 0.2.0
short_description: Whether a Service's ready endpoints are all pods of one Deployment
description:
  - Reads the ready addresses of an C(Endpoints) object and tells which pods are not of deployment O(deployment)
    (pods named C(<deployment>-<replicaset hash>-<suffix>)).
  - The switch is verified when at least O(replicas) addresses are ready and none is foreign.
options:
  _input:
    description: The C(resources) of M(kubernetes.core.k8s_info) for the Service's C(Endpoints), or the object itself.
    type: raw
    required: true
  deployment:
    description: The Deployment that should serve the Service.
    type: str
    required: true
  replicas:
    description: The ready endpoints wanted.
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Wait for the endpoints to be the new slot's pods
  kubernetes.core.k8s_info:
    api_version: v1
    kind: Endpoints
    name: backend
    namespace: clickview
  register: eps
  until: (eps.resources | default([]) | clickview.runbook.slot_endpoints('backend-green', 3)).ok
  retries: 20
  delay: 1
"""

RETURN = r"""
_value:
  description: The endpoints.
  type: dict
  contains:
    addresses:
      description: The pod names of the ready addresses.
      type: list
      elements: str
    foreign:
      description: The ones that are not pods of O(deployment).
      type: list
      elements: str
    ok:
      description: Whether at least O(replicas) are ready and none is foreign.
      type: bool
"""


def slot_endpoints(resources, deployment, replicas):
    """{'addresses', 'foreign', 'ok'} (see DOCUMENTATION)."""
    if isinstance(resources, dict):
        resources = [resources]
    endpoints = (resources or [{}])[0] or {}
    addresses = [(address.get("targetRef") or {}).get("name") for subset in endpoints.get("subsets") or []
                 for address in subset.get("addresses") or []]
    own = re.compile("^" + re.escape(deployment) + "-[a-z0-9]+-[a-z0-9]+$")
    foreign = [name for name in addresses if not own.match(str(name or ""))]
    return {"addresses": addresses, "foreign": foreign, "ok": len(addresses) >= int(replicas) and not foreign}


class FilterModule:
    """Blue-green filters."""

    def filters(self):
        return {"slot_endpoints": slot_endpoints}
