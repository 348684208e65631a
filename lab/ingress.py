"""The lab's stand-in for the cluster's ingress: HTTPS with the certificate cert-manager issued.

In the clusters the runbook serves, the ingress controller terminates TLS with the certificate of the
Secret `clickview-tls` (written by cert-manager for the Certificate of the same name) and reloads it
when cert-manager renews it. This process does the same for the lab, against the Kubernetes API
stand-in (lab/k8s_standin):

  * at each TLS handshake it serves the certificate and key the Secret holds now, read through the
    stand-in's API with the lab kubeconfig (a read is re-used for --cache-seconds, one second by
    default), so a renewal is served as soon as it is issued;
  * while the Secret is missing (between the deletion that forces a renewal and the new issue) or
    holds no certificate, handshakes fail: clients see no certificate rather than a stale one;
  * while the API does not answer (the stand-in is stopped or restarting), the certificate read
    last is served, as an ingress keeps its loaded certificate; with none read yet, handshakes fail;
  * GET /healthz is answered by the ingress itself (200 "ok"); every other request is passed to
    the lab's sample backend (502 when it does not answer), as the ingress passes it to the
    backend Service.

It is not an ingress controller: no Ingress objects, hosts or paths are read, and one Secret is
served for every server name.

    python lab/ingress.py --host 127.0.0.1 --port 18443 --kubeconfig lab/.state/kubeconfig \
        --state-dir lab/.state/ingress [--namespace clickview] [--secret clickview-tls] \
        [--backend http://127.0.0.1:18080]
"""
import argparse
import base64
import http.client
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

# headers that belong to one connection and are not passed on (RFC 9110, section 7.6.1)
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "proxy-connection"}


class SecretMissing(ValueError):
    """The API answered: there is no such Secret, or it holds no certificate and key."""


def log(message):
    sys.stdout.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), message))
    sys.stdout.flush()


class SecretCertificates:
    """The TLS context for the Secret's certificate now: read through the Kubernetes API, kept for a
    short while, and made again only when the Secret changed."""

    def __init__(self, kubeconfig, context, namespace, secret, state_dir, cache_seconds):
        self.kubeconfig, self.context_name = kubeconfig, context
        self.namespace, self.secret = namespace, secret
        self.state_dir, self.cache_seconds = state_dir, cache_seconds
        self.lock = threading.Lock()
        self.read_at = None        # monotonic time of the last read, whatever its outcome
        self.ssl_context = None    # for the Secret's current content; None while there is none
        self.error = "not read yet"
        self.loaded = None         # (server, sha of the kubeconfig) the API client was made from
        self.api = None
        self.served = None         # what was last logged as served, to log each change once

    def _client(self):
        """(url of the Secret, headers, SSL context for the API) from the kubeconfig, read again when it changes
        (the stand-in writes a new one, with new tokens, when its state is reset)."""
        with open(self.kubeconfig, "rb") as handle:
            raw = handle.read()
        if self.loaded == raw and self.api is not None:
            return self.api
        cfg = yaml.safe_load(raw)
        name = self.context_name or cfg.get("current-context")
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == name)
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
        tls = ssl.create_default_context()
        if cluster.get("certificate-authority-data"):
            tls = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        elif cluster.get("certificate-authority"):
            tls = ssl.create_default_context(cafile=cluster["certificate-authority"])
        headers = {"Accept": "application/json"}
        if user.get("token"):
            headers["Authorization"] = "Bearer " + user["token"]
        url = "%s/api/v1/namespaces/%s/secrets/%s" % (cluster["server"].rstrip("/"), urllib.parse.quote(self.namespace),
                                                      urllib.parse.quote(self.secret))
        self.api, self.loaded = (url, headers, tls), raw
        return self.api

    def _read(self):
        """The Secret's (tls.crt, tls.key) PEM bytes. Raises SecretMissing when the API says there are none, another
        OSError or ValueError when the API could not be asked."""
        url, headers, tls = self._client()
        req = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(req, context=tls, timeout=5) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise SecretMissing("secret %s/%s not found" % (self.namespace, self.secret)) from exc
            raise ValueError("secret %s/%s: HTTP %s from the API" % (self.namespace, self.secret, exc.code)) from exc
        data = body.get("data") or {}
        if not data.get("tls.crt") or not data.get("tls.key"):
            raise SecretMissing("secret %s/%s has no tls.crt and tls.key" % (self.namespace, self.secret))
        return base64.b64decode(data["tls.crt"]), base64.b64decode(data["tls.key"])

    def _make_context(self, crt, key):
        """A server context for the certificate. load_cert_chain reads files: the key is written readable by this
        account only, and removed again once loaded."""
        path = os.path.join(self.state_dir, "served.pem")
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(crt.rstrip(b"\n") + b"\n" + key)
        os.replace(path + ".tmp", path)
        try:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(path)
        finally:
            os.unlink(path)
        return ctx

    def current(self):
        """The SSL context to hand this handshake, or None to fail it (no certificate to serve)."""
        with self.lock:
            now = time.monotonic()
            if self.read_at is not None and now - self.read_at < self.cache_seconds:
                return self.ssl_context
            self.read_at = now
            try:
                crt, key = self._read()
                if self.served != (crt, key):
                    try:
                        self.ssl_context = self._make_context(crt, key)
                    except ssl.SSLError as exc:
                        raise SecretMissing("secret %s/%s holds a certificate and key that do not load: %s"
                                            % (self.namespace, self.secret, exc)) from exc
                    self.served = (crt, key)
                    log("serving the certificate of secret %s/%s (%s)" % (self.namespace, self.secret, describe(crt)))
                self.error = None
            except SecretMissing as exc:
                if self.ssl_context is not None or self.error != str(exc):
                    log("no certificate to serve, TLS handshakes fail: %s" % exc)
                self.ssl_context, self.served, self.error = None, None, str(exc)
            except (OSError, ValueError, KeyError, StopIteration, ssl.SSLError, yaml.YAMLError) as exc:
                # the API could not be asked (no kubeconfig yet, refused, an error status): keep what is served
                reason = "the API did not answer: %s" % (str(exc) or exc.__class__.__name__)
                if self.error != reason:
                    log("%s; %s" % (reason, "still serving the certificate read last" if self.ssl_context is not None
                                    else "no certificate to serve, TLS handshakes fail"))
                self.error = reason
            return self.ssl_context


