# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The PgBouncer pool procedure's graded row, from SHOW CONFIG and SHOW DATABASES after the change."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.common import to_int as _int

DOCUMENTATION = r"""
name: pgbouncer_pool_check
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: Grade PgBouncer's default_pool_size after the pool procedure changed it
description:
  - The input is the C(query_all_results) of M(community.postgresql.postgresql_query) running C(SHOW CONFIG) then
    C(SHOW DATABASES) on PgBouncer's admin console.
  - One row C(pgbouncer.default_pool_size), OK when C(default_pool_size) is O(wanted) (its value as the row's value, in
    connections), FAIL otherwise or when the console could not be read; the figure gives the size before, each
    database's pool size and C(max_client_conn). In check mode it is OK and says what would be set.
options:
  _input:
    description: The answers of C(SHOW CONFIG) and C(SHOW DATABASES), in that order; empty when they could not be read.
    type: list
    elements: raw
    required: true
  wanted:
    description: The pool size asked for.
    type: int
    required: true
  before:
    description: The pool size before the change.
    type: raw
    required: true
  target:
    description: The PgBouncer, as the report names it.
    type: str
    required: true
  bounds:
    description: The allowed pool sizes, a dictionary with C(min) and C(max) (for the threshold).
    type: dict
    required: true
  max_client_conn:
    description: PgBouncer's C(max_client_conn), for the figure.
    type: raw
    default: ''
  diff:
    description: The change made to the configuration file, as the detail.
    type: raw
    default: ''
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Record the pool size
  ansible.builtin.set_fact:
    checks:
      - "{{ config_after.query_all_results | default([]) | clickview.runbook.pgbouncer_pool_check(wanted=100, before=pool_before,
            target='pgbouncer 10.0.0.5:6432', bounds={'min': 10, 'max': 500}, check_mode=ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description: The row (check, target, status, figure, threshold, detail, value, unit).
  type: dict
"""


def pgbouncer_pool_check(answers, wanted, before, target, bounds, max_client_conn="", diff="", check_mode=False):
    """The pgbouncer.default_pool_size row (see DOCUMENTATION)."""
    if not isinstance(bounds, Mapping):
        raise AnsibleFilterError("pgbouncer_pool_check: bounds must be a dictionary with min and max, got %r" % (bounds,))
    answers = list(answers or [])
    config = answers[0] if answers and isinstance(answers[0], list) else []
    databases = answers[1] if len(answers) > 1 and isinstance(answers[1], list) else []
    after = next((row.get("value") for row in config if isinstance(row, Mapping) and row.get("key") == "default_pool_size"), None)
    pools = ", ".join("%s: %s" % (row.get("name"), row.get("pool_size")) for row in databases
                      if isinstance(row, Mapping) and row.get("name") != "pgbouncer")
    figure = "SHOW CONFIG default_pool_size %s (was %s)" % ("unreadable" if after is None else after, before)
    if check_mode:
        figure += "; would set %s (check mode)" % wanted
    figure += "; pool size per database %s; max_client_conn %s" % (pools, max_client_conn)
    ok = check_mode or (_int(after) is not None and _int(after) == _int(wanted))
    return check_row("pgbouncer.default_pool_size", target, "OK" if ok else "FAIL", figure,
                     "%s, within %s..%s" % (_int(wanted), bounds.get("min"), bounds.get("max")), diff or "",
                     value=_int(after), unit="connections")


class FilterModule:
    """PgBouncer filters."""

    def filters(self):
        return {"pgbouncer_pool_check": pgbouncer_pool_check}
