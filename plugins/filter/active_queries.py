# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Active queries of pg_stat_activity, longest running first, each with a line for a report."""

from __future__ import annotations

DOCUMENTATION = r"""
name: active_queries
author: ClickView Platform Team
version_added: 0.2.0
short_description: Active PostgreSQL queries, longest running first, with a report line each
description:
  - Takes rows of C(pg_stat_activity) with C(pid), C(usename), C(application_name), C(wait) (C(type/event) or empty),
    C(seconds) (running time) and C(query), and orders them by C(seconds), longest first.
  - >-
    Adds C(text), e.g. C(pid 4711 app_user app=backend 12.5s waiting Lock/relation: UPDATE orders SET ...).
options:
  _input:
    description: The rows (C(query_result) of M(community.postgresql.postgresql_query)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Active queries, longest first
  ansible.builtin.set_fact:
    active: "{{ pg_active.query_result | default([]) | clickview.runbook.active_queries }}"
    longest: "{{ (active | first).seconds if active else 0 }}"
"""

RETURN = r"""
_value:
  description: The rows, longest running first, each with C(text).
  type: list
  elements: dict
"""


def active_queries(rows):
    """The rows sorted by seconds (longest first), each with a text line."""
    out = []
    for row in sorted(rows or [], key=lambda r: float(r.get("seconds") or 0), reverse=True):
        waiting = (" waiting " + row["wait"]) if row.get("wait") else ""
        text = "pid %s %s app=%s %ss%s: %s" % (
            row.get("pid"), row.get("usename"), row.get("application_name") or "-", row.get("seconds"), waiting, row.get("query"))
        out.append(dict(row, text=text))
    return out


class FilterModule:
    """PostgreSQL report filters."""

    def filters(self):
        return {"active_queries": active_queries}
