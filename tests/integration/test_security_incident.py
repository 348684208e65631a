"""security_incident against the lab: classification, containment (WAF block with expiry, API key
revocation with audit rows, logout of the affected users only), the sealed evidence bundle (verifies,
and fails after tampering; the runbook's audit_log.created_at and app=clickview with the previous
container's logs), notification with the post-incident checklist, refusals of bad input (and of an
empty evidence bucket outside the lab) with nothing left half-done, and check mode changing nothing.

Nothing shared is touched: a private WAF IP set, users/API keys and audit rows created (and removed)
by the test, Redis keys with the test's own user ids, a private incident folder, a namespace of its
own in the Kubernetes stand-in."""
import datetime
import json
import random
import time
import uuid

import pytest

from conftest import (LAB, ROOT, aws_client, grant_the_operator, pg_connect, redis_client, run_module, run_playbook, run_tasks, wait_until,
                      webhook_received)

TAG = uuid.uuid4().hex[:8]
# the incidents the tests work on, one per test (the refusal cases share theirs: each checks it is unchanged)
INCIDENTS = {name: f"SEC-{TAG}-{name}" for name in ("con", "awx", "chk", "bad", "evd", "win", "evc", "ntf", "evp")}


def failure_messages(out):
    """Messages of the failed tasks of a json-callback run."""
    msgs = []
    for play in out.get("plays", []):
        for task in play["tasks"]:
            host = task["hosts"].get("localhost", {})
            if host.get("failed") and not host.get("ignore_errors"):
                msgs.append(str(host.get("msg", "")))
                msgs += [str(item.get("msg", "")) for item in host.get("results", []) if item.get("failed")]
    return msgs


@pytest.fixture(scope="module")
def incidents(tmp_path_factory):
    """A private incident folder with the tests' P1 incidents, declared by the collection's module in one run."""
    folder = tmp_path_factory.mktemp("incidents")
    results = run_tasks([{"clickview.runbook.incident": {
        "incident_dir": str(folder), "incident_id": incident_id, "action": "declare", "title": "sectest",
        "severity": "P1"}} for incident_id in INCIDENTS.values()])
    assert not any(r.get("failed") for r in results), results
    return folder


@pytest.fixture
def env(incidents, tmp_path):
    """A private report folder, WAF IP set, users with API keys and sessions."""
    waf = aws_client("wafv2")
    tag = f"{TAG}{uuid.uuid4().hex[:4]}"
    set_name = f"sectest-{tag}"
    summary = waf.create_ip_set(Name=set_name, Scope="REGIONAL", IPAddressVersion="IPV4", Addresses=[])["Summary"]

    conn = pg_connect(application_name="itest-security-incident")
    with conn.cursor() as cur:      # other tests may switch the lab database to read-only for a while
        cur.execute("SET default_transaction_read_only = off")
    base = random.randint(90_000_000, 99_000_000)
    users = [base, base + 1, base + 2]
    keys = {users[0]: [f"sectest-{tag}-a1", f"sectest-{tag}-a2"], users[1]: [f"sectest-{tag}-b1"],
            users[2]: [f"sectest-{tag}-c1"]}
    with conn.cursor() as cur:
        for uid in users:
            cur.execute("INSERT INTO users (id, email, name) VALUES (%s, %s, %s)", (uid, f"{uid}@sectest.invalid", "sectest"))
            for key in keys[uid]:
                cur.execute("INSERT INTO api_keys (key_id, user_id, label) VALUES (%s, %s, 'sectest')", (key, uid))

    rds = redis_client()
    seeded_sessions = sum(1 for _key in rds.scan_iter(match="session:*", count=1000))
    sessions = {uid: [f"session:sectest{tag}{n}-{uid}" for n in range(3)] for uid in users}
    for uid, names in sessions.items():
        for name in names:
            rds.set(name, "x", ex=3600)

    reports = tmp_path / "reports"
    extra = {"clickview_incident_dir": str(incidents), "clickview_report_dir": str(reports),
             "security_incident_waf_ip_sets": [set_name]}
    yield dict(waf=waf, set_name=set_name, set_id=summary["Id"], conn=conn, users=users, keys=keys, redis=rds,
               sessions=sessions, seeded_sessions=seeded_sessions, incidents=incidents, reports=reports, extra=extra,
               tag=tag)

    lock = waf.get_ip_set(Name=set_name, Scope="REGIONAL", Id=summary["Id"])["LockToken"]
    waf.delete_ip_set(Name=set_name, Scope="REGIONAL", Id=summary["Id"], LockToken=lock)
    with conn.cursor() as cur:
        all_keys = [k for ks in keys.values() for k in ks]
        cur.execute("DELETE FROM audit_log WHERE target = ANY(%s) OR target LIKE %s", (all_keys, f"sectest-{tag}-%"))
        cur.execute("DELETE FROM api_keys WHERE user_id = ANY(%s)", (users,))
        cur.execute("DELETE FROM users WHERE id = ANY(%s)", (users,))
    conn.close()
    for names in sessions.values():
        rds.delete(*names)


