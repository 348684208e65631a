"""plugins/filter/pool_findings, pool_termination_action, disk_findings, vacuum_action: the database alerts' grading."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.filter.disk_findings import disk_findings  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.pgbouncer_check import pgbouncer_check  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.pool_findings import pool_findings  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.pool_termination_action import (  # noqa: E402
    pool_termination_action)
from ansible_collections.clickview.runbook.plugins.filter.vacuum_action import vacuum_action  # noqa: E402

POOL_T = {"connections_pct": {"warn": 75, "fail": 90}, "waiting_queries": {"warn": 1, "fail": 10},
          "long_queries": {"warn": 1, "fail": 10}, "pgbouncer_waiting_clients": {"warn": 1, "fail": 20}}
PRIMARY = {"name": "primary", "host": "db", "port": 5432}
BOUNCER = {"host": "pgb", "port": 6432}


def conn(connections, max_connections=103, reserved=3):
    return {"query_result": [{"max_connections": max_connections, "reserved": reserved, "connections": connections,
                              "by_state": "active 2, idle %d" % (connections - 2)}]}


def pool(connections=None, waiting=None, long_queries=None, pgbouncer=None, **kw):
    found = pool_findings(connections if connections is not None else conn(10), waiting=waiting or {"query_result": []},
                          long_queries=long_queries if long_queries is not None else {"backends": []},
                          pgbouncer=pgbouncer if pgbouncer is not None else {"query_result": []},
                          thresholds=POOL_T, primary=PRIMARY, pgbouncer_server=BOUNCER, login_user="ops",
                          min_duration="5m", **kw)
    return {f["check"]: f for f in found}


# ---- connections ---------------------------------------------------------------------------------

def test_connections_graded_on_the_slots_open_to_clients_at_the_thresholds():
    assert pool(conn(74))["postgres.connections"]["status"] == "OK"
    at_warn = pool(conn(75))["postgres.connections"]
    assert at_warn["status"] == "WARN"
    assert at_warn["figure"] == ("75 of 100 connection slots open to clients in use (75.0 %; max_connections 103, "
                                 "3 reserved)")
    assert at_warn["threshold"] == "warn >= 75 %, fail >= 90 %" and at_warn["target"] == "primary db:5432"
    assert at_warn["recommendation"].startswith("End the long-running queries")
    assert pool(conn(90))["postgres.connections"]["status"] == "FAIL"
    assert pool(conn(74))["postgres.connections"]["recommendation"] == "Connections are within bounds."


def test_all_slots_reserved_counts_one_slot():
    found = pool(conn(3, max_connections=3, reserved=3))["postgres.connections"]
    assert found["figure"].startswith("3 of 1 connection slots open to clients in use (300.0 %") and found["status"] == "FAIL"


def test_unreachable_is_fail_and_a_full_server_asks_for_a_reserved_slot_login():
    down = pool({"msg": "connection refused"}, waiting={"skipped": True}, long_queries={"skipped": True})
    assert down["postgres.connections"]["status"] == "FAIL" and down["postgres.connections"]["figure"] == "unreachable"
    assert down["postgres.connections"]["recommendation"] == (
        "Restore access to PostgreSQL first: the database could not be reached (connection refused).")
    assert down["postgres.waiting_queries"]["status"] == "FAIL" and down["postgres.waiting_queries"]["figure"] == "unknown"
    assert down["postgres.long_queries"]["status"] == "FAIL"
    assert down["postgres.long_queries"]["evidence"] == ["connection refused"]
    full = pool({"msg": "FATAL:  sorry, too many clients already\n"})["postgres.connections"]
    assert full["recommendation"].startswith("No connection slot is left for ops (FATAL:  sorry, too many clients already): ")
    reserved = pool({"msg": "remaining connection slots are reserved for roles with the SUPERUSER attribute"})
    assert "alert_response_pool_login_user" in reserved["postgres.connections"]["recommendation"]


# ---- long and waiting queries ---------------------------------------------------------------

def backend(pid, outcome="would_terminate", query="SELECT  pg_sleep(600)", app="web"):
    return {"pid": pid, "user": "app", "application": app, "state": "active", "duration": 12.345, "query": query,
            "outcome": outcome}


def test_long_queries_count_only_what_would_be_ended_and_list_it_within_the_limit():
    found = pool(long_queries={"backends": [backend(1), backend(2, "would_cancel", app=""), backend(3, "skipped")]},
                 evidence_limit=1)["postgres.long_queries"]
    assert found["status"] == "WARN" and found["figure"] == ("2 queries running longer than 5m (1 more protected: superuser, "
                                                             "own or non-client backends)")
    assert found["evidence"] == ["pid 1 app app=web active for 12.3s: SELECT pg_sleep(600)"]
    assert found["threshold"] == "warn >= 1, fail >= 10" and found["recommendation"].startswith("Terminate them")


def test_no_long_query_is_ok_and_a_long_text_is_cut():
    assert pool()["postgres.long_queries"]["status"] == "OK"
    assert pool()["postgres.long_queries"]["recommendation"] == "Nothing to terminate."
    line = pool(long_queries={"backends": [backend(1, query="SELECT " + "abc " * 100)]})["postgres.long_queries"]["evidence"][0]
    assert line.endswith("...") and len(line.split(": ", 1)[1]) <= 120
    assert pool(long_queries={"backends": [backend(i) for i in range(10)]})["postgres.long_queries"]["status"] == "FAIL"


def test_waiting_queries_at_the_thresholds():
    rows = [{"pid": i, "usename": "app", "application_name": None, "wait_event_type": "Lock", "wait_event": "relation",
             "seconds": 4, "query": "UPDATE t"} for i in range(10)]
    assert pool()["postgres.waiting_queries"]["status"] == "OK"
    one = pool(waiting={"query_result": rows[:1]})["postgres.waiting_queries"]
    assert one["status"] == "WARN" and one["evidence"] == ["pid 0 app app=- waiting on Lock/relation for 4s: UPDATE t"]
    assert pool(waiting={"query_result": rows})["postgres.waiting_queries"]["status"] == "FAIL"


# ---- PgBouncer -------------------------------------------------------------------------------------

def bouncer(waiting, database="clickview"):
    return {"database": database, "user": "app", "pool_mode": "transaction", "cl_active": "5", "cl_waiting": str(waiting),
            "maxwait": "0", "sv_active": "3", "sv_idle": "1"}


def test_pgbouncer_waiting_clients_without_its_own_database():
    found = pool(pgbouncer={"query_result": [bouncer(0), bouncer(99, "pgbouncer")]})["pgbouncer.pools"]
    assert found["status"] == "OK" and found["figure"] == "1 pools, 5 clients active, 0 waiting, 3 server connections active"
    assert found["evidence"] == ["clickview/app (transaction): 5 clients active, 0 waiting (max wait 0s), 3 server active, 1 idle"]
    assert found["target"] == "pgb:6432" and found["threshold"] == "waiting clients warn >= 1, fail >= 20"
    assert pool(pgbouncer={"query_result": [bouncer(1)]})["pgbouncer.pools"]["status"] == "WARN"
    assert pool(pgbouncer={"query_result": [bouncer(20)]})["pgbouncer.pools"]["status"] == "FAIL"


def test_pgbouncer_unreachable_is_fail():
    found = pool(pgbouncer={"msg": "refused"})["pgbouncer.pools"]
    assert found["status"] == "FAIL" and found["figure"] == "unreachable" and found["evidence"] == ["refused"]


def test_the_health_checks_pgbouncer_row_grades_as_the_alert_does():
    thresholds = {"pgbouncer_waiting_clients": {"warn": 1, "fail": 20}}
    row = pgbouncer_check({"query_result": [bouncer(3), bouncer(4, "pgbouncer")]}, thresholds, "pgb:6432")
    assert row == {"check": "pgbouncer.pools", "target": "pgb:6432", "status": "WARN",
                   "figure": "1 pools, 5 clients active, 3 waiting, 3 server connections active",
                   "threshold": "waiting clients warn >= 1, fail >= 20", "value": 3, "unit": "connections",
                   "detail": "clickview/app (transaction): 5 clients active, 3 waiting (max wait 0s), 3 server active, 1 idle"}
    assert pgbouncer_check({"query_result": [bouncer(20)]}, thresholds)["status"] == "FAIL"
    # SHOW POOLS answered with only PgBouncer's own database: nothing waits
    empty = pgbouncer_check({"query_result": [bouncer(9, "pgbouncer")]}, thresholds)
    assert (empty["status"], empty["value"]) == ("OK", 0)
    assert empty["figure"] == "0 pools, 0 clients active, 0 waiting, 0 server connections active"
    down = pgbouncer_check({"failed": True, "msg": "connection refused"}, thresholds, "pgb:6432")
    assert (down["status"], down["figure"], down["detail"], down["value"], down["unit"]) == (
        "FAIL", "unreachable", "connection refused", None, None)


# ---- the termination step ------------------------------------------------------------------------

def test_termination_done_would_failed():
    killed = {"msg": "2 terminated", "backends": [dict(backend(1, "terminated"), reason="grace period over"),
                                                  backend(2, "cancelled", app=None)]}
    done = pool_termination_action(killed)
    assert done == {"step": "terminate long-running queries", "status": "done", "detail": "2 terminated",
                    "evidence": ["pid 1 app app=web: terminated (grace period over)", "pid 2 app app=-: cancelled"]}
    assert pool_termination_action(killed, check_mode=True)["status"] == "would"
    failed = pool_termination_action({"failed": False, "msg": "could not connect"})
    assert failed["status"] == "failed" and failed["detail"] == "could not connect" and failed["evidence"] == []
    assert pool_termination_action({})["detail"] == "no result"


# ---- disk ------------------------------------------------------------------------------------------

DISK_T = {"volume_used_pct": {"warn": 70, "fail": 80}, "dead_tuple_ratio": {"warn": 0.2, "fail": 0.5}}
GIB = 1073741824
CLAIM = "clickview/data-postgres-0"
NO_SERIES = {"figures": {"volume_used": None, "volume_capacity": None}, "error": ""}
DF_HEADER = "Filesystem     1-blocks       Used  Available Capacity Mounted on\n"


def prom(ratio, capacity=10 * GIB):
    return {"figures": {"volume_used": ratio, "volume_capacity": capacity}, "error": ""}


def df(used, available, rc=0):
    return {"rc": rc, "stdout": DF_HEADER + "/dev/vdb1 %d %d %d 90%% /var/lib/postgresql\n" % (used + available, used, available)}


def disk(size=None, largest=None, bloat=None, prometheus=None, volume_df=None, **kw):
    size = size if size is not None else {"query_result": [{"database": "clickview", "bytes": 2 * GIB, "pretty": "2048 MB"}]}
    out = disk_findings(size, largest=largest if largest is not None else {"query_result": []},
                        bloat=bloat if bloat is not None else {"query_result": []},
                        prometheus=prometheus if prometheus is not None else prom(0.5), df=volume_df or {"skipped": True},
                        claim=CLAIM, data_dir="/var/lib/postgresql/15/main", thresholds=DISK_T,
                        primary=PRIMARY, min_dead_tuples=1000, **kw)
    return {f["check"]: f for f in out}


@pytest.mark.parametrize("ratio, status", [(0.0, "OK"), (0.699, "OK"), (0.70, "WARN"), (0.7999, "WARN"), (0.80, "FAIL"),
                                           (0.95, "FAIL"), (1.0, "FAIL")])
def test_volume_from_prometheus_graded_at_the_runbooks_line(ratio, status):
    found = disk(prometheus=prom(ratio))["disk.volume_used"]
    assert found["status"] == status and found["target"] == "claim " + CLAIM
    assert found["threshold"] == "warn >= 70 %, fail >= 80 % (the runbook's alert: > 80 %)"


def test_volume_at_ninety_percent_is_fail_whatever_the_database_size():
    checks = disk(prometheus=prom(0.9))
    assert checks["disk.volume_used"]["status"] == "FAIL"
    assert checks["disk.volume_used"]["figure"] == "90.0 % used, 9.0 of 10.0 GiB (kubelet volume stats)"
    assert checks["disk.database_size"]["status"] == "OK"        # informational: a small database does not make it fine
    assert checks["disk.database_size"]["figure"] == "database clickview is 2048 MB, 20.0 % of the volume's 10.0 GiB"


def test_no_series_falls_back_to_df_of_the_data_directory():
    checks = disk(prometheus=NO_SERIES, volume_df=df(used=95 * GIB, available=5 * GIB))
    volume = checks["disk.volume_used"]
    assert volume["status"] == "FAIL" and volume["figure"].startswith("95.0 % used, 95.0 of 100.0 GiB (df of ")
    assert volume["evidence"][0] == "Prometheus has no kubelet_volume_stats series for claim " + CLAIM
    assert volume["evidence"][1].startswith("df -P -B1 ")
    assert checks["disk.database_size"]["figure"].endswith("2.0 % of the volume's 100.0 GiB")
    healthy = disk(prometheus=NO_SERIES, volume_df=df(used=10 * GIB, available=90 * GIB))["disk.volume_used"]
    assert healthy["status"] == "OK"


@pytest.mark.parametrize("prometheus, volume_df, why", [
    (NO_SERIES, {"skipped": True}, "not run (no data directory set)"),
    ({"figures": {}, "error": "Prometheus http://127.0.0.1:9 did not answer: refused"}, {"skipped": True}, "not run"),
    (NO_SERIES, {"rc": 1, "stderr": "df: /nope: No such file or directory"}, "df: /nope: No such file or directory"),
    (NO_SERIES, {"rc": 0, "stdout": "garbage"}, "unreadable output"),
])
def test_a_volume_nobody_measured_is_unknown_and_fail_never_ok(prometheus, volume_df, why):
    volume = disk(prometheus=prometheus, volume_df=volume_df)["disk.volume_used"]
    assert volume["status"] == "FAIL" and volume["figure"] == "unknown: the volume could not be measured"
    assert why in volume["evidence"][-1]
    assert volume["recommendation"].startswith("Measure the volume now (kubectl exec postgres-0 -- df -h)")
    if prometheus.get("error"):
        assert volume["evidence"][0].startswith("Prometheus http://127.0.0.1:9 did not answer")


def test_database_size_is_informational_and_unreachable_is_fail():
    unknown_capacity = disk(prometheus=NO_SERIES)["disk.database_size"]
    assert unknown_capacity["status"] == "OK" and unknown_capacity["figure"] == "database clickview is 2048 MB"
    down = disk({"msg": "refused"}, largest={"skipped": True}, bloat={"skipped": True})
    assert down["disk.database_size"]["status"] == "FAIL" and down["disk.database_size"]["figure"] == "unreachable"
    assert down["disk.database_size"]["evidence"] == ["refused"]
    assert down["disk.database_size"]["recommendation"].startswith("Restore access to PostgreSQL first")
    assert down["postgres.largest_tables"]["status"] == "FAIL" and down["postgres.bloat"]["status"] == "FAIL"
    assert down["postgres.bloat"]["figure"] == "unknown"


def test_largest_tables_are_informational():
    rows = [{"schemaname": "public", "relname": "events", "total": "9 GB", "heap": "7 GB", "indexes": "2 GB",
             "n_live_tup": 10, "n_dead_tup": 1}]
    found = disk(largest={"query_result": rows})["postgres.largest_tables"]
    assert found["status"] == "OK" and found["figure"] == "largest: events 9 GB"
    assert found["evidence"] == ["public.events: 9 GB (heap 7 GB, indexes 2 GB), 10 live / 1 dead tuples"]
    assert disk()["postgres.largest_tables"]["figure"] == "largest: none "


def table(name, ratio, dead=12000):
    return {"name": name, "dead_ratio": ratio, "n_dead_tup": dead, "n_live_tup": 28000, "total": "9 MB",
            "last_vacuum": "never", "owner": "app"}


def test_bloat_graded_on_the_worst_ratio_at_the_thresholds():
    assert disk()["postgres.bloat"]["status"] == "OK" and disk()["postgres.bloat"]["recommendation"] == "No bloated table."
    assert disk()["postgres.bloat"]["figure"] == "0 bloated table(s)"
    found = disk(bloat={"query_result": [table("public.a", 0.3), table("public.b", 0.2, 100)]}, evidence_limit=1)["postgres.bloat"]
    assert found["status"] == "WARN"
    assert found["figure"] == "2 bloated table(s), worst public.a 30.0 % dead (12000 dead tuples)"
    assert found["evidence"] == ["public.a: 12000 dead / 28000 live (30.0 %), 9 MB, last vacuum never, owner app"]
    assert found["threshold"] == "dead/(live+dead) warn >= 0.2, fail >= 0.5, at least 1000 dead tuples"
    assert found["recommendation"].startswith("VACUUM (ANALYZE) public.a, public.b (remediate=true")
    worst_later = disk(bloat={"query_result": [table("public.a", 0.3), table("public.b", 0.5, 100)]})["postgres.bloat"]
    assert worst_later["status"] == "FAIL"


# ---- the VACUUM step -----------------------------------------------------------------------------

def test_vacuum_done_when_every_table_lost_dead_tuples():
    results = [{"item": table("public.a", 0.3), "query_result": []}, {"item": table("public.b", 0.3, 500), "query_result": []}]
    after = {"query_result": [{"name": "public.a", "n_dead_tup": 0, "total": "7 MB"},
                              {"name": "public.b", "n_dead_tup": 0, "total": "1 MB"}]}
    out = vacuum_action(results, after=after, mode=" ANALYZE ", targets=2)
    assert out == {"step": "VACUUM (ANALYZE)", "status": "done", "detail": "2 of 2 table(s) reclaimed",
                   "evidence": ["public.a: 12000 dead tuples -> 0, size 9 MB -> 7 MB", "public.b: 500 dead tuples -> 0, size 9 MB -> 1 MB"]}
    full = vacuum_action(results[:1], after={"query_result": {"name": "public.a", "n_dead_tup": 0, "total": "7 MB"}},
                         mode="FULL, ANALYZE", targets=1, full=True)
    assert full["status"] == "done" and full["detail"] == "1 of 1 table(s) reclaimed (VACUUM FULL: each table was locked exclusively while rewritten)"


def test_vacuum_failed_when_a_table_kept_its_dead_tuples_or_errored():
    results = [{"item": table("public.a", 0.3), "query_result": []}, {"item": table("public.b", 0.3), "msg": "must be owner"}]
    after = {"query_result": [{"name": "public.a", "n_dead_tup": 12000, "total": "9 MB"}]}
    out = vacuum_action(results, after=after, targets=2)
    assert out["status"] == "failed" and out["detail"] == "0 of 2 table(s) reclaimed"
    assert out["evidence"] == [
        "public.a: 12000 dead tuples -> 12000, size 9 MB -> 9 MB - NOT reclaimed: dead tuples unchanged (VACUUM needs the "
        "table owner app, or an old transaction still sees them)",
        "public.b: 12000 dead tuples -> None, size 9 MB -> ? - NOT reclaimed: must be owner"]


def test_vacuum_with_one_table_of_two_reclaimed_or_an_error_is_failed():
    after = {"query_result": [{"name": "public.a", "n_dead_tup": 0, "total": "7 MB"},
                              {"name": "public.b", "n_dead_tup": 12000, "total": "1 MB"}]}
    half = vacuum_action([{"item": table("public.a", 0.3), "query_result": []},
                          {"item": table("public.b", 0.3), "query_result": []}], after=after, targets=2)
    assert half["status"] == "failed" and half["detail"] == "1 of 2 table(s) reclaimed"
    # autovacuum may have cleaned a table whose own VACUUM errored: still not this step's doing
    errored = vacuum_action([{"item": table("public.a", 0.3), "failed": True, "query_result": [], "msg": "timeout"},
                             {"item": table("public.b", 0.3), "msg": "lock timeout"}], after=after, targets=2)
    assert errored["status"] == "failed" and errored["detail"] == "0 of 2 table(s) reclaimed"
    assert errored["evidence"][0].endswith(" - NOT reclaimed: timeout")
    assert vacuum_action([], after={}, targets=0)["status"] == "done"


def test_no_waiting_query_is_zero_as_postgresql_query_gives_it():
    """postgresql_query registers a query that returned no row as query_result {} (an empty dict), not []."""
    found = pool(waiting={"query_result": {}, "query_all_results": [{}]})["postgres.waiting_queries"]
    assert (found["status"], found["figure"], found["evidence"]) == ("OK", "0 active queries waiting", [])


# ---- value and unit ------------------------------------------------------------------------------

def test_pool_findings_values_and_units():
    found = pool(conn(82), waiting={"query_result": [{"pid": 1, "seconds": 4, "query": "UPDATE t"}]},
                 long_queries={"backends": [backend(1), backend(2, "would_cancel"), backend(3, "skipped")]},
                 pgbouncer={"query_result": [bouncer(4), bouncer(3, "reports"), bouncer(99, "pgbouncer")]})
    assert [(f["value"], f["unit"]) for f in found.values()] == [(82.0, "%"), (2, "count"), (1, "count"), (7, "connections")]
    down = pool({"msg": "refused"}, long_queries={"msg": "refused"}, pgbouncer={"msg": "refused"})
    assert all((f["value"], f["unit"]) == (None, None) for f in down.values()), down


def test_disk_findings_values_and_units():
    found = disk(prometheus=prom(0.8765), bloat={"query_result": [table("public.a", 0.3), table("public.b", 0.4567, 100)]})
    assert [(f["value"], f["unit"]) for f in found.values()] == [
        (87.65, "%"), (2 * GIB, "bytes"), (None, None), (45.67, "%")]
    by_df = disk(prometheus=NO_SERIES, volume_df=df(used=95 * GIB, available=5 * GIB))["disk.volume_used"]
    assert (by_df["value"], by_df["unit"]) == (95.0, "%")
    down = disk({"msg": "refused"}, bloat={"skipped": True}, prometheus=NO_SERIES)
    assert all((f["value"], f["unit"]) == (None, None) for f in down.values()), down
