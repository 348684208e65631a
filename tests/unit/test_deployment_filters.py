"""plugins/filter/rollout_outcome.py, rollout_problems.py, rollout_check.py, pod_spec_with_image.py, selector_patch.py, slot_health.py,
slot_endpoints.py, blue_green_slots.py: rollout and blue-green decisions of the deployment role."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.filter.blue_green_slots import blue_green_slots  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.pod_spec_with_image import pod_spec_with_image  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.rollout_check import rollout_check  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.rollout_outcome import rollout_outcome  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.rollout_problems import rollout_problems  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.selector_patch import selector_patch  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.slot_endpoints import slot_endpoints  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.slot_health import slot_health  # noqa: E402


def deployment(replicas=3, generation=2, observed=2, updated=3, total=3, available=3, ready=3, conditions=None):
    return {"metadata": {"name": "backend", "generation": generation},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": "reg/app:2"}]}}},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                       "availableReplicas": available, "readyReplicas": ready, "conditions": conditions or []}}


DEADLINE = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": 'ReplicaSet "backend-5d4f" has timed out progressing.'}]


# ---- rollout_outcome


def test_complete_rollout():
    out = rollout_outcome([deployment()], "backend")
    assert out["state"] == "complete" and out["message"] == 'deployment "backend" successfully rolled out'
    assert out["images"] == ["reg/app:2"] and (out["replicas"], out["ready"], out["updated"], out["available"]) == (3, 3, 3, 3)
    assert out["pods"] == [] and out["events"] == []


def test_new_generation_not_yet_observed_is_still_progressing():
    assert rollout_outcome([deployment(generation=3, observed=2)])["state"] == "progressing"


def test_a_deployment_the_controller_never_observed_is_not_complete():
    fresh = deployment()
    del fresh["metadata"]["generation"]
    del fresh["status"]["observedGeneration"]
    assert rollout_outcome([fresh])["state"] == "progressing"


def test_old_replicas_left_or_updated_not_available_is_progressing():
    assert rollout_outcome([deployment(updated=2, total=3)])["state"] == "progressing"
    assert rollout_outcome([deployment(total=4)])["state"] == "progressing"
    assert rollout_outcome([deployment(available=2)])["state"] == "progressing"


def test_progress_deadline_exceeded():
    out = rollout_outcome([deployment(updated=1, available=2, conditions=DEADLINE)], "backend")
    assert out["state"] == "deadline"
    assert out["message"] == 'deployment "backend" exceeded its progress deadline (1 of 3 updated, 2 available)'
    assert out["conditions"] == DEADLINE


def test_deadline_of_a_generation_not_yet_observed_does_not_count():
    assert rollout_outcome([deployment(generation=3, observed=2, conditions=DEADLINE)])["state"] == "progressing"


def test_timeout_only_on_the_final_poll():
    slow = [deployment(updated=1)]
    assert rollout_outcome(slow, "backend", 120)["state"] == "progressing"
    out = rollout_outcome(slow, "backend", 120, final=True)
    assert out["state"] == "timeout"
    assert out["message"] == 'deployment "backend" still rolling out after 120 s (1 of 3 updated, 3 available)'
    assert rollout_outcome([deployment()], "backend", 120, final=True)["state"] == "complete"


def test_missing_deployment():
    out = rollout_outcome([], "nope", final=True)
    assert out["state"] == "missing" and out["replicas"] == 0 and out["images"] == []
    assert out["message"] == 'deployment "nope" not found (0 of 0 updated, 0 available)'


def test_scaled_to_zero_is_complete():
    assert rollout_outcome(deployment(replicas=0, updated=0, total=0, available=0, ready=0))["state"] == "complete"


# ---- rollout_problems


def pod(name, *statuses, conditions=None):
    return {"metadata": {"name": name}, "status": {"containerStatuses": list(statuses), "conditions": conditions or []}}


CRASHING = {"name": "app", "image": "reg/app:2-broken", "ready": False, "restartCount": 4,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 1}}}
STARTING = {"name": "sidecar", "image": "reg/side:1", "ready": False, "restartCount": 0, "state": {"running": {}}}
READY = {"name": "app", "image": "reg/app:1", "ready": True, "restartCount": 0, "state": {"running": {}}}


def test_only_containers_not_ready_with_why():
    out = rollout_problems([pod("backend-1-a", CRASHING, STARTING), pod("backend-0-b", READY)], [], "backend")
    assert out["pods"] == [
        {"pod": "backend-1-a", "container": "app", "image": "reg/app:2-broken", "reason": "CrashLoopBackOff",
         "restarts": 4, "last_exit_code": 1},
        {"pod": "backend-1-a", "container": "sidecar", "image": "reg/side:1", "reason": "running",
         "restarts": 0, "last_exit_code": None}]


def event(kind, name, kind_type="Warning", reason="BackOff"):
    return {"involvedObject": {"kind": kind, "name": name}, "type": kind_type, "reason": reason, "message": "m", "count": 2}


def test_events_of_the_deployment_and_warnings_of_its_replicasets_and_pods():
    events = [event("Deployment", "backend", "Normal", "ScalingReplicaSet"), event("Pod", "backend-1-a"),
              event("Pod", "backend-1-a", "Normal", "Pulled"), event("Pod", "frontend-1-a"), event("Service", "backend-x")]
    out = rollout_problems([], events, "backend")
    assert [e["object"] for e in out["events"]] == ["Deployment/backend", "Pod/backend-1-a"]
    assert out["events"][1] == {"object": "Pod/backend-1-a", "type": "Warning", "reason": "BackOff", "message": "m", "count": 2}


def test_only_the_last_ten_events():
    events = [event("Pod", "backend-%d-a" % i) for i in range(15)]
    kept = rollout_problems(None, events, "backend")["events"]
    assert len(kept) == 10 and kept[0]["object"] == "Pod/backend-5-a" and kept[-1]["object"] == "Pod/backend-14-a"
    assert rollout_problems(None, None, "backend") == {"pods": [], "events": []}


# ---- pod_spec_with_image


def test_only_the_target_container_gets_the_image_and_the_input_is_kept():
    spec = {"containers": [{"name": "app", "image": "reg/app:1"}, {"name": "proxy", "image": "reg/proxy:1"}], "dnsPolicy": "x"}
    out = pod_spec_with_image(spec, "app", "reg/app:2")
    assert out == {"containers": [{"name": "app", "image": "reg/app:2"}, {"name": "proxy", "image": "reg/proxy:1"}], "dnsPolicy": "x"}
    assert spec["containers"][0]["image"] == "reg/app:1"
    assert pod_spec_with_image(spec, "nope", "reg/x:1") == spec


# ---- selector_patch


def test_switching_back_removes_the_slot_key():
    assert selector_patch({"app": "b", "slot": "green"}, {"app": "b"}) == {"app": "b", "slot": None}
    assert selector_patch({"app": "b"}, {"app": "b", "slot": "green"}) == {"app": "b", "slot": "green"}
    assert selector_patch({"app": "b", "slot": "green"}, {"app": "b", "slot": "blue"}) == {"app": "b", "slot": "blue"}


# ---- slot_health


def ready_pod(name, restarts=0, ready=True):
    return {"metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "app", "restartCount": restarts}]}}


def test_healthy_slot():
    out = slot_health([ready_pod("a"), ready_pod("b")], 2, "complete", preview={"status": 200})
    assert out == {"ready": 2, "restarts": 0, "want": 2, "preview_ok": True, "healthy": True}
    assert slot_health([ready_pod("a")], "1", "complete", preview={"skipped": True})["healthy"] is True


def test_a_restarted_container_is_not_trusted():
    out = slot_health([ready_pod("a"), ready_pod("b", restarts=1)], 2)
    assert out["restarts"] == 1 and out["healthy"] is False


def test_not_all_ready_or_rollout_failed_or_preview_failing_is_not_healthy():
    assert slot_health([ready_pod("a"), ready_pod("b", ready=False)], 2)["healthy"] is False
    assert slot_health([ready_pod("a"), ready_pod("b")], 2, "deadline")["healthy"] is False
    assert slot_health([ready_pod("a"), ready_pod("b")], 2, preview={"status": 503})["preview_ok"] is False
    assert slot_health([ready_pod("a"), ready_pod("b")], 2, preview={"status": -1, "msg": "refused"})["healthy"] is False
    assert slot_health([ready_pod("a"), ready_pod("b"), ready_pod("c")], 2)["healthy"] is False   # not the wanted number


def test_no_pods():
    assert slot_health([], 2)["healthy"] is False
    assert slot_health(None, 0)["ready"] == 0


# ---- slot_endpoints


def endpoints(*names):
    return [{"subsets": [{"addresses": [{"targetRef": {"kind": "Pod", "name": n}} for n in names]}]}]


def test_endpoints_all_of_the_new_slot():
    out = slot_endpoints(endpoints("backend-green-5d4f-abcde", "backend-green-5d4f-fghij"), "backend-green", 2)
    assert out["ok"] is True and out["foreign"] == []


def test_a_pod_of_the_old_slot_is_foreign():
    out = slot_endpoints(endpoints("backend-green-5d4f-abcde", "backend-7c9b-klmno"), "backend-green", 1)
    assert out["ok"] is False and out["foreign"] == ["backend-7c9b-klmno"]
    # blue's pods (backend-<hash>-<id>) are not green's even though the names share a prefix
    assert slot_endpoints(endpoints("backend-green-5d4f-abcde"), "backend", 1)["foreign"] == ["backend-green-5d4f-abcde"]


def test_too_few_or_no_endpoints():
    assert slot_endpoints(endpoints("backend-green-5d4f-abcde"), "backend-green", 2)["ok"] is False
    assert slot_endpoints([], "backend-green", 1) == {"addresses": [], "foreign": [], "ok": False}
    assert slot_endpoints([{"subsets": [{"notReadyAddresses": [{"ip": "10.0.0.1"}]}]}], "backend-green", 0)["ok"] is True


# ---- blue_green_slots


def test_a_selector_without_the_slot_label_serves_the_deployment_itself_as_blue():
    assert blue_green_slots({"app": "backend"}, "backend") == {
        "live_slot": "blue", "live_name": "backend", "idle_slot": "green", "idle_name": "backend-green"}


def test_green_live_makes_blue_idle_and_back():
    assert blue_green_slots({"app": "backend", "slot": "green"}, "backend") == {
        "live_slot": "green", "live_name": "backend-green", "idle_slot": "blue", "idle_name": "backend-blue"}
    assert blue_green_slots({"app": "backend", "color": "blue"}, "backend", "color")["idle_name"] == "backend-green"
    assert blue_green_slots({}, "backend")["live_name"] == "backend"


# ---- rollout_check


def test_complete_rollout_is_ok_without_detail():
    rollout = dict(rollout_outcome([deployment()], "backend"), seconds=4.2)
    check = rollout_check(rollout, "deploy.rollout", "deployment/backend", "complete", suffix=", image reg/app:2")
    assert check == {"check": "deploy.rollout", "target": "deployment/backend", "status": "OK",
                     "figure": 'deployment "backend" successfully rolled out in 4.2 s, image reg/app:2',
                     "threshold": "complete", "detail": "", "value": 4.2, "unit": "s"}


def test_failed_rollout_carries_why():
    rollout = dict(rollout_outcome([deployment(updated=1, conditions=DEADLINE)], "backend"), seconds=3.0)
    rollout.update(rollout_problems([pod("backend-1-a", CRASHING)], [], "backend"))
    check = rollout_check(rollout, "deploy.rollout", "deployment/backend", "complete")
    assert check["status"] == "FAIL" and check["detail"]["conditions"] == DEADLINE
    assert check["detail"]["pods"][0]["reason"] == "CrashLoopBackOff" and check["detail"]["events"] == []
    assert check["figure"].startswith('deployment "backend" exceeded its progress deadline (1 of 3 updated')
    assert rollout_check({"state": "timeout", "message": "m", "seconds": 1}, "c", "t", "x")["status"] == "FAIL"