def record(env, incident_id):
    return json.loads((env["incidents"] / f"{incident_id}.json").read_text())


def ip_set(env):
    got = env["waf"].get_ip_set(Name=env["set_name"], Scope="REGIONAL", Id=env["set_id"])["IPSet"]
    tags = env["waf"].list_tags_for_resource(ResourceARN=got["ARN"])["TagInfoForResource"].get("TagList", [])
    return got["Addresses"], tags


def key_rows(env):
    with env["conn"].cursor() as cur:
        cur.execute("SELECT key_id, revoked_at IS NOT NULL, revoked_by FROM api_keys WHERE user_id = ANY(%s)", (env["users"],))
        rows = {key: (revoked, by) for key, revoked, by in cur.fetchall()}
        cur.execute("SELECT target, actor, action, detail FROM audit_log WHERE target = ANY(%s)",
                    ([k for ks in env["keys"].values() for k in ks],))
        audit = cur.fetchall()
    return rows, audit


def live_sessions(env, uid):
    return [name for name in env["sessions"][uid] if env["redis"].exists(name)]


def test_classify_opens_incident_with_runbook_severity(env):
    rc, out = run_playbook("playbooks/security_classify.yml", extra_vars=dict(
        env["extra"], security_incident_id=f"SEC-{env['tag']}-cls", security_incident_type="suspicious_activity",
        security_incident_impact="odd logins"))
    assert rc == 0, failure_messages(out)
    rec = record(env, f"SEC-{env['tag']}-cls")
    assert rec["severity"] == "P3" and rec["status"] == "investigating"
    classified = [e for e in rec["timeline"] if "classification" in e["details"]]
    assert classified[-1]["details"]["classification"]["response"] == "Investigate, monitor closely"
    # P3 is not paged, and no status page without a public impact
    channels = {e["details"].get("channel") for e in rec["timeline"] if e["kind"] == "notification"}
    assert "pager" not in channels and "status_page" not in channels
    # classifying again adds nothing
    rc, out = run_playbook("playbooks/security_classify.yml", extra_vars=dict(
        env["extra"], security_incident_id=f"SEC-{env['tag']}-cls", security_incident_type="suspicious_activity",
        security_incident_impact="odd logins"))
    assert rc == 0, failure_messages(out)
    assert len(record(env, f"SEC-{env['tag']}-cls")["timeline"]) == len(rec["timeline"])


