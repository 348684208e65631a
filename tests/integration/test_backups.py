"""Backups and restore end to end: pgBackRest, the lab's S3 (moto behind the TLS proxy), real PostgreSQL 15.

The lab primary is never touched: the tests make a private PostgreSQL cluster (archive_mode on) on a
spare port, point the playbooks at it with extra vars, back it up into a private repository path in
the lab bucket and restore into scratch directories on other spare ports. Everything is removed at
the end (cluster, scratch copies, repository objects).

Flow: write rows, full backup, more rows at recorded times, incremental backup, more rows; then
point-in-time restore between two writes, restore latest, list window, refusals, verify good and
corrupted.
"""
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import PG_BIN, ROOT, VENV_BIN, Cluster, aws_client, free_port, run_playbook

pytestmark = pytest.mark.skipif(not shutil.which("pgbackrest") or not PG_BIN.exists(),
                                reason="needs pgbackrest and PostgreSQL 15 (make apt)")


@pytest.fixture(scope="module")
def env(lab):
    subprocess.run([str(VENV_BIN / "python"), str(ROOT / "lab" / "labctl.py"), "start", "moto", "moto-tls"],
                   check=True, capture_output=True)
    base = Path(tempfile.mkdtemp(prefix="cvbk-", dir="/var/tmp"))
    cluster = Cluster(base, free_port(25600))
    cluster.create("listen_addresses = ''\nwal_level = replica\narchive_mode = on\narchive_command = '/bin/true'\n")
    cluster.sql("CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);"
                "CREATE TABLE api_keys (id bigserial PRIMARY KEY, user_id bigint);"
                "CREATE TABLE audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(),"
                " action text NOT NULL);"
                "INSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 50) g;"
                "INSERT INTO api_keys (user_id) SELECT g FROM generate_series(1, 20) g;"
                "INSERT INTO audit_log (action) VALUES ('write-1'), ('write-2'), ('write-3')")
    repo_path = f"/tests/backups-{uuid.uuid4().hex[:8]}"
    aws = lab["aws"]
    extra = {
        "backups_stanza": "test", "backups_config_file": str(base / "pgbackrest" / "pgbackrest.conf"),
        "backups_log_path": str(base / "pgbackrest" / "log"), "backups_lock_path": str(base / "pgbackrest" / "lock"),
        "backups_spool_path": str(base / "pgbackrest" / "spool"), "backups_repo_path": repo_path,
        "backups_pg_data_dir": str(cluster.data), "backups_pg_port": cluster.port, "backups_pg_socket_dir": str(base),
        "backups_pg_database": "clickview", "backups_verify_tables": ["users", "api_keys", "audit_log"],
        "backups_verify_min_rows": {"users": 50, "api_keys": 20},
        "backups_verify_sentinel_query": "SELECT EXISTS (SELECT 1 FROM users WHERE email = 'user1@example.com')",
        "backups_scratch_root": str(base / "scratch"), "backups_scratch_socket_dir": str(base),
        "backups_verify_port": free_port(cluster.port + 1), "backups_report_dir": str(base / "reports"),
        "backups_become": cluster.user is not None, "backups_process_max": 2,
    }
    extra["backups_restore_port"] = free_port(extra["backups_verify_port"] + 1)
    state = {"cluster": cluster, "extra": extra, "base": base, "repo_path": repo_path}
    yield state
    for copy in (base / "scratch").glob("*") if (base / "scratch").exists() else []:
        cluster.pg_ctl("-m", "immediate", "-w", "stop", data=copy)
    cluster.pg_ctl("-m", "immediate", "-w", "stop")
    shutil.rmtree(base, ignore_errors=True)
    s3 = aws_client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=aws["backup_bucket"], Prefix=repo_path.lstrip("/")):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=aws["backup_bucket"], Key=obj["Key"])


def play(env, name, check=False, diff=False, **overrides):
    extra = dict(env["extra"], **overrides)
    # pipelining: the tasks that become the postgres account need no world-readable temporary files
    return run_playbook(f"playbooks/{name}.yml", extra_vars=extra, check=check, diff=diff,
                        env={"ANSIBLE_PIPELINING": "1"})


