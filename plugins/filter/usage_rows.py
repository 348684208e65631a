# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Containers' CPU or memory use as a percentage of their limit, highest first."""

from __future__ import annotations

DOCUMENTATION = r"""
name: usage_rows
author: ClickView Platform Team
version_added: 0.2.0
short_description: CPU or memory use of each measured container as a percentage of its limit, highest first
description:
  - Takes the rows of P(clickview.runbook.container_usage#filter) and keeps the containers that were measured and have
    something to compare with, adding C(pct) (one decimal) and a line of C(text) for a report, highest C(pct) first.
  - For O(resource=cpu) the base is the CPU limit, or the CPU request for a container without a limit
    (C(of) says which). For O(resource=memory) the base is the memory limit; a container without one is left out.
  - A container that restarted is measured as it runs now; its restarts are in the row and the CPU text.
options:
  _input:
    description: Rows of P(clickview.runbook.container_usage#filter).
    type: list
    elements: dict
    required: true
  resource:
    description: Which figure.
    type: str
    choices: [cpu, memory]
    default: memory
"""

EXAMPLES = r"""
- name: Memory against limits, highest first
  ansible.builtin.set_fact:
    memory_rows: "{{ usage | clickview.runbook.usage_rows('memory') }}"
    # [{'pod': 'backend-1', 'container': 'backend', 'pct': 92.3, 'text': 'backend-1/backend: memory 236.3 MiB of 256.0 MiB (92.3 %)', ...}]
"""

RETURN = r"""
_value:
  description: The input rows that could be graded, with more keys.
  type: list
  elements: dict
  contains:
    pct: {description: Use as a percentage of the base (one decimal)., type: float}
    base: {description: "CPU: the limit or request in millicores.", type: float}
    of: {description: "CPU: C(limit) or C(request).", type: str}
    text:
      description: >-
        C(pod/container: cpu 450m of 500m limit (90.0 %), 2 restarts), or
        C(pod/container: memory 236.3 MiB of 256.0 MiB (92.3 %)).
      type: str
    detail:
      description: >-
        Memory only: C(pod/container: memory 236.3 MiB of limit 256.0 MiB (92.3 %), request 128.0 MiB, ready)
        (or C(not ready (CrashLoopBackOff))).
      type: str
"""

_MIB = 1048576


def _mib(value):
    return "%s MiB" % round(value / _MIB, 1)


def usage_rows(rows, resource="memory"):
    """Rows with pct and text, highest pct first (see DOCUMENTATION)."""
    if resource not in ("cpu", "memory"):
        raise ValueError("usage_rows: resource must be cpu or memory, got %r" % (resource,))
    out = []
    for row in rows or []:
        if resource == "cpu":
            base = row.get("cpu_limit_m") or row.get("cpu_request_m")
            if row.get("cpu_m") is None or not base:
                continue
            of = "limit" if row.get("cpu_limit_m") else "request"
            pct = round(row["cpu_m"] * 100 / base, 1)
            text = "%s/%s: cpu %sm of %sm %s (%s %%), %s restarts" % (
                row["pod"], row["container"], int(round(row["cpu_m"])), int(base), of, pct, row.get("restarts", 0))
            out.append(dict(row, pct=pct, base=base, of=of, text=text))
        else:
            limit = row.get("mem_limit_b")
            if row.get("mem_b") is None or not limit:
                continue
            pct = round(row["mem_b"] * 100 / limit, 1)
            text = "%s/%s: memory %s of %s (%s %%)" % (row["pod"], row["container"], _mib(row["mem_b"]), _mib(limit), pct)
            detail = "%s/%s: memory %s of limit %s (%s %%), request %s, %s" % (
                row["pod"], row["container"], _mib(row["mem_b"]), _mib(limit), pct,
                _mib(row["mem_request_b"]) if row.get("mem_request_b") else "none",
                "ready" if row.get("ready") else "not ready (%s)" % (row.get("waiting_reason") or row.get("state")))
            out.append(dict(row, pct=pct, text=text, detail=detail))
    return sorted(out, key=lambda r: r["pct"], reverse=True)


class FilterModule:
    """Kubernetes usage filters."""

    def filters(self):
        return {"usage_rows": usage_rows}
