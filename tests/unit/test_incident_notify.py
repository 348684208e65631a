"""plugins/module_utils/incident_notify.py: what each step of an incident sends to PagerDuty and the status page."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.notify_plan import notify_plan as notify_plan_filter
from ansible_collections.clickview.runbook.plugins.filter.pagerduty_event import pagerduty_event as pagerduty_filter
from ansible_collections.clickview.runbook.plugins.filter.statuspage_request import statuspage_request as statuspage_filter
from ansible_collections.clickview.runbook.plugins.module_utils import incident_notify as n

PAGES = ["P1", "P2"]


def pager(action, delivered=True):
    return {"kind": "notification", "event": "PagerDuty %s sent" % action,
            "details": {"channel": "pager", "pager_action": action, "delivered": delivered, "status_page_status": ""}}


def status_page(status, incident="sp1", delivered=True, severity="P2"):
    return {"kind": "notification", "event": "Status page set to %s" % status,
            "details": {"channel": "status_page", "pager_action": "", "status_page_status": status, "delivered": delivered,
                        "status_page_incident": incident if delivered else "", "status_page_severity": severity}}


def record(severity="P2", status="investigating", timeline=()):
    return {"id": "INC-1", "title": "API errors", "severity": severity, "status": status, "impact": "30 % of calls",
            "alert": "High Error Rate", "timeline": list(timeline)}


def plan(rec, step, changed=True):
    return n.notify_plan(rec, step, changed=changed, page_severities=PAGES, status_page_severities=PAGES)


# ---- the pager: one incident, one page ---------------------------------------------------------------------------

def test_declare_triggers_and_opens_the_status_page():
    out = plan(record(), "declare")
    assert out["chat"] is True and out["pager_action"] == "trigger"
    assert out["status_page"] == {"action": "create", "status": "investigating", "incident": ""}


def test_a_second_declare_after_a_delivered_trigger_never_pages_again():
    rec = record(timeline=[pager("trigger"), status_page("investigating")])
    for changed in (False, True):
        out = plan(rec, "declare", changed=changed)
        assert out["pager_action"] == "" and out["reason"] == "already paged"
    assert plan(rec, "declare", changed=False)["status_page"]["action"] == ""
    assert plan(rec, "declare", changed=False)["chat"] is False


@pytest.mark.parametrize("delivered", [False, "False", "false"])
def test_a_trigger_that_was_not_delivered_is_sent_again(delivered):
    rec = record(timeline=[pager("trigger", delivered=delivered)])
    assert plan(rec, "declare", changed=False)["pager_action"] == "trigger"
    assert plan(rec, "update", changed=False)["pager_action"] == "trigger"


@pytest.mark.parametrize("delivered", [True, "True", "true"])
def test_delivered_as_a_template_wrote_it(delivered):
    assert n.pager_state([pager("trigger", delivered=delivered)])["triggered"] is True


def test_a_severity_that_does_not_page():
    out = plan(record(severity="P3"), "declare")
    assert out["pager_action"] == "" and out["reason"].startswith("P3 does not page")
    assert out["status_page"]["action"] == ""


def test_reclassified_into_a_paging_severity_pages():
    rec = record(severity="P1", status="identified")
    out = plan(rec, "update")
    assert out["pager_action"] == "trigger"
    assert out["status_page"] == {"action": "create", "status": "identified", "incident": ""}


def test_acknowledge_once_after_a_delivered_trigger():
    assert plan(record(timeline=[pager("trigger")]), "acknowledge")["pager_action"] == "acknowledge"
    assert plan(record(timeline=[pager("trigger")]), "acknowledge")["chat"] is False
    acked = record(timeline=[pager("trigger"), pager("acknowledge")])
    assert plan(acked, "acknowledge")["pager_action"] == "" and plan(acked, "acknowledge")["reason"] == "already acknowledged"
    # an acknowledge that was not delivered is sent again
    assert plan(record(timeline=[pager("trigger"), pager("acknowledge", False)]), "acknowledge")["pager_action"] == "acknowledge"


def test_nothing_to_acknowledge_without_a_delivered_trigger():
    for timeline in ([], [pager("trigger", delivered=False)]):
        out = plan(record(timeline=timeline), "acknowledge")
        assert out["pager_action"] == "" and "nothing to acknowledge" in out["reason"]
    resolved = record(status="resolved", timeline=[pager("trigger"), pager("resolve")])
    assert plan(resolved, "acknowledge")["pager_action"] == ""


def test_resolve_once_after_any_trigger_and_resolves_the_status_page():
    rec = record(status="resolved", timeline=[pager("trigger"), status_page("investigating")])
    out = plan(rec, "resolve")
    assert out["pager_action"] == "resolve" and out["chat"] is True
    assert out["status_page"] == {"action": "resolve", "status": "resolved", "incident": "sp1"}
    # a trigger that never arrived is resolved too (PagerDuty drops a resolve of an unknown key)
    assert plan(record(status="resolved", timeline=[pager("trigger", False)]), "resolve")["pager_action"] == "resolve"
    done = record(status="resolved", timeline=[pager("trigger"), status_page("investigating"), pager("resolve"),
                                               status_page("resolved")])
    again = plan(done, "resolve", changed=False)
    assert again["pager_action"] == "" and again["status_page"]["action"] == "" and again["chat"] is False


def test_resolve_of_an_incident_never_paged_sends_nothing_to_pagerduty():
    out = plan(record(severity="P4", status="resolved"), "resolve")
    assert out["pager_action"] == "" and out["reason"] == "never paged" and out["status_page"]["action"] == ""


def test_escalation_goes_to_chat_only():
    out = plan(record(timeline=[pager("trigger", False)]), "escalation")
    assert out == dict(out, chat=True, pager_action="") and out["status_page"]["action"] == ""


# ---- the status page -------------------------------------------------------------------------------------------

def test_update_patches_the_recorded_incident_when_its_status_or_severity_changes():
    rec = record(status="mitigating", timeline=[status_page("investigating", "abc")])
    assert plan(rec, "update")["status_page"] == {"action": "update", "status": "identified", "incident": "abc"}
    # a progress note alone: the public page does not repeat itself
    same = record(status="investigating", timeline=[status_page("investigating", "abc")])
    assert plan(same, "update")["status_page"]["action"] == ""
    worse = record(severity="P1", status="investigating", timeline=[status_page("investigating", "abc", severity="P2")])
    assert plan(worse, "update")["status_page"]["action"] == "update"
    # nothing changed, nothing to say
    assert plan(rec, "update", changed=False)["status_page"]["action"] == ""


def test_a_create_that_was_not_delivered_is_tried_again():
    rec = record(timeline=[status_page("investigating", delivered=False)])
    assert plan(rec, "update", changed=False)["status_page"]["action"] == "create"
    assert n.status_page_state(rec["timeline"]) == {"incident": "", "status": "", "severity": ""}


def test_the_last_recorded_incident_id_wins():
    timeline = [status_page("investigating", "first"), status_page("identified", "", severity="P2"),
                status_page("monitoring", "second")]
    assert n.status_page_state(timeline)["incident"] == "second"


def test_bad_input_names_the_argument():
    with pytest.raises(n.NotifyError, match="step"):
        n.notify_plan(record(), "page")
    with pytest.raises(n.NotifyError, match="page_severities"):
        n.notify_plan(record(), "declare", page_severities="P1")
    with pytest.raises(AnsibleFilterError, match="notify_plan: record"):
        notify_plan_filter(None, "declare")


# ---- payloads ---------------------------------------------------------------------------------------------------

def test_pagerduty_trigger_payload():
    body = n.pagerduty_event("trigger", record(severity="P1"), "rk", source="clickview.runbook (production)")
    assert body["routing_key"] == "rk" and body["event_action"] == "trigger" and body["dedup_key"] == "INC-1"
    assert body["payload"]["summary"] == "[P1] API errors" and body["payload"]["severity"] == "critical"
    assert body["payload"]["source"] == "clickview.runbook (production)"
    assert body["payload"]["custom_details"]["incident_id"] == "INC-1"


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_pagerduty_acknowledge_and_resolve_carry_only_the_key(action):
    assert n.pagerduty_event(action, record(), "rk") == {"routing_key": "rk", "event_action": action, "dedup_key": "INC-1"}


def test_pagerduty_summary_is_cut_to_its_limit_and_bad_input_fails():
    long = dict(record(), title="x" * 2000)
    assert len(n.pagerduty_event("trigger", long, "rk")["payload"]["summary"]) == n.SUMMARY_MAX
    with pytest.raises(AnsibleFilterError, match="action"):
        pagerduty_filter("page", record(), "rk")
    with pytest.raises(n.NotifyError, match="dedup key"):
        n.pagerduty_event("trigger", dict(record(), id=""), "rk")


@pytest.mark.parametrize("severity,status", [("P1", "major_outage"), ("P2", "partial_outage"), ("P3", "degraded_performance")])
def test_component_status_from_the_severity(severity, status):
    assert n.component_status(severity) == status


def test_component_status_mapping_is_checked():
    assert n.component_status("P2", {"P2": "major_outage"}) == "major_outage"
    with pytest.raises(n.NotifyError, match="not a Statuspage component status"):
        n.component_status("P2", {"P2": "down"})


API = "https://api.statuspage.io/v1/"


def test_statuspage_create():
    call = n.statuspage_request({"action": "create", "status": "investigating", "incident": ""}, record(), " We look. ",
                                API, "pg 1", ["c1", "c2"])
    assert call["method"] == "POST" and call["url"] == "https://api.statuspage.io/v1/pages/pg%201/incidents"
    incident = call["body"]["incident"]
    assert incident["name"] == "API errors" and incident["status"] == "investigating" and incident["body"] == "We look."
    assert incident["components"] == {"c1": "partial_outage", "c2": "partial_outage"} and incident["component_ids"] == ["c1", "c2"]
    assert incident["impact_override"] == "major" and incident["metadata"] == {"clickview": {"incident_id": "INC-1"}}


def test_statuspage_update_and_resolve_patch_the_incident():
    call = n.statuspage_request({"action": "update", "status": "identified", "incident": "ab/c"}, record(severity="P1"),
                                "fixing", API, "pg", ["c1"])
    assert call["method"] == "PATCH" and call["url"].endswith("/pages/pg/incidents/ab%2Fc")
    assert call["body"]["incident"]["status"] == "identified" and call["body"]["incident"]["components"] == {"c1": "major_outage"}
    call = n.statuspage_request({"action": "resolve", "status": "resolved", "incident": "abc"}, record(), "done", API, "pg", ["c1"])
    assert call["body"]["incident"]["status"] == "resolved" and call["body"]["incident"]["components"] == {"c1": "operational"}


def test_statuspage_nothing_to_do_and_bad_settings():
    assert n.statuspage_request({"action": "", "status": "", "incident": ""}, record(), "", API, "pg") == {}
    with pytest.raises(n.NotifyError, match="api_url"):
        n.statuspage_request({"action": "create", "status": "investigating"}, record(), "", "api.statuspage.io", "pg")
    with pytest.raises(n.NotifyError, match="page_id"):
        n.statuspage_request({"action": "create", "status": "investigating"}, record(), "", API, "")
    with pytest.raises(n.NotifyError, match="no Statuspage incident id"):
        n.statuspage_request({"action": "update", "status": "identified", "incident": ""}, record(), "", API, "pg")
    with pytest.raises(AnsibleFilterError, match="component_ids"):
        statuspage_filter({"action": "create", "status": "investigating"}, record(), "", API, "pg", component_ids="c1")
