# -*- coding: utf-8 -*-
# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The default stdout callback, with one line of progress per poll of a wait instead of FAILED - RETRYING."""

from __future__ import annotations

DOCUMENTATION = r"""
name: oncall
type: stdout
short_description: The default output, with one line of progress for every poll of a wait
version_added: 0.3.0
author: ClickView Platform Team (@clickview)
description:
  - Prints what P(ansible.builtin.default#callback) prints, line for line, with the same options, except for the
    retries of a task that waits with C(until), C(retries) and C(delay).
  - "For every poll that did not end the wait, the default callback prints C(FAILED - RETRYING: [host]: task) and
    the number of retries left, which tells nothing about what is awaited. This callback prints one line with the
    task's name, the state the poll saw, and the time waited out of the time the task may wait (C(retries) times
    C(delay)). For example, C(waiting: Rollout | Wait for deployment/clickview-backend - 3/5 pods updated, 2 ready)
    and then C(41 s of 300 s) in parentheses."
  - The state is read from the poll's result by the shapes the collection's roles poll. The replicas updated and
    ready of the first object of a C(kubernetes.core.k8s_info) result (Deployment, StatefulSet, ReplicaSet,
    DaemonSet; the addresses of Endpoints; the Ready condition of other objects), the first row of a
    C(community.postgresql.postgresql_query) result as key=value pairs, the HTTP status of an
    C(ansible.builtin.uri) result with its JSON C(status) field or a Prometheus query's first value, the last line
    of a command's stdout, or a C(progress) key of the result. Anything else shows as C(not yet).
  - A task that waits in chunks - each call waits a while and returns while the work goes on, as
    M(clickview.runbook.k8s_rollout_status) with C(return_after) does - says how long it waited and may wait in all
    with the C(waited) and C(wait_timeout) keys of its result; the line then shows those.
  - Only those fields are shown, each value cut short, values of keys that name a secret masked, and the line is
    cut to 120 characters. Nothing of a task with C(no_log) is shown (Ansible censors its result); its line has
    the task name and the time only.
  - The time waited is measured from when the task started on the host (for a loop, from the end of the previous
    item). The time allowed counts the pauses between polls (C(retries) times C(delay)) as Ansible does, not the
    polls themselves, so slow polls can take the time waited past it.
  - Unlike the default callback, the poll's result is not shown with C(-vvv) either, only the line; the result of
    the task's last poll is shown as the task's result.
extends_documentation_fragment:
  - ansible.builtin.default_callback
  - ansible.builtin.result_format_callback
requirements:
  - set as stdout in configuration
notes:
  - "Under AWX / Automation Platform (ansible-runner), set the environment variable
    E(ANSIBLE_STDOUT_CALLBACK=clickview.runbook.oncall) for the job: ansible-runner wraps the callback that
    variable names, and ignores C(stdout_callback) in C(ansible.cfg)."
seealso:
  - name: The default callback
    description: The output this callback keeps.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/default_callback.html
"""

EXAMPLES = r"""
# In ansible.cfg
#   [defaults]
#   stdout_callback = clickview.runbook.oncall
# or for one run, a CI job or an AWX job's environment:
#   ANSIBLE_STDOUT_CALLBACK=clickview.runbook.oncall ansible-playbook playbooks/deploy_verify.yml
#
# A wait such as
- name: "Rollout | Wait for deployment/clickview-backend"
  kubernetes.core.k8s_info:
    kind: Deployment
    name: clickview-backend
    namespace: clickview
  register: rollout
  until: rollout.resources[0].status.updatedReplicas | default(0) == 5
  retries: 60
  delay: 5
# prints, for every poll, instead of "FAILED - RETRYING: [localhost]: ... (59 retries left).":
#     waiting: Rollout | Wait for deployment/clickview-backend - 3/5 pods updated, 2 ready (41 s of 300 s)
"""

import time
from collections.abc import Mapping

from ansible import constants as C
from ansible.plugins.callback.default import CallbackModule as DefaultCallback

