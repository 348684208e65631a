"""Every network call has a bound: a peer that accepts the connection and never answers turns into a
failed task within the module's timeout, not a job that hangs (issue: honest results under faults).

The black hole is a listening socket whose connections are accepted by the kernel (the backlog) and
never read or answered, as a hung API server or a proxy in front of a dead one behaves."""
import socket
import subprocess
import time

import pytest

from conftest import run_tasks


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
