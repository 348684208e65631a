"""plugins/filter/backup_freshness: the age of the latest full and of the latest backup of any type, graded for the
daily health check against the schedule's thresholds (the collection's one table)."""
import datetime
import json
from pathlib import Path

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.filter.backup_freshness import age_text, backup_freshness
from ansible_collections.clickview.runbook.plugins.module_utils import pgbackrest as pgb
from ansible_collections.clickview.runbook.plugins.module_utils.runbook_thresholds import threshold

ROOT = Path(__file__).resolve().parents[2]
UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 6, 9, 0, 0, tzinfo=UTC)          # a Sunday, 09:00 UTC: the start of a shift
FULL, INCR = "backups.latest_full", "backups.latest_incremental"


def raw_backup(label, kind, hours_ago, error=False, prior=None):
    """One backup as `pgbackrest info --output=json` prints it, stopped hours_ago before NOW."""
    stop = int((NOW - datetime.timedelta(hours=hours_ago)).timestamp())
    return {"label": label, "type": kind, "prior": prior, "timestamp": {"start": stop - 600, "stop": stop},
            "info": {"size": 100, "delta": 10, "repository": {"size": 50, "delta": 5}},
            "archive": {"start": "000000010000000000000002", "stop": "000000010000000000000003"},
            "lsn": {"start": "0/2000028", "stop": "0/3000088"}, "error": error}


def module_result(*backups, status=0):
    """What clickview.runbook.pgbackrest_info returns for these backups: the module's own code builds it."""
    text = json.dumps([{"name": "clickview", "status": {"code": status, "message": "ok" if status == 0 else "no valid backups"},
                        "cipher": "none", "db": [{"id": 1, "system-id": 1, "version": "15"}],
                        "archive": [{"database": {"id": 1}, "id": "15-1", "min": "000000010000000000000001",
                                     "max": "000000010000000000000006"}],
                        "backup": list(backups)}])
    result = pgb.info_report(lambda argv: (0, text, ""), "pgbackrest", None, "clickview")
    result.pop("warnings")
    return dict(result, changed=False)


def rows(result, **kwargs):
    found = backup_freshness(result, now=kwargs.pop("now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ")), **kwargs)
    assert [r["check"] for r in found] == [FULL, INCR]
    for row in found:
        assert set(row) == {"check", "target", "status", "figure", "threshold", "detail", "value", "unit"}
    return dict((r["check"], r) for r in found)


def test_module_result_has_the_modules_time_stamps():
    result = module_result(raw_backup("20261206-010000F", "full", 8))
    assert result["backups"][0]["stop"] == "2026-12-06T01:00:00Z"


def test_no_backup_at_all_is_fail():
    found = rows(module_result(status=2))
    assert found[FULL]["status"] == found[INCR]["status"] == "FAIL"
    assert found[FULL]["figure"] == "no full backup in the repository"
    assert found[INCR]["figure"] == "no backup of any type (incr, diff or full) in the repository"
    assert found[FULL]["detail"] == "0 backup(s) in the repository: none"
    assert found[FULL]["target"] == "stanza clickview"


def test_only_a_fresh_full_satisfies_both_schedules():
    found = rows(module_result(raw_backup("20261206-010000F", "full", 8)))
    assert found[FULL]["status"] == found[INCR]["status"] == "OK"
    assert found[FULL]["figure"] == "8.0 h old - 20261206-010000F (full), stopped 2026-12-06T01:00:00Z"
    assert found[INCR]["figure"] == found[FULL]["figure"]          # a full is newer than any incremental it replaces
    assert found[FULL]["threshold"] == "latest full backup: warn >= 170 h, fail >= 174 h old"
    assert found[INCR]["threshold"] == "latest backup of any type (incr, diff or full): warn >= 26 h, fail >= 30 h old"
    assert found[FULL]["detail"] == "1 backup(s) in the repository: 1 full"


def test_a_stale_full_is_fail_while_a_fresh_incremental_is_ok():
    found = rows(module_result(raw_backup("20261128-010000F", "full", 200),
                               raw_backup("20261128-010000F_20261206-010000I", "incr", 8, prior="20261128-010000F")))
    assert found[FULL]["status"] == "FAIL"
    assert found[FULL]["figure"].startswith("200.0 h (8.3 days) old - 20261128-010000F (full)")
    assert found[INCR]["status"] == "OK"
    assert found[INCR]["figure"].startswith("8.0 h old - 20261128-010000F_20261206-010000I (incr)")


