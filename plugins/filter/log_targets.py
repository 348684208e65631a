# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container logs worth reading for a set of pods: every container that ran, and the previous run of a restarted one."""

from __future__ import annotations

DOCUMENTATION = r"""
name: log_targets
author: ClickView Platform Team
version_added: 0.2.0
short_description: Which container logs of some pods to read (kubectl logs, and --previous after a restart)
description:
  - For each container status of each pod, the log of the current run when the container is running or has run
    (C(state.running), C(state.terminated) or C(lastState.terminated)), and the log of the previous run when the
    container restarted (C(restartCount) above 0) and runs again or waits to - the run that crashed or was OOMKilled.
  - A crash-looping container is read both ways, because it may start again between the read of its status and the
    read of its log, and then its current log is the new run, not the one that crashed;
    P(clickview.runbook.container_logs#filter) drops the previous log when it is the same as the current one.
  - A container still waiting for its first start has no log and is left out.
options:
  _input:
    description: Pods as M(kubernetes.core.k8s_info) returns them.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Read the logs
  kubernetes.core.k8s_log:
    namespace: clickview
    name: "{{ item.pod }}"
    container: "{{ item.container }}"
    previous: "{{ item.previous }}"
  loop: "{{ pods.resources | clickview.runbook.log_targets }}"
"""

RETURN = r"""
_value:
  description: One C({pod, container, previous}) per log to read, in pod and container order.
  type: list
  elements: dict
"""


def log_targets(pods):
    """[{pod, container, previous}] for the containers that ran, plus the previous run of restarted running ones."""
    out = []
    for pod in pods or []:
        name = (pod.get("metadata") or {}).get("name")
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            state = status.get("state") or {}
            last = status.get("lastState") or {}
            if "running" in state or "terminated" in state or "terminated" in last:
                out.append({"pod": name, "container": status.get("name"), "previous": False})
            if int(status.get("restartCount") or 0) > 0 and "terminated" not in state:
                out.append({"pod": name, "container": status.get("name"), "previous": True})
    return out


class FilterModule:
    """Log filters."""

    def filters(self):
        return {"log_targets": log_targets}
