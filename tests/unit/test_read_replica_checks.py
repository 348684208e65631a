"""read_replica_checks: the rows of Verify replica sync and Remove a read replica."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.read_replica_checks import read_replica_checks

REPLICA = {"name": "replica1", "host": "10.0.0.12", "port": 5432, "data_dir": "/var/lib/postgresql/15/replica1"}
PRIMARY = {"name": "primary", "host": "10.0.0.11", "port": 5432}
THRESHOLDS = {"lag_bytes": {"warn": 1048576, "fail": 16777216}, "lag_seconds": {"warn": 10, "fail": 60}}
IN_SYNC = {"in_recovery": True, "receiver_status": "streaming", "replay_lsn": "0/3000148", "lag_seconds": 0}


def sender(**kwargs):
    row = {"state": "streaming", "sync_state": "async", "client_addr": "10.0.0.12", "lag_bytes": 0, "lag_seconds": 0.2,
           "primary_lsn": "0/3000148"}
    row.update(kwargs)
    return row


def verify(senders, state=None, **kwargs):
    return read_replica_checks(senders, "verify", replica=REPLICA, primary=PRIMARY, thresholds=THRESHOLDS,
                               replica_state=IN_SYNC if state is None else state, **kwargs)


def test_a_streaming_replica_in_recovery_is_ok_with_its_lag_in_bytes():
    recovery, streaming = verify([sender(lag_bytes=4096)])
    assert (recovery["check"], recovery["target"], recovery["status"]) == ("read_replica.recovery", "replica1 10.0.0.12:5432", "OK")
    assert recovery["figure"] == "pg_is_in_recovery() = True, WAL receiver streaming, replayed up to 0/3000148"
    assert (streaming["check"], streaming["target"], streaming["status"]) == ("read_replica.streaming", "primary 10.0.0.11:5432", "OK")
    assert streaming["figure"] == "replica1 streaming (async) from 10.0.0.12, 4096 bytes, 0.2 s replay lag"
    assert streaming["threshold"] == "streaming; bytes warn >= 1048576, fail >= 16777216; seconds warn >= 10, fail >= 60"
    assert (streaming["value"], streaming["unit"]) == (4096, "bytes")


@pytest.mark.parametrize("row, status", [
    (sender(lag_bytes=1048576), "WARN"),            # exactly at the warn line
    (sender(lag_seconds=60), "FAIL"),               # exactly at the fail line, in seconds only
    (sender(lag_bytes=None), "FAIL"),               # no figure is no proof of sync
])
def test_lag_is_graded_by_the_worse_of_bytes_and_seconds(row, status):
    assert verify([row])[1]["status"] == status


def test_a_streaming_row_is_preferred_to_a_catching_up_one():
    streaming = verify([sender(state="catchup", lag_bytes=99999999), sender(lag_bytes=10)])[1]
    assert streaming["status"] == "OK" and streaming["value"] == 10


@pytest.mark.parametrize("senders", [[], {}, None])
def test_a_replica_the_primary_does_not_list_fails(senders):
    streaming = verify(senders)[1]
    assert streaming["status"] == "FAIL" and streaming["figure"] == "replica1 not in pg_stat_replication"
    assert streaming["value"] is None


def test_a_catching_up_replica_fails_without_a_value():
    streaming = verify([sender(state="catchup")])[1]
    assert streaming["status"] == "FAIL" and streaming["value"] is None and "catchup" in streaming["figure"]


@pytest.mark.parametrize("state, figure, detail", [
    ({}, "unreachable", "connection refused"),
    (dict(IN_SYNC, in_recovery=False), "pg_is_in_recovery() = False, WAL receiver streaming, replayed up to 0/3000148", ""),
    (dict(IN_SYNC, receiver_status=None), "pg_is_in_recovery() = True, WAL receiver not running, replayed up to 0/3000148", ""),
])
def test_a_replica_not_replaying_fails(state, figure, detail):
    recovery = verify([sender()], state=state, replica_error="connection refused")[0]
    assert (recovery["status"], recovery["figure"], recovery["detail"]) == ("FAIL", figure, detail)


def test_check_mode_checks_nothing():
    rows = verify([], state={}, check_mode=True)
    assert [(r["status"], r["figure"]) for r in rows] == [("OK", "not checked (check mode)")] * 2


def remove(senders, **kwargs):
    return read_replica_checks(senders, "remove", replica=REPLICA, primary=PRIMARY, **kwargs)


def test_a_removed_replica_is_stopped_and_gone_from_the_primary():
    stopped, gone = remove(0)
    assert (stopped["check"], stopped["status"], stopped["figure"]) == ("read_replica.stopped", "OK", "port closed, data directory deleted")
    assert (gone["check"], gone["status"], gone["figure"]) == ("read_replica.removed_from_primary", "OK", "0 WAL sender(s) for replica1")
    assert (gone["value"], gone["unit"]) == (0, "count")


@pytest.mark.parametrize("senders, port_open, stopped, gone, figure", [
    (1, True, "FAIL", "FAIL", "1 WAL sender(s) for replica1"),
    (None, False, "OK", "FAIL", "unknown WAL sender(s) for replica1"),    # the primary could not be asked
])
def test_a_replica_still_running_or_listed_fails(senders, port_open, stopped, gone, figure):
    rows = remove(senders, port_open=port_open)
    assert [r["status"] for r in rows] == [stopped, gone] and rows[1]["figure"] == figure


def test_check_mode_says_what_would_be_removed_and_counts_the_current_senders():
    stopped, gone = remove(1, check_mode=True)
    assert stopped["figure"] == "would stop it and delete /var/lib/postgresql/15/replica1 (check mode)"
    assert stopped["status"] == gone["status"] == "OK" and gone["figure"] == "1 WAL sender(s) for replica1"


def test_unknown_step_is_named():
    with pytest.raises(AnsibleFilterError, match="step must be verify or remove"):
        read_replica_checks([], "promote", replica=REPLICA, primary=PRIMARY)
