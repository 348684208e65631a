"""junit_report: one JUnit test case per check of a report."""
import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.junit_report import junit_report

HEALTH = {
    "title": "Daily health check", "kind": "health-check", "environment": "local", "finished": "2026-12-06T20:58:27Z",
    "checks": [
        {"check": "postgres.primary", "target": "127.0.0.1:15432", "status": "OK", "figure": "up",
         "threshold": "answers", "detail": "PostgreSQL 15.14"},
        {"check": "redis.memory", "target": "127.0.0.1:16379", "status": "WARN", "figure": "82 % of maxmemory",
         "threshold": "warn >= 80 %, fail >= 90 %", "detail": ""},
        {"check": "redis.ping", "target": "127.0.0.1:16379", "status": "FAIL", "figure": "unreachable <&> \"x\"",
         "threshold": "PONG", "detail": "Connection refused"},
    ],
}


def parse(text):
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    return ET.fromstring(text.split("\n", 1)[1])


def cases(root):
    return {case.get("name"): case for case in root.iter("testcase")}


def test_one_case_per_check_with_fail_a_failure_and_warn_skipped():
    root = parse(junit_report(HEALTH))
    suite = root.find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("skipped")) == \
        ("Daily health check", "3", "1", "1")
    assert root.get("failures") == "1"
    found = cases(root)
    assert set(found) == {"postgres.primary 127.0.0.1:15432", "redis.memory 127.0.0.1:16379", "redis.ping 127.0.0.1:16379"}
    ok, warn, fail = (found["postgres.primary 127.0.0.1:15432"], found["redis.memory 127.0.0.1:16379"],
                      found["redis.ping 127.0.0.1:16379"])
    assert ok.find("failure") is None and ok.find("skipped") is None
    assert ok.get("classname") == "health-check.postgres"
    assert warn.find("skipped").get("message") == "WARN: 82 % of maxmemory (threshold warn >= 80 %, fail >= 90 %)"
    failure = fail.find("failure")
    assert failure.get("message") == 'unreachable <&> "x" (threshold PONG)'   # escaped and read back intact
    assert failure.get("type") == "FAIL" and failure.text == "Connection refused"
    props = {p.get("name"): p.get("value") for p in fail.find("properties")}
    assert props == {"status": "FAIL", "figure": 'unreachable <&> "x"', "threshold": "PONG"}
    assert suite.get("timestamp") == "2026-12-06T20:58:27Z"


def test_warn_as_property_passes_and_keeps_the_grade():
    root = parse(junit_report(HEALTH, warn_as="property"))
    warn = cases(root)["redis.memory 127.0.0.1:16379"]
    assert warn.find("skipped") is None and warn.find("failure") is None
    assert {p.get("name"): p.get("value") for p in warn.find("properties")}["status"] == "WARN"
    assert root.find("testsuite").get("skipped") == "0"


def test_alert_findings_with_evidence_and_recommendation_in_system_out():
    report = {"title": "High error rate", "kind": "alert-high-error-rate", "findings": [
        {"check": "prometheus.error_ratio", "target": "5xx / all", "status": "FAIL", "figure": "6.1 %",
         "threshold": "fail >= 5 %", "evidence": ["query: sum(...)"], "recommendation": "Roll back."}]}
    case = cases(parse(junit_report(report)))["prometheus.error_ratio 5xx / all"]
    assert case.find("failure").get("message") == "6.1 % (threshold fail >= 5 %)"
    assert case.find("system-out").text == "query: sum(...)\nRoll back."


def test_an_unknown_grade_is_a_failure_never_a_pass():
    root = parse(junit_report({"title": "t", "checks": [{"check": "x", "status": "UNKNOWN", "figure": "?"}]}))
    assert root.find("testsuite").get("failures") == "1"
    assert cases(root)["x"].find("failure").get("type") == "UNKNOWN"


def test_a_failed_run_without_checks_is_one_failing_case():
    root = parse(junit_report({"title": "Backup", "kind": "backup-run", "checks": [], "failure": "stanza missing"}))
    (case,) = list(root.iter("testcase"))
    assert case.get("name") == "backup-run" and case.find("failure").get("message").startswith("stanza missing")


def test_no_checks_is_an_empty_suite():
    root = parse(junit_report({"title": "Empty", "checks": []}))
    assert root.find("testsuite").get("tests") == "0"


@pytest.mark.parametrize("value, args, word", [(["not", "a", "dict"], {}, "input"), (HEALTH, {"warn_as": "error"}, "warn_as")])
def test_bad_input_names_the_parameter(value, args, word):
    with pytest.raises(AnsibleFilterError, match=word):
        junit_report(value, **args)


def test_alert_steps_are_cases_and_a_failed_step_fails():
    report = {"alert": "High memory", "kind": "alert-high-memory", "findings": [], "actions": [
        {"step": "restart", "status": "done", "detail": "rollout restart"},
        {"step": "raise_limits", "status": "failed", "detail": "forbidden", "evidence": ["403"]}]}
    root = parse(junit_report(report))
    assert root.find("testsuite").get("name") == "High memory"
    found = cases(root)
    assert found["action.restart"].find("failure") is None
    assert found["action.raise_limits"].find("failure").text == "forbidden"


def test_a_checks_value_and_unit_are_properties_when_it_has_a_value():
    report = {"title": "t", "kind": "health-check", "checks": [
        dict(HEALTH["checks"][1], value=82.0, unit="%"), dict(HEALTH["checks"][2], value=None, unit=None)]}
    found = cases(parse(junit_report(report)))
    props = {p.get("name"): p.get("value") for p in found["redis.memory 127.0.0.1:16379"].find("properties")}
    assert (props["value"], props["unit"]) == ("82.0", "%")
    props = {p.get("name"): p.get("value") for p in found["redis.ping 127.0.0.1:16379"].find("properties")}
    assert "value" not in props and "unit" not in props
