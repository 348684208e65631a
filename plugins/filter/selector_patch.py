# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The merge patch that turns one Service selector into another (a blue-green switch)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: selector_patch
author: ClickView Platform Team
version_added: 0.2.0
short_description: The merge patch of a Service selector from one value to another
description:
  - A merge patch only adds or changes keys; a key of the old selector missing from the new one must be sent as
    V(None) to be removed. Switching back from C({app, slot}) to C({app}) removes C(slot) this way.
options:
  _input:
    description: The selector now.
    type: dict
    required: true
  to:
    description: The selector wanted.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Switch back
  kubernetes.core.k8s:
    state: patched
    kind: Service
    name: backend
    namespace: clickview
    merge_type: merge
    definition:
      spec:
        selector: "{{ {'app': 'backend', 'slot': 'green'} | clickview.runbook.selector_patch({'app': 'backend'}) }}"
        # {'app': 'backend', 'slot': None}
"""

RETURN = r"""
_value:
  description: The new selector, with V(None) for each key to remove.
  type: dict
"""


def selector_patch(current, to):
    """dict(to) plus None for each key of current not in to."""
    out = dict(to or {})
    for key in current or {}:
        if key not in out:
            out[key] = None
    return out


class FilterModule:
    """Blue-green filters."""

    def filters(self):
        return {"selector_patch": selector_patch}
