"""plugins/lookup/check_trends.py (module_utils/report_history.py): each health-check figure over the last days,
read back from the JSON reports earlier runs stored, for the weekly handoff."""
import datetime
import json

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.clickview.runbook.plugins.lookup import check_trends as lookup
from ansible_collections.clickview.runbook.plugins.module_utils.report_history import check_trends, read_reports

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def row(check, value, unit="%", target="primary 10.0.0.1:5432", status="OK"):
    return {"check": check, "target": target, "status": status, "figure": "x", "threshold": "y", "detail": "",
            "value": value, "unit": unit}


def write(folder, at, checks, kind="health-check", env="production"):
    name = "%s-%s-%s.json" % (kind, env, at.strftime("%Y%m%dT%H%M%SZ"))
    (folder / name).write_text(json.dumps({"kind": kind, "environment": env, "checks": checks}))
    return name


def days_ago(days, hour=6):
    return (NOW - datetime.timedelta(days=days)).replace(hour=hour, minute=0, second=0)


def test_the_last_value_of_each_day_is_drawn_and_a_day_without_a_run_is_a_blank(tmp_path):
    for ago, value in ((6, 40.0), (5, 42.5), (3, 60.0), (1, 80.0), (0, 20.0)):
        write(tmp_path, days_ago(ago), [row("postgres.connections", value)])
    write(tmp_path, days_ago(1, hour=20), [row("postgres.connections", 90.0)])   # later that day: it wins
    reports, skipped = read_reports(str(tmp_path), "health-check", "production", days_ago(6, hour=0))
    assert skipped == [] and len(reports) == 6
    (trend,) = check_trends(reports, NOW, 7)
    assert trend["days"] == ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06", "2026-12-07"]
    assert trend["values"] == [40.0, 42.5, None, 60.0, None, 90.0, 20.0]
    assert (trend["latest"], trend["low"], trend["high"], trend["runs"], trend["unit"]) == (20.0, 20.0, 90.0, 6, "%")
    assert len(trend["sparkline"]) == 7 and trend["sparkline"][2] == " " and trend["sparkline"][4] == " "
    assert trend["sparkline"][5] == "█" and trend["sparkline"][6] < trend["sparkline"][5]


def test_checks_without_a_number_and_other_kinds_environments_and_the_latest_copy_are_left_out(tmp_path):
    write(tmp_path, days_ago(1), [row("redis.ping", None, unit=None), row("app.latency_p95", 120.0, unit="ms")])
    write(tmp_path, days_ago(1), [row("app.latency_p95", 999.0, unit="ms")], env="staging")
    write(tmp_path, days_ago(1), [row("app.latency_p95", 999.0, unit="ms")], kind="alert-high-latency")
    (tmp_path / "health-check-production-latest.json").write_text(json.dumps({"checks": [row("app.latency_p95", 999.0)]}))
    (tmp_path / "health-check-production-20261206T060000Z.md").write_text("not json")
    reports, _skipped = read_reports(str(tmp_path), "health-check", "production", days_ago(6, hour=0))
    assert [(t["check"], t["values"][-2]) for t in check_trends(reports, NOW, 7)] == [("app.latency_p95", 120.0)]


def test_reports_older_than_the_window_are_not_read(tmp_path):
    write(tmp_path, days_ago(8), [row("postgres.connections", 99.0)])
    write(tmp_path, days_ago(2), [row("postgres.connections", 10.0)])
    reports, _skipped = read_reports(str(tmp_path), "health-check", "production", days_ago(6, hour=0))
    assert [t["values"] for t in check_trends(reports, NOW, 7)] == [[None, None, None, None, 10.0, None, None]]


def test_an_unreadable_report_is_skipped_with_its_reason_and_the_others_are_kept(tmp_path):
    write(tmp_path, days_ago(1), [row("postgres.connections", 10.0)])
    (tmp_path / "health-check-production-20261206T070000Z.json").write_text("{truncated")
    (tmp_path / "health-check-production-20261206T080000Z.json").write_text("[]")
    reports, skipped = read_reports(str(tmp_path), "health-check", "production", days_ago(6, hour=0))
    assert len(reports) == 1
    assert [s.split(":")[0] for s in skipped] == ["health-check-production-20261206T070000Z.json",
                                                  "health-check-production-20261206T080000Z.json"]
    assert skipped[1].endswith("not a report (no checks)")


def test_rows_per_target_keep_the_order_checks_first_appear(tmp_path):
    write(tmp_path, days_ago(0), [row("postgres.replica_lag", 2048, unit="bytes", target="replica-1"),
                                  row("postgres.replica_lag", 0, unit="bytes", target="replica-2"),
                                  row("redis.memory", 12.5)])
    reports, _skipped = read_reports(str(tmp_path), "health-check", "production", days_ago(6, hour=0))
    trends = check_trends(reports, NOW, 7)
    assert [(t["check"], t["target"], t["latest"]) for t in trends] == [
        ("postgres.replica_lag", "replica-1", 2048), ("postgres.replica_lag", "replica-2", 0), ("redis.memory", "primary 10.0.0.1:5432", 12.5)]
    assert trends[1]["sparkline"] == " " * 6 + "▁"


def test_a_missing_folder_has_no_reports():
    assert read_reports("/nonexistent/reports", "health-check", "production", days_ago(6)) == ([], [])


def test_the_lookup_reads_todays_reports_and_refuses_bad_options(tmp_path):
    now = datetime.datetime.now(UTC)
    write(tmp_path, now - datetime.timedelta(minutes=5), [row("postgres.connections", 33.0)], env="local")
    (result,) = lookup.LookupModule().run([str(tmp_path)], environment="local")
    assert result["reports"] == 1 and result["skipped"] == []
    assert [(r["check"], r["values"][-1], len(r["days"])) for r in result["rows"]] == [("postgres.connections", 33.0, 7)]
    with pytest.raises(AnsibleLookupError, match="environment is required"):
        lookup.LookupModule().run([str(tmp_path)], environment="")
    with pytest.raises(AnsibleLookupError, match="days must be at least 1"):
        lookup.LookupModule().run([str(tmp_path)], environment="local", days=0)
    with pytest.raises(AnsibleLookupError, match="give one report folder"):
        lookup.LookupModule().run([str(tmp_path), "/tmp"], environment="local")
    with pytest.raises(AnsibleLookupError, match="unknown option window"):
        lookup.LookupModule().run([str(tmp_path)], environment="local", window=3)
