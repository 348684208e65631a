# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's post-incident checklist, automated (issue 20), against the lab's real services:

* db_terminate_backend.yml - SELECT pg_terminate_backend(<pid>) on the real PostgreSQL primary, with the bulk
  procedure's guards (a superuser's backend is refused and holds back the whole list);
* security_unblock_ip.yml - addresses blocked (with an expiry, as containment does) in a private moto IP set,
  then unblocked: gone from the set with their expiry records, every other block kept;
* security_rotate_credentials.yml - a login of the test's own (itest_rotate_<random>) with a known password and
  a Secret in a namespace of the test's own in the Kubernetes API stand-in, read by a Deployment there: after the
  run the old password is refused by PostgreSQL, the new one works, the Secret holds it (base64), the Deployment's
  pod template has a restartedAt annotation, and neither password shows in the output (at -vvv) or in a report.

Nothing shared is touched: the lab's logins, namespaces, IP sets and incident records are never used for a change;
every login, namespace, IP set and incident of the tests is their own and is removed afterwards."""

import base64
import calendar
import json
import threading
import time
import uuid

import psycopg2
import pytest
from kubernetes import client, config

from conftest import LAB, LAB_HOST, ROOT, aws_client, grant_the_operator, lab_port, pg_connect, pg_query, run_module, \
    run_playbook, run_tasks, wait_until

TAG = uuid.uuid4().hex[:8]
KUBECONFIG = str(ROOT / "lab" / ".state" / "kubeconfig")
# the Secret the documented RBAC lets the operator read and patch (extensions/kubernetes/rbac.yaml)
SECRET = "clickview-db-credentials"
DB = LAB["postgres"]["database"]
INCIDENTS = {name: "SEC-%s-%s" % (TAG, name) for name in ("unblock", "rotate")}
INCIDENT_TERMINATE = "INC-%s-terminate" % TAG


def observer(sql, params=None):
    return pg_query(sql, params, application_name="itest-post-incident-observer")


def wait_writable(timeout=60):
    """Other suites switch the lab primary to read-only for a while: wait for new sessions to be writable."""
    wait_until(lambda: observer("SHOW default_transaction_read_only")[0][0] == "off", timeout,
               "the lab primary to leave read-only mode")


def report(folder, kind):
    return json.loads((folder / ("%s-local-latest.json" % kind)).read_text())


def by_check(rep, name):
    return [c for c in rep["checks"] if c["check"] == name]


def timeline(incidents, incident_id):
    return json.loads((incidents / ("%s.json" % incident_id)).read_text())["timeline"]


@pytest.fixture(scope="module")
def incidents(tmp_path_factory):
    """A private incident folder with the tests' incidents."""
    folder = tmp_path_factory.mktemp("incidents")
    ids = list(INCIDENTS.values()) + [INCIDENT_TERMINATE]
    results = run_tasks([{"clickview.runbook.incident": {
        "incident_dir": str(folder), "incident_id": incident_id, "action": "declare", "title": "post-incident test",
        "severity": "P1"}} for incident_id in ids])
    assert not any(r.get("failed") for r in results), results
    return folder


# ---- terminate one backend by pid ------------------------------------------------------------------

class Sleeper:
    """A backend running SELECT pg_sleep(300) under an application_name of the test's own (the runbook's long query;
    longer than the test's playbook runs, so the control backend is still running at the end)."""

    def __init__(self, app, role="app"):
        self.conn = pg_connect(role, application_name=app)
        self.pid = self.conn.get_backend_pid()
        self.error = None
        self.thread = threading.Thread(target=self._sleep, daemon=True)
        self.thread.start()
        wait_until(lambda: observer("SELECT state FROM pg_stat_activity WHERE pid = %s", (self.pid,)) == [("active",)],
                   10, "pid %s to be active" % self.pid, interval=0.05)

    def _sleep(self):
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_sleep(300)")
        except psycopg2.Error as exc:
            self.error = exc

    def close(self):
        try:
            observer("SELECT pg_terminate_backend(%s)", (self.pid,))
        finally:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass


@pytest.fixture
def sleepers():
    made = []

    def make(app, role="app"):
        made.append(Sleeper(app, role))
        return made[-1]
    yield make
    for sleeper in made:
        sleeper.close()


def alive(*pids):
    return {row[0] for row in observer("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", (list(pids),))}


def terminate(tmp_path, pids, check=False, **extra):
    extra_vars = dict(database_operations_report_dir=str(tmp_path), database_operations_terminate_pids=pids, **extra)
    rc, out = run_playbook("playbooks/db_terminate_backend.yml", extra_vars=extra_vars, check=check, json_output=False)
    return rc, out, report(tmp_path, "db-terminate-backend")


