"""post_incident_review: the runbook's PIR from a recorded incident - timeline in time order (even
when events were recorded out of order), durations computed, milestones, action items with owner
and due date, review due 48 h after resolution; unknown or open incidents refused; check mode
writes nothing."""
import json

import pytest

from conftest import run_playbook, run_tasks

PLAYBOOK = "playbooks/post_incident_review.yml"


def event(at, kind, text, **details):
    return {"at": at, "kind": kind, "source": "test", "event": text, "details": details}


@pytest.fixture
def folders(tmp_path):
    incidents = tmp_path / "incidents"
    incidents.mkdir()
    return incidents, tmp_path / "reports"


def write_record(incidents, incident_id, resolved=True):
    timeline = [
        event("2025-03-04T10:00:00Z", "status", "Incident declared: Login API under attack (P1)", severity="P1"),
        event("2025-03-04T10:04:00Z", "notification", "Initial message posted to chat", channel="chat"),
        # recorded late, happened earlier than the block: the PIR sorts by time
        event("2025-03-04T10:20:00Z", "status", "Status changed from investigating to identified", status="identified"),
        event("2025-03-04T10:12:30Z", "action", "Blocked 1 address(es) at the WAF", step="block"),
        event("2025-03-04T10:15:00Z", "action", "Progress: keys revoked"),
    ]
    if resolved:
        timeline.append(event("2025-03-04T11:22:00Z", "status", "Incident resolved after 1h 22m"))
    rec = {"schema_version": 1, "id": incident_id, "title": "Login API under attack", "severity": "P1",
           "status": "resolved" if resolved else "mitigating", "impact": "logins of 40 customers", "alert": "Security: Active attack",
           "declared_at": "2025-03-04T10:00:00Z", "updated_at": "2025-03-04T11:22:00Z",
           "resolved_at": "2025-03-04T11:22:00Z" if resolved else None, "duration_seconds": 4920 if resolved else None,
           "next_update_at": None, "root_cause": "stolen session tokens replayed" if resolved else None, "follow_up": None,
           "action_items": ["Rate-limit the login API @security-lead", "Alert on logins from new ASNs"] if resolved else [],
           "timeline": timeline}
    (incidents / f"{incident_id}.json").write_text(json.dumps(rec))


def run(folders, incident_id, check=False, **extra):
    incidents, reports = folders
    return run_playbook(PLAYBOOK, check=check, extra_vars=dict(
        clickview_incident_dir=str(incidents), clickview_report_dir=str(reports), post_incident_review_id=incident_id, **extra))


def failed_msgs(out):
    return [str(t["hosts"]["localhost"].get("msg")) for p in out["plays"] for t in p["tasks"]
            if t["hosts"].get("localhost", {}).get("failed")]