def test_containment_blocks_revokes_and_logs_out_only_the_affected(env):
    incident = INCIDENTS["con"]
    victim, other, by_key = env["users"]
    key_by_id = env["keys"][by_key][0]
    rc, out = run_playbook("playbooks/security_containment.yml", extra_vars=dict(
        env["extra"], security_incident_id=incident, security_incident_block_addresses=["203.0.113.77"],
        security_incident_block_expire_after="2h", security_incident_revoke_keys=True,
        security_incident_revoke_user_ids=[victim], security_incident_revoke_key_ids=[key_by_id],
        security_incident_logout="affected"))
    assert rc == 0, failure_messages(out)

    addresses, tags = ip_set(env)
    assert addresses == ["203.0.113.77/32"]
    expiry_tags = [t for t in tags if t["Key"].startswith("runbook:expires:") and "203.0.113.77/32" in t["Value"]]
    assert expiry_tags, tags

    rows, audit = key_rows(env)
    revoked = {key for key, (is_revoked, _by) in rows.items() if is_revoked}
    assert revoked == set(env["keys"][victim]) | {key_by_id}
    assert all(rows[key][1] == f"runbook:{incident}" for key in revoked)
    assert sorted(row[0] for row in audit) == sorted(revoked)
    assert all(row[2] == "api_key.revoke" and row[3]["incident_id"] == incident for row in audit)

    assert live_sessions(env, victim) == []
    assert len(live_sessions(env, other)) == 3 and len(live_sessions(env, by_key)) == 3
    remaining = sum(1 for _key in env["redis"].scan_iter(match="session:*", count=1000))
    assert remaining == env["seeded_sessions"] + 6     # the lab's sessions and the two other users' untouched

    steps = [e["details"].get("step") for e in record(env, incident)["timeline"] if e["kind"] == "action"]
    assert steps == ["block", "revoke", "logout"]
    report = json.loads((env["reports"] / "security" / f"{incident}-containment.json").read_text())
    assert report["blocked"]["expiries"]["203.0.113.77/32"] and report["failures"] == []
    assert sorted(report["revoked_keys"]) == sorted(revoked)

    # again: nothing new to revoke, the block is not re-added
    rc, out = run_playbook("playbooks/security_containment.yml", extra_vars=dict(
        env["extra"], security_incident_id=incident, security_incident_revoke_keys=True,
        security_incident_revoke_user_ids=[victim]))
    assert rc == 0, failure_messages(out)
    assert len(key_rows(env)[1]) == len(audit)


def test_containment_takes_survey_answers_as_awx_sends_them(env):
    """An AWX survey answer is one string: addresses one per line (textarea), ids comma-separated,
    yes/no as "true"/"false"; they must act exactly as lists given on the command line."""
    incident = INCIDENTS["awx"]
    victim, other, by_key = env["users"]
    rc, out = run_playbook("playbooks/security_containment.yml", extra_vars=dict(
        env["extra"], security_incident_id=incident,
        security_incident_block_addresses="203.0.113.81\r\n203.0.113.82, 203.0.113.83\n",
        security_incident_block_expire_after="1h", security_incident_revoke_keys="true",
        security_incident_revoke_key_ids=env["keys"][by_key][0], security_incident_revoke_user_ids="",
        security_incident_logout="affected", security_incident_logout_user_ids=f"{victim}, {by_key}"))
    assert rc == 0, failure_messages(out)
    assert sorted(ip_set(env)[0]) == ["203.0.113.81/32", "203.0.113.82/32", "203.0.113.83/32"]
    report = json.loads((env["reports"] / "security" / f"{incident}-containment.json").read_text())
    assert sorted(report["blocked"]["expiries"]) == ["203.0.113.81/32", "203.0.113.82/32", "203.0.113.83/32"]
    rows = key_rows(env)[0]
    assert {key for key, (is_revoked, _by) in rows.items() if is_revoked} == {env["keys"][by_key][0]}
    assert live_sessions(env, victim) == [] and live_sessions(env, by_key) == []
    assert len(live_sessions(env, other)) == 3


