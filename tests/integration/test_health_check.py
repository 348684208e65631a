"""The daily health check against the lab: healthy, then with faults injected.

Each fault is real: the replica's postmaster is stopped, Redis is stopped, the sample
backend's error rate is raised until Prometheus fires HighErrorRate through Alertmanager.
"""
import http.server
import json
import subprocess
import sys
import threading
import urllib.request
import uuid

import pytest

from conftest import ROOT, active_alerts, lab_url, run_playbook, wait_until

PLAYBOOK = "playbooks/health_check.yml"


def labctl(*args):
    subprocess.run([sys.executable, str(ROOT / "lab" / "labctl.py"), *args], check=True, capture_output=True)


def run_health_check(tmp_path, **extra):
    rc, output = run_playbook(PLAYBOOK, extra_vars={"on_call_report_dir": str(tmp_path), **extra}, json_output=False)
    report = json.loads((tmp_path / "health-check-local-latest.json").read_text())
    markdown = (tmp_path / "health-check-local-latest.md").read_text()
    return rc, output, report, markdown


def by_check(report):
    checks = {}
    for check in report["checks"]:
        checks.setdefault(check["check"], []).append(check)
    return checks


def test_healthy_lab_reports_every_check_ok(tmp_path, quiet_lab):  # pylint: disable=unused-argument
    rc, output, report, markdown = run_health_check(tmp_path)
    assert rc == 0, output
    not_ok = [c for c in report["checks"] if c["status"] != "OK"]
    assert not not_ok, not_ok
    assert report["overall"] == "OK"
    checks = by_check(report)
    for name in ("api.health", "postgres.primary", "postgres.connections", "postgres.replication",
                 "postgres.replica_lag", "pgbouncer.pools", "redis.ping", "redis.memory", "redis.cache_hit_rate",
                 "prometheus.targets", "app.error_ratio", "app.latency_p95", "alerts.firing", "alerts.overnight",
                 "kubernetes.pods_ready"):
        assert name in checks, f"{name} missing from the report"
    assert checks["postgres.replication"][0]["figure"] == "1 of 1 replicas streaming"
    assert "replica-1" in checks["postgres.replica_lag"][0]["target"]
    deployments = sorted(c["target"] for c in checks["kubernetes.pods_ready"])
    assert deployments == ["clickview/clickview-backend", "clickview/clickview-frontend"]
    assert "Daily health check: OK" in markdown
    assert "Daily health check (local): OK" in output   # the summary is printed in the log
    # readable by the owner and its group only
    assert {oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {"0o640"}


def test_a_report_folder_others_can_write_to_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    rc, output = run_playbook(PLAYBOOK, extra_vars={"on_call_report_dir": str(shared)}, json_output=False)
    assert rc != 0 and "refusing to write there" in output and "writable by everyone" in output, output
    assert list(shared.iterdir()) == []


@pytest.fixture
def faults(sample_app_faults):
    """Stop the replica and Redis, raise the error rate; restore everything afterwards."""
    labctl("stop", "postgres-replica", "redis")
    try:
        sample_app_faults(error_rate=0.6)
        wait_until(lambda: "HighErrorRate" in active_alerts(), 90, "HighErrorRate to fire")
        yield
    finally:
        sample_app_faults()
        labctl("start", "postgres-replica", "redis")


def test_faults_are_each_named_and_fail_the_play(tmp_path, faults):
    rc, output, report, markdown = run_health_check(tmp_path, on_call_rate_window="1m")
    assert rc != 0, "a FAIL check must fail the play"
    checks = by_check(report)
    assert report["overall"] == "FAIL"
    assert checks["postgres.replication"][0]["status"] == "FAIL"
    assert checks["postgres.replication"][0]["figure"] == "0 of 1 replicas streaming"
    assert checks["postgres.replica_lag"][0]["status"] == "FAIL"
    assert checks["postgres.replica_lag"][0]["figure"] == "unreachable"
    assert checks["redis.ping"][0]["status"] == "FAIL"
    assert "redis.memory" not in checks            # one FAIL for an unreachable Redis, not three
    assert checks["app.error_ratio"][0]["status"] == "FAIL"
    assert float(checks["app.error_ratio"][0]["figure"].rstrip(" %")) > 5
    assert checks["alerts.firing"][0]["status"] == "WARN"
    assert "HighErrorRate" in checks["alerts.firing"][0]["figure"]
    # what still works is still reported as working
    assert checks["postgres.primary"][0]["status"] == "OK"
    assert checks["pgbouncer.pools"][0]["status"] == "OK"
    # the report is written before the play fails, and the failure message names the FAIL checks
    for name in ("postgres.replication", "postgres.replica_lag", "redis.ping", "app.error_ratio"):
        assert f"FAIL: {name}" in markdown
    assert "check(s) FAIL: postgres.replication, postgres.replica_lag, redis.ping" in output


def test_missing_inventory_variable_fails_before_any_check(tmp_path):
    rc, output = run_playbook(PLAYBOOK, extra_vars={"on_call_report_dir": str(tmp_path), "clickview_postgres_ssl_mode": "sometimes"},
                              json_output=False)
    assert rc != 0
    assert "clickview_postgres_ssl_mode must be one of" in output
    assert not list(tmp_path.iterdir())


class AuthProxy:
    """An authenticating proxy in front of a lab monitoring API, as teams put Prometheus and Alertmanager
    behind one: a request without the bearer token gets 401, one with it is forwarded."""

    def __init__(self, upstream, token):
        self.upstream, self.token, self.seen = upstream, token, []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args):
                return

            def do_GET(self):  # pylint: disable=invalid-name
                proxy.seen.append(self.headers.get("Authorization"))
                if self.headers.get("Authorization") != "Bearer " + proxy.token:
                    status, body = 401, b'{"error": "unauthorized"}'
                else:
                    with urllib.request.urlopen(proxy.upstream + self.path, timeout=10) as resp:
                        status, body = resp.status, resp.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_health_check_sends_the_monitoring_tokens_and_prints_none(tmp_path):
    tokens = {"prometheus": "prom-sentinel-" + uuid.uuid4().hex, "alertmanager": "am-sentinel-" + uuid.uuid4().hex}
    proxies = {name: AuthProxy(lab_url(name), token) for name, token in tokens.items()}
    try:
        urls = {"clickview_prometheus_url": proxies["prometheus"].url, "clickview_alertmanager_url": proxies["alertmanager"].url}
        rc, output, report, markdown = run_health_check(
            tmp_path, clickview_prometheus_token=tokens["prometheus"], clickview_alertmanager_token=tokens["alertmanager"], **urls)
        checks = by_check(report)
        assert checks["prometheus.targets"][0]["status"] == "OK", checks["prometheus.targets"]
        assert checks["app.error_ratio"][0]["figure"] != "no data"
        assert checks["alerts.firing"][0]["status"] in ("OK", "WARN"), checks["alerts.firing"]
        for name, proxy in proxies.items():
            assert proxy.seen and set(proxy.seen) == {"Bearer " + tokens[name]}, (name, proxy.seen)
            assert tokens[name] not in output + markdown + json.dumps(report)

        # the same proxies without the tokens: refused, and the check says so
        rc, output, report, _markdown = run_health_check(tmp_path, **urls)
        targets = by_check(report)["prometheus.targets"][0]
        assert rc != 0 and targets["status"] == "FAIL" and "401" in targets["figure"] + targets["detail"], targets
    finally:
        for proxy in proxies.values():
            proxy.close()
