"""The weekly on-call handoff against the lab: incidents of the shift from the records (with
durations), open action items, alerts that fired, WAF blocks and certificates expiring within
the week, the current health; posted to the chat when asked."""
import datetime
import json
import subprocess
import uuid
import xml.etree.ElementTree as ET

import pytest

from conftest import LAB, ROOT, active_alerts, aws_client, lab_url, run_playbook, run_tasks, wait_until

PLAYBOOK = "playbooks/oncall_handoff.yml"


def iso_ago(hours_ago):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def record(incident_id, severity, declared_hours_ago, resolved_hours_ago=None, action_items=()):
    declared = iso_ago(declared_hours_ago)
    resolved = iso_ago(resolved_hours_ago) if resolved_hours_ago is not None else None
    return {"schema_version": 1, "id": incident_id, "title": f"test {incident_id}", "severity": severity,
            "status": "resolved" if resolved else "investigating", "impact": "", "alert": None,
            "declared_at": declared, "updated_at": resolved or declared, "resolved_at": resolved,
            "duration_seconds": int((declared_hours_ago - resolved_hours_ago) * 3600) if resolved else None,
            "next_update_at": None, "root_cause": None, "follow_up": None, "action_items": list(action_items),
            "timeline": []}


@pytest.fixture
def incidents(tmp_path):
    folder = tmp_path / "incidents"
    folder.mkdir()
    records = [
        record("INC-SHIFT-RESOLVED", "P1", declared_hours_ago=30, resolved_hours_ago=28.5, action_items=["Add a canary gate"]),
        record("INC-OLD-OPEN", "P3", declared_hours_ago=240),          # before the shift, still open: inherited
        record("INC-OLD-RESOLVED", "P2", declared_hours_ago=300, resolved_hours_ago=299),   # not this shift
    ]
    for rec in records:
        (folder / f"{rec['id']}.json").write_text(json.dumps(rec))
    return folder


def declare_shift_open(folder):
    """INC-SHIFT-OPEN, written by the collection's own module, so the format cannot drift."""
    return {"clickview.runbook.incident": {"incident_dir": str(folder), "incident_id": "INC-SHIFT-OPEN",
                                           "action": "declare", "title": "Checkout errors", "severity": "P2"}}


@pytest.fixture
def ip_set():
    waf = aws_client("wafv2")
    name = f"handoff-{uuid.uuid4().hex[:8]}"
    summary = waf.create_ip_set(Name=name, Scope="REGIONAL", IPAddressVersion="IPV4", Addresses=[])["Summary"]
    yield name
    lock = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=summary["Id"])["LockToken"]
    waf.delete_ip_set(Name=name, Scope="REGIONAL", Id=summary["Id"], LockToken=lock)


def block(name, address, expire_after):
    aws = LAB["aws"]
    return {"clickview.runbook.waf_block_ip": {
        "ip_sets": [name], "addresses": [address], "expire_after": expire_after, "scope": "REGIONAL",
        "region": aws["region"], "endpoint_url": lab_url("moto"), "access_key": aws["access_key"],
        "secret_key": aws["secret_key"]}}


