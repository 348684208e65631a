"""plugins/filter/query_plan_findings: the High Latency alert's query plans and top statements."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.filter.query_plan_findings import (  # noqa: E402
    large_scans, query_plan_findings)

T = {"active_query_seconds": {"warn": 5, "fail": 60}, "p95_seconds": {"warn": 0.4, "fail": 0.5}}
PRIMARY = {"name": "primary", "host": "db", "port": 5432}
PLAN = ["Aggregate  (cost=4580.00..4580.01 rows=1 width=8)",
        "  ->  Hash Join  (cost=155.00..4455.00 rows=50000 width=0)",
        "        Hash Cond: (v.user_id = u.id)",
        "        ->  Seq Scan on page_views v  (cost=0.00..3000.00 rows=250000 width=4)",
        "        ->  Hash  (cost=92.50..92.50 rows=5000 width=4)",
        "              ->  Seq Scan on users u  (cost=0.00..92.50 rows=5000 width=4)"]


def query(pid=4711, seconds=12.5, plan=None, **extra):
    found = {"pid": pid, "user": "clickview_app", "application": "web", "database": "clickview", "seconds": seconds,
             "wait": "", "query": "SELECT count(*) FROM page_views v JOIN users u ON u.id = v.user_id",
             "statement": "SELECT", "explain": "EXPLAIN (FORMAT TEXT)" if plan else None, "plan": plan or [],
             "explain_skipped": None, "explain_error": None, "analyze_skipped": None}
    found.update(extra)
    return found


def result(queries=(), statements=None, reason=None, reset=None):
    return {"changed": False, "queries": list(queries), "statements_available": statements is not None,
            "statements_reason": reason, "statements_reset": reset, "top_statements": list(statements or [])}


def findings(res, **kw):
    found = query_plan_findings(res, thresholds=T, primary=PRIMARY, min_duration=5, **kw)
    assert [f["check"] for f in found] == ["postgres.query_plans", "postgres.top_statements"]
    for f in found:
        assert set(f) == {"check", "target", "status", "figure", "threshold", "evidence", "recommendation", "value", "unit"}
        assert f["target"] == "primary db:5432"
    return found


def test_no_slow_query_is_ok():
    plans, _top = findings(result())
    assert plans["status"] == "OK" and plans["figure"] == "no active query running for 5 s or more"
    assert plans["evidence"] == [] and plans["recommendation"] == "No slow query to explain."
    assert plans["threshold"] == "longest warn >= 5 s, fail >= 60 s (as postgres.active_queries)"


def test_slow_query_with_its_plan_graded_like_the_active_queries_and_large_scans_named():
    plans, _top = findings(result([query(plan=PLAN)]))
    assert plans["status"] == "WARN"
    assert plans["figure"] == "1 slow query, 1 explained, the longest running 12.5 s; Seq Scan on page_views (~250000 rows)"
    assert plans["evidence"][0] == ("pid 4711 clickview_app app=web 12.5 s: "
                                    "SELECT count(*) FROM page_views v JOIN users u ON u.id = v.user_id")
    assert plans["evidence"][1] == "  EXPLAIN (FORMAT TEXT):"
    assert plans["evidence"][2:8] == ["    " + line for line in PLAN]
    assert plans["evidence"][8] == "  large sequential scan: page_views (~250000 rows)"
    assert "whole large tables (page_views)" in plans["recommendation"]
    assert findings(result([query(seconds=61, plan=PLAN)]))[0]["status"] == "FAIL"
    assert findings(result([query(seconds=4.9, plan=PLAN)]))[0]["status"] == "OK"


def test_small_scans_are_not_named_and_the_plan_is_cut_to_plan_lines():
    plan = ["Seq Scan on audit_log  (cost=0.00..41.00 rows=2000 width=0)"]
    plans, _top = findings(result([query(plan=plan)]))
    assert "Seq Scan" not in plans["figure"] and plans["recommendation"].startswith("Read the plans of the slowest queries")
    cut, _top = findings(result([query(plan=PLAN)]), plan_lines=2)
    assert cut["evidence"][2:5] == ["    " + PLAN[0], "    " + PLAN[1], "    ... 4 more plan lines"]
    assert large_scans(PLAN, 1000) == [("page_views", 250000), ("users", 5000)]
    assert large_scans(["Parallel Seq Scan on events  (cost=0.00..10.00 rows=20000 width=4) (actual time=0.1..2 rows=3 loops=1)"],
                       10000) == [("events", 20000)]


def test_queries_without_a_plan_say_why_and_longest_first():
    skipped = query(pid=1, seconds=30, explain_skipped="the text holds more than one statement", query="SELECT 1; SELECT 2")
    refused = query(pid=2, seconds=7, explain_error="permission denied for table users", wait="Lock/relation")
    plans, _top = findings(result([refused, skipped]))
    assert plans["figure"] == "2 slow queries, 0 explained, the longest running 30 s"
    assert plans["evidence"] == ["pid 1 clickview_app app=web 30 s: SELECT 1; SELECT 2",
                                 "  not explained: the text holds more than one statement",
                                 "pid 2 clickview_app app=web 7 s waiting Lock/relation: "
                                 "SELECT count(*) FROM page_views v JOIN users u ON u.id = v.user_id",
                                 "  EXPLAIN refused by PostgreSQL: permission denied for table users"]
    assert plans["recommendation"].startswith("No plan could be made")


def test_analyze_fallback_is_shown_and_evidence_is_limited():
    fallback = query(plan=PLAN[:1], analyze_skipped="ANALYZE would execute this UPDATE statement: explained without ANALYZE")
    plans, _top = findings(result([fallback]))
    assert plans["evidence"][1] == ("  EXPLAIN (FORMAT TEXT) - ANALYZE would execute this UPDATE statement: "
                                    "explained without ANALYZE:")
    many, _top = findings(result([query(pid=i, plan=PLAN) for i in range(5)]), evidence_limit=10)
    assert len(many["evidence"]) == 10 and many["evidence"][-1] == "... 36 more lines"


def test_module_failure_is_fail_for_both():
    plans, top = findings({"failed": True, "msg": "unable to connect to PostgreSQL as ops@db:5432: refused"})
    for f in (plans, top):
        assert f["status"] == "FAIL" and f["figure"] == "unknown"
        assert f["evidence"] == ["unable to connect to PostgreSQL as ops@db:5432: refused"]
        assert f["recommendation"].startswith("Restore access to PostgreSQL first (unable to connect")
    assert findings({})[0]["status"] == "FAIL" and findings(None)[1]["status"] == "FAIL"


def test_top_statements_are_listed_not_graded_and_slow_means_marked():
    statements = [{"queryid": 1, "user": "clickview_app", "calls": 1520, "total_ms": 912345.5, "mean_ms": 600.2,
                   "rows": 1520, "query": "SELECT * FROM page_views WHERE user_id = $1"},
                  {"queryid": 2, "user": "clickview_app", "calls": 90000, "total_ms": 9000.0, "mean_ms": 0.1,
                   "rows": 90000, "query": "SELECT * FROM users WHERE id = $1"}]
    _plans, top = findings(result(statements=statements, reset="2025-01-31 10:00:00+00"))
    assert top["status"] == "OK"
    assert top["figure"] == ("2 statements since 2025-01-31 10:00:00+00, the largest total 912345.5 ms "
                             "(mean 600.2 ms over 1520 calls)")
    assert top["evidence"] == [
        "912345.5 ms total, mean 600.2 ms, 1520 calls, 1520 rows, clickview_app: SELECT * FROM page_views WHERE "
        "user_id = $1 - mean at or above the P95 warn threshold",
        "9000 ms total, mean 0.1 ms, 90000 calls, 90000 rows, clickview_app: SELECT * FROM users WHERE id = $1"]
    assert top["threshold"] == ("not graded (totals since the statistics were reset); a mean at or above the P95 warn "
                                "threshold (400 ms) is marked")
    assert top["recommendation"].startswith("1 of the top statements take as long on average")
    _plans, fast = findings(result(statements=statements[1:]))
    assert fast["recommendation"] == "The statements that take the most time in total are listed for reference."
    _plans, empty = findings(result(statements=[]))
    assert empty["status"] == "OK" and empty["figure"] == "no statement recorded"


def test_top_statements_absent_is_ok_and_unreadable_is_warn():
    _plans, absent = findings(result(reason="the pg_stat_statements extension is not installed in database clickview"))
    assert absent["status"] == "OK"
    assert absent["figure"] == "not available: the pg_stat_statements extension is not installed in database clickview"
    assert absent["recommendation"].startswith("Install pg_stat_statements")
    _plans, broken = findings(result(reason="pg_stat_statements could not be read: must be loaded via shared_preload_libraries"))
    assert broken["status"] == "WARN" and broken["recommendation"].startswith("Fix pg_stat_statements")


def test_the_value_is_the_longest_query_in_seconds_and_top_statements_have_none():
    plans, top = findings(result([query(seconds=12.5), query(pid=2, seconds="61.25")], statements=[]))
    assert (plans["value"], plans["unit"]) == (61.25, "s")
    assert (top["value"], top["unit"]) == (None, None)
    nothing, _top = findings(result())
    assert (nothing["value"], nothing["unit"]) == (None, None)
