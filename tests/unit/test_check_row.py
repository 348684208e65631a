"""module_utils/alert_findings.check_row: the shape of every report row, with the figure's number as value and unit."""
import pytest

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import UNITS, check_row, tidy

KEYS = {"check", "target", "status", "figure", "threshold", "detail", "value", "unit"}


@pytest.mark.parametrize("kwargs", [{}, {"value": 93.5, "unit": "%"}, {"value": 0, "unit": "count"}, {"unit": "ms"},
                                    {"value": None, "unit": "bytes"}])
def test_every_row_has_value_and_unit(kwargs):
    row = check_row("redis.memory", "r:6379", "OK", "figure", "threshold", **kwargs)
    assert set(row) == KEYS
    assert row["value"] == kwargs.get("value")
    # no unit without a value: consumers can rely on unit being set exactly when value is
    assert row["unit"] == (kwargs.get("unit") if kwargs.get("value") is not None else None)


def test_the_text_fields_are_as_before():
    assert check_row("c", "t", "WARN", "82 %", "warn >= 80 %", "d", value=82, unit="%") == {
        "check": "c", "target": "t", "status": "WARN", "figure": "82 %", "threshold": "warn >= 80 %", "detail": "d",
        "value": 82, "unit": "%"}


def test_an_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="unknown unit 'percent'"):
        check_row("c", "t", "OK", "1 %", "", value=1, unit="percent")
    assert "%" in UNITS and "count" in UNITS


def test_tidy_gives_every_finding_value_and_unit():
    finding = {"check": "c", "status": " OK", "figure": "x", "threshold": "t", "recommendation": "r"}
    assert (tidy(finding)["value"], tidy(finding)["unit"]) == (None, None)
    assert tidy(dict(finding, value=3, unit="count"))["value"] == 3
