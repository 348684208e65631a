"""The CI examples (docs/ci/github-actions.yml, docs/ci/gitlab-ci.yml) and ci/pipeline-stage.sh
keep the vault password and the encrypted vault.yml out of the checkout, and remove what they
write whatever happens (issue 17, "Production trust").

Statically: no example step writes or copies a file in the checkout; the secrets reach only the
stage commands, through the environment; a cleanup runs always (`if: always()`, `after_script`).
Then ci/pipeline-stage.sh runs with a stand-in ansible-playbook (no lab needed): the secrets are in
a private folder outside the checkout while it runs, passed as --vault-password-file and
-e @vault.yml, not in its environment, and gone when the script ends - passed, failed or killed.
"""
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"
STAGE = ROOT / "ci" / "pipeline-stage.sh"
SECRET = re.compile(r"secrets\.|VAULT_PASSWORD|VAULT_FILE|VAULT_YML")
# a redirection and its target; only the runner's own files may be written
REDIRECT = re.compile(r">>?\s*\"?([^\s\"]+)")
RUNNER_FILES = ("$GITHUB_PATH", "$GITHUB_ENV", "$GITHUB_OUTPUT", "$GITHUB_STEP_SUMMARY", "/dev/null", "&2")


def github_steps():
    data = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    return [step for job in data["jobs"].values() for step in job["steps"]]


def gitlab():
    return yaml.safe_load(GITLAB.read_text(encoding="utf-8"))


def gitlab_lines(section):
    data = gitlab()
    jobs = [data["default"]] + [job for job in data.values() if isinstance(job, dict) and "stage" in job]
    return [line for job in jobs for line in job.get(section, [])]


def shell_lines():
    return [("github", line) for step in github_steps() for line in step.get("run", "").splitlines()] + \
        [("gitlab", line) for section in ("before_script", "script", "after_script") for line in gitlab_lines(section)]


def test_no_example_writes_a_file_in_the_checkout():
    for where, line in shell_lines():
        for target in REDIRECT.findall(line):
            assert target.startswith(RUNNER_FILES), f"{where}: `{line}` writes {target}"
        assert not re.search(r"\b(cp|tee|install|mv|dd)\b", line), f"{where}: `{line}` copies a file"
        assert ".vault_pass" not in line and "group_vars" not in line and "vault.yml" not in line, f"{where}: `{line}`"


def test_secrets_reach_only_the_stage_commands_in_the_environment():
    stages = 0
    for step in github_steps():
        run = step.get("run", "")
        assert not SECRET.search(run) or run.startswith("rm "), f"a secret in the command `{run}`: use env"
        env = json.dumps(step.get("env", {}))
        if SECRET.search(env):
            assert run.startswith("ci/pipeline-stage.sh "), f"secrets given to `{run or step.get('uses')}`"
            assert set(step["env"]) == {"CLICKVIEW_VAULT_PASSWORD", "CLICKVIEW_VAULT_YML"}
            stages += 1
    assert stages == 3
    data = gitlab()
    assert data["variables"]["CLICKVIEW_VAULT_PASSWORD"] == "$ANSIBLE_VAULT_PASSWORD"
    assert data["variables"]["CLICKVIEW_VAULT_FILE"] == "$ANSIBLE_VAULT_FILE"
    for line in gitlab_lines("script"):
        assert not SECRET.search(line) and "--vault" not in line, line
    for line in gitlab_lines("before_script"):
        assert not SECRET.search(line), line


def test_a_cleanup_always_runs():
    cleanup = [s for s in github_steps() if s.get("if") == "always()" and "run" in s]
    assert any('rm -rf "$RUNNER_TEMP"/clickview-vault.*' in s["run"] for s in cleanup)
    steps = github_steps()
    assert steps.index(cleanup[0]) > max(i for i, s in enumerate(steps) if s.get("run", "").startswith("ci/pipeline-stage.sh"))
    assert any('rm -f -- "$ANSIBLE_VAULT_FILE"' in line for line in gitlab()["default"]["after_script"])
    text = STAGE.read_text(encoding="utf-8")
    assert "trap 'rm -rf \"$secrets\"' EXIT" in text
    assert "trap 'exit 143' TERM" in text and "trap 'exit 130' INT" in text