def report(env, kind):
    return json.loads((env["base"] / "reports" / f"{kind}-local-latest.json").read_text(encoding="utf-8"))


def task_results(out, fragment):
    """Results on localhost of every task whose name contains fragment."""
    found = []
    for play_ in out["plays"]:
        for task in play_["tasks"]:
            if fragment in task["task"]["name"]:
                found.append(task["hosts"].get("localhost", {}))
    return found


def failure(out):
    for play_ in out["plays"]:
        for task in play_["tasks"]:
            result = task["hosts"].get("localhost", {})
            if result.get("failed") and not result.get("skipped"):
                return result.get("msg", "")
    return ""


def ids(cluster, **kwargs):
    return [int(x) for x in cluster.sql("SELECT id FROM audit_log ORDER BY id", **kwargs).split()]


def stop_copy(env, name):
    data = Path(env["extra"]["backups_scratch_root"]) / name
    env["cluster"].pg_ctl("-m", "immediate", "-w", "stop", data=data)
    shutil.rmtree(data, ignore_errors=True)


def test_configure_check_mode_changes_nothing(env):
    rc, out = play(env, "backup_configure", check=True, diff=True)
    assert rc == 0, failure(out)
    assert not Path(env["extra"]["backups_config_file"]).exists()
    assert env["cluster"].sql("SHOW archive_command") == "/bin/true"
    assert "would be set" in report(env, "backup-configure")["summary"]["archive_command"]


def test_configure_sets_archiving_and_is_idempotent(env):
    rc, out = play(env, "backup_configure")
    assert rc == 0, failure(out)
    rep = report(env, "backup-configure")
    assert rep["result"] == "OK" and rep["summary"]["Stanza"] == "test (created)"
    assert [c["status"] for c in rep["checks"]] == ["OK"]          # pgbackrest check passed
    assert "archive-push %p" in env["cluster"].sql("SHOW archive_command")
    conf = Path(env["extra"]["backups_config_file"])
    assert oct(conf.stat().st_mode)[-3:] == "640" and "repo1-retention-full=2" in conf.read_text()
    rc, out = play(env, "backup_configure")
    assert rc == 0, failure(out)
    for name in ("Write the pgBackRest configuration", "Create the stanza", "ALTER SYSTEM"):
        assert all(not r.get("changed") for r in task_results(out, name)), name
    assert report(env, "backup-configure")["summary"]["Stanza"] == "test (exists)"


def test_full_then_incremental_backup_with_timed_writes(env):
    cluster = env["cluster"]
    rc, out = play(env, "backup_run", check=True, backups_type="full")      # check mode: nothing made
    assert rc == 0, failure(out)
    rc, out = play(env, "backup_run", backups_type="full")
    assert rc == 0, failure(out)
    # run in the background on the database host and waited for there: started, then looked at until it ended
    started, = task_results(out, "in the background on the database host")
    waited, = task_results(out, "Look at the background job")
    assert started["ansible_job_id"] == waited["ansible_job_id"] and waited["finished"] == 1 and waited["rc"] == 0, waited
    full = report(env, "backup-run")
    assert full["summary"]["Type"] == "full" and len(full["backups"]) == 1    # the check-mode run made none
    assert full["summary"]["WAL range"].startswith("0000000100000000")
    cluster.sql("INSERT INTO audit_log (action) VALUES ('write-4')")       # id 4
    time.sleep(1.2)
    env["between"] = datetime.datetime.now(datetime.timezone.utc)          # after write 4, before write 5
    time.sleep(1.2)
    cluster.sql("INSERT INTO audit_log (action) VALUES ('write-5')")       # id 5
    rc, out = play(env, "backup_run", backups_type="incr")
    assert rc == 0, failure(out)
    incr = report(env, "backup-run")
    assert incr["summary"]["Type"] == "incr" and incr["summary"]["Depends on"] == full["summary"]["Backup"]
    assert [b["type"] for b in incr["backups"]] == ["full", "incr"]
    cluster.sql("INSERT INTO audit_log (action) VALUES ('write-6')")       # id 6, only in archived WAL
    env["last_write"] = cluster.sql("SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') "
                                    "FROM audit_log WHERE id = 6")
    segment = cluster.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
    cluster.sql("SELECT pg_switch_wal()")
    for _attempt in range(50):
        if cluster.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= segment:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the segment with write 6 was not archived")
    env["full_stop"] = full["summary"]["Stopped"]


