# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change guard (issue 17): destructive procedures in staging and production need an incident id or a
change reference. The filter's decision table; its tables against the playbooks and the roles' defaults;
every destructive playbook runs the guard first and every other one holds no switch that changes the
platform; the role end to end on localhost (no lab service)."""

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from conftest import run_playbook

from ansible_collections.clickview.runbook.plugins.filter import change_guard as cg

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"

# Every playbook that changes the platform, and why. Each runs clickview.runbook.change_guard as its first pre-task.
DESTRUCTIVE = {
    "alert_db_connection_pool_exhausted": "remediate: terminates long-running queries; alert_response_pool_scale_out "
                                          "scales the backend out",
    "alert_disk_space_low": "remediate: VACUUM (ANALYZE) of the bloated tables; alert_response_vacuum_full: VACUUM FULL "
                            "(exclusive lock per table)",
    "alert_high_error_rate": "remediate: rolls the backend Deployment back",
    "alert_high_latency": "remediate: scales the backend out and raises its HPA's minReplicas",
    "alert_high_memory": "remediate: rollout restart of the backend; alert_response_memory_limit: new memory limits",
    "alert_ssl_certificate_expiring": "remediate: deletes the TLS secret so cert-manager re-issues it",
    "backup_configure": "ALTER SYSTEM SET archive_command on the primary, pgBackRest configuration and stanza",
    "backup_restore": "stops/overwrites a data directory (in place) or starts a restored server on the database host",
    "db_kill_long_queries": "database_operations_kill_execute: terminates backends on the primary",
    "db_terminate_backend": "database_operations_kill_execute: terminates the backends of the pids given",
    "db_read_only_off": "ALTER SYSTEM default_transaction_read_only = off on the primary",
    "db_read_only_on": "ALTER SYSTEM default_transaction_read_only = on: every write of the application fails",
    "deploy_blue_green": "deploys the idle slot and switches the Service's selector",
    "deploy_blue_green_switch_back": "switches the Service's selector back",
    "deploy_canary": "runs a canary track, then promotes or rolls back",
    "deploy_image": "sets a new image on a Deployment",
    "deploy_rollback": "rolls a Deployment back",
    "deploy_rollback_to_revision": "rolls a Deployment back to a revision",
    "deploy_verify": "deployment_verify_rollback (on by default): rolls a bad deploy back",
    "scale_backend": "changes the backend's replicas",
    "scale_deployment": "changes a Deployment's replicas",
    "scale_frontend": "changes the frontend's replicas",
    "scale_hpa_max": "changes an HPA's maxReplicas",
    "scale_hpa_restore": "changes an HPA's maxReplicas back",
    "scale_pgbouncer_pool": "changes PgBouncer's pool size and reloads it",
    "scale_read_replica_add": "creates and starts a streaming replica",
    "scale_read_replica_remove": "scaling_read_replica_remove_confirm: stops a replica and deletes its data directory",
    "security_containment": "blocks addresses at the WAF, revokes API keys, logs users out",
    "security_rotate_credentials": "security_incident_rotate_confirm: a login's new password in PostgreSQL and its "
                                   "Secret, rollout restart of its readers",
    "security_unblock_ip": "removes addresses from the WAF IP sets (lowers the protection)",
}
# Every other playbook, and why it is not guarded: read-only, or it writes only the incident record, reports,
# messages, evidence or backups - never the platform's state. Checked below to hold no switch variable.
NOT_GUARDED = {
    "backup_list": "read-only",
    "backup_run": "scheduled (cron/AWX) backup: adds to the repository, changes no data or configuration",
    "backup_verify": "restores into a scratch directory on a spare port and removes it; the live database is untouched",
    "db_daily_check": "read-only",
    "db_weekly_maintenance": "scheduled ANALYZE: statistics only",
    "game_day_drill": "refuses every environment but the lab's (game_day_allowed_environments)",
    "health_check": "read-only",
    "hpa_status": "read-only",
    "incident_declare": "the incident record and its notifications (it creates the incident id)",
    "incident_action_item_close": "the incident record's action items and a timeline event",
    "incident_acknowledge": "a PagerDuty acknowledgement of the incident's page and a timeline event",
    "incident_escalation_sweep": "reminders only",
    "incident_resolve": "the incident record and its notifications",
    "incident_update": "the incident record and its notifications",
    "oncall_access_check": "read-only",
    "oncall_handoff": "a report (and a chat message)",
    "post_incident_review": "a document and a timeline event",
    "scale_read_replica_verify": "read-only",
    "security_classify": "declares the security incident",
    "security_evidence": "collects evidence (read-only on the platform), uploads the bundle",
    "security_evidence_verify": "read-only",
    "security_notify": "messages and the checklist in the record",
    "waf_purge_expired_blocks": "hourly schedule: ends only the blocks whose expiry a (guarded) containment set",
}
# Switch variables: the roles' remediate/execute/confirm/allow/force/in-place names, and every switch the guard reads.
SWITCH = re.compile(r"\bremediate\b|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*_(?:remediate|execute|confirm|allow|force|in_place)"
                    r"(?:_[a-z0-9]+)*\b")
KNOWN_SWITCHES = set(cg.FALLBACK) | set(cg.DEFAULTS) | {
    s for spec in cg.PROCEDURES.values() if spec["writes"] != cg.ALWAYS for s in spec["writes"]}
# Switches that change only what the incident record says, never the platform (so no guard): each with why.
RECORD_SWITCHES = {
    "incident_response_force": "incident_resolve: resolve while the health check of the area is not OK; the record keeps "
                               "the reason and the failing checks",
    "incident_response_force_reason": "the reason that goes into the record with a forced resolution",
}
INCLUDE_ROLE = ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role")
INCLUDE_TASKS = ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "include_tasks", "import_tasks")


def load(path):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def decide(values=None, procedure="alert_high_error_rate", environment="staging", check_mode=False):
    return cg.change_guard(values or {}, procedure, environment, check_mode)


# ---- the decision table ------------------------------------------------------------------------------

def test_the_lab_is_exempt():
    decision = decide({"remediate": True}, environment="local")
    assert decision["allowed"] and not decision["guarded"] and "lab" in decision["msg"]


def test_check_mode_is_exempt():
    decision = decide({"remediate": True}, environment="production", check_mode=True)
    assert decision["allowed"] and not decision["guarded"] and "check mode" in decision["msg"]


@pytest.mark.parametrize("values", [{}, {"remediate": False}, {"remediate": "false"}, {"alert_response_remediate": "no"},
                                    {"remediate": True, "alert_response_rollback": "false"},
                                    {"alert_response_remediate": "", "remediate": True}])
def test_remediation_off_is_exempt(values):
    decision = decide(values, environment="production")
    assert decision["allowed"] and not decision["guarded"] and decision["writes"] == []
    assert "changes nothing" in decision["msg"]


@pytest.mark.parametrize("environment", ["staging", "production", "Production ", "qa", "", None])
@pytest.mark.parametrize("values", [{"remediate": True}, {"alert_response_remediate": "true"},
                                    {"alert_response_rollback": "yes"}, {"remediate": "True"}])
def test_a_change_outside_the_lab_without_an_id_fails_naming_both_variables(environment, values):
    decision = decide(values, environment=environment)
    assert decision["guarded"] and not decision["allowed"]
    assert "alert_response_incident_id" in decision["msg"] and "change_reference" in decision["msg"]
    assert decision["writes"] == ["alert_response_rollback=%s" % (
        "true" if values.get("remediate") is True else next(iter(values.values())))]
    assert "Nothing was changed" in decision["msg"]


@pytest.mark.parametrize("values, incident_id, change", [
    ({"alert_response_incident_id": "INC-20250131-api"}, "INC-20250131-api", None),
    ({"change_reference": "CHG-1234"}, None, "CHG-1234"),
    ({"alert_response_incident_id": " INC-7 ", "change_reference": " CHG-9 "}, "INC-7", "CHG-9"),
    ({"change_reference": 1234}, None, "1234"),
])
def test_an_incident_id_or_a_change_reference_lets_it_run(values, incident_id, change):
    decision = decide(dict(values, remediate=True), environment="production")
    assert decision["guarded"] and decision["allowed"]
    assert decision["incident_id"] == incident_id and decision["change_reference"] == change
    if incident_id:
        assert decision["incident_id_variable"] == "alert_response_incident_id" and incident_id in decision["msg"]
    if change:
        assert change in decision["msg"]


@pytest.mark.parametrize("values", [{"alert_response_incident_id": "   "}, {"change_reference": " \t"},
                                    {"alert_response_incident_id": "", "change_reference": "\n"},
                                    {"change_reference": None}, {"change_reference": []}])
def test_a_blank_id_or_reference_counts_as_none(values):
    assert not decide(dict(values, remediate=True))["allowed"]


def test_only_the_procedures_own_incident_variable_counts():
    # the alert role records to alert_response_incident_id; incident_id would record nothing there
    assert not decide({"remediate": True, "incident_id": "INC-1"})["allowed"]
    assert decide({"incident_id": "INC-1"}, procedure="deploy_image")["allowed"]
    assert not decide({"alert_response_incident_id": "INC-1"}, procedure="deploy_image")["allowed"]
    assert decide({"security_incident_id": "SEC-1"}, procedure="security_containment")["allowed"]
    assert "security_incident_id" in decide({}, procedure="security_containment")["msg"]


@pytest.mark.parametrize("procedure", sorted(p for p, s in cg.PROCEDURES.items() if s["writes"] == cg.ALWAYS))
def test_always_destructive_procedures_are_always_guarded(procedure):
    decision = decide({"remediate": False}, procedure=procedure, environment="production")
    assert decision["guarded"] and not decision["allowed"] and decision["writes"] == ["always"]
    assert "change_reference" in decision["msg"] and decision["id_variables"][0] in decision["msg"]


@pytest.mark.parametrize("procedure, values, guarded", [
    ("alert_db_connection_pool_exhausted", {"alert_response_pool_scale_out": "true"}, True),
    ("alert_db_connection_pool_exhausted", {"remediate": True, "alert_response_kill_long_queries": False}, False),
    ("alert_disk_space_low", {"alert_response_vacuum_full": True}, True),
    ("alert_high_memory", {"alert_response_memory_limit": "1Gi"}, True),
    ("alert_high_memory", {"alert_response_memory_limit": ""}, False),
    ("alert_ssl_certificate_expiring", {"remediate": "true"}, True),
    ("alert_high_latency", {"alert_response_scale_out": "false", "remediate": "true"}, False),
    ("db_kill_long_queries", {}, False),
    ("db_kill_long_queries", {"database_operations_kill_execute": "true"}, True),
    ("deploy_verify", {}, True),  # rollback on by default
    ("deploy_verify", {"deployment_verify_rollback": "false"}, False),
    ("scale_read_replica_remove", {}, False),
    ("scale_read_replica_remove", {"scaling_read_replica_remove_confirm": True}, True),
    ("db_terminate_backend", {}, False),
    ("db_terminate_backend", {"database_operations_kill_execute": "true"}, True),
    ("security_rotate_credentials", {}, False),
    ("security_rotate_credentials", {"security_incident_rotate_confirm": "true"}, True),
])
def test_switches_of_each_procedure(procedure, values, guarded):
    decision = decide(values, procedure=procedure, environment="staging")
    assert decision["guarded"] is guarded and decision["allowed"] is (not guarded)


@pytest.mark.parametrize("value, on", [(True, True), (False, False), (None, False), ("true", True), ("True", True),
                                       ("yes", True), ("on", True), ("1", True), ("false", False), ("no", False),
                                       ("off", False), ("0", False), ("", False), (" ", False), (0, False), (1, True),
                                       ("1Gi", True), ("maybe", True), ([], False), (["x"], True)])
def test_is_on(value, on):
    assert cg.is_on(value) is on


def test_unknown_procedure_or_input_fails():
    with pytest.raises(AnsibleFilterError, match="unknown procedure 'health_check'"):
        decide(procedure="health_check")
    with pytest.raises(AnsibleFilterError, match="must be a dictionary"):
        cg.change_guard(["remediate"], "deploy_image", "staging")
    assert decide(procedure="deploy_image.yml", environment="local")["procedure"] == "deploy_image"


def test_variables_the_decision_reads():
    assert cg.change_guard_variables("alert_high_error_rate") == [
        "alert_response_incident_id", "change_reference", "alert_response_rollback", "alert_response_remediate", "remediate"]
    assert cg.change_guard_variables("deploy_image") == ["incident_id", "change_reference"]
    assert cg.change_guard_variables("deploy_verify") == ["incident_id", "change_reference", "deployment_verify_rollback"]


# ---- the tables against the playbooks and roles ------------------------------------------------------------

def entry_point(playbook):
    """(role, tasks_from, vars the playbook sets) of the playbook's own include_role."""
    for task in load(PLAYBOOKS / (playbook + ".yml"))[0]["tasks"]:
        for key in INCLUDE_ROLE:
            if key in task:
                return task[key]["name"].split(".")[-1], task[key].get("tasks_from", "main"), task.get("vars", {})
    raise AssertionError("%s includes no role" % playbook)


