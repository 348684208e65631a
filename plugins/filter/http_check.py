# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily health check's HTTP checks: the API's health endpoint and the ingress answering over HTTPS."""

from __future__ import annotations

DOCUMENTATION = r"""
name: http_check
author: ClickView Platform Team
version_added: 0.1.0
short_description: Grade the answer to a health check's GET of a health endpoint
description:
  - Takes the registered result of one of the health check's M(ansible.builtin.uri) GETs - the ingress's health endpoint
    (C(clickview_ingress_url) and C(on_call_ingress_health_path), C(/healthz) by default), the API's
    (C(clickview_api_health_url)) - and returns the check O(check) as C({check, target, status, figure, threshold,
    detail}), the shape of every health check row.
  - With O(json_status), the answer must also be JSON whose C(status) field is one of those values (the API answers
    a JSON object with C(status) V(ok)); any other body is C(FAIL) with the status it did say.
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
  check:
    description: The check's name.
    type: str
    default: ingress.health
  json_status:
    description: The values of the JSON body's C(status) field that are healthy; empty (the default) reads no body.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Record the ingress check
  ansible.builtin.set_fact:
    on_call_checks: "{{ on_call_checks + [on_call_ingress | clickview.runbook.http_check(url=on_call_ingress_health_url)] }}"
    # {'check': 'ingress.health', 'target': 'https://clickview.app/healthz', 'status': 'OK', 'figure': 'HTTP 200',
    #  'threshold': 'HTTP 2xx', 'detail': 'ok', 'value': None, 'unit': None}

- name: Record the API check (HTTP 2xx and a JSON status of ok, healthy or pass)
  ansible.builtin.set_fact:
    on_call_checks: >-
      {{ on_call_checks + [on_call_api | clickview.runbook.http_check(url=clickview_api_health_url, check='api.health',
                                                                        json_status=['ok', 'healthy', 'pass'])] }}
    # {'check': 'api.health', ..., 'status': 'FAIL', 'figure': 'HTTP 200, status degraded', 'threshold': 'HTTP 2xx and status ok'}
"""

RETURN = r"""
_value:
  description: The check C(ingress.health).
  type: dict
  contains:
    check:
      description: The check's name (O(check)).
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
      description: >-
        The HTTP status (C(HTTP 200)) and, with O(json_status), the body's status (C(HTTP 200, status ok)), or why there
        was no answer (C(no answer - connection refused)).
      type: str
      sample: HTTP 200
    threshold:
      description: What is OK.
      type: str
      sample: HTTP 2xx and status ok
    detail:
      description: The start of the answer's body; when the status is not 2xx, the module's message before it.
      type: str
    value:
      description: Always null (an HTTP status is a code, not a measure).
      type: raw
    unit:
      description: Always null.
      type: str
"""

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row, no_answer_reason

CHECK = "ingress.health"
THRESHOLD = "HTTP 2xx"
BODY_CHARS = 200


def _status(result):
    try:
        return int(result.get("status", -1))
    except (TypeError, ValueError):
        return -1


def no_answer(message):
    """The figure of a GET that got no HTTP status, from the uri module's message."""
    reason = no_answer_reason(message)
    if reason.startswith(("certificate not trusted", "TLS handshake failed")):
        return reason
    return "no answer - " + (reason or "unknown error")


def _body_status(result):
    body = result.get("json")
    if isinstance(body, dict) and isinstance(body.get("status"), str):
        return body["status"]
    return "n/a"


def http_check(result, url="", check=CHECK, json_status=None):
    """The check row (see DOCUMENTATION)."""
    result = result if isinstance(result, dict) else {}
    status = _status(result)
    message = str(result.get("msg") or "")
    body = result.get("content")
    body = body.strip()[:BODY_CHARS] if isinstance(body, str) else ""
    wanted = [str(value).lower() for value in json_status or []]
    threshold = THRESHOLD + (" and status %s" % "/".join(wanted[:1] or ["ok"]) if wanted else "")
    target = str(result.get("url") or url)
    if 200 <= status < 300:
        if not wanted:
            return check_row(check, target, "OK", "HTTP %d" % status, threshold, body)
        said = _body_status(result)
        return check_row(check, target, "OK" if said.lower() in wanted else "FAIL", "HTTP %d, status %s" % (status, said),
                         threshold, body)
    if status > 0:
        figure = "HTTP %d" % status + (", status %s" % _body_status(result) if wanted else "")
        return check_row(check, target, "FAIL", figure, threshold,
                         "; ".join(part for part in (message, ("body " + body) if body else "") if part))
    return check_row(check, target, "FAIL", no_answer(message) if message else "no answer", threshold, message)


class FilterModule:
    """Health check HTTP filters."""

    def filters(self):
        return {"http_check": http_check}
