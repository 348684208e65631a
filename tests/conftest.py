"""Shared test helpers: the lab's configuration and running modules/playbooks for real."""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"

# make `ansible_collections.clickview.runbook.plugins...` importable for unit tests
# (.collections/ansible_collections/clickview/runbook is a link to this checkout: make collection)
if str(ROOT / ".collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".collections"))


def lab_config():
    with open(ROOT / "lab" / "lab.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def ansible_env(**extra):
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
        PATH=f"{VENV_BIN}:{ROOT / '.tools' / 'bin'}:{env.get('PATH', '')}",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=str(VENV_BIN / "python"),
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_playbook(playbook, inventory="inventory/local", extra_vars=None, check=False,
                 diff=False, json_output=True, env=None, timeout=600):
    """Run ansible-playbook from the repo root; returns (returncode, parsed json or text)."""
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", inventory, str(playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    extra_env = dict(env or {})
    if json_output:
        extra_env.update(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(**extra_env), capture_output=True,
                          text=True, timeout=timeout, check=False)
    if not json_output:
        return proc.returncode, proc.stdout + proc.stderr
    try:
        return proc.returncode, json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}") from None


def run_module(module, args, check=False, diff=False, env=None):
    """Run one module task on localhost through ansible-playbook; return its result dict."""
    play = [{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "tasks": [{"name": "module under test", module: args, "ignore_errors": True}],
    }]
    with tempfile.NamedTemporaryFile("w", prefix="clickview-test-", suffix=".yml", delete=False) as handle:
        yaml.safe_dump(play, handle)
        path = handle.name
    try:
        _rc, out = run_playbook(path, inventory="localhost,", check=check, diff=diff, env=env)
    finally:
        os.unlink(path)
    return out["plays"][0]["tasks"][0]["hosts"]["localhost"]


@pytest.fixture(scope="session")
def lab():
    return lab_config()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    """In `make test` (CLICKVIEW_STRICT_SKIPS=1) a skipped test is a failure: a test that did
    not run must not be counted as passing (for example because a lab service was down)."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CLICKVIEW_STRICT_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped during make test, which must run every test: {reason}"


def wait_for_quiet_lab(timeout=150):
    """Reset the sample backend's faults and wait until Prometheus's 1-minute error ratio is
    back under 2 % and Alertmanager has no active alert: earlier tests raise faults on purpose,
    and a test of the healthy lab must start from a healthy lab."""
    import urllib.parse  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel
    cfg = lab_config()["services"]
    req = urllib.request.Request(f"http://127.0.0.1:{cfg['sample_app']['port']}/admin/faults", data=b"{}", method="POST")
    urllib.request.urlopen(req, timeout=5).close()
    query = 'sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))'
    prom = f"http://127.0.0.1:{cfg['prometheus']['port']}/api/v1/query?query={urllib.parse.quote(query)}"
    alerts = f"http://127.0.0.1:{cfg['alertmanager']['port']}/api/v2/alerts?active=true"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(prom, timeout=5) as resp:
            result = json.load(resp)["data"]["result"]
        with urllib.request.urlopen(alerts, timeout=5) as resp:
            firing = json.load(resp)
        if result and float(result[0]["value"][1]) < 0.02 and not firing:
            return
        time.sleep(2)
    raise AssertionError("the lab did not become healthy again within %ss (error ratio %s, alerts %s)"
                         % (timeout, result, [a["labels"].get("alertname") for a in firing]))


@pytest.fixture
def quiet_lab():
    wait_for_quiet_lab()
