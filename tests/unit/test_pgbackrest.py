"""pgbackrest module_utils: info parsing, the restorable window, target times and error naming."""
import datetime
import json

import pytest

from ansible_collections.clickview.runbook.plugins.module_utils import pgbackrest as pgb

UTC = datetime.timezone.utc


def info_json(status=0, message="ok", backups=None, archive_max="000000010000000000000006"):
    return json.dumps([{
        "name": "clickview", "status": {"code": status, "message": message}, "cipher": "none",
        "db": [{"id": 1, "system-id": 1, "version": "15"}],
        "archive": [{"database": {"id": 1}, "id": "15-1", "min": "000000010000000000000001", "max": archive_max}],
        "backup": BACKUPS if backups is None else backups}])


def _backup(label, kind, prior, start, stop, size, repo, wal, lsn):
    return {"label": label, "type": kind, "prior": prior, "timestamp": {"start": start, "stop": stop},
            "info": {"size": size[0], "delta": size[1], "repository": {"size": repo[0], "delta": repo[1]}},
            "archive": {"start": wal[0], "stop": wal[1]}, "lsn": {"start": lsn[0], "stop": lsn[1]}, "error": False}


BACKUPS = [   # newest first on purpose: parse_info sorts
    _backup("20250115-020000F_20250116-020000I", "incr", "20250115-020000F", 1737000000, 1737000010, (100, 10),
            (50, 5), ("000000010000000000000005", "000000010000000000000005"), ("0/5000028", "0/5000100")),
    _backup("20250115-020000F", "full", None, 1736906400, 1736906460, (100, 100), (45, 45),
            ("000000010000000000000002", "000000010000000000000003"), ("0/2000028", "0/3000088")),
]


def test_parse_info_sorts_backups_and_reads_sizes_and_wal():
    info = pgb.parse_info(info_json(), "clickview")
    assert [b["type"] for b in info["backups"]] == ["full", "incr"]
    full = info["backups"][0]
    assert full["start"] == "2025-01-15T02:00:00Z" and full["stop"] == "2025-01-15T02:01:00Z"
    assert full["duration_seconds"] == 60 and full["repo_delta_bytes"] == 45
    assert (full["wal_start"], full["wal_stop"]) == ("000000010000000000000002", "000000010000000000000003")
    assert info["archive"] == {"min": "000000010000000000000001", "max": "000000010000000000000006"}


def test_missing_stanza_is_named_or_reported():
    text = info_json(status=1, message="missing stanza path", backups=[])
    with pytest.raises(pgb.StanzaError, match="stanza 'clickview' does not exist"):
        pgb.parse_info(text, "clickview")
    assert pgb.parse_info(text, "clickview", require_stanza=False)["exists"] is False


def test_previous_segments_cross_a_log_boundary():
    assert pgb.previous_segments("000000020000000100000001", 3) == [
        "000000020000000100000001", "000000020000000100000000", "0000000200000000000000FF"]
    assert pgb.previous_segments("000000010000000000000000", 4) == ["000000010000000000000000"]
    with pytest.raises(ValueError):
        pgb.previous_segments("nope", 1)


def test_last_transaction_time_from_waldump():
    text = ("rmgr: Transaction len (rec/tot): 34/34, tx: 727, lsn: 0/06000028, prev 0/06000000, "
            "desc: COMMIT 2025-01-16 09:59:57.000001 UTC\n"
            "rmgr: Transaction len (rec/tot): 34/34, tx: 728, lsn: 0/06001230, prev 0/06000028, "
            "desc: ABORT 2025-01-16 09:59:58.123456 UTC\n"
            "rmgr: XLOG        len (rec/tot): 24/24, tx: 0, lsn: 0/06001258, prev 0/06001230, desc: SWITCH\n")
    assert pgb.last_transaction_time(text) == datetime.datetime(2025, 1, 16, 9, 59, 58, 123456, UTC)
    assert pgb.last_transaction_time("desc: CHECKPOINT_ONLINE redo 0/2000028") is None


