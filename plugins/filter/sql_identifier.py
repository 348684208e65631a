# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A table or column name from a variable, as a quoted SQL identifier, or a refusal naming the variable."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.security_evidence import quote_identifier

DOCUMENTATION = r"""
name: sql_identifier
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Quote a configured table or column name as a PostgreSQL identifier, or refuse it
description:
  - A table or column name cannot travel as a query parameter, so a name taken from a variable is checked and
    quoted here before it is put into a query; values still go as parameters.
  - The name is split on dots and each part is double-quoted (C(audit.events) becomes C("audit"."events")).
    A table may be schema-qualified (two parts); a column (O(qualified=false)) is one part.
  - Each part must be a plain identifier - ASCII letters, digits, C(_) and C($), not starting with a digit, at
    most 63 characters. Anything else (quotes, spaces, semicolons, an empty part, more parts) is refused with an
    error naming O(variable); nothing is escaped.
  - The name is taken as written; quoted, it is case-sensitive, as with PostgreSQL's C(quote_ident).
options:
  _input:
    description: The name, e.g. C(audit_log) or C(audit.events).
    type: str
    required: true
  variable:
    description: The variable the name came from, named in the error.
    type: str
    required: true
  qualified:
    description: Allow a schema-qualified name (C(schema.table)); false for a column.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: The audit trail's table and time column, checked and quoted
  ansible.builtin.set_fact:
    audit_table_sql: "{{ security_incident_audit_table | clickview.runbook.sql_identifier('security_incident_audit_table') }}"
    audit_time_sql: >-
      {{ security_incident_audit_time_column
         | clickview.runbook.sql_identifier('security_incident_audit_time_column', qualified=false) }}
    # "audit_log" and "created_at"
"""

RETURN = r"""
_value:
  description: The quoted identifier, each part in double quotes, joined by dots.
  type: str
"""


def sql_identifier(value, variable, qualified=True):
    """``audit.events`` -> ``"audit"."events"``; an error naming ``variable`` for anything that is not an identifier."""
    try:
        return quote_identifier(value, variable, qualified=qualified)
    except ValueError as exc:
        raise AnsibleFilterError("sql_identifier: %s" % exc) from exc


class FilterModule:
    """SQL identifier filters."""

    def filters(self):
        return {"sql_identifier": sql_identifier}
