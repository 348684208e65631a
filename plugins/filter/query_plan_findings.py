# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The High Latency alert's query plans and pg_stat_statements' top statements, as findings."""

from __future__ import annotations

import re

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import server_target, threshold_pair

DOCUMENTATION = r"""
name: query_plan_findings
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: The plans of the slowest queries and the top statements as High Latency findings
description:
  - Takes the registered result of M(clickview.runbook.pg_query_plans) and returns two findings, each with C(check),
    C(target), C(status), C(figure), C(threshold), C(evidence) and C(recommendation).
  - C(postgres.query_plans) - the slowest active queries with the first lines of their plans (or why a query was not
    explained), graded by the running time of the longest of them against O(thresholds.active_query_seconds), as
    C(postgres.active_queries) is. No query listed is C(OK). A plan line reading a whole table the planner expects
    at least O(large_table_rows) rows from (C(Seq Scan on TABLE ... rows=N)) is named in the figure, the evidence and
    the recommendation.
  - C(postgres.top_statements) - the statements of C(pg_stat_statements) with the largest total execution time.
    Those figures add up since the statistics were last reset, not over the incident, so they are not graded -
    C(OK), a statement whose mean time alone reaches the P95 warn threshold (O(thresholds.p95_seconds)) is marked in
    the evidence. Without the extension in the database it is C(OK) and the recommendation says how to install it;
    an extension that could not be read is C(WARN).
  - When the module failed (PostgreSQL unreachable, the login refused) both findings are C(FAIL) with its message.
options:
  _input:
    description: The registered result of M(clickview.runbook.pg_query_plans) (run with C(failed_when=false)).
    type: dict
    required: true
  thresholds:
    description: C(active_query_seconds) and C(p95_seconds), each C({warn, fail}), as C(alert_response_latency_thresholds).
    type: dict
    required: true
  primary:
    description: The PostgreSQL primary (C(name), C(host), C(port)), the target of both findings.
    type: dict
    required: true
  min_duration:
    description: The module's C(min_duration) in seconds, for the figure when no query was listed.
    type: float
    default: 0
  plan_lines:
    description: At most this many plan lines per query in the evidence.
    type: int
    default: 8
  evidence_limit:
    description: At most this many evidence lines per finding.
    type: int
    default: 20
  large_table_rows:
    description: A sequential scan the planner expects this many rows or more from is named as a large one.
    type: int
    default: 10000
"""

EXAMPLES = r"""
- name: Plans of the slowest queries
  clickview.runbook.pg_query_plans:
    login_host: "{{ clickview_postgres_primary.host }}"
    min_duration: 5
  register: plans
  failed_when: false

- name: Grade them
  ansible.builtin.set_fact:
    findings: >-
      {{ plans | clickview.runbook.query_plan_findings(thresholds=alert_response_latency_thresholds,
           primary=clickview_postgres_primary, min_duration=5, evidence_limit=20) }}
    # [{'check': 'postgres.query_plans', 'status': 'WARN', 'figure': '1 slow query, 1 explained, the longest running
    #   12.5 s; Seq Scan on page_views (~250000 rows)', 'evidence': ['pid 4711 clickview_app app=web 12.5 s: SELECT ...',
    #   '    Aggregate  (cost=...)', '      ->  Seq Scan on page_views  (cost=... rows=250000 width=0)'], ...},
    #  {'check': 'postgres.top_statements', 'status': 'OK', ...}]
"""

RETURN = r"""
_value:
  description: C(postgres.query_plans) and C(postgres.top_statements); each with C(check), C(target), C(status),
    C(figure), C(threshold), C(evidence), C(recommendation), C(value) and C(unit) - for C(postgres.query_plans) how
    long the longest slow query has run (C(s)), null when there is none or the plans were not read; always null for
    C(postgres.top_statements) (not graded).
  type: list
  elements: dict
"""

