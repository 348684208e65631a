#!/usr/bin/env python3
"""Kubernetes API stand-in for the clickview lab and tests (see README.md in this folder).

python lab/k8s_standin/server.py --host 127.0.0.1 --port 16443 --state-dir lab/.state/k8s \
    --kubeconfig lab/.state/kubeconfig [--seed] [--time-scale N] [--reset] [--http]
"""
import argparse
import base64
import json
import os
import secrets
import select
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api import Api, Request  # noqa: E402
from controllers import Sim  # noqa: E402
from rbac import ALL, READ_ALL  # noqa: E402
from store import Store  # noqa: E402
from tlsutil import CA  # noqa: E402
from util import ApiError  # noqa: E402
import seed  # noqa: E402

PUBLIC = {"/version", "/readyz", "/livez", "/healthz"}
ADMIN_USER, RO_USER, OPERATOR_USER = "clickview-lab-admin", "clickview-lab-readonly", "clickview-lab-operator"
# token name in tokens.json -> user, kubeconfig context. The admin and read-only users have fixed rules; the
# operator only what RBAC objects bound to it grant (extensions/kubernetes/rbac.yaml, applied with --seed).
USERS = {
    "admin": ({"name": ADMIN_USER, "rules": [ALL], "grants": "all verbs"}, "clickview-lab"),
    "readonly": ({"name": RO_USER, "rules": [READ_ALL], "grants": "read verbs"}, "clickview-lab-readonly"),
    "operator": ({"name": OPERATOR_USER}, "clickview-lab-operator"),
}
RBAC_MANIFEST = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "extensions",
                                              "kubernetes", "rbac.yaml"))


