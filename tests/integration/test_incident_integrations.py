"""The incident's integrations against the lab's stand-ins of the real services (issue 20):

* PagerDuty Events API v2 (the webhook sink's pager path keeps a state per dedup_key): one incident, one page -
  declaring twice triggers once, acknowledge acknowledges, resolve resolves, a bad event is refused (400) and
  recorded as not delivered;
* the Statuspage API (the sink's /statuspage-api/v1, key checked): the incident created with the components' status
  from the severity, its id kept in the record, updated, resolved with the components operational; a wrong key is a
  401, reported as not delivered;
* chat: a post that fails (503) is retried and delivered, or recorded as not delivered when it keeps failing;
* the security email through the lab's SMTP sink (aiosmtpd), with the incident id and classification.

Every test has its own incident id and incident folder and reads the sinks filtered by them.
"""
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import LAB, ROOT, http_json, lab_url, run_playbook, webhook_received

SINK = lab_url("webhook_sink")
STATUSPAGE = LAB["statuspage"]
SP_API = "%s/statuspage-api/v1/pages/%s" % (SINK, STATUSPAGE["page_id"])
SMTP_LOG = ROOT / LAB["state_dir"] / "smtp-sink" / "messages.jsonl"


# resolve confirms the service restored with the health check first; these tests are about the notifications, so
# a lab made unhealthy by another test must not refuse their resolution
RESOLVE = dict(incident_response_force=True,
               incident_response_force_reason="integration test of the notifications; the restore check has its own")


def new_id(prefix="INC"):
    return "%s-itest-%s" % (prefix, uuid.uuid4().hex[:10])


def failures(out):
    return [str(r.get("msg", "")) for play in out["plays"] for task in play["tasks"] for r in task["hosts"].values()
            if r.get("failed") and not r.get("ignored")]


def incident_run(action, folder, iid, **extra):
    extra_vars = dict(clickview_incident_dir=str(folder), incident_response_id=iid)
    extra_vars.update(extra)
    return run_playbook("playbooks/incident_%s.yml" % action, extra_vars=extra_vars)


def timeline(folder, iid):
    return json.loads((folder / ("%s.json" % iid)).read_text(encoding="utf-8"))["timeline"]


def notifications(folder, iid, channel):
    return [e for e in timeline(folder, iid) if e["details"].get("channel") == channel]


def pagerduty(dedup_key):
    try:
        return http_json("%s/_pagerduty/%s" % (SINK, dedup_key))
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
        return None


def statuspage_api(path="", key=STATUSPAGE["api_key"], method="GET"):
    req = urllib.request.Request(SP_API + path, method=method, headers={"Authorization": "OAuth %s" % key})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def statuspage_incident(iid):
    """The status page's incident of the clickview incident iid (by its metadata), as the API lists it."""
    found = [i for i in statuspage_api("/incidents") if i.get("metadata", {}).get("clickview", {}).get("incident_id") == iid]
    assert len(found) <= 1, found
    return found[0] if found else None


def arm_failure(path, times, status=503):
    http_json("%s/_fail%s" % (SINK, path), {"times": times, "status": status, "retry_after": 0}, method="PUT")


def smtp_messages(needle):
    if not SMTP_LOG.exists():
        return []
    lines = SMTP_LOG.read_text(encoding="utf-8").splitlines()
    return [m for m in (json.loads(line) for line in lines if line.strip()) if needle in m["subject"] + m["body"]]


