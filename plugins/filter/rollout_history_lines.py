# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One line per revision of a rollout history, as kubectl rollout history with times would print it."""

from __future__ import annotations

DOCUMENTATION = r"""
name: rollout_history_lines
author: ClickView Platform Team
version_added: 0.2.0
short_description: One report line per revision of a rollout history
description:
  - >-
    Takes the C(history) of M(clickview.runbook.k8s_rollback) with O(clickview.runbook.k8s_rollback#module:history_only=true)
    and makes one line per revision, e.g.
    C(revision 5 (running) created 2025-01-31T12:00:00Z: registry/backend:1.5.0 - release 1.5.0).
options:
  _input:
    description: The history entries C({revision, current, created, images, change_cause}).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Evidence of the rollout finding
  ansible.builtin.debug:
    msg: "{{ history.history | clickview.runbook.rollout_history_lines }}"
"""

RETURN = r"""
_value:
  description: One line per revision, in the order given.
  type: list
  elements: str
"""


def rollout_history_lines(history):
    """'revision N[ (running)] created T: images - change-cause' per entry."""
    return ["revision %s%s created %s: %s - %s" % (
        entry.get("revision"), " (running)" if entry.get("current") else "", entry.get("created") or "?",
        ", ".join(entry.get("images") or []), entry.get("change_cause") or "no change-cause") for entry in history or []]


class FilterModule:
    """Rollout filters."""

    def filters(self):
        return {"rollout_history_lines": rollout_history_lines}
