"""CI/CD stage patterns (ci/pipeline-stage.sh) run here against the lab: exit codes, JUnit XML
and JSON reports as artefacts.

The commands are read from the example pipelines (docs/ci/github-actions.yml and
docs/ci/gitlab-ci.yml, which must call the same ones) and run with the lab as the environment,
a test image, and a throw-away vault password file. The deploy and post-deploy stages get one
more ansible-playbook argument, `-e @target.yml`: they work on a private namespace of the lab's
Kubernetes API stand-in (its own clickview-backend Deployment, deleted afterwards) with short
canary and verification windows, so other tests' clickview-backend is left alone. Their metrics
and health URL are those of a private copy of the lab's sample backend scraped by a private
Prometheus (the `metrics` fixture of test_deployment; as in the lab inventory, the sample
backend's series stand for the deployment's, the stand-in's pods cannot be scraped), so other
tests' faults on the shared sample backend do not decide these runs, and this test's faults do
not disturb theirs.
"""
import json
import shlex
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest
import yaml
from kubernetes import client, config

from conftest import ROOT, ansible_env, grant_the_operator
from test_deployment import metrics  # noqa: F401  pylint: disable=unused-import  # a module-scoped fixture

PIPELINES = {"github": ROOT / "docs" / "ci" / "github-actions.yml", "gitlab": ROOT / "docs" / "ci" / "gitlab-ci.yml"}
PLACEHOLDERS = {"github": {'"$ENVIRONMENT"': "ENV", '"$IMAGE"': "IMAGE"},
                "gitlab": {'"$ENVIRONMENT"': "ENV", '"$IMAGE"': "IMAGE"}}
REPO = "registry.clickview.lab/clickview-backend"
KUBECONFIG = ROOT / "lab" / ".state" / "kubeconfig"


def pipeline_commands(name):
    """The ci/pipeline-stage.sh commands of an example pipeline, in order, with ENV and IMAGE placeholders."""
    data = yaml.safe_load(PIPELINES[name].read_text(encoding="utf-8"))
    if name == "github":
        lines = [step.get("run", "") for job in data["jobs"].values() for step in job["steps"]]
    else:
        lines = [line for job in data.values() if isinstance(job, dict) for line in job.get("script", [])]
    commands = []
    for line in lines:
        if line.startswith("ci/pipeline-stage.sh "):
            for placeholder, word in PLACEHOLDERS[name].items():
                line = line.replace(placeholder, word)
            commands.append(shlex.split(line))
    return commands


def command(stage, tmp_path, image=None):
    """The example pipelines' command for a stage, for the lab: ENV=local, IMAGE=image, a vault password file in tmp_path."""
    found = [c for c in pipeline_commands("github") if c[1] == stage]
    assert len(found) == 1, f"the example pipelines call stage {stage} once"
    vault = tmp_path / "vault_pass"
    vault.write_text("lab-only-not-a-secret\n", encoding="utf-8")
    words = {"ENV": "local", "IMAGE": image, ".vault_pass": str(vault)}
    return [words.get(word, word) for word in found[0]]


