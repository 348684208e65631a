"""The daily health check's backup freshness against the lab: pgBackRest, the lab's S3 (moto behind the TLS
proxy), real PostgreSQL 15.

As in test_backups.py, the lab primary is never touched: a private cluster on a spare port is backed up (a
full, then an incremental) into a private repository path of the lab bucket, and the health check is pointed
at that stanza with extra vars. Then: fresh backups are OK with their ages, a schedule tighter than their
age is FAIL and fails the play, and a repository that cannot be read is FAIL naming the error.
"""
import datetime
import json
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from conftest import PG_BIN, ROOT, VENV_BIN, Cluster, aws_client, free_port, run_playbook
from ansible_collections.clickview.runbook.plugins.module_utils.runbook_thresholds import THRESHOLDS

pytestmark = pytest.mark.skipif(not shutil.which("pgbackrest") or not PG_BIN.exists(),
                                reason="needs pgbackrest and PostgreSQL 15 (make apt)")

PLAYBOOK = "playbooks/health_check.yml"
BACKUP_CHECKS = ("backups.latest_full", "backups.latest_incremental")
# for the runs that assert only the backup checks: a shorter Redis window, no Kubernetes reads
QUICK = {"on_call_redis_window": 1, "on_call_check_kubernetes": False}


@pytest.fixture(scope="module")
def stanza(lab):
    """A private cluster with a full and an incremental backup in a private repository path; removed afterwards."""
    subprocess.run([str(VENV_BIN / "python"), str(ROOT / "lab" / "labctl.py"), "start", "moto", "moto-tls"],
                   check=True, capture_output=True)
    base = Path(tempfile.mkdtemp(prefix="cvhc-", dir="/var/tmp"))
    cluster = Cluster(base, free_port(25800))
    cluster.create("listen_addresses = ''\nwal_level = replica\narchive_mode = on\narchive_command = '/bin/true'\n")
    cluster.sql("CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);"
                "INSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 20) g")
    repo_path = f"/tests/health-{uuid.uuid4().hex[:8]}"
    extra = {
        "backups_stanza": "health", "backups_config_file": str(base / "pgbackrest" / "pgbackrest.conf"),
        "backups_log_path": str(base / "pgbackrest" / "log"), "backups_lock_path": str(base / "pgbackrest" / "lock"),
        "backups_spool_path": str(base / "pgbackrest" / "spool"), "backups_repo_path": repo_path,
        "backups_pg_data_dir": str(cluster.data), "backups_pg_port": cluster.port, "backups_pg_socket_dir": str(base),
        "backups_pg_database": "clickview", "backups_report_dir": str(base / "reports"),
        "backups_become": cluster.user is not None,
    }
    made = {}
    try:
        for playbook, overrides in (("backup_configure", {}), ("backup_run", {"backups_type": "full"}),
                                    ("backup_run", {"backups_type": "incr"})):
            rc, out = run_playbook(f"playbooks/{playbook}.yml", extra_vars=dict(extra, **overrides), json_output=False,
                                   env={"ANSIBLE_PIPELINING": "1"})
            assert rc == 0, out[-3000:]
            if playbook == "backup_run":
                report = json.loads((base / "reports" / "backup-run-local-latest.json").read_text(encoding="utf-8"))
                made[overrides["backups_type"]] = report["backups"][-1]
        assert [made["full"]["type"], made["incr"]["type"]] == ["full", "incr"]
        yield {"extra": extra, "full": made["full"], "incr": made["incr"], "base": base}
    finally:
        cluster.destroy()
        s3 = aws_client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=lab["aws"]["backup_bucket"],
                                                                 Prefix=repo_path.lstrip("/")):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=lab["aws"]["backup_bucket"], Key=obj["Key"])


def health_check(tmp_path, stanza_, **extra):
    rc, output = run_playbook(PLAYBOOK, json_output=False,
                              extra_vars=dict(stanza_["extra"], on_call_report_dir=str(tmp_path), on_call_check_backups=True,
                                              **extra))
    report = json.loads((tmp_path / "health-check-local-latest.json").read_text(encoding="utf-8"))
    return rc, output, report, {c["check"]: c for c in report["checks"] if c["check"] in BACKUP_CHECKS}


def hours_since(stop):
    return (datetime.datetime.now(datetime.timezone.utc)
            - datetime.datetime.fromisoformat(stop.replace("Z", "+00:00"))).total_seconds() / 3600


