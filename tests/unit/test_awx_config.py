"""AWX configuration as code (extensions/awx), checked without an AWX server:
syntax, every awx.awx task's options against the module's own argument spec, one job
template per playbook, and every survey variable an argument of the role the playbook runs."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "extensions" / "awx"
VENV_BIN = Path(sys.executable).parent
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def config():
    data = {}
    for path in (AWX / "vars").glob("*.yml"):
        data.update(load(path))
    return data


@pytest.fixture(scope="module")
def tasks():
    return load(AWX / "configure_awx.yml")[0]["tasks"]


def awx_module(task):
    names = [key for key in task if key.startswith("awx.awx.")]
    return names[0] if names else None


def test_playbook_syntax():
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "--syntax-check", str(AWX / "configure_awx.yml")],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_awx_task_uses_only_real_options(tasks):
    modules = sorted({awx_module(t) for t in tasks if awx_module(t)})
    assert modules, "no awx.awx tasks found"
    proc = subprocess.run([str(VENV_BIN / "ansible-doc"), "-j", *modules], capture_output=True, text=True, check=True)
    docs = json.loads(proc.stdout)
    for task in tasks:
        module = awx_module(task)
        if not module:
            continue
        options = docs[module]["doc"]["options"]
        known = set(options) | {alias for spec in options.values() for alias in spec.get("aliases", [])}
        args = task[module]
        unknown = set(args) - known
        assert not unknown, f"{task['name']}: {module} has no option(s) {sorted(unknown)}"
        for name, spec in options.items():
            if spec.get("required"):
                assert name in args, f"{task['name']}: {module} requires {name}"
            choices, value = spec.get("choices"), args.get(name)
            if choices and isinstance(value, str) and "{{" not in value:
                assert value in choices, f"{task['name']}: {name}={value!r} not in {choices}"


def test_one_job_template_per_playbook(config):
    playbooks = sorted(p.name for p in (ROOT / "playbooks").glob("*.yml"))
    templated = sorted(t["playbook"] for t in config["awx_job_templates"])
    assert sorted(set(playbooks) - set(templated)) == [], "playbooks without a job template"
    assert sorted(set(templated) - set(playbooks)) == [], "job templates for playbooks that do not exist"
    assert len(templated) == len(set(templated))


def role_options(playbook):
    """Options of every role entry point the playbook includes."""
    options = set()
    for play in load(ROOT / "playbooks" / playbook):
        for task in play.get("tasks", []) + play.get("pre_tasks", []) + play.get("post_tasks", []):
            include = task.get("ansible.builtin.include_role") or task.get("ansible.builtin.import_role")
            if not include:
                continue
            role = include["name"].split(".")[-1]
            specs = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
            options |= set(specs[include.get("tasks_from", "main")].get("options", {}))
        options |= set(play.get("vars", {}))
    return options


def test_every_survey_variable_is_a_role_argument(config):
    for template in config["awx_job_templates"]:
        allowed = role_options(template["playbook"])
        for question in template.get("survey", []):
            assert question["variable"] in allowed, \
                f"{template['name']}: survey variable {question['variable']} is not an argument of its role"
            assert question["type"] in SURVEY_TYPES and question["question_name"]
            if question["type"] in ("multiplechoice", "multiselect"):
                assert question.get("choices"), f"{template['name']}: {question['variable']} needs choices"


def test_workflow_nodes_run_known_templates(config):
    names = {t["name"] for t in config["awx_job_templates"]}
    for workflow in config["awx_workflows"]:
        identifiers = {node["identifier"] for node in workflow["nodes"]}
        for node in workflow["nodes"]:
            assert node["unified_job_template"]["name"] in names
            for edge in ("success_nodes", "failure_nodes", "always_nodes"):
                for target in node.get("related", {}).get(edge, []):
                    assert target["identifier"] in identifiers
