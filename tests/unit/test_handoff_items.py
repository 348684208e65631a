"""plugins/filter/handoff_items.py: what an on-call shift hands over."""
from ansible_collections.clickview.runbook.plugins.filter.handoff_items import handoff_items

SINCE = "2026-01-08T09:00:00Z"
UNTIL = "2026-01-22T09:00:00Z"


def incident(incident_id, declared_at, status="investigating", **extra):
    record = {"id": incident_id, "title": "t " + incident_id, "severity": "P2", "status": status,
              "declared_at": declared_at, "resolved_at": None, "duration_seconds": None, "timeline": [{"x": 1}]}
    record.update(extra)
    return record


def test_no_data():
    out = handoff_items([], SINCE, UNTIL)
    assert [(c["check"], c["status"], c["figure"]) for c in out.pop("checks")] == [
        ("handoff.open_incidents", "OK", "0"), ("handoff.open_action_items", "OK", "0"),
        ("handoff.certificates_expiring", "OK", "0"), ("handoff.alerts_fired", "OK", "0"),
        ("handoff.waf_blocks_expiring", "OK", "0")]
    assert out == {"incidents": {"declared": 0, "resolved": 0, "open": 0, "list": []}, "open_action_items": [],
                   "action_items_overdue": 0,
                   "alerts_fired": [], "alerts_fired_detail": [], "waf_blocks_expiring": [],
                   "certificates_expiring": [], "certificates_checked": 0}
    assert handoff_items(None, SINCE, UNTIL)["incidents"]["list"] == []


def test_the_shift_incidents_and_the_inherited_open_ones():
    records = [incident("NEW-RESOLVED", "2026-01-10T00:00:00Z", status="resolved", duration_seconds=5400),
               incident("NEW-OPEN", "2026-01-09T00:00:00Z"),
               incident("AT-START", SINCE, status="resolved"),
               incident("OLD-OPEN", "2026-01-01T00:00:00Z", status="monitoring"),
               incident("OLD-RESOLVED", "2025-12-01T00:00:00Z", status="resolved")]
    out = handoff_items(records, SINCE, UNTIL)["incidents"]
    assert [row["id"] for row in out["list"]] == ["OLD-OPEN", "AT-START", "NEW-OPEN", "NEW-RESOLVED"]
    assert (out["declared"], out["resolved"], out["open"]) == (3, 2, 2)
    assert out["list"][-1] == {"id": "NEW-RESOLVED", "title": "t NEW-RESOLVED", "severity": "P2", "status": "resolved",
                               "declared_at": "2026-01-10T00:00:00Z", "resolved_at": None, "duration_seconds": 5400}


def test_a_record_with_missing_fields_is_listed_with_nulls():
    out = handoff_items([{"id": "BARE", "status": "investigating"}], SINCE, UNTIL)["incidents"]
    assert out["list"] == [{"id": "BARE", "title": None, "severity": None, "status": "investigating",
                            "declared_at": None, "resolved_at": None, "duration_seconds": None}]
    assert (out["declared"], out["open"]) == (0, 1)


def test_action_items_of_every_record_with_any():
    """A plain-text item (a record written before items had an owner and a due date) is open, due 14 days after
    the resolution; its @handle is its owner."""
    records = [incident("A", "2025-01-01T00:00:00Z", status="resolved", resolved_at="2025-01-02T00:00:00Z",
                        action_items=["Add a canary gate @platform"]),
               incident("B", SINCE, action_items=[]), incident("C", SINCE)]
    assert handoff_items(records, SINCE, UNTIL, now=SINCE)["open_action_items"] == [{"incident": "A", "title": "t A", "items": [
        {"number": 1, "text": "Add a canary gate @platform", "owner": "@platform", "due": "2025-01-16", "status": "open",
         "overdue": True}]}]


def test_only_open_action_items_are_handed_over_overdue_flagged():
    items = [{"text": "Page earlier", "owner": "@sre", "due": "2026-01-08", "status": "open"},
             {"text": "Add a canary gate", "owner": "@platform", "due": "2026-01-07", "status": "done",
              "closed_at": "2026-01-06T10:00:00Z", "closed_by": "alice"},
             {"text": "Alert sooner", "owner": None, "due": "2026-01-07", "status": "open"}]
    records = [incident("A", "2026-01-01T00:00:00Z", status="resolved", resolved_at="2026-01-01T02:00:00Z",
                        action_items=items),
               incident("ALL-DONE", "2026-01-01T00:00:00Z", status="resolved", action_items=[dict(items[1])])]
    out = handoff_items(records, SINCE, UNTIL, now=SINCE)
    assert out["open_action_items"] == [{"incident": "A", "title": "t A", "items": [
        {"number": 1, "text": "Page earlier", "owner": "@sre", "due": "2026-01-08", "status": "open", "overdue": False},
        {"number": 3, "text": "Alert sooner", "owner": None, "due": "2026-01-07", "status": "open", "overdue": True}]}]
    assert out["action_items_overdue"] == 1
    checks = {c["check"]: c for c in out["checks"]}
    assert checks["handoff.open_action_items"]["figure"] == "2: A #1, A #3 (overdue)"