def run_stage(argv, artifacts, *extra):
    env = ansible_env(ARTIFACTS_DIR=str(artifacts))
    return subprocess.run([str(ROOT / argv[0]), *argv[1:], *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def junit(artifacts, playbook):
    """Test cases of the junit callback's file for one playbook run, and (case, failure-or-error) pairs."""
    files = list((artifacts / "junit").glob(playbook + "-*.xml"))
    assert len(files) == 1, f"one JUnit file for {playbook}: {files}"
    cases = list(ET.parse(files[0]).getroot().iter("testcase"))
    # the junit callback reports a failed task as an <error> (a <failure> only for test-case-prefixed tasks)
    failed = [(c, c.find("failure") if c.find("failure") is not None else c.find("error")) for c in cases]
    return cases, [(case, element) for case, element in failed if element is not None]


def report(artifacts, kind):
    return json.loads((artifacts / f"{kind}-local-latest.json").read_text(encoding="utf-8"))


def test_example_pipelines_call_the_same_stages():
    github, gitlab = pipeline_commands("github"), pipeline_commands("gitlab")
    assert github == gitlab
    assert [c[1] for c in github] == ["pre-deploy-gate", "deploy", "post-deploy-verify"]
    assert all(c[2] == "ENV" for c in github)
    assert [c[3] for c in github[1:]] == ["IMAGE", "IMAGE"]
    for name, path in PIPELINES.items():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        text = json.dumps(data)
        assert "reports/ci" in text and "ARTIFACTS_DIR" in text, f"{name}: the artefacts (reports, JUnit) are kept"


def test_pre_deploy_gate_passes_on_a_healthy_lab(tmp_path, quiet_lab):  # pylint: disable=unused-argument
    proc = run_stage(command("pre-deploy-gate", tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    cases, failed = junit(tmp_path, "health_check")
    assert any("Fail when a check is FAIL" in case.get("name") for case in cases)
    assert not failed
    assert report(tmp_path, "health-check")["overall"] == "OK"


@pytest.fixture
def sample_app_faults(lab):
    url = f"http://127.0.0.1:{lab['services']['sample_app']['port']}/admin/faults"

    def post(body):
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
        urllib.request.urlopen(req, timeout=5).close()

    yield post
    post({})


def test_pre_deploy_gate_blocks_the_pipeline_when_a_check_fails(tmp_path, sample_app_faults):
    sample_app_faults({"healthy": False})
    proc = run_stage(command("pre-deploy-gate", tmp_path), tmp_path)
    assert proc.returncode == 2, proc.stdout[-3000:]
    _cases, failed = junit(tmp_path, "health_check")
    assert len(failed) == 1, "exactly the gate's fail task must be marked failed in the JUnit file"
    case, element = failed[0]
    assert "Fail when a check is FAIL" in case.get("name")
    assert "api.health" in element.get("message", "") + (element.text or "")
    assert {c["check"]: c["status"] for c in report(tmp_path, "health-check")["checks"]}["api.health"] == "FAIL"


def test_bad_usage_is_refused(tmp_path):
    for args in (["deploy-everything", "local"], ["deploy", "local"], ["deploy", "nowhere", REPO + ":1"]):
        proc = run_stage(["ci/pipeline-stage.sh", *args], tmp_path)
        assert proc.returncode == 64 and "usage" in proc.stderr, (args, proc.stderr)
    assert not (tmp_path / "junit").exists(), "refused before any playbook ran"


# ---- deploy and post-deploy verification on a private namespace of the lab's stand-in ----------

@pytest.fixture
def private_backend(tmp_path, metrics):  # noqa: F811  pylint: disable=redefined-outer-name
    """Namespace ci-<random> in the lab's stand-in with a 2-replica clickview-backend at :1.4.0,
    and the extra ansible-playbook argument that points the stages at it."""
    api = config.new_client_from_config(config_file=str(KUBECONFIG), context="clickview-lab")
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    ns = "ci-" + uuid.uuid4().hex[:8]
    labels = {"app": "clickview-backend", "tier": "backend"}
    core.create_namespace({"metadata": {"name": ns}})
    grant_the_operator(api, ns)
    try:
        apps.create_namespaced_deployment(ns, {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "clickview-backend", "labels": labels},
            "spec": {"replicas": 2, "progressDeadlineSeconds": 60, "selector": {"matchLabels": {"app": "clickview-backend"}},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "backend", "image": REPO + ":1.4.0", "ports": [{"containerPort": 8080}]}]}}}})
        target = tmp_path / "target.yml"
        target.write_text(yaml.safe_dump({
            "clickview_k8s_namespace": ns, "clickview_k8s_deployments": ["clickview-backend"],
            "deployment_canary_analysis_seconds": 6, "deployment_canary_sample_interval": 3,
            "deployment_verify_seconds": 6, "deployment_verify_sample_interval": 3,
            "deployment_rollout_timeout": 60, "deployment_poll_interval": 1,
            "deployment_prometheus_url": metrics["prometheus"], "deployment_verify_health_url": metrics["app"] + "/health"}),
            encoding="utf-8")
        deadline = time.monotonic() + 60
        while (apps.read_namespaced_deployment("clickview-backend", ns).status.available_replicas or 0) < 2:
            assert time.monotonic() < deadline, "the private clickview-backend did not become available"
            time.sleep(1)
        yield {"namespace": ns, "apps": apps, "core": core, "extra": ["-e", "@" + str(target)],
               "faults": metrics["faults"], "prometheus": metrics["prometheus"]}
    finally:
        core.delete_namespace(ns)


def running(backend):
    dep = backend["apps"].read_namespaced_deployment("clickview-backend", backend["namespace"])
    pods = backend["core"].list_namespaced_pod(backend["namespace"], label_selector="app=clickview-backend").items
    return (dep.spec.template.spec.containers[0].image, int(dep.metadata.annotations["deployment.kubernetes.io/revision"]),
            sorted({p.spec.containers[0].image for p in pods}))


