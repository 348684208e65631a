"""The daily health check against the lab: healthy, then with faults injected.

Each fault is real: the replica's postmaster is stopped, Redis is stopped, the sample
backend's error rate is raised until Prometheus fires HighErrorRate through Alertmanager.
"""
import http.server
import json
import re
import subprocess
import sys
import threading
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, active_alerts, lab_url, pg_query, redis_client, run_playbook, wait_until

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
    for name in ("api.health", "postgres.primary", "postgres.connections", "postgres.replication", "postgres.wal_archiving",
                 "postgres.replica_lag", "pgbouncer.pools", "redis.ping", "redis.memory", "redis.cache_hit_rate",
                 "prometheus.targets", "app.error_ratio", "app.latency_p95", "alerts.firing", "alerts.overnight",
                 "kubernetes.pods_ready", "kubernetes.nodes_ready", "kubernetes.pods_stuck", "kubernetes.warning_events",
                 "redis.evictions", "redis.replication"):
        assert name in checks, f"{name} missing from the report"
    assert checks["postgres.replication"][0]["figure"] == "1 of 1 replicas streaming"
    assert "replica-1" in checks["postgres.replica_lag"][0]["target"]
    deployments = sorted(c["target"] for c in checks["kubernetes.pods_ready"])
    assert deployments == ["clickview/clickview-backend", "clickview/clickview-frontend"]
    assert "Daily health check: OK" in markdown
    assert "Daily health check (local): OK" in output   # the summary is printed in the log
    # a read-only run changes nothing: writing its report is not a change to the platform
    assert " changed=0 " in output.split("PLAY RECAP")[-1], output[-600:]
    junit = ET.parse(tmp_path / "health-check-local-latest.junit.xml").getroot()
    assert (junit.get("tests"), junit.get("failures"), junit.get("skipped")) == (str(len(report["checks"])), "0", "0")
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
    assert "redis.memory" not in checks            # one FAIL for an unreachable Redis, not four
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
    # (Redis is read last: the hit rate is that of the lookups during the check)
    assert "check(s) FAIL: postgres.replication, postgres.replica_lag, app.error_ratio, redis.ping" in output
    # CI sees one JUnit test case per check: each FAIL a failure naming its figure, each WARN skipped
    junit = ET.parse(tmp_path / "health-check-local-latest.junit.xml").getroot()
    cases = {case.get("name"): case for case in junit.iter("testcase")}
    assert len(cases) == len(report["checks"])
    failed = sorted(name.split(" ")[0] for name, case in cases.items() if case.find("failure") is not None)
    assert failed == sorted(c["check"] for c in report["checks"] if c["status"] == "FAIL")
    redis_ping = next(case for name, case in cases.items() if name.startswith("redis.ping "))
    assert redis_ping.find("failure").get("message").startswith(checks["redis.ping"][0]["figure"])
    assert any(case.find("skipped") is not None and "HighErrorRate" in case.find("skipped").get("message")
               for case in cases.values())


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


def test_a_cache_gone_cold_during_the_check_fails_the_hit_rate_whatever_its_lifetime(tmp_path):
    """INFO's keyspace counters are cumulative since the restart: a cache that hit 90 % all week and misses
    everything now read 'OK'. The check grades the lookups between its two samples."""
    client = redis_client()
    stop = threading.Event()

    def cold_lookups():
        while not stop.is_set():
            client.get("itest:cold:%s" % uuid.uuid4().hex)      # a miss
            stop.wait(0.1)

    thread = threading.Thread(target=cold_lookups, daemon=True)
    thread.start()
    try:
        rc, output, report, _markdown = run_health_check(tmp_path, on_call_redis_window=8)
    finally:
        stop.set()
        thread.join(timeout=5)
    hit = by_check(report)["redis.cache_hit_rate"][0]
    # graded on the window: FAIL, far under the lifetime rate (another client's few hits on the shared Redis
    # may land in the window, so the window's rate is bounded, not required to be exactly 0 %)
    window, lifetime = re.match(r"([\d.]+) % in the last \d+ s \(.*; lifetime ([\d.]+) %\)", hit["figure"]).groups()
    assert hit["status"] == "FAIL" and float(window) < 30 and float(window) < float(lifetime), hit
    assert hit["threshold"].startswith("warn below 85 %, fail below 80 %")
    assert rc != 0, output


