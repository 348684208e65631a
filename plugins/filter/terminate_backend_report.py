# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's SELECT pg_terminate_backend(<pid>): whether to signal, and each pid's outcome for the report."""

from __future__ import annotations

DOCUMENTATION = r"""
name: terminate_backend_report
author: ClickView Platform Team
version_added: 0.2.0
short_description: Decide and grade the termination of backends named by their pids
description:
  - Takes the listing of M(clickview.runbook.pg_terminate_long_queries) run with C(pids) in check mode, and the run that
    terminates (skipped unless asked), and returns whether to terminate, the checks and the actions for
    P(clickview.runbook.report#role).
  - RV(_value.signal) is true only when O(execute) is on, the run is not in check mode, the listing succeeded, at least
    one named backend would be terminated and none of the named backends is refused. One refused pid (a superuser,
    replication role, non-client backend, backup or replication tool, the module's own session, or a backend the login
    may not signal) stops the whole list - a wrong pid in the list makes the others suspect too.
  - One C(terminate_backend.pid) check per pid asked for, in the order given. C(OK) - terminated; ended before the
    signal; no backend with that pid (nothing to do). C(WARN) - would be terminated (check mode, O(execute) off, or held
    back by a refused pid). C(FAIL) - refused, or the signal failed. A failed listing is one C(FAIL) check.
  - One C(terminate_backend) action when backends were terminated, with their pids.
options:
  _input:
    description: The registered result of the listing (C(backends), C(counts), C(pids_not_found), C(msg)).
    type: dict
    required: true
  run:
    description: The registered result of the terminating call; without C(backends) nothing was signalled.
    type: dict
    default: {}
  pids:
    description: The pids asked for, in order.
    type: list
    elements: int
    required: true
  target:
    description: The server, as shown in the report (C(name host:port)).
    type: str
    default: ''
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
  execute:
    description: The opt-in (C(database_operations_kill_execute)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Decide from the listing
  ansible.builtin.set_fact:
    plan: "{{ preview | clickview.runbook.terminate_backend_report(pids=[48213], execute=true) }}"
    # plan.signal: true when pid 48213 is a client backend that may be terminated

- name: Grade the outcome
  ansible.builtin.set_fact:
    outcome: >-
      {{ preview | clickview.runbook.terminate_backend_report(run, pids=[48213], target='primary 10.0.0.5:5432',
                                                              check_mode=ansible_check_mode, execute=true) }}
"""

