"""One table of thresholds: the runbook's figure is the FAIL line, and the shipped alert rules, the incident
severities and the roles' defaults all come from (or agree with) plugins/module_utils/runbook_thresholds."""
import os
import re
from pathlib import Path

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.filter.runbook_alert_severities import runbook_alert_severities
from ansible_collections.clickview.runbook.plugins.filter.runbook_threshold import runbook_threshold
from ansible_collections.clickview.runbook.plugins.module_utils import runbook_thresholds as rt

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
RULES = os.path.join(ROOT, "extensions", "prometheus", "clickview-runbook-rules.yml")
ROOT_PATH = Path(ROOT)

# what the runbook's own text says, read from it by a person: the alert fires above (or, for
# days left and the hit rate, below) this figure
RUNBOOK = {"error_ratio": 0.05, "latency_p95_seconds": 0.5, "memory_pct": 85, "volume_used_pct": 80,
           "cert_days_left": 14, "redis_hit_rate": 0.80}


def rules():
    with open(RULES) as handle:
        return dict((rule["alert"], rule) for group in yaml.safe_load(handle)["groups"] for rule in group["rules"])


def role_defaults(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("measure, figure", sorted(RUNBOOK.items()))
def test_the_runbooks_figure_is_the_fail_line(measure, figure):
    limits = rt.threshold(measure)
    assert limits["fail"] == figure
    lower = not rt.higher_is_worse(measure)
    # WARN marks the approach: before the FAIL line, on the healthy side
    assert (limits["warn"] > figure) if lower else (limits["warn"] < figure)


@pytest.mark.parametrize("measure, past, before", [
    ("error_ratio", 0.06, 0.049), ("latency_p95_seconds", 0.51, 0.45), ("memory_pct", 86, 80),
    ("volume_used_pct", 90, 75), ("cert_days_left", 9.9, 20), ("redis_hit_rate", 0.79, 0.83)])
def test_a_figure_past_the_runbooks_line_is_fail_and_approaching_it_is_warn(measure, past, before):
    limits = runbook_threshold(measure)
    worse = rt.higher_is_worse(measure)
    assert health_status(past, limits, higher_is_worse=worse) == "FAIL"
    assert health_status(before, limits, higher_is_worse=worse) == "WARN"


def test_every_alert_rule_fires_at_the_tables_fail_line_with_the_tables_severity():
    shipped = rules()
    assert sorted(shipped) == sorted(alert.rule for alert in rt.ALERTS)
    for alert in rt.ALERTS:
        rule = shipped[alert.rule]
        comparison = re.search(r"([<>]=?)\s*([0-9.]+)\s*$", rule["expr"].strip())
        assert comparison, rule["expr"]
        assert comparison.group(1) == (">" if rt.higher_is_worse(alert.measure) else "<"), alert.rule
        assert float(comparison.group(2)) == pytest.approx(rt.threshold(alert.measure)["fail"] * alert.rule_scale), alert.rule
        assert rule["labels"] == {"severity": alert.severity, "runbook": alert.playbook}, alert.rule
        assert os.path.exists(os.path.join(ROOT, "playbooks", alert.playbook + ".yml"))


def test_an_incident_declared_from_any_alert_gets_the_rules_severity():
    severities = runbook_alert_severities({"BackendDown": "P1"})
    for alert in rt.ALERTS:
        assert severities[alert.rule] == severities[alert.title] == alert.severity
    assert severities["DatabaseConnectionPoolExhausted"] == "P1"   # the rule said P1, the incident role said P2
    assert severities["BackendDown"] == "P1"
    # the incident role takes the table, not a copy of it
    assert "runbook_alert_severities" in str(role_defaults("incident_response")["incident_response_alert_severities"])


@pytest.mark.parametrize("role, variable, key, measure", [
    ("alert_response", "alert_response_error_thresholds", "error_ratio", "error_ratio"),
    ("alert_response", "alert_response_latency_thresholds", "p95_seconds", "latency_p95_seconds"),
    ("alert_response", "alert_response_latency_thresholds", "pod_memory_pct", "memory_pct"),
    ("alert_response", "alert_response_latency_thresholds", "redis_hit_rate", "redis_hit_rate"),
    ("alert_response", "alert_response_memory_thresholds", "memory_pct", "memory_pct"),
    ("alert_response", "alert_response_pool_thresholds", "connections_pct", "connections_pct"),
    ("alert_response", "alert_response_disk_thresholds", "volume_used_pct", "volume_used_pct"),
    ("alert_response", "alert_response_cert_days_thresholds", None, "cert_days_left"),
    ("on_call", "on_call_thresholds", "error_ratio", "error_ratio"),
    ("on_call", "on_call_thresholds", "latency_p95_seconds", "latency_p95_seconds"),
    ("on_call", "on_call_thresholds", "connections_pct", "connections_pct"),
    ("on_call", "on_call_thresholds", "redis_hit_rate", "redis_hit_rate"),
    ("deployment", "deployment_canary_thresholds", "error_ratio", "error_ratio"),
    ("deployment", "deployment_canary_thresholds", "latency_p95_seconds", "latency_p95_seconds"),
])
def test_role_defaults_take_the_table(role, variable, key, measure):
    value = role_defaults(role)[variable]
    value = value[key] if key else value
    assert value == "{{ '%s' | clickview.runbook.runbook_threshold }}" % measure


def test_unknown_measure_names_the_known_ones():
    with pytest.raises(AnsibleFilterError, match="no runbook threshold named 'error_rate'.*error_ratio"):
        runbook_threshold("error_rate")


def test_callers_get_a_copy():
    runbook_threshold("error_ratio")["fail"] = 1
    assert rt.threshold("error_ratio")["fail"] == 0.05


def test_the_rule_name_of_each_alert_by_title_or_rule():
    from ansible_collections.clickview.runbook.plugins.filter.runbook_alert_rule import runbook_alert_rule
    for alert in rt.ALERTS:
        assert runbook_alert_rule(alert.title) == runbook_alert_rule(alert.rule) == alert.rule
    assert runbook_alert_rule("High Error Rate") == "HighErrorRate"
    with pytest.raises(AnsibleFilterError, match="no runbook alert named 'High Errors'.*High Error Rate"):
        runbook_alert_rule("High Errors")


def test_every_alert_entry_point_is_a_runbook_alert_with_a_rule():
    """common/silence.yml silences alert_response_title's rule: every entry's title must be in the table."""
    titles = set()
    for path in (ROOT_PATH / "roles" / "alert_response" / "tasks").glob("*.yml"):
        for found in re.finditer(r"alert_response_entry: \{title: ([^,]+),", path.read_text()):
            titles.add(found.group(1))
    assert titles == set(alert.title for alert in rt.ALERTS)


@pytest.mark.parametrize("env", ["staging", "production"])
def test_every_environment_names_the_runbooks_certificate(env):
    """The SSL alert renews only the Certificates the inventory lists: with none, it renewed nothing."""
    with open(os.path.join(ROOT, "inventory", env, "group_vars", "all", "alert_response.yml")) as handle:
        certificates = yaml.safe_load(handle)["clickview_tls_certificates"]
    assert {"name": "clickview-tls", "namespace": "clickview"} in certificates
