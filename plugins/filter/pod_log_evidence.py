# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each container of the evidence's pods, and what became of its previous container's log."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.security_evidence import pod_log_index

DOCUMENTATION = r"""
name: pod_log_evidence
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The containers of some pods, which previous container logs to read, and what was read
description:
  - Takes pods as M(kubernetes.core.k8s_info) returns them and gives one entry per container status, with its
    restart count and last termination (reason, exit code, times).
  - C(previous_wanted) is true when the container restarted (C(restartCount) above 0, or a last terminated
    state); the evidence reads its previous container's log (C(kubectl logs --previous)).
  - Given O(previous) (the registered loop of those reads, items C({pod, container})), C(previous) of each entry
    is the bundle file the log went to, C(<prefix>/<pod>.<container>.previous.log); or C(no previous container)
    when the container never restarted or the API answers that there is none (not an error); or
    C(not read) and the reason in parentheses for any other failure, which is also listed in C(errors).
options:
  _input:
    description: The pods.
    type: list
    elements: dict
    required: true
  previous:
    description: The C(results) of the previous-log reads; omit to list the containers to read.
    type: list
    elements: dict
  prefix:
    description: Folder of the log files inside the bundle.
    type: str
    default: pod-logs
"""

EXAMPLES = r"""
- name: Read the previous container's log of each restarted container
  kubernetes.core.k8s_log:
    namespace: clickview
    name: "{{ item.pod }}"
    container: "{{ item.container }}"
    previous: true
  loop: "{{ (pods.resources | clickview.runbook.pod_log_evidence).containers | selectattr('previous_wanted') | list }}"
  register: previous_logs
  failed_when: false
  no_log: true

- name: The index of the pod logs
  ansible.builtin.set_fact:
    pod_log_index: "{{ pods.resources | clickview.runbook.pod_log_evidence(previous=previous_logs.results) }}"
"""

RETURN = r"""
_value:
  description: The containers and the failed reads.
  type: dict
  contains:
    containers:
      description: One C({pod, container, restarts, last_terminated, previous_wanted, previous}) per container.
      type: list
      elements: dict
    errors:
      description: "C(<pod>/<container> previous log: <why>), per read that failed for another reason than there being none."
      type: list
      elements: str
"""


def pod_log_evidence(pods, previous=None, prefix="pod-logs"):
    """{containers, errors} of the pods' containers and their previous container logs."""
    return pod_log_index(pods, previous_results=previous, prefix=prefix)


class FilterModule:
    """Pod log evidence filters."""

    def filters(self):
        return {"pod_log_evidence": pod_log_evidence}