def error_ratio(prometheus, window="30s"):
    query = (f'(sum(rate(http_requests_total{{job="clickview-backend",status=~"5.."}}[{window}])) or vector(0))'
             f' / sum(rate(http_requests_total{{job="clickview-backend"}}[{window}]))')
    url = f"{prometheus}/api/v1/query?query={urllib.parse.quote(query)}"
    with urllib.request.urlopen(url, timeout=5) as resp:
        result = json.load(resp)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_deploy_and_verify_pass_then_a_bad_deploy_is_rolled_back(tmp_path, private_backend):  # pylint: disable=redefined-outer-name
    """Deploy 1.5.0 (canary, promoted) and verify it (passes); deploy 1.6.0 (canary passes), then it goes bad
    (5xx from the backend): the verification fails, rolls back to 1.5.0 and exits non-zero."""
    extra, faults = private_backend["extra"], private_backend["faults"]
    faults()                                    # healthy: 0.5 % errors, ~80 ms

    good = tmp_path / "good"
    for stage in ("deploy", "post-deploy-verify"):
        proc = run_stage(command(stage, tmp_path, REPO + ":1.5.0"), good, *extra)
        assert proc.returncode == 0, (stage, proc.stdout[-4000:] + proc.stderr[-2000:])
    for playbook in ("deploy_canary", "deploy_verify"):
        cases, failed = junit(good, playbook)
        assert cases and not failed, (playbook, [case.get("name") for case, _element in failed])
    canary, verify = report(good, "deploy-canary"), report(good, "deploy-verify")
    assert canary["details"]["decision"] == "promote" and canary["namespace"] == private_backend["namespace"]
    assert verify["details"]["decision"] == "pass" and verify["overall"] != "FAIL" and not verify["actions"]
    assert {c["check"]: c["status"] for c in verify["checks"]}["verify.image"] == "OK"
    assert len(verify["details"]["samples"]) == 3 and all(s["health_status"] == 200 for s in verify["details"]["samples"])
    assert running(private_backend) == (REPO + ":1.5.0", 2, [REPO + ":1.5.0"])

    bad = tmp_path / "bad"
    proc = run_stage(command("deploy", tmp_path, REPO + ":1.6.0"), bad, *extra)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert running(private_backend)[:2] == (REPO + ":1.6.0", 3)
    faults(error_rate=0.5)                      # the new version turns bad under full traffic
    deadline = time.monotonic() + 60
    while (error_ratio(private_backend["prometheus"]) or 0) < 0.1:
        assert time.monotonic() < deadline, "Prometheus did not see the raised error rate"
        time.sleep(2)
    try:
        proc = run_stage(command("post-deploy-verify", tmp_path, REPO + ":1.6.0"), bad, *extra)
    finally:
        faults()
    assert proc.returncode == 2, proc.stdout[-4000:]

    _cases, failed = junit(bad, "deploy_verify")
    assert len(failed) == 1, [case.get("name") for case, _element in failed]
    case, element = failed[0]
    assert "Fail when a check is FAIL" in case.get("name")
    assert "verify.error_ratio" in element.get("message", "") + (element.text or "")
    verify = report(bad, "deploy-verify")
    checks = {c["check"]: c for c in verify["checks"]}
    assert verify["overall"] == "FAIL" and checks["verify.error_ratio"]["status"] == "FAIL"
    assert checks["verify.rollback"]["status"] == "OK"
    assert verify["details"]["decision"] == "rollback"
    assert verify["details"]["revision_verified"] == 3 and verify["details"]["rolled_back_to_revision"] == 2
    assert verify["details"]["image_after"] == [REPO + ":1.5.0"]
    assert verify["actions"][0]["action"] == "rollback" and "error_ratio" in verify["actions"][0]["summary"]
    assert len(verify["details"]["samples"]) == 1, "stopped at the first bad sample"
    # what runs afterwards: 1.5.0 again, as a new revision (Kubernetes renumbers the revision rolled back to)
    assert running(private_backend) == (REPO + ":1.5.0", 4, [REPO + ":1.5.0"])
    history = {h["revision"]: h for h in verify["details"]["history"]}
    assert history[4]["current"] and history[4]["images"] == [REPO + ":1.5.0"]
    assert "post-deploy verification failed" in history[4]["change_cause"]
    assert (bad / "deploy-verify-local-latest.md").read_text(encoding="utf-8").startswith(
        "# Post-deploy verification of clickview-backend: FAIL")
