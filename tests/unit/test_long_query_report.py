"""plugins/filter/long_query_report.py: what the kill-long-queries report says was selected and done."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.long_query_report import long_query_report

SELECTION = {"states": ["active", "idle in transaction"], "min_duration": "5m", "include_users": [],
             "include_applications": ["batch"], "query_pattern": ""}


def backend(pid, outcome, **extra):
    out = {"pid": pid, "user": "app", "database": "clickview", "application": "batch", "outcome": outcome,
           "duration": 312.456, "state": "active", "query": "SELECT pg_sleep(600)"}
    out.update(extra)
    return out


def preview(*backends, cancel=None):
    cancel = len(backends) if cancel is None else cancel
    return {"msg": "%d backend(s) selected" % len(backends), "backends": list(backends),
            "counts": {"would_cancel": cancel, "would_terminate": 0}}


SKIPPED = {"changed": False, "skipped": True}


def report(prev, run=None, check_mode=False):
    return long_query_report(prev, run if run is not None else SKIPPED, target="primary db1:5432",
                             action="cancel_then_terminate", selection=SELECTION, check_mode=check_mode)


def test_nothing_selected_is_ok_without_action():
    out = report(preview())
    assert [(c["check"], c["status"]) for c in out["checks"]] == [("long_query.selection", "OK")]
    assert out["checks"][0]["threshold"] == "states active, idle in transaction for >= 5m, applications batch"
    assert out["actions"] == []


def test_selected_but_not_signalled_warns_and_says_how():
    out = report(preview(backend(7, "would_cancel")))
    selection, row = out["checks"]
    assert selection["status"] == "WARN"
    assert selection["figure"].endswith("; not signalled: run with database_operations_kill_execute=true to cancel_then_terminate")
    assert row["status"] == "WARN" and row["target"] == "pid 7 app@clickview (batch)"
    assert row["figure"] == "would_cancel after 312.5 s active: SELECT pg_sleep(600)"
    assert out["actions"] == []


def test_check_mode_warns_without_the_hint():
    selection = report(preview(backend(7, "would_cancel")), check_mode=True)["checks"][0]
    assert selection["status"] == "WARN" and "not signalled" not in selection["figure"]


def test_signalled_backends_are_ok_and_recorded_as_an_action():
    run = {"msg": "cancelled 1, terminated 1", "counts": {"cancelled": 1, "terminated": 1},
           "backends": [backend(7, "cancelled"), backend(8, "terminated"), backend(9, "gone")]}
    out = report(preview(backend(7, "would_cancel"), backend(8, "would_cancel"), backend(9, "would_cancel")), run)
    assert [c["status"] for c in out["checks"]] == ["OK", "OK", "OK", "OK"]
    assert out["checks"][0]["figure"] == "cancelled 1, terminated 1"
    assert out["actions"] == [{"action": "kill_long_queries",
                               "summary": "cancel_then_terminate on primary db1:5432: cancelled 1, terminated 1",
                               "counts": {"cancelled": 1, "terminated": 1}, "pids": [7, 8]}]


@pytest.mark.parametrize("outcome, status", [("cancelled", "OK"), ("terminated", "OK"), ("gone", "OK"), ("skipped", "OK"),
                                             ("would_cancel", "WARN"), ("would_terminate", "WARN"),
                                             ("would_fail", "FAIL"), ("failed", "FAIL"), ("exploded", "FAIL")])
def test_each_outcome_grade(outcome, status):
    assert report(preview(backend(7, outcome), cancel=0))["checks"][1]["status"] == status


def test_a_failed_call_fails_the_selection():
    run = {"failed": True, "msg": "permission denied", "backends": [], "counts": {}}
    assert report(preview(backend(7, "would_cancel")), run)["checks"][0]["status"] == "FAIL"


def test_guard_and_long_query_text():
    row = report(preview(backend(7, "skipped", guard="superuser", application="",
                                 query="SELECT " + "x, " * 40 + "y FROM t")))["checks"][1]
    assert row["target"] == "pid 7 app@clickview (no application_name)"
    assert row["figure"].startswith("skipped (superuser) after 312.5 s active: SELECT x, ")
    assert row["figure"].endswith("...") and len(row["figure"].split(": ", 1)[1]) <= 80
    short = "SELECT " + "x" * 78           # within Jinja's leeway of 5: kept whole
    assert report(preview(backend(7, "skipped", query=short)))["checks"][1]["figure"].endswith(short)


def test_the_selection_counts_the_backends_and_each_backend_its_seconds():
    selection, first, second = report(preview(backend(7, "would_cancel"), backend(8, "would_cancel", duration=61.04)))["checks"]
    assert (selection["value"], selection["unit"]) == (2, "count")
    assert [(row["value"], row["unit"]) for row in (first, second)] == [(312.5, "s"), (61.0, "s")]
    failed = report({"failed": True, "msg": "permission denied"})["checks"][0]
    assert (failed["value"], failed["unit"]) == (None, None)