def test_list_shows_backups_and_window(env):
    rc, out = play(env, "backup_list")
    assert rc == 0, failure(out)
    rep = report(env, "backup-list")
    assert [b["type"] for b in rep["backups"]] == ["full", "incr"]
    assert rep["window"]["earliest"] == env["full_stop"]
    latest = datetime.datetime.fromisoformat(rep["window"]["latest"].replace("Z", "+00:00"))
    written = datetime.datetime.fromisoformat(env["last_write"] + "+00:00")
    assert datetime.timedelta(0) <= latest - written < datetime.timedelta(seconds=1)   # the commit of write 6
    assert (env["base"] / "reports" / "backup-list-local-latest.md").read_text().count("\n| `20") == 2


def test_point_in_time_restore_between_two_writes(env):
    target = env["between"].strftime("%Y-%m-%d %H:%M:%S.%f")
    data_dir = str(Path(env["extra"]["backups_scratch_root"]) / "pitr")
    rc, out = play(env, "backup_restore", backups_restore_target="time", backups_restore_target_time=target,
                   backups_restore_data_dir=data_dir)
    try:
        assert rc == 0, failure(out)
        assert ids(env["cluster"], port=env["extra"]["backups_restore_port"]) == [1, 2, 3, 4]
        rep = report(env, "backup-restore")
        assert rep["summary"]["Recovery target"].startswith("time " + env["between"].strftime("%Y-%m-%d %H:%M:%S"))
        assert rep["summary"]["Recovery end point (LSN)"] and rep["summary"]["Last replayed transaction"] < target.replace(" ", "T")
        assert env["cluster"].sql("SHOW archive_mode", port=env["extra"]["backups_restore_port"]) == "off"
    finally:
        stop_copy(env, "pitr")


def test_restore_latest_returns_every_row(env):
    data_dir = str(Path(env["extra"]["backups_scratch_root"]) / "latest")
    rc, out = play(env, "backup_restore", backups_restore_data_dir=data_dir)
    try:
        assert rc == 0, failure(out)
        assert ids(env["cluster"], port=env["extra"]["backups_restore_port"]) == [1, 2, 3, 4, 5, 6]
        assert report(env, "backup-restore")["summary"]["Timeline"] == 2
    finally:
        stop_copy(env, "latest")
    assert ids(env["cluster"]) == [1, 2, 3, 4, 5, 6]                   # the source cluster is untouched


@pytest.mark.parametrize("overrides, expected", [
    ({"backups_restore_target": "time", "backups_restore_target_time": "2099-01-01 00:00:00"},
     "after the latest archived transaction"),
    ({"backups_restore_target": "time", "backups_restore_target_time": "yesterday at noon"}, "is not a time"),
    ({"backups_restore_target": "time", "backups_restore_target_time": "2001-01-01 00:00:00"},
     "before the restorable window"),
    ({"backups_restore_destination": "in_place"}, "backups_restore_allow_in_place=true"),
    ({"backups_stanza": "nope"}, "stanza 'nope' does not exist in the repository"),
    ({"backups_s3_port": 1}, "unreachable"),
])
def test_bad_input_fails_before_anything_changes(env, overrides, expected):
    if "backups_s3_port" in overrides:       # an unreachable repository: a config file that points elsewhere
        conf = Path(env["extra"]["backups_config_file"])
        bad = conf.with_name("unreachable.conf")
        bad.write_text(conf.read_text().replace("repo1-storage-port=15443", "repo1-storage-port=1"))
        overrides = {"backups_config_file": str(bad), "backups_info_timeout": 8}
    data_dir = str(Path(env["extra"]["backups_scratch_root"]) / "refused")
    rc, out = play(env, "backup_restore", backups_restore_data_dir=data_dir, **overrides)
    assert rc != 0
    assert expected in failure(out)
    assert not Path(data_dir).exists()
    assert env["cluster"].sql("SELECT pg_is_in_recovery()") == "f"      # the server was not stopped
    assert ids(env["cluster"]) == [1, 2, 3, 4, 5, 6]