SEQ_SCAN = re.compile(r"Seq Scan on (\S+)(?: \S+)?\s+\(cost=[^ ]+ rows=(\d+)")
PLANS_CHECK = "postgres.query_plans"
STATEMENTS_CHECK = "postgres.top_statements"


def _number(value):
    return ("%.1f" % float(value)).rstrip("0").rstrip(".")


def large_scans(plan, large_table_rows):
    """(table, estimated rows) of every sequential scan of at least ``large_table_rows`` rows in the plan lines."""
    found = []
    for line in plan or []:
        match = SEQ_SCAN.search(str(line))
        if match and int(match.group(2)) >= int(large_table_rows):
            found.append((match.group(1), int(match.group(2))))
    return found


def query_lines(query, plan_lines, large_table_rows):
    """The evidence lines of one query: who runs it, then its first plan lines or why it has none."""
    waiting = (" waiting " + query["wait"]) if query.get("wait") else ""
    lines = ["pid %s %s app=%s %s s%s: %s" % (
        query.get("pid"), query.get("user"), query.get("application") or "-", _number(query.get("seconds") or 0), waiting,
        query.get("query"))]
    plan = query.get("plan") or []
    if plan:
        how = query.get("explain") or "EXPLAIN"
        if query.get("analyze_skipped"):
            how += " - " + query["analyze_skipped"]
        lines.append("  %s:" % how)
        lines.extend("    " + str(line) for line in plan[:plan_lines])
        if len(plan) > plan_lines:
            lines.append("    ... %d more plan lines" % (len(plan) - plan_lines))
        lines.extend("  large sequential scan: %s (~%d rows)" % scan for scan in large_scans(plan, large_table_rows))
    elif query.get("explain_error"):
        lines.append("  EXPLAIN refused by PostgreSQL: %s" % query["explain_error"])
    else:
        lines.append("  not explained: %s" % (query.get("explain_skipped") or "no plan"))
    return lines


def _failed(result):
    return "queries" not in (result or {})


def plans_finding(result, thresholds, target, min_duration, plan_lines, limit, large_table_rows):
    """postgres.query_plans: the slowest active queries with their plans."""
    warn, fail = threshold_pair(thresholds, "active_query_seconds")
    finding = {"check": PLANS_CHECK, "target": target, "value": None, "unit": None,
               "threshold": "longest warn >= %s s, fail >= %s s (as postgres.active_queries)" % (warn, fail)}
    if _failed(result):
        message = str(result.get("msg") or "the plans could not be read")
        finding.update(status="FAIL", figure="unknown", evidence=[message],
                       recommendation="Restore access to PostgreSQL first (%s)." % message)
        return finding
    queries = sorted(result.get("queries") or [], key=lambda q: float(q.get("seconds") or 0), reverse=True)
    if not queries:
        finding.update(status="OK", figure="no active query running for %s s or more" % _number(min_duration),
                       evidence=[], recommendation="No slow query to explain.")
        return finding
    longest = float(queries[0].get("seconds") or 0)
    explained = [q for q in queries if q.get("plan")]
    scans = []
    for query in explained:
        scans.extend(scan for scan in large_scans(query["plan"], large_table_rows) if scan not in scans)
    figure = "%d slow quer%s, %d explained, the longest running %s s" % (
        len(queries), "y" if len(queries) == 1 else "ies", len(explained), _number(longest))
    if scans:
        figure += "; " + ", ".join("Seq Scan on %s (~%d rows)" % scan for scan in scans)
    evidence = []
    for query in queries:
        evidence.extend(query_lines(query, plan_lines, large_table_rows))
    if len(evidence) > limit:
        evidence = evidence[:max(limit - 1, 0)] + ["... %d more lines" % (len(evidence) - max(limit - 1, 0))]
    if scans:
        recommendation = ("The plans read whole large tables (%s): an index on the columns the query filters or joins "
                          "on may help; end a query that holds others up (alert_db_connection_pool_exhausted.yml)."
                          % ", ".join(table for table, _rows in scans))
    elif explained:
        recommendation = ("Read the plans of the slowest queries in the evidence; end a query that holds others up "
                          "(alert_db_connection_pool_exhausted.yml).")
    else:
        recommendation = ("No plan could be made (see the evidence); rerun pg_query_plans with a login that may read "
                          "the tables, or end a query that holds others up (alert_db_connection_pool_exhausted.yml).")
    finding.update(status=health_status(longest, thresholds.get("active_query_seconds")), figure=figure,
                   evidence=evidence, recommendation=recommendation, value=longest, unit="s")
    return finding


