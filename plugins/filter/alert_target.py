# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an alert playbook works on: the alert's own labels where Alertmanager sent them, the inventory's defaults
otherwise, and never anything the inventory does not name."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
name: alert_target
author: ClickView Platform Team
version_added: 0.3.0
short_description: The workload, volume or certificate an alert playbook investigates, from the alert's labels
description:
  - Alertmanager sends with each alert the labels of the series that fired - C(namespace), C(pod), C(container),
    C(deployment), C(persistentvolumeclaim), C(certificate), C(instance). An alert playbook started by event-driven
    automation gets them in C(clickview_alert.labels); this filter turns them into the target of the run, so a memory alert
    on a frontend pod investigates (and restarts) the frontend, not the backend.
  - A label that is absent leaves the inventory's default. A run without an alert (by hand, from AWX) gets the defaults.
  - A label never widens what the inventory allows. A C(namespace) outside O(namespaces), a C(deployment) outside
    O(deployments), a C(pod) that belongs to none of them (pods of a Deployment are named
    C(<deployment>-<pod-template-hash>-<suffix>)), a C(certificate) the inventory does not list, or a
    C(persistentvolumeclaim) in another namespace fail the filter, naming the label, before anything is read or changed.
  - C(instance) (a blackbox probe's target, for example V(https://app.example.com) or V(app.example.com:443)) narrows the
    TLS endpoints to the inventory's endpoints on that host and the Certificates to those serving them; an instance that
    matches no inventory endpoint keeps them all and says so in RV(_value.notes).
options:
  _input:
    description: The alert (C(clickview_alert) - C(alertname), C(severity), C(fingerprint), C(labels)); empty or null when
      the run was not started by an alert.
    type: dict
    required: true
  namespace:
    description: The inventory's namespace (C(alert_response_k8s_namespace)).
    type: str
    required: true
  deployment:
    description: The inventory's Deployment (C(alert_response_backend_deployment)).
    type: str
    required: true
  deployments:
    description: The Deployments an alert may name (C(clickview_k8s_deployments)); O(deployment) is always one of them.
    type: list
    elements: str
    default: []
  namespaces:
    description: The namespaces an alert may name; O(namespace) is always one of them.
    type: list
    elements: str
    default: []
  claim:
    description: The database's PersistentVolumeClaim (C(alert_response_db_volume_claim)).
    type: str
    default: ''
  certificates:
    description: The cert-manager Certificates of the inventory (C(alert_response_certificates)), C({name, namespace,
      endpoints}).
    type: list
    elements: dict
    default: []
  endpoints:
    description: The TLS endpoints of the inventory (C(alert_response_tls_endpoints)), C({host, port}).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: The target of the run
  ansible.builtin.set_fact:
    target: >-
      {{ clickview_alert | default({}) | clickview.runbook.alert_target('clickview', 'clickview-backend',
           deployments=['clickview-backend', 'clickview-frontend']) }}
    # with labels {namespace: clickview, pod: clickview-frontend-7d4b9c-x2k8p, container: frontend}:
    # deployment 'clickview-frontend', pod 'clickview-frontend-7d4b9c-x2k8p', from_alert true
"""

RETURN = r"""
_value:
  description: The target of the run.
  type: dict
  contains:
    from_alert:
      description: Whether any label of the alert chose the target.
      type: bool
    alertname:
      description: The alert's name, empty without an alert.
      type: str
    namespace:
      description: The namespace to work in.
      type: str
    deployment:
      description: The Deployment to investigate and act on.
      type: str
    pod:
      description: The pod the alert names, or empty.
      type: str
    container:
      description: The container the alert names, or empty.
      type: str
    claim:
      description: The PersistentVolumeClaim to measure.
      type: str
    database_volume:
      description: Whether that claim is the database's (the Disk Space Low resolution, VACUUM, applies only then).
      type: bool
    certificates:
      description: The Certificates to check and, when asked, renew.
      type: list
      elements: dict
    endpoints:
      description: The TLS endpoints to read.
      type: list
      elements: dict
    labels_used:
      description: The labels that chose the target, C(name=value).
      type: list
      elements: str
    notes:
      description: What the labels could not narrow, in words for the report.
      type: list
      elements: str
    text:
      description: The target in one line for the report, for example V(deployment/clickview-frontend (clickview), from the
        alert's labels pod=..., container=...).
      type: str
"""

from ansible.errors import AnsibleFilterError

# a Deployment's pod: <deployment>-<pod-template-hash>-<5 characters> (ReplicaSet name, then the pod's suffix)
_POD_SUFFIX = r"-[a-z0-9]{1,10}-[a-z0-9]{5}$"


def _refuse(label, value, why):
    raise AnsibleFilterError("alert_target: the alert's label %s=%r %s; the run stops before it reads or changes anything"
                             % (label, value, why))


def _host(instance):
    """The host of a probe target: https://host:port/path, host:port or host."""
    text = re.sub(r"^[a-z]+://", "", str(instance).strip().lower())
    text = text.split("/", 1)[0]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def _deployment_of_pod(pod, deployments):
    owners = [d for d in deployments if re.match(re.escape(d) + _POD_SUFFIX, pod)]
    return max(owners, key=len) if owners else None


def alert_target(alert, namespace, deployment, deployments=None, namespaces=None, claim="", certificates=None,
                 endpoints=None):
    """The run's target (see DOCUMENTATION)."""
    alert = alert if isinstance(alert, dict) else {}
    labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
    labels = {str(k): str(v).strip() for k, v in labels.items() if v is not None and str(v).strip()}
    allowed_ns = [namespace] + [n for n in namespaces or [] if n != namespace]
    allowed_deps = [deployment] + [d for d in deployments or [] if d != deployment]
    certificates, endpoints = list(certificates or []), list(endpoints or [])
    used, notes = [], []

    target_ns = labels.get("namespace", namespace)
    if target_ns not in allowed_ns:
        _refuse("namespace", target_ns, "names a namespace this inventory does not operate (%s)" % ", ".join(allowed_ns))
    if "namespace" in labels:
        used.append("namespace=" + target_ns)

    target_dep, pod = deployment, labels.get("pod", "")
    if "deployment" in labels:
        target_dep = labels["deployment"]
        if target_dep not in allowed_deps:
            _refuse("deployment", target_dep, "names a Deployment the inventory does not list (clickview_k8s_deployments: %s)"
                    % ", ".join(allowed_deps))
        used.append("deployment=" + target_dep)
    if pod:
        owner = _deployment_of_pod(pod, allowed_deps)
        if owner is None:
            _refuse("pod", pod, "belongs to none of the Deployments the inventory lists (%s)" % ", ".join(allowed_deps))
        if "deployment" in labels and owner != target_dep:
            _refuse("pod", pod, "is a pod of %s, not of the labelled deployment %s" % (owner, target_dep))
        target_dep = owner
        used.append("pod=" + pod)
    container = labels.get("container", "")
    if container:
        used.append("container=" + container)

    target_claim = labels.get("persistentvolumeclaim", claim)
    if "persistentvolumeclaim" in labels:
        used.append("persistentvolumeclaim=" + target_claim)

    if "certificate" in labels:
        name = labels["certificate"]
        chosen = [c for c in certificates if c.get("name") == name and c.get("namespace", namespace) == target_ns]
        if not chosen:
            _refuse("certificate", name, "is not a Certificate the inventory lists in %s (clickview_tls_certificates)"
                    % target_ns)
        certificates = chosen
        used.append("certificate=" + name)
    if "instance" in labels and endpoints:
        host = _host(labels["instance"])
        matched = [e for e in endpoints if str(e.get("server_name") or e.get("host", "")).lower() == host
                   or str(e.get("host", "")).lower() == host]
        if matched:
            endpoints = matched
            keys = set((e.get("host"), e.get("port", 443)) for e in matched)
            certificates = [c for c in certificates
                            if not c.get("endpoints") or keys & set((e.get("host"), e.get("port", 443)) for e in c["endpoints"])]
            used.append("instance=" + labels["instance"])
        else:
            notes.append("the alert's instance %s is none of the inventory's TLS endpoints: all of them are read"
                         % labels["instance"])

    text = "deployment/%s (%s)" % (target_dep, target_ns)
    if "persistentvolumeclaim" in labels:
        text += ", claim %s" % target_claim
    text += (", from the alert's labels " + ", ".join(used)) if used else ", the inventory's defaults"
    return {
        "from_alert": bool(used),
        "alertname": str(alert.get("alertname") or labels.get("alertname", "")),
        "namespace": target_ns,
        "deployment": target_dep,
        "pod": pod,
        "container": container,
        "claim": target_claim,
        "database_volume": target_claim == claim,
        "certificates": certificates,
        "endpoints": endpoints,
        "labels_used": used,
        "notes": notes,
        "text": text,
    }


class FilterModule:
    """Alert target filters."""

    def filters(self):
        return {"alert_target": alert_target}
