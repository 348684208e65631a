"""The scaling role's Kubernetes procedures against a private Kubernetes API stand-in.

The stand-in (seeded clickview namespace, fast simulated time) runs on a free port with its own state, started by
the `standin` fixture of test_k8s_rollback, so these tests neither disturb nor depend on the shared lab's instance.
Each test asserts the outcome on the API objects and in the report, and that refused or check-mode runs leave the
objects' resourceVersions unchanged.
"""
import json

import pytest
from kubernetes import client, config

from conftest import run_playbook
from test_k8s_rollback import standin  # noqa: F401  pylint: disable=unused-import  # a module-scoped fixture

NS = "clickview"
PREFIX = "runbook.clickview.app/"


@pytest.fixture(scope="module")
def api(standin):  # noqa: F811  pylint: disable=redefined-outer-name
    return config.new_client_from_config(config_file=standin, context="clickview-lab")


@pytest.fixture
def play(standin, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    def run(playbook, check=False, **extra):
        extra_vars = {"clickview_k8s_kubeconfig": standin, "clickview_report_dir": str(tmp_path)}
        extra_vars.update(extra)
        rc, out = run_playbook("playbooks/" + playbook, extra_vars=extra_vars, check=check, json_output=False)
        return rc, out
    run.report = lambda kind: json.loads((tmp_path / ("%s-local-latest.json" % kind)).read_text())
    return run


def deployment(api, name):
    return client.AppsV1Api(api).read_namespaced_deployment(name, NS)


def hpa(api, name="clickview-backend"):
    return client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler(name, NS)


def hpa_written(api):
    """What a write to the HPA would change: its generation (spec) and annotations. (Its resourceVersion also
    moves when the HPA controller updates the status, so it cannot tell a write by the runbook apart.)"""
    h = hpa(api)
    return h.metadata.generation, h.spec.max_replicas, h.metadata.annotations


def test_scale_frontend_up_and_down_waits_for_ready_replicas(api, play):
    rc, out = play("scale_frontend.yml", scaling_replicas=4)
    assert rc == 0, out
    d = deployment(api, "clickview-frontend")
    assert d.spec.replicas == 4 and d.status.ready_replicas == 4
    report = play.report("scale-clickview-frontend")
    assert report["overall"] == "OK"
    assert report["actions"][0]["before"] == 2 and report["actions"][0]["after"] == 4

    rc, out = play("scale_deployment.yml", scaling_deployment="clickview-frontend", scaling_replicas=1)
    assert rc == 0, out
    d = deployment(api, "clickview-frontend")
    assert d.spec.replicas == 1 and d.status.ready_replicas == 1


@pytest.mark.parametrize("extra, words", [
    ({"scaling_deployment": "clickview-frontend", "scaling_replicas": 0}, ["refusing to scale clickview-frontend to 0"]),
    ({"scaling_deployment": "clickview-frontend", "scaling_replicas": 11}, ["11 is outside the bounds", "1 to 10"]),
    ({"scaling_deployment": "clickview-backend", "scaling_replicas": 15}, ["HPA clickview-backend", "3 to 10"]),
    ({"scaling_deployment": "clickview-nope", "scaling_replicas": 2}, ["clickview-nope does not exist"]),
])
def test_bad_input_refused_before_anything_changes(api, play, extra, words):
    before = {n: deployment(api, n).metadata.resource_version for n in ("clickview-frontend", "clickview-backend")}
    rc, out = play("scale_deployment.yml", **extra)
    assert rc != 0
    for word in words:
        assert word in out, out
    assert "Nothing was changed" in out
    assert {n: deployment(api, n).metadata.resource_version for n in before} == before


def test_zero_allowed_only_when_asked(api, play):
    rc, out = play("scale_deployment.yml", scaling_deployment="clickview-frontend", scaling_replicas=0,
                   scaling_allow_zero=True, scaling_replica_bounds={"clickview-frontend": {"min": 0, "max": 10}})
    assert rc == 0, out
    assert deployment(api, "clickview-frontend").spec.replicas == 0
    rc, out = play("scale_frontend.yml", scaling_replicas=2)
    assert rc == 0, out


def test_hpa_temporary_max_recorded_and_restored(api, play):
    assert hpa(api).spec.max_replicas == 10
    rc, out = play("scale_hpa_max.yml", scaling_hpa_max_replicas=15, scaling_hpa_reason="launch day")
    assert rc == 0, out
    h = hpa(api)
    assert h.spec.max_replicas == 15
    assert h.metadata.annotations[PREFIX + "previous-max-replicas"] == "10"
    assert h.metadata.annotations[PREFIX + "max-replicas-reason"] == "launch day"

    # a second change keeps the value from before the first one
    rc, out = play("scale_hpa_max.yml", scaling_hpa_max_replicas=20)
    assert rc == 0, out
    assert hpa(api).spec.max_replicas == 20
    assert hpa(api).metadata.annotations[PREFIX + "previous-max-replicas"] == "10"

    rc, out = play("hpa_status.yml")
    assert rc == 0, out
    status = play.report("hpa-status")
    row = [c for c in status["checks"] if c["target"].startswith("hpa/clickview-backend")][0]
    assert row["status"] == "WARN" and "previous 10" in row["figure"] and "max 20" in row["figure"]

    rc, out = play("scale_hpa_restore.yml")
    assert rc == 0, out
    h = hpa(api)
    assert h.spec.max_replicas == 10
    assert PREFIX + "previous-max-replicas" not in (h.metadata.annotations or {})
    assert play.report("hpa-restore")["actions"][0]["after"] == 10

    # nothing recorded any more: nothing to restore, nothing changed
    before = hpa_written(api)
    rc, out = play("scale_hpa_restore.yml")
    assert rc == 0, out
    assert play.report("hpa-restore")["checks"][0]["status"] == "WARN"
    assert hpa_written(api) == before


def test_hpa_max_out_of_range_refused(api, play):
    before = hpa_written(api)
    rc, out = play("scale_hpa_max.yml", scaling_hpa_max_replicas=2)
    assert rc != 0 and "at least its minReplicas (3)" in out, out
    rc, out = play("scale_hpa_max.yml", scaling_hpa_name="nope", scaling_hpa_max_replicas=12)
    assert rc != 0 and "HPA 'nope' does not exist" in out, out
    assert hpa_written(api) == before


def test_check_mode_changes_nothing(api, play):
    before = (deployment(api, "clickview-frontend").metadata.resource_version, hpa_written(api))
    rc, out = play("scale_frontend.yml", check=True, scaling_replicas=5)
    assert rc == 0, out
    assert "would scale deployment/clickview-frontend from 2 to 5" in out
    rc, out = play("scale_hpa_max.yml", check=True, scaling_hpa_max_replicas=12)
    assert rc == 0, out
    assert (deployment(api, "clickview-frontend").metadata.resource_version, hpa_written(api)) == before
