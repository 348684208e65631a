"""plugins/filter/tls_certificate_findings, cert_manager_findings, certificate_renewals, certificate_renewal_actions."""
import datetime
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.filter.cert_manager_findings import cert_manager_findings  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.certificate_renewal_actions import (  # noqa: E402
    certificate_renewal_actions)
from ansible_collections.clickview.runbook.plugins.filter.certificate_renewals import certificate_renewals  # noqa: E402
from ansible_collections.clickview.runbook.plugins.filter.tls_certificate_findings import (  # noqa: E402
    tls_certificate_findings)

NOW = datetime.datetime(2025, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
T = {"warn": 14, "fail": 7}


def served(days, expired=False, port=None):
    item = {"host": "app.example.com"}
    if port:
        item["port"] = port
    not_after = (NOW + datetime.timedelta(days=days)).strftime("%Y%m%d%H%M%SZ")
    return {"item": item, "not_after": not_after, "not_before": "20250101000000Z", "expired": expired,
            "subject": {"commonName": "app.example.com", "organizationName": "ClickView"}, "issuer": {"commonName": "CA"},
            "serial_number": 1234}


def grade(days, **kw):
    return tls_certificate_findings([served(days, **kw)], T, now=NOW)[0]


# ---- live certificates -------------------------------------------------------------------------

def test_days_left_graded_at_and_around_the_thresholds():
    assert grade(30)["status"] == "OK"
    assert grade(14)["status"] == "OK"                   # exactly 14 days: not fewer than 14
    assert grade(13.99)["status"] == "WARN"
    assert grade(7)["status"] == "WARN"                  # exactly 7 days: WARN, not yet FAIL
    assert grade(6.9)["status"] == "FAIL"


def test_figure_rounds_the_days_down_and_names_the_expiry():
    found = grade(6.99)
    assert found["figure"].startswith("expires in 6.9 days (2025-06-08 ")
    assert found["figure"].endswith(" UTC)")
    assert found["target"] == "app.example.com:443" and found["threshold"] == "warn < 14 days, fail < 7 days"
    assert found["evidence"] == ["subject: app.example.com, ClickView", "issuer: CA",
                                 "notBefore: 20250101000000Z, notAfter: %s" % served(6.99)["not_after"], "serial: 1234"]
    assert "cert-manager" in found["recommendation"]
    assert grade(30)["recommendation"] == "Certificate valid for long enough."


def test_an_expired_certificate_is_fail_and_says_expired():
    found = grade(-2, expired=True, port=8443)
    assert found["status"] == "FAIL" and found["figure"].startswith("expires in -2.0 days") and found["figure"].endswith(", EXPIRED")
    assert found["target"] == "app.example.com:8443"


def test_an_endpoint_without_handshake_is_fail_with_the_message():
    found = tls_certificate_findings([{"item": {"host": "down", "port": 443}, "msg": "connection refused"}], T, now=NOW)[0]
    assert found["status"] == "FAIL" and found["figure"] == "no certificate read" and found["evidence"] == ["connection refused"]
    assert found["recommendation"] == "Check the endpoint: it did not complete a TLS handshake (connection refused)."
    assert tls_certificate_findings([{"item": {"host": "x"}}], T, now=NOW)[0]["evidence"] == ["unreachable"]
    assert tls_certificate_findings([], T) == []


# ---- cert-manager ---------------------------------------------------------------------------------

def pod(name, phase="Running", ready=(True,)):
    return {"metadata": {"name": name}, "status": {"phase": phase, "containerStatuses": [{"ready": r} for r in ready]}}


def certificate(name="clickview-tls", days=60.0, ready="True", revision=3, **extra):
    status = {"conditions": [{"type": "Ready", "status": ready, "message": "Certificate is up to date"}],
              "renewalTime": "2025-07-01T00:00:00Z", "revision": revision}
    if days is not None:
        status["notAfter"] = (NOW + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status.update(extra)
    return {"item": {"name": name}, "resources": [{
        "spec": {"secretName": name + "-secret", "dnsNames": ["a.example.com", "b.example.com"],
                 "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt"}, "duration": "2160h", "renewBefore": "360h"},
        "status": status}]}


def cm(pods, certs=(), **kw):
    return cert_manager_findings(pods, list(certs), T, cert_manager_namespace="cert-manager", namespace="clickview",
                                 now=NOW, **kw)


def test_cert_manager_pods_all_ready_some_ready_none():
    ok = cm({"resources": [pod("cm-1"), pod("cm-2")]})[0]
    assert ok["status"] == "OK" and ok["figure"] == "2 of 2 pods running and ready"
    assert ok["evidence"] == ["cm-1: Running", "cm-2: Running"]
    assert ok["recommendation"] == "cert-manager is running."
    part = cm({"resources": [pod("cm-1"), pod("cm-2", ready=(True, False))]})[0]
    assert part["status"] == "WARN" and part["figure"] == "1 of 2 pods running and ready"
    assert "kubectl get pods -n cert-manager" in part["recommendation"]
    pending = cm({"resources": [pod("cm-1", phase="Pending")]})[0]
    assert pending["status"] == "FAIL"
    none = cm({"resources": []})[0]
    assert none["status"] == "FAIL" and none["figure"] == "0 of 0 pods running and ready"


def test_cert_manager_pods_unreadable_is_fail():
    out = cm({"failed": True, "msg": "Forbidden"})[0]
    assert out["status"] == "FAIL" and out["figure"] == "unreadable" and out["evidence"] == ["Forbidden"]


def test_certificate_graded_on_ready_and_days_left():
    pods = {"resources": [pod("cm-1")]}
    found = cm(pods, [certificate(days=60), certificate("short", days=9.95), certificate("soon", days=7),
                      certificate("late", days=6.5)])
    assert [f["status"] for f in found[1:]] == ["OK", "WARN", "WARN", "FAIL"]
    short = found[2]
    assert short["target"] == "certificate/short (clickview)"
    assert short["figure"].startswith("Ready, notAfter 2025-06-11T10:48:00Z (9.9 days left), renewalTime 2025-07-01T00:00:00Z, revision 3")
    assert short["threshold"] == "Ready; warn < 14 days, fail < 7 days"
    assert short["evidence"] == ["secret: short-secret", "dnsNames: a.example.com, b.example.com", "issuer: ClusterIssuer/letsencrypt",
                                 "duration 2160h, renewBefore 360h", "Ready: Certificate is up to date"]
    assert short["recommendation"].startswith("Force the renewal: delete secret short-secret")
    assert found[1]["recommendation"] == "Certificate resource is Ready and valid for long enough."


def test_certificate_not_ready_or_without_expiry_is_fail():
    found = cm({"resources": [pod("cm-1")]}, [certificate(ready="False", days=60), certificate("x", days=None)])
    assert found[1]["status"] == "FAIL" and found[1]["figure"].startswith("not Ready, ")
    assert found[2]["status"] == "FAIL" and "days left" not in found[2]["figure"] and "notAfter ?" in found[2]["figure"]


def test_certificate_not_found_is_fail_naming_the_setting():
    missing = {"item": {"name": "nope", "namespace": "other"}, "resources": []}
    found = cm({"resources": []}, [missing])[1]
    assert found == {"check": "cert_manager.certificate", "target": "certificate/nope (other)", "status": "FAIL",
                     "figure": "not found", "threshold": "Ready, more than 14 days left",
                     "evidence": ["no Certificate of that name"],
                     "recommendation": "Check the name and namespace in alert_response_certificates (clickview_tls_certificates).",
                     "value": None, "unit": None}


# ---- which Certificates to renew ---------------------------------------------------------------

def test_renew_when_its_own_finding_or_an_endpoint_is_not_ok():
    certs = [{"name": "a", "endpoints": [{"host": "a.example.com"}]},
             {"name": "b", "namespace": "web", "endpoints": [{"host": "b.example.com", "port": 8443}]},
             {"name": "c"}]
    findings = [{"target": "a.example.com:443", "status": "OK"}, {"target": "b.example.com:8443", "status": "WARN"},
                {"target": "certificate/c (clickview)", "status": "FAIL"}, {"target": "certificate/a (clickview)", "status": "OK"}]
    out = certificate_renewals(certs, findings, namespace="clickview", endpoints=[{"host": "default.example.com"}])
    assert out == [{"name": "b", "namespace": "web", "endpoints": [{"host": "b.example.com", "port": 8443}]},
                   {"name": "c", "namespace": "clickview", "endpoints": [{"host": "default.example.com"}]}]


def test_nothing_to_renew_when_all_ok_or_none_configured():
    assert certificate_renewals([{"name": "a"}], [{"target": "certificate/a (default)", "status": "OK"}]) == []
    assert certificate_renewals([], [{"target": "x", "status": "FAIL"}]) == []


# ---- the renewal's steps -------------------------------------------------------------------------

RENEWAL = {"name": "short", "namespace": "clickview", "endpoints": [{"host": "127.0.0.1", "port": 9443}, {"host": "h"}]}
BEFORE = {"resources": [{"spec": {"secretName": "short-tls"}, "status": {"revision": 2}}]}


def test_renewed_and_served_everywhere_is_done_twice():
    out = certificate_renewal_actions(
        RENEWAL, BEFORE, deleted={"changed": True}, after={"resources": [{"status": {"revision": 3}}]},
        new_cert={"serial_number": 99, "not_after": "20250701000000Z"},
        served={"results": [{"item": {"host": "127.0.0.1", "port": 9443}, "serial_number": 99, "not_after": "N"},
                            {"item": {"host": "h"}, "serial_number": 99, "not_after": "N"}]})
    assert [(a["step"], a["status"]) for a in out] == [
        ("force the renewal of certificate/short (delete secret short-tls)", "done"),
        ("verify the new certificate of short is served", "done")]
    assert out[0]["detail"] == "re-issued: revision 2 -> 3, serial 99, notAfter 20250701000000Z"
    assert out[1]["detail"] == "2 endpoint(s) serve the new certificate"
    assert out[1]["evidence"] == ["127.0.0.1:9443 serves serial 99 (notAfter N)", "h:443 serves serial 99 (notAfter N)"]


def test_an_endpoint_still_serving_the_old_certificate_fails_the_second_step():
    out = certificate_renewal_actions(
        RENEWAL, BEFORE, after={"resources": [{"status": {"revision": 3}}]}, new_cert={"serial_number": 99},
        served={"results": [{"item": {"host": "127.0.0.1", "port": 9443}, "serial_number": 98},
                            {"item": {"host": "h"}, "msg": "timed out"}]}, served_timeout=30)
    assert out[0]["status"] == "done" and out[1]["status"] == "failed"
    assert out[1]["detail"] == "2 endpoint(s) do not all serve the new certificate after 30 s (reload the ingress/proxy?)"
    assert out[1]["evidence"] == ["127.0.0.1:9443 serves serial 98 (notAfter ?) - not the new one",
                                  "h:443 serves serial none (notAfter ?) - not the new one"]


def test_one_endpoint_of_two_serving_the_new_certificate_is_not_enough():
    out = certificate_renewal_actions(
        RENEWAL, BEFORE, after={"resources": [{"status": {"revision": 3}}]}, new_cert={"serial_number": 99},
        served={"results": [{"item": {"host": "127.0.0.1", "port": 9443}, "serial_number": 99},
                            {"item": {"host": "h"}, "serial_number": 98}]})
    assert out[1]["status"] == "failed"
    assert out[1]["evidence"][0] == "127.0.0.1:9443 serves serial 99 (notAfter ?)"


def test_check_mode_would_and_no_new_certificate_fails():
    out = certificate_renewal_actions(RENEWAL, BEFORE, after={"skipped": True}, new_cert={"skipped": True}, check_mode=True)
    assert [a["status"] for a in out] == ["would"] and out[0]["detail"].startswith("would delete the secret")
    out = certificate_renewal_actions(RENEWAL, BEFORE, after={"resources": [{"status": {"revision": 2}}]},
                                      new_cert={"skipped": True}, issue_timeout=300)
    assert len(out) == 1 and out[0]["status"] == "failed"
    assert out[0]["detail"] == "no new certificate within 300 s: check cert-manager and the Certificate events"


def test_a_failed_deletion_or_wait_fails_the_renewal():
    out = certificate_renewal_actions(RENEWAL, BEFORE, deleted={"failed": True, "msg": "forbidden"}, check_mode=True)
    assert out[0]["status"] == "failed" and out[0]["detail"] == "secret short-tls not deleted: forbidden"
    out = certificate_renewal_actions(RENEWAL, BEFORE, after={"failed": True}, new_cert={"serial_number": 5},
                                      served={"results": []})
    assert out[0]["status"] == "failed"


FORBIDDEN = ("Exception '403\nReason: Forbidden\nHTTP response headers: HTTPHeaderDict({'Content-Type': 'application/json', "
             "'Content-Length': '310'})\nHTTP response body: {\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
             "\"status\":\"Failure\",\"message\":\"secrets \\\"short-tls\\\" is forbidden: User \\\"clickview-operator\\\" cannot get "
             "resource \\\"secrets\\\" in API group \\\"\\\" in the namespace \\\"clickview\\\"\",\"reason\":\"Forbidden\","
             "\"details\":{\"name\":\"short-tls\",\"kind\":\"secrets\"},\"code\":403}\n\n' raised while trying to get resource "
             "using (name=short-tls, namespace=clickview, label_selectors=[], field_selectors=[])")


def test_a_deletion_refused_by_rbac_names_the_secret_the_user_and_the_grant_it_needs():
    out = certificate_renewal_actions(RENEWAL, BEFORE, deleted={"failed": True, "msg": FORBIDDEN})
    assert [a["status"] for a in out] == ["failed"]
    detail = out[0]["detail"]
    assert detail.startswith('secret short-tls not deleted: 403 Forbidden: secrets "short-tls" is forbidden: '
                             'User "clickview-operator" cannot get resource "secrets"')
    assert "HTTPHeaderDict" not in detail and "raised while" not in detail
    assert detail.endswith("may not get and delete secret short-tls: grant it in the namespace's Role "
                           "(extensions/kubernetes/rbac.yaml names each Secret it may touch)")


# ---- value and unit ----------------------------------------------------------------------------

def test_the_days_left_are_the_value_rounded_down_as_in_the_figure():
    found = grade(9.96)
    assert (found["value"], found["unit"]) == (9.9, "days") and found["figure"].startswith("expires in 9.9 days")
    assert (grade(-2.5)["value"], grade(-2.5)["unit"]) == (-2.5, "days")
    unread = tls_certificate_findings([{"item": {"host": "h"}, "msg": "refused"}], T, now=NOW)[0]
    assert (unread["value"], unread["unit"]) == (None, None)


def test_cert_manager_values_pods_ready_and_days_left():
    pods, cert, no_expiry = cm({"resources": [pod("cm-1"), pod("cm-2", ready=(False,)), pod("cm-3")]},
                               [certificate(days=20.57), certificate("x", days=None)])
    assert [(f["value"], f["unit"]) for f in (pods, cert, no_expiry)] == [(2, "pods"), (20.5, "days"), (None, None)]
    assert (cm({"failed": True, "msg": "Forbidden"})[0]["value"]) is None
