#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: k8s_rollout_status
short_description: Wait for a Deployment, StatefulSet or DaemonSet to roll out and say how it ended
version_added: 0.2.0
description:
  - Waits like C(kubectl rollout status) and returns how the rollout ended - C(complete) once the controller observed
    the object's generation and every replica is updated and available with no old one left, C(deadline) once a
    Deployment reports C(ProgressDeadlineExceeded), C(timeout) when O(wait_timeout) passed first, C(missing) when
    the object does not exist.
  - The rule is the one M(clickview.runbook.k8s_rollback) waits with, and the
    P(clickview.runbook.rollout_outcome#filter) filter judges one read with.
  - The whole wait is one task - one process polling the API every O(poll_interval) seconds - instead of an
    C(until) loop of M(kubernetes.core.k8s_info) tasks, and RV(rollout.progress) records what each poll saw.
  - When the rollout did not complete, RV(rollout.pods) lists the containers that are not ready (reason, restarts,
    last exit code) and RV(rollout.events) the workload's last events, as P(clickview.runbook.rollout_problems#filter) does.
  - A rollout that does not complete is a result, not a failure - the roles decide what it means (a failed
    verification, a rollback). The task fails on bad input, on credentials the API refuses (401/403), and when the
    kubernetes client is missing. Other failed reads are polled again until O(wait_timeout); RV(rollout.error) then
    holds the last one.
  - It only reads. It runs the same in check mode.
  - One call polls in one process. A wait longer than a few seconds is best an C(until) loop of calls with
    O(return_after) and O(wait_started) (see the examples), which costs one module run per O(return_after) seconds
    instead of one per poll and shows its progress as it goes.
author:
  - ClickView Platform Team (@clickview)
extends_documentation_fragment:
  - clickview.runbook.kubernetes
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads and waits as without check mode; it never writes.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: Nothing is changed, so there is nothing to show.
options:
  kind:
    description: The kind of the workload.
    type: str
    choices: [DaemonSet, Deployment, StatefulSet]
    default: Deployment
  name:
    description: The workload's name.
    type: str
    required: true
  namespace:
    description: The workload's namespace.
    type: str
    required: true
  wait_timeout:
    description:
      - Seconds to wait for the rollout to complete. V(0) reads once and reports the state found (C(progressing) is then
        C(timeout)).
      - The task runs at least this long when the rollout does not complete; give the task a longer Ansible C(timeout).
    type: int
    default: 300
  poll_interval:
    description: Seconds between two reads, at least V(0.5).
    type: float
    default: 2
  explain:
    description: When the rollout did not complete, also read the workload's pods and the namespace's events to say why.
    type: bool
    default: true
  wait_started:
    description:
      - When the wait began, in seconds since the epoch (C(now().timestamp())), for a wait made of several calls; the
        O(wait_timeout) counts from then. Left out, from this call.
    type: float
  return_after:
    description:
      - Return after this many seconds with RV(rollout.state=progressing) when the rollout is still going and
        O(wait_timeout) is not spent, so that an C(until) loop of this task prints one line of progress per call
        (the C(clickview.runbook.oncall) callback shows the last poll and the time waited of O(wait_timeout)).
      - V(0) waits the whole O(wait_timeout) in one call.
    type: int
    default: 0
notes:
  - A least-privilege role needs C(get) on the workload and, for O(explain), C(list) on C(pods) and C(events).
seealso:
  - module: clickview.runbook.k8s_rollback
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Wait for the new release to roll out
  clickview.runbook.k8s_rollout_status:
    name: clickview-backend
    namespace: clickview
    wait_timeout: 300
  register: rollout

- name: Say how it ended
  ansible.builtin.debug:
    msg: "{{ rollout.rollout.message }} after {{ rollout.rollout.seconds }} s"

- name: Wait up to 10 minutes, printing the progress every 10 seconds
  ansible.builtin.set_fact:
    wait_started: "{{ now(utc=true).timestamp() }}"

- name: Wait for the rollout of clickview-backend
  clickview.runbook.k8s_rollout_status:
    name: clickview-backend
    namespace: clickview
    wait_timeout: 600
    wait_started: "{{ wait_started }}"
    return_after: 10
  register: rollout
  until: rollout.rollout.state | default('') != 'progressing'
  retries: 61
  delay: 1

- name: The state now, without waiting
  clickview.runbook.k8s_rollout_status:
    kind: StatefulSet
    name: postgres
    namespace: clickview
    wait_timeout: 0
"""

RETURN = r"""
rollout:
  description: How the rollout ended.
  returned: success
  type: dict
  contains:
    name:
      description: The workload's name.
      type: str
      sample: clickview-backend
    state:
      description: C(complete), C(deadline), C(timeout) or C(missing); C(progressing) when O(return_after) ended the call first.
      type: str
      sample: complete
    message:
      description: What kubectl rollout status would say, with the replicas updated and available when not complete.
      type: str
      sample: deployment "clickview-backend" exceeded its progress deadline (1 of 3 updated, 2 available)
    replicas:
      description: The replicas wanted (for a DaemonSet, the pods it should schedule).
      type: int
      sample: 3
    updated:
      description: Replicas running the new template.
      type: int
      sample: 3
    ready:
      description: Ready replicas.
      type: int
      sample: 3
    available:
      description: Available replicas.
      type: int
      sample: 3
    images:
      description: The images of the pod template's containers.
      type: list
      elements: str
      sample: [registry.clickview.lab/clickview-backend:1.5.0]
    conditions:
      description: The workload's status conditions.
      type: list
      elements: dict
    seconds:
      description: Seconds waited.
      type: float
      sample: 12.4
    progress:
      description:
        - One sample per poll - C(elapsed) seconds and the C(replicas) wanted, C(updated), C(ready) and C(available) -
          the first and the last 59 when there were more.
      type: list
      elements: dict
      sample: [{elapsed: 0.0, replicas: 3, updated: 1, ready: 3, available: 3}]
    pods:
      description: When not complete (and O(explain)), C({pod, container, image, reason, restarts, last_exit_code}) of each container that is not ready.
      type: list
      elements: dict
    events:
      description: When not complete (and O(explain)), C({object, type, reason, message, count}) of the last relevant events.
      type: list
      elements: dict
    error:
      description: The answer of the last read, when it failed.
      type: str
      returned: when the last read failed
resource:
  description: The workload as last read; null when missing or never read.
  returned: success
  type: dict
progress:
  description: RV(rollout.progress) again, where the C(clickview.runbook.oncall) callback reads a poll's state.
  returned: success
  type: list
  elements: dict
waited:
  description: Seconds waited since O(wait_started) (RV(rollout.seconds)).
  returned: success
  type: float
  sample: 41.0
wait_timeout:
  description: O(wait_timeout), the time the wait may take in all.
  returned: success
  type: int
  sample: 300
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.clickview.runbook.plugins.module_utils.k8s_client import (
    connect,
    kubernetes_argument_spec,
    missing_requirements,
)
from ansible_collections.clickview.runbook.plugins.module_utils.k8s_rollout import (
    KINDS,
    K8sApiError,
    watch_rollout,
)


def argument_spec():
    spec = kubernetes_argument_spec()
    spec.update(
        kind=dict(type="str", choices=sorted(KINDS), default="Deployment"),
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        wait_timeout=dict(type="int", default=300),
        wait_started=dict(type="float"),
        return_after=dict(type="int", default=0),
        poll_interval=dict(type="float", default=2.0),
        explain=dict(type="bool", default=True),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    for option in ("name", "namespace"):
        if not p[option].strip():
            module.fail_json(msg="%s must not be empty" % option)
    if p["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds, got %d" % p["wait_timeout"])
    if p["return_after"] < 0:
        module.fail_json(msg="return_after must be 0 (wait the whole wait_timeout) or more seconds, got %d" % p["return_after"])
    if p["poll_interval"] < 0.5:
        module.fail_json(msg="poll_interval must be at least 0.5 seconds, got %s" % p["poll_interval"])
    missing = missing_requirements()
    if missing:
        module.fail_json(msg=missing_required_lib(missing[0]), exception=missing[1])
    waited = max(time.time() - p["wait_started"], 0.0) if p["wait_started"] is not None else 0.0
    try:
        outcome, obj = watch_rollout(connect(p), p["kind"], p["namespace"], p["name"], p["wait_timeout"],
                                     poll_interval=p["poll_interval"], explain=p["explain"], waited=waited,
                                     return_after=p["return_after"])
    except K8sApiError as e:
        if e.status in (401, 403):
            module.fail_json(msg="the Kubernetes API refused to let these credentials read %s/%s in namespace %s: %s"
                                 % (p["kind"].lower(), p["name"], p["namespace"], e))
        module.fail_json(msg="Kubernetes API request failed: %s" % e)
    module.exit_json(changed=False, rollout=outcome, resource=obj, progress=outcome["progress"], waited=outcome["seconds"],
                     wait_timeout=p["wait_timeout"], msg=outcome["message"])


if __name__ == "__main__":
    main()
