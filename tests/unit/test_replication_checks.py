"""plugins/filter/replication_checks.py and bloat_checks.py: the daily database check's grading."""
from ansible_collections.clickview.runbook.plugins.filter.bloat_checks import bloat_checks
from ansible_collections.clickview.runbook.plugins.filter.replication_checks import replication_checks

T = {"replication_lag_bytes": {"warn": 1000, "fail": 5000}, "replication_lag_seconds": {"warn": 30, "fail": 300},
     "dead_tuple_pct": {"warn": 20, "fail": 50}}
PRIMARY = {"name": "primary", "host": "db1", "port": 5432}
REPLICA = {"name": "replica-1", "host": "db2", "port": 5432}


def sender(state="streaming", lag_bytes=0, lag_seconds=0.0, name="replica-1"):
    return {"application_name": name, "client_addr": "10.0.0.2", "state": state, "sync_state": "async",
            "lag_bytes": lag_bytes, "lag_seconds": lag_seconds}


def primary(senders=None, in_recovery=False):
    return {"query_all_results": [[{"in_recovery": in_recovery, "wal_lsn": "0/3000000"}],
                                  senders if senders is not None else [sender()]]}


def replica(in_recovery=True, receiver="streaming", lag_bytes=0, lag_seconds=0.0):
    return {"item": REPLICA, "query_result": [{"in_recovery": in_recovery, "receiver_status": receiver,
                                               "lag_bytes": lag_bytes, "lag_seconds": lag_seconds}]}


def checks(primary_result, replicas):
    out = {}
    for row in replication_checks(primary_result, replicas, PRIMARY, T):
        out.setdefault(row["check"], []).append(row)
    return out


def test_healthy_primary_and_replica_are_ok_in_order():
    rows = replication_checks(primary(), [replica()], PRIMARY, T)
    assert [r["check"] for r in rows] == ["replication.primary", "replication.senders",
                                          "replication.sender_lag", "replication.replica_lag"]
    assert [r["status"] for r in rows] == ["OK"] * 4
    assert rows[0]["figure"] == "WAL at 0/3000000" and rows[0]["target"] == "primary db1:5432"
    assert rows[1]["figure"] == "1 streaming of 1 WAL senders"
    assert rows[3]["figure"] == "0 bytes, 0.0 s behind" and rows[3]["target"] == "replica-1 db2:5432"
    assert rows[3]["threshold"] == ("in recovery and streaming; bytes warn >= 1000, fail >= 5000; "
                                    "seconds warn >= 30, fail >= 300")


def test_unreachable_primary_fails_and_no_sender_streams():
    rows = checks({"msg": "connection refused"}, [replica()])
    assert rows["replication.primary"][0]["status"] == "FAIL"
    assert rows["replication.primary"][0]["figure"] == "unreachable"
    assert rows["replication.primary"][0]["detail"] == "connection refused"
    assert rows["replication.senders"][0]["status"] == "FAIL"
    assert "replication.sender_lag" not in rows


def test_primary_in_recovery_fails():
    row = checks(primary(in_recovery=True), [replica()])["replication.primary"][0]
    assert row["status"] == "FAIL" and row["figure"].endswith(", in recovery (not a primary)")


def test_fewer_streaming_senders_than_replicas_fails():
    rows = checks(primary(senders={}), [replica()])     # postgresql_query: {} for no rows
    assert rows["replication.senders"][0]["status"] == "FAIL"
    assert rows["replication.senders"][0]["figure"] == "0 streaming of 0 WAL senders"
    assert checks(primary(senders=[]), [])["replication.senders"][0]["status"] == "OK"


def test_sender_lag_at_thresholds():
    def grade(**kw):
        return checks(primary([sender(**kw)]), [replica()])["replication.sender_lag"][0]["status"]
    assert grade(lag_bytes=999) == "OK"
    assert grade(lag_bytes=1000) == "WARN"
    assert grade(lag_bytes=5000) == "FAIL"
    assert grade(lag_seconds=29.9) == "OK"
    assert grade(lag_seconds=30) == "WARN"
    assert grade(lag_bytes=1000, lag_seconds=300) == "FAIL"     # the worse of the two
    assert grade(lag_seconds=None) == "FAIL"                    # not measured


