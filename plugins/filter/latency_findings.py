# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The figures of the High Latency alert, graded: P95, pod CPU and memory, active queries and their plans, Redis."""

from __future__ import annotations

import time

from ansible_collections.clickview.runbook.plugins.filter.active_queries import active_queries
from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.filter.query_plan_findings import query_plan_findings
from ansible_collections.clickview.runbook.plugins.filter.redis_checks import redis_checks
from ansible_collections.clickview.runbook.plugins.filter.usage_rows import usage_rows
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import server_target, threshold_pair

DOCUMENTATION = r"""
name: latency_findings
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: Grade the figures of the High Latency alert
description:
  - Takes the figures the alert's investigation gathered and returns its findings, in this order, each with C(check),
    C(target), C(status), C(figure), C(threshold), C(evidence) and C(recommendation).
  - C(prometheus.latency_p95) - the P95 request duration against O(thresholds.p95_seconds); C(FAIL) when Prometheus
    did not answer, C(WARN) when there was no request in the window.
  - C(k8s.pod_cpu) and C(k8s.pod_memory) - the highest container usage against its CPU limit (the request without a
    limit) and its memory limit, from P(clickview.runbook.usage_rows#filter), against O(thresholds.pod_cpu_pct) and
    O(thresholds.pod_memory_pct); C(FAIL) when the Kubernetes API failed or no container was measured.
  - C(postgres.active_queries) - the longest active query against O(thresholds.active_query_seconds); C(FAIL) when
    PostgreSQL could not be reached.
  - C(postgres.query_plans) and C(postgres.top_statements) - from P(clickview.runbook.query_plan_findings#filter).
  - C(redis.cache_hit_rate) - the hit rate of the lookups between the two INFO samples (P(clickview.runbook.redis_checks#filter))
    against O(thresholds.redis_hit_rate), lower is worse; C(FAIL) when Redis could not be reached.
  - A figure at a threshold takes that grade (at C(warn) is C(WARN), at C(fail) is C(FAIL)).
options:
  _input:
    description: The P95 in seconds, V(null) when Prometheus had no data.
    type: float
    required: true
  prom_error:
    description: Why Prometheus did not answer; empty when it did.
    type: str
    default: ''
  query:
    description: The P95 query, for the evidence.
    type: str
    default: ''
  window:
    description: The rate window of the query, for the target.
    type: str
    default: ''
  prometheus_url:
    description: Prometheus, for the target.
    type: str
    default: ''
  k8s:
    description: What the role read from Kubernetes (C(error), C(metrics_error)).
    type: dict
    default: {}
  usage:
    description: Rows of P(clickview.runbook.container_usage#filter).
    type: list
    elements: dict
    default: []
  deployment:
    description: The backend deployment, for the target of the pod findings.
    type: str
    default: ''
  namespace:
    description: Its namespace.
    type: str
    default: ''
  active:
    description: The registered postgresql_query result of the active queries (C(pid), C(usename), C(application_name),
      C(wait), C(seconds), C(query)).
    type: dict
    default: {}
  plans:
    description: The registered result of M(clickview.runbook.pg_query_plans).
    type: dict
    default: {}
  redis_before:
    description: The first Redis INFO sample (C(info), or C(msg) when it failed).
    type: dict
    default: {}
  redis_after:
    description: The second Redis INFO sample.
    type: dict
    default: {}
  redis_before_at:
    description: When the first sample was taken (epoch seconds); the window of the hit rate ends now.
    type: float
    default: 0
  now:
    description: The end of that window (epoch seconds), for tests; by default now.
    type: float
  redis:
    description: Redis (C(host), C(port)), the target of the hit rate.
    type: dict
    default: {}
  primary:
    description: The PostgreSQL primary (C(name), C(host), C(port)), the target of the PostgreSQL findings.
    type: dict
    default: {}
  thresholds:
    description: C(p95_seconds), C(pod_cpu_pct), C(pod_memory_pct), C(active_query_seconds) and C(redis_hit_rate), each
      C({warn, fail}), as C(alert_response_latency_thresholds).
    type: dict
    required: true
  evidence_limit:
    description: At most this many evidence lines per list.
    type: int
    default: 20
"""

