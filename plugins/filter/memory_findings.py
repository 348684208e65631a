# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The High Memory Usage alert's findings, from the backend's pods, their usage, their logs and the pod template."""

from __future__ import annotations

import re

from ansible_collections.clickview.runbook.plugins.filter.container_resources import container_resources
from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.filter.log_groups import log_groups
from ansible_collections.clickview.runbook.plugins.filter.usage_rows import usage_rows
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import threshold_pair

DOCUMENTATION = r"""
name: memory_findings
author: ClickView Platform Team
version_added: 0.1.0
short_description: Grade the High Memory Usage alert's investigation of the backend
description:
  - Takes what the alert read of the backend Deployment (C(alert_response_k8s) - C(error), C(deployment), C(pods),
    C(metrics_error)), the containers' usage (C(alert_response_k8s_usage)) and their log lines, and returns the alert's
    findings, each C({check, target, status, figure, threshold, evidence, recommendation, value, unit}).
  - When the Deployment could not be read (C(error) not empty) the one finding is C(kubernetes.api), C(FAIL).
  - C(k8s.container_memory) grades the highest memory use against its container's limit (O(thresholds.memory_pct));
    no usage figures (no metrics API, or no container with a memory limit) is C(FAIL), the figure says why.
  - C(k8s.oom_kills) counts the containers whose last run ended C(OOMKilled) (O(thresholds.oom_kills)), with the
    restarts of all containers.
  - C(logs.memory_lines) groups the memory, heap and OOM lines by message and limit; an out-of-memory line, or no log
    read at all, is C(FAIL), other memory lines C(WARN).
  - C(k8s.container_limits) is C(WARN) when a container of the pod template has no memory limit.
options:
  _input:
    description: What the alert read of the backend Deployment (C(alert_response_k8s)).
    type: dict
    required: true
  usage:
    description: The containers' usage rows (C(alert_response_k8s_usage)), with C(pod), C(container), C(mem_b),
      C(mem_limit_b), C(restarts), C(last_reason), C(last_run), ...
    type: list
    elements: dict
    default: []
  logs:
    description: The containers' log lines, C([{pod, container, previous, lines}]); missing when the logs were not read.
    type: list
    elements: dict
    default: []
  log_errors:
    description: What could not be read of the logs, added to the evidence of C(logs.memory_lines).
    type: list
    elements: str
    default: []
  thresholds:
    description: C(memory_pct) and C(oom_kills), each C({warn, fail}) (C(alert_response_memory_thresholds)).
    type: dict
    required: true
  target:
    description: The Deployment as the findings name it, e.g. C(deployment/clickview-backend (clickview)).
    type: str
    required: true
  tail_lines:
    description: How many lines of each container log were read, for the figure.
    type: int
    default: 0
  evidence_limit:
    description: At most this many evidence lines per finding.
    type: int
    default: 20
"""

EXAMPLES = r"""
- name: Grade the figures
  ansible.builtin.set_fact:
    alert_response_new_findings: >-
      {{ alert_response_k8s | clickview.runbook.memory_findings(usage=alert_response_k8s_usage,
           logs=alert_response_logs | default([]), thresholds=alert_response_memory_thresholds,
           target='deployment/clickview-backend (clickview)', tail_lines=500) }}
"""

RETURN = r"""
_value:
  description: C(kubernetes.api) alone, or C(k8s.container_memory), C(k8s.oom_kills), C(logs.memory_lines) and
    C(k8s.container_limits). Values - the highest memory use in percent of its limit, the containers OOMKilled, the
    memory lines found - or null.
  type: list
  elements: dict
"""

MIB = 1048576.0
OUT_OF_MEMORY = re.compile(r"(?i)out of memory|oom")


def _threshold(thresholds, key, suffix):
    warn, fail = threshold_pair(thresholds, key)
    return "warn >= %s%s, fail >= %s%s" % (warn, suffix, fail, suffix)


def memory_finding(k8s, rows, thresholds, target, limit):
    """k8s.container_memory: the highest use against its container's limit."""
    warn = float(threshold_pair(thresholds, "memory_pct")[0])
    finding = {"check": "k8s.container_memory", "target": target, "value": None, "unit": None,
               "threshold": _threshold(thresholds, "memory_pct", " %") + " of the memory limit",
               "evidence": [r["detail"] for r in rows][:limit]}
    if not rows:
        finding.update(status="FAIL", recommendation="No usage figure to grade: read it by hand (kubectl top pods -n <namespace>) "
                                                     "and restore the metrics API.",
                       figure=k8s.get("metrics_error") or "no pod metrics (metrics API) for containers with a memory limit")
        return finding
    top = rows[0]
    finding.update(
        status=health_status(top["pct"], thresholds.get("memory_pct")), value=top["pct"], unit="%",
        figure="highest %s %% of its memory limit (%s/%s: %s MiB of %s MiB), %d containers measured" % (
            top["pct"], top["pod"], top["container"], round(top["mem_b"] / MIB, 1), round(top["mem_limit_b"] / MIB, 1),
            len(rows)),
        recommendation="Restart the pods for immediate relief (remediate=true or alert_response_rollout_restart=true); if "
                       "it comes back, raise the limit (alert_response_memory_limit) and look for the leak."
                       if top["pct"] >= warn else "Memory is within its limit now.")
    return finding


