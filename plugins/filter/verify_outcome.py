# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The outcome of a post-deploy verification once the rollback, if any, was tried."""

from __future__ import annotations

DOCUMENTATION = r"""
name: verify_outcome
author: ClickView Platform Team
version_added: 0.2.0
short_description: The outcome of a post-deploy verification - pass, rollback, rollback_failed or fail
description:
  - C(pass) when the verification did not fail.
  - Else C(rollback) when the rollback ran and succeeded, C(rollback_failed) when it ran and failed, and C(fail) when it
    did not run (rollback disabled, no evidence against the deploy, or the task skipped).
options:
  _input:
    description: Whether the verification failed (C(failed) of P(clickview.runbook.verify_verdict#filter)).
    type: bool
    required: true
  rollback:
    description: The registered result of the rollback task; skipped or omitted means it did not run.
    type: dict
"""

EXAMPLES = r"""
- name: The outcome
  ansible.builtin.debug:
    msg: "{{ verdict.failed | clickview.runbook.verify_outcome(rollback_result) }}"   # rollback
"""

RETURN = r"""
_value:
  description: C(pass), C(rollback), C(rollback_failed) or C(fail).
  type: str
"""


def verify_outcome(failed, rollback=None):
    """pass | rollback | rollback_failed | fail (see DOCUMENTATION)."""
    if not failed:
        return "pass"
    if not rollback or rollback.get("skipped"):
        return "fail"
    return "rollback_failed" if rollback.get("failed") else "rollback"


class FilterModule:
    """Release analysis filters."""

    def filters(self):
        return {"verify_outcome": verify_outcome}