def test_expired_blocks_unblocked_by_the_scheduled_playbook(env):
    """waf_purge_expired_blocks.yml: an expired block goes, one not yet expired and a permanent one stay."""
    waf, name, set_id = env["waf"], env["set_name"], env["set_id"]
    got = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=set_id)
    waf.update_ip_set(Name=name, Scope="REGIONAL", Id=set_id, LockToken=got["LockToken"],
                      Addresses=["203.0.113.90/32", "203.0.113.91/32", "203.0.113.92/32"])
    now = datetime.datetime.now(datetime.timezone.utc)
    past, later = (now + datetime.timedelta(hours=h) for h in (-2, 2))
    expired_key = f"runbook:expires:{past:%Y-%m-%dT%H:%MZ}:e0e0e0e0:1"
    waf.tag_resource(ResourceARN=got["IPSet"]["ARN"], Tags=[
        {"Key": expired_key, "Value": "203.0.113.90/32"},
        {"Key": f"runbook:expires:{later:%Y-%m-%dT%H:%MZ}:f0f0f0f0:1", "Value": "203.0.113.91/32"}])
    everything = ["203.0.113.90/32", "203.0.113.91/32", "203.0.113.92/32"]

    rc, out = run_playbook("playbooks/waf_purge_expired_blocks.yml", check=True, extra_vars=env["extra"])
    assert rc == 0, failure_messages(out)
    assert sorted(ip_set(env)[0]) == everything

    rc, out = run_playbook("playbooks/waf_purge_expired_blocks.yml", extra_vars=env["extra"])
    assert rc == 0, failure_messages(out)
    addresses, tags = ip_set(env)
    assert sorted(addresses) == ["203.0.113.91/32", "203.0.113.92/32"]
    assert expired_key not in {t["Key"] for t in tags}
    assert [t["Value"] for t in tags if t["Key"].startswith("runbook:expires:")] == ["203.0.113.91/32"]
    said = [h.get("msg", "") for t in out["plays"][0]["tasks"] for h in t["hosts"].values()]
    assert any("Unblocked 1 expired block(s): 203.0.113.90/32" in str(m) for m in said), said

    rc, out = run_playbook("playbooks/waf_purge_expired_blocks.yml", extra_vars=env["extra"])
    assert rc == 0 and sum(s["changed"] for s in out["stats"].values()) == 0, out["stats"]
    assert sorted(ip_set(env)[0]) == ["203.0.113.91/32", "203.0.113.92/32"]


def test_containment_check_mode_changes_nothing(env):
    incident = INCIDENTS["chk"]
    before = record(env, incident)
    victim = env["users"][0]
    rc, out = run_playbook("playbooks/security_containment.yml", check=True, extra_vars=dict(
        env["extra"], security_incident_id=incident, security_incident_block_addresses=["203.0.113.78"],
        security_incident_revoke_keys=True, security_incident_revoke_user_ids=[victim],
        security_incident_logout="affected"))
    assert rc == 0, failure_messages(out)
    assert ip_set(env)[0] == []
    rows, audit = key_rows(env)
    assert not any(revoked for revoked, _by in rows.values()) and audit == []
    assert len(live_sessions(env, victim)) == 3
    assert record(env, incident) == before
    assert not (env["reports"] / "security").exists()


@pytest.mark.parametrize("case", ["unknown_incident", "revoke_without_target", "unknown_key", "bad_user_id",
                                  "production_without_protected_ranges"])
def test_containment_refuses_bad_input_before_any_change(env, case):
    incident = INCIDENTS["bad"]
    victim = env["users"][0]
    extra = dict(env["extra"], security_incident_id=incident, security_incident_block_addresses=["203.0.113.79"],
                 security_incident_revoke_keys=True, security_incident_logout="affected",
                 security_incident_logout_user_ids=[victim])
    expected = {
        "unknown_incident": "security_incident_id: no incident record",
        "revoke_without_target": "needs security_incident_revoke_key_ids or security_incident_revoke_user_ids",
        "unknown_key": "security_incident_revoke_key_ids: no such API key sectest-nope",
        "bad_user_id": "user ids are numbers",
        "production_without_protected_ranges": "security_incident_waf_protected is empty in production",
    }[case]
    if case == "unknown_incident":
        extra.update(security_incident_id=f"SEC-{env['tag']}-missing", security_incident_revoke_user_ids=[victim])
    elif case == "unknown_key":
        extra.update(security_incident_revoke_key_ids=["sectest-nope"])
    elif case == "bad_user_id":
        extra.update(security_incident_revoke_user_ids=["1; DROP TABLE api_keys"])
    elif case == "production_without_protected_ranges":
        extra.update(security_incident_revoke_user_ids=[victim], clickview_environment="production",
                     security_incident_waf_protected=[])
    before = record(env, incident)
    rc, out = run_playbook("playbooks/security_containment.yml", extra_vars=extra)
    assert rc != 0
    assert any(expected in msg for msg in failure_messages(out)), failure_messages(out)
    assert "Nothing was done" in " ".join(failure_messages(out))
    assert ip_set(env)[0] == []
    assert not any(revoked for revoked, _by in key_rows(env)[0].values())
    assert len(live_sessions(env, victim)) == 3
    assert record(env, incident) == before


