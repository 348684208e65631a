"""plugins/filter/http_check: the health check's "ingress answering" row from the uri result.

The messages are the ones ansible.builtin.uri gives (failed_when: false) for each case."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.http_check import http_check

URL = "https://clickview.app/healthz"
KEYS = {"check", "target", "status", "figure", "threshold", "detail", "value", "unit"}


def uri(status, msg, content="", url=URL):
    return {"status": status, "msg": msg, "content": content, "url": url, "changed": False, "failed": False}


def test_200_is_ok_with_the_body_as_detail():
    row = http_check(uri(200, "OK (3 bytes)", "ok\n"))
    assert row == {"check": "ingress.health", "target": URL, "status": "OK", "figure": "HTTP 200",
                   "threshold": "HTTP 2xx", "detail": "ok", "value": None, "unit": None}


@pytest.mark.parametrize("status", [200, 204, 299])
def test_every_2xx_is_ok(status):
    assert http_check(uri(status, "OK"))["status"] == "OK"


def test_503_is_fail_with_the_status_as_figure():
    row = http_check(uri(503, "Status code was 503 and not [200]: HTTP Error 503: Service Unavailable",
                         "no healthy upstream"))
    assert set(row) == KEYS
    assert row["status"] == "FAIL" and row["figure"] == "HTTP 503"
    assert row["detail"] == ("Status code was 503 and not [200]: HTTP Error 503: Service Unavailable; "
                             "body no healthy upstream")


@pytest.mark.parametrize("status", [301, 404, 500])
def test_any_other_status_is_fail(status):
    row = http_check(uri(status, "Status code was %d and not [200]: HTTP Error %d" % (status, status)))
    assert row["status"] == "FAIL" and row["figure"] == "HTTP %d" % status


def test_connection_refused_has_no_status():
    row = http_check(uri(-1, "Status code was -1 and not [200]: Request failed: "
                             "<urlopen error [Errno 111] Connection refused>"))
    assert row["status"] == "FAIL" and row["figure"] == "no answer - connection refused"
    assert "Errno 111" in row["detail"]


def test_a_result_without_any_status_is_fail():
    """A task that failed before any request (a bad ca_path), or a result from nothing at all."""
    row = http_check({"failed": True, "msg": "Request failed: <urlopen error [Errno 2] No such file or directory>"},
                     url=URL)
    assert row["status"] == "FAIL" and row["target"] == URL
    assert row["figure"] == "no answer - [Errno 2] No such file or directory"
    empty = http_check(None, url=URL)
    assert empty["status"] == "FAIL" and empty["figure"] == "no answer" and empty["target"] == URL


def test_untrusted_certificate_names_the_verifiers_reason():
    row = http_check(uri(-1, "Status code was -1 and not [200]: Request failed: <urlopen error [SSL: "
                             "CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer "
                             "certificate (_ssl.c:1006)>"))
    assert row["status"] == "FAIL"
    assert row["figure"] == "certificate not trusted - unable to get local issuer certificate"


def test_certificate_for_another_name_is_not_trusted():
    row = http_check(uri(-1, "Status code was -1 and not [200]: Request failed: <urlopen error [SSL: "
                             "CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate "
                             "is not valid for 'localhost'. (_ssl.c:1006)>"))
    assert row["status"] == "FAIL"
    assert row["figure"].startswith("certificate not trusted - Hostname mismatch")


def test_other_tls_failure_is_a_handshake_failure():
    row = http_check(uri(-1, "Status code was -1 and not [200]: Request failed: <urlopen error [SSL: "
                             "UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)>"))
    assert row["status"] == "FAIL" and row["figure"].startswith("TLS handshake failed - [SSL: UNEXPECTED_EOF")


@pytest.mark.parametrize("reason, figure", [
    ("<urlopen error timed out>", "no answer - timed out"),
    ("The read operation timed out", "no answer - timed out"),
    ("<urlopen error [Errno -2] Name or service not known>", "no answer - host name not found"),
    ("<urlopen error [Errno 104] Connection reset by peer>", "no answer - connection closed"),
])
def test_no_answer_says_why(reason, figure):
    row = http_check(uri(-1, "Status code was -1 and not [200]: Request failed: " + reason))
    assert row["status"] == "FAIL" and row["figure"] == figure


def test_target_falls_back_to_the_url_given():
    row = http_check({"status": 200, "msg": "OK"}, url="https://staging.clickview.app/healthz")
    assert row["target"] == "https://staging.clickview.app/healthz" and row["detail"] == ""


def test_status_as_text_from_a_template():
    assert http_check(uri("200", "OK"))["status"] == "OK"
    assert http_check(uri("n/a", "x"))["status"] == "FAIL"


def test_the_api_check_needs_a_healthy_json_status():
    ok = {"status": 200, "msg": "OK", "json": {"status": "healthy"}, "content": '{"status": "healthy"}', "url": URL}
    row = http_check(ok, check="api.health", json_status=["ok", "healthy", "pass"])
    assert (row["check"], row["status"], row["figure"], row["threshold"]) == \
        ("api.health", "OK", "HTTP 200, status healthy", "HTTP 2xx and status ok")
    degraded = dict(ok, json={"status": "degraded"})
    assert http_check(degraded, json_status=["ok"])["status"] == "FAIL"
    assert http_check(degraded, json_status=["ok"])["figure"] == "HTTP 200, status degraded"
    not_json = {"status": 200, "msg": "OK", "content": "<html>", "url": URL}
    assert http_check(not_json, json_status=["ok"])["figure"] == "HTTP 200, status n/a"
    assert http_check(not_json, json_status=["ok"])["status"] == "FAIL"
    error = {"status": 503, "msg": "Status code was 503", "json": {"status": "down"}, "url": URL}
    assert http_check(error, json_status=["ok"])["figure"] == "HTTP 503, status down"
    assert http_check({"status": -1, "msg": "Request failed: <url" "open error [Errno 111] Connection refused>"},
                      url=URL, json_status=["ok"])["figure"] == "no answer - connection refused"


def test_no_answer_reasons_are_shared_with_the_status_pages():
    """One definition of why a GET got no answer: the health check's figure prefixes it, the status page rows show it."""
    from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import no_answer_reason
    message = "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>"
    assert no_answer_reason(message) == "connection refused"
    assert http_check(uri(-1, message))["figure"] == "no answer - " + no_answer_reason(message)
