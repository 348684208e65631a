"""module_utils behind the security_incident and post_incident_review roles: the evidence manifest
(seal, verify, tamper detection), the CloudWatch window checks, the PIR data."""
import datetime
import hashlib

import pytest

from ansible_collections.clickview.runbook.plugins.module_utils import cloudwatch_logs as cw
from ansible_collections.clickview.runbook.plugins.module_utils import evidence_manifest as em
from ansible_collections.clickview.runbook.plugins.module_utils import pir


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "pod-logs").mkdir()
    (tmp_path / "pod-logs" / "a.log").write_text("line\n")
    (tmp_path / "audit-trail.json").write_text("{}")
    return tmp_path


def test_manifest_is_sha256sum_format_and_verifies(bundle):
    result = em.create(str(bundle), metadata={"incident_id": "SEC-1"})
    assert result["changed"]
    text = (bundle / "MANIFEST.sha256").read_text()
    assert text == ("%s  audit-trail.json\n%s  pod-logs/a.log\n"
                    % (hashlib.sha256(b"{}").hexdigest(), hashlib.sha256(b"line\n").hexdigest()))
    assert em.verify(str(bundle))["verified"]
    assert not em.create(str(bundle))["changed"]          # sealing again: unchanged


def test_manifest_detects_change_removal_and_addition(bundle):
    em.create(str(bundle))
    (bundle / "audit-trail.json").write_text('{"x": 1}')
    (bundle / "pod-logs" / "a.log").unlink()
    (bundle / "extra.txt").write_text("planted")
    result = em.verify(str(bundle))
    assert (result["verified"], result["mismatched"], result["missing"], result["unexpected"]) == (
        False, ["audit-trail.json"], ["pod-logs/a.log"], ["extra.txt"])
    with pytest.raises(em.ManifestError, match="already exists with other content"):
        em.create(str(bundle))


def test_manifest_check_mode_and_empty_bundle(tmp_path, bundle):
    em.create(str(bundle), check_mode=True)
    assert not (bundle / "MANIFEST.sha256").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(em.ManifestError, match="holds no files"):
        em.create(str(empty))


def test_window_checks():
    now = datetime.datetime(2025, 1, 31, 14, 0, tzinfo=datetime.timezone.utc)
    assert cw.check_window("2025-01-31T13:00:00Z", "2025-01-31T14:00:00Z", now=now)
    with pytest.raises(cw.WindowError, match="reversed"):
        cw.check_window("2025-01-31T14:00:00Z", "2025-01-31T13:00:00Z", now=now)
    with pytest.raises(cw.WindowError, match="in the future"):
        cw.check_window("2025-01-31T13:00:00Z", "2025-01-31T15:00:00Z", now=now)
    with pytest.raises(cw.WindowError, match="start_time"):
        cw.check_window("an hour ago", "2025-01-31T14:00:00Z", now=now)


def test_pir_sorts_events_and_computes_durations():
    record = {"id": "INC-1", "title": "t", "severity": "P2", "status": "resolved", "impact": "", "alert": None,
              "declared_at": "2025-01-31T10:00:00Z", "resolved_at": "2025-01-31T11:30:00Z",
              "action_items": ["Add a canary @eng-lead", "Alert sooner"],
              "timeline": [
                  {"at": "2025-01-31T10:00:00Z", "kind": "status", "source": "s", "event": "Incident declared: t (P2)", "details": {}},
                  {"at": "2025-01-31T10:30:00Z", "kind": "action", "source": "s", "event": "Rolled back", "details": {}},
                  {"at": "2025-01-31T10:10:00Z", "kind": "finding", "source": "s", "event": "Cause found",
                   "details": {"milestone": "root_cause"}},
                  {"at": "2025-01-31T11:30:00Z", "kind": "status", "source": "s", "event": "Incident resolved", "details": {}},
                  {"at": "2025-01-31T11:40:00Z", "kind": "action", "source": "s", "event": "PIR drafted", "details": {"pir": "x"}},
              ]}
    doc = pir.document(record, now=datetime.datetime(2025, 2, 1, tzinfo=datetime.timezone.utc))
    assert [e["event"] for e in doc["timeline"]] == ["Incident declared: t (P2)", "Cause found", "Rolled back", "Incident resolved"]
    assert doc["duration_human"] == "1h 30m" and doc["review_due"] == "2025-02-02T11:30:00Z"
    assert {m["key"]: m["elapsed"] for m in doc["milestones"]} == {
        "alert": "+0s", "acknowledged": "+0s", "root_cause": "+10m", "mitigation": "+30m", "restored": "+1h 30m"}
    assert [(i["owner"], i["due"]) for i in doc["action_items"]] == [("@eng-lead", "2025-02-14"), ("@owner", "2025-02-14")]
    with pytest.raises(pir.PirError, match="not resolved"):
        pir.document(dict(record, status="mitigating", resolved_at=None))
