# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live certificate of each TLS endpoint, graded on the days it has left."""

from __future__ import annotations

import datetime

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import floor1, threshold_pair

DOCUMENTATION = r"""
name: tls_certificate_findings
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Grade the certificate each TLS endpoint serves on the days it has left
description:
  - Takes the registered loop results of M(community.crypto.get_certificate) (one per endpoint, each with its C(item),
    C(host) and optional C(port), default 443) and returns one C(tls.certificate_expiry) finding per endpoint.
  - The days left are counted from O(now) to C(not_after), to the second; fewer than the C(warn) threshold is
    C(WARN), fewer than C(fail) is C(FAIL) (an expired certificate has negative days, so C(FAIL)). The figure shows the
    days rounded down to one decimal, the expiry in UTC, and C(EXPIRED) when the module says so.
  - An endpoint that gave no certificate (no TLS handshake) is C(FAIL) with the module's message as evidence.
options:
  _input:
    description: The C(results) of the registered get_certificate loop.
    type: list
    elements: dict
    required: true
  thresholds:
    description: Days left, C({warn, fail}), as C(alert_response_cert_days_thresholds).
    type: dict
    required: true
  now:
    description: The time to count from (a timezone-aware datetime); now when omitted.
    type: raw
"""

EXAMPLES = r"""
- name: Grade the days left
  ansible.builtin.set_fact:
    findings: "{{ certs.results | clickview.runbook.tls_certificate_findings({'warn': 14, 'fail': 7}) }}"
    # [{'check': 'tls.certificate_expiry', 'target': 'app.example.com:443', 'status': 'WARN',
    #   'figure': 'expires in 9.9 days (2025-06-01 12:00 UTC)', 'threshold': 'warn < 14 days, fail < 7 days', ...}]
"""

RETURN = r"""
_value:
  description: One finding per endpoint (C(check), C(target), C(status), C(figure), C(threshold), C(evidence),
    C(recommendation), C(value) and C(unit) - the days left, rounded down to one decimal as in the figure, negative
    when expired, unit C(days); both null when no certificate was read).
  type: list
  elements: dict
"""

RENEW = ("Check that cert-manager is running (kubectl get pods -n cert-manager) and the Certificate resource is Ready; "
         "force the renewal by deleting the TLS secret, then verify the new certificate is served.")


def _values(names):
    return ", ".join(str(value) for value in (names or {}).values())


def endpoint_finding(result, thresholds, now):
    """The tls.certificate_expiry finding of one get_certificate result."""
    item = result.get("item") or {}
    warn, fail = threshold_pair(thresholds)
    finding = {"check": "tls.certificate_expiry", "target": "%s:%s" % (item.get("host"), item.get("port", 443)),
               "threshold": "warn < %s days, fail < %s days" % (warn, fail), "value": None, "unit": None}
    if "not_after" not in result:
        msg = result.get("msg", "unreachable")
        finding.update(status="FAIL", figure="no certificate read", evidence=[msg],
                       recommendation="Check the endpoint: it did not complete a TLS handshake (%s)." % msg)
        return finding
    expires = datetime.datetime.strptime(result["not_after"], "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    exact = (expires - now).total_seconds() / 86400
    status = health_status(exact, thresholds, higher_is_worse=False)
    finding.update(
        status=status, value=floor1(exact), unit="days",
        figure="expires in %s days (%s)%s" % (
            floor1(exact), expires.strftime("%Y-%m-%d %H:%M UTC"), ", EXPIRED" if result.get("expired") else ""),
        evidence=["subject: " + _values(result.get("subject")), "issuer: " + _values(result.get("issuer")),
                  "notBefore: %s, notAfter: %s" % (result.get("not_before"), result["not_after"]),
                  "serial: %s" % result.get("serial_number")],
        recommendation="Certificate valid for long enough." if status == "OK" else RENEW)
    return finding


def tls_certificate_findings(results, thresholds, now=None):
    """One tls.certificate_expiry finding per endpoint (see DOCUMENTATION)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return [endpoint_finding(result, thresholds, now) for result in results or []]


class FilterModule:
    """TLS certificate filters."""

    def filters(self):
        return {"tls_certificate_findings": tls_certificate_findings}
