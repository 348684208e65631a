# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The figures of a database connection pool alert, graded: connections, long and waiting queries, PgBouncer."""

from __future__ import annotations

import re

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import (
    rows, server_target, threshold_pair, truncate)

DOCUMENTATION = r"""
name: pool_findings
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Grade the figures of the Database Connection Pool Exhausted alert
description:
  - Takes the registered results of the alert's investigation and returns four findings.
  - C(postgres.connections) grades the client connections against the slots open to clients (C(max_connections)
    minus the reserved ones, at least 1), in percent; C(FAIL) when PostgreSQL could not be reached. When it refused
    the login because no slot was left, the recommendation says to use a login that may take a reserved slot.
  - C(postgres.long_queries) grades how many backends M(clickview.runbook.pg_terminate_long_queries) would end
    (outcome C(would_*)); C(FAIL) when its listing gave no backends.
  - C(postgres.waiting_queries) grades the active queries waiting on a lock, I/O or IPC; C(FAIL) when PostgreSQL could
    not be reached.
  - C(pgbouncer.pools) grades the clients waiting in PgBouncer (its own C(pgbouncer) database left out); C(FAIL) when
    SHOW POOLS gave no answer.
  - A figure at a threshold takes that grade (at C(warn) is C(WARN), at C(fail) is C(FAIL)).
options:
  _input:
    description: The registered postgresql_query result of the connections query (C(max_connections), C(reserved),
      C(connections), C(by_state)).
    type: dict
    required: true
  waiting:
    description: The registered postgresql_query result of the waiting queries.
    type: dict
    default: {}
  long_queries:
    description: The registered pg_terminate_long_queries listing (C(backends), C(msg)).
    type: dict
    default: {}
  pgbouncer:
    description: The registered postgresql_query result of PgBouncer's SHOW POOLS.
    type: dict
    default: {}
  thresholds:
    description: C(connections_pct), C(waiting_queries), C(long_queries) and C(pgbouncer_waiting_clients), each
      C({warn, fail}), as C(alert_response_pool_thresholds).
    type: dict
    required: true
  primary:
    description: The PostgreSQL primary (C(name), C(host), C(port)), the target of the PostgreSQL findings.
    type: dict
    required: true
  pgbouncer_server:
    description: PgBouncer (C(host), C(port)), the target of C(pgbouncer.pools).
    type: dict
    required: true
  login_user:
    description: The login the alert used, named when no slot was left for it.
    type: str
    default: ''
  min_duration:
    description: How long a query runs before it counts as long, for the figure.
    type: str
    default: ''
  evidence_limit:
    description: At most this many evidence lines for the long and the waiting queries.
    type: int
    default: 20
"""

EXAMPLES = r"""
- name: Grade the figures
  ansible.builtin.set_fact:
    findings: >-
      {{ connections | clickview.runbook.pool_findings(waiting=waiting, long_queries=long_queries, pgbouncer=pools,
           thresholds=alert_response_pool_thresholds, primary=clickview_postgres_primary, pgbouncer_server=clickview_pgbouncer,
           login_user='ops', min_duration='5m', evidence_limit=20) }}
    # [{'check': 'postgres.connections', 'status': 'WARN', 'figure': '80 of 97 connection slots open to clients in use ...'},
    #  {'check': 'postgres.long_queries', ...}, {'check': 'postgres.waiting_queries', ...}, {'check': 'pgbouncer.pools', ...}]
"""

RETURN = r"""
_value:
  description: C(postgres.connections), C(postgres.long_queries), C(postgres.waiting_queries), C(pgbouncer.pools); each
    with C(check), C(target), C(status), C(figure), C(threshold), C(evidence), C(recommendation), C(value) and
    C(unit) - the connections in use as a percent number of the slots open to clients (C(%)), the queries that would
    be ended and the queries waiting (C(count)), the clients waiting in PgBouncer (C(connections)); both null when the
    server was not read.
  type: list
  elements: dict
"""

NO_SLOT = ("No connection slot is left for %s (%s): run this alert with a login that may use the reserved slots "
           "(alert_response_pool_login_user: a superuser, or on PostgreSQL 16+ a member of pg_use_reserved_connections), "
           "or end the idle clients from the database host.")


def _threshold(thresholds, key, prefix=""):
    return "%swarn >= %s, fail >= %s" % ((prefix,) + threshold_pair(thresholds, key))


def connections_finding(result, thresholds, target, login_user):
    """postgres.connections: client connections against the slots open to clients."""
    found = rows(result)
    conn = found[0] if found else {}
    unreachable = str(result.get("msg", "unreachable"))
    finding = {"check": "postgres.connections", "target": target, "value": None, "unit": None,
               "threshold": "warn >= %s %%, fail >= %s %%" % threshold_pair(thresholds, "connections_pct")}
    if not conn:
        no_slot = "too many clients" in unreachable or "connection slots are reserved" in unreachable
        finding.update(status="FAIL", figure="unreachable", evidence=[unreachable],
                       recommendation=NO_SLOT % (login_user, unreachable.strip()) if no_slot else
                       "Restore access to PostgreSQL first: the database could not be reached (%s)." % unreachable)
        return finding
    slots = max(int(conn["max_connections"]) - int(conn["reserved"]), 1)
    pct = round(int(conn["connections"]) * 100 / slots, 1)
    warn = threshold_pair(thresholds, "connections_pct")[0]
    finding.update(
        status=health_status(pct, thresholds.get("connections_pct")), value=pct, unit="%",
        figure="%s of %s connection slots open to clients in use (%s %%; max_connections %s, %s reserved)" % (
            conn["connections"], slots, pct, conn["max_connections"], conn["reserved"]),
        evidence=["by state: %s" % conn.get("by_state")],
        recommendation="Connections are within bounds." if pct < float(warn) else
        "End the long-running queries (remediate=true), then scale the backend out and review the application pool size.")
    return finding


