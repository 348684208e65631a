# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert-manager's pods and its Certificate resources, graded."""

from __future__ import annotations

import datetime

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import floor1, threshold_pair

DOCUMENTATION = r"""
name: cert_manager_findings
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Grade cert-manager's pods and each Certificate resource
description:
  - Takes the registered result of M(kubernetes.core.k8s_info) on the pods of cert-manager's namespace and the loop
    results of k8s_info on each Certificate (each with its C(item), C(name) and optional C(namespace)).
  - C(cert_manager.pods) is C(FAIL) when the read failed or no pod is running with every container ready, C(WARN)
    when some pods are not, else C(OK).
  - One C(cert_manager.certificate) per Certificate. Not found is C(FAIL). Not C(Ready) is C(FAIL). Otherwise the days
    left until C(status.notAfter) are graded against O(thresholds) (fewer than C(warn) is C(WARN), fewer than C(fail)
    is C(FAIL)); a Ready Certificate without C(notAfter) is C(FAIL). A Certificate not C(OK) is to be renewed by
    deleting its secret.
options:
  _input:
    description: The registered k8s_info result of the cert-manager pods (C(resources), C(msg), C(failed)).
    type: dict
    required: true
  certificates:
    description: The C(results) of the registered k8s_info loop over the Certificates.
    type: list
    elements: dict
    required: true
  thresholds:
    description: Days left, C({warn, fail}), as C(alert_response_cert_days_thresholds).
    type: dict
    required: true
  cert_manager_namespace:
    description: cert-manager's namespace, for the target and the recommendation.
    type: str
    default: cert-manager
  namespace:
    description: The namespace of a Certificate whose item names none.
    type: str
    default: default
  now:
    description: The time to count from (a timezone-aware datetime); now when omitted.
    type: raw
"""

EXAMPLES = r"""
- name: Grade cert-manager and the Certificates
  ansible.builtin.set_fact:
    findings: >-
      {{ pods | clickview.runbook.cert_manager_findings(certs.results, {'warn': 14, 'fail': 7},
           cert_manager_namespace='cert-manager', namespace='clickview') }}
    # [{'check': 'cert_manager.pods', 'status': 'OK', 'figure': '1 of 1 pods running and ready', ...},
    #  {'check': 'cert_manager.certificate', 'target': 'certificate/clickview-tls (clickview)', 'status': 'OK', ...}]
"""

RETURN = r"""
_value:
  description: C(cert_manager.pods), then one C(cert_manager.certificate) per Certificate (C(check), C(target),
    C(status), C(figure), C(threshold), C(evidence), C(recommendation), C(value) and C(unit) - the pods running and
    ready (C(pods)), a Certificate's days left rounded down to one decimal as in the figure (C(days)); both null when
    unreadable, not found or without notAfter).
  type: list
  elements: dict
"""


def _ready(pod):
    status = pod.get("status") or {}
    return status.get("phase", "") == "Running" and all(c.get("ready") for c in status.get("containerStatuses") or [])


def pods_finding(result, namespace):
    """The cert_manager.pods finding."""
    failed = bool(result.get("failed"))
    pods = result.get("resources") or []
    ready = [pod for pod in pods if _ready(pod)]
    if failed or not ready:
        status = "FAIL"
    else:
        status = "WARN" if len(ready) < len(pods) else "OK"
    if failed:
        evidence = [result.get("msg", "")]
    else:
        evidence = ["%s: %s" % ((pod.get("metadata") or {}).get("name"), (pod.get("status") or {}).get("phase", ""))
                    for pod in pods]
    running = ready and len(ready) == len(pods)
    return {"check": "cert_manager.pods", "target": "namespace " + str(namespace), "status": status,
            "figure": "unreadable" if failed else "%d of %d pods running and ready" % (len(ready), len(pods)),
            "threshold": "every cert-manager pod running and ready, at least one", "evidence": evidence,
            "value": None if failed else len(ready), "unit": None if failed else "pods",
            "recommendation": "cert-manager is running." if running else
            "cert-manager is not (fully) running: nothing will renew the certificates until it is; check its pods and "
            "events (kubectl get pods -n %s)." % namespace}


def certificate_finding(result, thresholds, namespace, now):
    """The cert_manager.certificate finding of one k8s_info result."""
    item = result.get("item") or {}
    warn, fail = threshold_pair(thresholds)
    target = "certificate/%s (%s)" % (item.get("name"), item.get("namespace", namespace))
    cert = (result.get("resources") or [{}])[0] or {}
    if not cert:
        return {"check": "cert_manager.certificate", "target": target, "status": "FAIL", "figure": "not found",
                "threshold": "Ready, more than %s days left" % warn,
                "evidence": [result.get("msg", "no Certificate of that name")], "value": None, "unit": None,
                "recommendation": "Check the name and namespace in alert_response_certificates (clickview_tls_certificates)."}
    status_ = cert.get("status") or {}
    spec = cert.get("spec") or {}
    issuer = spec.get("issuerRef") or {}
    ready = [c for c in status_.get("conditions") or [] if c.get("type") == "Ready"]
    is_ready = bool(ready) and ready[0].get("status") == "True"
    days = None
    if "notAfter" in status_:
        not_after = datetime.datetime.strptime(status_["notAfter"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        days = (not_after - now).total_seconds() / 86400
    status = health_status(days, thresholds, higher_is_worse=False) if is_ready else "FAIL"
    figure = "%s, notAfter %s%s, renewalTime %s, revision %s" % (
        "Ready" if is_ready else "not Ready", status_.get("notAfter", "?"),
        " (%s days left)" % floor1(days) if days is not None else "", status_.get("renewalTime", "?"),
        status_.get("revision", "?"))
    evidence = ["secret: %s" % spec.get("secretName"), "dnsNames: " + ", ".join(spec.get("dnsNames") or []),
                "issuer: %s/%s" % (issuer.get("kind", "Issuer"), issuer.get("name")),
                "duration %s, renewBefore %s" % (spec.get("duration", "?"), spec.get("renewBefore", "?"))]
    evidence += ["Ready: %s" % c.get("message", "") for c in ready]
    return {"check": "cert_manager.certificate", "target": target, "status": status, "figure": figure,
            "threshold": "Ready; warn < %s days, fail < %s days" % (warn, fail), "evidence": evidence,
            "value": floor1(days) if days is not None else None, "unit": "days" if days is not None else None,
            "recommendation": "Certificate resource is Ready and valid for long enough." if status == "OK" else
            "Force the renewal: delete secret %s (remediate=true or alert_response_cert_renew=true); cert-manager issues "
            "a new certificate into it." % spec.get("secretName")}


def cert_manager_findings(pods, certificates, thresholds, cert_manager_namespace="cert-manager", namespace="default",
                          now=None):
    """cert_manager.pods, then one cert_manager.certificate per Certificate (see DOCUMENTATION)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return ([pods_finding(pods or {}, cert_manager_namespace)]
            + [certificate_finding(result, thresholds, namespace, now) for result in certificates or []])


class FilterModule:
    """cert-manager filters."""

    def filters(self):
        return {"cert_manager_findings": cert_manager_findings}