def dumps(o):
    return json.dumps(o, separators=(",", ":")).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k8s-standin"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def send_bytes(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_status(self, err):
        self.send_bytes(err.code, dumps(err.status()))

    def closed_by_peer(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            return bool(r)
        except (OSError, ValueError):
            return True

    def stream(self, code, gen, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        try:
            for chunk in gen:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                elif self.closed_by_peer() or self.server.stopping:
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            gen.close()
        self.close_connection = True

    def dispatch(self):
        srv = self.server
        u = urlsplit(self.path)
        path = u.path.rstrip("/") or "/"
        query = parse_qs(u.query, keep_blank_values=True)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        try:
            if path in ("/readyz", "/livez", "/healthz"):
                return self.send_bytes(200, b"ok", "text/plain; charset=utf-8")
            auth = self.headers.get("Authorization") or ""
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
            user = srv.tokens.get(token) if token else None
            if user is None and path not in PUBLIC:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            user = user or {"name": "system:anonymous", "groups": ["system:unauthenticated"]}
            if self.command == "GET":
                d = srv.api.discovery(path)
                if d is not None:
                    return self.send_bytes(200, dumps(d))
                if path.startswith("/openapi/") or path == "/openapi":
                    raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
            req = Request(self.command, path, query, self.headers, body, user)
            code, out = srv.api.handle(req)
            if self.command in ("POST", "PUT", "PATCH", "DELETE"):
                srv.sim.kick.set()
            if isinstance(out, tuple):
                if out[0] == "stream":
                    return self.stream(code, out[1], out[2])
                return self.send_bytes(code, out[1], "text/plain")
            if isinstance(out, (bytes, bytearray)):
                return self.send_bytes(code, bytes(out))
            return self.send_bytes(code, dumps(out))
        except ApiError as e:
            if e.code == 401:
                self.send_response(401)
                body = dumps(e.status())
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            return self.send_status(e)
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as e:  # never crash; answer 500 like the apiserver's InternalError
            traceback.print_exc()
            return self.send_status(ApiError(500, "InternalError", "Internal error occurred: %s" % e, {}))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, ssl_ctx):
        self.ssl_ctx = ssl_ctx
        self.stopping = False
        self.verbose = False
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # headers and body leave in separate writes: without TCP_NODELAY the body waits for the client's
        # delayed ACK of the headers (~40 ms on every response)
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.ssl_ctx is not None:   # TLS handshake in the request thread, not the accept loop
            try:
                request.settimeout(10)
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


def load_tokens(state_dir):
    """One random token per user, kept in tokens.json (a file from before a user existed gets its token)."""
    p = os.path.join(state_dir, "tokens.json")
    t = {}
    if os.path.exists(p):
        with open(p) as f:
            t = json.load(f)
    if any(k not in t for k in USERS):
        for k in USERS:
            t.setdefault(k, secrets.token_hex(24))
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(t, f)
    return t


def write_kubeconfig(path, url, ca_pem, tokens, namespace):
    cluster = {"server": url}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    cfg = {"apiVersion": "v1", "kind": "Config", "preferences": {},
           "clusters": [{"name": "clickview-lab-standin", "cluster": cluster}],
           "users": [{"name": u["name"], "user": {"token": tokens[k]}} for k, (u, _ctx) in USERS.items()],
           "contexts": [{"name": ctx, "context": {"cluster": "clickview-lab-standin", "user": u["name"],
                                                   "namespace": namespace}} for u, ctx in USERS.values()],
           "current-context": "clickview-lab"}
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(to_yaml(cfg))
    os.replace(tmp, path)


def to_yaml(o):
    """Block-style YAML of dicts and lists (a kubeconfig), scalars as JSON (valid YAML flow scalars);
    saves importing PyYAML at every start."""
    def lines(o, indent):
        out = []
        if isinstance(o, dict):
            for k, v in o.items():
                if isinstance(v, (dict, list)) and v:
                    out.append("%s%s:" % (indent, k))
                    out.extend(lines(v, indent + ("  " if isinstance(v, dict) else "")))
                else:
                    out.append("%s%s: %s" % (indent, k, json.dumps(v)))
        else:
            for v in o:
                sub = lines(v, indent + "  ") if isinstance(v, (dict, list)) and v else [indent + "  " + json.dumps(v)]
                out.append(indent + "- " + sub[0].lstrip(" "))
                out.extend(sub[1:])
        return out
    return "\n".join(lines(o, "")) + "\n"


def save_state(store, sim, path):
    snap = store.snapshot()
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(snap, f, separators=(",", ":"))
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description="Kubernetes API stand-in for the clickview lab and tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=16443, help="0 picks a free port (written to the kubeconfig)")
    p.add_argument("--state-dir", default="lab/.state/k8s")
    p.add_argument("--kubeconfig", default="lab/.state/kubeconfig")
    p.add_argument("--seed", action="store_true", help="create the clickview namespace and workloads when starting empty")
    p.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per wall-clock second")
    p.add_argument("--reset", action="store_true", help="ignore the state saved by the previous run")
    p.add_argument("--no-persist", action="store_true", help="do not save state on exit")
    p.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    p.add_argument("--namespace", default="clickview", help="default namespace of the kubeconfig contexts")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    p.add_argument("--rbac", default=RBAC_MANIFEST, help="RBAC objects created at start with --seed when missing")
    a = p.parse_args(argv)
    t0 = time.time()
    os.makedirs(a.state_dir, exist_ok=True)
    ctx, ca = None, CA.load_or_create(a.state_dir)
    if not a.http:
        hosts = sorted({"localhost", a.host if not a.host[0].isdigit() else "localhost"})
        ips = sorted({"127.0.0.1", a.host} if a.host[0].isdigit() and a.host != "0.0.0.0" else {"127.0.0.1"})
        cp, kp = ca.server_cert(a.state_dir, "k8s-standin", hosts + ["kubernetes", "kubernetes.default"], ips)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cp, kp)
        ctx.set_alpn_protocols(["http/1.1"])
    tokens = load_tokens(a.state_dir)
    store = Store()
    sim = Sim(store, a.time_scale, ca)
    state_path = os.path.join(a.state_dir, "state.json")
    restored = False
    if os.path.exists(state_path) and not a.reset:
        try:
            with open(state_path) as f:
                store.restore(json.load(f))
            restored = True
        except (ValueError, KeyError, OSError) as e:
            sys.stderr.write("k8s-standin: ignoring unreadable saved state (%s)\n" % e)
            store = Store()
            sim = Sim(store, a.time_scale, ca)
    httpd = Server((a.host, a.port), ctx)
    httpd.verbose = a.verbose
    port = httpd.server_address[1]
    url = "%s://%s:%d" % ("http" if a.http else "https", a.host, port)
    api = Api(store, sim, url)
    httpd.api, httpd.sim = api, sim
    httpd.tokens = {tokens[k]: dict(u, groups=["system:authenticated"]) for k, (u, _ctx) in USERS.items()}
    if not restored:
        seed.system(api, store)
        if a.seed:
            seed.clickview(api, sim)
    if a.seed:
        try:
            skipped = seed.rbac(api, store, a.rbac)
            if skipped:
                sys.stderr.write("k8s-standin: %s: skipped (no such namespace): %s\n" % (a.rbac, ", ".join(skipped)))
        except Exception as e:  # pylint: disable=broad-except  (a broken manifest must not keep the lab down)
            sys.stderr.write("k8s-standin: the RBAC objects of %s were not created: %s\n" % (a.rbac, e))
    ctl = threading.Thread(target=sim.run, name="controllers", daemon=True)
    ctl.start()
    write_kubeconfig(a.kubeconfig, url, None if a.http else ca.cert_pem, tokens, a.namespace)

    def stop(signum, frame):
        def _shutdown():
            httpd.stopping = True
            sim.stop.set()
            with store.cond:
                store.cond.notify_all()
            httpd.shutdown()
        threading.Thread(target=_shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stderr.write("k8s-standin: serving %s (kubeconfig %s, time scale %g, %s) in %.2fs\n" % (
        url, a.kubeconfig, a.time_scale, "restored state" if restored else ("seeded" if a.seed else "empty"),
        time.time() - t0))
    sys.stderr.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        sim.stop.set()
        if not a.no_persist:
            try:
                save_state(store, sim, state_path)
            except OSError as e:
                sys.stderr.write("k8s-standin: could not save state: %s\n" % e)
        httpd.server_close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)   # state is saved: skip tearing down a large heap object by object
