# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The High Error Rate alert's "If database-related": can the database be reached, directly and through PgBouncer."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.dependency_findings import postgres_connectivity_findings

DOCUMENTATION = r"""
name: postgres_connectivity_findings
author: ClickView Platform Team
version_added: 0.3.0
short_description: Grade whether the database answers on each of its endpoints
description:
  - Takes the registered result of the M(community.postgresql.postgresql_query) loop over the database's endpoints
    (each item C({name, host, port}), optionally C(kind=pgbouncer) for the pooler and C(database), the task run with
    C(failed_when=false)) and returns one finding C(postgres.connectivity) per endpoint, in the order of the loop, as
    C({check, target, status, figure, threshold, evidence, recommendation}).
  - The queries are C(SELECT 1), then optionally one row with C(connections) and C(max_connections) (and
    C(server_version)).
  - C(OK) when C(SELECT 1) answered. The figure gives its round trip as the module measured it (its
    C(execution_time_ms), the query only, the connection already open) and, when the second query answered, the
    connections in use against C(max_connections).
  - C(FAIL) when it did not - the figure is the driver's own message (its first line, without the module's prefix),
    for example connection refused, a timeout, a failed login or no connection slot left. A C(password=) value in it
    is masked. The recommendation says where to go next - the pool alert's response when no slot is left, PgBouncer
    when only the pooler fails.
options:
  _input:
    description: The registered result of the loop (its C(results) are read), or the list of its results.
    type: raw
    required: true
  connect_timeout:
    description: The connect timeout the queries ran with, in seconds, for the threshold's text.
    type: int
"""

EXAMPLES = r"""
- name: Grade the database's reachability
  ansible.builtin.set_fact:
    findings: >-
      {{ alert_response_db_reads | clickview.runbook.postgres_connectivity_findings(connect_timeout=5) }}
    # [{'check': 'postgres.connectivity', 'target': 'primary 127.0.0.1:15432, database clickview', 'status': 'OK',
    #   'figure': 'SELECT 1 answered in 0.4 ms; 7 of 100 connections in use (max_connections)', ...},
    #  {'check': 'postgres.connectivity', 'target': 'pgbouncer 127.0.0.1:16432, database clickview', 'status': 'FAIL',
    #   'figure': 'unreachable: connection to server at "127.0.0.1", port 16432 failed: Connection refused', ...}]
"""

RETURN = r"""
_value:
  description: One C(postgres.connectivity) finding per endpoint.
  type: list
  elements: dict
  contains:
    check:
      description: The check's name.
      type: str
      sample: postgres.connectivity
    target:
      description: The endpoint's name, address and database.
      type: str
      sample: primary 127.0.0.1:15432, database clickview
    status:
      description: C(OK) or C(FAIL).
      type: str
    figure:
      description: The round trip of C(SELECT 1) and the connections in use, or why the endpoint did not answer.
      type: str
      sample: SELECT 1 answered in 0.4 ms; 7 of 100 connections in use (max_connections)
    threshold:
      description: What is OK.
      type: str
      sample: SELECT 1 answers within the connect timeout (5 s)
    evidence:
      description: The connections and the server's version, or the module's whole message.
      type: list
      elements: str
    recommendation:
      description: What to do about it.
      type: str
    value:
      description: How long C(SELECT 1) took in milliseconds, null when the endpoint did not answer or the time is
        not known.
      type: float
      sample: 0.4
    unit:
      description: C(ms), null when there is no value.
      type: str
"""


class FilterModule:
    """The postgres_connectivity_findings filter."""

    def filters(self):
        return {"postgres_connectivity_findings": postgres_connectivity_findings}
