"""plugins/filter/hpa_checks.py: how each HorizontalPodAutoscaler is graded in the HPA status report."""
from ansible_collections.clickview.runbook.plugins.filter.hpa_checks import hpa_checks

PREFIX = "runbook.clickview.app"


def hpa(name="backend", current=3, minimum=2, maximum=10, conditions=None, annotations=None, metrics=None,
        current_metrics=None, status=True):
    obj = {"metadata": {"name": name, "annotations": annotations},
           "spec": {"minReplicas": minimum, "maxReplicas": maximum,
                    "scaleTargetRef": {"kind": "Deployment", "name": "clickview-" + name},
                    "metrics": metrics if metrics is not None else [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 70}}}]}}
    if status:
        obj["status"] = {"currentReplicas": current, "desiredReplicas": current, "conditions": conditions or [],
                         "currentMetrics": current_metrics if current_metrics is not None else [
                             {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40}}}]}
    return obj


def cond(kind, status, reason="Reason", message=None):
    out = {"type": kind, "status": status, "reason": reason}
    if message is not None:
        out["message"] = message
    return out


def one(obj, **kwargs):
    return hpa_checks([obj], annotation_prefix=PREFIX, **kwargs)[0]


def test_healthy_hpa_is_ok_with_its_bounds_and_metric():
    row = one(hpa())
    assert row["status"] == "OK"
    assert row["target"] == "hpa/backend → deployment/clickview-backend"
    assert row["figure"] == "3 replicas (desired 3, min 2, max 10), cpu 40% / target 70%"


def test_at_min_replicas_is_ok():
    assert one(hpa(current=2, minimum=2))["status"] == "OK"


def test_one_below_max_is_ok_and_at_max_warns():
    assert one(hpa(current=9))["status"] == "OK"
    row = one(hpa(current=10, conditions=[cond("ScalingLimited", "True", "TooManyReplicas")]))
    assert row["status"] == "WARN"
    assert row["figure"].endswith(", at its maximum, TooManyReplicas")


def test_not_able_to_scale_fails_even_at_max():
    row = one(hpa(current=10, conditions=[cond("AbleToScale", "False", "FailedGetScale", "no deployment")]))
    assert row["status"] == "FAIL"
    assert "AbleToScale False: no deployment" in row["figure"]
    row = one(hpa(conditions=[cond("AbleToScale", "False", "FailedGetScale")]))
    assert "AbleToScale False: FailedGetScale" in row["figure"]


def test_able_to_scale_true_does_not_fail():
    assert one(hpa(conditions=[cond("AbleToScale", "True")]))["status"] == "OK"


def test_no_metric_available_warns():
    row = one(hpa(conditions=[cond("ScalingActive", "False", "FailedGetResourceMetric")], current_metrics=[]))
    assert row["status"] == "WARN"
    assert "cpu ?% / target 70%" in row["figure"]
    assert "ScalingActive False: FailedGetResourceMetric" in row["figure"]


def test_temporary_max_pending_warns_with_previous_value():
    row = one(hpa(maximum=20, annotations={PREFIX + "/previous-max-replicas": "10",
                                           PREFIX + "/max-replicas-changed-at": "2025-01-01T00:00:00Z"}))
    assert row["status"] == "WARN"
    assert "max 20" in row["figure"]
    assert "temporary maxReplicas since 2025-01-01T00:00:00Z (previous 10;" in row["figure"]


def test_hpa_without_status_yet_counts_zero_replicas():
    row = one(hpa(status=False))
    assert row["status"] == "OK"
    assert row["figure"] == "0 replicas (desired ?, min 2, max 10), cpu ?% / target 70%"
    assert row["detail"] == []


def test_only_resource_metrics_are_listed():
    row = one(hpa(metrics=[{"type": "Pods", "pods": {}}]))
    assert "no resource metric" in row["figure"]


def test_names_select_hpas_and_empty_means_all():
    hpas = [hpa("backend"), hpa("frontend")]
    assert [r["target"].split()[0] for r in hpa_checks(hpas, ["frontend"], PREFIX)] == ["hpa/frontend"]
    assert len(hpa_checks(hpas, [], PREFIX)) == 2
    assert hpa_checks([], [], PREFIX) == []


def test_the_value_is_the_current_replicas():
    row = one(hpa(current=7))
    assert (row["value"], row["unit"]) == (7, "pods")
