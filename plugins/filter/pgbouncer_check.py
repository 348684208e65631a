# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily health check's PgBouncer row: the same grading as the pool alert's pgbouncer.pools finding."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.pool_findings import pgbouncer_finding
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: pgbouncer_check
author: ClickView Platform Team
version_added: 0.1.0
short_description: Grade PgBouncer's SHOW POOLS as the health check's pgbouncer.pools row
description:
  - Takes a registered M(community.postgresql.postgresql_query) result of C(SHOW POOLS) on PgBouncer's admin console and
    returns one check row C({check, target, status, figure, threshold, detail, value, unit}).
  - The clients waiting for a server connection (C(cl_waiting), summed over the pools, PgBouncer's own C(pgbouncer)
    database left out) are graded with O(thresholds.pgbouncer_waiting_clients); the value is that number, unit
    C(connections). An unanswered query is C(FAIL) with the figure C(unreachable) and the error as the detail.
  - The same grading and figure as the High Connection Pool Usage alert's C(pgbouncer.pools) finding
    (the filter C(clickview.runbook.pool_findings)).
options:
  _input:
    description: The registered C(SHOW POOLS) result.
    type: dict
    required: true
  thresholds:
    description: C(pgbouncer_waiting_clients) as C({warn, fail}), as in C(on_call_thresholds).
    type: dict
    required: true
  target:
    description: C(host:port) of PgBouncer.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Record the PgBouncer check
  ansible.builtin.set_fact:
    on_call_checks: >-
      {{ on_call_checks + [on_call_pgbouncer | clickview.runbook.pgbouncer_check(thresholds=on_call_thresholds,
           target='10.0.0.7:6432')] }}
  # {'check': 'pgbouncer.pools', 'status': 'OK', 'figure': '1 pools, 3 clients active, 0 waiting, 2 server connections
  #  active', 'value': 0, 'unit': 'connections', ...}
"""

RETURN = r"""
_value:
  description: The C(pgbouncer.pools) row; the detail lists each pool (clients active and waiting, the longest wait,
    server connections active and idle).
  type: dict
"""


def pgbouncer_check(result, thresholds=None, target=""):
    """The health check's pgbouncer.pools row (see DOCUMENTATION)."""
    found = pgbouncer_finding(result or {}, thresholds or {}, target)
    return check_row(found["check"], target, found["status"], found["figure"], found["threshold"],
                     "; ".join(str(line) for line in found["evidence"]), found["value"], found["unit"])


class FilterModule:
    """PgBouncer health check filter."""

    def filters(self):
        return {"pgbouncer_check": pgbouncer_check}