def test_alerts_fired_are_distinct_and_sorted():
    rows = [{"alertname": "HighErrorRate", "severity": "critical"}, {"alertname": "BackendDown", "severity": "page"},
            {"alertname": "HighErrorRate", "severity": "warning"}]
    out = handoff_items([], SINCE, UNTIL, alerts=rows)
    assert out["alerts_fired"] == ["BackendDown", "HighErrorRate"]
    assert out["alerts_fired_detail"] == rows


def test_blocks_expiring_by_the_end_of_the_look_ahead():
    ip_sets = [{"item": {"key": "ipv4"}, "tags": {"runbook:expires:2026-01-10T09:00Z:a1:1": "203.0.113.50/32",
                                                  "runbook:expires:2026-02-07T09:00Z:b2:1": "203.0.113.51/32",
                                                  "runbook:expires:2026-01-22T09:00Z:c3:1": "203.0.113.52/32"}},
               {"item": {"key": "ipv6"}, "failed": True, "msg": "could not read"}]
    out = handoff_items([], SINCE, UNTIL, ip_sets=ip_sets)
    assert out["waf_blocks_expiring"] == [{"address": "203.0.113.50/32", "expires": "2026-01-10T09:00:00Z"},
                                          {"address": "203.0.113.52/32", "expires": "2026-01-22T09:00:00Z"}]


def test_certificates_expiring_and_checked():
    certs = [{"metadata": {"name": "short"}, "status": {"notAfter": "2026-01-11T00:00:00Z"}},
             {"metadata": {"name": "long"}, "status": {"notAfter": "2026-04-01T00:00:00Z"}},
             {"metadata": {"name": "edge"}, "status": {"notAfter": UNTIL}},
             {"metadata": {"name": "pending"}, "status": {}}, {"metadata": {"name": "new"}}]
    out = handoff_items([], SINCE, UNTIL, certificates=certs)
    assert out["certificates_expiring"] == [{"name": "short", "not_after": "2026-01-11T00:00:00Z"},
                                            {"name": "edge", "not_after": UNTIL}]
    assert out["certificates_checked"] == 3


def test_checks_warn_about_what_the_next_shift_must_pick_up():
    records = [incident("OPEN-1", SINCE, action_items=["Add a canary gate", "Page earlier"]),
               incident("DONE", SINCE, status="resolved")]
    rows = [{"alertname": "HighErrorRate"}]
    certificates = [{"metadata": {"name": "clickview-tls"}, "status": {"notAfter": "2026-01-15T00:00:00Z"}}]
    checks = {c["check"]: c for c in handoff_items(records, SINCE, UNTIL, alerts=rows, certificates=certificates,
                                                   now=SINCE)["checks"]}
    assert (checks["handoff.open_incidents"]["status"], checks["handoff.open_incidents"]["figure"]) == ("WARN", "1: OPEN-1")
    assert (checks["handoff.open_action_items"]["status"], checks["handoff.open_action_items"]["figure"]) == \
        ("WARN", "2: OPEN-1 #1, OPEN-1 #2")
    assert checks["handoff.certificates_expiring"]["status"] == "WARN"
    assert checks["handoff.certificates_expiring"]["figure"] == "1: clickview-tls"
    assert (checks["handoff.alerts_fired"]["status"], checks["handoff.alerts_fired"]["figure"]) == ("OK", "1: HighErrorRate")


def test_each_check_counts_its_items():
    records = [incident("OPEN-1", SINCE, action_items=["Add a canary gate", "Page earlier"]), incident("OPEN-2", SINCE)]
    rows = [{"alertname": "HighErrorRate"}, {"alertname": "HighLatency"}, {"alertname": "HighErrorRate"}]
    checks = handoff_items(records, SINCE, UNTIL, alerts=rows, now=SINCE)["checks"]
    assert [(c["check"], c["value"], c["unit"]) for c in checks] == [
        ("handoff.open_incidents", 2, "count"), ("handoff.open_action_items", 2, "count"),
        ("handoff.certificates_expiring", 0, "count"), ("handoff.alerts_fired", 2, "count"),
        ("handoff.waf_blocks_expiring", 0, "count")]
