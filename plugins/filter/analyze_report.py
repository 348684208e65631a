# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The weekly maintenance's ANALYZE outcome: one check per table and the action taken."""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: analyze_report
author: ClickView Platform Team
version_added: 0.2.0
short_description: Grade the ANALYZE of each table of the weekly maintenance
description:
  - Takes the tables the weekly maintenance resolved, the registered result of its ANALYZE statements and what
    C(pg_stat_user_tables) said afterwards, and returns the C(analyze.table) checks and the C(analyze) action for
    P(clickview.runbook.report#role).
  - A table whose C(last_analyze) is now after the start of the run is C(OK), with the time its statement took.
  - A table that is no longer in C(pg_stat_user_tables) was dropped while the run was in progress - C(WARN).
  - A table still there but not analyzed was skipped by PostgreSQL (the login may not ANALYZE it) - C(FAIL).
  - In check mode nothing was analyzed - every table is C(OK), C(would be analyzed), with its last ANALYZE (or
    C(never) for a table without statistics yet).
options:
  _input:
    description: The resolved tables, each with C(name) (C(schema.table)) and C(oid), in the order analyzed.
    type: list
    elements: dict
    required: true
  analyzed:
    description:
      - The registered result of the ANALYZE task (M(community.postgresql.postgresql_query), a C(SELECT now()) first,
        then one C(ANALYZE) per table); C(execution_time_ms) gives each statement's time. Skipped in check mode.
    type: dict
    required: true
  state:
    description: Rows read back from C(pg_stat_user_tables), each with C(oid), C(analyzed) and C(last_analyze).
    type: list
    elements: dict
    required: true
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
  login:
    description: The login that ran ANALYZE, named in the detail of a table not analyzed.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Record what ANALYZE did
  vars:
    outcome: >-
      {{ tables.query_result | clickview.runbook.analyze_report(analyzed, analyze_state.query_result | default([]),
           check_mode=ansible_check_mode, login='clickview_admin') }}
  ansible.builtin.set_fact:
    checks: "{{ outcome.checks }}"
    actions: "{{ [outcome.action] }}"
"""

RETURN = r"""
_value:
  description: The checks and the action.
  type: dict
  contains:
    checks:
      description: One C(analyze.table) check per table (C(duration_seconds) added when analyzed); its C(value) is the
        seconds the ANALYZE of an analyzed table took (C(unit) C(s)), else null.
      type: list
      elements: dict
    action:
      description: The C(analyze) action - C(tables), C(check_mode), C(duration_seconds) (all statements) and C(summary),
        e.g. C(ANALYZE 4 of 4 table(s) in 0.132 s) or C(would ANALYZE 4 table(s)).
      type: dict
"""

THRESHOLD = "analyzed by this run"


def _by_oid(rows):
    return {str(row.get("oid")): row for row in ([] if isinstance(rows, Mapping) else rows or [])}


def analyze_report(tables, analyzed, state, check_mode=False, login=""):
    """{'checks': [...], 'action': {...}} of the weekly ANALYZE (see DOCUMENTATION)."""
    tables = tables or []
    after = _by_oid(state)
    times = list((analyzed or {}).get("execution_time_ms") or [])[1:]
    checks = []
    for index, table in enumerate(tables):
        row = after.get(str(table.get("oid")))
        name = table.get("name")
        if check_mode:
            checks.append(check_row("analyze.table", name, "OK", "would be analyzed (check mode); last analyzed %s"
                                    % ((row or {}).get("last_analyze") or "never"), THRESHOLD))
            continue
        seconds = round(times[index] / 1000, 3) if index < len(times) else None
        if row is not None and row.get("analyzed"):
            check = check_row("analyze.table", name, "OK", "analyzed in %s s" % seconds, THRESHOLD,
                              value=seconds, unit="s")
        elif row is None:
            check = check_row("analyze.table", name, "WARN", "gone: the table was dropped while the run was in progress",
                              THRESHOLD, "login: %s" % login)
        else:
            check = check_row("analyze.table", name, "FAIL",
                              "not analyzed: PostgreSQL skipped it (only the table or database owner, "
                              "or a superuser, may ANALYZE before PostgreSQL 17)", THRESHOLD, "login: %s" % login)
        checks.append(dict(check, duration_seconds=seconds))
    names = [table.get("name") for table in tables]
    total = round(sum(times) / 1000, 3)
    if check_mode:
        summary = "would ANALYZE %s table(s)" % len(names)
    else:
        done = len([check for check in checks if check["status"] == "OK"])
        summary = "ANALYZE %s of %s table(s) in %s s" % (done, len(names), total)
    return {"checks": checks, "action": {"action": "analyze", "tables": names, "check_mode": bool(check_mode),
                                         "duration_seconds": total, "summary": summary}}


class FilterModule:
    """PostgreSQL maintenance filters."""

    def filters(self):
        return {"analyze_report": analyze_report}
