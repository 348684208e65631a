"""plugins/filter/analyze_report.py and unused_index_checks.py: the weekly maintenance's outcome."""
from ansible_collections.clickview.runbook.plugins.filter.analyze_report import analyze_report
from ansible_collections.clickview.runbook.plugins.filter.unused_index_checks import unused_index_checks

TABLES = [{"name": "public.a", "oid": 101}, {"name": "public.b", "oid": 102}, {"name": "public.c", "oid": 103}]
ANALYZED = {"execution_time_ms": [1, 1500, 250, 10]}     # SELECT now(), then one ANALYZE each


def state(**analyzed):
    return [{"oid": oid, "analyzed": flag, "last_analyze": "2025-01-01 00:00:00+00" if flag else None}
            for oid, flag in analyzed.items()]


def test_every_table_analyzed_is_ok_with_its_time():
    out = analyze_report(TABLES, ANALYZED, [{"oid": t["oid"], "analyzed": True} for t in TABLES], login="admin")
    assert [c["status"] for c in out["checks"]] == ["OK", "OK", "OK"]
    assert [c["figure"] for c in out["checks"]] == ["analyzed in 1.5 s", "analyzed in 0.25 s", "analyzed in 0.01 s"]
    assert [c["duration_seconds"] for c in out["checks"]] == [1.5, 0.25, 0.01]
    assert out["action"] == {"action": "analyze", "tables": ["public.a", "public.b", "public.c"], "check_mode": False,
                             "duration_seconds": 1.76, "summary": "ANALYZE 3 of 3 table(s) in 1.76 s"}


def test_dropped_table_warns_and_skipped_table_fails():
    rows = [{"oid": 101, "analyzed": True}, {"oid": 103, "analyzed": False}]     # 102 was dropped
    out = analyze_report(TABLES, ANALYZED, rows, login="admin")
    assert [c["status"] for c in out["checks"]] == ["OK", "WARN", "FAIL"]
    assert out["checks"][1]["figure"].startswith("gone: the table was dropped")
    assert out["checks"][2]["figure"].startswith("not analyzed: PostgreSQL skipped it")
    assert out["checks"][2]["detail"] == "login: admin"
    assert out["action"]["summary"] == "ANALYZE 1 of 3 table(s) in 1.76 s"


def test_oids_match_whatever_their_type():
    out = analyze_report(TABLES[:1], ANALYZED, [{"oid": "101", "analyzed": True}])
    assert out["checks"][0]["status"] == "OK"


def test_check_mode_analyzes_nothing_and_shows_the_last_analyze():
    rows = [{"oid": 101, "analyzed": False, "last_analyze": "2025-01-01 00:00:00+00"},
            {"oid": 102, "analyzed": False, "last_analyze": None}]        # 102: no statistics yet
    out = analyze_report(TABLES, {"skipped": True}, rows, check_mode=True)
    assert [c["status"] for c in out["checks"]] == ["OK", "OK", "OK"]
    assert [c["figure"] for c in out["checks"]] == [
        "would be analyzed (check mode); last analyzed 2025-01-01 00:00:00+00",
        "would be analyzed (check mode); last analyzed never",
        "would be analyzed (check mode); last analyzed never"]
    assert out["action"]["summary"] == "would ANALYZE 3 table(s)" and out["action"]["check_mode"] is True
    assert out["action"]["duration_seconds"] == 0


def test_no_table_to_analyze():
    out = analyze_report([], {"skipped": True}, [])
    assert out["checks"] == []
    assert out["action"]["summary"] == "ANALYZE 0 of 0 table(s) in 0.0 s"


# ---- unused indexes ----------------------------------------------------------------------

def index(name, table="public.t"):
    return {"index_name": name, "table_name": table, "bytes": 8192, "size": "8192 bytes", "definition": "..."}


def unused(*indexes, since="2025-01-01"):
    return {"query_all_results": [[{"since": since}], list(indexes) if indexes else {}]}


def test_unused_index_warns_with_its_size_and_table():
    rows = unused_index_checks(unused(index("public.t_idx")), [], "clickview")
    assert [(r["check"], r["target"], r["status"]) for r in rows] == [("index.unused", "public.t_idx", "WARN")]
    assert rows[0]["figure"] == "0 scans since 2025-01-01, 8192 bytes on public.t"


def test_no_unused_index_is_ok():
    rows = unused_index_checks(unused(since="cluster creation"), [], "clickview")
    assert [(r["check"], r["target"], r["status"], r["figure"]) for r in rows] == [
        ("index.unused", "clickview", "OK", "every index was scanned since cluster creation")]


def test_index_scanned_on_a_replica_is_not_unused():
    scans = [{"item": {"name": "replica-1"}, "query_result": [{"index_name": "public.t_idx", "idx_scan": 4}]},
             {"item": {"name": "replica-2"}, "query_result": {}}]
    rows = unused_index_checks(unused(index("public.t_idx"), index("public.u_idx")), scans, "clickview")
    assert [r["target"] for r in rows] == ["public.u_idx"]


def test_unreachable_replica_warns():
    scans = [{"item": {"name": "replica-1"}, "msg": "timeout"}, {"item": {"name": "replica-2"}, "msg": "timeout"}]
    rows = unused_index_checks(unused(), scans, "clickview")
    assert [(r["check"], r["status"]) for r in rows] == [("index.unused", "OK"), ("index.replica_usage", "WARN")]
    assert rows[1]["target"] == "replica-1, replica-2"


def test_an_analyzed_tables_value_is_its_seconds_others_have_none():
    rows = [{"oid": 101, "analyzed": True}, {"oid": 103, "analyzed": False}]     # 102 was dropped
    out = analyze_report(TABLES, ANALYZED, rows, login="admin")
    assert [(c["value"], c["unit"]) for c in out["checks"]] == [(1.5, "s"), (None, None), (None, None)]


def test_an_unused_indexes_value_is_its_size_in_bytes():
    big = dict(index("public.big_idx"), bytes=16777216, size="16 MB")
    rows = unused_index_checks(unused(big), [{"item": {"name": "replica-1"}}], "clickview")
    assert [(r["check"], r["value"], r["unit"]) for r in rows] == [
        ("index.unused", 16777216, "bytes"), ("index.replica_usage", None, None)]