def oom_finding(usage, thresholds, target, limit):
    """k8s.oom_kills: containers whose last run ended OOMKilled."""
    oom = [u for u in usage if u.get("last_reason") == "OOMKilled"]
    restarts = sum(int(u.get("restarts") or 0) for u in usage)
    return {"check": "k8s.oom_kills", "target": target, "status": health_status(len(oom), thresholds.get("oom_kills")),
            "figure": "%d of %d containers OOMKilled in their last run, %d restarts in all" % (len(oom), len(usage), restarts),
            "threshold": _threshold(thresholds, "oom_kills", "") + " containers OOMKilled",
            "evidence": [u.get("last_run") for u in oom][:limit], "value": len(oom), "unit": "count",
            "recommendation": "The containers run out of memory: restart for relief, then raise the limit or fix the leak "
                              "(see the heap lines)." if oom else "No container was OOMKilled."}


def log_finding(k8s, logs, log_errors, target, tail_lines, limit):
    """logs.memory_lines: memory, heap and OOM lines, grouped by message and limit."""
    found = log_groups(logs, "(?i)memory|heap|oom", keys=['msg="[^"]*"', "limit_mb=[0-9]+"], with_last=True)
    lines = found["matched"]
    oom = [m for m in lines if OUT_OF_MEMORY.search(m["line"])]
    status = "FAIL" if oom or not logs else ("WARN" if lines else "OK")
    return {"check": "logs.memory_lines", "target": "%d pods of %s" % (len(k8s.get("pods") or []), target),
            "status": status, "value": len(lines) if logs else None, "unit": "count" if logs else None,
            "figure": "%d memory/heap/OOM lines (%d out of memory) in the last %s lines of %d container logs (previous "
                      "runs included)" % (len(lines), len(oom), tail_lines, len(logs)),
            "threshold": "any out-of-memory line is FAIL, other memory or heap lines WARN",
            "evidence": [g["text"] for g in found["groups"]][:limit] + list(log_errors),
            "recommendation": "Out-of-memory in the logs: the limit is reached; restart now and raise the limit or find the "
                              "leak." if oom else ("Heap warnings: watch the trend; restart if it keeps climbing." if lines
                                                   else "No memory lines in the logs.")}


def limits_finding(k8s, target):
    """k8s.container_limits: every container of the pod template has a memory limit."""
    containers = (((((k8s.get("deployment") or {}).get("spec") or {}).get("template") or {}).get("spec") or {})
                  .get("containers") or [])
    resources = container_resources(containers)
    missing = resources["no_memory_limit"]
    return {"check": "k8s.container_limits", "target": target, "status": "WARN" if missing else "OK",
            "figure": "; ".join(resources["lines"]), "threshold": "every container has a memory limit",
            "evidence": [c.get("image") for c in containers], "value": None, "unit": None,
            "recommendation": "Set a memory limit on %s." % ", ".join(missing) if missing else
                              "Raise the memory limit only if the usage is legitimate (alert_response_memory_limit, e.g. 512Mi)."}


def memory_findings(k8s, usage=None, logs=None, log_errors=None, thresholds=None, target="", tail_lines=0,
                    evidence_limit=20):
    """The High Memory Usage findings (see DOCUMENTATION)."""
    k8s, usage, logs, thresholds = k8s or {}, usage or [], logs or [], thresholds or {}
    limit = int(evidence_limit)
    if k8s.get("error"):
        return [{"check": "kubernetes.api", "target": target, "status": "FAIL", "figure": "unreachable or missing",
                 "threshold": "the deployment can be read", "evidence": [k8s["error"]], "value": None, "unit": None,
                 "recommendation": "Restore access to the cluster first (%s)." % k8s["error"]}]
    return [memory_finding(k8s, usage_rows(usage, "memory"), thresholds, target, limit),
            oom_finding(usage, thresholds, target, limit),
            log_finding(k8s, logs, log_errors or [], target, tail_lines, limit),
            limits_finding(k8s, target)]


class FilterModule:
    """High Memory Usage filter."""

    def filters(self):
        return {"memory_findings": memory_findings}
