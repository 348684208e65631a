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
    elsewhere = [name for name in set(templated) - set(playbooks) if "/" in name]
    assert sorted(set(templated) - set(playbooks) - set(elsewhere)) == [], "job templates for playbooks that do not exist"
    assert all((ROOT / name).is_file() for name in elsewhere), elsewhere
    assert len(templated) == len(set(templated))


def role_options(playbook):
    """Options of every role entry point the playbook includes."""
    options = set()
    for play in load(ROOT / (playbook if "/" in playbook else "playbooks/" + playbook)):
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


def workflow_nodes(workflow):
    return [node for part in workflow["nodes"] for node in (part if isinstance(part, list) else [part])]


def test_workflow_nodes_run_known_templates(config):
    names = {t["name"] for t in config["awx_job_templates"]}
    for workflow in config["awx_workflows"]:
        nodes = workflow_nodes(workflow)
        identifiers = [node["identifier"] for node in nodes]
        assert len(identifiers) == len(set(identifiers)), workflow["name"]
        for node in nodes:
            ujt = node["unified_job_template"]
            assert ujt["type"] in ("job_template", "workflow_approval"), ujt
            if ujt["type"] == "job_template":
                assert ujt["name"] in names, f"{workflow['name']}: no job template {ujt['name']!r}"
            for edge in ("success_nodes", "failure_nodes", "always_nodes"):
                for target in node.get("related", {}).get(edge, []):
                    assert target["identifier"] in identifiers


def incident_path(workflow, templates):
    """The workflow's nodes from its root along the edges: (playbook or 'approval', edge taken to get there)."""
    nodes = {node["identifier"]: node for node in workflow_nodes(workflow)}
    targets = {t["identifier"] for n in nodes.values() for edge in n.get("related", {}).values() for t in edge}
    roots = [i for i in nodes if i not in targets]
    assert len(roots) == 1, f"{workflow['name']}: one root node, got {roots}"
    path, current, via = [], roots[0], None
    while current:
        node = nodes[current]
        ujt = node["unified_job_template"]
        path.append((templates[ujt["name"]]["playbook"] if ujt["type"] == "job_template" else "approval", via))
        edges = [(edge, t["identifier"]) for edge, ts in node.get("related", {}).items() for t in ts]
        assert len(edges) <= 1, f"{workflow['name']}: {current} branches"
        via, current = edges[0] if edges else (None, None)
    return path


def test_an_incident_workflow_per_alert_declare_alert_playbook_resolve_review(config):
    templates = {t["name"]: t for t in config["awx_job_templates"]}
    covered = set()
    for workflow in config["awx_workflows"]:
        path = incident_path(workflow, templates)
        steps = [step for step, _via in path]
        assert steps[:2] == ["extensions/awx/playbooks/incident_workflow_vars.yml", "incident_declare.yml"], steps
        assert steps[2].startswith("alert_") and steps[3:] == ["approval", "incident_resolve.yml", "post_incident_review.yml"], steps
        # the alert playbook fails on a FAIL finding (usual in an incident): the approval follows whatever its result
        assert [via for _step, via in path] == [None, "success_nodes", "success_nodes", "always_nodes", "success_nodes", "success_nodes"]
        covered.add(steps[2])
    assert covered == {p.name for p in (ROOT / "playbooks").glob("alert_*.yml")}, "an incident workflow for every alert playbook"


def shared_ids():
    """The variables the incident workflows' first step publishes (set_stats) for the steps after it."""
    play = load(AWX / "playbooks" / "incident_workflow_vars.yml")[0]
    return set(next(t for t in play["tasks"] if "ansible.builtin.set_stats" in t)["ansible.builtin.set_stats"]["data"])