def test_a_fresh_full_and_a_stale_incremental():
    # the incremental is older than the full: the newer full is the latest backup, and it is fresh
    found = rows(module_result(raw_backup("20261129-010000F", "full", 5),
                               raw_backup("20261122-010000F_20261128-010000I", "incr", 40)))
    assert found[FULL]["status"] == found[INCR]["status"] == "OK"
    assert "(full)" in found[INCR]["figure"]
    # the full is within its week but no backup followed it for 40 h: the daily one was missed
    found = rows(module_result(raw_backup("20261201-010000F", "full", 100),
                               raw_backup("20261201-010000F_20261204-170000I", "incr", 40)))
    assert found[FULL]["status"] == "OK"
    assert found[INCR]["status"] == "FAIL" and found[INCR]["figure"].startswith("40.0 h old - ")


def test_a_differential_counts_for_the_incremental_row():
    found = rows(module_result(raw_backup("20261129-010000F", "full", 152),
                               raw_backup("20261129-010000F_20261206-010000D", "diff", 8),
                               raw_backup("20261129-010000F_20261204-010000I", "incr", 56)))
    assert found[INCR]["status"] == "OK" and "(diff)" in found[INCR]["figure"]
    assert found[FULL]["detail"] == "3 backup(s) in the repository: 1 diff, 1 full, 1 incr"


@pytest.mark.parametrize("hours, full, incr", [
    (25.99, "OK", "OK"),
    (26, "OK", "WARN"),          # at the WARN line: WARN
    (29.99, "OK", "WARN"),
    (30, "OK", "FAIL"),          # exactly at the limit: FAIL, as for every threshold ("at or above")
    (169.99, "OK", "FAIL"),
    (170, "WARN", "FAIL"),
    (174, "FAIL", "FAIL"),
])
def test_exactly_at_the_limits(hours, full, incr):
    found = rows(module_result(raw_backup("F", "full", hours)))
    assert (found[FULL]["status"], found[INCR]["status"]) == (full, incr)


def test_thresholds_come_from_the_table_and_can_be_tightened():
    assert threshold("backup_full_age_hours") == {"warn": 170, "fail": 174}
    assert threshold("backup_incremental_age_hours") == {"warn": 26, "fail": 30}
    result = module_result(raw_backup("F", "full", 8))
    # the health check's whole dictionary may be given; a missing backup entry takes the table's
    found = rows(result, thresholds={"connections_pct": {"warn": 75, "fail": 90},
                                     "backup_full_age_hours": {"warn": 4, "fail": 6}})
    assert found[FULL]["status"] == "FAIL" and found[FULL]["threshold"].endswith("warn >= 4 h, fail >= 6 h old")
    assert found[INCR]["status"] == "OK" and found[INCR]["threshold"].endswith("warn >= 26 h, fail >= 30 h old")
    assert rows(result, thresholds={"backup_incremental_age_hours": {"warn": "7", "fail": "9"}})[INCR]["status"] == "WARN"


def test_a_module_failure_is_fail_with_the_error_as_figure():
    failed = {"failed": True, "changed": False, "stanza": "clickview", "problem": "repository_unreachable",
              "msg": "the repository is unreachable (host, port or network): check repo1-s3-endpoint"}
    found = rows(failed)
    for name in (FULL, INCR):
        assert found[name]["status"] == "FAIL"
        assert found[name]["figure"] == failed["msg"]
        assert found[name]["detail"] == "problem: repository_unreachable"
        assert found[name]["target"] == "stanza clickview"


@pytest.mark.parametrize("result, figure", [
    ({"unreachable": True, "changed": False, "msg": "Failed to connect to the host via ssh: timed out"},
     "Failed to connect to the host via ssh: timed out"),
    ({"failed": True, "msg": "{{ clickview_ssh_known_hosts }} ... a host key is never trusted on first use"},
     "{{ clickview_ssh_known_hosts }} ... a host key is never trusted on first use"),
    ({"skipped": True, "changed": False}, "backup repository not read (skipped)"),
    ({}, "backup repository not read"),
    (None, "backup repository not read"),
    ({"changed": False, "stanza": "clickview", "backups": None}, "backup repository not read"),
])
def test_anything_but_a_listing_is_fail_never_ok(result, figure):
    found = rows(result)
    assert found[FULL]["status"] == found[INCR]["status"] == "FAIL"
    assert found[FULL]["figure"] == found[INCR]["figure"] == figure


