"""Every network call has a bound: a peer that accepts the connection and never answers turns into a
failed task within the module's timeout, not a job that hangs (issue: honest results under faults).

The black hole is a listening socket whose connections are accepted by the kernel (the backlog) and
never read or answered, as a hung API server or a proxy in front of a dead one behaves."""
import json
import socket
import subprocess
import time

import pytest

from conftest import run_playbook, run_tasks


@pytest.fixture
def black_hole():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def run_bounded(task, limit=120):
    """Run one module task; return (result, seconds). A task still running after ``limit`` seconds fails
    the test (it would have hung a job)."""
    started = time.monotonic()
    try:
        result = run_tasks([dict(task, ignore_errors=True)])[0]
    except subprocess.TimeoutExpired:  # pragma: no cover - the failure this test exists for
        pytest.fail("still waiting after %d s" % limit)
    return result, time.monotonic() - started


def test_k8s_rollback_gives_up_on_a_silent_api_server(black_hole):
    result, seconds = run_bounded({"clickview.runbook.k8s_rollback": {
        "host": "http://127.0.0.1:%d" % black_hole, "api_key": "not-a-real-token", "request_timeout": 3,
        "name": "clickview-backend", "namespace": "clickview"}})
    assert result["failed"], result
    assert "timed out" in result["msg"].lower() or "timeout" in result["msg"].lower(), result["msg"]
    assert not result.get("changed")
    # a few seconds of timeout (plus Ansible's start-up), not the client's default of waiting forever
    assert seconds < 45, seconds


def test_waf_block_ip_gives_up_on_a_silent_endpoint(black_hole):
    result, seconds = run_bounded({"clickview.runbook.waf_block_ip": {
        "endpoint_url": "http://127.0.0.1:%d" % black_hole, "region": "us-east-1", "access_key": "AKIDEXAMPLE",
        "secret_key": "not-a-real-secret", "timeout": 3, "ip_sets": ["blocklist"], "addresses": ["198.51.100.7"]}})
    assert result["failed"], result
    assert "timeout" in result["msg"].lower() or "timed out" in result["msg"].lower(), result["msg"]
    assert "nothing changed" in result["msg"] and not result.get("changed")
    # botocore alone would retry 10 times with a 60 s read timeout each
    assert seconds < 45, seconds


@pytest.mark.parametrize("option,value", [("timeout", 0), ("timeout", -5)])
def test_waf_block_ip_refuses_a_timeout_that_is_not_positive(option, value):
    result, _seconds = run_bounded({"clickview.runbook.waf_block_ip": {
        "endpoint_url": "http://127.0.0.1:9", "region": "us-east-1", "access_key": "AKIDEXAMPLE",
        "secret_key": "not-a-real-secret", option: value, "ip_sets": ["blocklist"], "addresses": ["198.51.100.7"]}})
    assert result["failed"] and result["msg"].startswith("timeout:"), result["msg"]


def test_k8s_rollback_refuses_a_request_timeout_that_is_not_positive():
    result, _seconds = run_bounded({"clickview.runbook.k8s_rollback": {
        "host": "http://127.0.0.1:9", "request_timeout": 0, "name": "clickview-backend", "namespace": "clickview"}})
    assert result["failed"] and "request_timeout" in result["msg"], result["msg"]


def black_hole_kubeconfig(folder, port):
    path = folder / 'kubeconfig'
    path.write_text(json.dumps({
        'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'hole',
        'clusters': [{'name': 'hole', 'cluster': {'server': 'http://127.0.0.1:%d' % port}}],
        'users': [{'name': 'hole', 'user': {'token': 'not-a-real-token'}}],
        'contexts': [{'name': 'hole', 'context': {'cluster': 'hole', 'user': 'hole'}}]}))
    return str(path)


