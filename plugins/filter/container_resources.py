# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The requests and limits of a pod template's containers, one line each, and those without a memory limit."""

from __future__ import annotations

DOCUMENTATION = r"""
name: container_resources
author: ClickView Platform Team
version_added: 0.2.0
short_description: Requests and limits of each container of a pod template, and which have no memory limit
description:
  - >-
    One line per container, C(backend: limits memory 256Mi, cpu 500m; requests memory 128Mi, cpu 100m), C(none) for
    what is not set.
options:
  _input:
    description: The containers of a pod template (C(spec.template.spec.containers) of a Deployment).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Limits of the backend
  ansible.builtin.debug:
    msg: "{{ (deployment.spec.template.spec.containers | clickview.runbook.container_resources).lines | join('; ') }}"
"""

RETURN = r"""
_value:
  description: The lines and the containers without a memory limit.
  type: dict
  contains:
    lines:
      description: One line per container.
      type: list
      elements: str
    no_memory_limit:
      description: Names of the containers without a memory limit.
      type: list
      elements: str
"""


def container_resources(containers):
    """{'lines': [...], 'no_memory_limit': [...]} (see DOCUMENTATION)."""
    lines, unlimited = [], []
    for container in containers or []:
        resources = container.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        lines.append("%s: limits memory %s, cpu %s; requests memory %s, cpu %s" % (
            container.get("name"), limits.get("memory", "none"), limits.get("cpu", "none"),
            requests.get("memory", "none"), requests.get("cpu", "none")))
        if "memory" not in limits:
            unlimited.append(container.get("name"))
    return {"lines": lines, "no_memory_limit": unlimited}


class FilterModule:
    """Kubernetes usage filters."""

    def filters(self):
        return {"container_resources": container_resources}