EXAMPLES = r"""
- name: Grade the figures
  ansible.builtin.set_fact:
    findings: >-
      {{ alert_response_prom.latency_p95 | clickview.runbook.latency_findings(prom_error=alert_response_prom_error,
           query=alert_response_latency_query, window='5m', prometheus_url='http://prometheus:9090',
           k8s=alert_response_k8s, usage=alert_response_k8s_usage, deployment='clickview-backend', namespace='clickview',
           active=pg_active, plans=pg_plans, redis_before=redis_first, redis_after=redis_second,
           redis_before_at=redis_first_at, redis=clickview_redis, primary=clickview_postgres_primary,
           thresholds=alert_response_latency_thresholds, evidence_limit=20) }}
    # [{'check': 'prometheus.latency_p95', 'status': 'FAIL', 'figure': '912 ms', ...}, {'check': 'k8s.pod_cpu', ...},
    #  {'check': 'k8s.pod_memory', ...}, {'check': 'postgres.active_queries', ...}, {'check': 'postgres.query_plans', ...},
    #  {'check': 'postgres.top_statements', ...}, {'check': 'redis.cache_hit_rate', ...}]
"""

RETURN = r"""
_value:
  description: C(prometheus.latency_p95), C(k8s.pod_cpu), C(k8s.pod_memory), C(postgres.active_queries),
    C(postgres.query_plans), C(postgres.top_statements), C(redis.cache_hit_rate); each with C(check), C(target),
    C(status), C(figure), C(threshold), C(evidence), C(recommendation), C(value) and C(unit) - the P95 in
    milliseconds (C(ms)), the highest container CPU and memory as percent numbers of their limit (C(%)), the longest
    active query (C(s)), the query plans' values (see P(clickview.runbook.query_plan_findings#filter)), the cache hit
    rate as a percent number (C(%)); both null when the figure has no number (unreachable, no data).
  type: list
  elements: dict
"""

NO_METRICS = "no pod metrics (metrics API)"


def query_rows(result):
    """The rows of a registered postgresql_query result; it returns an empty dict, not a list, when there is no row."""
    found = (result or {}).get("query_result")
    if isinstance(found, dict):
        return [found] if found else []
    return list(found or [])


def p95_finding(p95, prom_error, query, target, thresholds):
    """prometheus.latency_p95."""
    warn, fail = threshold_pair(thresholds, "p95_seconds")
    ms = None
    if prom_error:
        status, figure = "FAIL", "unknown: Prometheus did not answer"
        recommendation = "Restore access to Prometheus first: %s" % prom_error
    else:
        status = "WARN" if p95 is None else health_status(p95, thresholds.get("p95_seconds"))
        ms = None if p95 is None else int(round(float(p95) * 1000))
        figure = "no requests in the window" if ms is None else "%d ms" % ms
        recommendation = "Latency is within its threshold." if status == "OK" else (
            "Scale the backend out (remediate=true or alert_response_scale_out=true) and look at the findings below: "
            "slow queries (their plans: postgres.query_plans), a low cache hit rate, CPU or memory at their limits.")
    return {"check": "prometheus.latency_p95", "target": target, "status": status, "figure": figure,
            "threshold": "warn >= %d ms, fail >= %d ms" % (int(float(warn) * 1000), int(float(fail) * 1000)),
            "evidence": ([prom_error] if prom_error else []) + ["query: %s" % query],
            "recommendation": recommendation, "value": ms, "unit": "ms" if ms is not None else None}


def cpu_finding(cpu_rows, k8s, target, thresholds, limit):
    """k8s.pod_cpu: the highest container CPU against its limit (request without a limit)."""
    warn, fail = threshold_pair(thresholds, "pod_cpu_pct")
    top = cpu_rows[0] if cpu_rows else None
    if top is None:
        figure = k8s.get("error") or k8s.get("metrics_error") or NO_METRICS
    else:
        figure = "highest %s %% of its CPU %s (%s), %d containers measured" % (top["pct"], top["of"], top["pod"], len(cpu_rows))
    return {"check": "k8s.pod_cpu", "target": target,
            "status": "FAIL" if k8s.get("error") or top is None else health_status(top["pct"], thresholds.get("pod_cpu_pct")),
            "figure": figure,
            "threshold": "warn >= %s %%, fail >= %s %% of the CPU limit (request without limit)" % (warn, fail),
            "evidence": [row["text"] for row in cpu_rows][:limit],
            "value": top["pct"] if top else None, "unit": "%" if top else None,
            "recommendation": "CPU is near its limit: scale out, or raise the CPU limit."
                              if top is not None and top["pct"] >= float(warn) else "CPU is not the bottleneck."}