def test_terminate_backend_lists_first_then_ends_only_the_pid_given(tmp_path, sleepers, incidents):
    target = sleepers("itest-terminate-%s-target" % TAG)
    control = sleepers("itest-terminate-%s-control" % TAG)

    rc, out, rep = terminate(tmp_path, [target.pid])
    assert rc == 0, out[-3000:]
    assert [(c["detail"]["pid"], c["status"]) for c in rep["checks"]] == [(target.pid, "WARN")]
    assert "database_operations_kill_execute=true" in rep["checks"][0]["figure"] and rep["actions"] == []
    assert alive(target.pid, control.pid) == {target.pid, control.pid}

    rc, out, rep = terminate(tmp_path, [target.pid], check=True, database_operations_kill_execute=True)
    assert rc == 0, out[-3000:]
    assert "would terminate (check mode)" in rep["checks"][0]["figure"]
    assert alive(target.pid) == {target.pid}

    # an AWX survey answer: one string
    rc, out, rep = terminate(tmp_path, "%d" % target.pid, database_operations_kill_execute=True,
                             incident_id=INCIDENT_TERMINATE, clickview_incident_dir=str(incidents))
    assert rc == 0, out[-3000:]
    assert [(c["detail"]["pid"], c["status"], c["figure"]) for c in rep["checks"]] == [(target.pid, "OK", "terminated")]
    assert rep["actions"][0]["pids"] == [target.pid]
    target.thread.join(10)
    assert target.error is not None and alive(target.pid) == set()
    assert alive(control.pid) == {control.pid} and control.thread.is_alive()
    events = [e for e in timeline(incidents, INCIDENT_TERMINATE) if e["source"] == "database_operations/terminate_backend"]
    assert events and events[-1]["details"]["pids"] == [target.pid]

    # the pid has gone now: nothing to do, and not an error
    rc, out, rep = terminate(tmp_path, [target.pid], database_operations_kill_execute=True)
    assert rc == 0, out[-3000:]
    assert rep["checks"][0]["status"] == "OK" and "nothing to do" in rep["checks"][0]["figure"]


def test_terminate_backend_refuses_a_superuser_and_holds_back_the_list(tmp_path, sleepers):
    superuser = sleepers("itest-terminate-%s-super" % TAG, role="superuser")
    other = sleepers("itest-terminate-%s-other" % TAG)
    rc, out, rep = terminate(tmp_path, "%d, %d" % (other.pid, superuser.pid), database_operations_kill_execute=True)
    assert rc != 0
    checks = {c["detail"]["pid"]: c for c in rep["checks"]}
    assert checks[superuser.pid]["status"] == "FAIL" and "superuser" in checks[superuser.pid]["figure"]
    assert checks[other.pid]["status"] == "WARN" and "nothing was signalled" in checks[other.pid]["figure"]
    assert rep["actions"] == []
    assert alive(superuser.pid, other.pid) == {superuser.pid, other.pid}


def test_terminate_backend_refuses_bad_pids_before_connecting(tmp_path):
    rc, out = run_playbook("playbooks/db_terminate_backend.yml", json_output=False, extra_vars={
        "database_operations_report_dir": str(tmp_path), "database_operations_terminate_pids": "12, abc"})
    assert rc != 0 and "database_operations_terminate_pids" in out and "Nothing was done" in out


# ---- unblock -----------------------------------------------------------------------------------------

@pytest.fixture
def ip_set():
    waf = aws_client("wafv2")
    name = "itest-unblock-%s-%s" % (TAG, uuid.uuid4().hex[:4])
    summary = waf.create_ip_set(Name=name, Scope="REGIONAL", IPAddressVersion="IPV4", Addresses=[])["Summary"]
    yield dict(waf=waf, name=name, id=summary["Id"], arn=summary["ARN"])
    lock = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=summary["Id"])["LockToken"]
    waf.delete_ip_set(Name=name, Scope="REGIONAL", Id=summary["Id"], LockToken=lock)


def addresses_and_tags(ip_set):
    got = ip_set["waf"].get_ip_set(Name=ip_set["name"], Scope="REGIONAL", Id=ip_set["id"])["IPSet"]
    tags = ip_set["waf"].list_tags_for_resource(ResourceARN=ip_set["arn"])["TagInfoForResource"].get("TagList", [])
    return sorted(got["Addresses"]), " ".join(t["Value"] for t in tags)


