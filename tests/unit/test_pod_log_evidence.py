"""plugins/filter/pod_log_evidence.py (module_utils/security_evidence.pod_log_index): which containers' previous
logs the evidence reads, and the index of what became of each (a pod without one is not an error)."""
from ansible_collections.clickview.runbook.plugins.filter.pod_log_evidence import pod_log_evidence


def pod(name, *statuses):
    return {"metadata": {"name": name}, "status": {"containerStatuses": list(statuses)}}


def status(name, restarts=0, terminated=None):
    st = {"name": name, "restartCount": restarts, "state": {"running": {}}, "lastState": {}}
    if terminated:
        st["lastState"] = {"terminated": terminated}
    return st


CRASHED = {"reason": "Error", "exitCode": 1, "startedAt": "2025-01-31T14:00:00Z", "finishedAt": "2025-01-31T14:00:01Z",
           "containerID": "containerd://x"}
PODS = [pod("web-1", status("app"), status("sidecar", 2, CRASHED)), pod("web-2", status("app", 1, CRASHED)),
        {"metadata": {"name": "pending"}, "status": {}}]


def read(pod_name, container, log=None, msg=None):
    result = {"item": {"pod": pod_name, "container": container}}
    if log is None:
        result.update(failed=True, msg=msg)
    else:
        result.update(log=log, log_lines=log.split("\n"))
    return result


def test_the_containers_to_read_are_the_restarted_ones():
    got = pod_log_evidence(PODS)
    assert got["errors"] == []
    assert [(c["pod"], c["container"], c["previous_wanted"]) for c in got["containers"]] == [
        ("web-1", "app", False), ("web-1", "sidecar", True), ("web-2", "app", True)]
    sidecar = got["containers"][1]
    assert sidecar["restarts"] == 2
    assert sidecar["last_terminated"] == {"reason": "Error", "exitCode": 1, "startedAt": "2025-01-31T14:00:00Z",
                                          "finishedAt": "2025-01-31T14:00:01Z"}
    assert got["containers"][0]["last_terminated"] == {}


def test_a_last_terminated_state_without_a_restart_count_is_read_too():
    assert pod_log_evidence([pod("p", status("c", 0, CRASHED))])["containers"][0]["previous_wanted"]


def test_the_index_names_each_file_or_no_previous_container():
    got = pod_log_evidence(PODS, previous=[read("web-1", "sidecar", "fatal\n"),
                                           read("web-2", "app", msg='Unable to retrieve log from Pod due to: previous '
                                                                    'terminated container "app" in pod "web-2" not found')])
    assert got["errors"] == []
    assert [c["previous"] for c in got["containers"]] == [
        "no previous container", "pod-logs/web-1.sidecar.previous.log", "no previous container"]


def test_another_failure_is_an_error():
    got = pod_log_evidence(PODS, previous=[read("web-1", "sidecar", ""), read("web-2", "app", msg="Forbidden")])
    assert got["errors"] == ["web-2/app previous log: Forbidden"]
    assert [c["previous"] for c in got["containers"]] == [
        "no previous container", "pod-logs/web-1.sidecar.previous.log", "not read (Forbidden)"]


def test_a_wanted_read_without_a_result_is_an_error_and_the_prefix_is_used():
    got = pod_log_evidence(PODS, previous=[read("web-1", "sidecar", "x")], prefix="logs")
    assert got["errors"] == ["web-2/app previous log: not read"]
    assert got["containers"][1]["previous"] == "logs/web-1.sidecar.previous.log"


def test_no_pods():
    assert pod_log_evidence(None) == {"containers": [], "errors": []}
    assert pod_log_evidence([], previous=[]) == {"containers": [], "errors": []}