def failing_restore_bin(env):
    """pgbackrest that does everything but restore: the in-place restore fails after the server was stopped."""
    wrapper = env["base"] / "pgbackrest-no-restore"
    wrapper.write_text('#!/bin/sh\ncase " $* " in *" restore "*) echo "simulated restore failure" >&2; exit 1;; esac\n'
                       'exec pgbackrest "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def test_failed_in_place_restore_restarts_the_server_and_says_so(env):
    rc, out = play(env, "backup_restore", backups_restore_destination="in_place", backups_restore_allow_in_place=True,
                   backups_pgbackrest_bin=failing_restore_bin(env))
    assert rc != 0
    rep = report(env, "backup-restore")
    assert rep["summary"]["Outcome"] == "not restored"
    assert rep["summary"]["Server"] == "running", rep["summary"]
    assert "simulated restore failure" in failure(out) or "simulated restore failure" in json.dumps(rep)
    assert "server state: running (restarted after the failed restore)" in json.dumps(rep)
    assert env["cluster"].sql("SELECT pg_is_in_recovery()") == "f"      # up again, with its data
    assert ids(env["cluster"]) == [1, 2, 3, 4, 5, 6]


def test_failed_in_place_restore_that_cannot_restart_says_the_server_is_stopped(env):
    cluster = env["cluster"]
    try:
        rc, out = play(env, "backup_restore", backups_restore_destination="in_place", backups_restore_allow_in_place=True,
                       backups_pgbackrest_bin=failing_restore_bin(env), backups_pg_start_command=["/bin/false"])
        assert rc != 0
        rep = report(env, "backup-restore")
        assert rep["summary"]["Server"] == "stopped", rep["summary"]
        assert "STOPPED: it could not be started again" in json.dumps(rep) and "start it by hand: /bin/false" in json.dumps(rep)
    finally:
        cluster.pg_ctl("-w", "start", "-l", str(env["base"] / "restart.log"))
    assert ids(cluster) == [1, 2, 3, 4, 5, 6]


def test_verify_passes_on_a_good_backup(env):
    rc, out = play(env, "backup_verify")
    assert rc == 0, failure(out)
    rep = report(env, "backup-verify")
    checks = {c["check"]: c for c in rep["checks"]}
    assert all(c["status"] == "OK" for c in rep["checks"]), rep["checks"]
    assert checks["rows in users"]["figure"].startswith("50 rows")
    assert checks["sentinel row"]["status"] == "OK" and "repository checksums" in checks
    assert not (Path(env["extra"]["backups_scratch_root"]) / "verify-test").exists()


def test_verify_fails_on_a_corrupted_backup(env, lab):
    s3, bucket = aws_client("s3"), lab["aws"]["backup_bucket"]
    prefix = env["repo_path"].lstrip("/") + "/backup/test/"
    objects = [o for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
               if "/pg_data/" in o["Key"] or "/bundle/" in o["Key"]]
    victim = max(objects, key=lambda o: o["Size"])                     # the largest data file of the backups
    body = bytearray(s3.get_object(Bucket=bucket, Key=victim["Key"])["Body"].read())
    body[len(body) // 2:len(body) // 2 + 64] = os.urandom(64)
    s3.put_object(Bucket=bucket, Key=victim["Key"], Body=bytes(body))
    rc, out = play(env, "backup_verify")
    assert rc != 0
    rep = report(env, "backup-verify")
    assert rep["result"] == "FAIL"
    assert rep["summary"]["Verdict"] == "NOT restorable"
    assert not (Path(env["extra"]["backups_scratch_root"]) / "verify-test").exists()   # cleaned up anyway
    assert env["cluster"].sql("SELECT count(*) FROM audit_log") == "6"
