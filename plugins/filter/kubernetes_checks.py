# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily health check's Kubernetes checks: deployments ready, nodes Ready, pods stuck, Warning events."""

from __future__ import annotations

import datetime

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.common import parse_time

DOCUMENTATION = r"""
name: kubernetes_checks
author: ClickView Platform Team
version_added: 0.1.0
short_description: Grade the health check's Kubernetes reads
description:
  - Takes the registered M(kubernetes.core.k8s_info) results of the health check and returns its Kubernetes checks,
    each C({check, target, status, figure, threshold, detail}).
  - C(kubernetes.pods_ready), one per name of O(deployments) - C(FAIL) when the Deployment is missing or none of its
    desired pods is ready, C(WARN) when some are not.
  - C(kubernetes.nodes_ready) - C(FAIL) when a node is not Ready (named), or the nodes could not be read (the
    reason, a missing permission included).
  - C(kubernetes.pods_stuck) - C(FAIL) for a container waiting in C(CrashLoopBackOff) (or not ready after a restart,
    read between two back-offs), C(ImagePullBackOff),
    C(ErrImagePull), C(CreateContainerConfigError) or C(CreateContainerError); C(WARN) for a pod C(Pending) longer than
    O(pending_grace) seconds. Each stuck pod is named with its reason and restarts.
  - C(kubernetes.warning_events) - the C(Warning) events of the namespace in the last O(event_window) seconds, counted
    by reason and object (for review, C(OK)); C(FAIL) only when they could not be read.
  - A read that failed (API unreachable, timed out) is C(FAIL) with its message, never C(OK).
options:
  _input:
    description: The registered result of the namespace's Deployments.
    type: dict
    required: true
  nodes:
    description: The registered result of the Nodes.
    type: dict
    default: {}
  pods:
    description: The registered result of the namespace's Pods.
    type: dict
    default: {}
  events:
    description: The registered result of the namespace's Events (all types; only C(Warning) ones are counted).
    type: dict
    default: {}
  deployments:
    description: The Deployments that must be ready (C(clickview_k8s_deployments)).
    type: list
    elements: str
    default: []
  namespace:
    description: The namespace, for the targets.
    type: str
    default: ''
  now:
    description: The current time, seconds since the epoch (tests pass their own).
    type: float
  event_window:
    description: Seconds of Warning events to count.
    type: int
    default: 3600
  pending_grace:
    description: Seconds a pod may be Pending before it counts as stuck.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Record the Kubernetes checks
  ansible.builtin.set_fact:
    on_call_checks: >-
      {{ on_call_checks + (on_call_k8s_deployments | clickview.runbook.kubernetes_checks(nodes=on_call_k8s_nodes,
           pods=on_call_k8s_pods, events=on_call_k8s_events, deployments=clickview_k8s_deployments, namespace='clickview')) }}
"""

RETURN = r"""
_value:
  description: C(kubernetes.pods_ready) per deployment, then C(kubernetes.nodes_ready), C(kubernetes.pods_stuck) and
    C(kubernetes.warning_events) (those three only when they were read or tried).
  type: list
  elements: dict
  contains:
    value:
      description: The figure's number - the pods ready of a deployment, the nodes Ready, the pods stuck, the Warning
        events in the window - or null when it could not be read.
      type: int
    unit:
      description: C(pods), C(count) or null.
      type: str
"""

# a container not ready that has exited this many times is crash-looping, even when read between two back-offs
# (kubectl shows it Running for the moment it is up again)
CRASH_RESTARTS = 1
STUCK_REASONS = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "CreateContainerError")


def _read(result):
    """(resources, error): the items of a k8s_info result, or why there are none."""
    result = result or {}
    if "resources" in result and not result.get("failed"):
        return result["resources"] or [], ""
    return None, result.get("msg") or ("not read" if result.get("skipped") or not result else "Kubernetes API unreachable")


def _epoch(text):
    found = parse_time(text)
    return found.timestamp() if found else None


