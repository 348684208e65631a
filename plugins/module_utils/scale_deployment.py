# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The runbook's "Scale backend/frontend": the refusal before anything changes, and the graded result.

``refusal`` reads the namespace's Deployments and HPAs (kubernetes.core.k8s_info resources) and says why a scale must
not happen - an unknown Deployment, 0 replicas unless allowed, a number outside the bounds, a number an HPA managing
the Deployment would undo - or '' when it may. ``result_row`` grades the Deployment read after the scale.
"""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.common import to_int


def managing_hpa(hpas, name):
    """The first HPA whose scaleTargetRef is Deployment ``name``, or {}."""
    for hpa in hpas or []:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if ref.get("kind") == "Deployment" and ref.get("name") == name:
            return hpa
    return {}


def refusal(deployments, hpas, name, replicas, bounds, namespace, allow_zero=False, respect_hpa=True):
    """Why scaling Deployment ``name`` to ``replicas`` is refused, naming the variable to change, or '' when it may go
    ahead. ``bounds`` is {'min', 'max'}."""
    names = [(d.get("metadata") or {}).get("name") for d in deployments or []]
    replicas, low, high = to_int(replicas, 0), to_int(bounds.get("min"), 0), to_int(bounds.get("max"), 0)
    if name not in names:
        return ("scaling_deployment: Deployment %s does not exist in namespace %s (Deployments there: %s)"
                % (name, namespace, ", ".join(n for n in names if n)))
    if replicas == 0 and not allow_zero:
        return ("scaling_replicas: refusing to scale %s to 0, which stops it; set scaling_allow_zero=true if that is meant"
                % name)
    if replicas < low or replicas > high:
        return ("scaling_replicas: %s is outside the bounds of %s (%s to %s, scaling_replica_bounds)"
                % (replicas, name, low, high))
    hpa = managing_hpa(hpas, name) if respect_hpa else {}
    if hpa:
        spec = hpa.get("spec") or {}
        hpa_min, hpa_max = to_int(spec.get("minReplicas"), 1), to_int(spec.get("maxReplicas"), 0)
        if not hpa_min <= replicas <= hpa_max:
            return ("scaling_replicas: HPA %s manages %s within %s to %s replicas and would undo %s; change the HPA "
                    "(scale_hpa_max.yml) or set scaling_respect_hpa=false"
                    % ((hpa.get("metadata") or {}).get("name", ""), name, hpa_min, hpa_max, replicas))
    return ""


def result_row(deployment, name, replicas, before, bounds, wait_timeout, scaled=None, check_mode=False):
    """scale.replicas_ready: OK when the Deployment wants and has ``replicas`` ready (the ready replicas as the value);
    in check mode, what would scale."""
    threshold = "%s ready within %s s (bounds %s to %s)" % (replicas, wait_timeout, bounds.get("min"), bounds.get("max"))
    target = "deployment/%s" % name
    if check_mode:
        return check_row("scale.replicas_ready", target, "OK", "check mode: would scale from %s to %s" % (before, replicas),
                         threshold)
    deployment, scaled = deployment or {}, scaled or {}
    ready = to_int((deployment.get("status") or {}).get("readyReplicas"), 0)
    wanted = (deployment.get("spec") or {}).get("replicas")
    figure = "%s of %s replicas ready (was %s)" % (ready, wanted, before)
    if scaled.get("failed"):
        figure += ": %s" % scaled.get("msg", "")
    ok = ready == to_int(replicas, 0) and to_int(wanted, -1) == to_int(replicas, 0)
    return check_row("scale.replicas_ready", target, "OK" if ok else "FAIL", figure, threshold, value=ready, unit="pods")
