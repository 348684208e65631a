# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily health check's PostgreSQL checks: the primary, its connections, replication and each replica's lag."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status, worst_status
from ansible_collections.clickview.runbook.plugins.filter.wal_archiving_check import wal_archiving_check
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row, server_target, threshold_pair

DOCUMENTATION = r"""
name: postgres_checks
author: ClickView Platform Team
version_added: 0.1.0
short_description: Grade the health check's PostgreSQL reads
description:
  - Takes the registered M(community.postgresql.postgresql_query) results of the health check and returns its
    PostgreSQL checks, each C({check, target, status, figure, threshold, detail}).
  - C(postgres.primary) - C(FAIL) when unreachable or in recovery (not a primary).
  - C(postgres.connections) - client backends against C(max_connections), graded with O(thresholds.connections_pct).
  - C(postgres.replication) - C(FAIL) unless at least O(expected_replicas) replicas are streaming.
  - C(postgres.wal_archiving) - see P(clickview.runbook.wal_archiving_check#filter) (only when the primary answered).
  - C(postgres.replica_lag), one per replica - C(FAIL) when unreachable, not in recovery (promoted?) or its WAL
    receiver is not streaming, else the worse of the lag in bytes and in seconds against O(thresholds).
options:
  _input:
    description: The registered result of the primary's query (C(version), C(in_recovery), C(connections),
      C(max_connections), C(streaming_replicas)).
    type: dict
    required: true
  archiver:
    description: The registered result of the archiver query (see P(clickview.runbook.wal_archiving_check#filter)).
    type: dict
    default: {}
  replicas:
    description: The registered loop result of the replicas' query (C(in_recovery), C(receiver_status), C(lag_bytes),
      C(lag_seconds)), looped over the replicas C({name, host, port}).
    type: dict
    default: {}
  thresholds:
    description: C(connections_pct), C(replication_lag_bytes) and C(replication_lag_seconds), each C({warn, fail}).
    type: dict
    required: true
  primary:
    description: The primary, C({name, host, port}).
    type: dict
    required: true
  expected_replicas:
    description: How many replicas must be streaming.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Record the PostgreSQL checks
  ansible.builtin.set_fact:
    on_call_checks: >-
      {{ on_call_checks + (on_call_pg_primary | clickview.runbook.postgres_checks(archiver=on_call_pg_archiver,
           replicas=on_call_pg_replicas, thresholds=on_call_thresholds, primary=clickview_postgres_primary,
           expected_replicas=clickview_postgres_replicas | length)) }}
"""

RETURN = r"""
_value:
  description: C(postgres.primary), C(postgres.connections), C(postgres.replication), C(postgres.wal_archiving), then
    C(postgres.replica_lag) per replica.
  type: list
  elements: dict
  contains:
    value:
      description: The figure's number - the connections in use as a percent number of C(max_connections), the
        replicas streaming, a replica's lag in bytes (its lag in seconds stays in the figure) - or null (unreachable,
        C(postgres.primary), C(postgres.wal_archiving)).
      type: raw
    unit:
      description: C(%), C(count), C(bytes) or null.
      type: str
"""


def _first_row(result):
    rows = (result or {}).get("query_result")
    return rows[0] if rows else {}


def primary_checks(result, thresholds, target, expected):
    row = _first_row(result)
    detail = "" if row else (result or {}).get("msg", "")
    pct = round(int(row["connections"]) * 100.0 / int(row["max_connections"]), 1) if row else None
    streaming = row.get("streaming_replicas") if row else None
    role = "in recovery (not a primary)" if row.get("in_recovery") else "accepting writes"
    return [
        check_row("postgres.primary", target, "FAIL" if not row or row.get("in_recovery") else "OK",
                  "PostgreSQL %s, %s" % (row.get("version"), role) if row else "unreachable",
                  "reachable and not in recovery", detail),
        check_row("postgres.connections", target, health_status(pct, thresholds.get("connections_pct")) if row else "FAIL",
                  "%s of %s (%s %%)" % (row["connections"], row["max_connections"], pct) if row else "unknown",
                  "warn >= %s %%, fail >= %s %%" % threshold_pair(thresholds, "connections_pct"), value=pct, unit="%"),
        check_row("postgres.replication", target, "OK" if row and int(streaming or 0) >= int(expected) else "FAIL",
                  "%s of %s replicas streaming" % (streaming if row else "unknown", expected),
                  "all %s configured replicas streaming" % expected, value=streaming, unit="count"),
    ]


def replica_check(result, thresholds):
    server = result.get("item") or {}
    row = _first_row(result)
    bytes_t, seconds_t = thresholds.get("replication_lag_bytes"), thresholds.get("replication_lag_seconds")
    streaming = row.get("receiver_status") == "streaming"
    lag = None
    if not row:
        status, figure = "FAIL", "unreachable"
    elif not row.get("in_recovery"):
        status, figure = "FAIL", "not in recovery (promoted?)"
    else:
        lag = row.get("lag_bytes")
        status = "FAIL" if not streaming else worst_status([health_status(row.get("lag_bytes"), bytes_t),
                                                            health_status(row.get("lag_seconds"), seconds_t)])
        figure = ("" if streaming else "WAL receiver %s, " % (row.get("receiver_status") or "not running")) + \
            "%s bytes, %s s behind" % (row.get("lag_bytes"), row.get("lag_seconds"))
    return check_row("postgres.replica_lag", server_target(server), status, figure,
                     "in recovery and streaming; bytes warn >= %s, fail >= %s; seconds warn >= %s, fail >= %s"
                     % (threshold_pair(bytes_t) + threshold_pair(seconds_t)),
                     "" if row else result.get("msg", ""), value=lag, unit="bytes")


def postgres_checks(primary_result, archiver=None, replicas=None, thresholds=None, primary=None, expected_replicas=0):
    """The health check's PostgreSQL checks (see DOCUMENTATION)."""
    thresholds = thresholds or {}
    target = server_target(primary)
    out = primary_checks(primary_result, thresholds, target, int(expected_replicas))
    if _first_row(primary_result):
        out.append(wal_archiving_check(archiver, target))
    results = (replicas or {}).get("results") if isinstance(replicas, dict) else replicas
    out.extend(replica_check(result, thresholds) for result in results or [])
    return out


class FilterModule:
    """PostgreSQL health filters."""

    def filters(self):
        return {"postgres_checks": postgres_checks}
