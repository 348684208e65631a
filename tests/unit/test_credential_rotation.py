# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The credential rotation's decisions (plugins/module_utils/credential_rotation.py and its filters): identifier
quoting, the SCRAM-SHA-256 verifier (checked against one PostgreSQL 15 computed), the refusals, the Secret's
consumers, the login proofs, the plan and the report - and that no password goes through any of them."""

import base64

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.credential_rotation_plan import credential_rotation_plan
from ansible_collections.clickview.runbook.plugins.filter.credential_rotation_report import credential_rotation_report
from ansible_collections.clickview.runbook.plugins.filter.scram_sha256 import scram_sha256
from ansible_collections.clickview.runbook.plugins.filter.secret_consumers import secret_consumers as consumers_filter
from ansible_collections.clickview.runbook.plugins.module_utils import credential_rotation as cr

# CREATE ROLE ... PASSWORD 'correct horse battery staple' on the lab's PostgreSQL 15, then pg_authid.rolpassword
PG15_VERIFIER = ("SCRAM-SHA-256$4096:AjC10bOUcefkv6u7xAAqNA==$7ZvjKf090WAkq6vh8A5Oe/z+F1V3lCSZDpejVDqSVEM="
                 ":I7XDaUTexkII8ZNlyaPeZ9nQfYvgn5pQMPPf4OLP/9Y=")
SECRET = {"namespace": "clickview", "name": "clickview-db-credentials", "key": "password", "exists": True,
          "keys": ["password", "username"], "login_key": "username", "login": "app"}
ROW = {"rolname": "app", "rolsuper": False, "rolreplication": False, "rolcanlogin": True, "connected_as": "dba"}


# ---- SQL ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, quoted", [
    ("app", '"app"'), ("App-User", '"App-User"'), ('we"ird', '"we""ird"'), ("x'); DROP ROLE y; --", "\"x'); DROP ROLE y; --\""),
    ("é" * 31, '"%s"' % ("é" * 31)),
])
def test_quote_identifier(name, quoted):
    assert cr.quote_identifier(name) == quoted


@pytest.mark.parametrize("name", ["", None, 5, "a\x00b", "x" * 64, "é" * 32])
def test_quote_identifier_refuses(name):
    with pytest.raises(cr.RotationError):
        cr.quote_identifier(name)


def test_scram_verifier_matches_postgresql():
    _scheme, params, _keys = PG15_VERIFIER.split("$")
    iterations, salt = params.split(":")
    assert cr.scram_sha256_verifier("correct horse battery staple", salt=base64.b64decode(salt),
                                    iterations=int(iterations)) == PG15_VERIFIER


def test_scram_verifier_salts_each_time_and_never_holds_the_password():
    one, two = scram_sha256("s3cret-Pw"), scram_sha256("s3cret-Pw")
    assert one != two and one.startswith("SCRAM-SHA-256$4096:") and "s3cret" not in one
    assert len(base64.b64decode(one.split("$")[1].split(":")[1])) == cr.SCRAM_SALT_BYTES


@pytest.mark.parametrize("password", ["", None, 42])
def test_scram_filter_refuses_bad_input_without_echoing_it(password):
    with pytest.raises(AnsibleFilterError) as info:
        scram_sha256(password)
    assert "42" not in str(info.value)


# ---- the login ---------------------------------------------------------------------------------

@pytest.mark.parametrize("row, connecting, fragment", [
    ({}, (), "there is no role app"),
    (dict(ROW, rolsuper=True), (), "superuser"),
    (dict(ROW, rolreplication=True), (), "replication role"),
    (dict(ROW, rolcanlogin=False), (), "NOLOGIN"),
    (ROW, ("dba", "app"), "the login this procedure connects as"),
])
def test_login_refusals(row, connecting, fragment):
    reasons = cr.login_refusals(row, "app", connecting)
    assert reasons and any(fragment in r for r in reasons)


def test_an_ordinary_login_is_allowed():
    assert cr.login_refusals(ROW, "app", ("dba", "", None)) == []


# ---- the Secret's consumers --------------------------------------------------------------------

def deployment(name, containers=(), init=(), volumes=(), namespace="clickview"):
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"spec": {"containers": list(containers), "initContainers": list(init),
                                           "volumes": list(volumes)}}}}


def env_ref(secret, key, var="DB_PASSWORD"):
    return {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


DEPLOYMENTS = [
    deployment("backend", [{"name": "api", "env": [{"name": "X", "value": "1"}, env_ref("db", "password")]}]),
    deployment("worker", [{"name": "w", "envFrom": [{"secretRef": {"name": "db"}, "prefix": "PG_"}]}]),
    deployment("migrate", init=[{"name": "m", "env": [env_ref("db", "password")]}], containers=[{"name": "c"}]),
    deployment("reporter", [{"name": "r", "env": [env_ref("db", "username", "DB_USER")]}]),
    deployment("files", [{"name": "f"}], volumes=[{"name": "creds", "secret": {"secretName": "db"}}]),
    deployment("picky", [{"name": "p"}], volumes=[{"name": "v", "secret": {"secretName": "db", "items": [{"key": "username", "path": "u"}]}}]),
    deployment("projected", [{"name": "p"}], volumes=[{"name": "all", "projected": {"sources": [
        {"configMap": {"name": "cfg"}}, {"secret": {"name": "db", "items": [{"key": "password", "path": "p"}]}}]}}]),
    deployment("frontend", [{"name": "web", "env": [env_ref("other", "password")]}]),
    deployment("bare", []),
]


def test_secret_consumers_finds_every_kind_of_reference():
    found = {c["name"]: c for c in cr.secret_consumers(DEPLOYMENTS, "db", "password")}
    assert sorted(found) == ["backend", "files", "migrate", "picky", "projected", "reporter", "worker"]
    assert {name for name, c in found.items() if c["reads_key"]} == {"backend", "files", "migrate", "projected", "worker"}
    assert found["backend"]["references"] == ["container api env DB_PASSWORD (key password)"]
    assert found["worker"]["references"] == ["container w envFrom (every key, prefix PG_)"]
    assert found["picky"]["references"] == ["volume v (keys username)"]
    assert [c["name"] for c in cr.secret_consumers(DEPLOYMENTS, "db", "password")] == sorted(found)


def test_secret_consumers_filter():
    assert consumers_filter([], "db", "password") == []
    assert consumers_filter(None, "db") == []
    with pytest.raises(AnsibleFilterError):
        consumers_filter({"not": "a list"}, "db")
    with pytest.raises(AnsibleFilterError):
        consumers_filter([], "")


# ---- proving a password ------------------------------------------------------------------------

@pytest.mark.parametrize("ping, outcome", [
    ({"is_available": True}, "accepted"),
    ({"is_available": False,
      "conn_err_msg": 'connection to server at "127.0.0.1", port 15432 failed: FATAL:  password authentication failed '
                      'for user "app"'}, "refused"),
    ({"is_available": False, "conn_err_msg": 'FATAL:  permission denied for database "clickview"'}, "accepted"),
    ({"is_available": False, "conn_err_msg": 'FATAL:  role "app" is not permitted to log in'}, "accepted"),
    ({"is_available": False, "conn_err_msg": "connection timeout expired"}, "unknown"),
    ({"is_available": False, "conn_err_msg": 'FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "app"'}, "unknown"),
    ({"skipped": True}, "skipped"),
    ({}, "skipped"),
    (None, "skipped"),
])
def test_login_outcome(ping, outcome):
    assert cr.login_outcome(ping) == outcome


# ---- the plan ----------------------------------------------------------------------------------

def plan(row=None, secret=None, deployments=None, current="accepted", **kw):
    row = ROW if row is None else row
    secret = dict(SECRET, name="db") if secret is None else secret
    deployments = DEPLOYMENTS[:1] if deployments is None else deployments
    return credential_rotation_plan(row, "app", secret, connecting_logins=["dba", row.get("connected_as")],
                                    deployments=deployments, current_login=current, **kw)


def by_check(checks, name):
    return [c for c in checks if c["check"] == name]


def test_a_confirmed_plan_acts_and_restarts_the_readers():
    result = plan(confirm=True, deployments=DEPLOYMENTS)
    assert result["allowed"] and result["act"] and result["identifier"] == '"app"'
    assert result["restart"] == ["backend", "files", "migrate", "projected", "worker"]
    assert not by_check(result["checks"], "rotation.plan")
    assert {c["status"] for c in result["checks"]} == {"OK"}
    assert "reporter" in by_check(result["checks"], "rotation.consumers")[0]["figure"]   # refers, not to the key


@pytest.mark.parametrize("kw, why", [({}, "run with security_incident_rotate_confirm=true"),
                                     ({"confirm": True, "check_mode": True}, "(check mode)")])
def test_without_the_opt_in_or_in_check_mode_it_only_plans(kw, why):
    result = plan(**kw)
    assert result["allowed"] and not result["act"]
    check = by_check(result["checks"], "rotation.plan")[0]
    assert check["status"] == "WARN" and why in check["figure"]
    assert 'ALTER ROLE "app"' in check["figure"] and "rollout restart deployment/backend" in check["figure"]


@pytest.mark.parametrize("row, secret, fragment, check", [
    (dict(ROW, rolsuper=True), SECRET, "superuser", "rotation.login"),
    (dict(ROW, connected_as="app"), SECRET, "connects as", "rotation.login"),
    ({}, SECRET, "there is no role app", "rotation.login"),
    (ROW, dict(SECRET, exists=False, keys=[]), "does not exist", "rotation.secret"),
    (ROW, dict(SECRET, keys=["username"]), "has no key password", "rotation.secret"),
    (ROW, dict(SECRET, login="someone_else"), "holds the password of someone_else", "rotation.secret"),
])
def test_refusals_change_nothing(row, secret, fragment, check):
    result = plan(row=row, secret=secret, confirm=True)
    assert not result["allowed"] and not result["act"] and result["identifier"] is None
    assert any(fragment in r for r in result["refusals"]) and "Nothing was changed" in result["msg"]
    assert by_check(result["checks"], check)[0]["status"] == "FAIL"
    assert not by_check(result["checks"], "rotation.plan")


def test_a_read_error_is_a_refusal():
    result = plan(row={}, confirm=True, db_user="dba",
                  reads={"postgres": {"failed": True, "msg": "unable to connect to database:\n could not connect"}})
    assert not result["act"] and by_check(result["checks"], "rotation.read")[0]["status"] == "FAIL"
    assert "could not read PostgreSQL (as dba): unable to connect to database: could not connect" in result["refusals"]
    assert not any("there is no role" in r for r in result["refusals"])


FORBIDDEN = ('Failed to retrieve requested object: {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
             '"message":"secrets \\"db\\" is forbidden: User \\"operator\\" cannot get resource \\"secrets\\"",'
             '"reason":"Forbidden","code":403}')


def test_a_secret_that_could_not_be_read_is_not_said_to_be_missing():
    result = plan(secret=dict(SECRET, name="db", exists=False, keys=[]), confirm=True,
                  reads={"secret_read": {"failed": True, "msg": FORBIDDEN}, "postgres": {"failed": False, "query_result": []},
                         "deployments": {"resources": []}})
    assert not result["act"]
    secret = by_check(result["checks"], "rotation.secret")[0]
    assert secret["status"] == "FAIL" and "could not be read" in secret["figure"]
    assert not any("does not exist" in r for r in result["refusals"])
    assert ('could not read Kubernetes, Secret clickview/db: 403 Forbidden: secrets "db" is forbidden: '
            'User "operator" cannot get resource "secrets"') in result["refusals"]


def test_reads_that_succeeded_are_no_error_and_an_unknown_source_is_refused():
    assert plan(confirm=True, reads={"postgres": {"changed": False}, "secret_read": {}, "deployments": {"failed": False}})["act"]
    with pytest.raises(AnsibleFilterError, match="reads: unknown source pods"):
        plan(reads={"pods": {"failed": True}})
    with pytest.raises(AnsibleFilterError, match="reads must be a dictionary"):
        plan(reads=["postgres"])


def test_warnings_do_not_stop_it():
    result = plan(secret=dict(SECRET, keys=["password"], login=None), deployments=[], current="refused", confirm=True)
    assert result["act"] and len(result["warnings"]) == 3
    assert {c["check"]: c["status"] for c in result["checks"]} == {
        "rotation.login": "OK", "rotation.secret": "WARN", "rotation.current_password": "WARN", "rotation.consumers": "WARN"}
    unreachable = plan(current={"is_available": False, "conn_err_msg": "timeout expired"}, confirm=True)
    assert unreachable["act"] and "timeout expired" in by_check(unreachable["checks"], "rotation.current_password")[0]["figure"]


def test_no_login_key_check_when_it_is_not_configured():
    assert plan(secret=dict(SECRET, login_key="", login=None))["allowed"]


# ---- the report --------------------------------------------------------------------------------

REFUSED = {"is_available": False, "conn_err_msg": 'FATAL:  password authentication failed for user "app"'}
OK_PING = {"is_available": True}
ROLLED = {"item": "backend", "resources": [{
    "metadata": {"name": "backend", "generation": 3},
    "spec": {"replicas": 2},
    "status": {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2}}]}


def report(**kw):
    values = dict(postgres={"changed": True}, secret_updated=True, restarts=[{"item": "backend", "changed": True}],
                  rollouts=[ROLLED], old_login=REFUSED, new_login=OK_PING)
    values.update(kw)
    return credential_rotation_report(plan(confirm=True), "app", "clickview/db", **values)


def statuses(result):
    return {c["check"]: c["status"] for c in result["checks"]}


def test_a_rotation_that_worked():
    result = report()
    assert not result["failed"] and result["changed"]
    assert statuses(result) == {"rotation.login": "OK", "rotation.secret": "OK", "rotation.current_password": "OK",
                                "rotation.consumers": "OK", "rotation.postgres": "OK", "rotation.secret_updated": "OK",
                                "rotation.rollout": "OK", "rotation.old_password_refused": "OK",
                                "rotation.new_password_accepted": "OK"}
    action = result["actions"][0]
    assert action["restarted"] == ["backend"] and action["proof"] == {"old_password": "refused", "new_password": "accepted"}
    assert result["event"]["details"]["step"] == "rotate_credentials" and "failed" not in result["event"]["details"]
    assert "old password refused, new one accepted" in result["event"]["event"]


def test_the_old_password_still_working_fails():
    result = report(old_login=OK_PING)
    assert result["failed"] and statuses(result)["rotation.old_password_refused"] == "FAIL"
    assert result["event"]["details"]["failed"] is True


def test_another_connection_error_proves_nothing():
    result = report(old_login={"is_available": False, "conn_err_msg": "could not connect: timeout"})
    check = by_check(result["checks"], "rotation.old_password_refused")[0]
    assert check["status"] == "FAIL" and "not proven" in check["figure"] and "timeout" in check["figure"]


def test_a_secret_not_updated_after_postgresql_changed_says_what_to_do():
    result = report(secret_updated=None, restarts=[], rollouts=[], failed_step="Rotate | Set the new password in the Secret")
    assert statuses(result)["rotation.secret_updated"] == "FAIL" and statuses(result)["rotation.rollout"] == "FAIL"
    assert "Run the procedure again" in by_check(result["checks"], "rotation.secret_updated")[0]["figure"]
    assert "(NOT updated)" in result["actions"][0]["summary"] and result["event"]["details"]["failed"]


def test_postgresql_refusing_the_change_leaves_everything_as_it_was():
    result = report(postgres={"failed": True}, secret_updated=None, restarts=[], rollouts=[],
                    old_login=None, new_login=None, failed_step="Rotate | Set the new password in PostgreSQL")
    assert statuses(result)["rotation.postgres"] == "FAIL" and not result["changed"] and not result["actions"]
    assert "rotation.old_password_refused" not in statuses(result)
    assert "FAILED before any change" in result["event"]["event"]


def test_a_rollout_that_does_not_complete_fails():
    stuck = {"item": "backend", "resources": [dict(ROLLED["resources"][0], status={
        "observedGeneration": 3, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2})]}
    result = report(rollouts=[stuck], rollout_timeout=60)
    check = by_check(result["checks"], "rotation.rollout")[0]
    assert check["status"] == "FAIL" and "still rolling out after 60 s" in check["figure"]


def test_the_rollout_wait_module_results_are_read_like_k8s_info_ones():
    """k8s_rollout_status returns the Deployment as last read (resource), not a resources list."""
    done = {"item": "backend", "resource": ROLLED["resources"][0], "rollout": {"state": "complete"}}
    stuck = {"item": "backend", "resource": dict(ROLLED["resources"][0], status={
        "observedGeneration": 3, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2})}
    assert statuses(report(rollouts=[done]))["rotation.rollout"] == "OK"
    assert statuses(report(rollouts=[stuck], rollout_timeout=60))["rotation.rollout"] == "FAIL"
    assert statuses(report(rollouts=[{"item": "backend", "resource": None, "failed": True}]))["rotation.rollout"] == "FAIL"


def test_an_old_password_refused_before_too_proves_little():
    result = credential_rotation_report(plan(confirm=True, current="refused"), "app", "clickview/db",
                                        postgres={"changed": True}, secret_updated=True,
                                        restarts=[{"item": "backend"}], rollouts=[ROLLED], old_login=REFUSED,
                                        new_login=OK_PING)
    assert statuses(result)["rotation.old_password_refused"] == "WARN"


def test_a_plan_that_did_not_act_reports_the_plan():
    result = credential_rotation_report(plan(), "app", "clickview/db")
    assert [c["check"] for c in result["checks"]][-1] == "rotation.plan"
    assert result["event"] is None and not result["actions"] and not result["changed"]


def test_no_password_in_anything_the_report_returns():
    text = repr(report()) + repr(plan(confirm=True))
    for word in ("s3cret", "SCRAM-SHA-256$", "b64"):
        assert word not in text


def test_the_checks_have_no_number():
    checks = plan(deployments=DEPLOYMENTS)["checks"] + report()["checks"]
    assert len(checks) > 5 and all((c["value"], c["unit"]) == (None, None) for c in checks), checks
