# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily check's table bloat checks: the dead-tuple ratio of each table with many dead tuples."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: bloat_checks
author: ClickView Platform Team
version_added: 0.2.0
short_description: Grade the dead-tuple ratio of PostgreSQL tables for the daily check report
description:
  - Takes the registered result of the bloat query (rows of C(pg_stat_user_tables) with at least O(min_dead_tuples)
    dead tuples) and returns checks for P(clickview.runbook.report#role).
  - One C(bloat.table) per row, its C(dead_pct) graded by P(clickview.runbook.health_status#filter) (a ratio at a
    threshold is graded at that threshold). A table without any tuple counted yet (no statistics, C(dead_pct) null)
    has nothing dead, 0 %.
  - No row - one C(bloat.tables) check, C(OK). No C(query_result) (the primary did not answer) - one C(bloat.tables)
    check, C(FAIL).
options:
  _input:
    description: The registered result of M(community.postgresql.postgresql_query).
    type: dict
    required: true
  thresholds:
    description: C(warn) and C(fail) for the dead-tuple percentage.
    type: dict
    required: true
  min_dead_tuples:
    description: The minimum number of dead tuples the query selected tables with (for the report's text).
    type: int
    required: true
  database:
    description: The database's name, the target of a C(bloat.tables) check.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Grade the bloat
  ansible.builtin.set_fact:
    checks: >-
      {{ bloat_result | clickview.runbook.bloat_checks({'warn': 20, 'fail': 50}, 10000, 'clickview') }}
    # [{'check': 'bloat.table', 'target': 'public.page_views', 'status': 'WARN',
    #   'figure': '60000 dead of 200000 tuples (30.0 %), 25 MB, last vacuum never, autovacuum disabled on the table', ...}]
"""

RETURN = r"""
_value:
  description: One C(bloat.table) check per table, or one C(bloat.tables) check.
  type: list
  elements: dict
  contains:
    check: {description: C(bloat.table) or C(bloat.tables)., type: str}
    target: {description: The table (C(schema.table)) or the database., type: str}
    status: {description: C(OK), C(WARN) or C(FAIL)., type: str}
    figure: {description: Dead and total tuples, ratio, size, last vacuum., type: str}
    threshold: {description: The thresholds., type: str}
    detail: {description: The table's row, or the error., type: raw}
    value: {description: A table's dead tuples as a percent number of its tuples; null for C(bloat.tables)., type: float}
    unit: {description: C(%) for a table; null for C(bloat.tables)., type: str}
"""


def bloat_checks(result, thresholds, min_dead_tuples, database):
    """The bloat checks of the daily report (see DOCUMENTATION)."""
    result = result or {}
    threshold = "dead tuples warn >= %s %%, fail >= %s %% (tables with >= %s dead tuples)" % (
        thresholds.get("warn"), thresholds.get("fail"), min_dead_tuples)
    rows = result.get("query_result")
    if rows is None:
        return [check_row("bloat.tables", database, "FAIL", "unknown: the primary did not answer", threshold,
                          result.get("msg", ""))]
    if not rows:     # postgresql_query gives {} rather than [] for a query without rows
        return [check_row("bloat.tables", database, "OK", "no table with %s or more dead tuples" % min_dead_tuples,
                          threshold)]
    checks = []
    for table in rows:
        dead_pct = table.get("dead_pct")
        if dead_pct is None:
            dead_pct = 0.0
        figure = "%s dead of %s tuples (%s %%), %s, last vacuum %s%s" % (
            table.get("n_dead_tup"), (table.get("n_live_tup") or 0) + (table.get("n_dead_tup") or 0), dead_pct,
            table.get("total_size"), table.get("last_vacuum"),
            ", autovacuum disabled on the table" if table.get("autovacuum_disabled") else "")
        checks.append(check_row("bloat.table", table.get("table_name"), health_status(dead_pct, thresholds), figure,
                                threshold, table, value=dead_pct, unit="%"))
    return checks


class FilterModule:
    """PostgreSQL bloat filters."""

    def filters(self):
        return {"bloat_checks": bloat_checks}