def test_sender_not_streaming_fails_whatever_its_lag():
    row = checks(primary([sender(state="catchup")]), [replica()])["replication.sender_lag"][0]
    assert row["status"] == "FAIL" and row["figure"] == "catchup (async), 0 bytes, 0.0 s replay lag"
    row = checks(primary([sender(name="")]), [replica()])["replication.sender_lag"][0]
    assert row["target"] == "unnamed from 10.0.0.2"


def test_replica_unreachable_fails():
    row = checks(primary(), [{"item": REPLICA, "msg": "timeout"}])["replication.replica_lag"][0]
    assert (row["status"], row["figure"], row["detail"]) == ("FAIL", "unreachable", "timeout")


def test_promoted_replica_fails():
    row = checks(primary(), [replica(in_recovery=False)])["replication.replica_lag"][0]
    assert (row["status"], row["figure"]) == ("FAIL", "not in recovery (promoted?)")


def test_replica_receiver_not_streaming_fails():
    row = checks(primary(), [replica(receiver=None)])["replication.replica_lag"][0]
    assert row["status"] == "FAIL"
    assert row["figure"] == "WAL receiver not running, 0 bytes, 0.0 s behind"


def test_replica_lag_graded_on_the_worse_figure():
    def grade(**kw):
        return checks(primary(), [replica(**kw)])["replication.replica_lag"][0]["status"]
    assert grade(lag_bytes=999, lag_seconds=29) == "OK"
    assert grade(lag_bytes=1000) == "WARN"
    assert grade(lag_seconds=300) == "FAIL"


# ---- bloat -------------------------------------------------------------------------------

def table(dead, live, pct, disabled=False):
    return {"table_name": "public.t", "n_dead_tup": dead, "n_live_tup": live, "dead_pct": pct,
            "total_size": "8 MB", "last_vacuum": "never", "autovacuum_disabled": disabled}


def bloat(rows):
    return bloat_checks({"query_result": rows}, T["dead_tuple_pct"], 10000, "clickview")


def test_bloat_unreachable_fails():
    rows = bloat_checks({"msg": "refused"}, T["dead_tuple_pct"], 10000, "clickview")
    assert [(r["check"], r["status"], r["figure"]) for r in rows] == [
        ("bloat.tables", "FAIL", "unknown: the primary did not answer")]


def test_no_bloated_table_is_ok():
    for empty in ([], {}):
        rows = bloat(empty)
        assert [(r["check"], r["status"]) for r in rows] == [("bloat.tables", "OK")]
        assert rows[0]["figure"] == "no table with 10000 or more dead tuples"


def test_bloat_at_thresholds():
    assert [r["status"] for r in bloat([table(1, 1, 19.99), table(1, 1, 20), table(1, 1, 50)])] == ["OK", "WARN", "FAIL"]


def test_bloat_figure():
    row = bloat([table(60000, 140000, 30.0, disabled=True)])[0]
    assert row["figure"] == "60000 dead of 200000 tuples (30.0 %), 8 MB, last vacuum never, autovacuum disabled on the table"
    assert row["threshold"] == "dead tuples warn >= 20 %, fail >= 50 % (tables with >= 10000 dead tuples)"


def test_table_without_statistics_yet_is_ok():
    row = bloat([table(0, 0, None)])[0]
    assert row["status"] == "OK" and "(0.0 %)" in row["figure"]


def test_counts_and_lags_are_values_with_units():
    rows = replication_checks(primary([sender(lag_bytes=4096), sender(state="catchup", name="replica-2")]),
                              [replica(lag_bytes=2048, lag_seconds=1.5)], PRIMARY, T)
    assert [(r["check"], r["value"], r["unit"]) for r in rows] == [
        ("replication.primary", None, None), ("replication.senders", 1, "count"),
        ("replication.sender_lag", 4096, "bytes"), ("replication.sender_lag", 0, "bytes"),
        ("replication.replica_lag", 2048, "bytes")]


def test_an_unreachable_replica_has_no_value():
    row = replication_checks(primary(), [{"item": REPLICA, "msg": "timeout"}], PRIMARY, T)[-1]
    assert (row["value"], row["unit"]) == (None, None)


def test_a_bloated_tables_value_is_its_dead_percentage():
    row = bloat([table(60000, 140000, 30.0)])[0]
    assert (row["value"], row["unit"]) == (30.0, "%")
    assert (bloat([])[0]["value"], bloat([])[0]["unit"]) == (None, None)