def put_waf_log(env, message):
    logs = aws_client("logs")
    stream = f"sectest-{env['tag']}"
    logs.create_log_stream(logGroupName="aws-waf-logs-clickview", logStreamName=stream)
    logs.put_log_events(logGroupName="aws-waf-logs-clickview", logStreamName=stream,
                        logEvents=[{"timestamp": int(time.time() * 1000) - 5000, "message": message}])


def test_evidence_bundle_is_complete_and_its_manifest_verifies_until_tampered(env):
    incident = INCIDENTS["evd"]
    marker = f"sectest-{env['tag']}-attack"
    put_waf_log(env, json.dumps({"action": "BLOCK", "httpRequest": {"clientIp": "203.0.113.80", "uri": marker}}))
    inside, outside = f"sectest-{env['tag']}-inside", f"sectest-{env['tag']}-outside"
    with env["conn"].cursor() as cur:
        cur.execute("INSERT INTO audit_log (actor, action, target) VALUES ('sectest', 'login', %s)",
                    (env["keys"][env["users"][0]][0],))
        # the runbook's audit trail: audit_log filtered on created_at; one row in the window, one before it
        cur.execute("INSERT INTO audit_log (actor, action, target) VALUES ('sectest', 'login', %s)", (inside,))
        cur.execute("INSERT INTO audit_log (created_at, actor, action, target) "
                    "VALUES (now() - interval '2 hours', 'sectest', 'login', %s)", (outside,))
    # under the documented policy's security-evidence/ prefix: the inventory's key is held to it
    prefix = f"security-evidence/sectest-{env['tag']}"
    rc, out = run_playbook("playbooks/security_evidence.yml", extra_vars=dict(
        env["extra"], security_incident_id=incident, security_incident_evidence_window_minutes=10,
        security_incident_evidence_s3_bucket="clickview-backups", security_incident_evidence_s3_prefix=prefix))
    assert rc == 0, failure_messages(out)
    report = json.loads((env["reports"] / "security" / f"{incident}-evidence.json").read_text())
    bundle = env["reports"] / "evidence" / report["bundle"].rsplit("/", 1)[1]
    names = sorted(report["files"])
    assert {"waf-logs.jsonl", "audit-trail.json", "waf-ip-sets.json", "incident-record.json"} <= set(names)
    assert any(name.startswith("pod-logs/clickview-backend-") for name in names)
    assert marker in (bundle / "waf-logs.jsonl").read_text()
    trail = json.loads((bundle / "audit-trail.json").read_text())
    assert (trail["table"], trail["time_column"]) == ("audit_log", "created_at")
    targets = [row["target"] for row in trail["rows"]]
    assert inside in targets and outside not in targets
    ours = [row for row in trail["rows"] if row["target"] == inside][0]
    assert set(ours) >= {"id", "created_at", "actor", "action", "target", "detail"}     # every column (SELECT *)
    assert all(trail["window"]["start"] <= datetime.datetime.fromisoformat(row["created_at"]).astimezone(
        datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") <= trail["window"]["end"] for row in trail["rows"])
    assert trail["row_count"] == len(trail["rows"])
    index = json.loads((bundle / "pod-logs" / "containers.json").read_text())
    assert index["selector"] == "app=clickview-backend" and index["errors"] == []    # the lab's inventory
    assert {ip["name"] for ip in json.loads((bundle / "waf-ip-sets.json").read_text())["ip_sets"]} == {env["set_name"]}
    manifest = (bundle / "MANIFEST.sha256").read_text().splitlines()
    assert sorted(line.split("  ", 1)[1] for line in manifest) == names
    event = [e for e in record(env, incident)["timeline"] if e["details"].get("step") == "evidence"][-1]
    assert event["details"]["manifest_sha256"] == report["manifest_sha256"]

    s3 = aws_client("s3")
    listed = s3.list_objects_v2(Bucket="clickview-backups", Prefix=prefix + "/")
    keys = [obj["Key"][len(prefix) + 1:] for obj in listed.get("Contents", [])]
    uploaded = sorted(key.split("/", 1)[1] for key in keys if not key.startswith("reports/"))
    assert uploaded == sorted(names + ["MANIFEST.sha256", "manifest.json"])
    # the step's report is kept beside the bundles, so it outlives the machine (or AWX container) that wrote it
    assert [key for key in keys if key.startswith("reports/")] == [f"reports/{incident}-evidence.json"]
    for obj in listed.get("Contents", []):
        s3.delete_object(Bucket="clickview-backups", Key=obj["Key"])

    rc, out = run_playbook("playbooks/security_evidence_verify.yml",
                           extra_vars={"security_incident_evidence_bundle": str(bundle)})
    assert rc == 0, failure_messages(out)

    tampered = bundle / "audit-trail.json"
    tampered.write_text(tampered.read_text().replace("sectest", "innocent"))
    rc, out = run_playbook("playbooks/security_evidence_verify.yml",
                           extra_vars={"security_incident_evidence_bundle": str(bundle)})
    assert rc != 0
    assert any("does not verify" in m and "changed: audit-trail.json" in m for m in failure_messages(out))


@pytest.mark.parametrize("window,expected", [
    ({"security_incident_evidence_start": "2030-01-01T00:00:00Z", "security_incident_evidence_end": "2030-01-01T01:00:00Z"},
     "in the future"),
    ({"security_incident_evidence_start": "2024-01-01T02:00:00Z", "security_incident_evidence_end": "2024-01-01T01:00:00Z"},
     "reversed or empty"),
    ({"security_incident_evidence_start": "yesterday"}, "is not an ISO 8601 UTC time"),
])
def test_evidence_refuses_a_bad_window(env, window, expected):
    incident = INCIDENTS["win"]
    before = record(env, incident)
    rc, out = run_playbook("playbooks/security_evidence.yml", extra_vars=dict(env["extra"], security_incident_id=incident,
                                                                              **window))
    assert rc != 0
    assert any(expected in m and "Nothing was collected" in m for m in failure_messages(out)), failure_messages(out)
    assert not (env["reports"] / "evidence").exists()
    assert record(env, incident) == before


@pytest.mark.parametrize("case", ["staging_without_bucket", "production_without_bucket", "bad_audit_table",
                                  "bad_time_column"])
def test_evidence_refuses_before_collecting_anything(env, case):
    """Outside the lab the evidence must be kept where the next job can read it: an empty bucket is refused
    before anything is read or written; so is an audit table or column that is not an SQL identifier."""
    incident = INCIDENTS["win"]
    before = record(env, incident)
    extra, expected = {
        "staging_without_bucket": ({"clickview_environment": "staging", "security_incident_evidence_s3_bucket": ""},
                                   "security_incident_evidence_s3_bucket is empty, and clickview_environment is staging"),
        "production_without_bucket": ({"clickview_environment": "production", "security_incident_evidence_s3_bucket": ""},
                                      "security_incident_evidence_s3_bucket is empty, and clickview_environment is production"),
        "bad_audit_table": ({"security_incident_audit_table": "audit_log; DROP TABLE users"},
                            "security_incident_audit_table: 'audit_log; DROP TABLE users' is not"),
        "bad_time_column": ({"security_incident_audit_time_column": 'created_at" OR 1=1 --'},
                            "security_incident_audit_time_column: "),
    }[case]
    rc, out = run_playbook("playbooks/security_evidence.yml", extra_vars=dict(env["extra"], security_incident_id=incident,
                                                                              **extra))
    assert rc != 0
    assert any(expected in m for m in failure_messages(out)), failure_messages(out)
    if case.endswith("without_bucket"):
        assert any("Nothing was collected" in m for m in failure_messages(out))
    assert not (env["reports"] / "evidence").exists() and not (env["reports"] / "security").exists()
    assert record(env, incident) == before
    # nothing was read either: the first task failed
    ran = [t["task"]["name"] for play in out["plays"] for t in play["tasks"]]
    assert not any("pod" in name.lower() or "audit trail of the window" in name for name in ran), ran


@pytest.fixture
def restarted_pods():
    """A namespace of the test's own with the runbook's app=clickview pods: one whose container crashed and
    restarted (the stand-in crash-loops a 'broken' image), one that never restarted."""
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    api = config.new_client_from_config(str(ROOT / "lab" / ".state" / "kubeconfig"), context="clickview-lab")
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    namespace = "itest-sec-" + uuid.uuid4().hex[:6]
    core.create_namespace({"metadata": {"name": namespace}})
    grant_the_operator(api, namespace)
    try:
        for name, image in (("crasher", "registry.clickview.lab/clickview-backend:9.9-broken"),
                            ("steady", "registry.clickview.lab/clickview-backend:1.4.0")):
            apps.create_namespaced_deployment(namespace, {
                "metadata": {"name": name},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "clickview", "role": name}},
                         "template": {"metadata": {"labels": {"app": "clickview", "role": name}},
                                      "spec": {"containers": [{"name": "backend", "image": image}]}}}})

        def ready():
            pods = {p.metadata.labels["role"]: p for p in core.list_namespaced_pod(namespace, label_selector="app=clickview").items}
            statuses = {role: (p.status.container_statuses or [None])[0] for role, p in pods.items()}
            if set(statuses) == {"crasher", "steady"} and all(statuses.values()) \
                    and statuses["crasher"].restart_count >= 1 and statuses["steady"].ready:
                return {role: p.metadata.name for role, p in pods.items()}
            return None
        yield namespace, wait_until(ready, 60, "a restarted pod and a ready one")
    finally:
        core.delete_namespace(namespace)


