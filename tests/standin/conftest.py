"""Fixtures for the fidelity tests of the Kubernetes API stand-in.

One stand-in per session (free port, temporary state dir, fast simulated time); tests drive it with the
real kubectl binary, the kubernetes Python client and kubernetes.core modules.
"""
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVER = os.path.join(REPO, "lab", "k8s_standin", "server.py")
KUBECTL = os.environ.get("KUBECTL", os.path.join(REPO, ".tools", "bin", "kubectl"))
TIME_SCALE = 40  # simulated seconds per wall-clock second


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class StandIn:
    def __init__(self, proc, url, kubeconfig, state_dir, startup):
        self.proc, self.url, self.kubeconfig, self.state_dir, self.startup = proc, url, kubeconfig, state_dir, startup
        with open(kubeconfig) as f:
            cfg = yaml.safe_load(f)
        users = {u["name"]: u["user"]["token"] for u in cfg["users"]}
        self.admin_token = users["clickview-lab-admin"]
        self.readonly_token = users["clickview-lab-readonly"]
        self.operator_token = users["clickview-lab-operator"]
        self.ca_file = os.path.join(state_dir, "ca.crt")
        self.ctx = ssl.create_default_context(cafile=self.ca_file)

    def raw(self, method, path, body=None, token="admin", ctype="application/json", headers=None):
        """A plain HTTPS request -> (status, parsed JSON or text)."""
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            named = {"admin": self.admin_token, "readonly": self.readonly_token, "operator": self.operator_token}
            req.add_header("Authorization", "Bearer " + named.get(token, token))
        if data is not None:
            req.add_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=20) as r:
                code, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, text = e.code, e.read()
        try:
            return code, json.loads(text)
        except ValueError:
            return code, text.decode()


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    d = tmp_path_factory.mktemp("k8s-standin")
    state, kubeconfig = str(d / "state"), str(d / "kubeconfig")
    port = _free_port()
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, SERVER, "--host", "127.0.0.1", "--port", str(port), "--state-dir", state,
                             "--kubeconfig", kubeconfig, "--seed", "--time-scale", str(TIME_SCALE)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = "https://127.0.0.1:%d" % port
    deadline = time.time() + 15
    while time.time() < deadline:
        if os.path.exists(kubeconfig):
            try:
                ctx = ssl.create_default_context(cafile=os.path.join(state, "ca.crt"))
                with urllib.request.urlopen(url + "/readyz", context=ctx, timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
        if proc.poll() is not None:
            raise RuntimeError("stand-in exited: %s" % proc.stdout.read().decode())
        time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("stand-in did not become ready")
    s = StandIn(proc, url, kubeconfig, state, time.time() - t0)
    yield s
    proc.terminate()
    try:
        rc = proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
    assert rc == 0, "stand-in did not exit cleanly on SIGTERM: %r\n%s" % (rc, proc.stdout.read().decode()[-3000:])


@pytest.fixture(scope="session")
def kubectl(standin, tmp_path_factory):
    if not os.access(KUBECTL, os.X_OK):
        pytest.skip("kubectl not found at %s (run `make kubectl` or set KUBECTL)" % KUBECTL)
    cache = str(tmp_path_factory.mktemp("kubecache"))

    def run(*args, check=True, timeout=60, context=None, input=None):
        cmd = [KUBECTL, "--kubeconfig", standin.kubeconfig, "--cache-dir", cache]
        if context:
            cmd += ["--context", context]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout, input=input, check=False)
        if check and p.returncode != 0:
            raise AssertionError("kubectl %s failed (%d):\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p
    return run


@pytest.fixture(scope="session")
def k8s(standin):
    """kubernetes Python client ApiClient on the admin context."""
    from kubernetes import config
    return config.new_client_from_config(config_file=standin.kubeconfig, context="clickview-lab")


@pytest.fixture
def ns(k8s):
    """A fresh namespace per test."""
    from kubernetes import client
    name = "t-" + uuid.uuid4().hex[:8]
    client.CoreV1Api(k8s).create_namespace({"metadata": {"name": name}})
    return name


def wait_for(fn, timeout=20, interval=0.05, msg="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (msg, last))


def deployment(name, image="registry.clickview.lab/web:1.0", replicas=3, **spec):
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"containers": [{"name": "web", "image": image,
                                                        "resources": {"requests": {"cpu": "100m"},
                                                                      "limits": {"cpu": "200m", "memory": "128Mi"}}}]}}}}
    d["spec"].update(spec)
    return d
