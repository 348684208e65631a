"""A small sample backend for the lab: /health, Prometheus /metrics, and run-time faults.

It stands for the ClickView backend so that Prometheus has real series to scrape and the
runbook's alerts (error rate > 5 %, P95 latency > 500 ms) can be raised and lowered in drills:

    curl -X POST 127.0.0.1:18080/admin/faults -d '{"error_rate": 0.2, "latency_ms": 800}'
    curl -X POST 127.0.0.1:18080/admin/faults -d '{}'            # back to healthy

A background thread simulates `rps` requests per second with the configured error ratio and
latency, so the counters move without any client traffic.

With --claim-dir it also stands in for the kubelet's volume statistics of the database's claim
(clickview/data-postgres-0, the runbook's postgres-0): kubelet_volume_stats_used_bytes is the real
size of that directory (the lab primary's data directory), capacity is the claim's request
(fault `volume_capacity_bytes`, 10 GiB by default), so the shipped Disk Space Low rule and the
playbook read a figure that moves with the database:

    curl -X POST 127.0.0.1:18080/admin/faults -d '{"volume_capacity_bytes": 60000000}'
"""
import argparse
import json
import os
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0)
DEFAULT_FAULTS = {"error_rate": 0.005, "latency_ms": 80, "rps": 50, "healthy": True, "volume_capacity_bytes": 10 * 2 ** 30}
CLAIM_LABELS = 'namespace="clickview",persistentvolumeclaim="data-postgres-0"'


def directory_bytes(path):
    """Bytes a directory takes on disk (as du counts them: allocated blocks), files that vanish skipped."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                continue
    return total


class State:
    def __init__(self, claim_dir=None):
        self.claim_dir = claim_dir
        self.lock = threading.Lock()
        self.faults = dict(DEFAULT_FAULTS)
        self.requests = {}            # (method, path, status) -> count
        self.buckets = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0

    def observe(self, status, seconds, path="/api/v1/items"):
        with self.lock:
            key = ("GET", path, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            self.count += 1
            self.total += seconds
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.buckets[i] += 1

    def simulate(self, stop):
        while not stop.is_set():
            with self.lock:
                faults = dict(self.faults)
            n = max(0, int(faults["rps"]))
            for _request in range(n):
                status = 500 if random.random() < faults["error_rate"] else 200
                latency = max(0.001, random.gauss(faults["latency_ms"], faults["latency_ms"] * 0.15) / 1000.0)
                self.observe(status, latency)
            stop.wait(1.0)

    def metrics(self):
        lines = [
            "# HELP http_requests_total Requests handled, by status code.",
            "# TYPE http_requests_total counter",
        ]
        with self.lock:
            for (method, path, status), value in sorted(self.requests.items()):
                lines.append(f'http_requests_total{{method="{method}",path="{path}",status="{status}"}} {value}')
            lines += [
                "# HELP http_request_duration_seconds Request latency.",
                "# TYPE http_request_duration_seconds histogram",
            ]
            for bound, value in zip(BUCKETS, self.buckets):
                lines.append(f'http_request_duration_seconds_bucket{{le="{bound}"}} {value}')
            lines.append(f'http_request_duration_seconds_bucket{{le="+Inf"}} {self.count}')
            lines.append(f"http_request_duration_seconds_sum {self.total:.6f}")
            lines.append(f"http_request_duration_seconds_count {self.count}")
            healthy = 1 if self.faults["healthy"] else 0
            capacity = int(self.faults["volume_capacity_bytes"])
        lines += ["# TYPE clickview_up gauge", f"clickview_up {healthy}"]
        if self.claim_dir:
            used = directory_bytes(self.claim_dir)
            for name, value in (("capacity", capacity), ("used", used), ("available", max(capacity - used, 0))):
                lines += [f"# TYPE kubelet_volume_stats_{name}_bytes gauge",
                          f"kubelet_volume_stats_{name}_bytes{{{CLAIM_LABELS}}} {value}"]
        return "\n".join(lines) + "\n"


def make_handler(state, version):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # keep the lab log quiet
            return

        def reply(self, code, body, ctype="application/json"):
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                with state.lock:
                    healthy = state.faults["healthy"]
                body = {"status": "ok" if healthy else "degraded", "version": version,
                        "checks": {"database": "ok" if healthy else "failing", "cache": "ok"}}
                self.reply(200 if healthy else 503, body)
            elif self.path == "/metrics":
                self.reply(200, state.metrics(), "text/plain; version=0.0.4")
            elif self.path == "/admin/faults":
                with state.lock:
                    self.reply(200, state.faults)
            else:
                self.reply(404, {"error": "not found"})

        def do_POST(self):
            if self.path != "/admin/faults":
                self.reply(404, {"error": "not found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                wanted = json.loads(self.rfile.read(length) or b"{}")
                unknown = set(wanted) - set(DEFAULT_FAULTS)
                if unknown:
                    raise ValueError(f"unknown fault(s): {sorted(unknown)}")
            except ValueError as exc:
                self.reply(400, {"error": str(exc)})
                return
            with state.lock:
                state.faults = dict(DEFAULT_FAULTS, **wanted)
                self.reply(200, state.faults)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--version", default="v1.4.2")
    parser.add_argument("--claim-dir", help="directory whose size is exported as the database claim's volume usage")
    args = parser.parse_args()
    state = State(args.claim_dir)
    stop = threading.Event()
    threading.Thread(target=state.simulate, args=(stop,), daemon=True).start()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(state, args.version))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()


if __name__ == "__main__":
    main()