def archiver():
    return pg_query("SELECT last_archived_time, last_failed_time, failed_count FROM pg_stat_archiver")[0]


@pytest.fixture
def failing_archiver():
    """The primary's archive_command made to fail (as a full repository or a lost bucket does), then put back and
    one segment archived again, so the lab's archiver is healthy for the tests after."""
    (command, source), = pg_query("SELECT setting, sourcefile FROM pg_settings WHERE name = 'archive_command'")
    failures = archiver()[2]
    pg_query("ALTER SYSTEM SET archive_command = '/bin/false'")
    pg_query("SELECT pg_reload_conf()")
    try:
        pg_query("SELECT pg_switch_wal() FROM (SELECT txid_current()) AS t")
        wait_until(lambda: archiver()[2] > failures, 60, "the archiver to fail")
        yield
    finally:
        if source and source.endswith("postgresql.auto.conf"):
            pg_query("ALTER SYSTEM SET archive_command = %s", (command,))
        else:
            pg_query("ALTER SYSTEM RESET archive_command")
        pg_query("SELECT pg_reload_conf()")
        wait_until(lambda: archiver()[0] and (archiver()[1] is None or archiver()[0] > archiver()[1]), 120,
                   "the archiver to succeed again")


def test_wal_archiving_failing_is_fail_naming_the_segment(tmp_path, failing_archiver):  # pylint: disable=unused-argument
    rc, output, report, markdown = run_health_check(tmp_path)
    archiving = by_check(report)["postgres.wal_archiving"][0]
    assert archiving["status"] == "FAIL" and archiving["figure"].startswith("failing: "), archiving
    assert "the backups stop there" in archiving["figure"]
    assert rc != 0 and "FAIL: postgres.wal_archiving" in markdown, output


@pytest.fixture
def crash_looping_deployment():
    """A Deployment of the test's own whose container exits at start (the stand-in crash-loops a 'broken' image)."""
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    api = config.new_client_from_config(str(ROOT / "lab" / ".state" / "kubeconfig"), context="clickview-lab")
    apps = client.AppsV1Api(api)
    name = "itest-crasher-" + uuid.uuid4().hex[:6]
    apps.create_namespaced_deployment("clickview", {
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": "registry.clickview.lab/itest:1.0-broken"}]}}}})
    core = client.CoreV1Api(api)

    def looping():
        return [p for p in core.list_namespaced_pod("clickview", label_selector="app=" + name).items
                for cs in p.status.container_statuses or [] if cs.state.waiting and cs.state.waiting.reason == "CrashLoopBackOff"]
    try:
        yield wait_until(looping, 60, "the pod to crash-loop")[0].metadata.name
    finally:
        apps.delete_namespaced_deployment(name, "clickview")
        wait_until(lambda: not core.list_namespaced_pod("clickview", label_selector="app=" + name).items, 60, "its pods to go")


def test_a_crash_looping_pod_fails_the_kubernetes_checks(tmp_path, crash_looping_deployment):
    rc, output, report, _markdown = run_health_check(tmp_path)
    checks = by_check(report)
    stuck = checks["kubernetes.pods_stuck"][0]
    assert stuck["status"] == "FAIL" and "%s/app CrashLoopBackOff" % crash_looping_deployment in stuck["detail"], stuck
    assert "BackOff pod/%s" % crash_looping_deployment in checks["kubernetes.warning_events"][0]["figure"]
    assert checks["kubernetes.nodes_ready"][0]["status"] == "OK" and checks["kubernetes.nodes_ready"][0]["figure"] == "3 of 3 nodes Ready"
    assert rc != 0 and "kubernetes.pods_stuck" in output.split("check(s) FAIL:")[1]
