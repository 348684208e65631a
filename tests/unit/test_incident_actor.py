# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who acted (issue 17): every incident timeline event written through clickview.runbook.incident and
incident_event carries the actor the action plugin derives on the controller - the AWX user and job from
the job metadata AWX adds to the extra variables, else the OS user and host name - and the run's
change_reference. Runs ansible-playbook on localhost with a temporary folder; no lab service."""

import getpass
import json
import os
import socket
import tempfile

import yaml

from conftest import run_playbook

from ansible_collections.clickview.runbook.plugins.module_utils import pir


def run_play(tasks, extra_vars=None):
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}]
    with tempfile.NamedTemporaryFile("w", prefix="clickview-test-", suffix=".yml", delete=False) as handle:
        yaml.safe_dump(play, handle)
        path = handle.name
    try:
        rc, out = run_playbook(path, inventory="localhost,", extra_vars=extra_vars)
    finally:
        os.unlink(path)
    return rc, [task["hosts"]["localhost"] for task in out["plays"][0]["tasks"]]


def tasks(folder, incident_id):
    common = {"incident_dir": str(folder), "incident_id": incident_id}
    return [
        {"name": "declare", "clickview.runbook.incident": dict(common, action="declare", title="t", severity="P3")},
        {"name": "update", "clickview.runbook.incident": dict(common, action="update", status="mitigating")},
        {"name": "event", "clickview.runbook.incident_event": dict(common, event="rolled back")},
        {"name": "own actor", "clickview.runbook.incident_event": dict(common, event="by hand",
                                                                       actor={"user": "pager-bot", "via": "webhook"})},
    ]


def timeline(folder, incident_id):
    return json.loads((folder / (incident_id + ".json")).read_text())["timeline"]


def test_events_written_under_awx_carry_the_awx_user_and_job(tmp_path):
    awx = {"awx_user_name": "alice", "awx_job_id": 4711, "awx_job_template_name": "Alert | High error rate",
           "tower_user_name": "alice", "tower_job_id": 4711, "change_reference": "CHG-1234"}
    rc, results = run_play(tasks(tmp_path, "INC-AWX"), extra_vars=awx)
    assert rc == 0, results
    events = timeline(tmp_path, "INC-AWX")
    assert len(events) == 4
    expected = {"user": "alice", "via": "awx", "job": 4711, "host": socket.gethostname(),
                "job_template": "Alert | High error rate", "change_reference": "CHG-1234"}
    assert [e["actor"] for e in events[:3]] == [expected] * 3
    assert results[2]["event"]["actor"] == expected  # the module's result shows it too
    assert events[3]["actor"] == {"user": "pager-bot", "via": "webhook"}, "an actor the task gives wins"


def test_events_written_from_the_command_line_carry_the_os_user_and_host(tmp_path):
    rc, results = run_play(tasks(tmp_path, "INC-CLI")[:3], extra_vars={"tower_job_id": 7, "tower_user_name": "carol"})
    assert rc == 0, results
    assert [e["actor"]["user"] for e in timeline(tmp_path, "INC-CLI")] == ["carol"] * 3, "legacy tower_* names"
    rc, results = run_play(tasks(tmp_path, "INC-OS")[:3])
    assert rc == 0, results
    assert [e["actor"] for e in timeline(tmp_path, "INC-OS")] == [
        {"user": getpass.getuser(), "via": "cli", "job": None, "host": socket.gethostname()}] * 3


def test_the_pir_shows_who_acted():
    record = {"id": "INC-1", "title": "t", "severity": "P2", "status": "resolved", "declared_at": "2025-01-31T14:00:00Z",
              "resolved_at": "2025-01-31T15:00:00Z", "action_items": [],
              "timeline": [{"at": "2025-01-31T14:00:00Z", "kind": "status", "source": "s", "event": "Incident declared",
                            "details": {}, "actor": {"user": "alice", "via": "awx", "job": 42, "host": "awx-ee-1"}},
                           {"at": "2025-01-31T14:10:00Z", "kind": "action", "source": "s", "event": "old event",
                            "details": {}}]}
    doc = pir.document(record)
    assert doc["timeline"][0]["by"] == "alice (AWX job 42 on awx-ee-1)"
    assert doc["timeline"][0]["actor"]["job"] == 42
    assert doc["timeline"][1]["by"] == "" and doc["timeline"][1]["actor"] == {}
