"""plugins/filter/postgres_checks: the health check's PostgreSQL reads, graded."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.postgres_checks import postgres_checks
from ansible_collections.clickview.runbook.plugins.module_utils.runbook_thresholds import threshold

T = {name: threshold(name) for name in ("connections_pct", "replication_lag_bytes", "replication_lag_seconds")}
PRIMARY = {"name": "primary", "host": "db1", "port": 5432}
REPLICA = {"name": "replica-1", "host": "db2", "port": 5432}
ARCHIVER = {"query_result": [{"archive_mode": "on", "archived_count": 3, "last_archived_wal": "W3",
                              "last_archived_time": "2026-12-06 03:00:00+00", "failed_count": 0}]}


def primary(**row):
    base = {"version": "15.18", "in_recovery": False, "connections": 12, "max_connections": 100, "streaming_replicas": 1}
    base.update(row)
    return {"query_result": [base]}


def replica(**row):
    base = {"in_recovery": True, "receiver_status": "streaming", "lag_bytes": 0, "lag_seconds": 0.0}
    base.update(row)
    return {"results": [{"item": REPLICA, "query_result": [base]}]}


def checks(prim=None, repl=None, expected=1):
    out = postgres_checks(prim if prim is not None else primary(), archiver=ARCHIVER,
                          replicas=repl if repl is not None else replica(), thresholds=T, primary=PRIMARY, expected_replicas=expected)
    return dict((c["check"], c) for c in out)


def test_a_healthy_primary_and_replica():
    found = checks()
    assert [c["status"] for c in found.values()] == ["OK"] * 5
    assert found["postgres.primary"]["figure"] == "PostgreSQL 15.18, accepting writes"
    assert found["postgres.connections"]["figure"] == "12 of 100 (12.0 %)"
    assert found["postgres.replication"]["figure"] == "1 of 1 replicas streaming"
    assert found["postgres.replica_lag"]["figure"] == "0 bytes, 0.0 s behind"
    assert found["postgres.replica_lag"]["target"] == "replica-1 db2:5432"


@pytest.mark.parametrize("connections, status", [(74, "OK"), (75, "WARN"), (89, "WARN"), (90, "FAIL")])
def test_connections_at_the_thresholds(connections, status):
    assert checks(primary(connections=connections))["postgres.connections"]["status"] == status


def test_unreachable_primary_fails_and_skips_the_archiver():
    found = checks({"msg": "connection refused"}, repl={"results": []})
    assert found["postgres.primary"]["figure"] == "unreachable" and found["postgres.primary"]["detail"] == "connection refused"
    assert found["postgres.connections"]["status"] == "FAIL" and found["postgres.replication"]["figure"] == "unknown of 1 replicas streaming"
    assert "postgres.wal_archiving" not in found


def test_a_primary_in_recovery_is_fail():
    assert checks(primary(in_recovery=True))["postgres.primary"]["figure"] == "PostgreSQL 15.18, in recovery (not a primary)"


def test_fewer_streaming_replicas_than_configured_is_fail():
    assert checks(primary(streaming_replicas=0))["postgres.replication"]["status"] == "FAIL"


@pytest.mark.parametrize("row, status, figure", [
    ({"lag_bytes": 16777216}, "WARN", "16777216 bytes, 0.0 s behind"),
    ({"lag_seconds": 300.0}, "FAIL", "0 bytes, 300.0 s behind"),
    ({"receiver_status": None}, "FAIL", "WAL receiver not running, 0 bytes, 0.0 s behind"),
    ({"in_recovery": False}, "FAIL", "not in recovery (promoted?)"),
])
def test_replica_lag_and_state(row, status, figure):
    found = checks(repl=replica(**row))["postgres.replica_lag"]
    assert (found["status"], found["figure"]) == (status, figure)


def test_an_unreachable_replica_is_fail_with_the_reason():
    found = checks(repl={"results": [{"item": REPLICA, "msg": "timeout expired"}]})["postgres.replica_lag"]
    assert found["status"] == "FAIL" and found["figure"] == "unreachable" and found["detail"] == "timeout expired"


def test_each_figure_has_its_number_and_unit():
    found = checks(primary(connections=37, max_connections=120), repl=replica(lag_bytes=16777216, lag_seconds=2.5))
    assert [(c["value"], c["unit"]) for c in found.values()] == [
        (None, None), (30.8, "%"), (1, "count"), (None, None), (16777216, "bytes")]


def test_unreachable_servers_have_no_value():
    found = checks({"msg": "connection refused"}, repl={"results": [{"item": REPLICA, "msg": "timeout expired"}]})
    assert all((c["value"], c["unit"]) == (None, None) for c in found.values()), found
