# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The check row of a temporary maxReplicas change (hpa_max) or its restore (hpa_restore), from the HPA read back."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: hpa_change_check
author: ClickView Platform Team
version_added: 0.1.0
short_description: Verify a temporary HPA maxReplicas change, or its restore, from the HPA read back
description:
  - Takes the HorizontalPodAutoscaler as read back after the change and returns one check row
    C({check, target, status, figure, threshold, detail, value, unit}).
  - For C(hpa_max) (check C(hpa.max_replicas)) it is C(OK) when C(maxReplicas) is the wanted value and, when the value
    changed, the value to restore is recorded in the annotation C(<annotation_prefix>/previous-max-replicas).
  - For C(hpa_restore) (check C(hpa.restore)) it is C(OK) when C(maxReplicas) is the recorded value again and the
    record is gone; with no record to restore it is C(WARN) (nothing was changed).
  - In check mode nothing was written, so the row is C(OK) and its figure is the planned change.
  - Anything else is C(FAIL), because the HPA does not hold what was written (another writer, an admission webhook).
options:
  _input:
    description: The HPA read back (one resource of M(kubernetes.core.k8s_info)).
    type: dict
    required: true
  action:
    description: The procedure.
    type: str
    choices: [hpa_max, hpa_restore]
    required: true
  wanted:
    description: The maxReplicas the change set.
    type: int
    required: true
  previous:
    description: The value to restore that was recorded before the change (C('') when none).
    type: str
    default: ''
  before:
    description: The HPA's maxReplicas before the change.
    type: int
    required: true
  annotation_prefix:
    description: The prefix of the annotations that record the change (C(scaling_hpa_annotation_prefix)).
    type: str
    required: true
  check_mode:
    description: Whether the run was in check mode (nothing written).
    type: bool
    default: false
  summary:
    description: The change in words, the figure in check mode.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Record the result
  ansible.builtin.set_fact:
    scaling_checks:
      - "{{ scaling_hpa_after.resources[0] | clickview.runbook.hpa_change_check(action='hpa_max', wanted=20, previous='',
             before=10, annotation_prefix='runbook.clickview.io', check_mode=ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description: The row; its value is the maxReplicas read back (unit C(pods)), null in check mode.
  type: dict
"""


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def hpa_change_check(hpa, action, wanted, previous="", before=None, annotation_prefix="", check_mode=False, summary=""):
    """The row of a maxReplicas change or restore (see DOCUMENTATION)."""
    if action not in ("hpa_max", "hpa_restore"):
        raise ValueError("hpa_change_check: action must be hpa_max or hpa_restore, got %r" % (action,))
    hpa = hpa or {}
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    annotations = (hpa.get("metadata") or {}).get("annotations") or {}
    recorded = str(annotations.get(annotation_prefix + "/previous-max-replicas") or "")
    previous = str(previous or "")
    max_replicas, wanted = _int(spec.get("maxReplicas"), None), _int(wanted)
    nothing = action == "hpa_restore" and not previous
    if action == "hpa_max":
        record_right = bool(recorded) if wanted != _int(previous or before) else True
    else:
        record_right = not recorded
    ok = check_mode or nothing or (max_replicas == wanted and record_right)
    if nothing:
        figure = "nothing to restore: no temporary change recorded; maxReplicas stays %s" % max_replicas
    elif check_mode:
        figure = "check mode: %s" % str(summary).strip()
    else:
        figure = "maxReplicas %s (min %s, current replicas %s)%s" % (
            max_replicas, spec.get("minReplicas", 1), status.get("currentReplicas", "?"),
            (", value to restore recorded: %s" % recorded) if recorded else ", no temporary change recorded")
    return check_row("hpa.max_replicas" if action == "hpa_max" else "hpa.restore", "hpa/%s" % (hpa.get("metadata") or {}).get("name"),
                     "WARN" if nothing else ("OK" if ok else "FAIL"), figure,
                     "maxReplicas %s%s" % (wanted, ", previous value recorded" if action == "hpa_max" else ", record removed"),
                     "", None if check_mode else max_replicas, "pods")


class FilterModule:
    """HPA change filter."""

    def filters(self):
        return {"hpa_change_check": hpa_change_check}
