# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which blue-green slot a Service serves, and which one is idle."""

from __future__ import annotations

DOCUMENTATION = r"""
name: blue_green_slots
author: ClickView Platform Team
version_added: 0.2.0
short_description: The live and the idle blue-green slot of a Service, from its selector
description:
  - The Service's selector names the live slot in the label O(slot_label) (C(blue) or C(green)); the slot's Deployment is
    C(<name>-<slot>).
  - A selector without that label serves the Deployment O(name) itself, which counts as C(blue).
  - The idle slot is the other colour - C(blue) when C(green) is live, else C(green).
options:
  _input:
    description: The Service's selector (or a selector recorded before a switch).
    type: dict
    required: true
  name:
    description: The Deployment the slots are named after.
    type: str
    required: true
  slot_label:
    description: The pod label that tells the slots apart.
    type: str
    default: slot
"""

EXAMPLES = r"""
- name: Live and idle slot
  ansible.builtin.set_fact:
    slots: "{{ {'app': 'backend'} | clickview.runbook.blue_green_slots('backend') }}"
    # {'live_slot': 'blue', 'live_name': 'backend', 'idle_slot': 'green', 'idle_name': 'backend-green'}
"""

RETURN = r"""
_value:
  description: The slots.
  type: dict
  contains:
    live_slot:
      description: C(blue) or C(green) (or the label's value as it is).
      type: str
    live_name:
      description: The Deployment that serves now.
      type: str
    idle_slot:
      description: C(blue) or C(green).
      type: str
    idle_name:
      description: The Deployment of the idle slot.
      type: str
"""


def blue_green_slots(selector, name, slot_label="slot"):
    """{'live_slot', 'live_name', 'idle_slot', 'idle_name'} (see DOCUMENTATION)."""
    slot = str((selector or {}).get(slot_label) or "")
    idle = "blue" if slot == "green" else "green"
    return {"live_slot": slot or "blue", "live_name": "%s-%s" % (name, slot) if slot else name,
            "idle_slot": idle, "idle_name": "%s-%s" % (name, idle)}


class FilterModule:
    """Blue-green filters."""

    def filters(self):
        return {"blue_green_slots": blue_green_slots}
