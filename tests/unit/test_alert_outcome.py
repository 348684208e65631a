"""plugins/filter/alert_outcome.py and add_findings.py: the alert report's decision and the findings it is made from."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.clickview.runbook.plugins.filter.add_findings import add_findings  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.alert_outcome import alert_outcome  # noqa: E402


def row(check, status, recommendation="fix " + "it"):
    return {"check": check, "status": status, "recommendation": recommendation}


def verification(*findings):
    grades = [f["status"] for f in findings]
    overall = "FAIL" if "FAIL" in grades else ("WARN" if "WARN" in grades else "OK")
    return {"overall": overall, "findings": list(findings)}


# ---- outcome ladder ---------------------------------------------------------------------------

def test_no_findings_is_ok_and_needs_no_action():
    out = alert_outcome([])
    assert out == {"overall": "OK", "counts": {"OK": 0, "WARN": 0, "FAIL": 0}, "outcome": "ok",
                   "recommended_action": "No action needed: every figure is within its threshold.", "attention": ""}


def test_fail_with_remediation_off_needs_a_human():
    out = alert_outcome([row("a", "OK"), row("b", "FAIL")], [{"step": "s", "status": "skipped"}])
    assert out["outcome"] == "needs_attention" and out["overall"] == "FAIL"
    assert out["attention"] == "1 finding(s) FAIL: b"


def test_warn_with_nothing_changed_is_ok():
    out = alert_outcome([row("a", "WARN")], [{"step": "s", "status": "skipped"}])
    assert out["outcome"] == "ok" and out["attention"] == ""


def test_fail_cleared_by_the_steps_is_remediated():
    out = alert_outcome([row("a", "FAIL")], [{"step": "s", "status": "done"}], verification(row("a", "OK")))
    assert out["outcome"] == "remediated" and out["overall"] == "FAIL" and out["attention"] == ""


def test_fail_better_but_still_warn_is_remediated():
    out = alert_outcome([row("a", "FAIL")], [{"step": "s", "status": "done"}], verification(row("a", "WARN")))
    assert out["outcome"] == "remediated"


def test_warn_to_ok_is_remediated_and_warn_to_warn_is_ok():
    assert alert_outcome([row("a", "WARN")], [], verification(row("a", "OK")))["outcome"] == "remediated"
    assert alert_outcome([row("a", "WARN")], [], verification(row("a", "WARN")))["outcome"] == "ok"


def test_still_fail_after_the_steps_needs_a_human_and_says_so():
    out = alert_outcome([row("a", "FAIL"), row("b", "WARN")], [{"step": "s", "status": "done"}],
                        verification(row("a", "FAIL"), row("b", "OK")))
    assert out["outcome"] == "needs_attention"
    assert out["attention"] == "1 finding(s) still FAIL after the resolution steps: a"


def test_a_failed_step_needs_a_human_even_when_all_is_ok():
    out = alert_outcome([row("a", "OK")], [{"step": "VACUUM (ANALYZE)", "status": "failed"}, {"step": "x", "status": "done"}])
    assert out["outcome"] == "needs_attention" and out["attention"] == "step(s) failed: VACUUM (ANALYZE)"
    out = alert_outcome([row("a", "WARN")], [{"step": "s", "status": "failed"}], verification(row("a", "OK")))
    assert out["outcome"] == "needs_attention"


def test_fail_left_and_failed_step_are_both_named():
    out = alert_outcome([row("a", "FAIL"), row("b", "FAIL")], [{"step": "s", "status": "failed"}])
    assert out["attention"] == "2 finding(s) FAIL: a, b; step(s) failed: s"


def test_unknown_grade_counts_as_fail():
    out = alert_outcome([row("a", "BROKEN")])
    assert out["overall"] == "FAIL" and out["outcome"] == "needs_attention"
    assert out["counts"] == {"OK": 0, "WARN": 0, "FAIL": 0}


def test_counts_and_the_first_fail_recommendation_wins_over_an_earlier_warn():
    out = alert_outcome([row("a", "WARN", "warn first"), row("b", "OK", "nothing"), row("c", "FAIL", "fail first"),
                         row("d", "FAIL", "fail second")])
    assert out["counts"] == {"OK": 1, "WARN": 1, "FAIL": 2}
    assert out["recommended_action"] == "fail first"
    assert alert_outcome([row("b", "OK", "nothing"), row("a", "WARN", "warn first")])["recommended_action"] == "warn first"


# ---- add_findings -------------------------------------------------------------------------------

def test_new_findings_are_trimmed_and_appended_in_order():
    before = [{"check": "old", "status": " OK", "figure": "x", "threshold": "t", "recommendation": "r"}]
    new = [{"check": "n", "target": "t", "status": " WARN\n", "figure": 82, "threshold": " warn >= 75 ",
            "recommendation": "do\n", "evidence": ["e"]}]
    out = add_findings(before, new)
    assert out[0] is before[0] and out[0]["status"] == " OK"
    assert out[1] == {"check": "n", "target": "t", "status": "WARN", "figure": "82", "threshold": "warn >= 75",
                      "recommendation": "do", "evidence": ["e"], "value": None, "unit": None}
    assert new[0]["status"] == " WARN\n"        # the input is not changed


def test_a_findings_value_and_unit_are_kept():
    new = [{"check": "postgres.connections", "status": "WARN", "figure": "80 of 100", "threshold": "t",
            "recommendation": "r", "evidence": [], "value": 80.0, "unit": "%"}]
    assert [(f["value"], f["unit"]) for f in add_findings([], new)] == [(80.0, "%")]


def test_no_new_findings_and_a_finding_without_status():
    assert add_findings([], []) == [] and add_findings(None, None) == []
    with pytest.raises(AnsibleFilterError, match="no status"):
        add_findings([], [{"check": "x", "figure": "", "threshold": "", "recommendation": ""}])
