"""Shared test helpers: the lab's configuration and running modules/playbooks for real."""
import json
import os
import subprocess
import sys
import tempfile
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
