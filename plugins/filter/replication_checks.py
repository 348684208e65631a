# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily check's replication checks: the primary, its WAL senders and each replica's lag."""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status, worst_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: replication_checks
author: ClickView Platform Team
version_added: 0.2.0
short_description: Grade a PostgreSQL primary, its WAL senders and its replicas for the daily check report
description:
  - Takes what the daily check read (the registered results of M(community.postgresql.postgresql_query)) and returns
    the checks for P(clickview.runbook.report#role), in this order.
  - C(replication.primary) is C(FAIL) when the primary did not answer or is in recovery (not a primary).
  - C(replication.senders) is C(FAIL) when fewer WAL senders are C(streaming) than replicas are configured.
  - One C(replication.sender_lag) per WAL sender of C(pg_stat_replication) - C(FAIL) when it is not C(streaming),
    else the worse of its lag in bytes and in seconds graded by P(clickview.runbook.health_status#filter) (a lag at
    a threshold is graded at that threshold; a lag that could not be measured is C(FAIL)).
  - One C(replication.replica_lag) per configured replica - C(FAIL) when it did not answer, is not in recovery
    (promoted?) or its WAL receiver is not C(streaming), else the worse of its two lags.
options:
  _input:
    description:
      - The registered result of the primary's two queries (C(query_all_results) - the recovery state and WAL
        position; the rows of C(pg_stat_replication)). Without C(query_all_results) the primary did not answer.
    type: dict
    required: true
  replicas:
    description:
      - The registered C(results) of the query looped over the configured replicas; each with C(item) (C(name),
        C(host), C(port)) and C(query_result) (C(in_recovery), C(receiver_status), C(lag_bytes), C(lag_seconds)), or
        C(msg) when the replica did not answer. Their number is the number of WAL senders expected.
    type: list
    elements: dict
    required: true
  primary:
    description: The primary, with C(name), C(host) and C(port).
    type: dict
    required: true
  thresholds:
    description: C(replication_lag_bytes) and C(replication_lag_seconds), each with C(warn) and C(fail).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Grade the replication
  ansible.builtin.set_fact:
    checks: >-
      {{ primary_result | clickview.runbook.replication_checks(replica_results.results | default([]),
           clickview_postgres_primary, database_operations_thresholds) }}
"""

RETURN = r"""
_value:
  description: C(replication.primary), C(replication.senders), one C(replication.sender_lag) per WAL sender, then one
    C(replication.replica_lag) per replica.
  type: list
  elements: dict
  contains:
    check: {description: The check's name., type: str}
    target: {description: The server or WAL sender., type: str}
    status: {description: C(OK), C(WARN) or C(FAIL)., type: str}
    figure: {description: What was measured., type: str}
    threshold: {description: What C(OK) means., type: str}
    detail: {description: The row read, or the error of a server that did not answer., type: raw}
    value:
      description: The WAL senders streaming, or the lag in bytes of a sender or replica (its lag in seconds stays in
        the figure); null for C(replication.primary) and a server that did not answer.
      type: int
    unit: {description: C(count), C(bytes) or null., type: str}
"""


def _limits(thresholds):
    return "warn >= %s, fail >= %s" % (thresholds.get("warn"), thresholds.get("fail"))


def _lag_grade(row, thresholds):
    return worst_status([health_status(row.get("lag_bytes"), thresholds["replication_lag_bytes"]),
                         health_status(row.get("lag_seconds"), thresholds["replication_lag_seconds"])])


def _rows(value):
    """postgresql_query gives {} rather than [] for a query without rows."""
    return [] if value is None or isinstance(value, Mapping) else list(value)


def _server(server):
    return "%s %s:%s" % (server.get("name"), server.get("host"), server.get("port"))


def _replica_check(result, thresholds, lag_text):
    rows = _rows(result.get("query_result"))
    row = rows[0] if rows else {}
    receiver = row.get("receiver_status")
    lag = None
    if not row:
        status, figure = "FAIL", "unreachable"
    elif not row.get("in_recovery"):
        status, figure = "FAIL", "not in recovery (promoted?)"
    else:
        lag = row.get("lag_bytes")
        status = _lag_grade(row, thresholds) if receiver == "streaming" else "FAIL"
        figure = ("" if receiver == "streaming" else "WAL receiver %s, " % (receiver or "not running")) + \
            "%s bytes, %s s behind" % (row.get("lag_bytes"), row.get("lag_seconds"))
    return check_row("replication.replica_lag", _server(result.get("item") or {}), status, figure,
                     "in recovery and streaming; " + lag_text, row if row else result.get("msg", ""),
                     value=lag, unit="bytes")


def replication_checks(primary_result, replicas, primary, thresholds):
    """The replication checks of the daily report (see DOCUMENTATION)."""
    replicas = replicas or []
    lag_text = "bytes %s; seconds %s" % (_limits(thresholds["replication_lag_bytes"]),
                                         _limits(thresholds["replication_lag_seconds"]))
    results = (primary_result or {}).get("query_all_results")
    target = _server(primary)
    if results is None:
        senders = []
        checks = [check_row("replication.primary", target, "FAIL", "unreachable", "reachable and not in recovery",
                            primary_result.get("msg", ""))]
    else:
        state = results[0][0]
        senders = _rows(results[1]) if len(results) > 1 else []
        checks = [check_row("replication.primary", target, "FAIL" if state.get("in_recovery") else "OK",
                            "WAL at %s%s" % (state.get("wal_lsn"),
                                             ", in recovery (not a primary)" if state.get("in_recovery") else ""),
                            "reachable and not in recovery")]
    streaming = len([s for s in senders if s.get("state") == "streaming"])
    checks.append(check_row("replication.senders", target, "OK" if streaming >= len(replicas) else "FAIL",
                            "%s streaming of %s WAL senders" % (streaming, len(senders)),
                            "at least the %s configured replicas streaming" % len(replicas), value=streaming, unit="count"))
    for sender in senders:
        checks.append(check_row(
            "replication.sender_lag",
            "%s from %s" % (sender.get("application_name") or "unnamed", sender.get("client_addr")),
            _lag_grade(sender, thresholds) if sender.get("state") == "streaming" else "FAIL",
            "%s (%s), %s bytes, %s s replay lag" % (
                sender.get("state"), sender.get("sync_state"), sender.get("lag_bytes"), sender.get("lag_seconds")),
            "streaming; " + lag_text, sender, value=sender.get("lag_bytes"), unit="bytes"))
    checks.extend(_replica_check(result, thresholds, lag_text) for result in replicas)
    return checks


class FilterModule:
    """PostgreSQL replication filters."""

    def filters(self):
        return {"replication_checks": replication_checks}