def deployment_checks(result, names, namespace):
    found, error = _read(result)
    out = []
    for name in names or []:
        dep = next((d for d in found or [] if (d.get("metadata") or {}).get("name") == name), None)
        target = "%s/%s" % (namespace, name)
        if dep is None:
            out.append(check_row("kubernetes.pods_ready", target, "FAIL", "not found" if found is not None else "Kubernetes API unreachable",
                                 "all desired pods ready (none ready is FAIL)", error))
            continue
        desired = int((dep.get("spec") or {}).get("replicas", 1) or 0)
        ready = int((dep.get("status") or {}).get("readyReplicas") or 0)
        images = ", ".join(c.get("image", "?") for c in ((dep.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers", []))
        status = "FAIL" if desired > 0 and ready == 0 else ("WARN" if ready < desired else "OK")
        out.append(check_row("kubernetes.pods_ready", target, status, "%d of %d pods ready, image %s" % (ready, desired, images),
                             "all desired pods ready (none ready is FAIL)", value=ready, unit="pods"))
    return out


def nodes_row(result):
    found, error = _read(result)
    threshold = "every node Ready"
    if found is None:
        return check_row("kubernetes.nodes_ready", "nodes", "FAIL", "unknown: the nodes could not be read", threshold, error)
    not_ready = []
    for node in found:
        conditions = (node.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), {})
        if ready.get("status") != "True":
            not_ready.append("%s (%s)" % ((node.get("metadata") or {}).get("name"), ready.get("reason") or ready.get("status") or "no Ready condition"))
    ready = len(found) - len(not_ready)
    return check_row("kubernetes.nodes_ready", "nodes", "FAIL" if not_ready or not found else "OK",
                     "%d of %d nodes Ready" % (ready, len(found)), threshold,
                     ("not Ready: " + ", ".join(not_ready)) if not_ready else ("no node listed" if not found else ""),
                     value=ready, unit="count")


def pods_row(result, namespace, now, grace):
    found, error = _read(result)
    threshold = "no container in CrashLoopBackOff or an image pull error; none Pending over %d s" % grace
    if found is None:
        return check_row("kubernetes.pods_stuck", namespace, "FAIL", "unknown: the pods could not be read", threshold, error)
    failing, pending = [], []
    for pod in found:
        name = (pod.get("metadata") or {}).get("name")
        status = pod.get("status") or {}
        for cs in status.get("containerStatuses") or []:
            reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
            restarts = int(cs.get("restartCount") or 0)
            last = (cs.get("lastState") or {}).get("terminated") or {}
            if reason in STUCK_REASONS:
                failing.append("%s/%s %s (%d restarts)" % (name, cs.get("name"), reason, restarts))
            elif restarts >= CRASH_RESTARTS and last and not cs.get("ready"):
                # read between two back-offs: just restarted (running, not ready) after exiting again
                failing.append("%s/%s CrashLoopBackOff (restarting, %d restarts, last exit %s)"
                               % (name, cs.get("name"), restarts, last.get("reason") or last.get("exitCode")))
        created = _epoch((pod.get("metadata") or {}).get("creationTimestamp"))
        if status.get("phase") == "Pending" and created is not None and now - created > grace:
            pending.append("%s Pending for %d s" % (name, now - created))
    stuck = failing + pending
    pods = len(set(s.split("/")[0].split(" ")[0] for s in stuck))
    return check_row("kubernetes.pods_stuck", namespace, "FAIL" if failing else ("WARN" if pending else "OK"),
                     "%d of %d pods stuck" % (pods, len(found)), threshold, "; ".join(stuck), value=pods, unit="pods")


def events_row(result, namespace, now, window):
    found, error = _read(result)
    threshold = "for review (Warning events of the last %d min)" % (window // 60)
    if found is None:
        return check_row("kubernetes.warning_events", namespace, "FAIL", "unknown: the events could not be read", threshold, error)
    counts = {}
    for event in found:
        if event.get("type") != "Warning":
            continue
        when = _epoch(event.get("lastTimestamp") or event.get("eventTime") or (event.get("metadata") or {}).get("creationTimestamp"))
        if when is None or now - when > window:
            continue
        obj = event.get("involvedObject") or {}
        key = "%s %s/%s" % (event.get("reason"), (obj.get("kind") or "?").lower(), obj.get("name"))
        counts[key] = counts.get(key, 0) + int(event.get("count") or 1)
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    total = sum(counts.values())
    return check_row("kubernetes.warning_events", namespace, "OK",
                     "%d Warning events%s" % (total, (": " + ", ".join("%s x%d" % kv for kv in top[:5])) if top else ""),
                     threshold, value=total, unit="count")


def kubernetes_checks(deployments_result, nodes=None, pods=None, events=None, deployments=None, namespace="", now=None,
                      event_window=3600, pending_grace=300):
    """The health check's Kubernetes checks (see DOCUMENTATION)."""
    now = float(now) if now is not None else datetime.datetime.now(datetime.timezone.utc).timestamp()
    out = deployment_checks(deployments_result, deployments, namespace)
    if nodes is not None:
        out.append(nodes_row(nodes))
    if pods is not None:
        out.append(pods_row(pods, namespace, now, int(pending_grace)))
    if events is not None:
        out.append(events_row(events, namespace, now, int(event_window)))
    return out


class FilterModule:
    """Kubernetes health filters."""

    def filters(self):
        return {"kubernetes_checks": kubernetes_checks}
