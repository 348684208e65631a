"""plugins/filter/wal_archiving_check: pg_stat_archiver graded for the daily health check."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.wal_archiving_check import wal_archiving_check

OK_ROW = {"archive_mode": "on", "archived_count": 42, "last_archived_wal": "00000001000000000000002A",
          "last_archived_time": "2026-12-06 03:00:00.1+00", "failed_count": 0, "last_failed_wal": None,
          "last_failed_time": None}


def check(**row):
    return wal_archiving_check({"query_result": [dict(OK_ROW, **row)]}, "primary db1:5432")


def test_archiving_that_works_is_ok():
    found = check()
    assert found["status"] == "OK" and found["check"] == "postgres.wal_archiving" and found["target"] == "primary db1:5432"
    assert found["figure"] == "42 archived, the last 00000001000000000000002A at 2026-12-06 03:00:00.1+00"


def test_a_failure_after_the_last_success_is_fail_naming_the_segment():
    found = check(failed_count=3, last_failed_wal="00000001000000000000002B", last_failed_time="2026-12-06 03:05:00+00")
    assert found["status"] == "FAIL"
    assert found["figure"].startswith("failing: 00000001000000000000002B failed at 2026-12-06 03:05:00+00 (3 failure(s))")
    assert found["detail"].startswith("42 archived")


def test_an_old_failure_followed_by_successes_is_ok():
    assert check(failed_count=1, last_failed_wal="X", last_failed_time="2026-12-06 02:00:00+00")["status"] == "OK"


@pytest.mark.parametrize("archived_time", [None, ""])
def test_only_ever_failed_is_fail(archived_time):
    found = check(archived_count=0, last_archived_wal=None, last_archived_time=archived_time, failed_count=1,
                  last_failed_wal="000000010000000000000001", last_failed_time="2026-12-06 03:05:00+00")
    assert found["status"] == "FAIL" and found["detail"] == "none archived yet"


def test_archive_mode_off_is_warn():
    found = check(archive_mode="off", archived_count=0, last_archived_time=None)
    assert found["status"] == "WARN" and found["figure"].startswith("archive_mode is off")


def test_not_read_is_fail_with_the_reason():
    found = wal_archiving_check({"msg": "permission denied"}, "p")
    assert found["status"] == "FAIL" and found["figure"] == "unknown" and found["detail"] == "permission denied"
    assert wal_archiving_check({"skipped": True})["detail"] == "not read"


def test_no_value_a_count_since_the_reset_is_not_graded():
    found = check()
    assert (found["value"], found["unit"]) == (None, None)