RETURN = r"""
_value:
  description: The decision and the checks and actions.
  type: dict
  contains:
    signal:
      description: Whether to run the terminating call.
      type: bool
    refused:
      description: The pids refused (protected, or not signalable by the login).
      type: list
      elements: int
    not_found:
      description: The pids with no backend (ended), in the listing or, after it, in the run.
      type: list
      elements: int
    terminated:
      description: The pids terminated.
      type: list
      elements: int
    summary:
      description: The outcome in one line.
      type: str
    checks:
      description: One C(terminate_backend.pid) per pid, or one C(terminate_backend.listing) when the listing failed;
        their C(value) and C(unit) are null (an action's outcome has no number).
      type: list
      elements: dict
    actions:
      description: Empty, or one C(terminate_backend) action with C(summary) and C(pids).
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

THRESHOLD = "client backends of ordinary roles only (no superuser, replication, server process, backup tool)"
GUARDS = {
    "superuser": "a superuser's backend: never terminated by this procedure",
    "replication_role": "a replication role's backend: never terminated by this procedure",
    "not_client_backend": "not a client backend but a server process (%(backend_type)s)",
    "backup_tool": "a backup or replication tool (%(application)s): ending it loses the restore point an incident may need",
    "own_backend": "the procedure's own session",
}


def _pids(pids):
    out = []
    for pid in pids or []:
        try:
            value = int(pid)
        except (TypeError, ValueError):
            raise AnsibleFilterError("terminate_backend_report: pids must be whole numbers, got %r" % (pid,))
        if value not in out:
            out.append(value)
    return out


def _label(pid, backend):
    if not backend:
        return "pid %s" % pid
    return "pid %s %s@%s (%s)" % (pid, backend.get("user"), backend.get("database"),
                                  backend.get("application") or "no application_name")


def _refusal(backend):
    if backend.get("outcome") == "would_fail":
        return "refused: the login may not signal it (%s)" % (backend.get("reason") or "permission denied")
    text = GUARDS.get(backend.get("guard"), "protected (%s)" % backend.get("guard"))
    return "refused: " + text % {"backend_type": backend.get("backend_type"), "application": backend.get("application")}


def _check(pid, backend, status, figure):
    return check_row("terminate_backend.pid", _label(pid, backend), status, figure, THRESHOLD, backend or {"pid": pid})


def terminate_backend_report(preview, run=None, pids=None, target="", check_mode=False, execute=False):
    """{'signal', 'refused', 'not_found', 'terminated', 'summary', 'checks', 'actions'} (see DOCUMENTATION)."""
    preview, run = preview or {}, run or {}
    pids = _pids(pids)
    if not pids:
        raise AnsibleFilterError("terminate_backend_report: no pid given")
    if "backends" not in preview:
        msg = "listing failed on %s: %s" % (target, preview.get("msg", "no result"))
        return {"signal": False, "refused": [], "not_found": [], "terminated": [], "summary": msg, "actions": [],
                "checks": [check_row("terminate_backend.listing", target, "FAIL", msg, THRESHOLD, {})]}
    before = {b["pid"]: b for b in preview["backends"] if b.get("pid") in pids}
    refused = [pid for pid in pids if pid in before and before[pid].get("outcome") in ("skipped", "would_fail")]
    wanted = [pid for pid in pids if pid in before and before[pid].get("outcome") == "would_terminate"]
    not_found = [pid for pid in pids if pid not in before]
    signal = bool(execute) and not check_mode and not refused and bool(wanted)
    executed = "backends" in run
    after = {b["pid"]: b for b in run.get("backends") or [] if b.get("pid") in pids}

    checks, terminated = [], []
    for pid in pids:
        backend = before.get(pid)
        if backend is None:
            checks.append(_check(pid, None, "OK", "no backend with this pid (it has ended): nothing to do"))
        elif pid in refused:
            checks.append(_check(pid, backend, "FAIL", _refusal(backend)))
        elif executed:
            done = after.get(pid)
            outcome = (done or {}).get("outcome")
            if done is None or outcome == "gone":
                if pid not in not_found:
                    not_found.append(pid)
                checks.append(_check(pid, done or backend, "OK", "ended before the signal: nothing to do"))
            elif outcome == "terminated":
                terminated.append(pid)
                checks.append(_check(pid, done, "OK", "terminated%s" % (
                    " (%s)" % done["reason"] if done.get("reason") else "")))
            else:
                checks.append(_check(pid, done, "FAIL", "%s: %s" % (outcome, done.get("reason") or run.get("msg", ""))))
        elif refused:
            checks.append(_check(pid, backend, "WARN", "not terminated: pid(s) %s refused, so nothing was signalled"
                                 % ", ".join(str(p) for p in refused)))
        elif check_mode:
            checks.append(_check(pid, backend, "WARN", "would terminate (check mode): %s for %s s" % (
                backend.get("state"), round(float(backend.get("duration") or 0), 1))))
        else:
            checks.append(_check(pid, backend, "WARN", "would terminate: run with database_operations_kill_execute=true "
                                 "(%s for %s s)" % (backend.get("state"), round(float(backend.get("duration") or 0), 1))))
    if executed and run.get("failed") and not any(c["status"] == "FAIL" for c in checks):
        checks.append(check_row("terminate_backend.listing", target, "FAIL",
                                "terminating failed on %s: %s" % (target, run.get("msg", "")), THRESHOLD,
                                run.get("counts") or {}))

    actions = []
    if terminated:
        actions.append({"action": "terminate_backend", "pids": terminated,
                        "summary": "pg_terminate_backend on %s: terminated pid(s) %s" % (
                            target, ", ".join(str(p) for p in terminated))})
    parts = []
    if terminated:
        parts.append("terminated %s" % ", ".join(str(p) for p in terminated))
    if wanted and not executed:
        parts.append("%s %s" % ("would terminate" if not refused else "held back", ", ".join(str(p) for p in wanted)))
    if refused:
        parts.append("refused %s" % ", ".join(str(p) for p in refused))
    if not_found:
        parts.append("no backend %s" % ", ".join(str(p) for p in not_found))
    return {"signal": signal, "refused": refused, "not_found": not_found, "terminated": terminated,
            "summary": "%s: %s" % (target, "; ".join(parts)) if target else "; ".join(parts),
            "checks": checks, "actions": actions}


class FilterModule:
    """Terminate-by-pid filter."""

    def filters(self):
        return {"terminate_backend_report": terminate_backend_report}
