"""backup_checks: the backups procedures' report rows, graded in Python."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.backup_checks import backup_checks

MADE = {"label": "20261207-101500F", "type": "full", "duration_seconds": 42}


def brief(rows):
    return [(r["check"], r["status"], r["figure"], r["value"], r["unit"]) for r in rows]


def test_backup_made_skipped_in_check_mode_or_nothing():
    assert brief(backup_checks(MADE, "backup", requested_type="full")) == [
        ("backup", "OK", "full 20261207-101500F", 42, "s")]
    assert brief(backup_checks({}, "backup", check_mode=True, requested_type="diff")) == [
        ("backup", "SKIP", "check mode: a diff backup would run", None, None)]
    assert backup_checks(None, "backup", requested_type="full") == []


@pytest.mark.parametrize("registered, check_mode, status, figure", [
    ({"rc": 0, "changed": False}, False, "OK", "WAL archived to the repository and backup settings valid"),
    ({"skipped": True}, True, "SKIP", "check mode"),
    (None, False, "SKIP", "not reached"),
    ({"rc": 1, "failed": True}, False, "SKIP", "not reached"),
])
def test_configure(registered, check_mode, status, figure):
    row = backup_checks(registered, "configure", check_mode=check_mode)[0]
    assert (row["status"], row["figure"]) == (status, figure)


def test_list_counts_backups_and_fails_an_empty_repository():
    info = {"backups": [MADE, dict(MADE, label="x")], "latest_backup": dict(MADE, stop="2026-12-07 10:16:42+00")}
    assert brief(backup_checks(info, "list")) == [
        ("latest backup", "OK", "20261207-101500F stopped 2026-12-07 10:16:42+00", 2, "count")]
    assert brief(backup_checks({"backups": [], "latest_backup": None}, "list")) == [
        ("latest backup", "FAIL", "no backup in the repository", 0, "count")]
    assert backup_checks({"failed": True, "msg": "no stanza"}, "list") == []
    assert backup_checks(None, "list") == []


def test_restore_rows_count_each_table():
    restored = {"replay_lsn": "0/5000060", "timeline": 2, "last_replayed_transaction": "", "counts": {"users": 12, "audit_log": 0}}
    assert brief(backup_checks(restored, "restore")) == [
        ("restore", "OK", "recovered to 0/5000060, last transaction none, timeline 2", None, None),
        ("rows in users", "OK", "12 rows", 12, "count"),
        ("rows in audit_log", "OK", "0 rows", 0, "count")]
    assert backup_checks(None, "restore") == []


RESTORED = {"replay_lsn": "0/7000028", "timeline": 3, "counts": {"users": 10, "orders": "4"}}


def verify(repo=None, sentinel=None, query="SELECT true", **kw):
    kw.setdefault("restored", RESTORED)
    return backup_checks(repo, "verify", label="20261207-101500F", tables=["users", "orders"],
                         min_rows={"users": 10, "orders": 5}, sentinel_query=query, sentinel=sentinel, **kw)


def test_verify_grades_each_table_against_its_minimum_at_the_boundary():
    rows = {r["check"]: r for r in verify(repo={"rc": 0}, sentinel={"rc": 0, "stdout": "t\n"})}
    assert list(rows) == ["repository checksums", "restore and start", "rows in users", "rows in orders", "sentinel row"]
    assert rows["rows in users"]["status"] == "OK" and rows["rows in users"]["figure"] == "10 rows (at least 10)"
    assert rows["rows in orders"]["status"] == "FAIL" and rows["rows in orders"]["value"] == 4
    assert rows["sentinel row"]["status"] == "OK" and rows["sentinel row"]["figure"] == "SELECT true → t"
    assert rows["restore and start"]["figure"] == "20261207-101500F restored and started; consistent at 0/7000028, timeline 3"


def test_verify_a_failed_checksum_run_shows_its_output_on_one_line():
    row = verify(repo={"rc": 1, "stderr": "ERROR: [028]:\n  file checksum mismatch", "stdout": ""}, restored=None)[0]
    assert row["status"] == "FAIL" and row["figure"] == "ERROR: [028]: file checksum mismatch"


def test_verify_a_table_with_no_count_fails_and_a_false_sentinel_fails():
    rows = {r["check"]: r for r in verify(restored={"replay_lsn": "0/1", "timeline": 1, "counts": {"users": 11}},
                                          sentinel={"rc": 0, "stdout": ""})}
    assert rows["rows in orders"]["status"] == "FAIL" and rows["rows in orders"]["value"] is None
    assert rows["sentinel row"]["status"] == "FAIL" and rows["sentinel row"]["figure"].endswith("→ no row")


def test_verify_in_check_mode_or_before_the_restore_has_only_what_ran():
    assert verify(repo={"skipped": True}, restored=None) == []
    assert [r["check"] for r in verify(repo={"rc": 0}, restored=None, sentinel={"rc": 0, "stdout": "t"})] == ["repository checksums"]
    assert "sentinel row" not in [r["check"] for r in verify(repo=None, query="", sentinel={"stdout": "t"})]


def test_unknown_step_is_named():
    with pytest.raises(AnsibleFilterError, match="step must be one of"):
        backup_checks({}, "prune")
