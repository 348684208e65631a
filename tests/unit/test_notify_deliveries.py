"""plugins/filter/notify_deliveries.py: what the incident's timeline says each notification delivered."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.notify_deliveries import notify_deliveries

SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}


def attempts(chat=None, pager=None, status_page=None):
    return [{"channel": "chat", "result": chat or SKIPPED}, {"channel": "pager", "result": pager or SKIPPED},
            {"channel": "status_page", "result": status_page or SKIPPED}]


def without_details(entries):
    return [{k: v for k, v in entry.items() if k != "details"} for entry in entries]


def test_nothing_tried_gives_no_delivery():
    assert notify_deliveries(attempts(), "update") == []
    assert notify_deliveries([], "update") == []
    assert notify_deliveries(None, "update") == []


def test_all_delivered():
    ok = {"changed": True, "delivered": True, "attempts": 1, "status": 200}
    out = without_details(notify_deliveries(attempts(ok, ok, ok), "initial", pager_action="trigger",
                                            status_page_status=" investigating "))
    assert out == [
        {"channel": "chat", "delivered": True, "attempts": 1, "event": "Initial message posted to chat"},
        {"channel": "pager", "delivered": True, "attempts": 1, "event": "PagerDuty trigger sent"},
        {"channel": "status_page", "delivered": True, "attempts": 1, "event": "Status page set to investigating"},
    ]


def test_none_delivered_says_why():
    failed = {"delivered": False, "attempts": 3, "error": "HTTP 503 after 3 attempts"}
    no_answer = {"delivered": False, "attempts": 1, "failed": True, "msg": "no answer"}
    out = notify_deliveries(attempts(failed, no_answer), "escalation", pager_action="trigger")
    assert [d["delivered"] for d in out] == [False, False]
    assert out[0]["event"] == "Escalation message posted to chat - NOT DELIVERED: HTTP 503 after 3 attempts"
    assert out[1]["event"] == "PagerDuty trigger sent - NOT DELIVERED: no answer"
    assert out[0]["attempts"] == 3


def test_a_result_without_any_field_is_not_delivered():
    out = without_details(notify_deliveries([{"channel": "pager", "result": {}}], "resolution", pager_action="resolve"))
    assert out == [{"channel": "pager", "delivered": False, "attempts": 0,
                    "event": "PagerDuty resolve sent - NOT DELIVERED: no result"}]


def test_one_skipped_one_delivered_keeps_the_order():
    ok = {"delivered": True, "attempts": 2}
    out = notify_deliveries(attempts(status_page=ok, chat=ok), "UPDATE", status_page_status="monitoring")
    assert [d["channel"] for d in out] == ["chat", "status_page"]
    assert out[0]["event"] == "Update message posted to chat"


def test_the_url_and_body_are_not_copied():
    result = {"delivered": False, "attempts": 1, "error": "HTTP 404", "url": "https://hooks.example/T/secret-token",
              "body": {"routing_key": "secret-routing-key"}}
    assert "secret" not in repr(notify_deliveries(attempts(pager=result), "initial", pager_action="trigger"))


def test_unknown_channel_is_an_error():
    with pytest.raises(AnsibleFilterError, match="unknown channel"):
        notify_deliveries([{"channel": "fax", "result": {"delivered": True}}], "update")


def test_details_are_what_the_timeline_keeps():
    ok = {"changed": True, "delivered": True, "attempts": 1, "status": 201, "json": {"id": "p31zjtct2jer", "status": "investigating"}}
    out = notify_deliveries(attempts(ok, ok, ok), "initial", pager_action="trigger", status_page_status="investigating")
    assert out[0]["details"] == {"channel": "chat", "message": "initial", "delivered": True, "attempts": 1,
                                 "pager_action": "", "status_page_status": ""}
    assert out[1]["details"] == {"channel": "pager", "message": "initial", "delivered": True, "attempts": 1,
                                 "pager_action": "trigger", "status_page_status": ""}
    # a create: the id comes from Statuspage's answer
    assert out[2]["details"]["status_page_incident"] == "p31zjtct2jer"
    assert out[2]["details"]["status_page_status"] == "investigating"


def test_an_update_keeps_the_known_status_page_incident():
    patched = {"delivered": True, "attempts": 1, "json": {"error": "x"}}
    failed = {"delivered": False, "attempts": 1, "error": "HTTP 401: Unauthorized"}
    for result in (patched, failed):
        out = notify_deliveries([{"channel": "status_page", "result": result}], "update", status_page_status="identified",
                                status_page_incident="abc123")
        assert out[0]["details"]["status_page_incident"] == "abc123"
    assert out[0]["event"] == "Status page set to identified - NOT DELIVERED: HTTP 401: Unauthorized"


def test_a_delivered_acknowledge_is_the_acknowledged_milestone():
    ok = {"delivered": True, "attempts": 1}
    out = notify_deliveries([{"channel": "pager", "result": ok}], "acknowledgement", pager_action="acknowledge")
    assert out[0]["event"] == "PagerDuty acknowledge sent" and out[0]["details"]["milestone"] == "acknowledged"
    out = notify_deliveries([{"channel": "pager", "result": {"delivered": False, "error": "HTTP 400"}}], "acknowledgement",
                            pager_action="acknowledge")
    assert "milestone" not in out[0]["details"]


def test_email_names_its_recipients():
    out = notify_deliveries([{"channel": "email", "result": {"delivered": True, "attempts": 2}}], "security",
                            email_to=["security@clickview.app"])
    assert out[0]["event"] == "Security email sent to security@clickview.app"
    assert out[0]["details"]["email_to"] == ["security@clickview.app"] and out[0]["details"]["attempts"] == 2
    out = notify_deliveries([{"channel": "email", "result": {"delivered": False, "attempts": 3,
                                                             "error": "cannot connect: Connection refused"}}],
                            "security", email_to=["security@clickview.app"])
    assert out[0]["event"] == ("Security email sent to security@clickview.app - NOT DELIVERED: "
                               "cannot connect: Connection refused")
    assert out[0]["details"]["delivered"] is False