def role_defaults(role):
    defaults = {}
    for path in sorted((ROOT / "roles" / role / "defaults").glob("*.yml")):
        defaults.update(load(path) or {})
    return defaults


@pytest.mark.parametrize("procedure", sorted(cg.PROCEDURES))
def test_switches_and_ids_are_the_roles(procedure):
    """Each switch the guard reads is an option of the role's entry point and falls back as its role default does;
    the id variables are those the entry point takes."""
    role, entry, fixed = entry_point(procedure)
    options = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"][entry].get("options", {})
    defaults = role_defaults(role)
    spec = cg.PROCEDURES[procedure]
    if spec["writes"] != cg.ALWAYS:
        for switch in spec["writes"]:
            assert switch in options, "%s: %s is not an option of %s/%s" % (procedure, switch, role, entry)
            assert switch not in fixed, "%s sets %s itself" % (procedure, switch)
            for name in cg._chain(switch):  # pylint: disable=protected-access
                if name == "remediate":
                    continue
                if name in cg.FALLBACK:
                    assert re.fullmatch(r"\{\{\s*%s\b.*\}\}" % re.escape(cg.FALLBACK[name]), str(defaults[name]).strip()), \
                        "%s: role default %r does not fall back to %s" % (name, defaults[name], cg.FALLBACK[name])
                else:
                    assert defaults[name] == cg.DEFAULTS[name], "%s: role default %r" % (name, defaults[name])
    takes = [name for name in options if name.endswith("incident_id")]
    if takes:
        assert set(spec["ids"]) <= set(takes), "%s: the guard reads %s, the role takes %s" % (procedure, spec["ids"], takes)
    else:
        assert spec["ids"] == ("incident_id",), "%s records no incident: the collection-wide incident_id" % procedure