def test_unblock_removes_only_the_addresses_given(tmp_path, ip_set, incidents):
    aws = LAB["aws"]
    blocked = run_module("clickview.runbook.waf_block_ip", {
        "ip_sets": [ip_set["name"]], "addresses": ["203.0.113.7", "198.51.100.23", "192.0.2.0/28"], "expire_after": "24h",
        "region": aws["region"], "endpoint_url": "http://%s:%d" % (LAB_HOST, lab_port("moto")),
        "access_key": aws["access_key"], "secret_key": aws["secret_key"]})
    assert blocked.get("changed") and not blocked.get("failed"), blocked
    assert "203.0.113.7/32" in addresses_and_tags(ip_set)[1]
    extra = {"security_incident_waf_ip_sets": [ip_set["name"]], "clickview_report_dir": str(tmp_path),
             "clickview_incident_dir": str(incidents), "security_incident_id": INCIDENTS["unblock"],
             # an AWX textarea answer: one per line
             "security_incident_unblock_addresses": "203.0.113.7\n192.0.2.0/28\n198.18.0.1"}
    reports = tmp_path / "security"

    rc, out = run_playbook("playbooks/security_unblock_ip.yml", extra_vars=extra, check=True, json_output=False)
    assert rc == 0, out[-3000:]
    rep = report(reports, "security-unblock-ip")
    assert [(c["target"], c["status"]) for c in rep["checks"]] == [
        ("203.0.113.7/32", "WARN"), ("192.0.2.0/28", "WARN"), ("198.18.0.1/32", "OK")]
    assert addresses_and_tags(ip_set)[0] == ["192.0.2.0/28", "198.51.100.23/32", "203.0.113.7/32"]
    events_before = len(timeline(incidents, INCIDENTS["unblock"]))

    rc, out = run_playbook("playbooks/security_unblock_ip.yml", extra_vars=extra, json_output=False)
    assert rc == 0, out[-3000:]
    rep = report(reports, "security-unblock-ip")
    assert [c["status"] for c in rep["checks"]] == ["OK", "OK", "OK"]
    assert "was not blocked" in rep["checks"][2]["figure"]
    addresses, tags = addresses_and_tags(ip_set)
    assert addresses == ["198.51.100.23/32"]
    assert "203.0.113.7/32" not in tags and "192.0.2.0/28" not in tags and "198.51.100.23/32" in tags
    events = timeline(incidents, INCIDENTS["unblock"])[events_before:]
    assert [e["details"]["step"] for e in events] == ["unblock"]
    assert events[0]["details"]["addresses"] == ["203.0.113.7/32", "192.0.2.0/28"]
    assert events[0]["actor"]  # who did it, filled in by the incident_event action plugin

    # again: nothing left to unblock, nothing recorded
    rc, out = run_playbook("playbooks/security_unblock_ip.yml", extra_vars=extra, json_output=False)
    assert rc == 0, out[-3000:]
    assert len(timeline(incidents, INCIDENTS["unblock"])) == events_before + 1
    assert addresses_and_tags(ip_set)[0] == ["198.51.100.23/32"]


def test_unblock_needs_the_addresses(tmp_path, ip_set):
    rc, out = run_playbook("playbooks/security_unblock_ip.yml", json_output=False, extra_vars={
        "security_incident_waf_ip_sets": [ip_set["name"]], "clickview_report_dir": str(tmp_path),
        "security_incident_unblock_addresses": ""})
    assert rc != 0 and "security_incident_unblock_addresses" in out and "Nothing was done" in out


# ---- rotate a database login's credentials ------------------------------------------------------------