def test_evidence_pod_logs_use_the_runbook_selector_and_keep_the_previous_container(env, restarted_pods):
    """kubectl logs -l app=clickview --since=..., and --previous for a container that restarted; a pod without a
    previous container is recorded as such, not an error."""
    namespace, pods = restarted_pods
    incident = INCIDENTS["evp"]
    rc, out = run_playbook("playbooks/security_evidence.yml", extra_vars=dict(
        env["extra"], security_incident_id=incident, security_incident_evidence_window_minutes=10,
        security_incident_k8s_namespace=namespace, security_incident_pod_selector="app=clickview"))
    assert rc == 0, failure_messages(out)
    report = json.loads((env["reports"] / "security" / f"{incident}-evidence.json").read_text())
    bundle = env["reports"] / "evidence" / report["bundle"].rsplit("/", 1)[1]
    crasher, steady = pods["crasher"], pods["steady"]
    assert sorted(report["pods"]) == sorted([crasher, steady])
    assert report["previous_logs"] == [f"pod-logs/{crasher}.backend.previous.log"]
    assert {f"pod-logs/{crasher}.log", f"pod-logs/{steady}.log", f"pod-logs/{crasher}.backend.previous.log",
            "pod-logs/containers.json"} <= set(report["files"])
    previous = (bundle / "pod-logs" / f"{crasher}.backend.previous.log").read_text()
    assert "level=fatal" in previous and "schema mismatch" in previous
    assert "listening" in (bundle / "pod-logs" / f"{steady}.log").read_text()
    index = json.loads((bundle / "pod-logs" / "containers.json").read_text())
    assert (index["selector"], index["namespace"], index["errors"]) == ("app=clickview", namespace, [])
    by_pod = {c["pod"]: c for c in index["containers"]}
    assert by_pod[steady]["previous"] == "no previous container" and by_pod[steady]["restarts"] == 0
    assert by_pod[crasher]["previous"] == f"pod-logs/{crasher}.backend.previous.log"
    assert by_pod[crasher]["restarts"] >= 1 and by_pod[crasher]["last_terminated"]["exitCode"] == 1
    # sealed with the rest: the manifest covers the previous log and the index
    manifest = (bundle / "MANIFEST.sha256").read_text()
    assert f"pod-logs/{crasher}.backend.previous.log" in manifest and "pod-logs/containers.json" in manifest


