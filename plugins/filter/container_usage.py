# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per container of some pods: CPU and memory used (kubectl top) beside requests and limits, and its state."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
name: container_usage
author: ClickView Platform Team
version_added: 0.2.0
short_description: CPU and memory of each container against its requests and limits, with its state and last run
description:
  - One row per container of each pod, as C(kubectl top pods --containers) and C(kubectl describe pod) show them.
  - CPU in millicores (C(250m), C(1), C(120000000n)), memory in bytes (C(256Mi), C(1G), C(134217728)).
  - A container without metrics (the metrics API did not report it) has V(None) usage; a container without a limit or
    request has V(None) there.
options:
  _input:
    description: Pods as M(kubernetes.core.k8s_info) returns them.
    type: list
    elements: dict
    required: true
  metrics:
    description: C(PodMetrics) of C(metrics.k8s.io/v1beta1) for the same pods.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Usage against limits
  ansible.builtin.set_fact:
    usage: "{{ pods.resources | clickview.runbook.container_usage(pod_metrics.resources) }}"
"""

RETURN = r"""
_value:
  description: One row per container.
  type: list
  elements: dict
  contains:
    pod: {description: Pod name., type: str}
    container: {description: Container name., type: str}
    image: {description: Image of the container., type: str}
    has_metrics: {description: Whether the metrics API reported the container., type: bool}
    cpu_m: {description: CPU used in millicores (one decimal)., type: float}
    cpu_limit_m: {description: CPU limit in millicores., type: float}
    cpu_request_m: {description: CPU request in millicores., type: float}
    mem_b: {description: Memory used in bytes., type: int}
    mem_limit_b: {description: Memory limit in bytes., type: int}
    mem_request_b: {description: Memory request in bytes., type: int}
    limits: {description: The limits as written., type: dict}
    requests: {description: The requests as written., type: dict}
    ready: {description: Whether the container is ready., type: bool}
    restarts: {description: Its restart count., type: int}
    state: {description: C(running), C(waiting), C(terminated) or C(unknown)., type: str}
    waiting_reason: {description: Why it waits (C(CrashLoopBackOff) ...), or empty., type: str}
    last_reason: {description: Why its last run ended (C(OOMKilled) ...), or empty., type: str}
    last_exit_code: {description: Exit code of its last run, or V(None)., type: int}
    last_finished: {description: When its last run ended, or empty., type: str}
    last_run:
      description: >-
        How the last run ended, e.g. C(pod/container: OOMKilled (exit 137) at 2025-01-31T12:00:00Z, 3 restarts, now running);
        empty without an ended run.
      type: str
"""

_MEMORY_UNITS = {"Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4, "Pi": 1024 ** 5, "Ei": 1024 ** 6,
                 "k": 1000, "K": 1000, "M": 1000 ** 2, "G": 1000 ** 3, "T": 1000 ** 4, "P": 1000 ** 5, "E": 1000 ** 6}
_MEMORY_RE = re.compile(r"^([0-9.]+)([A-Za-z]*)$")


def cpu_millicores(quantity):
    """A Kubernetes CPU quantity -> millicores."""
    text = str(quantity)
    if text.endswith("n"):
        return float(text[:-1]) / 1000000
    if text.endswith("u"):
        return float(text[:-1]) / 1000
    if text.endswith("m"):
        return float(text[:-1])
    return float(text) * 1000


def memory_bytes(quantity):
    """A Kubernetes memory quantity -> bytes (0 when unreadable)."""
    match = _MEMORY_RE.match(str(quantity))
    if not match:
        return 0
    return int(float(match.group(1)) * _MEMORY_UNITS.get(match.group(2), 1))


def container_usage(pods, metrics=None):
    """One row per container of the pods (see RETURN)."""
    by_pod = {}
    for item in metrics or []:
        by_pod.setdefault((item.get("metadata") or {}).get("name"), item)
    rows = []
    for pod in pods or []:
        name = pod["metadata"]["name"]
        pod_metrics = by_pod.get(name) or {}
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        for container in (pod.get("spec") or {}).get("containers") or []:
            used = next((c.get("usage") or {} for c in pod_metrics.get("containers") or [] if c.get("name") == container["name"]), None)
            status = next((s for s in statuses if s.get("name") == container["name"]), {})
            resources = container.get("resources") or {}
            limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
            state = status.get("state") or {}
            ended = (status.get("lastState") or {}).get("terminated") or {}
            row = {
                "pod": name, "container": container["name"], "image": container.get("image"), "has_metrics": used is not None,
                "cpu_m": round(cpu_millicores(used["cpu"]), 1) if used is not None else None,
                "cpu_limit_m": cpu_millicores(limits["cpu"]) if "cpu" in limits else None,
                "cpu_request_m": cpu_millicores(requests["cpu"]) if "cpu" in requests else None,
                "mem_b": memory_bytes(used["memory"]) if used is not None else None,
                "mem_limit_b": memory_bytes(limits["memory"]) if "memory" in limits else None,
                "mem_request_b": memory_bytes(requests["memory"]) if "memory" in requests else None,
                "limits": limits, "requests": requests,
                "ready": bool(status.get("ready", False)), "restarts": int(status.get("restartCount") or 0),
                "state": next(iter(state), "unknown"),
                "waiting_reason": (state.get("waiting") or {}).get("reason", ""),
                "last_reason": ended.get("reason", ""), "last_exit_code": ended.get("exitCode"),
                "last_finished": ended.get("finishedAt", ""),
            }
            row["last_run"] = "%s/%s: %s (exit %s) at %s, %s restarts, now %s" % (
                name, container["name"], row["last_reason"], row["last_exit_code"], row["last_finished"] or "?",
                row["restarts"], row["waiting_reason"] or row["state"]) if ended else ""
            rows.append(row)
    return rows


class FilterModule:
    """Kubernetes usage filters."""

    def filters(self):
        return {"container_usage": container_usage}