def long_queries_finding(result, thresholds, target, min_duration, limit, unreachable):
    """postgres.long_queries: the backends the remediation would end."""
    listed = "backends" in result
    backends = result.get("backends") or []
    selected = [b for b in backends if re.match("would_", str(b.get("outcome")))]
    protected = [b for b in backends if b.get("outcome") == "skipped"]
    if listed:
        figure = "%d queries running longer than %s%s" % (
            len(selected), min_duration,
            " (%d more protected: superuser, own or non-client backends)" % len(protected) if protected else "")
        evidence = ["pid %s %s app=%s %s for %ss: %s" % (
            b.get("pid"), b.get("user"), b.get("application") or "-", b.get("state"), round(float(b.get("duration") or 0), 1),
            truncate(re.sub(r"\s+", " ", str(b.get("query", ""))), 120)) for b in selected[:limit]]
    else:
        figure, evidence = "unknown", [result.get("msg", unreachable)]
    return {"check": "postgres.long_queries", "target": target,
            "status": health_status(len(selected), thresholds.get("long_queries")) if listed else "FAIL",
            "figure": figure, "threshold": _threshold(thresholds, "long_queries"), "evidence": evidence,
            "value": len(selected) if listed else None, "unit": "count" if listed else None,
            "recommendation": "Terminate them: rerun with remediate=true (or alert_response_kill_long_queries=true); they "
                              "are listed above." if selected else "Nothing to terminate."}


def waiting_finding(result, thresholds, target, limit, reachable):
    """postgres.waiting_queries: active queries waiting on a lock, I/O or IPC."""
    waiting = rows(result)
    return {"check": "postgres.waiting_queries", "target": target,
            "status": health_status(len(waiting), thresholds.get("waiting_queries")) if reachable else "FAIL",
            "figure": "%d active queries waiting" % len(waiting) if reachable else "unknown",
            "value": len(waiting) if reachable else None, "unit": "count" if reachable else None,
            "threshold": _threshold(thresholds, "waiting_queries"),
            "evidence": ["pid %s %s app=%s waiting on %s/%s for %ss: %s" % (
                r.get("pid"), r.get("usename"), r.get("application_name") or "-", r.get("wait_event_type"),
                r.get("wait_event"), r.get("seconds"), r.get("query")) for r in waiting[:limit]],
            "recommendation": "Find the blocker of lock waits (pg_blocking_pids) before ending anything; I/O waits point at "
                              "disk saturation." if waiting else "No query is waiting."}


def pgbouncer_finding(result, thresholds, target):
    """pgbouncer.pools: clients waiting for a server connection."""
    answered = "query_result" in result
    pools = [p for p in rows(result) if p.get("database") != "pgbouncer"]
    waiting = sum(int(p.get("cl_waiting") or 0) for p in pools)
    if answered:
        figure = "%d pools, %d clients active, %d waiting, %d server connections active" % (
            len(pools), sum(int(p.get("cl_active") or 0) for p in pools), waiting,
            sum(int(p.get("sv_active") or 0) for p in pools))
        evidence = ["%s/%s (%s): %s clients active, %s waiting (max wait %ss), %s server active, %s idle" % (
            p.get("database"), p.get("user"), p.get("pool_mode", "?"), p.get("cl_active"), p.get("cl_waiting"),
            p.get("maxwait"), p.get("sv_active"), p.get("sv_idle")) for p in pools]
    else:
        figure, evidence = "unreachable", [result.get("msg", "unreachable")]
    return {"check": "pgbouncer.pools", "target": target,
            "status": health_status(waiting, thresholds.get("pgbouncer_waiting_clients")) if answered else "FAIL",
            "figure": figure, "threshold": _threshold(thresholds, "pgbouncer_waiting_clients", "waiting clients "),
            "evidence": evidence, "value": waiting if answered else None, "unit": "connections" if answered else None,
            "recommendation": "Clients are queueing in PgBouncer: raise the pool size (the runbook: POOL_SIZE) only if "
                              "PostgreSQL has spare connections." if waiting > 0 else "No client is waiting in PgBouncer."}


def pool_findings(connections, waiting=None, long_queries=None, pgbouncer=None, thresholds=None, primary=None,
                  pgbouncer_server=None, login_user="", min_duration="", evidence_limit=20):
    """The four findings of the pool alert (see DOCUMENTATION)."""
    connections, thresholds = connections or {}, thresholds or {}
    target = server_target(primary)
    bouncer = pgbouncer_server or {}
    limit = int(evidence_limit)
    reachable = bool(rows(connections))
    unreachable = connections.get("msg", "unreachable")
    return [connections_finding(connections, thresholds, target, login_user),
            long_queries_finding(long_queries or {}, thresholds, target, min_duration, limit, unreachable),
            waiting_finding(waiting or {}, thresholds, target, limit, reachable),
            pgbouncer_finding(pgbouncer or {}, thresholds, "%s:%s" % (bouncer.get("host"), bouncer.get("port")))]


class FilterModule:
    """Connection pool filters."""

    def filters(self):
        return {"pool_findings": pool_findings}
