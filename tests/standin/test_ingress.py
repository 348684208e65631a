"""lab/ingress.py, the lab's stand-in for the cluster's ingress, against a private API stand-in.

It must serve the certificate the kubernetes.io/tls Secret holds now (as an ingress that reloads its certificate
does): the Secret's serial, verifiable with the Secret's ca.crt for the Certificate's names; fail handshakes while
the Secret is missing without exiting; serve a re-issued certificate within its cache time; answer /healthz itself
and pass other requests to the backend (502 when the backend does not answer)."""
import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from kubernetes import client

from conftest import REPO, _free_port, wait_for

INGRESS = os.path.join(REPO, "lab", "ingress.py")
NS = "clickview"


def secret_pem(k8s, namespace, name, key="tls.crt"):
    return base64.b64decode(client.CoreV1Api(k8s).read_namespaced_secret(name, namespace).data[key])


def serial_of(pem):
    return x509.load_pem_x509_certificate(pem if isinstance(pem, bytes) else pem.encode()).serial_number


def served_serial(port):
    """The serial of the certificate served at 127.0.0.1:port (no verification), or None without a handshake."""
    try:
        return serial_of(ssl.get_server_certificate(("127.0.0.1", port), timeout=5))
    except (OSError, ssl.SSLError):
        return None


class Ingress:
    def __init__(self, standin, tmp_path, namespace, secret, backend):
        self.port = _free_port()
        self.log = tmp_path / ("ingress-%d.log" % self.port)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [sys.executable, INGRESS, "--host", "127.0.0.1", "--port", str(self.port), "--kubeconfig",
                 standin.kubeconfig, "--state-dir", str(tmp_path / "ingress-state"), "--namespace", namespace,
                 "--secret", secret, "--backend", backend], stdout=out, stderr=subprocess.STDOUT)
        wait_for(self.listening, timeout=15, msg="the ingress to listen")

    def listening(self):
        assert self.proc.poll() is None, self.log.read_text()
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def get(self, path, ctx=None):
        """(status, body) of an HTTPS GET."""
        if ctx is None:
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        try:
            with urllib.request.urlopen("https://127.0.0.1:%d%s" % (self.port, path), context=ctx, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(10) == 0, self.log.read_text()


@pytest.fixture
def ingress(standin, tmp_path):
    started = []

    def start(namespace=NS, secret="clickview-tls", backend="http://127.0.0.1:1"):
        started.append(Ingress(standin, tmp_path, namespace, secret, backend))
        return started[-1]
    yield start
    for one in started:
        if one.proc.poll() is None:
            one.stop()


class Echo(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = json.dumps({"path": self.path, "proto": self.headers.get("X-Forwarded-Proto"),
                           "forwarded_for": self.headers.get("X-Forwarded-For")}).encode()
        self.send_response(418 if self.path.startswith("/teapot") else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_serves_the_secrets_certificate_verifiable_for_the_certificates_names(standin, k8s, ingress):
    lab = ingress()
    crt, ca = secret_pem(k8s, NS, "clickview-tls"), secret_pem(k8s, NS, "clickview-tls", "ca.crt")
    assert served_serial(lab.port) == serial_of(crt)
    # the Secret's ca.crt is the stand-in's CA; the Certificate names clickview.lab, www. and api.
    with open(standin.ca_file, "rb") as handle:
        assert handle.read() == ca
    trusted = ssl.create_default_context(cadata=ca.decode())
    for name in ("clickview.lab", "api.clickview.lab"):
        with socket.create_connection(("127.0.0.1", lab.port), timeout=5) as sock:
            with trusted.wrap_socket(sock, server_hostname=name) as tls:
                assert serial_of(ssl.DER_cert_to_PEM_cert(tls.getpeercert(True))) == serial_of(crt)
    # not for localhost: the lab's health check reaches it as localhost and does not verify (the SSL alert grades it)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        with socket.create_connection(("127.0.0.1", lab.port), timeout=5) as sock:
            trusted.wrap_socket(sock, server_hostname="localhost")
    # /healthz is the ingress's own, over verified TLS
    by_name = ssl.create_default_context(cadata=ca.decode())
    by_name.check_hostname = False
    assert lab.get("/healthz", by_name) == (200, "ok\n")


def test_missing_secret_fails_handshakes_then_each_issue_is_served(k8s, ns, ingress):
    lab = ingress(namespace=ns, secret="site-tls")
    with pytest.raises((ssl.SSLError, OSError)):
        with socket.create_connection(("127.0.0.1", lab.port), timeout=5) as sock:
            ssl.create_default_context().wrap_socket(sock, server_hostname="localhost")
    assert served_serial(lab.port) is None and lab.proc.poll() is None
    # cert-manager issues the Secret: served from the next handshake after the ingress's cache (1 s)
    client.CustomObjectsApi(k8s).create_namespaced_custom_object("cert-manager.io", "v1", ns, "certificates", {
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "site"},
        "spec": {"secretName": "site-tls", "dnsNames": ["site.clickview.lab"],
                 "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "clickview-lab-ca"}}})
    first = wait_for(lambda: _serial_or_none(k8s, ns), timeout=30, msg="cert-manager to issue site-tls")
    wait_for(lambda: served_serial(lab.port) == first, timeout=10, msg="the ingress to serve the issued certificate")
    # the runbook's forced renewal: delete the Secret, cert-manager issues a new certificate, the ingress serves it
    client.CoreV1Api(k8s).delete_namespaced_secret("site-tls", ns)
    second = wait_for(lambda: _serial_or_none(k8s, ns, other_than=first), timeout=30, msg="cert-manager to re-issue site-tls")
    wait_for(lambda: served_serial(lab.port) == second, timeout=10, msg="the ingress to serve the re-issued certificate")
    assert lab.proc.poll() is None


def _serial_or_none(k8s, ns, other_than=None):
    """The serial of the certificate in Secret site-tls; None while there is none (or only other_than's)."""
    try:
        serial = serial_of(secret_pem(k8s, ns, "site-tls"))
    except (client.ApiException, KeyError, TypeError, ValueError):
        return None
    return None if serial == other_than else serial


def test_healthz_is_answered_and_other_requests_go_to_the_backend(ingress):
    backend = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    try:
        lab = ingress(backend="http://127.0.0.1:%d" % backend.server_address[1])
        assert lab.get("/healthz") == (200, "ok\n")
        status, body = lab.get("/api/health?x=1")
        assert status == 200 and json.loads(body) == {"path": "/api/health?x=1", "proto": "https",
                                                      "forwarded_for": "127.0.0.1"}
        assert lab.get("/teapot")[0] == 418           # the backend's status, as it gave it
    finally:
        backend.shutdown()
        backend.server_close()
    time.sleep(0.1)
    status, body = lab.get("/api/health")
    assert status == 502 and "did not answer" in body
    assert lab.get("/healthz") == (200, "ok\n")       # the ingress's own answer does not need the backend
