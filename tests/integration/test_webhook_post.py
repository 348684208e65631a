"""clickview.runbook.webhook_post against a scripted webhook server of its own (no lab needed): throttling
and server errors are retried until delivered, a dead endpoint is reported as not delivered, and neither the
URL's token nor the body's routing key appears in what Ansible prints."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import run_playbook, run_tasks

TOKEN = "T0KEN-sentinel-4d1f"
ROUTING_KEY = "ROUTING-sentinel-9c2e"


@pytest.fixture
def hook():
    """Answers each path's script in turn (a list of statuses), then 200; records every body received."""
    state = {"scripts": {}, "received": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
            state["received"].append((self.path, body))
            script = state["scripts"].get(self.path.split("/")[1], [])
            status = script.pop(0) if script else 200
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"status": status}).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["base"] = "http://127.0.0.1:%d" % server.server_address[1]
    yield state
    server.shutdown()


def post(url, **kw):
    return dict({"clickview.runbook.webhook_post": dict({"url": url, "body": {"routing_key": ROUTING_KEY, "text": "P1"},
                                                         "backoff": 0.05}, **kw)}, ignore_errors=True)


def test_throttled_and_failing_webhooks_are_retried_until_delivered(hook):
    hook["scripts"] = {"chat": [429, 503], "pager": [500, 502, 504]}
    chat, pager = run_tasks([post(hook["base"] + "/chat/" + TOKEN), post(hook["base"] + "/pager/" + TOKEN, retries=3)])
    assert chat["delivered"] and chat["attempts"] == 3 and chat["changed"], chat
    assert chat["waits"][0] == 1.0  # the 429's Retry-After
    assert pager["delivered"] and pager["attempts"] == 4 and pager["json"] == {"status": 200}, pager
    assert len([p for p, _body in hook["received"] if p.startswith("/pager/")]) == 4


def test_a_webhook_that_keeps_failing_is_reported_not_delivered(hook):
    hook["scripts"] = {"chat": [503] * 10, "gone": [404], "gone2": [404]}
    failing, gone, dead, lenient = run_tasks([
        post(hook["base"] + "/chat/" + TOKEN, retries=2),
        post(hook["base"] + "/gone/" + TOKEN),
        post("http://127.0.0.1:9/" + TOKEN, retries=1, timeout=2),
        post(hook["base"] + "/gone2/" + TOKEN, fail_on_error=False)])
    assert failing["failed"] and not failing["delivered"] and failing["attempts"] == 3 and failing["status"] == 503
    assert gone["failed"] and gone["attempts"] == 1 and gone["status"] == 404  # a client error is not retried
    assert dead["failed"] and dead["status"] is None and dead["attempts"] == 2 and "no answer" in dead["msg"]
    assert not lenient.get("failed") and lenient["delivered"] is False and not lenient["changed"]
    for result in (failing, gone, dead, lenient):
        assert TOKEN not in json.dumps(result) and ROUTING_KEY not in json.dumps(result)


def test_nothing_secret_is_printed_at_full_verbosity(hook, tmp_path):
    play = tmp_path / "post.yml"
    play.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": [
        post(hook["base"] + "/chat/" + TOKEN), post("http://127.0.0.1:9/" + TOKEN, retries=0)]}]))
    rc, out = run_playbook(str(play), inventory="localhost,", json_output=False, env={"ANSIBLE_VERBOSITY": "4"})
    assert "delivered" in out
    assert TOKEN not in out and ROUTING_KEY not in out


def test_check_mode_sends_nothing(hook):
    result = run_tasks([post(hook["base"] + "/chat/" + TOKEN)], check=True)[0]
    assert result["changed"] and result["delivered"] is False and result["attempts"] == 0
    assert hook["received"] == []


@pytest.mark.parametrize("args,word", [({"url": "hooks.example.com/x"}, "url"), ({"timeout": 0}, "timeout"),
                                       ({"retries": -1}, "retries")])
def test_bad_input_names_the_parameter_and_sends_nothing(hook, args, word):
    task = post(hook["base"] + "/chat/" + TOKEN)
    task["clickview.runbook.webhook_post"].update(args)
    result = run_tasks([task])[0]
    assert result["failed"] and result["msg"].startswith(word) and hook["received"] == []
    assert "hooks.example.com/x" not in result["msg"]