@pytest.mark.parametrize("text, expected", [
    ("2025-01-15 10:30:00", datetime.datetime(2025, 1, 15, 10, 30, tzinfo=UTC)),
    ("2025-01-15T10:30", datetime.datetime(2025, 1, 15, 10, 30, tzinfo=UTC)),
    ("2025-01-15 10:30:00.5Z", datetime.datetime(2025, 1, 15, 10, 30, 0, 500000, UTC)),
    ("2025-01-15 11:30:00+01:00", datetime.datetime(2025, 1, 15, 10, 30, tzinfo=UTC)),
    ("2025-01-15 05:30:00 -0500", datetime.datetime(2025, 1, 15, 10, 30, tzinfo=UTC)),
])
def test_parse_target_time(text, expected):
    assert pgb.parse_target_time(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2025-13-01 00:00:00", "2025-01-15 25:00", "2025-01-15 10:30 +25"])
def test_parse_target_time_refuses(text):
    with pytest.raises(pgb.TargetError) as err:
        pgb.parse_target_time(text)
    assert err.value.problem in ("target_time_unparseable", "target_time_missing")


def test_pg_target_is_utc_with_offset():
    assert pgb.pg_target(datetime.datetime(2025, 1, 15, 11, 30, 0, 5, pgb._zone("+01:00"))) == "2025-01-15 10:30:00.000005+00"


def test_window_and_target_checks():
    backups = pgb.parse_info(info_json(), "clickview")["backups"]
    last = datetime.datetime(2025, 1, 16, 9, 0, tzinfo=UTC)
    win = pgb.window(backups, last)
    assert win == {"earliest": "2025-01-15T02:01:00Z", "latest": "2025-01-16T09:00:00Z",
                   "latest_backup_stop": "2025-01-16T04:00:10Z", "point_in_time": True}
    pgb.check_target(datetime.datetime(2025, 1, 15, 12, 0, tzinfo=UTC), win)
    with pytest.raises(pgb.TargetError, match="after the latest archived transaction") as err:
        pgb.check_target(datetime.datetime(2025, 1, 16, 9, 0, 1, tzinfo=UTC), win)
    assert err.value.problem == "target_after_latest"
    with pytest.raises(pgb.TargetError, match="before the restorable window"):
        pgb.check_target(datetime.datetime(2025, 1, 15, 2, 0, tzinfo=UTC), win)
    assert pgb.window(backups, None)["point_in_time"] is False
    assert pgb.window(backups, datetime.datetime(2025, 1, 1, tzinfo=UTC))["latest"] is None


@pytest.mark.parametrize("stderr, problem", [
    ("ERROR: [039]: unable to connect to 'localhost:1': [111] Connection refused", "repository_unreachable"),
    ("ERROR: [095]: unable to verify certificate presented by 'localhost:15443'", "repository_tls"),
    ("ERROR: [039]: HTTP request failed with 403 (Forbidden): InvalidAccessKeyId", "repository_access"),
    ("ERROR: [031]: invalid option '--nope'", "config"),
    ("ERROR: [999]: something else", "command_failed"),
])
def test_classify_error(stderr, problem):
    assert pgb.classify_error(39, stderr)[0] == problem
    assert pgb.classify_error(124, "", timeout=10)[0] == "repository_unreachable"


def test_info_report_checks_target_before_any_command_and_reads_wal_newest_first():
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, info_json(), ""

    with pytest.raises(pgb.TargetError):
        pgb.info_report(run, "pgbackrest", "/etc/pgbackrest.conf", "clickview", target_time="soon")
    assert calls == []                                    # bad input: nothing ran

    seen = []

    def waldump(segment):
        seen.append(segment)
        if segment == "000000010000000000000005":
            return "desc: COMMIT 2025-01-16 08:00:00.000000 UTC", None
        return "desc: SWITCH", None

    result = pgb.info_report(run, "pgbackrest", None, "clickview", waldump=waldump,
                             target_time="2025-01-16 07:00:00")
    assert seen == ["000000010000000000000006", "000000010000000000000005"]
    assert result["latest_transaction"] == "2025-01-16T08:00:00Z"
    assert result["target"]["recovery_target_time"] == "2025-01-16 07:00:00+00"
    assert result["latest_backup"]["type"] == "incr"
    assert calls[-1][-2:] == ["--output=json", "info"]


def test_info_report_names_an_unreadable_repository():
    def run(_argv):
        return 0, info_json(status=99, message="other: [039]: unable to connect to 'localhost:1'", backups=[]), ""
    with pytest.raises(pgb.PgBackRestError) as err:
        pgb.info_report(run, "pgbackrest", None, "clickview", require_stanza=False)
    assert err.value.problem == "repository_unreachable"