def memory_finding(mem_rows, k8s, target, thresholds, limit):
    """k8s.pod_memory: the highest container memory against its limit."""
    warn, fail = threshold_pair(thresholds, "pod_memory_pct")
    top = mem_rows[0] if mem_rows else None
    if top is None:
        figure = k8s.get("error") or k8s.get("metrics_error") or NO_METRICS
    else:
        figure = "highest %s %% of its memory limit (%s)" % (top["pct"], top["pod"])
    return {"check": "k8s.pod_memory", "target": target,
            "status": "FAIL" if k8s.get("error") or top is None else health_status(top["pct"], thresholds.get("pod_memory_pct")),
            "figure": figure, "threshold": "warn >= %s %%, fail >= %s %% of the memory limit" % (warn, fail),
            "evidence": [row["text"] for row in mem_rows][:limit],
            "value": top["pct"] if top else None, "unit": "%" if top else None,
            "recommendation": "Memory is near its limit: see the High Memory playbook (alert_high_memory.yml)."
                              if top is not None and top["pct"] >= float(warn) else "Memory is not the bottleneck."}


def active_finding(result, target, thresholds, limit):
    """postgres.active_queries: the longest active query on the primary."""
    warn, fail = threshold_pair(thresholds, "active_query_seconds")
    reachable = "query_result" in result
    active = active_queries(query_rows(result))
    longest = active[0]["seconds"] if active else 0
    message = result.get("msg", "unreachable")
    if not reachable:
        return {"check": "postgres.active_queries", "target": target, "status": "FAIL", "figure": "unreachable",
                "threshold": "longest warn >= %s s, fail >= %s s" % (warn, fail), "evidence": [message],
                "recommendation": "Restore access to PostgreSQL first (%s)." % message, "value": None, "unit": None}
    return {"check": "postgres.active_queries", "target": target,
            "status": health_status(longest, thresholds.get("active_query_seconds")),
            "figure": "%d active queries, the longest running %s s" % (len(active), longest),
            "threshold": "longest warn >= %s s, fail >= %s s" % (warn, fail),
            "evidence": [row["text"] for row in active][:limit], "value": longest, "unit": "s",
            "recommendation": "Read the plans of the slowest queries (postgres.query_plans below); end a query that holds "
                              "others up (alert_db_connection_pool_exhausted.yml)."
                              if float(longest) >= float(warn) else "No slow query is running."}


def hit_rate_finding(before, after, window, target, thresholds):
    """redis.cache_hit_rate: the hit rate of the lookups made during the investigation."""
    warn, fail = threshold_pair(thresholds, "redis_hit_rate")
    info = (after or {}).get("info") or {}
    hit = ([c for c in redis_checks(before, after=after, window=window, thresholds=thresholds)
            if c["check"] == "redis.cache_hit_rate"] + [{}])[0]
    message = (after or {}).get("msg", "unreachable")
    finding = {"check": "redis.cache_hit_rate", "target": target, "value": None, "unit": None,
               "threshold": "warn below %d %%, fail below %d %% of the lookups during the investigation" % (
                   int(round(float(warn) * 100)), int(round(float(fail) * 100)))}
    if not info:
        finding.update(status="FAIL", figure="unreachable", evidence=[message],
                       recommendation="Restore access to Redis first (%s)." % message)
        return finding
    finding.update(status=hit.get("status"), figure=hit.get("figure"), evidence=[], value=hit.get("value"),
                   unit=hit.get("unit"),
                   recommendation="The cache misses too often: check evictions (maxmemory) and the keys the backend caches."
                   if hit.get("status") != "OK" else "The cache hit rate is healthy.")
    return finding


def latency_findings(p95, prom_error="", query="", window="", prometheus_url="", k8s=None, usage=None, deployment="",
                     namespace="", active=None, plans=None, redis_before=None, redis_after=None, redis_before_at=0,
                     now=None, redis=None, primary=None, thresholds=None, evidence_limit=20):
    """The High Latency findings (see DOCUMENTATION)."""
    thresholds, k8s, redis = thresholds or {}, k8s or {}, redis or {}
    limit = int(evidence_limit)
    pods = "deployment/%s (%s)" % (deployment, namespace)
    primary_target = server_target(primary)
    now = time.time() if now is None else float(now)
    plan_findings = query_plan_findings(plans or {}, thresholds=thresholds, primary=primary,
                                        min_duration=threshold_pair(thresholds, "active_query_seconds")[0] or 0,
                                        evidence_limit=limit)
    return ([p95_finding(p95, prom_error, query, "P95 request duration over %s (%s)" % (window, prometheus_url), thresholds),
             cpu_finding(usage_rows(usage or [], "cpu"), k8s, pods, thresholds, limit),
             memory_finding(usage_rows(usage or [], "memory"), k8s, pods, thresholds, limit),
             active_finding(active or {}, primary_target, thresholds, limit)]
            + plan_findings
            + [hit_rate_finding(redis_before, redis_after, now - float(redis_before_at or 0),
                                "%s:%s" % (redis.get("host"), redis.get("port")), thresholds)])


class FilterModule:
    """High Latency filters."""

    def filters(self):
        return {"latency_findings": latency_findings}
