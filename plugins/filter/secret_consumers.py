# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Deployments whose pods read a Secret: the ones to restart after the Secret changes."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.credential_rotation import RotationError
from ansible_collections.clickview.runbook.plugins.module_utils.credential_rotation import secret_consumers as _consumers

DOCUMENTATION = r"""
name: secret_consumers
author: ClickView Platform Team
version_added: 0.2.0
short_description: The Deployments whose pods read a Secret, and whether they read one of its keys
description:
  - Scans the pod templates of Deployments (the C(resources) of M(kubernetes.core.k8s_info)) for references to the
    Secret named O(secret) - C(env[].valueFrom.secretKeyRef), C(envFrom[].secretRef), C(secret) volumes and the
    secret sources of C(projected) volumes - in containers and init containers.
  - RV(_value[].reads_key) is true when a reference reads O(key) - a C(secretKeyRef) to that key, an C(envFrom) or a
    volume of the whole Secret, or a volume whose C(items) list it. Pods read environment variables at start, so
    those Deployments are the ones a changed Secret needs restarted.
  - A Secret can only be referenced from its own namespace, so give the Deployments of the Secret's namespace.
options:
  _input:
    description: Deployments (the C(resources) of M(kubernetes.core.k8s_info) with C(kind=Deployment)).
    type: list
    elements: dict
    required: true
  secret:
    description: The Secret's name.
    type: str
    required: true
  key:
    description: The key of the Secret that matters (for example V(password)).
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: The Deployments to restart after the database password changed
  ansible.builtin.set_fact:
    to_restart: >-
      {{ deployments.resources | clickview.runbook.secret_consumers('clickview-db-credentials', 'password')
         | selectattr('reads_key') | map(attribute='name') | list }}
"""

RETURN = r"""
_value:
  description: One entry per Deployment that refers to the Secret, by name.
  type: list
  elements: dict
  contains:
    name:
      description: The Deployment's name.
      type: str
    namespace:
      description: Its namespace.
      type: str
    references:
      description: Each reference, for example C(container backend env DATABASE_PASSWORD (key password)).
      type: list
      elements: str
    reads_key:
      description: Whether a reference reads O(key).
      type: bool
"""


def secret_consumers(deployments, secret, key=""):
    """[{name, namespace, references, reads_key}] (see DOCUMENTATION)."""
    if deployments is not None and not isinstance(deployments, list):
        raise AnsibleFilterError("secret_consumers: expected a list of Deployments, got %s" % type(deployments).__name__)
    try:
        return _consumers(deployments, secret, key)
    except RotationError as exc:
        raise AnsibleFilterError("secret_consumers: %s" % exc)


class FilterModule:
    """Secret consumers."""

    def filters(self):
        return {"secret_consumers": secret_consumers}
