# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a new blue-green slot is healthy enough to switch the Service to it."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.deployment_rows import HTTP_OK

DOCUMENTATION = r"""
name: slot_health
author: ClickView Platform Team
version_added: 0.2.0
short_description: Whether a new blue-green slot may take the traffic
description:
  - A slot is healthy when its rollout completed, exactly the wanted number of its pods is C(Ready), none of its
    containers restarted (a container that restarted during the soak is not trusted) and its preview URL, when one was
    asked, answered 200 to 204.
options:
  _input:
    description: The slot's pods after the soak (the C(resources) of M(kubernetes.core.k8s_info)).
    type: list
    elements: dict
    required: true
  want:
    description: The replicas the slot should have ready.
    type: int
    required: true
  rollout_state:
    description: The state of the slot's rollout (P(clickview.runbook.rollout_outcome#filter)).
    type: str
    default: complete
  preview:
    description: The registered result of the uri task that asked the preview URL; skipped or omitted means none was asked.
    type: dict
"""

EXAMPLES = r"""
- name: Judge the new slot
  ansible.builtin.set_fact:
    slot: "{{ pods.resources | clickview.runbook.slot_health(3, rollout.state, preview=preview) }}"
"""

RETURN = r"""
_value:
  description: The judgement.
  type: dict
  contains:
    ready:
      description: Pods with the C(Ready) condition true.
      type: int
    restarts:
      description: Container restarts over all pods.
      type: int
    want:
      description: O(want).
      type: int
    preview_ok:
      description: Whether the preview URL answered 200 to 204, or was not asked.
      type: bool
    healthy:
      description: Whether the Service may be switched to the slot.
      type: bool
"""

SWITCHABLE = HTTP_OK


def _ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def slot_health(pods, want, rollout_state="complete", preview=None):
    """{'ready', 'restarts', 'want', 'preview_ok', 'healthy'} (see DOCUMENTATION)."""
    pods = pods or []
    ready = len([pod for pod in pods if _ready(pod)])
    restarts = sum(int(cs.get("restartCount") or 0) for pod in pods
                   for cs in (pod.get("status") or {}).get("containerStatuses") or [])
    preview_ok = not preview or bool(preview.get("skipped")) or preview.get("status", 0) in SWITCHABLE
    want = int(want)
    return {"ready": ready, "restarts": restarts, "want": want, "preview_ok": preview_ok,
            "healthy": rollout_state == "complete" and ready == want and restarts == 0 and preview_ok}


class FilterModule:
    """Blue-green filters."""

    def filters(self):
        return {"slot_health": slot_health}
