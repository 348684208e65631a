"""plugins/filter/report_summary.py: the overall grade and the counts of a run's report."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.report_summary import report_summary


def test_no_checks_is_ok_with_zero_counts():
    assert report_summary([]) == {"overall": "OK", "counts": {"OK": 0, "WARN": 0, "FAIL": 0}, "checks": []}
    assert report_summary(None)["overall"] == "OK"


def test_one_check_rows_are_trimmed_strings_and_keep_other_keys():
    out = report_summary([{"check": "connections", "status": " WARN\n", "figure": 82, "threshold": "75 / 90 ",
                           "target": None, "extra": [1]}])
    assert out["overall"] == "WARN"
    assert out["counts"] == {"OK": 0, "WARN": 1, "FAIL": 0}
    assert out["checks"] == [{"check": "connections", "status": "WARN", "figure": "82", "threshold": "75 / 90",
                              "target": "None", "detail": "", "extra": [1], "value": None, "unit": None}]


def test_value_and_unit_are_carried_as_given():
    out = report_summary([{"check": "postgres.connections", "status": "OK", "figure": "7 of 100 (7.0 %)", "value": 7.0,
                           "unit": "%"}])
    assert (out["checks"][0]["value"], out["checks"][0]["unit"]) == (7.0, "%")


def test_missing_fields_become_empty():
    row = report_summary([{"check": "redis", "status": "OK"}])["checks"][0]
    assert (row["target"], row["figure"], row["threshold"], row["detail"]) == ("", "", "", "")


def test_detail_is_kept_as_given():
    assert report_summary([{"check": "x", "status": "OK", "detail": {"rows": 2}}])["checks"][0]["detail"] == {"rows": 2}


def test_the_worst_grade_wins_and_counts_add_up():
    checks = [{"check": "a", "status": "OK"}, {"check": "b", "status": "FAIL"}, {"check": "c", "status": "WARN"},
              {"check": "d", "status": "OK"}]
    out = report_summary(checks)
    assert out["overall"] == "FAIL"
    assert out["counts"] == {"OK": 2, "WARN": 1, "FAIL": 1}
    assert [row["check"] for row in out["checks"]] == ["a", "b", "c", "d"]


def test_all_ok():
    assert report_summary([{"check": "a", "status": "OK"}, {"check": "b", "status": "OK "}])["overall"] == "OK"


def test_an_unknown_grade_fails_the_report_and_is_not_counted():
    out = report_summary([{"check": "a", "status": "UNKNOWN"}])
    assert out["overall"] == "FAIL"
    assert out["counts"] == {"OK": 0, "WARN": 0, "FAIL": 0}


def test_a_check_without_status_is_an_error():
    with pytest.raises(AnsibleFilterError, match="no status"):
        report_summary([{"check": "a"}])
