"""AWX configuration as code (extensions/awx), checked without an AWX server:
syntax, every awx.awx task's options against the module's own argument spec, one job
template per playbook, and every survey variable an argument of the role the playbook runs.
Least privilege (issue 17): no template takes extra variables at launch, each job template
carries only the credentials its procedure reads and all it needs, and every confirmation or
destructive switch of its procedure is a survey question. What a procedure reads is derived
from the files: the playbook, the role entry points and task files it includes, the templates
they render, the modules and action plugins they call, the role defaults and the staging and
production group_vars that define the variables read."""
import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "extensions" / "awx"
VENV_BIN = Path(sys.executable).parent
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
ENVIRONMENTS = ("staging", "production")


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
    """The job template task's survey and credentials options, rendered by Ansible for every template: AWX refuses
    a survey spec without questions, so a template without questions must send none; an empty credentials list
    is sent as [] (it removes those attached before)."""
    task = next(t for t in tasks if awx_module(t) == "awx.awx.job_template")
    args = task["awx.awx.job_template"]
    out = tmp_path / "surveys.json"
    play = [{
        "hosts": "localhost", "gather_facts": False,
        "vars_files": [str(p) for p in sorted((AWX / "vars").glob("*.yml"))],
        "tasks": [
            {"name": "Render", "loop": "{{ awx_job_templates }}",
             "vars": {"rendered_enabled": args["survey_enabled"], "rendered_spec": args["survey_spec"],
                      "rendered_credentials": args["credentials"]},
             "ansible.builtin.set_fact": {"rendered": "{{ rendered | default([]) + [{'name': item.name, "
                                                      "'enabled': rendered_enabled, 'spec': rendered_spec, "
                                                      "'credentials': rendered_credentials}] }}"}},
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
        assert result["credentials"] == template["credentials"], template["name"]
        if template.get("survey"):
            assert result["enabled"] is True and result["spec"]["name"] == template["name"]
            assert result["spec"]["spec"] and all(q["type"] in SURVEY_TYPES for q in result["spec"]["spec"])
        else:
            assert result["enabled"] is False and result["spec"] == {}, (template["name"], result)


def inventory_secrets():
    """{vault_* variable: optional?} over the staging and production group_vars: a secret is optional when
    every line that reads it gives a default (`vault_x | default(...)`)."""
    secrets = {}
    for env in ENVIRONMENTS:
        for path in (ROOT / "inventory" / env / "group_vars").rglob("*.yml"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.lstrip().startswith("#"):
                    continue
                for match in re.finditer(r"\b(vault_[a-z0-9_]+)\b(\s*\|\s*default\()?", line):
                    secrets[match.group(1)] = secrets.get(match.group(1), True) and bool(match.group(2))
    return secrets


def test_every_secret_of_the_inventories_comes_from_a_credential(config):
    """vault.yml is never committed, so in AWX each vault_* variable the staging and production inventories
    read must be injected by a credential type whose credential a job template can carry, or be optional."""
    injected = {}
    for kind in config["awx_credential_types"]:
        assert kind.get("credential") in config["awx_job_credentials"], f"{kind['name']}: its credential is not listed"
        for name in kind["injectors"].get("extra_vars", {}):
            injected[name] = kind["name"]
    missing = {name for name, optional in inventory_secrets().items() if name not in injected and not optional}
    assert not missing, f"secrets no AWX credential injects: {sorted(missing)}"


# ---- least privilege: what each procedure reads, from the files ---------------------------------------

WORD = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
FQCN = re.compile(r"^[ \t]*(?:-[ \t]+)?([a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+):", re.M)
TEMPLATE_NAME = re.compile(r"([\w./-]+\.j2)\b")
INCLUDE_TASKS = {"include_tasks", "import_tasks", "ansible.builtin.include_tasks", "ansible.builtin.import_tasks"}
INCLUDE_ROLE = {"include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role"}
# The environment AWX's built-in credential types inject, and the collection whose clients read it
# (botocore's credential chain in amazon.aws; kubernetes.core's K8S_AUTH_* connection options).
AWX_BUILTIN_TYPES = {
    "Amazon Web Services": {"env": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN"],
                            "read_by": "amazon.aws"},
    "OpenShift or Kubernetes API Bearer Token": {"env": ["K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_VERIFY_SSL",
                                                         "K8S_AUTH_SSL_CA_CERT"], "read_by": "kubernetes.core"},
    "Vault": {"env": [], "read_by": None},  # decrypts the values committed vault-encrypted (`!vault`)
}
# A confirmation or destructive switch: remediate, execute, confirm, allow, force, restore destination / in place;
# also a boolean whose role default is false and that its defaults file calls an opt-in.
SWITCH_NAME = re.compile(r"(?:^|_)(?:remediate|execute|confirm|allow|force|destination|in_place)(?:_|$)")
VAULTED = "<vault-encrypted value>"


class VaultLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """safe_load that keeps an inline `!vault |` value as VAULTED: only a Vault credential opens it."""


VaultLoader.add_constructor("!vault", lambda loader, node: VAULTED)


def code(text):
    """The text without its comment lines (YAML '#' lines, Jinja {# #} blocks)."""
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def yaml_nodes(node):
    """Every mapping of a YAML tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from yaml_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from yaml_nodes(value)


class Procedure:
    """What a playbook runs: the task files it reaches (include_role / include_tasks, followed), the templates they
    render, the role defaults files loaded, the modules called and the role entry points the playbook includes."""

    def __init__(self, playbook):
        self.playbook = playbook
        self.files, self.defaults, self.modules = [], [], set()
        self.entry_points = []  # (role, tasks_from, defaults path, vars the playbook sets) of the playbook's own includes
        self._visit(None, ROOT / (playbook if "/" in playbook else "playbooks/" + playbook), top=True)

    def _visit(self, role, path, top=False):
        path = path.resolve()
        if path in self.files:
            return
        self.files.append(path)
        text = path.read_text(encoding="utf-8")
        self.modules |= set(FQCN.findall(code(text)))
        if role:
            for name in TEMPLATE_NAME.findall(code(text)):
                template = ROOT / "roles" / role / "templates" / name
                if template.is_file() and template.resolve() not in self.files:
                    self.files.append(template.resolve())
        for node in yaml_nodes(yaml.safe_load(text)):
            for key in INCLUDE_TASKS & set(node):
                target = node[key]["file"] if isinstance(node[key], dict) else node[key]
                if "{{" in target:  # a templated name: alert_response's verify re-runs the investigate file already included
                    continue
                found = [base / target for base in (path.parent, ROOT / "roles" / str(role) / "tasks") if (base / target).is_file()]
                assert found, f"{path.relative_to(ROOT)}: {target} not found"
                self._visit(role, found[0])
            for key in INCLUDE_ROLE & set(node):
                spec = node[key]
                name = spec["name"].split(".")[-1]
                defaults = ROOT / "roles" / name / "defaults" / (spec.get("defaults_from", "main") + ".yml")
                if defaults.is_file() and defaults not in self.defaults:
                    self.defaults.append(defaults)
                if top:
                    self.entry_points.append((name, spec.get("tasks_from", "main"), defaults, set(node.get("vars", {}))))
                self._visit(name, ROOT / "roles" / name / "tasks" / (spec.get("tasks_from", "main") + ".yml"))


def collection_plugin(kind, module):
    """Source of a clickview.runbook plugin (action or module) and of the collection's files it imports."""
    namespace, collection, name = module.split(".")
    if (namespace, collection) != ("clickview", "runbook"):
        return ""
    pending, seen, text = [ROOT / "plugins" / kind / (name + ".py")], set(), ""
    while pending:
        path = pending.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        source = path.read_text(encoding="utf-8")
        text += source
        for sub, imported, alone in re.findall(r"clickview\.runbook\.plugins\.(\w+)(?:\.(\w+)|\s+import\s+(\w+))", source):
            pending.append(ROOT / "plugins" / sub / ((imported or alone) + ".py"))
    return text


@functools.lru_cache(maxsize=None)
def inventories():
    """{environment: {variable: value}} of the staging and production group_vars (a `!vault` value kept as VAULTED)."""
    result = {}
    for env in ENVIRONMENTS:
        result[env] = {}
        for path in sorted((ROOT / "inventory" / env / "group_vars").rglob("*.yml")):
            result[env].update(yaml.load(path.read_text(encoding="utf-8"), Loader=VaultLoader) or {})  # noqa: S506
    return result


def role_defaults(procedure):
    defaults = {}
    for path in procedure.defaults:
        defaults.update(load(path) or {})
    return defaults


def environments(procedure):
    """The environments (of staging, production) the procedure runs in: not one it refuses before anything else,
    asserting that clickview_environment is in a list of allowed environments (the game day: the lab only)."""
    text = "".join(code(path.read_text(encoding="utf-8")) for path in procedure.files)
    defaults, envs = role_defaults(procedure), inventories()
    runs = []
    for env in ENVIRONMENTS:
        allowed = [envs[env].get(name, defaults.get(name)) for name in re.findall(r"clickview_environment in (\w+)", text)]
        if all(envs[env]["clickview_environment"] in names for names in allowed if isinstance(names, list)):
            runs.append(env)
    return runs


@functools.lru_cache(maxsize=None)
def reads(procedure):
    """Every variable the procedure reads in staging or production: the names in its playbook, task files and
    templates and those its action plugins fill module options from; then, until nothing is added, the names in
    the value that defines each - the inventory's (group_vars win over role defaults), else the role defaults'.
    Nothing in an environment the procedure refuses to run in."""
    envs = {env: values for env, values in inventories().items() if env in environments(procedure)}
    if not envs:
        return frozenset()
    read = set()
    for path in procedure.files:
        read |= set(WORD.findall(code(path.read_text(encoding="utf-8"))))
    for module in procedure.modules:
        read |= set(re.findall(r"""['"](clickview_[a-z0-9_]+)['"]""", collection_plugin("action", module)))
    defaults = role_defaults(procedure)
    pending = list(read)
    while pending:
        name = pending.pop()
        values = [env[name] for env in envs.values() if name in env] or ([defaults[name]] if name in defaults else [])
        for value in values:
            if value == VAULTED:
                continue
            for word in set(WORD.findall(json.dumps(value))) - read:
                read.add(word)
                pending.append(word)
    return frozenset(read)


def vaulted(read):
    """The variables read whose committed value is vault-encrypted."""
    return {name for env in inventories().values() for name, value in env.items() if value == VAULTED and name in read}


def builtin_credentials(config):
    return {c["credential"]: c["type"] for c in config["awx_builtin_credentials"]}


def credential_use(procedure, config):
    """{credential: what the procedure reads of what it injects} for every credential a template may carry:
    a custom type's extra variables; a built-in type's environment, read by the modules of the collection
    whose clients read it; the Vault's vault-encrypted values."""
    read, use = reads(procedure), {}
    kinds = {kind["credential"]: kind for kind in config["awx_credential_types"]}
    builtin = builtin_credentials(config)
    for name in config["awx_job_credentials"]:
        if name in kinds:
            use[name] = sorted(set(kinds[name]["injectors"].get("extra_vars", {})) & read)
            assert not kinds[name]["injectors"].get("env"), f"{name}: environment injectors are not modelled"
            continue
        assert name in builtin, f"{name}: neither a custom credential type nor in awx_builtin_credentials"
        kind = AWX_BUILTIN_TYPES[builtin[name]]
        if kind["read_by"] is None:
            use[name] = sorted(vaulted(read))
        else:
            modules = procedure.modules if environments(procedure) else set()
            use[name] = sorted(m for m in modules if m.startswith(kind["read_by"] + ".")
                               or f"ansible_collections.{kind['read_by']}" in collection_plugin("modules", m)
                               or any(env in collection_plugin("modules", m) for env in kind["env"]))
    return use


def switches(procedure):
    """{switch: (argument spec, role default)} of the role entry points the playbook includes, but those it sets itself."""
    found = {}
    for role, entry, defaults_path, fixed in procedure.entry_points:
        options = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"][entry].get("options", {})
        defaults_text = defaults_path.read_text(encoding="utf-8") if defaults_path.is_file() else ""
        defaults = yaml.safe_load(defaults_text) or {}
        for name, spec in options.items():
            if name in fixed:
                continue
            comment = re.search(r"((?:^#.*\n)+)" + re.escape(name) + r":", defaults_text, re.M)
            opt_in = spec.get("type") == "bool" and defaults.get(name) is False and comment and "opt-in" in comment.group(1)
            free_text = spec.get("type", "str") == "str" and not spec.get("choices")   # a force's reason is no switch
            if (SWITCH_NAME.search(name) and not free_text) or opt_in:
                found[name] = (spec, defaults.get(name))
    return found


@pytest.fixture(scope="module")
def procedures(config):
    return {t["name"]: Procedure(t["playbook"]) for t in config["awx_job_templates"]}


def test_the_procedure_model_sees_what_the_roles_read(config, procedures):
    """Guards the model itself: includes are followed into the roles, role defaults and the inventory resolve
    variables to the secrets behind them, and the modules of the collection are found."""
    health = reads(procedures["On-call | Daily health check"])
    assert {"clickview_redis_password", "vault_clickview_redis_password", "vault_clickview_postgres_password"} <= health
    assert "vault_security_incident_db_password" not in health and "vault_clickview_postgres_admin_password" not in health
    assert "vault_security_incident_db_password" in reads(procedures["Security | Containment"])
    assert "vault_clickview_postgres_admin_password" in reads(procedures["Database | Weekly maintenance"])
    assert "vault_clickview_backups_cipher_pass" in reads(procedures["Backup | Configure pgBackRest"])
    assert "clickview.runbook.incident" in procedures["Incident | Declare"].modules
    assert "clickview_aws_region" in reads(procedures["Incident | Declare"])  # through the incident action plugin
    assert reads(procedures["Incident | Workflow variables"]).isdisjoint(inventory_secrets())
    assert environments(procedures["On-call | Daily health check"]) == list(ENVIRONMENTS)
    assert environments(procedures["Game day | Drill on the lab"]) == [], "the drill refuses every inventory but the lab's"
    assert "clickview-aws" not in {name for name, use in credential_use(procedures["Backup | Run a backup"], config).items() if use}


def test_no_template_or_workflow_asks_for_variables_on_launch(tasks):
    """(a) Survey answers only: every prompt is set explicitly (re-running the configuration resets one changed in
    the UI) and off - but the inventory, how one template serves both environments (staging by default)."""
    proc = subprocess.run([str(VENV_BIN / "ansible-doc"), "-j", "awx.awx.job_template", "awx.awx.workflow_job_template"],
                          capture_output=True, text=True, check=True)
    docs = json.loads(proc.stdout)
    for module in ("awx.awx.job_template", "awx.awx.workflow_job_template"):
        args = next(t for t in tasks if awx_module(t) == module)[module]
        prompts = [o for o in docs[module]["doc"]["options"] if o.startswith("ask_") and o.endswith("_on_launch")]
        assert "ask_variables_on_launch" in prompts
        assert args.get("ask_variables_on_launch") is False, f"{module}: extra variables are taken at launch"
        for prompt in prompts:
            assert prompt in args, f"{module}: {prompt} is not set explicitly"
            assert args[prompt] is (prompt == "ask_inventory_on_launch"), f"{module}: {prompt}={args[prompt]!r}"
        assert "extra_vars" not in args, module


def test_each_job_template_carries_its_own_credentials(config, tasks):
    args = next(t for t in tasks if awx_module(t) == "awx.awx.job_template")["awx.awx.job_template"]
    assert args["credentials"] == "{{ item.credentials }}", "the job template task attaches the template's own list"
    for template in config["awx_job_templates"]:
        assert isinstance(template.get("credentials"), list), f"{template['name']}: no credentials list"
        assert set(template["credentials"]) <= set(config["awx_job_credentials"]), template["name"]
        assert len(template["credentials"]) == len(set(template["credentials"])), template["name"]


def test_every_credential_a_template_carries_is_read_by_its_procedure(config, procedures):
    """(b) A credential is carried only when the procedure reads something it injects."""
    unused = []
    for template in config["awx_job_templates"]:
        use = credential_use(procedures[template["name"]], config)
        carried = template.get("credentials", config["awx_job_credentials"])
        unused += [f"{template['name']}: {name}" for name in carried if not use[name]]
    assert not unused, "credentials their procedure never reads:\n" + "\n".join(unused)


def test_every_secret_a_procedure_reads_comes_from_its_credentials(config, procedures):
    """(c) Each vault_* secret the procedure reads in staging/production is injected by a credential it carries or is
    optional; a vault-encrypted value needs the Vault credential; AWS and Kubernetes modules need theirs."""
    optional = {name for name, is_optional in inventory_secrets().items() if is_optional}
    kinds = {kind["credential"]: set(kind["injectors"].get("extra_vars", {})) for kind in config["awx_credential_types"]}
    builtin = builtin_credentials(config)
    missing = []
    for template in config["awx_job_templates"]:
        procedure = procedures[template["name"]]
        carried = template.get("credentials", config["awx_job_credentials"])
        injected = set().union(*(kinds.get(name, set()) for name in carried))
        read = reads(procedure)
        for secret in sorted(name for name in read if name.startswith("vault_")):
            if secret not in injected and secret not in optional:
                missing.append(f"{template['name']}: {secret}")
        use = credential_use(procedure, config)
        for name, kind in builtin.items():
            if use[name] and name not in carried:
                missing.append(f"{template['name']}: {name} ({kind}) for {', '.join(use[name])}")
    assert not missing, "secrets a procedure reads without the credential that gives them:\n" + "\n".join(missing)


def test_health_check_carries_no_admin_security_or_backup_credential(config):
    """(d) The daily health check, launched by anyone on call, is read-only."""
    template = next(t for t in config["awx_job_templates"] if t["playbook"] == "health_check.yml")
    carried = set(template.get("credentials", config["awx_job_credentials"]))
    assert not carried & {"clickview-postgresql-admin", "clickview-security", "clickview-backups"}, sorted(carried)


def test_every_destructive_switch_is_a_survey_question(config, procedures):
    """(e) With no extra variables at launch, a switch the procedure honours is a survey question, off by default."""
    missing = []
    for template in config["awx_job_templates"]:
        questions = {q["variable"]: q for q in template.get("survey", [])}
        for name, (spec, default) in sorted(switches(procedures[template["name"]]).items()):
            question = questions.get(name)
            if question is None:
                missing.append(f"{template['name']}: {name}")
                continue
            assert question["type"] == "multiplechoice" and question.get("required") is True, (template["name"], name)
            if spec.get("type") == "bool":
                assert question["choices"] == ["false", "true"] and question["default"] == "false", (template["name"], name)
            else:
                assert sorted(question["choices"]) == sorted(spec["choices"]) and question["default"] == default, \
                    (template["name"], name)
    assert not missing, "switches the procedure honours that no survey question asks:\n" + "\n".join(missing)