def test_pagerduty_and_statuspage_follow_the_incident_from_declaration_to_resolution(tmp_path):
    iid = new_id()
    declare = dict(incident_response_title="Checkout down (%s)" % iid, incident_response_severity="P1",
                   incident_response_impact="checkout fails for every user")
    rc, out = incident_run("declare", tmp_path, iid, **declare)
    assert rc == 0, failures(out)
    # declaring twice (the same declaration again) never pages twice
    rc, out = incident_run("declare", tmp_path, iid, **declare)
    assert rc == 0, failures(out)
    page = pagerduty(iid)
    assert page["status"] == "triggered" and page["triggers"] == 1 and page["incidents"] == 1
    assert page["severity"] == "critical" and page["summary"] == "[P1] Checkout down (%s)" % iid

    # the status page's incident: investigating, every component in a major outage (P1), its id in the record
    public = statuspage_incident(iid)
    assert public["status"] == "investigating" and public["impact"] == "critical"
    assert {c["id"]: c["status"] for c in public["components"]} == {cid: "major_outage" for cid in STATUSPAGE["component_ids"]}
    assert iid not in public["incident_updates"][0]["body"]   # the public text, not the internal message
    created = notifications(tmp_path, iid, "status_page")
    assert len(created) == 1 and created[0]["details"]["status_page_incident"] == public["id"]

    # the runbook's "Acknowledge in PagerDuty", once
    rc, out = incident_run("acknowledge", tmp_path, iid)
    assert rc == 0, failures(out)
    assert pagerduty(iid)["status"] == "acknowledged"
    acks = [e for e in notifications(tmp_path, iid, "pager") if e["details"]["pager_action"] == "acknowledge"]
    assert len(acks) == 1 and acks[0]["event"] == "PagerDuty acknowledge sent"
    assert acks[0]["details"]["milestone"] == "acknowledged"
    rc, out = incident_run("acknowledge", tmp_path, iid)
    assert rc == 0, failures(out)
    assert [e["event_action"] for e in pagerduty(iid)["events"]] == ["trigger", "acknowledge"]

    # an update: the status page's incident moves on (mitigating is Statuspage's identified)
    rc, out = incident_run("update", tmp_path, iid, incident_response_status="mitigating",
                           incident_response_progress="failed over to the standby payment provider")
    assert rc == 0, failures(out)
    public = statuspage_incident(iid)
    assert public["status"] == "identified" and [u["status"] for u in public["incident_updates"]] == ["identified",
                                                                                                      "investigating"]
    assert "standby payment provider" not in json.dumps(public)
    # a progress note alone does not repeat itself on the public page
    rc, out = incident_run("update", tmp_path, iid, incident_response_progress="watching the error rate")
    assert rc == 0, failures(out)
    assert len(statuspage_incident(iid)["incident_updates"]) == 2

    rc, out = incident_run("resolve", tmp_path, iid, incident_response_root_cause="payment provider outage",
                           incident_response_report_dir=str(tmp_path / "reports"), **RESOLVE)
    assert rc == 0, failures(out)
    page = pagerduty(iid)
    assert page["status"] == "resolved" and page["triggers"] == 1
    assert [e["event_action"] for e in page["events"]] == ["trigger", "acknowledge", "resolve"]
    public = statuspage_incident(iid)
    assert public["status"] == "resolved" and public["resolved_at"]
    assert {c["status"] for c in public["components"]} == {"operational"}
    assert {c["id"]: c["status"] for c in statuspage_api("/components") if c["id"] in STATUSPAGE["component_ids"]} == \
        {cid: "operational" for cid in STATUSPAGE["component_ids"]}
    # resolving again sends nothing more
    rc, out = incident_run("resolve", tmp_path, iid, incident_response_root_cause="payment provider outage",
                           incident_response_report_dir=str(tmp_path / "reports"), **RESOLVE)
    assert rc == 0, failures(out)
    assert len(pagerduty(iid)["events"]) == 3 and len(statuspage_incident(iid)["incident_updates"]) == 3


def test_acknowledge_of_an_incident_never_paged_sends_nothing(tmp_path):
    iid = new_id()
    rc, out = incident_run("declare", tmp_path, iid, incident_response_title="Slow reports (%s)" % iid,
                           incident_response_severity="P3")
    assert rc == 0, failures(out)
    rc, out = incident_run("acknowledge", tmp_path, iid)
    assert rc == 0, failures(out)
    said = [t["hosts"]["localhost"]["msg"] for t in out["plays"][0]["tasks"] if "Acknowledge | Result" in t["task"]["name"]]
    assert said == ["Nothing sent: never paged (no trigger delivered): nothing to acknowledge"]
    assert pagerduty(iid) is None and statuspage_incident(iid) is None
    rc, out = incident_run("acknowledge", tmp_path, new_id())
    assert rc != 0 and any("no incident record" in m for m in failures(out))


def test_a_wrong_statuspage_key_is_reported_and_the_next_run_creates_the_incident(tmp_path):
    iid = new_id()
    declare = dict(incident_response_title="Search degraded (%s)" % iid, incident_response_severity="P2")
    rc, out = incident_run("declare", tmp_path, iid, incident_response_statuspage_api_key="not-the-key", **declare)
    assert rc != 0
    assert any("Status page set to investigating - NOT DELIVERED: HTTP 401" in m for m in failures(out)), failures(out)
    sent = notifications(tmp_path, iid, "status_page")
    assert len(sent) == 1 and sent[0]["details"]["delivered"] is False and sent[0]["details"]["status_page_incident"] == ""
    assert statuspage_incident(iid) is None
    assert pagerduty(iid)["triggers"] == 1      # the other channels were delivered

    # declared again with the right key: nothing posted again but the status page's incident, created now
    rc, out = incident_run("declare", tmp_path, iid, **declare)
    assert rc == 0, failures(out)
    public = statuspage_incident(iid)
    assert public["status"] == "investigating"
    assert {c["status"] for c in public["components"]} == {"partial_outage"}   # P2
    assert pagerduty(iid)["triggers"] == 1
    assert len([m for m in webhook_received("/chat/incidents") if iid in json.dumps(m["body"])]) == 1


