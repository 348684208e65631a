# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The termination of the long-running queries, as a resolution step of the pool alert."""

from __future__ import annotations

DOCUMENTATION = r"""
name: pool_termination_action
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The resolution step of terminating the long-running queries
description:
  - Takes the registered result of M(clickview.runbook.pg_terminate_long_queries) run to end the queries and returns
    the C(terminate long-running queries) step of P(clickview.runbook.alert_response#role).
  - The step is C(would) in check mode, C(failed) when the call failed or returned no backends, else C(done); one
    evidence line per backend with its outcome (and the reason, when there is one).
options:
  _input:
    description: The registered result (C(backends), C(msg), C(failed)).
    type: dict
    required: true
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Record the termination
  ansible.builtin.include_tasks: common/action.yml
  vars:
    alert_response_action: "{{ killed | clickview.runbook.pool_termination_action(check_mode=ansible_check_mode) }}"
    # {'step': 'terminate long-running queries', 'status': 'done', 'detail': '2 terminated',
    #  'evidence': ['pid 4242 app app=web: terminated', ...]}
"""

RETURN = r"""
_value:
  description: The step, with C(step), C(status), C(detail) and C(evidence).
  type: dict
"""


def pool_termination_action(result, check_mode=False):
    """{step, status, detail, evidence} of the termination."""
    result = result or {}
    if check_mode:
        status = "would"
    else:
        status = "failed" if result.get("failed") or "backends" not in result else "done"
    evidence = ["pid %s %s app=%s: %s%s" % (b.get("pid"), b.get("user"), b.get("application") or "-", b.get("outcome"),
                                            " (%s)" % b["reason"] if b.get("reason") else "")
                for b in result.get("backends") or []]
    return {"step": "terminate long-running queries", "status": status, "detail": result.get("msg", "no result"),
            "evidence": evidence}


class FilterModule:
    """Connection pool filters."""

    def filters(self):
        return {"pool_termination_action": pool_termination_action}
