"""plugins/filter/scoreboard_timings.py: seconds from a game day's injection to each step."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.scoreboard_timings import scoreboard_timings

START = "2026-01-01T10:00:00Z"


def test_no_marks():
    assert scoreboard_timings([], START) == []


def test_one_step_done():
    assert scoreboard_timings([{"key": "alert", "label": "alert fired", "at": "2026-01-01T10:01:30Z"}], START) == [
        {"key": "alert", "label": "alert fired", "at": "2026-01-01T10:01:30Z", "seconds": 90}]


def test_a_step_not_done_has_no_time():
    rows = scoreboard_timings([{"key": "resolved", "label": "incident resolved", "at": ""},
                               {"key": "rollback", "label": "rolled back"}], START)
    assert [(row["at"], row["seconds"]) for row in rows] == [(None, None), (None, None)]


def test_across_midnight_and_at_the_injection():
    rows = scoreboard_timings([{"key": "a", "label": "a", "at": START},
                               {"key": "b", "label": "b", "at": "2026-01-02T00:00:01Z"}], "2026-01-01T23:59:59Z")
    assert [row["seconds"] for row in rows] == [-50399, 2]


def test_order_is_kept():
    marks = [{"key": k, "label": k, "at": START} for k in ("z", "a", "m")]
    assert [row["key"] for row in scoreboard_timings(marks, START)] == ["z", "a", "m"]


@pytest.mark.parametrize("started, at", [("2026-01-01 10:00:00", START), (START, "yesterday")])
def test_a_time_in_another_format_is_an_error(started, at):
    with pytest.raises(AnsibleFilterError, match="not a UTC time"):
        scoreboard_timings([{"key": "a", "label": "a", "at": at}], started)
