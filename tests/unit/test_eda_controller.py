"""Event-Driven Ansible under the controller (issue 20), checked without a controller.

extensions/eda/rulebooks/alert_remediation_controller.yml is the CLI rulebook's variant for an EDA controller
activation: run_playbook exists in the ansible-rulebook CLI only, so it launches the alert's incident workflow
in AWX instead. Both rulebooks pass ansible-rulebook's own schema and parser; the variant has the CLI rulebook's
source, rules, conditions and throttle; it passes survey answers only (AWX templates here take nothing else and
refuse an answer that is not one of a question's choices), rendered by ansible-rulebook's own templating for
every runbook alert in staging and production: the mapped workflow, the remediation policy of the environment
and the incident id the CLI path would declare. extensions/eda/decision-environment.yml carries what the
rulebooks use."""
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible_rulebook.rules_parser import parse_rule_sets
from ansible_rulebook.util import substitute_variables
from ansible_rulebook.validators import Validate

from ansible_collections.clickview.runbook.plugins.filter.alert_incident import alert_incident

ROOT = Path(__file__).resolve().parents[2]
EDA = ROOT / "extensions" / "eda"
CLI_RULEBOOK = EDA / "rulebooks" / "alert_remediation.yml"
CONTROLLER_RULEBOOK = EDA / "rulebooks" / "alert_remediation_controller.yml"
DECISION_ENVIRONMENT = EDA / "decision-environment.yml"
AWX_VARS = ROOT / "extensions" / "awx" / "vars"
ENVIRONMENTS = ("staging", "production")
VENV_BIN = Path(sys.executable).parent
RUN_RULE = "Firing alert, run its alert-response playbook"


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def env_vars(env):
    return load(ROOT / "inventory" / env / "group_vars" / "all" / "event_driven.yml")


@pytest.fixture(scope="module")
def cli():
    return load(CLI_RULEBOOK)


@pytest.fixture(scope="module")
def controller():
    return load(CONTROLLER_RULEBOOK)


@pytest.fixture(scope="module")
def workflows():
    return {w["name"]: w for w in load(AWX_VARS / "job_templates.yml")["awx_workflows"]}


@pytest.fixture(scope="module")
def templates():
    return {t["name"]: t for t in load(AWX_VARS / "job_templates.yml")["awx_job_templates"]}


def rules(rulebook):
    return {rule["name"]: rule for rule in rulebook[0]["rules"]}


def actions(rule):
    return rule.get("actions") or [rule["action"]]


def runbook_alerts():
    """The alerts of the shipped Prometheus rules, as Alertmanager posts one (after the event splitter)."""
    data = load(ROOT / "extensions" / "prometheus" / "clickview-runbook-rules.yml")
    for group in data["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                yield {"status": "firing", "labels": dict(rule["labels"], alertname=rule["alert"], namespace="clickview"),
                       "annotations": dict(rule.get("annotations", {})), "startsAt": "2026-12-06T03:04:05.678Z",
                       "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "5e1f00d0c0ffee42",
                       "receiver": "eda", "group_key": "{}:{}", "external_url": ""}


# ---- both rulebooks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CLI_RULEBOOK, CONTROLLER_RULEBOOK], ids=lambda p: p.name)
def test_rulebook_passes_ansible_rulebooks_schema_and_parser(path):
    data = load(path)
    Validate.rulebook(data)
    (ruleset,) = parse_rule_sets(data)
    assert [rule.name for rule in ruleset.rules] == [r["name"] for r in data[0]["rules"]]


def test_controller_variant_has_the_cli_rulebooks_source_and_rules(cli, controller):
    for key in ("name", "hosts", "execution_strategy", "sources"):
        assert controller[0][key] == cli[0][key], key
    assert list(rules(controller)) == list(rules(cli)), "the same rules, in the same order"
    for name, rule in rules(cli).items():
        assert rules(controller)[name]["condition"] == rule["condition"], name
        assert rules(controller)[name].get("throttle") == rule.get("throttle"), name
    assert rules(controller)["Resolved alert, nothing to run"] == rules(cli)["Resolved alert, nothing to run"]
    assert rules(controller)[RUN_RULE]["throttle"] == {
        "once_within": "10 minutes", "group_by_attributes": ["event.labels.alertname", "event.fingerprint"]}
    source = controller[0]["sources"][0]["eda.builtin.webhook"]
    assert source["token"] == "{{ CLICKVIEW_EDA_WEBHOOK_TOKEN }}" and source["certfile"] and source["keyfile"]


def test_cli_rulebook_runs_playbooks_and_the_controller_variant_launches_awx_templates(cli, controller):
    cli_kinds = [kind for rule in rules(cli).values() for action in actions(rule) for kind in action]
    kinds = [kind for rule in rules(controller).values() for action in actions(rule) for kind in action]
    assert "run_playbook" in cli_kinds
    assert not {"run_playbook", "run_module"} & set(kinds), "CLI-only actions do not run under the controller"
    assert [kind for action in actions(rules(controller)[RUN_RULE]) for kind in action] == ["debug", "run_workflow_template"]
    launch = actions(rules(controller)[RUN_RULE])[1]["run_workflow_template"]
    assert launch["include_events"] is False, "ansible_eda would be a variable the workflow does not take"
    assert set(launch) == {"name", "organization", "include_events", "job_args"}
    assert set(launch["job_args"]) == {"inventory", "extra_vars"}


