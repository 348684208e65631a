"""plugins/filter/release_sample.py, verify_verdict.py, verify_outcome.py, canary_verdict.py, canary_size.py,
promql_queries.py: grading a release (post-deploy verification, canary analysis)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.filter.canary_size import canary_size  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.canary_verdict import canary_verdict  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.promql_queries import promql_queries  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.release_sample import release_sample  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.verify_outcome import verify_outcome  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.verify_verdict import verify_verdict  # noqa: E402

THRESHOLDS = {"error_ratio": {"warn": 0.02, "fail": 0.05}, "latency_p95_seconds": {"warn": 0.5, "fail": 1.0}}


def answer(key, value):
    """One looped uri result of a Prometheus instant query; value None = no series."""
    result = [] if value is None else [{"metric": {}, "value": [1700000000.0, value]}]
    return {"item": {"key": key, "value": "q"}, "status": 200, "json": {"status": "success", "data": {"result": result}}}


def unanswered(key):
    return {"item": {"key": key, "value": "q"}, "status": -1, "msg": "Status code was -1: Connection refused"}


def answers(error_ratio, latency):
    return [answer("error_ratio", error_ratio), answer("latency_p95_seconds", latency)]


# ---- release_sample


def test_healthy_sample_is_ok_and_values_arrive_as_strings():
    sample = release_sample(answers("0.0123456789", "0.08"), THRESHOLDS, sample=1, time="10:00:00")
    assert sample["status"] == "OK" and sample["bad"] == [] and sample["errors"] == []
    assert sample["error_ratio"] == 0.012346 and sample["latency_p95_seconds"] == 0.08
    assert sample["sample"] == 1 and sample["time"] == "10:00:00" and sample["health_status"] is None


def test_exactly_at_the_fail_threshold_is_evidence_of_a_bad_release():
    sample = release_sample(answers("0.05", "0.1"), THRESHOLDS)
    assert sample["status"] == "FAIL" and sample["bad"] == ["error_ratio 0.05 >= 0.05"]


def test_just_under_the_fail_threshold_is_a_warning_not_evidence():
    sample = release_sample(answers("0.0499", "0.5"), THRESHOLDS)
    assert sample["status"] == "WARN" and sample["bad"] == []


def test_nan_and_inf_are_no_figure_graded_by_the_no_data_policy():
    verify = release_sample(answers("NaN", "+Inf"), THRESHOLDS, no_data="WARN")
    assert verify["error_ratio"] is None and verify["latency_p95_seconds"] is None
    assert verify["status"] == "WARN" and verify["bad"] == []   # not proven bad: no rollback
    canary = release_sample(answers("NaN", "0.1"), THRESHOLDS, no_data="FAIL")
    assert canary["status"] == "FAIL" and canary["bad"] == []   # not proven healthy: no promotion


def test_no_canary_traffic_no_series_fails_a_canary():
    assert release_sample(answers(None, None), THRESHOLDS, no_data="FAIL")["status"] == "FAIL"
    assert release_sample(answers(None, None), THRESHOLDS, no_data="WARN")["status"] == "WARN"


def test_prometheus_not_answering_fails_the_sample_but_is_no_evidence():
    sample = release_sample([unanswered("error_ratio"), answer("latency_p95_seconds", "0.1")], THRESHOLDS)
    assert sample["status"] == "FAIL" and sample["bad"] == []
    assert sample["errors"] == ["Status code was -1: Connection refused"] and sample["error_ratio"] is None


def test_health_url_failing_is_evidence_and_2xx_is_not():
    assert release_sample(answers("0", "0.1"), THRESHOLDS, health={"status": 503})["bad"] == ["health URL answered 503"]
    unreachable = release_sample(answers("0", "0.1"), THRESHOLDS, health={"msg": "timed out"})
    assert unreachable["health_status"] == -1 and unreachable["status"] == "FAIL"
    ok = release_sample(answers("0", "0.1"), THRESHOLDS, health={"status": 204})
    assert ok["status"] == "OK" and ok["health_status"] == 204
    skipped = release_sample(answers("0", "0.1"), THRESHOLDS, health={"skipped": True, "changed": False})
    assert skipped["health_status"] is None and skipped["status"] == "OK"


def test_no_data_at_all():
    sample = release_sample([], THRESHOLDS, no_data="FAIL")
    assert sample["status"] == "FAIL" and sample["error_ratio"] is None


# ---- verify_verdict


def sample(status="OK", error_ratio=0.01, latency=0.1, health=None, bad=(), errors=()):
    return {"status": status, "error_ratio": error_ratio, "latency_p95_seconds": latency, "health_status": health,
            "bad": list(bad), "errors": list(errors)}


def rows(verdict):
    return {row["check"]: row for row in verdict["rows"]}


def test_verify_passes_on_healthy_samples_and_grades_the_worst():
    verdict = verify_verdict([sample(error_ratio=0.001), sample(error_ratio=0.03)], THRESHOLDS, selector='job="b"',
                             window="1m", health_url="http://app/health")
    assert verdict["failed"] is False and verdict["evidence"] == []
    checks = rows(verdict)
    assert checks["verify.error_ratio"]["status"] == "WARN"
    assert checks["verify.error_ratio"]["figure"] == "worst of 2 sample(s): 0.03, last: 0.03"
    assert checks["verify.error_ratio"]["threshold"] == "warn \u2265 0.02, fail \u2265 0.05 (query over 1m)"
    assert checks["verify.health"]["status"] == "OK" and checks["verify.health"]["figure"] == "0 answer(s): "


def test_verify_one_bad_sample_fails_with_its_evidence():
    verdict = verify_verdict([sample("FAIL", error_ratio=0.3, health=200, bad=["error_ratio 0.3 >= 0.05"])], THRESHOLDS,
                             health_url="http://app/health")
    assert verdict["failed"] is True and verdict["evidence"] == ["error_ratio 0.3 >= 0.05"]
    assert rows(verdict)["verify.error_ratio"]["status"] == "FAIL"
    assert rows(verdict)["verify.health"]["figure"] == "1 answer(s): 200"


def test_verify_health_answers_outside_2xx_fail_the_health_row():
    verdict = verify_verdict([sample(health=200), sample("FAIL", health=503, bad=["health URL answered 503"])], THRESHOLDS,
                             health_url="http://app/health")
    assert rows(verdict)["verify.health"]["status"] == "FAIL"
    assert rows(verdict)["verify.health"]["figure"] == "2 answer(s): 200, 503"
    assert "verify.health" not in rows(verify_verdict([sample()], THRESHOLDS))   # no health URL, no row


def test_verify_no_traffic_is_a_warning_not_a_rollback():
    verdict = verify_verdict([sample("WARN", error_ratio=None, latency=None)], THRESHOLDS)
    assert verdict["failed"] is False and verdict["evidence"] == []
    assert rows(verdict)["verify.error_ratio"]["status"] == "WARN"
    assert rows(verdict)["verify.error_ratio"]["figure"] == "worst of 1 sample(s): no data, last: no data"


def test_verify_prometheus_down_fails_without_evidence():
    errors = ["Status code was -1: Connection refused"]
    verdict = verify_verdict([sample("FAIL", None, None, errors=errors + errors)], THRESHOLDS, prometheus_url="http://prom")
    assert verdict["failed"] is True and verdict["evidence"] == []   # nothing verified, nothing to roll back for
    assert rows(verdict)["verify.prometheus"]["detail"] == errors


def test_verify_rollout_not_complete_is_evidence_unless_the_image_is_not_the_deployed_one():
    failed = verify_verdict([], THRESHOLDS, rollout_ok=False, rollout_message='deployment "b" exceeded its progress deadline')
    assert failed["failed"] is True and failed["rows"] == []
    assert failed["evidence"] == ['deployment "b" exceeded its progress deadline']
    other = verify_verdict([], THRESHOLDS, image_ok=False, rollout_ok=False, rollout_message="x")
    assert other["failed"] is True and other["evidence"] == []


def test_verify_fails_without_rollback_when_another_image_runs():
    verdict = verify_verdict([], THRESHOLDS, image_ok=False, rollout_ok=True)
    assert verdict["failed"] is True and verdict["evidence"] == []


def test_verify_figures_are_shown_to_four_places():
    row = rows(verify_verdict([sample(error_ratio=0.0123456)], THRESHOLDS))["verify.error_ratio"]
    assert row["figure"] == "worst of 1 sample(s): 0.0123, last: 0.0123"


# ---- canary_verdict


def test_canary_promoted_when_every_sample_passes():
    verdict = canary_verdict([sample(), sample("WARN", error_ratio=0.03)], THRESHOLDS, target="deployment/b-canary",
                             window="5s", analysis_seconds=4)
    assert verdict["decision"] == "promote"
    assert verdict["reason"] == "every sample within the FAIL thresholds (2 sample(s) over 4 s)"
    assert rows(verdict)["canary.error_ratio"]["status"] == "WARN"


def test_canary_held_when_auto_promote_is_off():
    assert canary_verdict([sample()], THRESHOLDS, auto_promote=False)["decision"] == "hold"


def test_canary_rolled_back_at_a_bad_sample():
    verdict = canary_verdict([sample(), sample("FAIL", error_ratio=0.3, latency=0.9)], THRESHOLDS)
    assert verdict["decision"] == "rollback"
    assert verdict["reason"] == "sample 2 crossed a FAIL threshold or had no data: error ratio 0.3, P95 latency 0.9 s"
    assert rows(verdict)["canary.error_ratio"]["status"] == "FAIL"
    assert rows(verdict)["canary.latency_p95_seconds"]["status"] == "WARN"


def test_canary_without_traffic_is_not_promoted():
    verdict = canary_verdict([sample("FAIL", error_ratio=None, latency=0.1)], THRESHOLDS)
    assert verdict["decision"] == "rollback"
    row = rows(verdict)["canary.error_ratio"]
    assert row["status"] == "FAIL" and row["figure"] == "worst of 1 sample(s): no data, 1 sample(s) without data, last: no data"


def test_canary_sample_without_data_fails_its_row_even_when_others_have_data():
    row = rows(canary_verdict([sample(error_ratio=0.01), sample("FAIL", error_ratio=None)], THRESHOLDS))["canary.error_ratio"]
    assert row["status"] == "FAIL" and ", 1 sample(s) without data" in row["figure"]


def test_canary_that_never_became_ready_is_rolled_back_unsampled():
    verdict = canary_verdict([], THRESHOLDS, ready=False, rollout_message='deployment "b-canary" exceeded its progress deadline')
    assert verdict["decision"] == "rollback"
    assert verdict["reason"] == 'the canary never became ready: deployment "b-canary" exceeded its progress deadline'
    assert all(row["status"] == "FAIL" and row["figure"] == "not sampled (the canary never became ready)"
               for row in verdict["rows"])


def test_canary_not_ready_is_rolled_back_whatever_its_samples():
    assert canary_verdict([sample()], THRESHOLDS, ready=False, rollout_message="m")["decision"] == "rollback"


def test_canary_ready_but_not_sampled_is_not_promoted():
    verdict = canary_verdict([], THRESHOLDS, ready=True)
    assert verdict["decision"] == "rollback" and verdict["reason"] == "no sample was taken"


# ---- promql_queries


def test_selector_and_window_are_filled_in():
    queries = {"error_ratio": " sum(rate(x{$selector,code=~\"5..\"}[$window])) / sum(rate(x{$selector}[$window]))\n"}
    assert promql_queries(queries, 'job="b"', "1m") == {
        "error_ratio": 'sum(rate(x{job="b",code=~"5.."}[1m])) / sum(rate(x{job="b"}[1m]))'}
    assert promql_queries({}, "a", "1m") == {}


# ---- canary_size


def test_canary_size_gives_the_share_of_the_pods():
    assert canary_size(3, 25) == {"replicas": 1, "share_percent": 25.0}
    assert canary_size(9, 10) == {"replicas": 1, "share_percent": 10.0}
    assert canary_size(10, 50) == {"replicas": 10, "share_percent": 50.0}


def test_canary_size_is_at_least_one_pod():
    assert canary_size(1, 1) == {"replicas": 1, "share_percent": 50.0}   # far from the share asked: reported
    assert canary_size(0, 10) == {"replicas": 1, "share_percent": 100.0}


# ---- verify_outcome


def test_verify_outcome():
    assert verify_outcome(False, {"skipped": True}) == "pass"
    assert verify_outcome(False, {"changed": True, "failed": True}) == "pass"
    assert verify_outcome(True, {"changed": True, "rollbacks": []}) == "rollback"
    assert verify_outcome(True, {"failed": True, "msg": "timed out"}) == "rollback_failed"
    assert verify_outcome(True, {"skipped": True, "false_condition": "deployment_verify_rollback | bool"}) == "fail"
    assert verify_outcome(True) == "fail"


# ---- value and unit of the rows


def test_the_worst_error_ratio_is_a_percent_number_and_the_p95_seconds():
    samples = [release_sample(answers("0.0123456789", "0.08"), THRESHOLDS), release_sample(answers("0.004", "0.61"), THRESHOLDS)]
    for verdict in (verify_verdict(samples, THRESHOLDS, health_url="http://app/health"), canary_verdict(samples, THRESHOLDS)):
        found = rows(verdict)
        assert [(row["value"], row["unit"]) for row in found.values()][:2] == [(1.2346, "%"), (0.61, "s")]
    assert (rows(verify_verdict(samples, THRESHOLDS, health_url="h"))["verify.health"]["value"]) is None


def test_a_figure_without_data_has_no_value():
    assert all((row["value"], row["unit"]) == (None, None) for row in canary_verdict([], THRESHOLDS, ready=False)["rows"])
    row = rows(verify_verdict([sample("WARN", error_ratio=None, latency=None)], THRESHOLDS))["verify.error_ratio"]
    assert (row["value"], row["unit"]) == (None, None)
