"""The grading filters used by the runbook's reports."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status, worst_status


@pytest.mark.parametrize("value, expected", [(0, "OK"), (74.9, "OK"), (75, "WARN"), (89.99, "WARN"), (90, "FAIL"), (250, "FAIL")])
def test_higher_is_worse(value, expected):
    assert health_status(value, warn=75, fail=90) == expected


@pytest.mark.parametrize("value, expected", [(0.95, "OK"), (0.80, "OK"), (0.7999, "WARN"), (0.0, "WARN")])
def test_lower_is_worse_hit_rate(value, expected):
    assert health_status(value, warn=0.8, higher_is_worse=False) == expected


def test_unmeasured_figure_fails():
    assert health_status(None, warn=1, fail=2) == "FAIL"


def test_strings_from_templates_are_numbers():
    assert health_status("0.06", warn="0.02", fail="0.05") == "FAIL"


def test_missing_threshold_never_grades():
    assert health_status(10 ** 9) == "OK"
    assert health_status(5, fail=4) == "FAIL"


@pytest.mark.parametrize("statuses, expected", [
    ([], "OK"), (["OK", "OK"], "OK"), (["OK", "WARN"], "WARN"), (["WARN", "FAIL", "OK"], "FAIL"), (["bogus"], "FAIL"),
])
def test_worst_status(statuses, expected):
    assert worst_status(statuses) == expected