def test_launches_of_one_workflow_queue_in_awx():
    """No lock on the launch (it would be held until the approval): AWX runs one job of a workflow at a time."""
    play = load(ROOT / "extensions" / "awx" / "configure_awx.yml")[0]
    task = next(t for t in play["tasks"] if "awx.awx.workflow_job_template" in t)
    assert task["awx.awx.workflow_job_template"]["allow_simultaneous"] is False


def launch_args(controller):
    return actions(rules(controller)[RUN_RULE])[1]["run_workflow_template"]


def test_extra_vars_are_survey_questions_of_every_mapped_workflow(controller, workflows):
    sent = set(launch_args(controller)["job_args"]["extra_vars"])
    for env in ENVIRONMENTS:
        for alert, name in env_vars(env)["clickview_eda_alert_workflows"].items():
            survey = {q["variable"]: q for q in workflows[name]["survey"]}
            assert sent <= set(survey), f"{env} {alert}: {sorted(sent - set(survey))} are not survey questions"
            missing = {v for v, q in survey.items() if q.get("required") and "default" not in q} - sent
            assert not missing, f"{env} {alert}: required questions not answered: {missing}"


def test_each_alert_launches_the_workflow_of_the_playbook_the_cli_runs(workflows, templates):
    organization = load(AWX_VARS / "awx.yml")["awx_organization"]
    for env in ENVIRONMENTS:
        data = env_vars(env)
        assert data["clickview_eda_awx_organization"] == organization, env
        assert "clickview_eda_awx_inventory_id" not in data, "an AWX id belongs to the activation, not the inventory"
        assert set(data["clickview_eda_alert_workflows"]) == set(data["clickview_eda_alert_playbooks"]), env
        for alert, name in data["clickview_eda_alert_workflows"].items():
            assert name in workflows, f"{env} {alert}: no workflow {name!r} in job_templates.yml"
            investigate = next(node for part in workflows[name]["nodes"] for node in (part if isinstance(part, list) else [part])
                               if node["identifier"] == "investigate")
            playbook = templates[investigate["unified_job_template"]["name"]]["playbook"]
            assert playbook == data["clickview_eda_alert_playbooks"][alert].split(".")[-1] + ".yml", (env, alert, playbook)


# ---- what the controller receives, rendered as ansible-rulebook renders it ---------------------------------------


def render(controller, env, event, inventory_id=42):
    variables = dict(env_vars(env), clickview_eda_awx_inventory_id=inventory_id, event=event)
    return [substitute_variables(action, variables) for action in actions(rules(controller)[RUN_RULE])]


def incident_id_pattern():
    play = load(ROOT / "extensions" / "awx" / "playbooks" / "incident_workflow_vars.yml")[0]
    check = next(t for t in play["tasks"] if "ansible.builtin.assert" in t)["ansible.builtin.assert"]["that"]
    return re.compile(next(re.search(r"match\('(.+)'\)", c).group(1) for c in check if "match(" in c))


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("event", list(runbook_alerts()), ids=lambda e: e["labels"]["alertname"])
def test_each_runbook_alert_launches_with_answers_the_survey_accepts(controller, workflows, env, event):
    data = env_vars(env)
    debug, launch = render(controller, env, event)
    launch = launch["run_workflow_template"]
    alertname = event["labels"]["alertname"]
    assert launch["name"] == data["clickview_eda_alert_workflows"][alertname]
    assert launch["organization"] == "ClickView" and launch["job_args"]["inventory"] == 42
    answers = launch["job_args"]["extra_vars"]
    survey = {q["variable"]: q for q in workflows[launch["name"]]["survey"]}
    for variable, value in answers.items():
        assert isinstance(value, str), f"{variable}={value!r}: AWX survey answers here are strings"
        if survey[variable]["type"] == "multiplechoice":
            assert value in survey[variable]["choices"], f"{variable}={value!r} not in {survey[variable]['choices']}"
    allowed = data["clickview_eda_remediation_enabled"] and alertname in data["clickview_eda_remediate_alerts"]
    assert answers["alert_response_remediate"] == ("true" if allowed else "false")
    assert debug["debug"]["msg"] == (f"Launching workflow {launch['name']} for {alertname} (fingerprint 5e1f00d0c0ffee42), "
                                     f"remediate={allowed}")
    # the id the CLI path's alert playbook declares for the same alert, and one the workflow's first step accepts
    expected = alert_incident({"alertname": alertname, "fingerprint": event["fingerprint"], "severity": "P1",
                               "starts_at": event["startsAt"]}, [], severities=("P1",))["incident_id"]
    assert answers["incident_response_id"] == expected == "INC-20261206-030405-%s-5e1f00d0c0ff" % alertname.lower()
    assert incident_id_pattern().fullmatch(answers["incident_response_id"])
    assert answers["incident_response_severity"] == event["labels"]["severity"]
    assert answers["incident_response_title"] == f"{alertname} firing since 2026-12-06 03:04 UTC"