def test_fresh_backups_are_ok_with_their_age(tmp_path, stanza, quiet_lab):  # pylint: disable=unused-argument,redefined-outer-name
    rc, output, report, rows = health_check(tmp_path, stanza)
    assert sorted(rows) == sorted(BACKUP_CHECKS), report["checks"]
    full, latest = rows["backups.latest_full"], rows["backups.latest_incremental"]
    assert full["status"] == latest["status"] == "OK", rows
    assert full["target"] == "stanza health"
    # the full row grades the full, the incremental row the newer incremental; both a few minutes old
    assert full["figure"].endswith(" min old - %s (full), stopped %s" % (stanza["full"]["label"], stanza["full"]["stop"]))
    assert latest["figure"].endswith(" min old - %s (incr), stopped %s" % (stanza["incr"]["label"], stanza["incr"]["stop"]))
    for row, backup in ((full, stanza["full"]), (latest, stanza["incr"])):
        minutes = int(row["figure"].split(" min old")[0])
        assert abs(minutes - hours_since(backup["stop"]) * 60) <= 1, row
    assert full["threshold"] == "latest full backup: warn >= 170 h, fail >= 174 h old"
    assert latest["threshold"] == "latest backup of any type (incr, diff or full): warn >= 26 h, fail >= 30 h old"
    assert full["detail"] == "2 backup(s) in the repository: 1 full, 1 incr"
    # This file runs beside the foreground tests, which break the lab's own WAL archiving or a pod on purpose: the
    # whole lab's verdict is theirs to assert. Here: fresh backups never fail the play, and the play fails exactly
    # when another check is FAIL.
    failing = sorted(c["check"] for c in report["checks"] if c["status"] == "FAIL")
    assert not set(failing) & set(BACKUP_CHECKS), failing
    assert (rc != 0) == bool(failing) and (report["overall"] == "FAIL") == bool(failing), (failing, output[-3000:])
    if failing:
        named = output.split("check(s) FAIL: ")[1].split(" (")[0].split(", ")
        assert sorted(set(named)) == sorted(set(failing)), output[-3000:]   # a check may have a row per target
    markdown = (tmp_path / "health-check-local-latest.md").read_text(encoding="utf-8")
    assert "`backups.latest_full`" in markdown and "`backups.latest_incremental`" in markdown


def test_a_schedule_tighter_than_the_backups_age_is_fail_and_fails_the_play(tmp_path, stanza):  # pylint: disable=redefined-outer-name
    # every threshold from the collection's table, with backups due every 0.0002 h (under a second)
    thresholds = dict(THRESHOLDS, backup_full_age_hours={"warn": 0.0001, "fail": 0.0002},
                      backup_incremental_age_hours={"warn": 0.0001, "fail": 0.0002})
    rc, output, report, rows = health_check(tmp_path, stanza, on_call_thresholds=thresholds, **QUICK)
    assert rc != 0, "a FAIL check must fail the play"
    assert report["overall"] == "FAIL"
    for name, backup in (("backups.latest_full", stanza["full"]), ("backups.latest_incremental", stanza["incr"])):
        assert rows[name]["status"] == "FAIL", rows[name]
        assert backup["label"] in rows[name]["figure"] and rows[name]["figure"].split(" ")[1] == "min", rows[name]
        assert rows[name]["threshold"].endswith("warn >= 0.0001 h, fail >= 0.0002 h old")
    failed = output.split("check(s) FAIL: ")[1].split(" (")[0].split(", ")
    assert "backups.latest_full" in failed and "backups.latest_incremental" in failed, output[-3000:]


def test_a_repository_that_cannot_be_read_is_fail_naming_the_error(tmp_path, stanza):  # pylint: disable=redefined-outer-name
    missing = str(stanza["base"] / "no-such-pgbackrest.conf")
    rc, output, report, rows = health_check(tmp_path, stanza, backups_config_file=missing, **QUICK)
    assert rc != 0 and report["overall"] == "FAIL"
    for name in BACKUP_CHECKS:
        assert rows[name]["status"] == "FAIL", rows[name]
        assert "unable to open missing file" in rows[name]["figure"] and missing in rows[name]["figure"], rows[name]
        assert rows[name]["detail"] == "problem: config"
    # the other checks still ran
    assert {c["check"] for c in report["checks"]} >= {"api.health", "postgres.primary", "redis.ping"}