def password_works(login, password):
    """True when the lab primary accepts the password, False when it refuses it by authentication."""
    try:
        psycopg2.connect(host=LAB_HOST, port=lab_port("postgres_primary"), user=login, password=password, dbname=DB,
                         connect_timeout=5, application_name="itest-rotate-proof").close()
        return True
    except psycopg2.OperationalError as exc:
        assert "password authentication failed" in str(exc), exc
        return False


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def rotation(tmp_path):
    """A login of the test's own with a known password, and a namespace of its own in the lab's Kubernetes API
    stand-in with a Secret holding that password, a Deployment reading it and one that does not."""
    login = "itest_rotate_%s" % uuid.uuid4().hex[:8]
    password = "itest-old-%s" % uuid.uuid4().hex
    namespace = "itest-rotate-%s" % uuid.uuid4().hex[:6]
    wait_writable()
    conn = pg_connect(application_name="itest-rotate-setup")
    with conn.cursor() as cur:
        cur.execute("SET default_transaction_read_only = off")
        cur.execute("CREATE ROLE %s LOGIN PASSWORD %%s" % login, (password,))
    api = config.new_client_from_config(config_file=KUBECONFIG, context="clickview-lab")
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace({"metadata": {"name": namespace}})
    grant_the_operator(api, namespace)
    core.create_namespaced_secret(namespace, {"metadata": {"name": SECRET}, "type": "Opaque",
                                              "stringData": {"username": login, "password": password}})

    def deployment(name, env):
        return {"metadata": {"name": name}, "spec": {
            "replicas": 2, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                {"name": name, "image": "registry.clickview.lab/%s:1.0.0" % name, "env": env}]}}}}
    apps.create_namespaced_deployment(namespace, deployment("api", [
        {"name": "DATABASE_USER", "valueFrom": {"secretKeyRef": {"name": SECRET, "key": "username"}}},
        {"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": SECRET, "key": "password"}}}]))
    apps.create_namespaced_deployment(namespace, deployment("bystander", [{"name": "X", "value": "1"}]))
    wait_until(lambda: (apps.read_namespaced_deployment("api", namespace).status.available_replicas or 0) == 2, 60,
               "deployment api to be available")
    extra = {"security_incident_rotate_login": login, "security_incident_rotate_secret_name": SECRET,
             "security_incident_rotate_secret_namespace": namespace, "security_incident_rotate_rollout_timeout": 120,
             "clickview_report_dir": str(tmp_path)}
    yield dict(login=login, password=password, namespace=namespace, core=core, apps=apps, extra=extra,
               reports=tmp_path / "security", conn=conn)
    try:
        core.delete_namespace(namespace)
    finally:
        with conn.cursor() as cur:
            cur.execute("SET default_transaction_read_only = off")
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (login,))
            cur.execute("DROP ROLE IF EXISTS %s" % login)
        conn.close()


def secret_password(rotation):
    return base64.b64decode(rotation["core"].read_namespaced_secret(SECRET, rotation["namespace"]).data["password"]).decode()


def template_annotations(rotation, name):
    return rotation["apps"].read_namespaced_deployment(name, rotation["namespace"]).spec.template.metadata.annotations or {}


def no_leak(texts, *secrets):
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, "a password shows in %s" % where
            assert b64(secret) not in text, "a password (base64) shows in %s" % where


def written(folder):
    return {str(p): p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()}


def test_rotate_in_check_mode_changes_nothing(rotation):
    rc, out = run_playbook("playbooks/security_rotate_credentials.yml", check=True, json_output=False,
                           extra_vars=dict(rotation["extra"], security_incident_rotate_confirm=True),
                           env={"ANSIBLE_VERBOSITY": "3"})
    assert rc == 0, out[-3000:]
    rep = report(rotation["reports"], "security-rotate-credentials")
    plan = by_check(rep, "rotation.plan")[0]
    assert plan["status"] == "WARN" and "(check mode)" in plan["figure"]
    assert 'ALTER ROLE "%s"' % rotation["login"] in plan["figure"] and "rollout restart deployment/api" in plan["figure"]
    assert by_check(rep, "rotation.consumers")[0]["detail"]["restart"] == ["api"]
    assert by_check(rep, "rotation.current_password")[0]["status"] == "OK"
    assert password_works(rotation["login"], rotation["password"])
    assert secret_password(rotation) == rotation["password"]
    assert "kubectl.kubernetes.io/restartedAt" not in template_annotations(rotation, "api")
    no_leak(dict(written(rotation["reports"]), output=out), rotation["password"])