def test_remediation_policy_per_environment(controller):
    event = next(e for e in runbook_alerts() if e["labels"]["alertname"] == "HighErrorRate")
    staging = render(controller, "staging", event)[1]["run_workflow_template"]["job_args"]["extra_vars"]
    production = render(controller, "production", event)[1]["run_workflow_template"]["job_args"]["extra_vars"]
    assert (staging["alert_response_remediate"], production["alert_response_remediate"]) == ("true", "false")


def test_odd_alerts_still_launch_with_valid_answers_or_not_at_all(controller):
    event = next(e for e in runbook_alerts() if e["labels"]["alertname"] == "HighLatency")
    odd = dict(event, labels=dict(event["labels"], severity="critical"), annotations={})
    answers = render(controller, "staging", odd)[1]["run_workflow_template"]["job_args"]["extra_vars"]
    assert answers["incident_response_severity"] == "P3", "a severity the survey does not offer becomes the default P3"
    assert answers["alert_response_remediate"] == "true" and answers["incident_response_id"].startswith("INC-")
    # a re-notification of the series (another figure in the summary) gives the same id and title: declaring
    # again changes nothing on the incident record
    again = render(controller, "staging", dict(event, annotations={"summary": "P95 latency 2s is above 500 ms"}))
    first = render(controller, "staging", event)
    assert again[1]["run_workflow_template"]["job_args"] == first[1]["run_workflow_template"]["job_args"]
    # an alert with a runbook label but no workflow: no launch of some other workflow; ansible-rulebook logs the lookup
    unmapped = dict(event, labels=dict(event["labels"], alertname="NewAlert"))
    debug = substitute_variables(actions(rules(controller)[RUN_RULE])[0],
                                 dict(env_vars("staging"), clickview_eda_awx_inventory_id=1, event=unmapped))
    assert "NewAlert is not in clickview_eda_alert_workflows" in debug["debug"]["msg"]
    with pytest.raises(jinja2.exceptions.UndefinedError):
        render(controller, "staging", unmapped)


# ---- the decision environment -----------------------------------------------------------------------------------


def plugins_used(rulebook):
    """The source and filter plugins (FQCN) the rulebook's sources use."""
    used = set()
    for ruleset in rulebook:
        for source in ruleset["sources"]:
            used |= {key for key in source if key.count(".") == 2}
            for event_filter in source.get("filters", []):
                used |= set(event_filter)
    return used


def test_decision_environment_carries_what_the_rulebooks_use(cli, controller):
    de = load(DECISION_ENVIRONMENT)
    assert de["version"] == 3
    collections = {c["name"] if isinstance(c, dict) else c for c in de["dependencies"]["galaxy"]["collections"]}
    assert "ansible.eda" in collections
    python = {re.split(r"[<>=!~ ]", line, maxsplit=1)[0].lower(): line for line in de["dependencies"]["python"]}
    pinned = next(line for line in (ROOT / "constraints.txt").read_text().splitlines()
                  if line.lower().replace("_", "-").startswith("ansible-rulebook=="))
    assert python["ansible-rulebook"].replace("_", "-") == pinned.replace("_", "-"), "the version the tests run"
    assert any(line.startswith("java-17-openjdk") and "platform:rpm" in line for line in de["dependencies"]["system"])
    used = plugins_used(cli) | plugins_used(controller)
    assert used == {"eda.builtin.webhook", "eda.builtin.event_splitter"}
    import ansible_rulebook  # pylint: disable=import-outside-toplevel
    shipped = Path(ansible_rulebook.__file__).parent
    for plugin in used:
        namespace, collection, name = plugin.split(".")
        if (namespace, collection) == ("eda", "builtin"):   # shipped with ansible-rulebook itself
            assert any((shipped / kind / f"{name}.py").is_file() for kind in ("event_source", "event_filter")), plugin
        else:
            assert f"{namespace}.{collection}" in collections, plugin


def test_decision_environment_build_context(tmp_path):
    proc = subprocess.run([str(VENV_BIN / "ansible-builder"), "create", "-f", str(DECISION_ENVIRONMENT),
                           "-c", str(tmp_path / "context")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    build = tmp_path / "context" / "_build"
    assert "ansible.eda" in (build / "requirements.yml").read_text()
    assert "ansible-rulebook==" in (build / "requirements.txt").read_text()
    assert "java-17-openjdk" in (build / "bindep.txt").read_text()
    containerfile = next(p for p in (tmp_path / "context" / "Containerfile", tmp_path / "context" / "Dockerfile") if p.exists())
    assert "RUN ansible-rulebook --version" in containerfile.read_text()
