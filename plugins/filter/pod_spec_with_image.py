# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A pod spec with one container's image replaced (a canary track, a blue-green slot)."""

from __future__ import annotations

import copy

DOCUMENTATION = r"""
name: pod_spec_with_image
author: ClickView Platform Team
version_added: 0.2.0
short_description: A copy of a pod spec with one container's image replaced
description:
  - The container named O(container) gets O(image); every other container, and the rest of the spec, is kept as it is.
  - The input is not changed. A spec without that container is returned unchanged.
options:
  _input:
    description: The pod spec (C(spec.template.spec) of a Deployment).
    type: dict
    required: true
  container:
    description: The container's name.
    type: str
    required: true
  image:
    description: The new image.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The canary's pod spec
  ansible.builtin.set_fact:
    spec: "{{ deployment.spec.template.spec | clickview.runbook.pod_spec_with_image('app', 'registry.example.com/app:1.5.0') }}"
"""

RETURN = r"""
_value:
  description: The new pod spec.
  type: dict
"""


def pod_spec_with_image(spec, container, image):
    """A deep copy of spec with container's image set (see DOCUMENTATION)."""
    out = copy.deepcopy(spec or {})
    for item in out.get("containers") or []:
        if item.get("name") == container:
            item["image"] = image
    return out


class FilterModule:
    """Deployment filters."""

    def filters(self):
        return {"pod_spec_with_image": pod_spec_with_image}