def test_evidence_check_mode_writes_nothing(env):
    incident = INCIDENTS["evc"]
    before = record(env, incident)
    rc, out = run_playbook("playbooks/security_evidence.yml", check=True,
                           extra_vars=dict(env["extra"], security_incident_id=incident))
    assert rc == 0, failure_messages(out)
    assert not (env["reports"] / "evidence").exists()
    assert record(env, incident) == before


def test_notify_sends_security_alert_and_writes_the_checklist(env):
    incident = INCIDENTS["ntf"]
    rc, out = run_playbook("playbooks/security_notify.yml", extra_vars=dict(
        env["extra"], security_incident_id=incident, security_incident_type="data_breach",
        security_incident_public_impact=True, security_incident_checklist_states={"forensic_analysis": "in_progress"}))
    assert rc == 0, failure_messages(out)

    def received(path):
        return [r["body"] for r in webhook_received(path) if incident in json.dumps(r["body"])]

    security = received("/chat/security")
    assert security and security[-1]["text"].startswith("SECURITY ALERT") and "Data breach" in security[-1]["text"]
    assert received("/pager")
    # the public impact opens the status page's incident (the sink's Statuspage API, by the incident's metadata)
    page = LAB["statuspage"]
    created = [m for m in webhook_received("/statuspage-api/v1/pages/%s/incidents" % page["page_id"])
               if m["body"]["incident"].get("metadata", {}).get("clickview", {}).get("incident_id") == incident]
    assert created and created[-1]["body"]["incident"]["status"] == "investigating"
    rec = record(env, incident)
    checklist = [e for e in rec["timeline"] if "checklist" in e["details"]][-1]["details"]["checklist"]
    assert [c["number"] for c in checklist] == list(range(1, 8))
    states = {c["key"]: c["state"] for c in checklist}
    assert states["preserve_evidence"] == "open" and states["forensic_analysis"] == "in_progress"
    assert states["notify_affected_users"] == "open"      # a data breach: affected users are told
    channels = [e["details"]["channel"] for e in rec["timeline"] if e["kind"] == "notification"]
    assert channels.count("pager") == 1

    # again: not paged twice, the unchanged checklist not written twice
    rc, out = run_playbook("playbooks/security_notify.yml", extra_vars=dict(
        env["extra"], security_incident_id=incident, security_incident_checklist_states={"forensic_analysis": "in_progress"},
        security_incident_public_impact=True, security_incident_type="data_breach"))
    assert rc == 0, failure_messages(out)
    rec2 = record(env, incident)
    assert [e["details"]["channel"] for e in rec2["timeline"] if e["kind"] == "notification"].count("pager") == 1
    assert len([e for e in rec2["timeline"] if "checklist" in e["details"]]) == 1

    # after the resolution the checklist is still kept up to date (its steps follow the incident), with no alert sent
    resolved = run_module("clickview.runbook.incident", dict(action="resolve", incident_dir=str(env["incidents"]),
                                                             incident_id=incident, root_cause="leaked key"))
    assert not resolved.get("failed"), resolved
    posted = len(received("/chat/security"))
    rc, out = run_playbook("playbooks/security_notify.yml", extra_vars=dict(
        env["extra"], security_incident_id=incident, security_incident_checklist_states={"forensic_analysis": "done"}))
    assert rc == 0, failure_messages(out)
    assert len(received("/chat/security")) == posted
    rec3 = record(env, incident)
    states = {c["key"]: c["state"] for c in [e for e in rec3["timeline"] if "checklist" in e["details"]][-1]["details"]["checklist"]}
    assert states["forensic_analysis"] == "done" and states["document_timeline"] == "done"
    assert [e["kind"] for e in rec3["timeline"]].count("notification") == [e["kind"] for e in rec2["timeline"]].count("notification")