def test_a_refused_page_is_recorded_as_not_delivered(tmp_path):
    iid = new_id()
    rc, out = incident_run("declare", tmp_path, iid, incident_response_title="API down (%s)" % iid,
                           incident_response_severity="P1", incident_response_pagerduty_routing_key="")
    assert rc != 0
    pages = notifications(tmp_path, iid, "pager")
    assert len(pages) == 1 and pages[0]["details"]["delivered"] is False
    assert pages[0]["event"].startswith("PagerDuty trigger sent - NOT DELIVERED: HTTP 400")
    assert pagerduty(iid) is None
    # the page comes with the next update (the routing key fixed)
    rc, out = incident_run("update", tmp_path, iid, incident_response_progress="routing key fixed")
    assert rc == 0, failures(out)
    assert pagerduty(iid)["triggers"] == 1


def test_the_sinks_pager_path_answers_like_pagerduty():
    key = new_id("DEDUP")
    accepted = http_json(SINK + "/pager", {"routing_key": "rk", "event_action": "trigger", "dedup_key": key,
                                           "payload": {"summary": "s", "source": "t", "severity": "warning"}})
    assert accepted == {"status": "success", "message": "Event processed", "dedup_key": key}
    for bad in ({"event_action": "trigger", "dedup_key": key}, {"routing_key": "rk", "event_action": "page"},
                {"routing_key": "rk", "event_action": "resolve"}):
        with pytest.raises(urllib.error.HTTPError) as refused:
            http_json(SINK + "/pager", bad)
        assert refused.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as unauthorized:
        statuspage_api("/incidents", key="wrong")
    assert unauthorized.value.code == 401


def test_chat_post_retried_after_failures_and_recorded(tmp_path):
    iid = new_id()
    path = "/chat/itest-%s" % uuid.uuid4().hex[:8]
    hooks = {"chat": SINK + path, "pager": SINK + "/pager"}
    arm_failure(path, 2)
    rc, out = incident_run("declare", tmp_path, iid, incident_response_title="Retries (%s)" % iid,
                           incident_response_severity="P4", clickview_webhooks=hooks, incident_response_webhook_retries=3)
    assert rc == 0, failures(out)
    chat = notifications(tmp_path, iid, "chat")
    assert len(chat) == 1 and chat[0]["details"]["delivered"] is True and chat[0]["details"]["attempts"] == 3
    assert chat[0]["event"] == "Initial message posted to chat"
    assert len(webhook_received(path)) == 1

    # failing longer than the retries: recorded as not delivered, and the run says so at its end
    arm_failure(path, 5)
    rc, out = incident_run("update", tmp_path, iid, incident_response_progress="still failing",
                           clickview_webhooks=hooks, incident_response_webhook_retries=1)
    assert rc != 0
    update = notifications(tmp_path, iid, "chat")[-1]
    assert update["details"]["delivered"] is False and update["details"]["attempts"] == 2
    assert update["event"].startswith("Update message posted to chat - NOT DELIVERED: HTTP 503")
    assert any("NOT DELIVERED: HTTP 503" in m for m in failures(out))
    http_json("%s/_fail%s" % (SINK, path), method="DELETE")


def test_security_notify_emails_the_security_team(tmp_path):
    sid = new_id("SEC")
    extra = dict(clickview_incident_dir=str(tmp_path / "incidents"), clickview_report_dir=str(tmp_path / "reports"),
                 security_incident_id=sid)
    rc, out = run_playbook("playbooks/security_classify.yml", extra_vars=dict(
        extra, security_incident_type="data_breach", security_incident_impact="customer emails exposed"))
    assert rc == 0, failures(out)
    started = time.time()
    rc, out = run_playbook("playbooks/security_notify.yml", extra_vars=extra)
    assert rc == 0, failures(out)
    mails = [m for m in smtp_messages(sid) if m["time"] >= started]
    assert len(mails) == 1, mails
    mail = mails[0]
    assert mail["rcpt_tos"] == ["security@clickview.app"]
    assert mail["subject"] == "[SECURITY P1] %s - Data breach (data_breach)" % sid
    assert "Incident id: %s" % sid in mail["body"] and "Classification: Data breach (data_breach)" in mail["body"]
    assert "SECURITY ALERT" in mail["body"]
    emails = [e for e in timeline(tmp_path / "incidents", sid) if e["details"].get("channel") == "email"]
    assert len(emails) == 1 and emails[0]["event"] == "Security email sent to security@clickview.app"
    assert emails[0]["details"]["delivered"] is True
    assert pagerduty(sid)["triggers"] == 1    # paged once, by classify; notify did not page again

    # a relay that does not answer: the email is recorded as not delivered and the run reports it
    rc, out = run_playbook("playbooks/security_notify.yml", extra_vars=dict(
        extra, clickview_smtp={"host": "127.0.0.1", "port": 9, "starttls": False, "sender": "runbook@clickview.lab"},
        security_incident_email_retries=0))
    assert rc != 0
    emails = [e for e in timeline(tmp_path / "incidents", sid) if e["details"].get("channel") == "email"]
    assert emails[-1]["details"]["delivered"] is False
    assert emails[-1]["event"].startswith("Security email sent to security@clickview.app - NOT DELIVERED: cannot connect")
    assert any("Security email sent to security@clickview.app - NOT DELIVERED" in m for m in failures(out))
