# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress on long work (issue 22): the state one poll of a wait saw (plugins/module_utils/progress.py) and the
clickview.runbook.oncall stdout callback that prints it once per poll instead of "FAILED - RETRYING", with the
rest of the output the default callback's, byte for byte (a local playbook on localhost, no lab service)."""

import configparser
import os
import re

import pytest
import yaml

from conftest import ROOT, run_playbook

from ansible_collections.clickview.runbook.plugins.callback import oncall
from ansible_collections.clickview.runbook.plugins.module_utils.progress import NOT_YET, clip, poll_state

CENSORED = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"


def deployment(kind="Deployment", replicas=5, updated=3, ready=2, generation=4, observed=4, **status):
    status = dict(status, updatedReplicas=updated, readyReplicas=ready, replicas=replicas, observedGeneration=observed)
    return {"kind": kind, "metadata": {"name": "clickview-backend", "generation": generation},
            "spec": {"replicas": replicas}, "status": status}


# ---- the state of a poll, per shape ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_k8s_info_of_a_deployment_or_statefulset(kind):
    assert poll_state({"resources": [deployment(kind)], "api_found": True}) == "3/5 pods updated, 2 ready"


def test_k8s_info_desired_replicas_are_the_spec_s_and_an_unobserved_generation_is_said():
    # during a rollout status.replicas counts old and new pods; the wanted number is spec.replicas
    obj = deployment(replicas=3, updated=1, ready=3, generation=8, observed=7)
    obj["status"]["replicas"] = 4
    assert poll_state({"resources": [obj]}) == "1/3 pods updated, 3 ready, generation 8 not observed yet"