# ---- ci/pipeline-stage.sh with a stand-in ansible-playbook ----------------------------------

STAND_IN = """#!{python}
import json, os, sys, time
args = sys.argv[1:]
files = [args[i + 1] for i, a in enumerate(args) if a == "--vault-password-file"]
files += [a[2:] if a.startswith("-e@") else args[i + 1][1:] for i, a in enumerate(args)
          if a == "-e" and args[i + 1].startswith("@")]
seen = {{f: {{"mode": oct(os.stat(f).st_mode & 0o777), "dir_mode": oct(os.stat(os.path.dirname(f)).st_mode & 0o777),
             "text": open(f).read()}} for f in files}}
env = {{k: v for k, v in os.environ.items() if k.startswith("CLICKVIEW_VAULT")}}
json.dump({{"args": args, "files": seen, "env": env}}, open(os.environ["STAND_IN_OUT"], "w"))
time.sleep(float(os.environ.get("STAND_IN_SLEEP", "0")))
sys.exit(int(os.environ.get("STAND_IN_RC", "0")))
"""


@pytest.fixture
def stage_env(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "ansible-playbook"
    stand_in.write_text(STAND_IN.format(python=sys.executable), encoding="utf-8")
    stand_in.chmod(0o755)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLICKVIEW_VAULT", "RUNNER_TEMP", "ANSIBLE_VAULT"))}
    env.update(PATH=f"{bin_dir}:{env['PATH']}", RUNNER_TEMP=str(runner_temp), ARTIFACTS_DIR=str(tmp_path / "artifacts"),
               STAND_IN_OUT=str(tmp_path / "seen.json"),
               CLICKVIEW_VAULT_PASSWORD="not-a-real-password", CLICKVIEW_VAULT_YML="$ANSIBLE_VAULT;1.1;AES256\n6162")
    return env, runner_temp, tmp_path / "seen.json"


def no_secret_in_checkout():
    planted = list((ROOT / "inventory").rglob("vault.yml")) + list(ROOT.glob("*vault_pass*"))
    assert not planted, planted


@pytest.mark.parametrize("rc", [0, 2, 4])
def test_stage_writes_secrets_outside_the_checkout_and_removes_them(stage_env, rc):
    env, runner_temp, seen_file = stage_env
    proc = subprocess.run([str(STAGE), "deploy", "local", "registry.example/backend:1.0"], env=dict(env, STAND_IN_RC=str(rc)),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == rc, proc.stderr
    seen = json.loads(seen_file.read_text(encoding="utf-8"))
    args = seen["args"]
    assert args[:2] == ["-i", "inventory/local"] and "playbooks/deploy_canary.yml" in args
    password = args[args.index("--vault-password-file") + 1]
    vault = args[args.index("-e", args.index("--vault-password-file")) + 1][1:]
    for path in (password, vault):
        assert Path(path).parent.parent == runner_temp, "in a private folder under $RUNNER_TEMP"
        assert not Path(path).resolve().is_relative_to(ROOT)
        assert seen["files"][path]["mode"] == "0o600" and seen["files"][path]["dir_mode"] == "0o700"
    assert seen["files"][password]["text"] == "not-a-real-password"
    assert seen["files"][vault]["text"].startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    assert seen["env"] == {}, "the secrets are not in ansible-playbook's environment"
    assert not list(runner_temp.iterdir()), "removed when the stage ends"
    assert "not-a-real-password" not in proc.stdout + proc.stderr
    no_secret_in_checkout()


def test_stage_killed_while_running_removes_the_secrets(stage_env):
    env, runner_temp, seen_file = stage_env
    proc = subprocess.Popen([str(STAGE), "pre-deploy-gate", "local"], env=dict(env, STAND_IN_SLEEP="30"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + 30
        while not seen_file.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert seen_file.exists() and list(runner_temp.iterdir()), "the stage is running with its secrets"
        os.killpg(proc.pid, signal.SIGTERM)   # as a CI cancelling the job
        assert proc.wait(timeout=30) == 143
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not list(runner_temp.iterdir())


def test_stage_passes_a_vault_file_given_by_path(stage_env, tmp_path):
    env, runner_temp, seen_file = stage_env
    vault = tmp_path / "ANSIBLE_VAULT_FILE"
    vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n", encoding="utf-8")
    env = {k: v for k, v in env.items() if k != "CLICKVIEW_VAULT_YML"}
    proc = subprocess.run([str(STAGE), "pre-deploy-gate", "local"], env=dict(env, CLICKVIEW_VAULT_FILE=str(vault)),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    args = json.loads(seen_file.read_text(encoding="utf-8"))["args"]
    assert f"@{vault}" in args and "--vault-password-file" in args
    assert not list(runner_temp.iterdir())


def test_stage_refuses_a_temporary_folder_in_the_checkout(stage_env):
    env, _runner_temp, seen_file = stage_env
    proc = subprocess.run([str(STAGE), "pre-deploy-gate", "local"], env=dict(env, RUNNER_TEMP=str(ROOT / "docs")),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 64 and "under the checkout" in proc.stderr
    assert not seen_file.exists()
    assert not list((ROOT / "docs").glob("clickview-vault.*"))


def test_stage_without_secrets_passes_none(stage_env):
    env, runner_temp, seen_file = stage_env
    env = {k: v for k, v in env.items() if not k.startswith("CLICKVIEW_VAULT")}
    proc = subprocess.run([str(STAGE), "pre-deploy-gate", "local"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    args = json.loads(seen_file.read_text(encoding="utf-8"))["args"]
    assert "--vault-password-file" not in args and not any(a.startswith("@") for a in args)
    assert not list(runner_temp.iterdir())


def test_the_example_commands_carry_no_vault_arguments():
    """ci/pipeline-stage.sh takes the secrets from the environment: the commands (which
    tests/integration/test_pipeline_stages.py runs against the lab) name no password file."""
    lines = [s["run"] for s in github_steps() if s.get("run", "").startswith("ci/pipeline-stage.sh")]
    lines += [line for line in gitlab_lines("script") if line.startswith("ci/pipeline-stage.sh")]
    assert len(lines) == 6
    assert not any("vault" in line for line in lines)
    assert stat.S_IMODE(STAGE.stat().st_mode) & 0o111, "ci/pipeline-stage.sh is executable"


def test_the_examples_follow_their_platforms_conventions():
    data = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    inputs = data["on"]["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["type"] == "choice" and inputs["environment"]["options"] == ["staging", "production"]
    assert data["permissions"] == {"contents": "read", "checks": "write"}
    assert "inputs.environment" in data["concurrency"]["group"] and data["concurrency"]["cancel-in-progress"] is False
    for step in github_steps():   # an input interpolated into a command line is a script injection
        assert "${{" not in step.get("run", ""), step["run"]
    job = next(iter(data["jobs"].values()))
    assert job["env"]["ENVIRONMENT"] == "${{ inputs.environment }}" and job["env"]["IMAGE"] == "${{ inputs.image }}"
    # the runbook's checks are published as test results and the markdown reports as the job summary
    junit = [s for s in github_steps() if s.get("uses", "").startswith("mikepenz/action-junit-report")]
    assert junit and junit[0]["if"] == "always()" and junit[0]["with"]["report_paths"] == "reports/ci/*-latest.junit.xml"
    assert any("$GITHUB_STEP_SUMMARY" in s.get("run", "") and s.get("if") == "always()" for s in github_steps())

    lab = gitlab()
    used = {word for line in gitlab_lines("script") for word in re.findall(r"\$(\w+)", line)}
    assert used <= set(lab["variables"]), f"undeclared variables: {used - set(lab['variables'])}"
    assert "reports/ci/*-latest.junit.xml" in lab["default"]["artifacts"]["reports"]["junit"]
    for name, job in lab.items():
        if isinstance(job, dict) and "stage" in job:
            assert job["environment"] == {"name": "$ENVIRONMENT"}, name
            assert job["resource_group"] == "clickview-$ENVIRONMENT", name
