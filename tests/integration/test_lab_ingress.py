"""The lab's stand-in for the cluster's ingress (lab/ingress.py), with the health check and the SSL alert.

It serves the certificate of the shared stand-in's secret clickview/clickview-tls, which its cert-manager issued for
the Certificate clickview-tls; the local inventory lists that Certificate and the ingress as its endpoint. These
tests only read the shared lab: no secret is deleted (the renewal itself is tested against a private stand-in in
test_alert_response_k8s.py), the SSL alert runs in check mode without remediation or chat messages."""
import base64
import json
import socket
import ssl

import yaml
from cryptography import x509
from kubernetes import client, config

from conftest import LAB_HOST, ROOT, lab_port, run_playbook

KUBECONFIG = ROOT / "lab" / ".state" / "kubeconfig"
INGRESS = "https://localhost:%d" % lab_port("ingress")


def lab_secret():
    """(tls.crt, ca.crt) PEM of the shared stand-in's secret clickview/clickview-tls, read with the read-only user."""
    api = config.new_client_from_config(config_file=str(KUBECONFIG), context="clickview-lab-readonly")
    data = client.CoreV1Api(api).read_namespaced_secret("clickview-tls", "clickview").data
    return base64.b64decode(data["tls.crt"]), base64.b64decode(data["ca.crt"])


def serial_of(pem):
    return x509.load_pem_x509_certificate(pem if isinstance(pem, bytes) else pem.encode()).serial_number


def revision():
    api = config.new_client_from_config(config_file=str(KUBECONFIG), context="clickview-lab-readonly")
    cert = client.CustomObjectsApi(api).get_namespaced_custom_object("cert-manager.io", "v1", "clickview", "certificates",
                                                                     "clickview-tls")
    return cert["status"]["revision"]


def test_the_ingress_serves_the_certificate_of_secret_clickview_tls():
    crt, ca = lab_secret()
    served = ssl.get_server_certificate((LAB_HOST, lab_port("ingress")), timeout=5)
    assert serial_of(served) == serial_of(crt)
    # verified with the secret's CA (the stand-in's) for a name of the Certificate
    trusted = ssl.create_default_context(cadata=ca.decode())
    with socket.create_connection((LAB_HOST, lab_port("ingress")), timeout=5) as sock:
        with trusted.wrap_socket(sock, server_hostname="api.clickview.lab") as tls:
            assert serial_of(ssl.DER_cert_to_PEM_cert(tls.getpeercert(True))) == serial_of(crt)


def test_health_check_reports_the_ingress_answering(tmp_path):
    _rc, output = run_playbook("playbooks/health_check.yml", extra_vars={"on_call_report_dir": str(tmp_path)},
                               json_output=False)
    report = json.loads((tmp_path / "health-check-local-latest.json").read_text())
    rows = [c for c in report["checks"] if c["check"] == "ingress.health"]
    assert rows == [{"check": "ingress.health", "target": INGRESS + "/healthz", "status": "OK", "figure": "HTTP 200",
                     "threshold": "HTTP 2xx", "detail": "ok", "value": None, "unit": None}], output
    names = [c["check"] for c in report["checks"]]
    assert names.index("ingress.health") == names.index("api.health") + 1     # right after the API


def ingress_task(**role_vars):
    """The health check's ingress tasks alone (values as the local inventory's, then role_vars), and their row."""
    values = {"clickview_ingress_url": INGRESS, "on_call_ingress_health_path": "/healthz",
              "on_call_ingress_validate_certs": False, "on_call_ingress_ca_path": "", "on_call_connect_timeout": 5,
              "on_call_checks": []}
    values.update(role_vars)
    role = {"name": "clickview.runbook.on_call", "tasks_from": "health/ingress"}
    return [{"name": "ingress tasks", "ansible.builtin.include_role": role, "vars": values},
            {"name": "rows", "ansible.builtin.debug": {"var": "on_call_checks"}}]


def test_the_ingress_check_verifies_the_certificate_when_asked_and_says_why_it_fails(tmp_path):
    ca = str(ROOT / "lab" / ".state" / "k8s-standin" / "ca.crt")
    play = tmp_path / "ingress.yml"
    play.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks":
                                     ingress_task(on_call_ingress_validate_certs=True, on_call_ingress_ca_path=ca)
                                     + ingress_task(clickview_ingress_url="https://localhost:1")}]))
    _rc, out = run_playbook(play, inventory="localhost,")
    rows = [t["hosts"]["localhost"]["on_call_checks"] for t in out["plays"][0]["tasks"] if t["task"]["name"] == "rows"]
    untrusted, refused = rows[0][0], rows[1][0]
    # the lab's certificate names clickview.lab: reached as localhost it is not trusted, even with its CA
    assert untrusted["status"] == "FAIL", untrusted
    assert untrusted["figure"].startswith("certificate not trusted - Hostname mismatch"), untrusted
    assert refused["status"] == "FAIL" and refused["figure"] == "no answer - connection refused", refused


def test_ssl_alert_reads_the_certificate_clickview_tls_and_the_ingress_serving_it(tmp_path):
    crt, _ca = lab_secret()
    before = revision()
    _rc, _out = run_playbook("playbooks/alert_ssl_certificate_expiring.yml", check=True, extra_vars={
        "clickview_report_dir": str(tmp_path), "clickview_incident_dir": str(tmp_path / "incidents"),
        "alert_response_notify": False})
    with open(tmp_path / "alert-ssl-certificate-expiring-local-latest.json", encoding="utf-8") as handle:
        report = json.load(handle)
    findings = {(f["check"], f["target"]): f for f in report["findings"]}
    certificate = findings[("cert_manager.certificate", "certificate/clickview-tls (clickview)")]
    assert certificate["status"] == "OK" and certificate["figure"].startswith("Ready, notAfter "), certificate
    assert "secret: clickview-tls" in certificate["evidence"]
    served = findings[("tls.certificate_expiry", "localhost:%d" % lab_port("ingress"))]
    assert served["status"] == "OK" and served["figure"].startswith("expires in "), served
    assert "serial: %d" % serial_of(crt) in served["evidence"]
    assert "subject: clickview.lab" in served["evidence"]
    assert report["remediate"] is False and report["check_mode"] is True
    assert not [a for a in report["actions"] if a["status"] == "done"], report["actions"]
    assert revision() == before