def test_k8s_info_of_other_objects():
    ds = {"kind": "DaemonSet", "status": {"desiredNumberScheduled": 4, "updatedNumberScheduled": 2, "numberReady": 1}}
    assert poll_state({"resources": [ds]}) == "2/4 pods updated, 1 ready"
    eps = {"kind": "Endpoints", "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                                             "notReadyAddresses": [{"ip": "10.0.0.3"}]}]}
    assert poll_state({"resources": [eps]}) == "2 ready addresses, 1 not ready"
    cert = {"kind": "Certificate", "metadata": {"name": "clickview-tls"},
            "status": {"revision": 3, "conditions": [{"type": "Ready", "status": "False", "reason": "Issuing",
                                                      "message": "a long message that is not shown"}]}}
    assert poll_state({"resources": [cert]}) == "Ready=False (Issuing), revision 3"
    assert poll_state({"resources": [{"kind": "ConfigMap", "metadata": {"name": "cfg"}}]}) == "configmap/cfg found"
    assert poll_state({"resources": []}) == "not found"
    assert poll_state({"resources": [deployment(), deployment()]}) == "3/5 pods updated, 2 ready (+1 more)"


def test_postgresql_query_first_row_as_pairs():
    result = {"query": "SELECT ...", "query_result": [{"state": "streaming", "lag_bytes": 1024, "sync": None},
                                                      {"state": "catchup", "lag_bytes": 9}], "rowcount": 2}
    assert poll_state(result) == "state=streaming, lag_bytes=1024, sync=null (2 rows)"
    assert poll_state({"query_result": [{"senders": 1}]}) == "senders=1"
    assert poll_state({"query_result": []}) == "no rows"
    # the query itself is never shown; values of keys that name a secret are masked
    shown = poll_state({"query": "ALTER ROLE x PASSWORD 'hunter2'",
                        "query_result": [{"rolname": "app", "rolpassword": "SCRAM-SHA-256$4096:abc", "api_key": "k"}]})
    assert shown == "rolname=app, rolpassword=***, api_key=***"


def test_uri_status_and_short_json_fields():
    assert poll_state({"status": 200, "url": "http://x", "json": {"status": "ok", "detail": "x" * 500}}) == \
        "HTTP 200, status=ok"
    prometheus = {"status": 200, "url": "http://prom/api/v1/query?token=s3cret", "elapsed": 0,
                  "json": {"status": "success", "data": {"resultType": "vector",
                                                         "result": [{"metric": {}, "value": [1.7e9, "0.0421"]}]}}}
    assert poll_state(prometheus) == "HTTP 200, status=success, value=0.0421"
    prometheus["json"]["data"]["result"] = []
    assert poll_state(prometheus) == "HTTP 200, status=success, no series"
    assert poll_state({"status": 200, "url": "http://am", "json": [{"labels": {}}, {"labels": {}}]}) == "HTTP 200, 2 items"
    assert poll_state({"status": -1, "url": "http://down", "msg": "Status code was -1: refused"}) == "no response"
    assert poll_state({"status": 503, "redirected": False}, action="ansible.builtin.uri") == "HTTP 503"
    assert "s3cret" not in poll_state(prometheus)


def test_command_last_line_of_stdout():
    assert poll_state({"rc": 0, "stdout": "step 1\nstep 2\ncounter=2\n\n", "stderr": "", "cmd": ["x"]}) == "counter=2"
    assert poll_state({"rc": 0, "stdout": "t", "cmd": "psql"}) == "t"
    assert poll_state({"rc": 2, "stdout": "", "stderr": "could not connect: password=hunter2"}) == "rc=2, no output"
    assert poll_state({"rc": 1, "stdout": "partial"}) == "rc=1, partial"


def test_a_background_job_still_running_says_so_and_its_end_shows_the_command():
    running = {"ansible_job_id": "j1.2", "started": 1, "finished": 0, "results_file": "/root/.ansible_async/j1.2"}
    assert poll_state(running, action="ansible.builtin.async_status") == "running in the background"
    done = {"ansible_job_id": "j1.2", "started": 1, "finished": 1, "rc": 0, "stdout": "backup end\n"}
    assert poll_state(done) == "backup end"
    assert poll_state(dict(running, _ansible_no_log=True)) is None


def test_an_explicit_progress_key_wins():
    assert poll_state({"progress": "restore 41 % (12.1 GB of 29.5 GB)", "rc": 0, "stdout": "x"}) == \
        "restore 41 % (12.1 GB of 29.5 GB)"
    samples = [{"elapsed": 0.0, "updated": 1, "ready": 0}, {"elapsed": 2.0, "updated": 3, "ready": 2}]
    assert poll_state({"progress": samples}) == "elapsed=2.0, updated=3, ready=2"


def test_nothing_known_is_not_yet():
    assert poll_state({}) == NOT_YET
    assert poll_state({"changed": False, "msg": "secret message"}) == NOT_YET
    assert poll_state({"failed": True, "msg": "token abc rejected"}) == "not yet (the poll failed)"
    assert poll_state(None) == NOT_YET
    assert poll_state("text") == NOT_YET


def test_a_censored_result_shows_nothing():
    censored = {"attempts": 2, "changed": False, "retries": 5, "censored": CENSORED}
    assert poll_state(censored) is None
    assert poll_state({"_ansible_no_log": True, "rc": 0, "stdout": "hunter2"}) is None


def test_huge_values_are_cut():
    line = poll_state({"rc": 0, "stdout": "x" * 10000})
    assert len(line) == 120 and line.endswith("...")
    row = {"col%d" % i: "v" * 1000 for i in range(50)}
    line = poll_state({"query_result": [row]})
    assert len(line) <= 120 and line.startswith("col0=" + "v" * 37 + "..., col1=")
    assert len(poll_state({"progress": "p" * 5000}, limit=40)) == 40
    # one line, whatever the value holds
    assert clip("a\nb\tc\x1b[31m") == "a b c [31m"


# ---- the callback's retry line, with a fake display -----------------------------------------------

class FakeDisplay(object):
    verbosity = 0

    def __init__(self):
        self.lines = []

    def display(self, msg, color=None, stderr=False, screen_only=False, log_only=False, newline=True):
        self.lines.append(msg)


class FakeHost(object):
    def get_name(self):
        return "localhost"


class FakeTask(object):
    _uuid = "task-1"
    no_log = False
    delay = 5
    action = "kubernetes.core.k8s_info"

    def get_name(self):
        return "Rollout | Wait for deployment/clickview-backend"


class FakeResult(object):
    """What a callback gets for a retry (ansible-core 2.19 names; 2.16-2.18 use _result, _task, _host)."""

    def __init__(self, data, fields=None, task=None):
        self.result, self.host, self.task = data, FakeHost(), task or FakeTask()
        self.task_fields = dict({"name": self.task.get_name(), "delay": 5, "action": self.task.action}, **(fields or {}))
        self.task_name = self.task_fields["name"]


class OldFakeResult(object):
    """The same on ansible-core 2.16-2.18."""

    def __init__(self, data, fields=None):
        new = FakeResult(data, fields)
        self._result, self._host, self._task, self._task_fields = new.result, new.host, new.task, new.task_fields
        self.task_name = new.task_name


@pytest.fixture
def callback():
    cb = oncall.CallbackModule()
    cb._display = FakeDisplay()
    cb._plugin_options = {"show_per_host_start": False}   # what v2_runner_on_start reads (its default)
    now = [1000.0]
    cb._clock = lambda: now[0]
    cb.now = now
    return cb


@pytest.mark.parametrize("result_class", [FakeResult, OldFakeResult], ids=["2.19", "2.16"])
def test_one_line_per_poll_with_state_and_time(callback, result_class):
    callback.v2_runner_on_start(FakeHost(), FakeTask())
    for attempt, (updated, ready) in enumerate([(1, 0), (3, 2), (5, 4)], start=1):
        callback.now[0] += 5.2 if attempt > 1 else 0.4
        data = {"attempts": attempt, "retries": 61, "changed": False,
                "resources": [deployment(updated=updated, ready=ready)]}
        callback.v2_runner_retry(result_class(data))
    assert callback._display.lines == [
        "  waiting: Rollout | Wait for deployment/clickview-backend - 1/5 pods updated, 0 ready (0 s of 300 s)",
        "  waiting: Rollout | Wait for deployment/clickview-backend - 3/5 pods updated, 2 ready (6 s of 300 s)",
        "  waiting: Rollout | Wait for deployment/clickview-backend - 5/5 pods updated, 4 ready (11 s of 300 s)"]


def test_a_no_log_task_shows_its_name_and_time_only(callback):
    data = {"attempts": 1, "retries": 4, "changed": False, "censored": CENSORED}
    callback.v2_runner_retry(FakeResult(data, {"name": "Watch the error ratio", "no_log": True, "delay": 3}))
    callback.now[0] += 3
    # a task marked no_log shows nothing of its result even if it reached the callback uncensored
    leaky = {"attempts": 2, "retries": 4, "rc": 0, "stdout": "hunter2"}
    callback.v2_runner_retry(FakeResult(leaky, {"name": "Watch the error ratio", "no_log": True, "delay": 3}))
    assert callback._display.lines == ["  waiting: Watch the error ratio (0 s of 9 s)",
                                       "  waiting: Watch the error ratio (3 s of 9 s)"]


def test_without_a_start_the_time_counts_from_the_first_poll_and_a_new_wait_starts_again(callback):
    task = {"name": "Restore | Wait for recovery to end", "delay": 2}
    for attempt in (1, 2, 1):      # a loop's next item waits again from its own first poll
        callback.v2_runner_retry(FakeResult({"attempts": attempt, "retries": 31, "rc": 0, "stdout": "t"}, task))
        callback.now[0] += 2
    assert callback._display.lines == ["  waiting: Restore | Wait for recovery to end - t (0 s of 60 s)",
                                       "  waiting: Restore | Wait for recovery to end - t (2 s of 60 s)",
                                       "  waiting: Restore | Wait for recovery to end - t (0 s of 60 s)"]


def test_a_wait_in_chunks_shows_its_own_time_of_its_budget(callback):
    """k8s_rollout_status with return_after: each call waits 10 s, the loop's pause is 1 s; the line shows the
    module's waited of wait_timeout and the last poll as pods."""
    task = {"name": "Rollout | Wait for deployment/web", "delay": 1, "action": "clickview.runbook.k8s_rollout_status"}
    sample = {"elapsed": 10.2, "replicas": 3, "updated": 1, "ready": 2, "available": 2}
    callback.v2_runner_retry(FakeResult({"attempts": 1, "retries": 31, "progress": [sample], "waited": 10.2,
                                         "wait_timeout": 300, "rollout": {"state": "progressing"}}, task))
    callback.v2_runner_retry(FakeResult({"attempts": 1, "retries": 31, "progress": [sample], "waited": 10.2,
                                         "wait_timeout": 300}, dict(task, no_log=True)))
    assert callback._display.lines == [
        "  waiting: Rollout | Wait for deployment/web - 1/3 pods updated, 2 ready (10 s of 300 s)",
        "  waiting: Rollout | Wait for deployment/web (0 s of 30 s)"]


def test_seconds_and_line_format():
    assert oncall.seconds(41.4) == "41" and oncall.seconds(0.5 * 3) == "1.5" and oncall.seconds(-2) == "0"
    assert oncall.retry_line("T", "s", 1, 2) == "  waiting: T - s (1 s of 2 s)"
    assert oncall.retry_line("T", None, 1, 2) == "  waiting: T (1 s of 2 s)"


# ---- the callback in a real run ---------------------------------------------------------------------

def poll_play(workdir):
    counter = os.path.join(workdir, "counter")
    bump = ("n=$(cat %s); echo $((n+1)) > %s; echo polled; echo counter=$((n+1))" % (counter, counter))
    return [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": [
        {"name": "Start the counter", "ansible.builtin.copy": {"dest": counter, "content": "0"}},
        {"name": "Wait for the counter to reach 3", "ansible.builtin.shell": bump, "register": "polled",
         "until": "polled.stdout_lines[-1] == 'counter=3'", "retries": 5, "delay": 1, "changed_when": False},
        {"name": "Wait with a secret", "ansible.builtin.command": "echo {{ secret_value }}", "register": "secret",
         "vars": {"secret_value": "hunter2-{{ 'sentinel' }}"},
         "until": False, "retries": 2, "delay": 0, "no_log": True, "ignore_errors": True},
        {"name": "Wait on a job that reports its progress", "progress_probe": {}, "until": False, "retries": 1,
         "delay": 0, "ignore_errors": True},
        {"name": "Done", "ansible.builtin.debug": {"msg": "done"}},
    ]}]


