"""CI/CD stage patterns (ci/pipeline-stage.sh, called by docs/ci/*.yml) run here against the lab:
exit code, JUnit XML and reports as artefacts."""
import json
import os
import subprocess
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, ansible_env


def stage(tmp_path, *args):
    env = ansible_env(ARTIFACTS_DIR=str(tmp_path))
    return subprocess.run([str(ROOT / "ci" / "pipeline-stage.sh"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def junit_cases(tmp_path):
    files = list((tmp_path / "junit").glob("*.xml"))
    assert files, "the junit callback wrote no XML"
    cases = []
    for path in files:
        cases += ET.parse(path).getroot().iter("testcase")
    return cases


def test_pre_deploy_gate_passes_on_a_healthy_lab(tmp_path, quiet_lab):  # pylint: disable=unused-argument
    proc = stage(tmp_path, "pre-deploy-gate", "local")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    cases = junit_cases(tmp_path)
    assert any("Daily health check" in case.get("classname", "") + case.get("name", "") or "health" in case.get("name", "").lower()
               for case in cases)
    assert not [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    report = json.loads((tmp_path / "health-check-local-latest.json").read_text())
    assert report["overall"] == "OK"


@pytest.fixture
def backend_unhealthy(lab):
    url = f"http://127.0.0.1:{lab['services']['sample_app']['port']}/admin/faults"

    def post(body):
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
        urllib.request.urlopen(req, timeout=5).close()

    post({"healthy": False})
    yield
    post({})


def test_pre_deploy_gate_blocks_the_pipeline_when_a_check_fails(tmp_path, backend_unhealthy):
    proc = stage(tmp_path, "pre-deploy-gate", "local")
    assert proc.returncode != 0
    # the junit callback reports a failed task as an <error> (a <failure> only for test-case-prefixed tasks)
    failed = [(c, c.find("failure") if c.find("failure") is not None else c.find("error")) for c in junit_cases(tmp_path)]
    failed = [(case, element) for case, element in failed if element is not None]
    assert len(failed) == 1, "exactly the gate's fail task must be marked failed in the JUnit file"
    case, element = failed[0]
    assert "Fail when a check is FAIL" in case.get("name")
    assert "api.health" in element.get("message", "") + (element.text or "")
    report = json.loads((tmp_path / "health-check-local-latest.json").read_text())
    assert {c["check"]: c["status"] for c in report["checks"]}["api.health"] == "FAIL"


def test_unknown_stage_is_refused(tmp_path):
    proc = stage(tmp_path, "deploy-everything", "local")
    assert proc.returncode == 2 and "unknown stage" in proc.stderr
    assert not os.listdir(tmp_path / "junit")