def test_alert_master_switch_defaults_to_remediate():
    assert role_defaults("alert_response")["alert_response_remediate"].replace(" ", "") == "{{remediate|default(false)|bool}}"


# ---- every playbook ---------------------------------------------------------------------------------------

def all_playbooks():
    return sorted(path.stem for path in PLAYBOOKS.glob("*.yml"))


def test_every_playbook_is_classified():
    assert not set(DESTRUCTIVE) & set(NOT_GUARDED)
    assert sorted(set(DESTRUCTIVE) | set(NOT_GUARDED)) == all_playbooks(), "a playbook added or removed: classify it"
    assert set(DESTRUCTIVE) == set(cg.PROCEDURES), "the test's list and the filter's table differ"


@pytest.mark.parametrize("playbook", sorted(DESTRUCTIVE))
def test_each_destructive_playbook_runs_the_guard_first(playbook):
    plays = load(PLAYBOOKS / (playbook + ".yml"))
    for play in plays:
        assert "roles" not in play, "%s: a play-level roles list; the procedure belongs in tasks, after the guard" % playbook
        first = (play.get("pre_tasks") or [{}])[0]
        include = first.get("ansible.builtin.include_role") or {}
        assert include.get("name") == "clickview.runbook.change_guard", "%s: the guard is not the first pre-task" % playbook
        assert first.get("vars") == {"change_guard_procedure": playbook}
        assert not any(key in first for key in ("when", "ignore_errors", "failed_when", "tags", "rescue")), first
        assert len(play["pre_tasks"]) == 1


