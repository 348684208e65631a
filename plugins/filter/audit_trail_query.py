# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evidence window's audit-trail query, its table and time column checked and quoted."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.security_evidence import audit_trail_query as _query

DOCUMENTATION = r"""
name: audit_trail_query
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The runbook's audit-log query for an evidence window, with its configured names checked
description:
  - The runbook's C(SELECT * FROM audit_log WHERE created_at > ... ORDER BY created_at DESC), bounded on both ends
    of the window and in rows. Each row comes back whole as JSON in the column C(row), newest first.
  - The table and the time column are configurable, and a name cannot travel as a query parameter, so both are
    checked and quoted as in P(clickview.runbook.sql_identifier#filter). A name that is not a plain identifier
    is refused with an error naming its variable; nothing is escaped.
  - The window's start, its end and the row limit are the query's three C(%s) parameters, in that order; pass
    them as C(positional_args) of M(community.postgresql.postgresql_query).
options:
  _input:
    description: The audit table, e.g. C(audit_log) or C(audit.events).
    type: str
    required: true
  time_column:
    description: The table's timestamp column, e.g. C(created_at).
    type: str
    required: true
  table_variable:
    description: The variable the table came from, named in the error.
    type: str
    default: security_incident_audit_table
  time_variable:
    description: The variable the time column came from, named in the error.
    type: str
    default: security_incident_audit_time_column
"""

EXAMPLES = r"""
- name: Read the audit trail of the window
  community.postgresql.postgresql_query:
    login_db: clickview
    query: "{{ security_incident_audit_table | clickview.runbook.audit_trail_query(security_incident_audit_time_column) }}"
    positional_args:
      - "{{ security_incident_window_start }}"
      - "{{ security_incident_window_end }}"
      - "{{ security_incident_audit_max_rows | int }}"
"""

RETURN = r"""
_value:
  description: The query, with the quoted names in it and three C(%s) placeholders.
  type: str
"""


def audit_trail_query(table, time_column, table_variable="security_incident_audit_table",
                      time_variable="security_incident_audit_time_column"):
    """The audit-trail query; an error naming the variable whose name is not an identifier."""
    try:
        return _query(table, time_column, table_variable=table_variable, time_variable=time_variable)
    except ValueError as exc:
        raise AnsibleFilterError("audit_trail_query: %s" % exc) from exc


class FilterModule:
    """Audit-trail query filter."""

    def filters(self):
        return {"audit_trail_query": audit_trail_query}
