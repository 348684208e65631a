# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One report check per HorizontalPodAutoscaler: replicas against its bounds, metrics, conditions."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: hpa_checks
author: ClickView Platform Team
version_added: 0.2.0
short_description: Grade each HorizontalPodAutoscaler for the HPA status report
description:
  - Takes C(autoscaling/v2) HorizontalPodAutoscaler objects (C(resources) of M(kubernetes.core.k8s_info)) and returns
    one C(hpa.status) check per HPA for P(clickview.runbook.report#role).
  - C(FAIL) when the condition C(AbleToScale) is C(False).
  - Otherwise C(WARN) when the current replicas are at (or above) C(maxReplicas), when C(ScalingActive) is C(False)
    (no metric available), or when a temporary C(maxReplicas) change is still recorded in the annotations; else C(OK).
    An HPA at its C(minReplicas) is C(OK).
  - An HPA without a status yet counts 0 current replicas; a resource metric not measured yet reads C(?).
options:
  _input:
    description: The HPA objects.
    type: list
    elements: dict
    required: true
  names:
    description: Only these HPAs (by name); empty for every one.
    type: list
    elements: str
    default: []
  annotation_prefix:
    description: Prefix of the annotations in which the runbook records a temporary C(maxReplicas) change.
    type: str
    default: runbook.clickview.app
"""

EXAMPLES = r"""
- name: Grade each HPA
  ansible.builtin.set_fact:
    scaling_checks: "{{ hpa_all.resources | clickview.runbook.hpa_checks(['clickview-backend'], 'runbook.clickview.app') }}"
    # [{'check': 'hpa.status', 'target': 'hpa/clickview-backend → deployment/clickview-backend', 'status': 'WARN',
    #   'figure': '10 replicas (desired 10, min 2, max 10), cpu 95% / target 70%, at its maximum, TooManyReplicas', ...}]
"""

RETURN = r"""
_value:
  description: One check per HPA, in the order of the input.
  type: list
  elements: dict
  contains:
    check: {description: C(hpa.status)., type: str}
    target: {description: C(hpa/<name> → <kind>/<name>) of the scale target., type: str}
    status: {description: C(OK), C(WARN) or C(FAIL)., type: str}
    figure: {description: Replicas against the bounds, each resource metric against its target, and what is wrong., type: str}
    threshold: {description: What C(OK) means., type: str}
    detail: {description: The HPA's conditions., type: list}
    value: {description: The current replicas., type: int}
    unit: {description: C(pods)., type: str}
"""

THRESHOLD = "below maxReplicas, able to scale, metrics available, no temporary change pending"


def _condition(conditions, kind):
    """The first condition of this type, or None."""
    for condition in conditions:
        if condition.get("type") == kind:
            return condition
    return None


def _is(condition, value):
    return condition is not None and condition.get("status") == value


def _metric_text(metric, current_metrics):
    name = metric["resource"]["name"]
    now = next((m for m in current_metrics if (m.get("resource") or {}).get("name") == name), None)
    current = "?"
    if now:
        current = ((now["resource"].get("current") or {}).get("averageUtilization", "?"))
    target = (metric["resource"].get("target") or {}).get("averageUtilization", "?")
    return "%s %s%% / target %s%%" % (name, current, target)


def hpa_check(hpa, annotation_prefix="runbook.clickview.app"):
    """The hpa.status check of one HPA (see DOCUMENTATION)."""
    meta, spec = hpa.get("metadata") or {}, hpa.get("spec") or {}
    status = hpa.get("status") or {}
    conditions = status.get("conditions") or []
    able = _condition(conditions, "AbleToScale")
    active = _condition(conditions, "ScalingActive")
    limited = _condition(conditions, "ScalingLimited")
    current = status.get("currentReplicas") or 0
    maximum = spec.get("maxReplicas")
    at_max = maximum is not None and current >= maximum
    annotations = meta.get("annotations") or {}
    previous = annotations.get(annotation_prefix + "/previous-max-replicas", "")
    metrics = [_metric_text(m, status.get("currentMetrics") or []) for m in spec.get("metrics") or []
               if m.get("type") == "Resource"]

    if _is(able, "False"):
        grade = "FAIL"
    elif at_max or _is(active, "False") or previous:
        grade = "WARN"
    else:
        grade = "OK"

    figure = "%s replicas (desired %s, min %s, max %s), %s" % (
        current, status.get("desiredReplicas", "?"), spec.get("minReplicas", 1), maximum,
        ", ".join(metrics) or "no resource metric")
    if at_max:
        figure += ", at its maximum"
    if _is(limited, "True"):
        figure += ", %s" % limited.get("reason")
    if _is(active, "False"):
        figure += ", ScalingActive False: %s" % active.get("reason")
    if _is(able, "False"):
        figure += ", AbleToScale False: %s" % (able["message"] if "message" in able else able.get("reason"))
    if previous:
        figure += ", temporary maxReplicas since %s (previous %s; scale_hpa_restore.yml puts it back)" % (
            annotations.get(annotation_prefix + "/max-replicas-changed-at", "?"), previous)

    ref = spec.get("scaleTargetRef") or {}
    return check_row("hpa.status", "hpa/%s → %s/%s" % (meta.get("name"), str(ref.get("kind", "")).lower(), ref.get("name")),
                     grade, figure, THRESHOLD, conditions, value=current, unit="pods")


def hpa_checks(hpas, names=None, annotation_prefix="runbook.clickview.app"):
    """One hpa.status check per HPA, only the named ones when names is given."""
    return [hpa_check(h, annotation_prefix) for h in hpas or []
            if not names or (h.get("metadata") or {}).get("name") in names]


class FilterModule:
    """HorizontalPodAutoscaler filters."""

    def filters(self):
        return {"hpa_checks": hpa_checks}
