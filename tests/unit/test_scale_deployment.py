"""scale_deployment: the scale procedure's refusal (before anything changes) and its graded result."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.scale_deployment import scale_deployment

DEPLOYMENTS = [{"metadata": {"name": "clickview-frontend"}}, {"metadata": {"name": "clickview-backend"}}]
HPAS = [
    # an HPA of a StatefulSet of the same name does not manage the Deployment
    {"metadata": {"name": "other"},
     "spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "clickview-backend"}, "minReplicas": 5, "maxReplicas": 6}},
    {"metadata": {"name": "clickview-backend"},
     "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "clickview-backend"}, "minReplicas": 3, "maxReplicas": 10}},
]
BOUNDS = {"min": 1, "max": 20}


def refusal(name="clickview-frontend", replicas=4, **kwargs):
    options = dict(bounds=BOUNDS, namespace="clickview", hpas=HPAS)
    options.update(kwargs)
    return scale_deployment(DEPLOYMENTS, "refusal", name=name, replicas=replicas, **options)


def test_a_scale_within_every_bound_may_go_ahead():
    assert refusal() == ""
    assert refusal("clickview-backend", 3) == "" and refusal("clickview-backend", 10) == ""   # the HPA's own range


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "clickview-nope"}, "scaling_deployment: Deployment clickview-nope does not exist in namespace clickview "
                                 "(Deployments there: clickview-frontend, clickview-backend)"),
    ({"replicas": 0}, "scaling_replicas: refusing to scale clickview-frontend to 0, which stops it; "
                      "set scaling_allow_zero=true if that is meant"),
    ({"replicas": 0, "allow_zero": True}, "scaling_replicas: 0 is outside the bounds of clickview-frontend (1 to 20, scaling_replica_bounds)"),
    ({"replicas": 21}, "scaling_replicas: 21 is outside the bounds of clickview-frontend (1 to 20, scaling_replica_bounds)"),
    ({"name": "clickview-backend", "replicas": 15}, "scaling_replicas: HPA clickview-backend manages clickview-backend within 3 to 10 "
                                                    "replicas and would undo 15; change the HPA (scale_hpa_max.yml) or set "
                                                    "scaling_respect_hpa=false"),
    ({"name": "clickview-backend", "replicas": 2}, "HPA clickview-backend manages clickview-backend within 3 to 10"),
])
def test_refusals_name_the_variable_to_change(kwargs, message):
    assert message in refusal(**kwargs)


def test_zero_is_allowed_when_asked_and_in_bounds_and_the_hpa_can_be_overridden():
    assert refusal(replicas=0, allow_zero=True, bounds={"min": 0, "max": 10}) == ""
    assert refusal("clickview-backend", 15, respect_hpa=False) == ""


def test_an_hpa_without_min_replicas_defaults_to_one():
    hpas = [{"metadata": {"name": "h"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "clickview-frontend"},
                                                 "maxReplicas": 4}}]
    assert refusal(replicas=1, hpas=hpas) == "" and "within 1 to 4" in refusal(replicas=5, hpas=hpas)


def after(replicas, ready):
    return {"spec": {"replicas": replicas}, "status": {"readyReplicas": ready} if ready is not None else {}}


def result(deployment, replicas=4, **kwargs):
    options = dict(bounds={"min": 1, "max": 10}, before=2, wait_timeout=120)
    options.update(kwargs)
    return scale_deployment(deployment, "result", name="clickview-frontend", replicas=replicas, **options)


def test_every_replica_ready_is_ok_with_their_number():
    row = result(after(4, 4))
    assert (row["check"], row["target"], row["status"]) == ("scale.replicas_ready", "deployment/clickview-frontend", "OK")
    assert row["figure"] == "4 of 4 replicas ready (was 2)"
    assert row["threshold"] == "4 ready within 120 s (bounds 1 to 10)"
    assert (row["value"], row["unit"]) == (4, "pods")


@pytest.mark.parametrize("deployment, scaled, figure, value", [
    (after(4, 3), {"failed": True, "msg": "Resource scaling timed out"}, "3 of 4 replicas ready (was 2): Resource scaling timed out", 3),
    (after(4, None), None, "0 of 4 replicas ready (was 2)", 0),
    (after(2, 2), {"failed": True, "msg": "forbidden"}, "2 of 2 replicas ready (was 2): forbidden", 2),   # not scaled at all
])
def test_missing_replicas_fail_with_the_scales_error(deployment, scaled, figure, value):
    row = result(deployment, scaled=scaled)
    assert row["status"] == "FAIL" and row["figure"] == figure and row["value"] == value


def test_check_mode_says_what_would_scale():
    row = result({}, check_mode=True)
    assert row["status"] == "OK" and row["figure"] == "check mode: would scale from 2 to 4" and row["value"] is None


@pytest.mark.parametrize("step, bounds, message", [("rescale", BOUNDS, "step must be refusal or result"),
                                                   ("refusal", None, "bounds must be a dictionary")])
def test_bad_step_or_bounds_is_named(step, bounds, message):
    with pytest.raises(AnsibleFilterError, match=message):
        scale_deployment(DEPLOYMENTS, step, name="x", replicas=1, bounds=bounds)
