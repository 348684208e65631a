"""deployment_rows: the deploy report's rollout and rollback rows, graded in Python."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.deployment_rows import deployment_rows

DONE = {"state": "complete", "message": 'deployment "web" successfully rolled out', "seconds": 12.4}
STUCK = {"state": "deadline", "seconds": 61.0, "message": 'deployment "web" exceeded its progress deadline (1 of 3 updated, 2 available)',
         "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}],
         "pods": [{"pod": "web-2-x", "reason": "ImagePullBackOff"}], "events": [{"reason": "Failed"}]}


def rollout(data, **kw):
    args = dict(name="web", image="app:2", image_before="app:1", deadline=60, timeout=120)
    args.update(kw)
    return deployment_rows(data, "rollout", **args)[0]


def test_a_complete_rollout_is_ok_with_its_seconds():
    row = rollout(DONE)
    assert (row["status"], row["value"], row["unit"]) == ("OK", 12.4, "s")
    assert row["figure"] == 'deployment "web" successfully rolled out in 12.4 s, image app:2'
    assert row["threshold"] == "rollout complete within the progress deadline (60 s) and 120 s" and row["detail"] == ""
    assert rollout(DONE, changed=False)["figure"].endswith("(already running, nothing to change)")


def test_a_stuck_rollout_fails_and_says_why():
    row = rollout(STUCK)
    assert row["status"] == "FAIL" and row["value"] == 61.0
    assert row["detail"] == {"conditions": STUCK["conditions"], "pods": STUCK["pods"], "events": STUCK["events"]}
    assert rollout({}, )["status"] == "FAIL"      # never watched


def test_check_mode_says_what_would_roll_out():
    assert rollout({}, check_mode=True)["figure"] == "not watched (check mode): would roll out app:2 over app:1"
    row = rollout({}, check_mode=True, changed=False)
    assert (row["status"], row["figure"], row["value"]) == ("OK", "check mode: already running app:2", None)


ROLLED = {"changed": True, "msg": "deployment/web rolled back from revision 5 to revision 4",
          "rollbacks": [{"images_after": ["app:1"], "outcome": "rolled_back"}]}


@pytest.mark.parametrize("result, status, figure", [
    (ROLLED, "OK", "deployment/web rolled back from revision 5 to revision 4, running app:1"),
    ({"skipped": True}, "WARN", "not rolled back (deployment_rollback_on_failure is false): the failed revision is still deployed"),
    ({"failed": True, "msg": "permission denied", "rollbacks": [{"outcome": "failed"}]}, "FAIL", "permission denied"),
])
def test_the_rollback_after_a_failed_rollout(result, status, figure):
    row = deployment_rows(result, "auto_rollback", name="web", revision_before=4, image_before="app:1")[0]
    assert (row["status"], row["figure"]) == (status, figure)
    assert row["threshold"] == "back on revision 4 (app:1) and rolled out"
    assert row["detail"] == ({"outcome": "failed"} if status == "FAIL" else "")


def test_the_rollback_after_a_failed_verification():
    assert deployment_rows({"skipped": True}, "verify_rollback", name="web") == []
    assert deployment_rows(None, "verify_rollback", name="web") == []
    ok = deployment_rows(ROLLED, "verify_rollback", name="web")[0]
    assert ok["status"] == "OK" and ok["figure"].endswith(", running app:1")
    failed = deployment_rows({"failed": True, "msg": "did not complete", "conditions": [{"type": "Available"}]},
                             "verify_rollback", name="web")[0]
    assert failed["status"] == "FAIL" and failed["detail"] == {"conditions": [{"type": "Available"}], "pods": []}


def test_unknown_step_is_named():
    with pytest.raises(AnsibleFilterError, match="step must be one of"):
        deployment_rows({}, "canary", name="web")


SLOT = {"ready": 3, "want": 3, "restarts": 0, "preview_ok": True, "healthy": True}


def test_a_healthy_slot_is_one_ok_row_with_its_ready_pods():
    rows = deployment_rows(SLOT, "blue_green_health", name="web-green", live_name="web-blue", service="web", soak_seconds=30,
                           preview={"status": 200})
    assert len(rows) == 1
    assert rows[0]["check"] == "blue_green.health" and rows[0]["status"] == "OK" and rows[0]["target"] == "deployment/web-green"
    assert rows[0]["figure"] == "3 of 3 pods ready, 0 container restart(s) after 30 s, preview HTTP 200"
    assert rows[0]["threshold"] == "all pods ready, no restarts, preview 2xx"
    assert (rows[0]["value"], rows[0]["unit"]) == (3, "pods")


@pytest.mark.parametrize("slot, preview, figure", [
    (dict(SLOT, ready=2, healthy=False), {"skipped": True}, "2 of 3 pods ready, 0 container restart(s) after 30 s"),
    (dict(SLOT, restarts=4, healthy=False), None, "3 of 3 pods ready, 4 container restart(s) after 30 s"),
    (dict(SLOT, preview_ok=False, healthy=False), {"status": -1}, "3 of 3 pods ready, 0 container restart(s) after 30 s, preview HTTP -1"),
])
def test_an_unhealthy_slot_fails_and_says_the_service_was_not_switched(slot, preview, figure):
    health, switch = deployment_rows(slot, "blue_green_health", name="web-green", live_name="web-blue", service="web",
                                     soak_seconds=30, preview=preview)
    assert health["status"] == "FAIL" and health["figure"] == figure
    assert health["threshold"] == "all pods ready, no restarts" + (", preview 2xx" if preview and "status" in preview else "")
    assert switch == {"check": "blue_green.switch", "target": "service/web", "status": "FAIL",
                      "figure": "not switched: deployment/web-green is not ready and healthy; service/web still serves deployment/web-blue",
                      "threshold": "switch only to a ready and healthy slot", "detail": "", "value": None, "unit": None}


@pytest.mark.parametrize("decision, promoted, status, figure", [
    ("promote", True, "OK", "promoted: app:2 now runs on deployment/web — all 10 samples under the thresholds"),
    ("promote", False, "FAIL", "promoted: app:2 now runs on deployment/web — but the promotion rollout failed, see deploy.rollout"
                               " — all 10 samples under the thresholds"),
    ("hold", False, "WARN", "analysis passed, not promoted (deployment_canary_auto_promote is false): the canary keeps running"
                            " — all 10 samples under the thresholds"),
    ("rollback", True, "FAIL", "rolled back: canary removed, deployment/web still runs app:1 — all 10 samples under the thresholds"),
])
def test_the_canary_decision(decision, promoted, status, figure):
    row, = deployment_rows(decision, "canary_decision", name="web", image="app:2", image_after="app:1",
                           reason="all 10 samples under the thresholds", promoted=promoted, samples=10)
    assert (row["check"], row["target"], row["status"], row["figure"]) == ("canary.decision", "deployment/web", status, figure)
    assert (row["value"], row["unit"]) == (10, "count")


def test_an_unknown_canary_decision_is_named():
    with pytest.raises(AnsibleFilterError, match="canary_decision: decision must be one of promote, hold, rollback, got 'maybe'"):
        deployment_rows("maybe", "canary_decision", name="web")


def switch(endpoints, **kwargs):
    options = dict(check="blue_green.switch", name="web-green", service="web", selector={"slot": "green", "app": "web"}, want=2,
                   live={"skipped": True}, live_url="")
    options.update(kwargs)
    return deployment_rows(endpoints, "blue_green_switch", **options)


def test_a_switch_to_exactly_the_new_slots_pods_is_ok_with_their_number():
    row, = switch({"addresses": ["web-green-1", "web-green-2"], "foreign": [], "ok": True})
    assert (row["check"], row["target"], row["status"]) == ("blue_green.switch.endpoints", "service/web", "OK")
    assert row["figure"] == '2 ready endpoint(s), 2 of deployment/web-green; selector {"app": "web", "slot": "green"}'
    assert row["threshold"] == "2 ready endpoint(s), all of deployment/web-green"
    assert (row["value"], row["unit"]) == (2, "pods")


def test_foreign_endpoints_fail_the_switch_and_are_named():
    row, = switch({"addresses": ["web-green-1", "web-blue-1"], "foreign": ["web-blue-1"], "ok": False}, check="blue_green.switch_back")
    assert row["check"] == "blue_green.switch_back.endpoints" and row["status"] == "FAIL" and row["value"] == 1
    assert "2 ready endpoint(s), 1 of deployment/web-green, foreign: web-blue-1;" in row["figure"]


def test_check_mode_says_what_would_switch_and_has_no_value():
    row, = switch({}, check_mode=True)
    assert row["status"] == "OK" and row["figure"].startswith("check mode: would switch the selector to {")
    assert row["value"] is None and row["unit"] is None


@pytest.mark.parametrize("live, status, figure, detail", [
    ({"status": 200, "attempts": 1}, "OK", "HTTP 200 after 1 attempt(s)", ""),
    ({"status": 503, "attempts": 3, "msg": "Status code was 503"}, "FAIL", "HTTP 503 after 3 attempt(s)", "Status code was 503"),
    ({"status": -1, "msg": "Connection refused"}, "FAIL", "HTTP -1 after 1 attempt(s)", "Connection refused"),
])
def test_the_live_url_row(live, status, figure, detail):
    _endpoints, row = switch({"addresses": ["a", "b"], "foreign": [], "ok": True}, live=live, live_url="https://app.example/health")
    assert (row["check"], row["target"], row["status"], row["figure"], row["threshold"], row["detail"]) == (
        "blue_green.switch.live_url", "https://app.example/health", status, figure, "HTTP 2xx", detail)