@pytest.fixture
def short_certificate():
    kubectl = [str(ROOT / ".tools" / "bin" / "kubectl"), "--kubeconfig", str(ROOT / "lab" / ".state" / "kubeconfig"), "-n", "clickview"]
    manifest = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "handoff-short"},
                "spec": {"secretName": "handoff-short-tls", "duration": "72h", "dnsNames": ["short.clickview.lab"],
                         "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}}}
    subprocess.run(kubectl + ["apply", "-f", "-"], input=json.dumps(manifest), text=True, check=True, capture_output=True)
    yield "handoff-short"
    subprocess.run(kubectl + ["delete", "certificate", "handoff-short", "--ignore-not-found"], check=False, capture_output=True)
    subprocess.run(kubectl + ["delete", "secret", "handoff-short-tls", "--ignore-not-found"], check=False, capture_output=True)


@pytest.fixture
def backend_down_fired(sample_app_faults):
    sample_app_faults(healthy=False)
    wait_until(lambda: "BackendDown" in active_alerts(), 90, "BackendDown to fire")
    sample_app_faults()


def test_handoff_report(tmp_path, incidents, ip_set, short_certificate, backend_down_fired, webhook_messages):
    # one ansible-playbook for the set-up done through the collection's modules
    results = run_tasks([declare_shift_open(incidents), block(ip_set, "203.0.113.50", "2d"),
                         block(ip_set, "203.0.113.51", "30d")])
    assert not any(r.get("failed") for r in results) and all(r.get("changed") for r in results), results
    # health checks of earlier days left their reports in the folder: the handoff draws each figure's week
    for days_ago, value in ((5, 41.0), (2, 87.5)):
        stamp = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)).strftime("%Y%m%dT%H%M%SZ")
        (tmp_path / ("health-check-local-%s.json" % stamp)).write_text(json.dumps({"kind": "health-check", "checks": [
            {"check": "itest.earlier", "target": "earlier runs", "status": "OK", "figure": "%s %%" % value, "threshold": "",
             "detail": "", "value": value, "unit": "%"}]}))
    rc, output = run_playbook(PLAYBOOK, json_output=False, extra_vars={
        "on_call_report_dir": str(tmp_path), "clickview_incident_dir": str(incidents),
        "clickview_waf_ip_sets": {"ipv4": ip_set}, "on_call_handoff_post": True})
    assert rc == 0, output[-4000:]
    report = json.loads((tmp_path / "handoff-local-latest.json").read_text())

    listed = {i["id"]: i for i in report["incidents"]["list"]}
    assert set(listed) == {"INC-SHIFT-RESOLVED", "INC-SHIFT-OPEN", "INC-OLD-OPEN"}
    assert (report["incidents"]["declared"], report["incidents"]["resolved"], report["incidents"]["open"]) == (2, 1, 2)
    assert listed["INC-SHIFT-RESOLVED"]["duration_seconds"] == 5400 and listed["INC-SHIFT-RESOLVED"]["severity"] == "P1"
    assert listed["INC-SHIFT-OPEN"]["severity"] == "P2" and listed["INC-SHIFT-OPEN"]["status"] == "investigating"
    assert [(e["incident"], [(i["number"], i["text"], i["owner"], i["status"]) for i in e["items"]])
            for e in report["open_action_items"]] == [("INC-SHIFT-RESOLVED", [(1, "Add a canary gate", None, "open")])]
    assert "BackendDown" in report["alerts_fired"]
    assert [b["address"] for b in report["waf_blocks_expiring"]] == ["203.0.113.50/32"]
    assert [c["name"] for c in report["certificates_expiring"]] == ["handoff-short"]   # clickview-tls has 90 days
    assert report["health"]["overall"] in ("OK", "WARN", "FAIL")
    # JUnit for CI: what the next shift must pick up warns, then each health check's own case
    junit = ET.parse(tmp_path / "handoff-local-latest.junit.xml").getroot()
    cases = {case.get("name"): case for case in junit.iter("testcase")}
    assert cases["handoff.open_incidents the next shift"].find("skipped").get("message").startswith("WARN: 2: ")
    assert "handoff-short" in cases["handoff.certificates_expiring the next shift"].find("skipped").get("message")
    assert len(cases) == len(report["checks"]) and any(name.startswith("api.health ") for name in cases)

    # the week of each figure: the earlier reports' days, and today's figures from this run's own health check
    trends = {(t["check"], t["target"]): t for t in report["trends"]["rows"]}
    earlier = trends[("itest.earlier", "earlier runs")]
    assert earlier["values"] == [None, 41.0, None, None, 87.5, None, None] and earlier["sparkline"] == " ▄  █  "
    (own,) = [p for p in tmp_path.glob("health-check-local-*.json")
              if p.name != "health-check-local-latest.json" and "itest.earlier" not in p.read_text()]
    measured = [c for c in json.loads(own.read_text())["checks"] if isinstance(c.get("value"), (int, float))]
    assert len(measured) >= 5, measured
    for check in measured:
        assert trends[(check["check"], check["target"])]["values"][-1] == check["value"], check
    assert report["trends"]["reports"] == 3 and report["trends"]["skipped"] == []

    markdown = (tmp_path / "handoff-local-latest.md").read_text()
    assert "| P1 | INC-SHIFT-RESOLVED: test INC-SHIFT-RESOLVED | resolved |" in markdown and "| 90 min |" in markdown
    assert "## Health-check figures over the last 7 days (3 stored reports, the last of each day)" in markdown
    assert "| `itest.earlier` | earlier runs | ` ▄  █  ` | 87.5 % | 41 – 87.5 % |" in markdown
    assert "- [ ] Add a canary gate (INC-SHIFT-RESOLVED #1, owner unknown, due " in markdown
    posted = webhook_messages("/chat/incidents")
    assert any("On-call handoff (local)" in str(body) and "2 declared, 1 resolved, 2 open" in str(body) for body in posted)


def test_handoff_with_no_records_and_no_post(tmp_path, webhook_messages):
    empty = tmp_path / "none"
    empty.mkdir()
    rc, output = run_playbook(PLAYBOOK, json_output=False, extra_vars={
        "on_call_report_dir": str(tmp_path), "clickview_incident_dir": str(empty)})
    assert rc == 0, output[-3000:]
    assert " changed=0 " in output.split("PLAY RECAP")[-1], "a handoff that posts nothing changes nothing"
    report = json.loads((tmp_path / "handoff-local-latest.json").read_text())
    assert report["incidents"] == {"declared": 0, "resolved": 0, "open": 0, "list": []}
    assert not [body for body in webhook_messages("/chat/incidents") if "On-call handoff" in str(body)], \
        "nothing is posted unless on_call_handoff_post is true"


def test_handoff_post_that_fails_says_why_without_the_token(tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    token = "handoff-token-" + uuid.uuid4().hex
    rc, output = run_playbook(PLAYBOOK, json_output=False, extra_vars={
        "on_call_report_dir": str(tmp_path), "clickview_incident_dir": str(empty), "on_call_handoff_post": True,
        "clickview_webhooks": {"chat": "http://127.0.0.1:9/hooks/" + token}})
    assert rc != 0
    assert "Handoff summary not posted to chat: no answer" in output, output[-3000:]
    assert token not in output
    assert (tmp_path / "handoff-local-latest.json").exists()   # the report is written before the failure