def reached_files(playbook):
    """The playbook and the role task files it reaches (include_role / include_tasks, followed)."""
    files, pending = [], [(None, PLAYBOOKS / (playbook + ".yml"))]
    while pending:
        role, path = pending.pop()
        path = path.resolve()
        if path in files:
            continue
        files.append(path)
        data = load(path)
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
                continue
            if not isinstance(node, dict):
                continue
            stack.extend(node.values())
            for key in INCLUDE_ROLE:
                if key in node:
                    name = node[key]["name"].split(".")[-1]
                    pending.append((name, ROOT / "roles" / name / "tasks" / (node[key].get("tasks_from", "main") + ".yml")))
            for key in INCLUDE_TASKS:
                if key in node:
                    target = node[key]["file"] if isinstance(node[key], dict) else node[key]
                    if "{{" in target:
                        continue
                    found = [base / target for base in (path.parent, ROOT / "roles" / str(role) / "tasks")
                             if (base / target).is_file()]
                    assert found, "%s: %s not found" % (path, target)
                    pending.append((role, found[0]))
    return files


@pytest.mark.parametrize("playbook", sorted(NOT_GUARDED))
def test_every_other_playbook_holds_no_switch(playbook):
    if playbook == "game_day_drill":  # runs the alert playbooks' remediation, on the lab only
        assert role_defaults("game_day")["game_day_allowed_environments"] == ["local"]
        return
    texts = {path: "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                             if not line.lstrip().startswith("#")) for path in reached_files(playbook)}
    # a switch the procedure pins off itself (backup_verify: backups_into_in_place: false) is no switch of the run
    pinned_off = {name for text in texts.values() for name in re.findall(r"^\s*([a-z0-9_]+):\s*false\s*$", text, re.M)}
    found = {}
    for path, text in texts.items():
        names = set(SWITCH.findall(text)) | {name for name in KNOWN_SWITCHES if re.search(r"\b%s\b" % name, text)}
        names -= set(RECORD_SWITCHES)
        if names - pinned_off:
            found[str(path.relative_to(ROOT))] = sorted(names - pinned_off)
    assert not found, "%s is not guarded but holds switch variables: %s" % (playbook, found)


# ---- the role end to end -----------------------------------------------------------------------------------

def guarded_play(extra_vars, check=False, procedure="db_kill_long_queries"):
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "pre_tasks": [{"name": "Guard", "ansible.builtin.include_role": {"name": "clickview.runbook.change_guard"},
                            "vars": {"change_guard_procedure": procedure}}],
             "tasks": [{"name": "The change", "ansible.builtin.debug": {"msg": "changed"}}]}]
    with tempfile.NamedTemporaryFile("w", prefix="clickview-test-", suffix=".yml", delete=False) as handle:
        yaml.safe_dump(play, handle)
        path = handle.name
    try:
        rc, out = run_playbook(path, inventory="localhost,", extra_vars=extra_vars, check=check)
    finally:
        os.unlink(path)
    tasks = {task["task"]["name"]: task["hosts"]["localhost"] for task in out["plays"][0]["tasks"]}
    return rc, tasks