# a module whose result has a progress key, as a long job's status module would return
PROBE = """#!/usr/bin/python
import json
print(json.dumps({"changed": False, "progress": "backup 60 % done"}))
"""


def run_poll_play(tmp_path, callback_name):
    path = tmp_path / "poll.yml"
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(poll_play(str(tmp_path)), handle)
    (tmp_path / "library").mkdir(exist_ok=True)
    (tmp_path / "library" / "progress_probe.py").write_text(PROBE, encoding="utf-8")
    env = {"ANSIBLE_LIBRARY": str(tmp_path / "library")}
    if callback_name:
        env["ANSIBLE_STDOUT_CALLBACK"] = callback_name
    rc, out = run_playbook(str(path), inventory="localhost,", json_output=False, env=env)
    return rc, out


def test_the_project_uses_the_oncall_callback():
    config = configparser.ConfigParser()
    config.read(ROOT / "ansible.cfg")
    assert config["defaults"]["stdout_callback"] == "clickview.runbook.oncall"


def test_a_real_run_prints_one_waiting_line_per_poll_and_otherwise_the_default_output(tmp_path):
    rc, out = run_poll_play(tmp_path, None)    # the project's ansible.cfg
    assert rc == 0, out
    waiting = [line for line in out.splitlines() if line.startswith("  waiting: ")]
    assert re.fullmatch(r"  waiting: Wait for the counter to reach 3 - counter=1 \(\d+ s of 5 s\)", waiting[0]), waiting
    assert re.fullmatch(r"  waiting: Wait for the counter to reach 3 - counter=2 \(\d+ s of 5 s\)", waiting[1]), waiting
    assert re.fullmatch(r"  waiting: Wait with a secret \(\d+ s of 0 s\)", waiting[2]), waiting
    assert re.fullmatch(r"  waiting: Wait with a secret \(\d+ s of 0 s\)", waiting[3]), waiting
    assert re.fullmatch(r"  waiting: Wait on a job that reports its progress - backup 60 % done \(\d+ s of 0 s\)",
                        waiting[4]), waiting
    assert len(waiting) == 5, waiting
    assert "FAILED - RETRYING" not in out
    assert "hunter2-sentinel" not in out

    # everything else is the default callback's output, byte for byte (the recap included)
    rc_default, default = run_poll_play(tmp_path, "ansible.builtin.default")
    assert rc_default == rc
    retrying = [line for line in default.splitlines() if line.startswith("FAILED - RETRYING: ")]
    assert len(retrying) == len(waiting), default
    assert [line for line in out.splitlines() if not line.startswith("  waiting: ")] == \
        [line for line in default.splitlines() if not line.startswith("FAILED - RETRYING: ")]
    recap = out.split("PLAY RECAP")[-1]
    assert re.search(r"localhost\s+: ok=5\s+changed=2\s+unreachable=0\s+failed=0\s+skipped=0\s+rescued=0\s+ignored=2",
                     recap), recap


def test_the_callback_renders_in_ansible_doc():
    import subprocess
    from conftest import VENV_BIN, ansible_env
    proc = subprocess.run([str(VENV_BIN / "ansible-doc"), "-t", "callback", "clickview.runbook.oncall"],
                          cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    for text in ("clickview.runbook.oncall", "display_skipped_hosts", "result_format", "waiting:"):
        assert text in proc.stdout, (text, proc.stdout[:2000])