def test_rotate_sets_a_new_password_everywhere_and_proves_the_old_one_refused(rotation, incidents):
    extra = dict(rotation["extra"], security_incident_rotate_confirm=True, security_incident_id=INCIDENTS["rotate"],
                 clickview_incident_dir=str(incidents))
    started = time.time()
    rc, out = run_playbook("playbooks/security_rotate_credentials.yml", extra_vars=extra, json_output=False,
                           env={"ANSIBLE_VERBOSITY": "3"})
    assert rc == 0, out[-5000:]
    new = secret_password(rotation)
    assert new != rotation["password"] and len(new) == 40 and new.isalnum()
    # the real PostgreSQL: the old password refused by authentication, the new one accepted
    assert password_works(rotation["login"], rotation["password"]) is False
    assert password_works(rotation["login"], new) is True
    # the stored verifier is SCRAM-SHA-256: the server was never sent the password
    verifier = observer("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (rotation["login"],))[0][0]
    assert verifier.startswith("SCRAM-SHA-256$4096:")
    # the Deployment that reads the Secret was restarted (as kubectl rollout restart does), the other was not
    restarted_at = template_annotations(rotation, "api").get("kubectl.kubernetes.io/restartedAt")
    assert restarted_at and calendar.timegm(time.strptime(restarted_at, "%Y-%m-%dT%H:%M:%SZ")) >= int(started) - 5
    assert "kubectl.kubernetes.io/restartedAt" not in template_annotations(rotation, "bystander")
    api = rotation["apps"].read_namespaced_deployment("api", rotation["namespace"])
    assert api.status.updated_replicas == 2 and api.status.available_replicas == 2

    rep = report(rotation["reports"], "security-rotate-credentials")
    statuses = {c["check"]: c["status"] for c in rep["checks"]}
    assert statuses == {"rotation.login": "OK", "rotation.secret": "OK", "rotation.current_password": "OK",
                        "rotation.consumers": "OK", "rotation.postgres": "OK", "rotation.secret_updated": "OK",
                        "rotation.rollout": "OK", "rotation.old_password_refused": "OK",
                        "rotation.new_password_accepted": "OK"}, rep["checks"]
    assert "password authentication failed" in by_check(rep, "rotation.old_password_refused")[0]["figure"]
    event = [e for e in timeline(incidents, INCIDENTS["rotate"]) if e["details"].get("step") == "rotate_credentials"][-1]
    assert event["details"]["restarted"] == ["api"] and "failed" not in event["details"]
    assert event["details"]["proof"] == {"old_password": "refused", "new_password": "accepted"}

    # neither password (nor its base64 form, nor the verifier) in the -vvv output, the reports or the record
    texts = dict(written(rotation["reports"]), output=out, record=(incidents / ("%s.json" % INCIDENTS["rotate"])).read_text())
    no_leak(texts, rotation["password"], new)
    assert not any(verifier in text for text in texts.values())


@pytest.mark.parametrize("case", ["superuser", "own login"])
def test_rotate_refuses_a_superuser_or_its_own_login(rotation, case):
    login, password = rotation["login"], rotation["password"]
    extra = dict(rotation["extra"], security_incident_rotate_confirm=True)
    if case == "superuser":
        with rotation["conn"].cursor() as cur:      # the test's own login, made a superuser for this case only
            cur.execute("SET default_transaction_read_only = off")
            cur.execute("ALTER ROLE %s SUPERUSER" % login)
    else:
        extra.update(security_incident_rotate_db_user=login, security_incident_rotate_db_password=password)
    rc, out = run_playbook("playbooks/security_rotate_credentials.yml", extra_vars=extra, json_output=False)
    assert rc != 0
    rep = report(rotation["reports"], "security-rotate-credentials")
    check = by_check(rep, "rotation.login")[0]
    assert check["status"] == "FAIL" and ("superuser" if case == "superuser" else "connects as") in check["figure"]
    assert rep["actions"] == [] and "rotation.postgres" not in {c["check"] for c in rep["checks"]}
    assert password_works(login, password) and secret_password(rotation) == password
    assert "kubectl.kubernetes.io/restartedAt" not in template_annotations(rotation, "api")
    no_leak({"output": out}, password)


def test_rotate_without_the_grant_says_it_could_not_read_the_secret(rotation):
    """The operator may read and patch only the Secret the RBAC names. Another Secret answers 403, and the run
    refuses saying it could not read it (it once said "does not exist", a guess presented as a fact)."""
    rotation["core"].create_namespaced_secret(rotation["namespace"], {
        "metadata": {"name": "other-db"}, "type": "Opaque",
        "stringData": {"username": rotation["login"], "password": rotation["password"]}})
    extra = dict(rotation["extra"], security_incident_rotate_confirm=True, security_incident_rotate_secret_name="other-db")
    rc, out = run_playbook("playbooks/security_rotate_credentials.yml", extra_vars=extra, json_output=False)
    assert rc != 0
    rep = report(rotation["reports"], "security-rotate-credentials")
    read = by_check(rep, "rotation.read")[0]
    assert read["status"] == "FAIL" and "could not read Kubernetes, Secret %s/other-db" % rotation["namespace"] in read["figure"]
    assert "Forbidden" in read["figure"] or "403" in read["figure"], read["figure"]
    assert not any("does not exist" in c["figure"] for c in rep["checks"]), rep["checks"]
    assert rep["actions"] == [] and password_works(rotation["login"], rotation["password"])
    no_leak({"output": out}, rotation["password"])