@pytest.mark.parametrize("extra_vars, check, allowed", [
    ({"clickview_environment": "local", "database_operations_kill_execute": True}, False, True),
    ({"clickview_environment": "staging", "database_operations_kill_execute": "true"}, True, True),
    ({"clickview_environment": "production"}, False, True),
    ({"clickview_environment": "production", "database_operations_kill_execute": "true"}, False, False),
    ({"clickview_environment": "production", "database_operations_kill_execute": "true", "incident_id": "  "}, False, False),
    ({"clickview_environment": "production", "database_operations_kill_execute": "true", "change_reference": "CHG-1"}, False, True),
])
def test_the_role_refuses_before_anything_changes(extra_vars, check, allowed):
    rc, tasks = guarded_play(extra_vars, check=check)
    assert (rc == 0) is allowed, json.dumps(tasks)[-2000:]
    assert ("The change" in tasks) is allowed
    decision = next(t for name, t in tasks.items() if "An incident id" in name)
    if not allowed:
        assert decision["failed"] and "incident_id" in decision["msg"] and "change_reference" in decision["msg"]


def test_every_guarded_awx_template_asks_for_a_change_reference():
    """AWX takes survey answers only: a guarded procedure without the question could never run in staging or
    production from AWX."""
    guarded = {p.name for p in PLAYBOOKS.glob("*.yml") if "change_guard" in p.read_text()}
    templates = yaml.safe_load((ROOT / "extensions" / "awx" / "vars" / "job_templates.yml").read_text())
    templates = next(v for v in templates.values() if isinstance(v, list))
    asked = {Path(t["playbook"]).name for t in templates
             if any(q["variable"] == "change_reference" for q in t.get("survey") or [])}
    assert guarded and guarded <= asked, sorted(guarded - asked)