from ansible_collections.clickview.runbook.plugins.module_utils.progress import is_censored, poll_state


def _first(obj, *names):
    """The first of the attributes that exists (ansible-core 2.19 names them without the underscore)."""
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def result_data(result):
    data = _first(result, "result", "_result")
    return data if isinstance(data, Mapping) else {}


def result_fields(result):
    fields = _first(result, "task_fields", "_task_fields")
    return fields if isinstance(fields, Mapping) else {}


def _number(value, default=0):
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def seconds(value):
    """Seconds as on-call reads them: whole seconds, or one decimal for a budget such as 3 x 0.5 s."""
    value = max(value, 0)
    if value >= 10 or abs(value - round(value)) < 0.05:
        return "%d" % round(value)
    return "%.1f" % value


def retry_line(task_name, state, elapsed, budget):
    """The line for one poll: task, state (None: no_log, only the time), time waited of the time allowed."""
    if state is None:
        return "  waiting: %s (%s s of %s s)" % (task_name, seconds(elapsed), seconds(budget))
    return "  waiting: %s - %s (%s s of %s s)" % (task_name, state, seconds(elapsed), seconds(budget))


class CallbackModule(DefaultCallback):
    """ansible.builtin.default, except that each retry of an until loop prints its progress."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "clickview.runbook.oncall"

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._clock = time.monotonic
        self._waits = {}   # (host, task uuid) -> [start, last attempt seen]

    @staticmethod
    def _key(host, task):
        return (host.get_name() if host is not None else None, getattr(task, "_uuid", None))

    def _result_key(self, result):
        return self._key(_first(result, "host", "_host"), _first(result, "task", "_task"))

    def v2_playbook_on_play_start(self, play):
        self._waits = {}
        super(CallbackModule, self).v2_playbook_on_play_start(play)

    def v2_runner_on_start(self, host, task):
        self._waits[self._key(host, task)] = [self._clock(), 0]
        super(CallbackModule, self).v2_runner_on_start(host, task)

    def _item_done(self, result):
        # the next item of a loop waits from now
        self._waits[self._result_key(result)] = [self._clock(), 0]

    def v2_runner_item_on_ok(self, result):
        self._item_done(result)
        super(CallbackModule, self).v2_runner_item_on_ok(result)

    def v2_runner_item_on_failed(self, result):
        self._item_done(result)
        super(CallbackModule, self).v2_runner_item_on_failed(result)

    def v2_runner_item_on_skipped(self, result):
        self._item_done(result)
        super(CallbackModule, self).v2_runner_item_on_skipped(result)

    def v2_runner_retry(self, result):
        data = result_data(result)
        fields = result_fields(result)
        task = _first(result, "task", "_task")
        task_name = result.task_name or task
        attempts = int(_number(data.get("attempts"), 1))
        # the result's retries is the task's retries + 1 (the first run); Ansible waits delay seconds after each
        # of the task's retries, and a negative delay is 1 s
        delay = _number(fields.get("delay", getattr(task, "delay", 5)), 5)
        delay = 1 if delay < 0 else delay
        budget = max(int(_number(data.get("retries"), 1)) - 1, 0) * delay

        now = self._clock()
        key = self._result_key(result)
        wait = self._waits.get(key)
        if wait is None or attempts <= wait[1]:   # not seen starting, or a new wait of the same task
            wait = [now - max(attempts - 1, 0) * delay, 0]
        wait[1] = attempts
        self._waits[key] = wait

        no_log = fields.get("no_log") is True or getattr(task, "no_log", None) is True
        censored = no_log or is_censored(data)
        state = None if censored else poll_state(data, action=fields.get("action"))
        elapsed = round(now - wait[0])
        if not censored and _number(data.get("wait_timeout"), None) is not None and _number(data.get("waited"), None) is not None:
            # a module that waits in chunks (k8s_rollout_status with return_after) says how long, of how long
            elapsed, budget = _number(data["waited"]), _number(data["wait_timeout"])
        self._display.display(retry_line(task_name, state, elapsed, budget), color=C.COLOR_DEBUG)