def test_health_check_reports_a_silent_redis_and_kubernetes_api_as_fail(tmp_path, black_hole):
    """redis_info and k8s_info have no timeout of their own: without the task's bound the daily check hung."""
    started = time.monotonic()
    rc, out = run_playbook('playbooks/health_check.yml', json_output=False, timeout=240, extra_vars={
        'on_call_report_dir': str(tmp_path), 'on_call_call_timeout': 5,
        'clickview_redis': {'host': '127.0.0.1', 'port': black_hole, 'tls': False},
        'clickview_k8s_kubeconfig': black_hole_kubeconfig(tmp_path, black_hole), 'clickview_k8s_context': 'hole'})
    seconds = time.monotonic() - started
    report = json.loads((tmp_path / 'health-check-local-latest.json').read_text())
    checks = {(c['check'], c['target']): c for c in report['checks']}
    redis = checks[('redis.ping', '127.0.0.1:%d' % black_hole)]
    assert redis['status'] == 'FAIL' and redis['figure'] == 'unreachable' and 'Timed out after 5' in redis['detail'], redis
    pods = [c for (name, _target), c in checks.items() if name == 'kubernetes.pods_ready']
    assert pods and all(c['status'] == 'FAIL' and c['figure'] == 'Kubernetes API unreachable' for c in pods), pods
    assert 'Timed out after 5' in pods[0]['detail']
    # the other checks still ran and the run says FAIL
    assert checks[('postgres.primary', next(t for n, t in checks if n == 'postgres.primary'))]['status'] == 'OK'
    assert rc != 0 and report['overall'] == 'FAIL', out
    assert seconds < 150, seconds


def test_high_latency_reports_a_silent_redis_and_kubernetes_api_as_fail(tmp_path, black_hole):
    started = time.monotonic()
    rc, out = run_playbook('playbooks/alert_high_latency.yml', json_output=False, timeout=240, extra_vars={
        'clickview_report_dir': str(tmp_path), 'alert_response_call_timeout': 5, 'alert_response_notify': False,
        'clickview_redis': {'host': '127.0.0.1', 'port': black_hole, 'tls': False},
        'clickview_k8s_kubeconfig': black_hole_kubeconfig(tmp_path, black_hole), 'clickview_k8s_context': 'hole'})
    seconds = time.monotonic() - started
    report = json.loads((tmp_path / 'alert-high-latency-local-latest.json').read_text())
    found = {f['check']: f for f in report['findings']}
    assert found['redis.cache_hit_rate']['status'] == 'FAIL' and found['redis.cache_hit_rate']['figure'] == 'unreachable'
    assert any('Timed out after 5' in line for line in found['redis.cache_hit_rate']['evidence'])
    cpu = found['k8s.pod_cpu']
    assert cpu['status'] == 'FAIL' and 'Timed out after 5' in cpu['figure'], cpu
    assert rc != 0 and report['outcome'] == 'needs_attention', out
    assert seconds < 150, seconds


@pytest.mark.parametrize("playbook,extra,check", [
    ("playbooks/hpa_status.yml", {"scaling_call_timeout": 5}, False),
    ("playbooks/scale_deployment.yml", {"scaling_call_timeout": 5, "scaling_deployment": "clickview-backend",
                                        "scaling_replicas": 2}, True),
    ("playbooks/deploy_image.yml", {"deployment_call_timeout": 5,
                                    "deployment_image": "registry.clickview.lab/clickview-backend:1.4.0"}, True),
])
def test_kubernetes_procedures_give_up_on_a_silent_api_server(tmp_path, black_hole, playbook, extra, check):
    """kubernetes.core passes its client no timeout: each Kubernetes task of the deployment and scaling
    procedures carries the role's call timeout, so a silent API server fails the run instead of hanging it."""
    started = time.monotonic()
    rc, out = run_playbook(playbook, json_output=False, timeout=240, check=check, extra_vars=dict(
        extra, clickview_report_dir=str(tmp_path), scaling_report_dir=str(tmp_path), deployment_report_dir=str(tmp_path),
        clickview_k8s_kubeconfig=black_hole_kubeconfig(tmp_path, black_hole), clickview_k8s_context='hole'))
    seconds = time.monotonic() - started
    assert rc != 0, out
    assert 'timed out after 5 second' in out.lower(), out[-3000:]
    assert seconds < 120, seconds