FIRING = {"alertname": "HighErrorRate", "fingerprint": "a1b2c3d4e5f6", "severity": "P2", "starts_at": "2026-12-06T03:04:05Z",
          "labels": {"alertname": "HighErrorRate", "severity": "P2"}}


def test_a_p1_p2_alert_started_run_is_under_the_incident_it_declares():
    decision = cg.change_guard({"remediate": True}, "alert_high_error_rate", "production", alert=FIRING)
    assert decision["allowed"] and decision["guarded"]
    assert decision["incident_id"] == "INC-20261206-030405-higherrorrate-a1b2c3d4e5f6"
    assert decision["incident_id_variable"] == "clickview_alert"
    assert "declared or joined before any step" in decision["msg"]


@pytest.mark.parametrize("alert, procedure, severities", [
    (dict(FIRING, severity="P3", labels={"severity": "P3"}), "alert_high_error_rate", ("P1", "P2")),   # no incident for a P3
    (dict(FIRING, fingerprint=""), "alert_high_error_rate", ("P1", "P2")),                             # not a real alert
    ({}, "alert_high_error_rate", ("P1", "P2")),
    (FIRING, "alert_high_error_rate", ("P1",)),                                                       # P2 not declared here
    (FIRING, "deploy_image", ("P1", "P2")),                                                           # only alert playbooks
])
def test_any_other_alert_or_procedure_still_needs_an_id(alert, procedure, severities):
    values = {"remediate": True} if procedure.startswith("alert_") else {}
    decision = cg.change_guard(values, procedure, "production", alert=alert, alert_severities=severities)
    assert not decision["allowed"] and decision["incident_id"] is None


def test_a_given_incident_id_wins_over_the_alerts():
    decision = cg.change_guard({"remediate": True, "alert_response_incident_id": "INC-7"}, "alert_high_error_rate",
                               "production", alert=FIRING)
    assert decision["incident_id"] == "INC-7" and decision["incident_id_variable"] == "alert_response_incident_id"


@pytest.mark.parametrize("severity, allowed", [("P1", True), ("P3", False)])
def test_the_role_lets_an_alert_started_p1_run_remediate_under_its_incident(severity, allowed):
    """The event-driven rulebook starts the alert playbook with clickview_alert and remediate=true: in production a P1/P2
    alert runs under the incident the playbook declares first; a P3 alert still needs an id or a change reference."""
    alert = dict(FIRING, severity=severity, labels={"alertname": "HighErrorRate", "severity": severity})
    rc, tasks = guarded_play({"clickview_environment": "production", "remediate": True, "clickview_alert": alert},
                             procedure="alert_high_error_rate")
    assert (rc == 0) is allowed and ("The change" in tasks) is allowed, json.dumps(tasks)[-2000:]
    decision = next(t for name, t in tasks.items() if "An incident id" in name)
    assert ("INC-20261206-030405-higherrorrate-a1b2c3d4e5f6" in decision["msg"]) is allowed