def test_a_failed_result_with_a_stale_listing_is_still_fail():
    result = dict(module_result(raw_backup("F", "full", 1)), failed=True, msg="target_time: outside the window")
    assert {r["status"] for r in rows(result).values()} == {"FAIL"}


def test_backups_with_page_checksum_errors_are_left_out():
    found = rows(module_result(raw_backup("20261129-010000F", "full", 152),
                               raw_backup("20261206-010000F", "full", 8, error=True)))
    assert found[FULL]["figure"].startswith("152.0 h (6.3 days) old - 20261129-010000F (full)")
    assert found[INCR]["status"] == "FAIL"                     # the only fresh backup is the one with errors
    assert found[FULL]["detail"] == ("2 backup(s) in the repository: 2 full; 1 left out (page checksum errors found "
                                     "by pgBackRest, or no stop time)")


def test_time_stamps_in_the_modules_formats():
    listing = {"changed": False, "stanza": "s", "backups": [
        {"label": "A", "type": "full", "stop": "2026-12-06T07:30:00.250000Z", "error": False},
        {"label": "B", "type": "incr", "stop": "2026-12-06T08:45:00Z", "error": False},
        {"label": "C", "type": "incr", "stop": None, "error": False}]}
    found = rows(listing)
    assert found[FULL]["figure"] == "1.5 h old - A (full), stopped 2026-12-06T07:30:00.250000Z"
    assert found[INCR]["figure"] == "15 min old - B (incr), stopped 2026-12-06T08:45:00Z"
    assert found[FULL]["target"] == "stanza s"
    assert rows(listing, target="clickview on db1")[FULL]["target"] == "clickview on db1"


def test_a_backup_stopped_after_now_is_age_zero_and_says_so():
    listing = {"changed": False, "stanza": "s", "backups": [
        {"label": "A", "type": "full", "stop": "2026-12-06T09:10:00Z", "error": False}]}
    found = rows(listing)
    assert found[FULL]["status"] == "OK" and found[FULL]["figure"].startswith("0 min old - A (full)")
    assert found[FULL]["detail"].endswith("stopped 10 min after the time of this check: check the clocks")


def test_now_defaults_to_the_current_time():
    stop = (datetime.datetime.now(UTC) - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = backup_freshness({"stanza": "s", "backups": [{"label": "A", "type": "full", "stop": stop, "error": False}]})
    assert found[0]["figure"].startswith("2.0 h old")


def test_a_bad_now_is_an_error():
    with pytest.raises(AnsibleFilterError, match="now must be an ISO 8601 time"):
        backup_freshness({"backups": []}, now="yesterday")


@pytest.mark.parametrize("hours, text", [(0, "0 min"), (0.25, "15 min"), (1, "1.0 h"), (47.94, "47.9 h"),
                                         (48, "48.0 h (2.0 days)"), (174, "174.0 h (7.2 days)")])
def test_age_text(hours, text):
    assert age_text(hours) == text


def test_the_health_check_takes_the_table_and_is_on_when_the_inventory_configures_backups():
    defaults = yaml.safe_load((ROOT / "roles" / "on_call" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    for measure in ("backup_full_age_hours", "backup_incremental_age_hours"):
        assert defaults["on_call_thresholds"][measure] == "{{ '%s' | clickview.runbook.runbook_threshold }}" % measure
    assert "backups_stanza is defined" in defaults["on_call_check_backups"]
    for env in ("local", "staging", "production"):
        inventory = yaml.safe_load((ROOT / "inventory" / env / "group_vars" / "all" / "backups.yml").read_text(encoding="utf-8"))
        assert inventory.get("backups_stanza"), env
    tasks = yaml.safe_load((ROOT / "roles" / "on_call" / "tasks" / "health_check.yml").read_text(encoding="utf-8"))
    names = [t["name"] for t in tasks]
    include = tasks[names.index("Check PostgreSQL") + 1]
    assert include["ansible.builtin.include_tasks"] == "health/backups.yml"
    assert include["when"] == "on_call_check_backups | bool"


def test_the_value_is_the_age_in_hours():
    found = rows(module_result(raw_backup("20261128-010000F", "full", 200.5),
                               raw_backup("20261128-010000F_20261206-010000I", "incr", 0.25, prior="20261128-010000F")))
    assert (found[FULL]["value"], found[FULL]["unit"]) == (200.5, "hours")
    assert (found[INCR]["value"], found[INCR]["unit"]) == (0.25, "hours")
    missing = rows(module_result(status=2))
    assert (missing[FULL]["value"], missing[FULL]["unit"]) == (None, None)
