# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which cert-manager Certificates to renew, from the findings of the SSL alert."""

from __future__ import annotations

DOCUMENTATION = r"""
name: certificate_renewals
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The Certificates to renew, from the findings of the SSL alert
description:
  - Takes the configured Certificates (C(alert_response_certificates)) and the findings of the investigation, and
    returns the Certificates to renew, in the order configured.
  - A Certificate is renewed when its own C(certificate/NAME (NAMESPACE)) finding is not C(OK), or when a finding of
    one of its endpoints (C(host:port), port 443 by default) is not C(OK).
options:
  _input:
    description: The Certificates, each with C(name) and optional C(namespace) and C(endpoints) (C(host), C(port)).
    type: list
    elements: dict
    required: true
  findings:
    description: The findings of the investigation (C(target), C(status)).
    type: list
    elements: dict
    required: true
  namespace:
    description: The namespace of a Certificate that names none.
    type: str
    default: default
  endpoints:
    description: The endpoints of a Certificate that lists none (C(alert_response_tls_endpoints)).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Certificates to renew
  ansible.builtin.set_fact:
    renewals: >-
      {{ alert_response_certificates | clickview.runbook.certificate_renewals(alert_response_findings,
           namespace='clickview', endpoints=alert_response_tls_endpoints) }}
    # [{'name': 'clickview-tls', 'namespace': 'clickview', 'endpoints': [{'host': 'app.example.com'}]}]
"""

RETURN = r"""
_value:
  description: The Certificates to renew, each with C(name), C(namespace) and C(endpoints).
  type: list
  elements: dict
"""


def certificate_renewals(certificates, findings, namespace="default", endpoints=None):
    """{name, namespace, endpoints} of each Certificate whose finding or endpoint is not OK."""
    bad = set(str(f.get("target")) for f in findings or [] if f.get("status") != "OK")
    out = []
    for cert in certificates or []:
        cert_ns = cert.get("namespace", namespace)
        cert_eps = cert.get("endpoints", endpoints or [])
        targets = set("%s:%s" % (ep.get("host"), ep.get("port", 443)) for ep in cert_eps)
        if "certificate/%s (%s)" % (cert.get("name"), cert_ns) in bad or targets & bad:
            out.append({"name": cert.get("name"), "namespace": cert_ns, "endpoints": cert_eps})
    return out


class FilterModule:
    """Certificate renewal filters."""

    def filters(self):
        return {"certificate_renewals": certificate_renewals}
