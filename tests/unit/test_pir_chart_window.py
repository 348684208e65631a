"""pir_chart_window: the stretch of the error ratio a Post-Incident Review draws, and its marks."""
import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.pir_chart_window import pir_chart_window
from ansible_collections.clickview.runbook.plugins.module_utils import pir

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def epoch(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def doc(resolved="2026-12-07T10:40:00Z", alert="2026-12-07T09:58:00Z"):
    return {"started_at": "2026-12-07T10:00:00Z", "resolved_at": resolved,
            "milestones": [{"key": "alert", "name": "Alert triggered", "at": alert},
                           {"key": "acknowledged", "name": "On-call acknowledged", "at": "2026-12-07T10:00:00Z"},
                           {"key": "root_cause", "name": "Root cause identified", "at": None},
                           {"key": "mitigation", "name": "Mitigation applied", "at": "2026-12-07T10:12:00Z"},
                           {"key": "restored", "name": "Service restored", "at": resolved}]}


def test_from_before_the_alert_to_after_the_resolution_with_the_recorded_milestones():
    window = pir.chart_window(doc(), now=NOW)
    assert window["start"] == epoch("2026-12-07T09:43:00Z") and window["end"] == epoch("2026-12-07T10:55:00Z")
    assert window["step"] == 37      # 72 minutes over 119 intervals, rounded up
    labels = [m["label"] for m in window["markers"]]
    assert labels == ["Alert triggered", "On-call acknowledged", "Mitigation applied", "Service restored"]


def test_an_open_incident_ends_now_and_never_in_the_future():
    window = pir.chart_window(doc(resolved=None), now=datetime.datetime(2026, 12, 7, 10, 20, tzinfo=UTC))
    assert window["end"] == epoch("2026-12-07T10:20:00Z")
    recent = pir.chart_window(doc(), now=datetime.datetime(2026, 12, 7, 10, 45, tzinfo=UTC))
    assert recent["end"] == epoch("2026-12-07T10:45:00Z")


def test_a_short_incident_keeps_the_smallest_step():
    short = {"started_at": "2026-12-07T10:00:00Z", "resolved_at": "2026-12-07T10:01:00Z",
             "milestones": [{"name": "Alert triggered", "at": None}, {"name": "Service restored", "at": "2026-12-07T10:01:00Z"}]}
    window = pir.chart_window(short, margin_minutes=1, now=NOW)
    assert window["end"] - window["start"] == 180 and window["step"] == 15
    assert window["markers"] == [{"at": "2026-12-07T10:01:00Z", "label": "Service restored"}]


def test_bad_arguments_and_input_are_named():
    with pytest.raises(AnsibleFilterError, match="points >= 2"):
        pir_chart_window(doc(), points=1)
    with pytest.raises(AnsibleFilterError, match="must be a review from pir_document"):
        pir_chart_window({"milestones": []})
    with pytest.raises(AnsibleFilterError, match="started_at"):
        pir_chart_window({"started_at": "yesterday"})
