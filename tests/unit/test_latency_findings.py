"""plugins/filter/latency_findings: the High Latency alert's grading (it was Jinja in the role's investigate.yml)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.filter.latency_findings import latency_findings  # noqa: E402

T = {"p95_seconds": {"warn": 0.4, "fail": 0.5}, "pod_cpu_pct": {"warn": 70, "fail": 90},
     "pod_memory_pct": {"warn": 75, "fail": 85}, "active_query_seconds": {"warn": 5, "fail": 60},
     "redis_hit_rate": {"warn": 0.85, "fail": 0.80}}
MIB = 1048576
CHECKS = ["prometheus.latency_p95", "k8s.pod_cpu", "k8s.pod_memory", "postgres.active_queries", "postgres.query_plans",
          "postgres.top_statements", "redis.cache_hit_rate"]


def usage(cpu_m=100, mem_mib=64):
    return [{"pod": "backend-1", "container": "backend", "cpu_m": cpu_m, "cpu_limit_m": 500, "cpu_request_m": 100,
             "restarts": 0, "mem_b": mem_mib * MIB, "mem_limit_b": 256 * MIB, "mem_request_b": 128 * MIB, "ready": True},
            {"pod": "backend-2", "container": "backend", "cpu_m": 10, "cpu_limit_m": 500, "cpu_request_m": 100,
             "restarts": 1, "mem_b": 32 * MIB, "mem_limit_b": 256 * MIB, "mem_request_b": 128 * MIB, "ready": True}]


def redis(hits, misses):
    return {"info": {"keyspace_hits": hits, "keyspace_misses": misses, "redis_version": "7.2"}}


def active(*seconds):
    return {"query_result": [{"pid": 100 + i, "usename": "app", "application_name": "web", "wait": "", "seconds": s,
                              "query": "SELECT %d" % i} for i, s in enumerate(seconds)]}


PLANS = {"queries": [], "statements_available": False, "statements_reset": None, "top_statements": [],
         "statements_reason": "the pg_stat_statements extension is not installed in database clickview"}


def grade(p95=0.12, **kw):
    args = dict(prom_error="", query="histogram_quantile(0.95, x)", window="5m", prometheus_url="http://prom:9090",
                k8s={"error": "", "metrics_error": ""}, usage=usage(), deployment="clickview-backend",
                namespace="clickview", active=active(0.5), plans=PLANS, redis_before=redis(100, 10),
                redis_after=redis(200, 12), redis_before_at=1000, now=1010.4, redis={"host": "redis", "port": 6379},
                primary={"name": "primary", "host": "db", "port": 5432}, thresholds=T, evidence_limit=20)
    args.update(kw)
    found = latency_findings(p95, **args)
    assert [f["check"] for f in found] == CHECKS
    for f in found:
        assert set(f) == {"check", "target", "status", "figure", "threshold", "evidence", "recommendation", "value", "unit"}, f
    return {f["check"]: f for f in found}


def test_healthy_figures_are_ok_with_the_report_texts():
    found = grade()
    assert all(f["status"] == "OK" for f in found.values()), found
    p95 = found["prometheus.latency_p95"]
    assert p95["figure"] == "120 ms" and p95["threshold"] == "warn >= 400 ms, fail >= 500 ms"
    assert p95["target"] == "P95 request duration over 5m (http://prom:9090)"
    assert p95["evidence"] == ["query: histogram_quantile(0.95, x)"]
    assert p95["recommendation"] == "Latency is within its threshold."
    cpu = found["k8s.pod_cpu"]
    assert cpu["target"] == "deployment/clickview-backend (clickview)"
    assert cpu["figure"] == "highest 20.0 % of its CPU limit (backend-1), 2 containers measured"
    assert cpu["threshold"] == "warn >= 70 %, fail >= 90 % of the CPU limit (request without limit)"
    assert cpu["evidence"][0] == "backend-1/backend: cpu 100m of 500m limit (20.0 %), 0 restarts"
    assert cpu["recommendation"] == "CPU is not the bottleneck."
    mem = found["k8s.pod_memory"]
    assert mem["figure"] == "highest 25.0 % of its memory limit (backend-1)"
    assert mem["threshold"] == "warn >= 75 %, fail >= 85 % of the memory limit"
    assert mem["recommendation"] == "Memory is not the bottleneck."
    pg = found["postgres.active_queries"]
    assert pg["target"] == "primary db:5432" and pg["figure"] == "1 active queries, the longest running 0.5 s"
    assert pg["threshold"] == "longest warn >= 5 s, fail >= 60 s" and pg["recommendation"] == "No slow query is running."
    assert pg["evidence"] == ["pid 100 app app=web 0.5s: SELECT 0"]
    hit = found["redis.cache_hit_rate"]
    assert hit["target"] == "redis:6379" and hit["evidence"] == []
    assert hit["figure"] == "98.0 % in the last 10 s (100 hits, 2 misses; lifetime 94.3 %)"
    assert hit["threshold"] == "warn below 85 %, fail below 80 % of the lookups during the investigation"
    assert hit["recommendation"] == "The cache hit rate is healthy."


def test_high_figures_are_graded_at_their_thresholds():
    assert grade(0.4)["prometheus.latency_p95"]["status"] == "WARN"
    slow = grade(0.9127)["prometheus.latency_p95"]
    assert slow["status"] == "FAIL" and slow["figure"] == "913 ms"
    assert slow["recommendation"].startswith("Scale the backend out (remediate=true or alert_response_scale_out=true)")
    assert "postgres.query_plans" in slow["recommendation"] and "EXPLAIN ANALYZE" not in slow["recommendation"]
    busy = grade(usage=usage(cpu_m=350, mem_mib=200))
    assert busy["k8s.pod_cpu"]["status"] == "WARN"
    assert busy["k8s.pod_cpu"]["recommendation"] == "CPU is near its limit: scale out, or raise the CPU limit."
    assert busy["k8s.pod_memory"]["status"] == "WARN"
    assert busy["k8s.pod_memory"]["recommendation"].startswith("Memory is near its limit")
    assert grade(usage=usage(cpu_m=450, mem_mib=218))["k8s.pod_memory"]["status"] == "FAIL"
    queries = grade(active=active(3, 61.5))["postgres.active_queries"]
    assert queries["status"] == "FAIL" and queries["figure"] == "2 active queries, the longest running 61.5 s"
    assert queries["evidence"][0].startswith("pid 101 app app=web 61.5s")
    assert queries["recommendation"].startswith("Read the plans of the slowest queries (postgres.query_plans below)")
    assert grade(active=active(5))["postgres.active_queries"]["status"] == "WARN"
    misses = grade(redis_after=redis(110, 40))["redis.cache_hit_rate"]
    assert misses["status"] == "FAIL" and misses["recommendation"].startswith("The cache misses too often")


def test_nothing_measured():
    # postgresql_query returns query_result {} (not []) when there is no row
    found = grade(None, usage=[], k8s={"error": "", "metrics_error": "metrics API: 503"}, active={"query_result": {}},
                  redis_after=redis(100, 10))
    assert found["prometheus.latency_p95"]["status"] == "WARN"
    assert found["prometheus.latency_p95"]["figure"] == "no requests in the window"
    assert found["k8s.pod_cpu"]["status"] == "FAIL" and found["k8s.pod_cpu"]["figure"] == "metrics API: 503"
    assert grade(usage=[])["k8s.pod_memory"]["figure"] == "no pod metrics (metrics API)"
    assert found["postgres.active_queries"]["status"] == "OK"
    assert found["postgres.active_queries"]["figure"] == "0 active queries, the longest running 0 s"
    assert found["redis.cache_hit_rate"]["status"] == "OK" and found["redis.cache_hit_rate"]["figure"].startswith("no lookups")


def test_unreachable_sources_are_fail_with_their_messages():
    found = grade(None, prom_error="connection refused", k8s={"error": "Kubernetes API: 401", "metrics_error": ""}, usage=[],
                  active={"failed": True, "msg": "could not connect"}, plans={"failed": True, "msg": "unable to connect"},
                  redis_after={"msg": "Redis down"})
    assert all(f["status"] == "FAIL" for f in found.values()), found
    p95 = found["prometheus.latency_p95"]
    assert p95["figure"] == "unknown: Prometheus did not answer"
    assert p95["evidence"] == ["connection refused", "query: histogram_quantile(0.95, x)"]
    assert p95["recommendation"] == "Restore access to Prometheus first: connection refused"
    assert found["k8s.pod_cpu"]["figure"] == "Kubernetes API: 401"
    pg = found["postgres.active_queries"]
    assert pg["figure"] == "unreachable" and pg["evidence"] == ["could not connect"]
    assert pg["recommendation"] == "Restore access to PostgreSQL first (could not connect)."
    assert found["postgres.query_plans"]["evidence"] == ["unable to connect"]
    hit = found["redis.cache_hit_rate"]
    assert hit["figure"] == "unreachable" and hit["evidence"] == ["Redis down"]
    assert hit["recommendation"] == "Restore access to Redis first (Redis down)."
    # the Kubernetes API failed although rows were read: still FAIL
    assert grade(k8s={"error": "Kubernetes API: 500", "metrics_error": ""})["k8s.pod_cpu"]["status"] == "FAIL"


def test_plans_come_from_query_plan_findings_and_evidence_is_limited():
    plans = dict(PLANS, queries=[{"pid": 7, "user": "app", "application": "web", "seconds": 12.5, "wait": "",
                                  "query": "SELECT count(*) FROM big", "explain": "EXPLAIN (FORMAT TEXT)",
                                  "plan": ["Aggregate  (cost=1.00..1.01 rows=1 width=8)"], "explain_skipped": None,
                                  "explain_error": None, "analyze_skipped": None}])
    found = grade(plans=plans, active=active(*range(30)), evidence_limit=5)
    assert found["postgres.query_plans"]["status"] == "WARN"
    assert found["postgres.query_plans"]["evidence"][:2] == [
        "pid 7 app app=web 12.5 s: SELECT count(*) FROM big", "  EXPLAIN (FORMAT TEXT):"]
    assert found["postgres.top_statements"]["status"] == "OK"
    assert len(found["postgres.active_queries"]["evidence"]) == 5
    assert grade()["postgres.query_plans"]["figure"] == "no active query running for 5 s or more"


def test_values_and_units():
    found = grade(p95=0.4567, usage=usage(cpu_m=430, mem_mib=200), active=active(0.5, 73.25))
    assert [(f["value"], f["unit"]) for f in found.values()] == [
        (457, "ms"), (86.0, "%"), (78.1, "%"), (73.25, "s"), (None, None), (None, None), (98.0, "%")]


def test_no_figure_no_value():
    found = grade(p95=None, prom_error="refused", k8s={"error": "Forbidden", "metrics_error": ""}, usage=[],
                  active={"msg": "refused"}, redis_after={"failed": True, "msg": "refused"})
    assert all((f["value"], f["unit"]) == (None, None) for f in found.values()), found
