# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The weekly maintenance's unused indexes: never scanned on the primary nor on any replica."""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: unused_index_checks
author: ClickView Platform Team
version_added: 0.2.0
short_description: List the indexes no server has scanned, for the weekly maintenance report
description:
  - Takes the primary's indexes never scanned (primary keys, unique and exclusion constraints already left out) and
    the indexes each replica has scanned, and returns checks for P(clickview.runbook.report#role).
  - One C(index.unused) check, C(WARN), per index not scanned on the primary that no replica has scanned either.
    None - one C(index.unused) check, C(OK), for the database.
  - One C(index.replica_usage) check, C(WARN), when a replica did not answer - an index only it uses may be listed.
options:
  _input:
    description:
      - The registered result of the primary's two queries (C(query_all_results) - the statistics reset time
        C(since); the unused indexes with C(index_name), C(table_name), C(size)).
    type: dict
    required: true
  replica_scans:
    description:
      - The registered C(results) of the query looped over the replicas, each with C(item.name) and C(query_result)
        (rows with C(index_name)), or without C(query_result) when the replica did not answer.
    type: list
    elements: dict
    required: true
  database:
    description: The database's name, the target of the C(OK) check.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Unused indexes
  ansible.builtin.set_fact:
    checks: "{{ unused | clickview.runbook.unused_index_checks(replica_scans.results | default([]), 'clickview') }}"
    # [{'check': 'index.unused', 'target': 'public.page_views_referrer_idx', 'status': 'WARN',
    #   'figure': '0 scans since 2025-01-01 00:00:00+00, 2208 kB on public.page_views', ...}]
"""

RETURN = r"""
_value:
  description: The C(index.unused) checks, then the C(index.replica_usage) check if any.
  type: list
  elements: dict
  contains:
    check: {description: C(index.unused) or C(index.replica_usage)., type: str}
    target: {description: The index, the database, or the replicas that did not answer., type: str}
    status: {description: C(OK) or C(WARN)., type: str}
    figure: {description: Since when, how large, on which table., type: str}
    threshold: {description: What C(OK) means., type: str}
    detail: {description: The index's row., type: raw}
    value: {description: An unused index's size in bytes (its C(bytes) column); null for the other rows., type: int}
    unit: {description: C(bytes) or null., type: str}
"""


def _rows(value):
    """postgresql_query gives {} rather than [] for a query without rows."""
    return [] if value is None or isinstance(value, Mapping) else list(value)


def unused_index_checks(unused, replica_scans, database):
    """The unused-index checks of the weekly report (see DOCUMENTATION)."""
    results = (unused or {}).get("query_all_results") or [[{}], []]
    since = (_rows(results[0]) or [{}])[0].get("since", "cluster creation")
    answered = [scan for scan in replica_scans or [] if "query_result" in scan]
    used_on_replicas = {row.get("index_name") for scan in answered for row in _rows(scan["query_result"])}
    unreachable = [(scan.get("item") or {}).get("name") for scan in replica_scans or [] if "query_result" not in scan]
    checks = [check_row("index.unused", index.get("index_name"), "WARN",
                        "0 scans since %s, %s on %s" % (since, index.get("size"), index.get("table_name")),
                        "scanned at least once (primary keys, unique and exclusion constraints excluded)", index,
                        value=index.get("bytes"), unit="bytes")
              for index in _rows(results[1] if len(results) > 1 else []) if index.get("index_name") not in used_on_replicas]
    if not checks:
        checks.append(check_row("index.unused", database, "OK", "every index was scanned since %s" % since,
                                "scanned at least once"))
    if unreachable:
        checks.append(check_row("index.replica_usage", ", ".join(str(name) for name in unreachable), "WARN",
                                "replica unreachable: indexes it uses may be listed as unused", "every replica answers"))
    return checks


class FilterModule:
    """PostgreSQL maintenance filters."""

    def filters(self):
        return {"unused_index_checks": unused_index_checks}