def test_pir_from_recorded_incident(folders):
    incidents, reports = folders
    write_record(incidents, "INC-PIR-1")
    rc, out = run(folders, "INC-PIR-1", post_incident_review_action_items=[
        {"action": "Alert on logins from new ASNs", "owner": "@sre-oncall", "due": "2025-03-10"},
        {"action": "Rotate the session signing key", "owner": "@security-lead"}])
    assert rc == 0, failed_msgs(out)
    doc = json.loads((reports / "pir" / "INC-PIR-1-pir.json").read_text())
    assert doc["duration_seconds"] == 4920 and doc["duration_human"] == "1h 22m"
    assert doc["review_due"] == "2025-03-06T11:22:00Z"          # 48 h after resolution
    times = [e["at"] for e in doc["timeline"]]
    assert times == sorted(times)
    assert [e["event"][:12] for e in doc["timeline"]][:5] == [
        "Incident dec", "Initial mess", "Blocked 1 ad", "Progress: ke", "Status chang"]
    assert [e["elapsed"] for e in doc["timeline"]] == ["+0s", "+4m", "+12m 30s", "+15m", "+20m", "+1h 22m"]
    milestones = {m["key"]: (m["time"], m["elapsed"]) for m in doc["milestones"]}
    # no PagerDuty acknowledgement in this record: the declaration is the acknowledgement, said so (not the chat post)
    assert milestones == {"alert": ("10:00", "+0s"), "acknowledged": ("10:00", "+0s"), "root_cause": ("10:20", "+20m"),
                          "mitigation": ("10:12", "+12m 30s"), "restored": ("11:22", "+1h 22m")}
    items = {i["action"]: (i["owner"], i["due"], i["status"]) for i in doc["action_items"]}
    assert items == {"Rate-limit the login API @security-lead": ("@security-lead", "2025-03-18", "Open"),
                     "Alert on logins from new ASNs": ("@sre-oncall", "2025-03-10", "Open"),
                     "Rotate the session signing key": ("@security-lead", "2025-03-18", "Open")}

    markdown = (reports / "pir" / "INC-PIR-1-pir.md").read_text()
    for heading in ("# Post-Incident Review: INC-PIR-1", "## Incident Summary", "## Timeline", "## Root Cause Analysis",
                    "## What Went Well", "## What Needs Improvement", "## Action Items", "## Lessons Learned"):
        assert heading in markdown
    assert "- **Duration**: 1h 22m" in markdown and "- **Severity**: P1" in markdown
    assert "| 10:12 | +12m 30s | Mitigation applied - Blocked 1 address(es) at the WAF |" in markdown
    assert "| Alert on logins from new ASNs | @sre-oncall | 2025-03-10 | Open |" in markdown
    recorded = markdown.split("### Recorded events", 1)[1]
    assert recorded.index("Blocked 1 address") < recorded.index("Status changed from investigating")

    drafted = [e for e in json.loads((incidents / "INC-PIR-1.json").read_text())["timeline"] if "pir" in e["details"]]
    assert len(drafted) == 1 and drafted[0]["details"]["review_due"] == "2025-03-06T11:22:00Z"
    # again: the same document, no second timeline event
    rc, out = run(folders, "INC-PIR-1", post_incident_review_action_items=[
        {"action": "Alert on logins from new ASNs", "owner": "@sre-oncall", "due": "2025-03-10"},
        {"action": "Rotate the session signing key", "owner": "@security-lead"}])
    assert rc == 0, failed_msgs(out)
    assert (reports / "pir" / "INC-PIR-1-pir.md").read_text() == markdown
    assert len([e for e in json.loads((incidents / "INC-PIR-1.json").read_text())["timeline"] if "pir" in e["details"]]) == 1


def test_pir_from_a_record_written_by_the_modules(folders):
    incidents, reports = folders
    base = {"incident_dir": str(incidents), "incident_id": "INC-PIR-LIVE"}
    results = run_tasks([   # one ansible-playbook: declare, record an action, resolve
        {"clickview.runbook.incident": dict(base, action="declare", title="t", severity="P2",
                                            declared_at="2025-03-04T09:00:00Z")},
        {"clickview.runbook.incident_event": dict(base, event="Rolled back", kind="action")},
        {"clickview.runbook.incident": dict(base, action="resolve", root_cause="bad release")}])
    assert not any(r.get("failed") for r in results), results
    rc, out = run(folders, "INC-PIR-LIVE")
    assert rc == 0, failed_msgs(out)
    doc = json.loads((reports / "pir" / "INC-PIR-LIVE-pir.json").read_text())
    rec = json.loads((incidents / "INC-PIR-LIVE.json").read_text())
    assert doc["duration_seconds"] == rec["duration_seconds"]
    assert [m["key"] for m in doc["milestones"] if m["at"]] == ["alert", "acknowledged", "mitigation", "restored"]


@pytest.mark.parametrize("case,expected", [
    ("missing", "post_incident_review_id: no incident record INC-PIR-NONE"),
    ("open", "is not resolved (status mitigating)"),
])
def test_pir_refuses_unknown_or_open_incident(folders, case, expected):
    incidents, reports = folders
    write_record(incidents, "INC-PIR-OPEN", resolved=False)
    rc, out = run(folders, "INC-PIR-NONE" if case == "missing" else "INC-PIR-OPEN")
    assert rc != 0
    assert any(expected in m for m in failed_msgs(out)), failed_msgs(out)
    assert not (reports / "pir").exists()


def test_pir_check_mode_writes_nothing(folders):
    incidents, reports = folders
    write_record(incidents, "INC-PIR-CHK")
    before = (incidents / "INC-PIR-CHK.json").read_text()
    rc, out = run(folders, "INC-PIR-CHK", check=True)
    assert rc == 0, failed_msgs(out)
    assert not (reports / "pir").exists()
    assert (incidents / "INC-PIR-CHK.json").read_text() == before
