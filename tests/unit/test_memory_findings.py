"""plugins/filter/memory_findings: the High Memory Usage alert's grading of the backend's pods, usage and logs."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.filter.memory_findings import memory_findings  # noqa: E402

MIB = 1048576
T = {"memory_pct": {"warn": 75, "fail": 85}, "oom_kills": {"warn": 1, "fail": 1}}
TARGET = "deployment/clickview-backend (clickview)"
K8S = {"error": "", "metrics_error": "", "pods": [{"metadata": {"name": "b-1"}}, {"metadata": {"name": "b-2"}}],
       "deployment": {"spec": {"template": {"spec": {"containers": [
           {"name": "backend", "image": "clickview/backend:1.5.1",
            "resources": {"limits": {"memory": "256Mi", "cpu": "500m"}, "requests": {"memory": "128Mi", "cpu": "100m"}}}]}}}}}


def usage(pod, used_mib, restarts=0, last_reason=None, limit_mib=256):
    return {"pod": pod, "container": "backend", "mem_b": used_mib * MIB, "mem_limit_b": limit_mib * MIB,
            "mem_request_b": 128 * MIB, "ready": True, "restarts": restarts, "last_reason": last_reason,
            "last_run": "%s/backend: %s (exit 137)" % (pod, last_reason) if last_reason else None}


def logs(*lines, pod="b-1"):
    return [{"pod": pod, "container": "backend", "previous": False, "lines": list(lines)}]


def by_check(findings):
    return {f["check"]: f for f in findings}


def grade(usage_rows, log_lines=None, k8s=None, **extra):
    return by_check(memory_findings(k8s or K8S, usage=usage_rows, logs=log_lines, thresholds=T, target=TARGET,
                                    tail_lines=500, **extra))


def test_the_highest_use_against_its_limit_is_graded_and_named():
    found = grade([usage("b-1", 100), usage("b-2", 230.4)], logs("ok"))
    mem = found["k8s.container_memory"]
    assert (mem["status"], mem["value"], mem["unit"]) == ("FAIL", 90.0, "%")
    assert mem["figure"] == "highest 90.0 % of its memory limit (b-2/backend: 230.4 MiB of 256.0 MiB), 2 containers measured"
    assert mem["threshold"] == "warn >= 75 %, fail >= 85 % of the memory limit"
    assert mem["evidence"][0].startswith("b-2/backend: memory 230.4 MiB of limit 256.0 MiB (90.0 %)")
    assert mem["recommendation"].startswith("Restart the pods for immediate relief")


def test_exactly_at_the_warn_line_warns_and_below_it_is_ok():
    assert grade([usage("b-1", 192)])["k8s.container_memory"]["status"] == "WARN"     # 75.0 %
    below = grade([usage("b-1", 191)])["k8s.container_memory"]
    assert below["status"] == "OK" and below["recommendation"] == "Memory is within its limit now."


def test_no_metrics_is_fail_and_says_why_without_calling_memory_fine():
    mem = grade([], k8s=dict(K8S, metrics_error="metrics.k8s.io: the server could not find the requested resource"))[
        "k8s.container_memory"]
    assert mem["status"] == "FAIL" and mem["figure"].startswith("metrics.k8s.io:") and mem["value"] is None
    assert "kubectl top pods" in mem["recommendation"]
    assert grade([])["k8s.container_memory"]["figure"] == "no pod metrics (metrics API) for containers with a memory limit"


def test_oom_kills_count_the_last_runs_and_every_restart():
    oom = grade([usage("b-1", 10, restarts=3, last_reason="OOMKilled"), usage("b-2", 10, restarts=1, last_reason="Error")])[
        "k8s.oom_kills"]
    assert (oom["status"], oom["value"], oom["unit"]) == ("FAIL", 1, "count")
    assert oom["figure"] == "1 of 2 containers OOMKilled in their last run, 4 restarts in all"
    assert oom["evidence"] == ["b-1/backend: OOMKilled (exit 137)"]
    assert grade([usage("b-1", 10, restarts=2)])["k8s.oom_kills"]["recommendation"] == "No container was OOMKilled."


def test_log_lines_grouped_out_of_memory_fails_heap_warns_none_read_fails():
    lines = logs('level=warn msg="heap usage high" limit_mb=256 used_mb=240',
                 'level=warn msg="heap usage high" limit_mb=256 used_mb=250',
                 'level=info msg="request served"')
    heap = grade([usage("b-1", 10)], lines)["logs.memory_lines"]
    assert (heap["status"], heap["value"]) == ("WARN", 2)
    assert heap["figure"] == ("2 memory/heap/OOM lines (0 out of memory) in the last 500 lines of 1 container logs "
                              "(previous runs included)")
    assert heap["evidence"][0].startswith('2x msg="heap usage high" limit_mb=256 (pods: b-1)')
    oom = grade([usage("b-1", 10)], logs("fatal error: runtime: out of memory"), log_errors=["b-2: forbidden"])[
        "logs.memory_lines"]
    assert oom["status"] == "FAIL" and oom["evidence"][-1] == "b-2: forbidden"
    unread = grade([usage("b-1", 10)], [])["logs.memory_lines"]
    assert (unread["status"], unread["value"], unread["target"]) == ("FAIL", None, "2 pods of " + TARGET)


def test_a_container_without_a_memory_limit_warns_and_is_named():
    k8s = dict(K8S, deployment={"spec": {"template": {"spec": {"containers": [
        {"name": "backend", "image": "b:1", "resources": {"limits": {"memory": "256Mi"}}},
        {"name": "sidecar", "image": "s:1", "resources": {}}]}}}})
    limits = grade([usage("b-1", 10)], k8s=k8s)["k8s.container_limits"]
    assert limits["status"] == "WARN" and limits["recommendation"] == "Set a memory limit on sidecar."
    assert limits["figure"] == ("backend: limits memory 256Mi, cpu none; requests memory none, cpu none; "
                                "sidecar: limits memory none, cpu none; requests memory none, cpu none")
    assert grade([usage("b-1", 10)])["k8s.container_limits"]["status"] == "OK"


def test_an_unreadable_deployment_is_one_kubernetes_finding():
    found = memory_findings(dict(K8S, error="Kubernetes API: 403 Forbidden"), thresholds=T, target=TARGET)
    assert [f["check"] for f in found] == ["kubernetes.api"]
    assert found[0]["status"] == "FAIL" and found[0]["evidence"] == ["Kubernetes API: 403 Forbidden"]


def test_evidence_is_capped():
    rows = [usage("b-%d" % i, 10) for i in range(30)]
    assert len(grade(rows, evidence_limit=5)["k8s.container_memory"]["evidence"]) == 5
