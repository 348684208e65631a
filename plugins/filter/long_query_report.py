# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kill-long-queries outcome: the selection, each backend, and the action taken."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: long_query_report
author: ClickView Platform Team
version_added: 0.2.0
short_description: Grade what pg_terminate_long_queries selected and did, for the report
description:
  - Takes the registered results of M(clickview.runbook.pg_terminate_long_queries) - the listing (always run in check
    mode) and the run that signals (skipped unless asked) - and returns the checks and actions for
    P(clickview.runbook.report#role).
  - C(long_query.selection) is C(FAIL) when either call failed, C(WARN) when backends were selected but not signalled
    (outside check mode its figure says to run with C(database_operations_kill_execute=true)), else C(OK).
  - One C(long_query.backend) per backend of the run, or of the listing when nothing was signalled. C(cancelled),
    C(terminated), C(gone) and C(skipped) are C(OK); C(would_cancel) and C(would_terminate) are C(WARN); C(failed),
    C(would_fail) and any other outcome are C(FAIL).
  - One C(kill_long_queries) action when backends were signalled, with the pids cancelled or terminated.
options:
  _input:
    description: The registered result of the listing (C(backends), C(counts), C(msg)).
    type: dict
    required: true
  run:
    description: The registered result of the signalling call; without C(backends) nothing was signalled.
    type: dict
    default: {}
  target:
    description: The server, as shown in the report (C(name host:port)).
    type: str
    default: ''
  action:
    description: The module's O(clickview.runbook.pg_terminate_long_queries#module:action).
    type: str
    default: ''
  selection:
    description:
      - The selection, for the report's text - C(states), C(min_duration), C(include_users),
        C(include_applications), C(query_pattern).
    type: dict
    default: {}
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Record the results
  vars:
    outcome: >-
      {{ preview | clickview.runbook.long_query_report(run, target='primary 10.0.0.5:5432', action='cancel_then_terminate',
           selection={'states': ['active'], 'min_duration': '5m'}, check_mode=ansible_check_mode) }}
  ansible.builtin.set_fact:
    checks: "{{ outcome.checks }}"
    actions: "{{ outcome.actions }}"
"""

RETURN = r"""
_value:
  description: The checks and actions.
  type: dict
  contains:
    checks:
      description: C(long_query.selection), then one C(long_query.backend) per backend. The C(value) of
        C(long_query.selection) is how many backends the listing selected (C(unit) C(count), null when the listing
        failed), of a C(long_query.backend) how long its query ran (C(unit) C(s)).
      type: list
      elements: dict
    actions:
      description: Empty, or one C(kill_long_queries) action with C(summary), C(counts) and C(pids).
      type: list
      elements: dict
"""

GRADES = {"cancelled": "OK", "terminated": "OK", "gone": "OK", "skipped": "OK",
          "would_cancel": "WARN", "would_terminate": "WARN", "would_fail": "FAIL", "failed": "FAIL"}


def _truncate(text, length=80, end="...", leeway=5):
    """As Jinja's truncate filter (whole words, leeway 5)."""
    if len(text) <= length + leeway:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end


def selection_text(selection):
    """states active for >= 5m, users a, b, applications c, query ~ pattern"""
    selection = selection or {}
    text = "states %s for >= %s" % (", ".join(selection.get("states") or []), selection.get("min_duration"))
    if selection.get("include_users"):
        text += ", users " + ", ".join(selection["include_users"])
    if selection.get("include_applications"):
        text += ", applications " + ", ".join(selection["include_applications"])
    if selection.get("query_pattern"):
        text += ", query ~ %s" % selection["query_pattern"]
    return text


def backend_check(backend, threshold):
    """The long_query.backend check of one backend of the module's result."""
    guard = " (%s)" % backend["guard"] if backend.get("guard") else ""
    target = "pid %s %s@%s (%s)" % (backend.get("pid"), backend.get("user"), backend.get("database"),
                                    backend.get("application") or "no application_name")
    seconds = round(float(backend.get("duration") or 0), 1)
    query = _truncate(str(backend.get("query") or ""))
    return check_row("long_query.backend", target, GRADES.get(backend.get("outcome"), "FAIL"),
                     "%s%s after %s s %s: %s" % (backend.get("outcome"), guard, seconds, backend.get("state"), query),
                     threshold, backend, value=seconds, unit="s")


def long_query_report(preview, run=None, target="", action="", selection=None, check_mode=False):
    """{'checks': [...], 'actions': [...]} of a kill-long-queries run (see DOCUMENTATION)."""
    preview, run = preview or {}, run or {}
    executed = "backends" in run
    result = run if executed else preview
    counts = preview.get("counts") or {}
    selected = int(counts.get("would_cancel") or 0) + int(counts.get("would_terminate") or 0)
    threshold = selection_text(selection)
    failed = preview.get("failed") or run.get("failed")
    if failed:
        status = "FAIL"
    elif selected > 0 and not executed:
        status = "WARN"
    else:
        status = "OK"
    figure = str(result.get("msg", ""))
    if selected > 0 and not executed and not check_mode:
        figure += "; not signalled: run with database_operations_kill_execute=true to %s" % action
    checks = [check_row("long_query.selection", target, status, figure, threshold, result.get("counts") or {},
                        value=None if failed else selected, unit="count")]
    checks.extend(backend_check(backend, threshold) for backend in result.get("backends") or [])
    actions = []
    if executed:
        actions.append({"action": "kill_long_queries", "summary": "%s on %s: %s" % (action, target, run.get("msg")),
                        "counts": run.get("counts"),
                        "pids": [b.get("pid") for b in run["backends"] if b.get("outcome") in ("cancelled", "terminated")]})
    return {"checks": checks, "actions": actions}


class FilterModule:
    """PostgreSQL long-query filters."""

    def filters(self):
        return {"long_query_report": long_query_report}