def statements_finding(result, thresholds, target, limit):
    """postgres.top_statements: pg_stat_statements' statements with the largest total time, not graded."""
    p95_warn = threshold_pair(thresholds, "p95_seconds")[0]
    slow_ms = float(p95_warn) * 1000 if p95_warn is not None else None
    finding = {"check": STATEMENTS_CHECK, "target": target, "value": None, "unit": None,
               "threshold": "not graded (totals since the statistics were reset); a mean at or above the P95 warn "
                            "threshold%s is marked" % (" (%s ms)" % _number(slow_ms) if slow_ms is not None else "")}
    if _failed(result):
        message = str(result.get("msg") or "pg_stat_statements could not be read")
        finding.update(status="FAIL", figure="unknown", evidence=[message],
                       recommendation="Restore access to PostgreSQL first (%s)." % message)
        return finding
    if not result.get("statements_available"):
        reason = str(result.get("statements_reason") or "not available")
        unreadable = reason.startswith("pg_stat_statements could not be read")
        finding.update(status="WARN" if unreadable else "OK", figure="not available: " + reason, evidence=[],
                       recommendation=(
                           "Fix pg_stat_statements (%s) to see which statements take the time." % reason if unreadable
                           else "Install pg_stat_statements (shared_preload_libraries, then CREATE EXTENSION "
                                "pg_stat_statements in the database) to see which statements take the time."))
        return finding
    statements = result.get("top_statements") or []
    marked = [s for s in statements if slow_ms is not None and float(s.get("mean_ms") or 0) >= slow_ms]
    since = (" since " + str(result["statements_reset"])) if result.get("statements_reset") else ""
    if statements:
        top = statements[0]
        figure = "%d statements%s, the largest total %s ms (mean %s ms over %s calls)" % (
            len(statements), since, _number(top.get("total_ms") or 0), _number(top.get("mean_ms") or 0), top.get("calls"))
    else:
        figure = "no statement recorded%s" % since
    evidence = ["%s ms total, mean %s ms, %s calls, %s rows, %s: %s%s" % (
        _number(s.get("total_ms") or 0), _number(s.get("mean_ms") or 0), s.get("calls"), s.get("rows"), s.get("user"),
        s.get("query"), " - mean at or above the P95 warn threshold" if s in marked else "") for s in statements][:limit]
    finding.update(status="OK", figure=figure, evidence=evidence,
                   recommendation=("%d of the top statements take as long on average as the P95 threshold allows a "
                                   "whole request: check their plans and indexes." % len(marked)) if marked else
                   "The statements that take the most time in total are listed for reference.")
    return finding


def query_plan_findings(result, thresholds=None, primary=None, min_duration=0, plan_lines=8, evidence_limit=20,
                        large_table_rows=10000):
    """The two findings (see DOCUMENTATION)."""
    result, thresholds = result or {}, thresholds or {}
    target = server_target(primary)
    limit = int(evidence_limit)
    return [plans_finding(result, thresholds, target, min_duration, int(plan_lines), limit, int(large_table_rows)),
            statements_finding(result, thresholds, target, limit)]


class FilterModule:
    """High Latency query plan filters."""

    def filters(self):
        return {"query_plan_findings": query_plan_findings}