def test_incident_workflow_steps_get_every_required_answer(config):
    """AWX passes the workflow's survey answers (and the first step's stats) to every node; each step's
    required survey questions must be answered by them, and each answer must be an argument of some step."""
    templates = {t["name"]: t for t in config["awx_job_templates"]}
    assert shared_ids() == {"incident_response_id", "alert_response_incident_id", "post_incident_review_id"}
    for workflow in config["awx_workflows"]:
        given = {q["variable"] for q in workflow["survey"] if q.get("required") or "default" in q} | shared_ids()
        steps = [templates[n["unified_job_template"]["name"]] for n in workflow_nodes(workflow)
                 if n["unified_job_template"]["type"] == "job_template"]
        for step in steps:
            for question in step.get("survey", []):
                if question.get("required") and "default" not in question:
                    assert question["variable"] in given, f"{workflow['name']}: {step['name']} needs {question['variable']}"
        arguments = set().union(*(role_options(step["playbook"]) for step in steps))
        for question in workflow["survey"]:
            assert question["variable"] in arguments, f"{workflow['name']}: {question['variable']} is read by no step"


@pytest.mark.parametrize("incident_id,ok", [("INC-20250131-api-errors", True), ("", False), ("bad id; rm", False)])
def test_incident_workflow_first_step_checks_the_id(incident_id, ok):
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "inventory/local",
                           str(AWX / "playbooks" / "incident_workflow_vars.yml"), "-e", json.dumps({"incident_response_id": incident_id})],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert (proc.returncode == 0) == ok, proc.stdout[-2000:]
    if not ok:
        assert "incident_response_id" in proc.stdout


def test_surveys_as_awx_receives_them(tasks, tmp_path):
    """The job template task's survey options, rendered by Ansible for every template: AWX refuses a
    survey spec without questions, so a template without questions must send none."""
    task = next(t for t in tasks if awx_module(t) == "awx.awx.job_template")
    args = task["awx.awx.job_template"]
    out = tmp_path / "surveys.json"
    play = [{
        "hosts": "localhost", "gather_facts": False,
        "vars_files": [str(p) for p in sorted((AWX / "vars").glob("*.yml"))],
        "tasks": [
            {"name": "Render", "loop": "{{ awx_job_templates }}",
             "vars": {"rendered_enabled": args["survey_enabled"], "rendered_spec": args["survey_spec"]},
             "ansible.builtin.set_fact": {"rendered": "{{ rendered | default([]) + [{'name': item.name, "
                                                      "'enabled': rendered_enabled, 'spec': rendered_spec}] }}"}},
            {"name": "Write", "ansible.builtin.copy": {"content": "{{ rendered | to_json }}", "dest": str(out)}},
        ],
    }]
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump(play))
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rendered = {r["name"]: r for r in json.loads(out.read_text())}
    config = {}
    for path in (AWX / "vars").glob("*.yml"):
        config.update(load(path))
    templates = config["awx_job_templates"]
    assert len(rendered) == len(templates)
    without = [t["name"] for t in templates if not t.get("survey")]
    assert without, "some templates have no questions (health check, configure): the case to check"
    for template in templates:
        result = rendered[template["name"]]
        if template.get("survey"):
            assert result["enabled"] is True and result["spec"]["name"] == template["name"]
            assert result["spec"]["spec"] and all(q["type"] in SURVEY_TYPES for q in result["spec"]["spec"])
        else:
            assert result["enabled"] is False and result["spec"] == {}, (template["name"], result)


def test_every_secret_of_the_inventories_comes_from_a_credential(config):
    """vault.yml is never committed, so in AWX each vault_* variable the staging and production inventories
    read must be injected by a credential type whose credential every job template carries, or be optional."""
    import re

    injected = {}
    for kind in config["awx_credential_types"]:
        assert kind.get("credential") in config["awx_job_credentials"], f"{kind['name']}: its credential is not attached"
        for name in kind["injectors"].get("extra_vars", {}):
            injected[name] = kind["name"]
    missing = set()
    for env in ("staging", "production"):
        for path in (ROOT / "inventory" / env / "group_vars").rglob("*.yml"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.lstrip().startswith("#"):
                    continue
                for match in re.finditer(r"\b(vault_[a-z0-9_]+)\b(\s*\|\s*default\()?", line):
                    if match.group(1) not in injected and not match.group(2):
                        missing.add(f"{match.group(1)} ({path.relative_to(ROOT)})")
    assert not missing, f"secrets no AWX credential injects: {sorted(missing)}"
