# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many canary pods give a share of the traffic beside the stable pods."""

from __future__ import annotations

DOCUMENTATION = r"""
name: canary_size
author: ClickView Platform Team
version_added: 0.2.0
short_description: The canary pods for a share of the traffic, and the share they really get
description:
  - The canary track runs beside the stable pods behind the same Service, so the canary's share of the traffic is its
    share of the pods - C(canary / (canary + stable)). For O(share_percent) of the traffic the canary needs
    C(stable * share / (100 - share)) pods, rounded, and at least one.
  - The share the canary really gets is rounded to one decimal; with few stable pods it can be far from the one asked
    (one canary beside one stable pod is 50 %).
options:
  _input:
    description: The stable Deployment's replicas.
    type: int
    required: true
  share_percent:
    description: The share of the traffic wanted for the canary, 1 to 50.
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Size the canary
  ansible.builtin.set_fact:
    canary: "{{ 3 | clickview.runbook.canary_size(25) }}"   # {'replicas': 1, 'share_percent': 25.0}
"""

RETURN = r"""
_value:
  description: The canary's size.
  type: dict
  contains:
    replicas:
      description: Canary pods, at least 1.
      type: int
    share_percent:
      description: The share of the pods (and so of the traffic) they are.
      type: float
"""


def canary_size(stable_replicas, share_percent):
    """{'replicas', 'share_percent'} (see DOCUMENTATION)."""
    stable, share = int(stable_replicas), int(share_percent)
    replicas = max(int(round(stable * share / float(max(100 - share, 1)))), 1)
    return {"replicas": replicas, "share_percent": round(100.0 * replicas / max(replicas + stable, 1), 1)}


class FilterModule:
    """Release analysis filters."""

    def filters(self):
        return {"canary_size": canary_size}
