"""plugins/filter/kubernetes_checks: the health check's Kubernetes reads, graded."""
from ansible_collections.clickview.runbook.plugins.filter.kubernetes_checks import kubernetes_checks

NOW = 1796500000.0          # 2026-12-05T...Z
ISO = "2026-12-05T20:26:40Z"  # NOW
EARLIER = "2026-12-05T20:16:40Z"  # NOW - 600 s
LONG_AGO = "2026-12-05T18:00:00Z"


def k8s(*items):
    return {"resources": list(items)}


def dep(name, replicas=3, ready=3):
    return {"metadata": {"name": name}, "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"image": "r/%s:1" % name}]}}},
            "status": {"readyReplicas": ready}}


def node(name, ready="True", reason=None):
    return {"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": ready, "reason": reason}]}}


def pod(name, phase="Running", waiting=None, restarts=0, created=EARLIER):
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    status = {"phase": phase, "containerStatuses": [{"name": "app", "restartCount": restarts, "state": state}]}
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": status}


def event(reason, name, kind="Pod", when=EARLIER, type_="Warning", count=1):
    return {"type": type_, "reason": reason, "involvedObject": {"kind": kind, "name": name}, "lastTimestamp": when, "count": count}


def checks(deps=None, nodes=None, pods=None, events=None, names=("web",)):
    out = kubernetes_checks(deps if deps is not None else k8s(dep("web")), nodes=nodes if nodes is not None else k8s(node("n1")),
                            pods=pods if pods is not None else k8s(pod("web-1")), events=events if events is not None else k8s(),
                            deployments=list(names), namespace="clickview", now=NOW)
    return dict(((c["check"], c["target"]), c) for c in out)


def by_check(found, name):
    return [c for (check, _target), c in found.items() if check == name][0]


def test_a_healthy_namespace_is_ok():
    found = checks()
    assert all(c["status"] == "OK" for c in found.values()), found
    assert by_check(found, "kubernetes.pods_ready")["figure"] == "3 of 3 pods ready, image r/web:1"
    assert by_check(found, "kubernetes.nodes_ready")["figure"] == "1 of 1 nodes Ready"
    assert by_check(found, "kubernetes.warning_events")["figure"] == "0 Warning events"


def test_deployments_none_ready_some_ready_missing():
    found = checks(deps=k8s(dep("web", ready=0), dep("api", ready=2)), names=("web", "api", "gone"))
    assert found[("kubernetes.pods_ready", "clickview/web")]["status"] == "FAIL"
    assert found[("kubernetes.pods_ready", "clickview/api")]["status"] == "WARN"
    assert found[("kubernetes.pods_ready", "clickview/gone")]["figure"] == "not found"


def test_a_node_not_ready_is_fail_naming_it():
    found = by_check(checks(nodes=k8s(node("n1"), node("n2", "Unknown", "NodeStatusUnknown"))), "kubernetes.nodes_ready")
    assert found["status"] == "FAIL" and found["figure"] == "1 of 2 nodes Ready"
    assert found["detail"] == "not Ready: n2 (NodeStatusUnknown)"


def test_nodes_forbidden_is_fail_with_the_reason_not_ok():
    forbidden = {"failed": True, "msg": 'nodes is forbidden: User "op" cannot list resource "nodes"'}
    found = by_check(checks(nodes=forbidden), "kubernetes.nodes_ready")
    assert found["status"] == "FAIL" and found["figure"].startswith("unknown") and "forbidden" in found["detail"]


def test_crash_looping_and_image_pull_errors_fail_and_long_pending_warns():
    found = by_check(checks(pods=k8s(pod("web-1"), pod("web-2", waiting="CrashLoopBackOff", restarts=7),
                                     pod("web-3", "Pending", waiting="ImagePullBackOff"))), "kubernetes.pods_stuck")
    assert found["status"] == "FAIL" and found["figure"] == "2 of 3 pods stuck"
    assert "web-2/app CrashLoopBackOff (7 restarts)" in found["detail"] and "web-3/app ImagePullBackOff" in found["detail"]
    pending = by_check(checks(pods=k8s(pod("web-1"), pod("web-4", "Pending", created=LONG_AGO),
                                       pod("web-5", "Pending", created=ISO))), "kubernetes.pods_stuck")
    assert pending["status"] == "WARN" and pending["detail"].startswith("web-4 Pending for ")   # web-5 is new


def test_warning_events_of_the_window_are_counted_for_review():
    events = k8s(event("BackOff", "web-2", count=5), event("BackOff", "web-2"), event("Unhealthy", "web-3"),
                 event("Old", "web-1", when=LONG_AGO), event("Scheduled", "web-1", type_="Normal"))
    found = by_check(checks(events=events), "kubernetes.warning_events")
    assert found["status"] == "OK" and found["figure"] == "7 Warning events: BackOff pod/web-2 x6, Unhealthy pod/web-3 x1"


def test_unreachable_api_fails_every_check_with_the_message():
    hole = {"failed": True, "msg": "Task failed: Timed out after 5 second(s)."}
    found = checks(deps=hole, nodes=hole, pods=hole, events=hole)
    assert all(c["status"] == "FAIL" for c in found.values())
    assert found[("kubernetes.pods_ready", "clickview/web")]["figure"] == "Kubernetes API unreachable"
    assert all("Timed out" in c["detail"] for c in found.values())


def test_crash_loop_read_between_two_back_offs_still_fails():
    """Just restarted (running, not ready) after exiting again: kubectl would show it Running for a moment."""
    restarting = pod("web-6", restarts=4)
    restarting["status"]["containerStatuses"][0].update(
        ready=False, lastState={"terminated": {"reason": "Error", "exitCode": 1}})
    recovered = pod("web-7", restarts=4)        # restarted earlier, ready now: not stuck
    recovered["status"]["containerStatuses"][0].update(ready=True, lastState={"terminated": {"reason": "OOMKilled"}})
    young = pod("web-8")                        # starting for the first time: not ready yet, never exited
    young["status"]["containerStatuses"][0].update(ready=False)
    found = by_check(checks(pods=k8s(restarting, recovered, young)), "kubernetes.pods_stuck")
    assert found["status"] == "FAIL" and found["figure"] == "1 of 3 pods stuck"
    assert found["detail"] == "web-6/app CrashLoopBackOff (restarting, 4 restarts, last exit Error)"


def test_each_figure_has_its_number_and_unit():
    found = checks(deps=k8s(dep("web", ready=2)), nodes=k8s(node("n1"), node("n2", "False")),
                   pods=k8s(pod("web-1", waiting="CrashLoopBackOff", restarts=4), pod("web-2")),
                   events=k8s(event("BackOff", "web-1", count=5), event("Unhealthy", "web-2")))
    assert [(check, c["value"], c["unit"]) for (check, _target), c in found.items()] == [
        ("kubernetes.pods_ready", 2, "pods"), ("kubernetes.nodes_ready", 1, "count"),
        ("kubernetes.pods_stuck", 1, "pods"), ("kubernetes.warning_events", 6, "count")]


def test_what_could_not_be_read_has_no_value():
    failed = {"failed": True, "msg": "Forbidden"}
    found = checks(deps=failed, nodes=failed, pods=failed, events=failed)
    assert all((c["value"], c["unit"]) == (None, None) for c in found.values()), found
