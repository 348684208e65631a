"""No secret in any output: the incident, alert, on-call and security procedures run on the lab at -vvv with
the JUnit callback, every webhook URL, token and routing key replaced by a unique sentinel, and the lab's
real passwords as further sentinels. Not one may appear in what Ansible prints, in the JUnit files, in the
reports, incident records and PIR written, or in a message the webhook sink or the SMTP sink received.

The URLs' sentinels sit in their paths, where a real webhook keeps its token; the lab's webhook sink
accepts any path, and the lab's Prometheus and Alertmanager any bearer token, so every delivery still
happens and is scanned.
"""
import json
import time
import uuid

import pytest

from conftest import LAB, ROOT, lab_port, run_playbook, webhook_received

SINK = "http://127.0.0.1:%d" % lab_port("webhook_sink")
SMTP_LOG = ROOT / LAB["state_dir"] / "smtp-sink" / "messages.jsonl"
RUN = uuid.uuid4().hex[:8]
SENTINELS = {
    "chat webhook token": "sntlchat%s" % RUN,
    "security webhook token": "sntlsec%s" % RUN,
    "pager webhook token": "sntlpager%s" % RUN,
    "PagerDuty routing key": "sntlroute%s" % RUN,
    "SMTP relay password": "sntlsmtp%s" % RUN,
    "Prometheus token": "sntlprom%s" % RUN,
    "Alertmanager token": "sntlam%s" % RUN,
}
# the lab's real secrets (lab/lab.yml) are used by the same runs: they must not show either
SENTINELS.update({
    "operator password": LAB["postgres"]["operator"]["password"],
    "superuser password": LAB["postgres"]["superuser"]["password"],
    "app password": LAB["postgres"]["app"]["password"],
    "replication password": LAB["postgres"]["replicator"]["password"],
    "Redis password": LAB["redis"]["password"],
    # the runbook's AWS identity in the lab (moto enforces its policy): the access check and the handoff use it
    "AWS secret key": LAB["aws"]["operator"]["secret_key"],
    # the sink's Statuspage API checks its key: the lab's own, set by the local inventory
    "Statuspage API key": LAB["statuspage"]["api_key"],
})
INCIDENT = "INC-secrets-%s" % RUN
SECURITY_INCIDENT = "SEC-secrets-%s" % RUN


def sentinel_vars(tmp_path):
    webhooks = {"chat": "%s/chat/incidents/%s" % (SINK, SENTINELS["chat webhook token"]),
                "security": "%s/chat/security/%s" % (SINK, SENTINELS["security webhook token"]),
                "pager": "%s/pager/%s" % (SINK, SENTINELS["pager webhook token"])}
    return {
        "clickview_webhooks": webhooks,
        "incident_response_pagerduty_routing_key": SENTINELS["PagerDuty routing key"],
        "incident_response_statuspage_api_key": SENTINELS["Statuspage API key"],
        # the lab's SMTP sink takes any login (without TLS): the security email logs in with the sentinel
        "clickview_smtp_username": "sentinel-user-%s" % RUN,
        "clickview_smtp_password": SENTINELS["SMTP relay password"],
        "on_call_prometheus_token": SENTINELS["Prometheus token"],
        "on_call_alertmanager_token": SENTINELS["Alertmanager token"],
        "alert_response_prometheus_token": SENTINELS["Prometheus token"],
        "deployment_prometheus_token": SENTINELS["Prometheus token"],
        "clickview_report_dir": str(tmp_path / "reports"),
        "clickview_incident_dir": str(tmp_path / "incidents"),
    }


# (playbook, its own variables): the procedures that talk to every kind of secret holder
RUNS = [
    ("health_check", {}),
    ("oncall_access_check", {}),
    ("db_daily_check", {}),
    ("incident_declare", {"incident_response_id": INCIDENT, "incident_response_title": "Sentinel scan",
                          "incident_response_severity": "P1", "incident_response_impact": "none, a test"}),
    ("incident_update", {"incident_response_id": INCIDENT, "incident_response_status": "identified",
                         "incident_response_progress": "scanning output"}),
    ("alert_high_error_rate", {"alert_response_incident_id": INCIDENT, "alert_response_rate_window": "1m"}),
    ("alert_db_connection_pool_exhausted", {"alert_response_incident_id": INCIDENT}),
    ("security_classify", {"security_incident_id": SECURITY_INCIDENT, "security_incident_type": "suspicious_activity",
                           "security_incident_impact": "none, a test"}),
    ("security_notify", {"security_incident_id": SECURITY_INCIDENT}),
    # the plan only (no confirm): reads the app's password from its Secret and logs in with it, as the admin login
    ("security_rotate_credentials", {"security_incident_rotate_login": LAB["postgres"]["app"]["name"],
                                     "security_incident_rotate_confirm": False}),
    ("oncall_handoff", {"on_call_handoff_post": True}),
    ("incident_resolve", {"incident_response_id": INCIDENT, "incident_response_root_cause": "none",
                          "incident_response_follow_up": "none", "incident_response_action_items": ["none"],
                          # its health check runs (and is scanned) whatever the shared lab's state: resolved anyway
                          "incident_response_force": True,
                          "incident_response_force_reason": "secrets scan; the lab's health is not under test"}),
    ("post_incident_review", {"post_incident_review_id": INCIDENT}),
]


