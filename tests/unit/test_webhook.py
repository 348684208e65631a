"""Retry and delivery decisions of plugins/module_utils/webhook.py (no network)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.module_utils import webhook as wh  # noqa: E402

URL = "https://hooks.example.com/services/T000/B000/s3cr3tT0ken"


def script(*answers):
    """A send() that plays the answers in order: (status, headers, body, error)."""
    answers = list(answers)
    sent = []

    def send():
        sent.append(1)
        return answers.pop(0)
    return send, sent


def run(send, **kw):
    slept = []
    kw.setdefault("rng", lambda: 1.0)
    return wh.deliver(send, sleep=slept.append, url=URL, **kw), slept


def test_throttled_then_accepted_honours_retry_after():
    send, sent = script((429, {"Retry-After": "2"}, "", "Too Many Requests"), (202, {}, '{"status":"success"}', None))
    result, slept = run(send)
    assert result["delivered"] and result["status"] == 202 and result["attempts"] == 2 and len(sent) == 2
    assert slept == [2.0] and result["error"] is None


def test_server_errors_and_dropped_connections_are_retried_with_growing_backoff():
    send, sent = script((500, {}, "", "boom"), (None, {}, None, "Connection refused"), (503, {}, "", "down"),
                        (200, {}, "ok", None))
    result, slept = run(send, backoff=1.0, max_backoff=30.0)
    assert result["delivered"] and result["attempts"] == 4
    assert slept == [1.0, 2.0, 4.0]  # rng 1.0: the top of each jitter window


def test_backoff_is_capped():
    assert wh.backoff_delay(10, 1.0, 30.0, rng=lambda: 1.0) == 30.0
    assert wh.backoff_delay(0, 1.0, 30.0, rng=lambda: 0.5) == 0.5


def test_retries_spent_says_not_delivered_with_the_last_status():
    send, sent = script(*[(502, {}, "", "Bad Gateway")] * 4)
    result, slept = run(send, retries=3)
    assert not result["delivered"] and result["status"] == 502 and result["attempts"] == 4 and len(slept) == 3
    assert result["error"] == "HTTP 502: Bad Gateway"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_client_errors_are_not_retried(status):
    send, sent = script((status, {}, "", "nope"))
    result, slept = run(send)
    assert not result["delivered"] and result["attempts"] == 1 and slept == []


def test_zero_retries_is_one_attempt():
    send, sent = script((503, {}, "", "down"))
    result, slept = run(send, retries=0)
    assert not result["delivered"] and len(sent) == 1


def test_retry_after_is_bounded_and_ignored_when_not_a_number():
    assert wh.retry_after({"retry-after": "3600"}) == wh.MAX_RETRY_AFTER
    assert wh.retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert wh.retry_after({}) is None


def test_errors_never_carry_the_url_or_its_path():
    send, sent = script((None, {}, None, "Request failed: <urlopen error %s unreachable>" % URL))
    result, slept = run(send, retries=0)
    assert "s3cr3tT0ken" not in result["error"] and "<webhook>" in result["error"]
    other = "https://status.example.com/api/v1/pages/PAGEID/incidents?api_key=abc"
    assert wh.redact("failed for %s now" % other) == "failed for https://status.example.com/<hidden> now"
    assert wh.redact("and/or 50/50") == "and/or 50/50"
