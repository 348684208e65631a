"""The weekly on-call handoff against the lab: incidents of the shift from the records (with
durations), open action items, alerts that fired, WAF blocks and certificates expiring within
the week, the current health; posted to the chat when asked."""
import datetime
import json
import subprocess
import time
import urllib.request
import uuid

import boto3
import pytest

from conftest import ROOT, run_module, run_playbook

PLAYBOOK = "playbooks/oncall_handoff.yml"


def iso(delta_hours):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=delta_hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def record(incident_id, severity, declared_hours_ago, resolved_hours_ago=None, action_items=()):
    declared = iso(-declared_hours_ago)
    resolved = iso(-resolved_hours_ago) if resolved_hours_ago is not None else None
    return {"schema_version": 1, "id": incident_id, "title": f"test {incident_id}", "severity": severity,
            "status": "resolved" if resolved else "investigating", "impact": "", "alert": None,
            "declared_at": declared, "updated_at": resolved or declared, "resolved_at": resolved,
            "duration_seconds": int((declared_hours_ago - resolved_hours_ago) * 3600) if resolved else None,
            "next_update_at": None, "root_cause": None, "follow_up": None, "action_items": list(action_items),
            "timeline": []}


def http(url, body=None, method=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)


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
    # and one written by the collection's own module, so the format cannot drift
    result = run_module("clickview.runbook.incident", {
        "incident_dir": str(folder), "incident_id": "INC-SHIFT-OPEN", "action": "declare",
        "title": "Checkout errors", "severity": "P2"})
    assert not result.get("failed"), result
    return folder


@pytest.fixture
def ip_set(lab):
    aws = lab["aws"]
    waf = boto3.client("wafv2", region_name=aws["region"], aws_access_key_id=aws["access_key"],
                       aws_secret_access_key=aws["secret_key"],
                       endpoint_url=f"http://127.0.0.1:{lab['services']['moto']['port']}")
    name = f"handoff-{uuid.uuid4().hex[:8]}"
    summary = waf.create_ip_set(Name=name, Scope="REGIONAL", IPAddressVersion="IPV4", Addresses=[])["Summary"]
    yield name
    lock = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=summary["Id"])["LockToken"]
    waf.delete_ip_set(Name=name, Scope="REGIONAL", Id=summary["Id"], LockToken=lock)


def block(name, address, expire_after):
    result = run_module("clickview.runbook.waf_block_ip", {
        "ip_sets": [name], "addresses": [address], "expire_after": expire_after, "scope": "REGIONAL",
        "region": "us-east-1", "endpoint_url": "http://127.0.0.1:15000", "access_key": "testing", "secret_key": "testing"})
    assert result.get("changed"), result


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
def backend_down_fired(lab):
    app = f"http://127.0.0.1:{lab['services']['sample_app']['port']}/admin/faults"
    alerts = f"http://127.0.0.1:{lab['services']['alertmanager']['port']}/api/v2/alerts?active=true"
    http(app, {"healthy": False}, "POST")
    try:
        deadline = time.monotonic() + 90
        while not any(a["labels"]["alertname"] == "BackendDown" for a in http(alerts)):
            assert time.monotonic() < deadline, "BackendDown never fired"
            time.sleep(1)
    finally:
        http(app, {}, "POST")


def test_handoff_report(tmp_path, lab, incidents, ip_set, short_certificate, backend_down_fired):
    block(ip_set, "203.0.113.50", "2d")
    block(ip_set, "203.0.113.51", "30d")
    sink = f"http://127.0.0.1:{lab['services']['webhook_sink']['port']}/_received?path=/chat/incidents"
    before = len(http(sink))
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
    assert {"incident": "INC-SHIFT-RESOLVED", "items": ["Add a canary gate"]} in report["open_action_items"]
    assert "BackendDown" in report["alerts_fired"]
    assert [b["address"] for b in report["waf_blocks_expiring"]] == ["203.0.113.50/32"]
    assert [c["name"] for c in report["certificates_expiring"]] == ["handoff-short"]   # clickview-tls has 90 days
    assert report["health"]["overall"] in ("OK", "WARN", "FAIL")

    markdown = (tmp_path / "handoff-local-latest.md").read_text()
    assert "| P1 | INC-SHIFT-RESOLVED: test INC-SHIFT-RESOLVED | resolved |" in markdown and "| 90 min |" in markdown
    assert "- [ ] Add a canary gate (INC-SHIFT-RESOLVED)" in markdown
    posted = http(sink)[before:]
    assert any("On-call handoff (local)" in str(p["body"]) and "2 declared, 1 resolved, 2 open" in str(p["body"]) for p in posted)


def test_handoff_with_no_records_and_no_post(tmp_path, lab):
    empty = tmp_path / "none"
    empty.mkdir()
    sink = f"http://127.0.0.1:{lab['services']['webhook_sink']['port']}/_received?path=/chat/incidents"
    before = len(http(sink))
    rc, output = run_playbook(PLAYBOOK, json_output=False, extra_vars={
        "on_call_report_dir": str(tmp_path), "clickview_incident_dir": str(empty)})
    assert rc == 0, output[-3000:]
    report = json.loads((tmp_path / "handoff-local-latest.json").read_text())
    assert report["incidents"] == {"declared": 0, "resolved": 0, "open": 0, "list": []}
    assert len(http(sink)) == before, "nothing is posted unless on_call_handoff_post is true"