def leaks(text, where):
    return ["%s in %s" % (name, where) for name, value in SENTINELS.items() if value and value in text]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("secrets")
    started = time.time()
    outputs = {}
    for playbook, extra in RUNS:
        extra_vars = dict(sentinel_vars(tmp_path), **extra)
        _rc, out = run_playbook("playbooks/%s.yml" % playbook, extra_vars=extra_vars, json_output=False,
                                env={"ANSIBLE_VERBOSITY": "3", "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.junit",
                                     "JUNIT_OUTPUT_DIR": str(tmp_path / "junit"), "JUNIT_INCLUDE_SETUP_TASKS_IN_REPORT": "yes"})
        outputs[playbook] = out
    received = webhook_received(since=started)
    return tmp_path, outputs, received


def test_every_procedure_ran_and_delivered(scanned):
    tmp_path, outputs, received = scanned
    for playbook, out in outputs.items():
        assert "PLAY RECAP" in out, (playbook, out[-3000:])
    # the deliveries really happened, to the sentinel URLs
    paths = {m["path"] for m in received}
    assert "/chat/incidents/%s" % SENTINELS["chat webhook token"] in paths, paths
    assert "/pager/%s" % SENTINELS["pager webhook token"] in paths, paths
    assert "/chat/security/%s" % SENTINELS["security webhook token"] in paths, paths
    assert any(p.get("routing_key") == SENTINELS["PagerDuty routing key"] for p in (m["body"] for m in received)
               if isinstance(p, dict)), "the routing key reached PagerDuty's stand-in"
    assert list((tmp_path / "junit").glob("*.xml")), "the JUnit callback wrote its files"
    assert (tmp_path / "incidents" / ("%s.json" % INCIDENT)).exists()
    assert list((tmp_path / "reports" / "pir").glob("%s*" % INCIDENT))
    # the Statuspage API (its key in the header) and the SMTP relay (its login) took their calls too
    delivered = {(e["details"].get("channel"), e["details"].get("delivered")) for iid in (INCIDENT, SECURITY_INCIDENT)
                 for e in json.loads((tmp_path / "incidents" / ("%s.json" % iid)).read_text())["timeline"]}
    assert ("status_page", True) in delivered and ("email", True) in delivered, delivered
    assert any(m["login"] == "sentinel-user-%s" % RUN for m in smtp_messages(SECURITY_INCIDENT))


def test_no_sentinel_in_job_output(scanned):
    _tmp_path, outputs, _received = scanned
    found = [leak for playbook, out in outputs.items() for leak in leaks(out, "the output of %s" % playbook)]
    assert not found, found


def test_no_sentinel_in_files_written(scanned):
    tmp_path, _outputs, _received = scanned
    found = []
    for path in tmp_path.rglob("*"):
        if path.is_file():
            found += leaks(path.read_text(encoding="utf-8", errors="replace"), str(path.relative_to(tmp_path)))
    assert not found, found


def smtp_messages(needle):
    """The messages the lab's SMTP sink received that mention needle."""
    lines = SMTP_LOG.read_text(encoding="utf-8").splitlines() if SMTP_LOG.exists() else []
    return [m for m in (json.loads(line) for line in lines if line.strip()) if needle in json.dumps(m)]


def test_no_sentinel_in_emails_sent(scanned):
    found = []
    for message in smtp_messages(RUN):
        found += leaks(json.dumps(message), "an email to %s" % ", ".join(message["rcpt_tos"]))
    assert not found, found


def test_no_sentinel_in_messages_sent(scanned):
    _tmp_path, _outputs, received = scanned
    found = []
    for message in received:
        body = dict(message["body"]) if isinstance(message["body"], dict) else message["body"]
        if isinstance(body, dict):
            body.pop("routing_key", None)   # PagerDuty's own field: where the routing key belongs
        found += leaks(json.dumps(body), "a message to %s" % message["path"].split("/")[1])
    assert not found, found
