#!/usr/bin/env python3
"""Cost of the Kubernetes API stand-in: start time, latency of listing 2,000 pods, resident memory.

Times starts (empty, seeded, restart from saved state; median of --starts), then starts a private stand-in
(free port, temporary state), loads 200 Deployments x 10 replicas through the
REST API, waits until the 2,000 pods are ready, then measures. Prints a table.

    .venv/bin/python benchmarks/k8s_standin.py [--deployments 200] [--replicas 10] [--runs 20]
"""
import argparse
import http.client
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SERVER = os.path.join(REPO, "lab", "k8s_standin", "server.py")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Conn:
    def __init__(self, port, ca, token):
        self.ctx = ssl.create_default_context(cafile=ca)
        self.port, self.token = port, token
        self.c = http.client.HTTPSConnection("127.0.0.1", port, context=self.ctx, timeout=60)

    def req(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.c.request(method, path, body=data, headers=headers)
        r = self.c.getresponse()
        return r.status, r.read()


def cpu_s(pid):
    """User + system CPU seconds the process has used."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(state, kc, *extra, persist=False):
    """Start a stand-in; -> (process, port, wall seconds from spawn to /readyz answering, CPU seconds by then)."""
    port = free_port()
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, SERVER, "--port", str(port), "--state-dir", state, "--kubeconfig", kc,
                             "--time-scale", "50"] + ([] if persist else ["--no-persist"]) + list(extra),
                            stderr=subprocess.DEVNULL)
    while time.time() - t0 < 30:
        if os.path.exists(os.path.join(state, "ca.crt")):
            try:
                c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                                context=ssl.create_default_context(cafile=os.path.join(state, "ca.crt")))
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return proc, port, time.time() - t0, cpu_s(proc.pid)
            except (OSError, ssl.SSLError):
                pass
        time.sleep(0.005)
    proc.kill()
    sys.exit("stand-in did not start")


def stop(proc):
    proc.terminate()
    return proc.wait(10)


def start_times(tmp, starts):
    """-> {mode: [(wall, cpu), ...]} for a fresh empty start, a fresh --seed start, and a restart that loads
    the state a seeded instance saved (what `make lab-up` does once the lab has run)."""
    out = {"empty": [], "seeded": [], "restart": []}
    for i in range(starts):
        d = os.path.join(tmp, "start-%d" % i)
        for mode, extra in (("empty", ()), ("seeded", ("--seed",))):
            proc, _port, wall, cpu = start(os.path.join(d, mode), os.path.join(d, mode + ".kc"), *extra,
                                           persist=mode == "seeded")
            out[mode].append((wall, cpu))
            stop(proc)
        proc, _port, wall, cpu = start(os.path.join(d, "seeded"), os.path.join(d, "seeded.kc"), "--seed")
        out["restart"].append((wall, cpu))
        stop(proc)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deployments", type=int, default=200)
    ap.add_argument("--replicas", type=int, default=10)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--starts", type=int, default=7, help="starts of each kind to time (median reported)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="k8s-standin-bench-")
    load_before = os.getloadavg()[0]
    starts = start_times(tmp, a.starts)
    kc = os.path.join(tmp, "kubeconfig")
    state = os.path.join(tmp, "state")
    proc, port, _wall, _cpu = start(state, kc)
    token = yaml.safe_load(open(kc))["users"][0]["user"]["token"]
    conn = Conn(port, os.path.join(state, "ca.crt"), token)
    rss_empty = rss_mb(proc.pid)
    conn.req("POST", "/api/v1/namespaces", {"metadata": {"name": "bench"}})
    t2 = time.time()
    for i in range(a.deployments):
        name = "svc-%03d" % i
        st, body = conn.req("POST", "/apis/apps/v1/namespaces/bench/deployments", {
            "metadata": {"name": name},
            "spec": {"replicas": a.replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name, "tier": "bench"}},
                                  "spec": {"containers": [{"name": "app", "image": "registry.clickview.lab/%s:1.0" % name,
                                                           "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}]}}}})
        assert st == 201, body
    want = a.deployments * a.replicas
    ready = 0
    while time.time() - t2 < 300:
        st, body = conn.req("GET", "/apis/apps/v1/namespaces/bench/deployments")
        ready = sum((d.get("status") or {}).get("readyReplicas", 0) for d in json.loads(body)["items"])
        if ready >= want:
            break
        time.sleep(0.5)
    load_s = time.time() - t2
    lat = []
    size = 0
    cpu0, ccpu0 = cpu_s(proc.pid), time.process_time()
    for _ in range(a.runs):
        t = time.perf_counter()
        st, body = conn.req("GET", "/api/v1/namespaces/bench/pods")
        lat.append((time.perf_counter() - t) * 1000)
        size = len(body)
        assert st == 200
    cpu_list_ms = (cpu_s(proc.pid) - cpu0) * 1000 / a.runs   # includes the controllers' loop meanwhile
    client_cpu_ms = (time.process_time() - ccpu0) * 1000 / a.runs   # this script reading 4.8 MB over TLS
    n_pods = len(json.loads(body)["items"])
    lat_sel = []
    for _ in range(a.runs):
        t = time.perf_counter()
        conn.req("GET", "/api/v1/namespaces/bench/pods?labelSelector=app%3Dsvc-007")
        lat_sel.append((time.perf_counter() - t) * 1000)
    time.sleep(1)
    rss_full = rss_mb(proc.pid)
    proc.terminate()
    t3 = time.time()
    rc = proc.wait(10)
    stop_s = time.time() - t3
    def fmt(mode):
        walls, cpus = [w for w, _c in starts[mode]], [c for _w, c in starts[mode]]
        return "%.2f s (min %.2f, CPU %.2f s)" % (statistics.median(walls), min(walls), statistics.median(cpus))

    rows = [
        ("start to /readyz, empty state (median of %d)" % a.starts, fmt("empty"), "< 2 s"),
        ("start to /readyz with --seed (clickview namespace)", fmt("seeded"), "< 2 s"),
        ("restart to /readyz, loading the saved seeded state", fmt("restart"), "< 2 s"),
        ("create %d deployments, all %d pods ready" % (a.deployments, want), "%.1f s (%d ready)" % (load_s, ready), ""),
        ("list %d pods, median of %d (%.1f MB JSON)" % (n_pods, a.runs, size / 1e6),
         "%.1f ms (p90 %.1f ms)" % (statistics.median(lat), sorted(lat)[int(0.9 * len(lat)) - 1]), "< 100 ms"),
        ("  CPU per list: server (its controllers' loop included) + client",
         "%.1f + %.1f ms" % (cpu_list_ms, client_cpu_ms), ""),
        ("list pods by label selector (10 of %d)" % n_pods, "%.1f ms" % statistics.median(lat_sel), ""),
        ("resident memory, empty", "%.0f MB" % rss_empty, ""),
        ("resident memory, %d deployments / %d pods" % (a.deployments, n_pods), "%.0f MB" % rss_full, "< 150 MB"),
        ("SIGTERM to exit (exit code %s)" % rc, "%.2f s" % stop_s, "clean"),
    ]
    w = max(len(r[0]) for r in rows)
    print("Kubernetes API stand-in (HTTPS, one client connection, %d CPUs, load average %.1f before / %.1f after)"
          % (os.cpu_count(), load_before, os.getloadavg()[0]))
    print("%-*s  %-24s %s" % (w, "measure", "result", "target"))
    print("-" * (w + 40))
    for r in rows:
        print("%-*s  %-24s %s" % (w, r[0], r[1], r[2]))


if __name__ == "__main__":
    main()