def describe(crt):
    """'serial N, notAfter T' of a PEM certificate, for the log (cryptography comes with ansible-core)."""
    try:
        from cryptography import x509  # pylint: disable=import-outside-toplevel
        cert = x509.load_pem_x509_certificate(crt)
        return "serial %d, notAfter %s" % (cert.serial_number, cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"))
    except Exception:  # noqa: BLE001 - the log line only
        return "%d bytes" % len(crt)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "clickview-lab-ingress"
    sys_version = ""

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the health check and the lab's status poll it."""

    def reply(self, code, body, ctype="text/plain; charset=utf-8"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - the http.server interface
        if urllib.parse.urlsplit(self.path).path == "/healthz" and self.command in ("GET", "HEAD"):
            return self.reply(200, b"ok\n")
        return self.proxy()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def proxy(self):
        backend = self.server.backend
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        forwarded = self.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = (forwarded + ", " if forwarded else "") + self.client_address[0]
        headers["X-Forwarded-Proto"] = "https"
        conn = http.client.HTTPConnection(backend.hostname, backend.port or 80, timeout=30)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            return self.reply(502, ("502 Bad Gateway: the backend %s did not answer (%s)\n"
                                    % (backend.netloc, exc)).encode())
        finally:
            conn.close()
        self.send_response(resp.status, resp.reason)
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() not in ("content-length", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, certificates, backend):
        self.certificates, self.backend = certificates, backend
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # the handshake runs in the request's thread with the context of the Secret's certificate now
        ctx = self.certificates.current()
        if ctx is None:
            request.close()
            return
        try:
            request.settimeout(10)
            request = ctx.wrap_socket(request, server_side=True)
            request.settimeout(30)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        """A client that went away mid-request is no error of the ingress."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout, ssl.SSLError)):
            super().handle_error(request, client_address)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18443)
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig of the Kubernetes API (the lab's stand-in)")
    parser.add_argument("--context", default="clickview-lab-readonly",
                        help="kubeconfig context; a read-only one is enough (empty = the current context)")
    parser.add_argument("--namespace", default="clickview")
    parser.add_argument("--secret", default="clickview-tls", help="the kubernetes.io/tls Secret to serve")
    parser.add_argument("--backend", default="http://127.0.0.1:18080", help="where requests other than /healthz go")
    parser.add_argument("--state-dir", default=".", help="a private folder for the key while it is loaded")
    parser.add_argument("--cache-seconds", type=float, default=1.0, help="how long one read of the Secret is used")
    args = parser.parse_args(argv)
    os.makedirs(args.state_dir, mode=0o700, exist_ok=True)
    certificates = SecretCertificates(args.kubeconfig, args.context, args.namespace, args.secret, args.state_dir,
                                      args.cache_seconds)
    backend = urllib.parse.urlsplit(args.backend)
    server = Server((args.host, args.port), certificates, backend)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    log("ingress stand-in on https://%s:%d: secret %s/%s, backend %s"
        % (args.host, args.port, args.namespace, args.secret, args.backend))
    certificates.current()    # log what is served from the start
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
