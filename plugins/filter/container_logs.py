# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lines of a looped kubernetes.core.k8s_log, and what could not be read."""

from __future__ import annotations

DOCUMENTATION = r"""
name: container_logs
author: ClickView Platform Team
version_added: 0.2.0
short_description: Lines of each container log read in a loop, and the logs that could not be read
description:
  - Takes the registered result of a M(kubernetes.core.k8s_log) task looped over C({pod, container, previous})
    items (see P(clickview.runbook.log_targets#filter)).
  - Empty lines are dropped. A result without C(log_lines) (the read failed) becomes a line of C(errors)
    naming the container and the error.
  - The previous run's log of a container is dropped when its lines are those of the current log (a crash-looping
    container waiting to start again shows its last run both ways), so no line is counted twice.
options:
  _input:
    description: The registered loop result (a dictionary with C(results)) or its C(results) list.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Keep the lines
  ansible.builtin.set_fact:
    logs: "{{ (logs_raw | clickview.runbook.container_logs).logs }}"
    log_errors: "{{ (logs_raw | clickview.runbook.container_logs).errors }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The logs read and the errors.
  type: dict
  contains:
    logs:
      description: One C({pod, container, previous, lines}) per log read.
      type: list
      elements: dict
    errors:
      description: C(pod/container) and why, per log that could not be read.
      type: list
      elements: str
"""


def container_logs(registered):
    """{'logs': [{pod, container, previous, lines}], 'errors': ['pod/container: msg']} of a looped k8s_log."""
    results = registered.get("results") if isinstance(registered, dict) else registered
    logs, errors = [], []
    for result in results or []:
        item = result.get("item") or {}
        if "log_lines" in result:
            logs.append({"pod": item.get("pod"), "container": item.get("container"), "previous": item.get("previous"),
                         "lines": [line for line in result.get("log_lines") or [] if line]})
        else:
            errors.append("%s/%s: %s" % (item.get("pod"), item.get("container"), result.get("msg", "no log")))
    current = dict(((log["pod"], log["container"]), log["lines"]) for log in logs if not log["previous"])
    logs = [log for log in logs if not (log["previous"] and current.get((log["pod"], log["container"])) == log["lines"])]
    return {"logs": logs, "errors": errors}


class FilterModule:
    """Log filters."""

    def filters(self):
        return {"container_logs": container_logs}
