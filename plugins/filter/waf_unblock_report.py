# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What unblocking addresses at the WAF did (or would do), for the report and the incident timeline."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.waf_ipset import canonical

DOCUMENTATION = r"""
name: waf_unblock_report
author: ClickView Platform Team
version_added: 0.2.0
short_description: Grade the unblocking of addresses at the WAF, address by address
description:
  - Takes the result of M(clickview.runbook.waf_block_ip) with C(state=absent) run in check mode (the plan) and, unless
    the run is in check mode, the result of the run that removes; returns the checks and actions for
    P(clickview.runbook.report#role) and the incident timeline event.
  - One C(waf.unblock) check per address asked for (compared in canonical form, C(203.0.113.7) is C(203.0.113.7/32)).
    C(OK) - unblocked, or it was not blocked (nothing to do). C(WARN) - would be unblocked (check mode). C(FAIL) - the
    plan or the run failed (the module's message); nothing is left half-done, the module rolls back a partial change.
  - One C(waf_unblock) action, and a timeline event with C(details.step=unblock), when addresses were removed.
options:
  _input:
    description: The registered result of the check-mode run (C(removed), C(not_present), C(ip_sets), C(msg) on failure).
    type: dict
    required: true
  run:
    description: The registered result of the run that removes; empty or skipped when nothing was run.
    type: dict
    default: {}
  addresses:
    description: The addresses asked for, in order.
    type: list
    elements: str
    required: true
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Grade the unblock
  ansible.builtin.set_fact:
    outcome: >-
      {{ plan | clickview.runbook.waf_unblock_report(run, addresses=['203.0.113.7'], check_mode=ansible_check_mode) }}
    # outcome.checks: [{'check': 'waf.unblock', 'target': '203.0.113.7/32', 'status': 'OK', 'figure': 'unblocked ...'}]
"""

RETURN = r"""
_value:
  description: The grading.
  type: dict
  contains:
    checks:
      description: One C(waf.unblock) per address, or one C(FAIL) when the module failed before any address; their
        C(value) and C(unit) are null (an unblock has no number).
      type: list
      elements: dict
    actions:
      description: Empty, or one C(waf_unblock) action (C(summary), C(removed), C(ip_sets)).
      type: list
      elements: dict
    removed:
      description: The blocks removed (would be removed, in check mode).
      type: list
      elements: str
    not_blocked:
      description: The addresses that were not blocked.
      type: list
      elements: str
    event:
      description: The timeline event (C(event), C(details)), or null when nothing was removed.
      type: dict
    summary:
      description: The outcome in one line.
      type: str
"""

THRESHOLD = "only the addresses named are removed from the IP sets; every other block stays"


def _key(address):
    return canonical(address) or str(address).strip()


def waf_unblock_report(plan, run=None, addresses=None, check_mode=False):
    """{'checks', 'actions', 'removed', 'not_blocked', 'event', 'summary'} (see DOCUMENTATION)."""
    plan, run = plan or {}, run or {}
    executed = bool(run) and not run.get("skipped")
    result = run if executed else plan
    sets = [s.get("name") for s in result.get("ip_sets") or plan.get("ip_sets") or []]
    where = ", ".join(str(s) for s in sets) or "the IP sets"
    if plan.get("failed") or (executed and run.get("failed")):
        failed = run if executed and run.get("failed") else plan
        msg = "%s: %s; nothing was unblocked" % ("unblocking failed" if failed is run else "refused before any change",
                                                 failed.get("msg", "failed"))
        return {"checks": [check_row("waf.unblock", ", ".join(str(a) for a in addresses or []) or "-", "FAIL", msg,
                                     THRESHOLD, {"error_code": failed.get("error_code")})],
                "actions": [], "removed": [], "not_blocked": [], "event": None, "summary": msg}
    removed = list(result.get("removed") or [])
    not_blocked = list(result.get("not_present") or [])
    checks = []
    for address in addresses or []:
        key = _key(address)
        if key in removed:
            status = "WARN" if not executed else "OK"
            figure = ("would unblock: remove from %s (check mode)" % where) if not executed else "unblocked: removed from %s" % where
        elif key in not_blocked:
            status, figure = "OK", "was not blocked in %s: nothing to do" % where
        else:
            status, figure = "FAIL", "not in the module's answer (neither removed nor reported not blocked)"
        checks.append(check_row("waf.unblock", key, status, figure, THRESHOLD, {"address": address, "ip_sets": sets}))
    actions, event = [], None
    if executed and removed:
        summary = "Unblocked %d address(es) at the WAF (%s): %s" % (len(removed), where, ", ".join(removed))
        actions.append({"action": "waf_unblock", "summary": summary, "removed": removed, "ip_sets": sets})
        event = {"event": summary, "details": {"step": "unblock", "addresses": removed, "not_blocked": not_blocked,
                                               "ip_sets": sets}}
        text = summary
    elif removed:
        text = "would unblock %s in %s%s" % (", ".join(removed), where, " (check mode)" if check_mode else "")
    else:
        text = "nothing to unblock: %s not blocked in %s" % (", ".join(not_blocked) or "no address", where)
    return {"checks": checks, "actions": actions, "removed": removed, "not_blocked": not_blocked, "event": event,
            "summary": text}


class FilterModule:
    """WAF unblock report."""

    def filters(self):
        return {"waf_unblock_report": waf_unblock_report}
