"""plugins/filter/alert_incident.py: a P1/P2 alert-started run declares its incident once, or joins the open one."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.filter.alert_incident import alert_incident  # noqa: E402

ALERT = {"alertname": "HighErrorRate", "severity": "P2", "fingerprint": "3f9c2a1b44d0e8aa",
         "starts_at": "2026-12-06T16:15:03.481516012Z", "summary": "Error rate 6.1% is above 5 %",
         "labels": {"alertname": "HighErrorRate", "severity": "P2"}}


def record(incident_id, status="investigating", fingerprint=ALERT["fingerprint"]):
    details = {"severity": "P2", "alert_fingerprint": fingerprint} if fingerprint else {"severity": "P2"}
    return {"id": incident_id, "status": status, "timeline": [{"event": "Incident declared", "details": details}]}


def test_first_run_declares_from_the_alert():
    out = alert_incident(ALERT, [])
    assert out["action"] == "declare"
    assert out["incident_id"] == "INC-20261206-161503-higherrorrate-3f9c2a1b44d0"
    assert out["severity"] == "P2" and out["alert"] == "HighErrorRate" and out["title"] == ALERT["summary"]
    assert out["declared_at"] == "2026-12-06T16:15:03Z"
    assert out["details"] == {"alert_fingerprint": ALERT["fingerprint"], "alert_starts_at": ALERT["starts_at"]}


def test_open_incident_of_the_same_fingerprint_is_joined():
    out = alert_incident(ALERT, [record("INC-old", fingerprint="other"), record("INC-open")])
    assert out == {"action": "join", "incident_id": "INC-open",
                   "reason": "the open incident INC-open of the same alert (fingerprint 3f9c2a1b44d0e8aa)"}


def test_resolved_incident_is_not_joined_and_its_id_not_reused():
    first = alert_incident(ALERT, [])["incident_id"]
    out = alert_incident(ALERT, [record(first, status="resolved")])
    assert out["action"] == "declare" and out["incident_id"] == first + "-r2"
    assert alert_incident(ALERT, [record(first, "resolved"), record(first + "-r2", "resolved")])["incident_id"] == first + "-r3"


def test_racing_runs_of_one_firing_arrive_at_one_id():
    assert alert_incident(ALERT, [])["incident_id"] == alert_incident(dict(ALERT), [record("INC-x", fingerprint="y")])["incident_id"]


@pytest.mark.parametrize("severity", ["P3", "P4", ""])
def test_lower_severities_run_without_an_incident(severity):
    out = alert_incident(dict(ALERT, severity=severity, labels={}), [])
    assert out["action"] == "none" and out["incident_id"] == ""


def test_severity_from_the_labels_and_lower_case():
    assert alert_incident(dict(ALERT, severity="", labels={"severity": "p1"}), [])["action"] == "declare"


@pytest.mark.parametrize("alert", [None, "", {}, {"alertname": "HighErrorRate", "severity": "P1"}])
def test_no_alert_or_no_fingerprint_is_none(alert):
    assert alert_incident(alert, [])["action"] == "none"


def test_the_callers_incident_id_wins():
    assert alert_incident(ALERT, [record("INC-open")], incident_id="INC-mine") == {
        "action": "given", "incident_id": "INC-mine", "reason": "the incident id given by the caller"}


def test_unparseable_start_still_gives_a_valid_id():
    out = alert_incident(dict(ALERT, starts_at="yesterday", alertname="Disk Space/Low!"), [])
    assert out["incident_id"] == "INC-unknown-disk-space-low-3f9c2a1b44d0" and out["declared_at"] == ""
