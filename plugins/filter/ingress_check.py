# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily health check's "ingress answering": the ingress's health endpoint, read over HTTPS."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
name: ingress_check
author: ClickView Platform Team
version_added: 0.3.0
short_description: Grade the ingress's answer to the health check's GET of its health endpoint
description:
  - Takes the registered result of the health check's M(ansible.builtin.uri) GET of the ingress's health endpoint
    (C(clickview_ingress_url) and C(on_call_ingress_health_path), C(/healthz) by default) and returns the check
    C(ingress.health) as C({check, target, status, figure, threshold, detail}), the shape of every health check row.
  - An HTTP status from 200 to 299 is C(OK). Any other status (a 503 from an ingress with no healthy backend, a 404 from
    a default backend, a redirect the GET did not follow) is C(FAIL) with the status as the figure.
  - No HTTP answer at all is C(FAIL), and the figure says why - connection refused, timed out, the host name did not
    resolve, the certificate is not trusted (with the verifier's reason) or another TLS failure. The detail keeps the
    module's whole message.
options:
  _input:
    description: The registered result of the M(ansible.builtin.uri) task (run with C(failed_when=false)).
    type: dict
    required: true
  url:
    description: The URL that was read, for the row's target when the result does not carry it.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Record the ingress check
  ansible.builtin.set_fact:
    on_call_checks: "{{ on_call_checks + [on_call_ingress | clickview.runbook.ingress_check(url=on_call_ingress_health_url)] }}"
    # {'check': 'ingress.health', 'target': 'https://clickview.app/healthz', 'status': 'OK', 'figure': 'HTTP 200',
    #  'threshold': 'HTTP 2xx', 'detail': 'ok'}
"""

RETURN = r"""
_value:
  description: The check C(ingress.health).
  type: dict
  contains:
    check:
      description: The check's name.
      type: str
      sample: ingress.health
    target:
      description: The URL that was read.
      type: str
      sample: https://clickview.app/healthz
    status:
      description: C(OK) or C(FAIL).
      type: str
      sample: OK
    figure:
      description: The HTTP status (C(HTTP 200)), or why there was no answer (C(no answer - connection refused)).
      type: str
      sample: HTTP 200
    threshold:
      description: What is OK.
      type: str
      sample: HTTP 2xx
    detail:
      description: The start of the answer's body; when the status is not 2xx, the module's message before it.
      type: str
"""

CHECK = "ingress.health"
THRESHOLD = "HTTP 2xx"
BODY_CHARS = 200
# the reason inside uri's message, "Status code was -1 and not [200]: Request failed: <urlopen error REASON>"
URLOPEN = re.compile(r"<url[o]pen error (.*)>\s*$", re.S)
VERIFY = re.compile(r"certificate verify failed: ([^(]+)")


def _status(result):
    try:
        return int(result.get("status", -1))
    except (TypeError, ValueError):
        return -1


def no_answer(message):
    """The figure of a GET that got no HTTP status, from the uri module's message."""
    found = URLOPEN.search(message)
    reason = found.group(1) if found else message.split("Request failed: ", 1)[-1]
    lower = reason.lower()
    verify = VERIFY.search(reason)
    if verify:
        return "certificate not trusted - " + verify.group(1).strip()
    if "certificate_verify_failed" in lower or "hostname mismatch" in lower:
        return "certificate not trusted"
    if "ssl" in lower or "tls" in lower:
        return "TLS handshake failed - " + reason.strip()
    if "connection refused" in lower:
        return "no answer - connection refused"
    if "timed out" in lower or "timeout" in lower:
        return "no answer - timed out"
    if "name or service not known" in lower or "nodename nor servname" in lower or "name resolution" in lower:
        return "no answer - host name not found"
    if "connection reset" in lower or "remote end closed" in lower:
        return "no answer - connection closed"
    return "no answer - " + (reason.strip() or "unknown error")


def ingress_check(result, url=""):
    """The ingress.health row (see DOCUMENTATION)."""
    result = result if isinstance(result, dict) else {}
    status = _status(result)
    message = str(result.get("msg") or "")
    body = result.get("content")
    body = body.strip()[:BODY_CHARS] if isinstance(body, str) else ""
    row = {"check": CHECK, "target": str(result.get("url") or url), "threshold": THRESHOLD}
    if 200 <= status < 300:
        return dict(row, status="OK", figure="HTTP %d" % status, detail=body)
    if status > 0:
        return dict(row, status="FAIL", figure="HTTP %d" % status,
                    detail="; ".join(part for part in (message, ("body " + body) if body else "") if part))
    return dict(row, status="FAIL", figure=no_answer(message) if message else "no answer", detail=message)


class FilterModule:
    """Health check ingress filters."""

    def filters(self):
        return {"ingress_check": ingress_check}
