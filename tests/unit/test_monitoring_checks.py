"""plugins/filter/monitoring_checks: the health check's Prometheus and Alertmanager checks, from the registered answers."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.monitoring_checks import monitoring_checks
from ansible_collections.clickview.runbook.plugins.module_utils.runbook_thresholds import threshold

T = {"error_ratio": threshold("error_ratio"), "latency_p95_seconds": threshold("latency_p95_seconds")}
PROM, AM = "http://prom:9090", "http://am:9093"
UNAUTHORIZED = {"status": 401, "msg": "Status code was 401 and not [200]: HTTP Error 401: Unauthorized",
                "json": {"error": "unauthorized"}}
REFUSED = {"status": -1, "msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>"}


def vector(value=None, metrics=None):
    if metrics is not None:
        return {"status": 200, "json": {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": m, "value": [1, "1"]} for m in metrics]}}}
    result = [] if value is None else [{"metric": {}, "value": [1700000000, value]}]
    return {"status": 200, "json": {"status": "success", "data": {"resultType": "vector", "result": result}}}


def queries(ratio="0.004", p95="0.08", fired=None):
    answers = {"error_ratio": ratio if isinstance(ratio, dict) else vector(ratio),
               "latency_p95": p95 if isinstance(p95, dict) else vector(p95),
               "fired": fired if fired is not None else vector(metrics=[])}
    return {"results": [dict(answer, item={"key": key}) for key, answer in answers.items()]}


def targets(*health):
    return {"status": 200, "json": {"data": {"activeTargets": [
        {"scrapeUrl": "http://t%d/metrics" % i, "health": h} for i, h in enumerate(health)]}}}


def alerts(*labels):
    return {"status": 200, "json": [{"labels": lab} for lab in labels]}


def checks(target=None, query=None, alert=None):
    out = monitoring_checks(target if target is not None else targets("up", "up"), queries=query or queries(),
                            alerts=alert if alert is not None else alerts(), thresholds=T, prometheus_url=PROM,
                            alertmanager_url=AM, rate_window="5m", lookback="8h")
    return dict((c["check"], c) for c in out)


def test_a_healthy_answer_is_ok_everywhere():
    found = checks()
    assert [c["status"] for c in found.values()] == ["OK"] * 5
    assert found["prometheus.targets"]["figure"] == "2 of 2 targets up"
    assert found["app.error_ratio"]["figure"] == "0.4 %" and found["app.error_ratio"]["threshold"] == "warn >= 2.0 %, fail >= 5.0 %"
    assert found["app.latency_p95"]["figure"] == "80 ms" and found["app.latency_p95"]["threshold"] == "warn >= 400 ms, fail >= 500 ms"
    assert found["alerts.firing"]["figure"] == "0 firing" and found["alerts.overnight"]["figure"] == "0 fired"


def test_an_authenticating_proxy_refusing_is_fail_with_its_reason_not_a_crash():
    found = checks(target=UNAUTHORIZED, query=queries(UNAUTHORIZED, UNAUTHORIZED, UNAUTHORIZED), alert=UNAUTHORIZED)
    assert all(c["status"] == "FAIL" for c in found.values()), found
    assert found["prometheus.targets"]["figure"] == "Prometheus unreachable"
    assert "401" in found["prometheus.targets"]["detail"] and found["prometheus.targets"]["detail"].endswith("unauthorized")
    assert found["app.error_ratio"]["figure"] == "unknown" and "401" in found["app.error_ratio"]["detail"]
    assert found["alerts.firing"]["figure"] == "Alertmanager unreachable" and "401" in found["alerts.firing"]["detail"]
    assert found["alerts.overnight"]["figure"] == "no data"


def test_unreachable_prometheus_and_alertmanager():
    found = checks(target=REFUSED, query=queries(REFUSED, REFUSED, REFUSED), alert=REFUSED)
    assert "Connection refused" in found["prometheus.targets"]["detail"]
    assert found["alerts.firing"]["status"] == "FAIL"


@pytest.mark.parametrize("ratio, status", [("0.0199", "OK"), ("0.02", "WARN"), ("0.0499", "WARN"), ("0.05", "FAIL"), ("0.06", "FAIL")])
def test_error_ratio_at_the_runbooks_line_is_fail(ratio, status):
    assert checks(query=queries(ratio=ratio))["app.error_ratio"]["status"] == status


@pytest.mark.parametrize("value", [None, "NaN", "+Inf"])
def test_no_figure_is_fail_and_says_so(value):
    found = checks(query=queries(ratio=value, p95=value))
    assert found["app.error_ratio"]["status"] == "FAIL" and found["app.error_ratio"]["figure"] == "no data"
    assert found["app.latency_p95"]["status"] == "FAIL" and found["app.latency_p95"]["detail"].startswith("no series")


def test_a_target_down_is_fail_naming_it():
    found = checks(target=targets("up", "down"))["prometheus.targets"]
    assert found["status"] == "FAIL" and found["figure"] == "1 of 2 targets up" and found["detail"] == "down: http://t1/metrics"


def test_p1_firing_is_fail_other_alerts_warn():
    warn = checks(alert=alerts({"alertname": "HighLatency", "severity": "P2"}))["alerts.firing"]
    assert warn["status"] == "WARN" and warn["figure"] == "1 firing: HighLatency"
    fail = checks(alert=alerts({"alertname": "HighLatency", "severity": "P2"},
                               {"alertname": "DatabaseConnectionPoolExhausted", "severity": "P1"}))["alerts.firing"]
    assert fail["status"] == "FAIL" and fail["figure"] == "2 firing: DatabaseConnectionPoolExhausted, HighLatency"


def test_alerts_fired_overnight_are_listed_once_each():
    fired = vector(metrics=[{"alertname": "HighErrorRate", "severity": "P2"}, {"alertname": "HighErrorRate", "severity": "P1"},
                            {"alertname": "DiskSpaceLow"}])
    found = checks(query=queries(fired=fired))["alerts.overnight"]
    assert found["status"] == "OK" and found["figure"] == "2 fired: DiskSpaceLow, HighErrorRate"


def test_each_figure_has_its_number_and_unit():
    found = checks(target=targets("up", "down", "up"), query=queries(ratio="0.0123", p95="0.4567"),
                   alert=alerts({"alertname": "HighLatency", "severity": "P2"}))
    assert [(c["value"], c["unit"]) for c in found.values()] == [
        (2, "count"), (1.23, "%"), (457, "ms"), (1, "count"), (0, "count")]
    assert found["app.error_ratio"]["figure"] == "1.23 %" and found["app.latency_p95"]["figure"] == "457 ms"


def test_no_figure_has_no_value_nor_unit():
    found = checks(target=REFUSED, query=queries(REFUSED, None, REFUSED), alert=REFUSED)
    assert all((c["value"], c["unit"]) == (None, None) for c in found.values()), found
