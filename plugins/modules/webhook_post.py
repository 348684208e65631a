#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: webhook_post
short_description: Post a JSON message to a chat, paging or status-page webhook, retried, and say whether it was delivered
version_added: 0.2.0
description:
  - Sends one JSON body with C(POST) (or O(method)) to O(url) and retries throttling (HTTP 429, honouring C(Retry-After)),
    server errors (5xx), request timeouts and refused or dropped connections, with full-jitter exponential backoff.
  - RV(delivered) says whether the webhook accepted the message. The task fails when it was not, unless
    O(fail_on_error=false), so a caller can record an undelivered page instead of believing it was sent.
  - A webhook URL carries its token in its path, and a paging body its routing key. O(url), O(headers) and O(body) are
    never printed (they are C(no_log)), and no returned text contains the URL or its path.
author:
  - ClickView Platform Team (@clickview)
attributes:
  check_mode:
    support: full
    description: Nothing is sent; RV(delivered) is V(false) and C(changed) is V(true).
  diff_mode:
    support: none
    description: A message sent is not a state to compare.
options:
  url:
    description:
      - The webhook URL, token included. Never printed.
    type: str
    required: true
  method:
    description:
      - HTTP method.
    type: str
    choices: [POST, PUT, PATCH]
    default: POST
  body:
    description:
      - The message, sent as JSON. Never printed (a PagerDuty body holds its routing key).
    type: raw
    required: true
  headers:
    description:
      - Extra request headers (for example C(Authorization)). Never printed.
    type: dict
    default: {}
  timeout:
    description:
      - Seconds each attempt may take to connect and to answer.
    type: int
    default: 10
  retries:
    description:
      - How many times to try again after a retryable failure (so at most O(retries) + 1 attempts).
    type: int
    default: 3
  backoff:
    description:
      - Base of the exponential backoff in seconds; before retry N the task waits a random time up to
        min(O(max_backoff), O(backoff) * 2^(N-1)), or what a C(Retry-After) header of a 429 or 503 asks (at most 60 s).
    type: float
    default: 1.0
  max_backoff:
    description:
      - The longest wait between two attempts, in seconds, without C(Retry-After).
    type: float
    default: 30.0
  status_code:
    description:
      - HTTP statuses that mean the message was accepted.
    type: list
    elements: int
    default: [200, 201, 202, 204]
  validate_certs:
    description:
      - Verify the server's TLS certificate.
    type: bool
    default: true
  fail_on_error:
    description:
      - Fail the task when the message was not delivered. With V(false) the task succeeds and RV(delivered) is V(false).
    type: bool
    default: true
notes:
  - PagerDuty's Events API v2 answers 202 to an accepted event and 429 when throttled; Slack-compatible webhooks answer
    200, and 429 with C(Retry-After) when rate limited.
seealso:
  - module: ansible.builtin.uri
    description: General HTTP requests; it prints its URL and body, and retries only through C(until).
"""

EXAMPLES = r"""
- name: Post the incident summary to chat; record whether it was delivered
  clickview.runbook.webhook_post:
    url: "{{ vault_clickview_chat_webhook }}"
    body:
      text: "INC-20261205-0301 P1: API errors 35 %"
    fail_on_error: false
  register: chat_post

- name: Page through PagerDuty (Events API v2); the incident id is the dedup key
  clickview.runbook.webhook_post:
    url: https://events.pagerduty.com/v2/enqueue
    body:
      routing_key: "{{ vault_clickview_pagerduty_routing_key }}"
      event_action: trigger
      dedup_key: INC-20261205-0301
      payload:
        summary: "[P1] API errors 35 %"
        source: clickview.runbook (production)
        severity: critical
    retries: 5
"""

RETURN = r"""
delivered:
  description: Whether the webhook accepted the message (an answer in O(status_code)).
  returned: always
  type: bool
  sample: true
status:
  description: HTTP status of the last answer; null when no answer came (refused, timed out, dropped).
  returned: always
  type: int
  sample: 202
attempts:
  description: How many requests were sent (0 in check mode).
  returned: always
  type: int
  sample: 2
waits:
  description: Seconds waited before each retry.
  returned: always
  type: list
  elements: float
  sample: [0.42]
error:
  description: Why the message was not delivered (HTTP status and reason, or the connection error), without the URL.
  returned: when not delivered
  type: str
  sample: "HTTP 503: Service Unavailable"
json:
  description: The last answer's body parsed as JSON, when it is JSON (for example PagerDuty's C(dedup_key)).
  returned: when the answer is JSON
  type: raw
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url

from ansible_collections.clickview.runbook.plugins.module_utils.webhook import deliver, redact


def argument_spec():
    return dict(
        url=dict(type="str", required=True, no_log=True),
        method=dict(type="str", choices=["POST", "PUT", "PATCH"], default="POST"),
        body=dict(type="raw", required=True, no_log=True),
        headers=dict(type="dict", default={}, no_log=True),
        timeout=dict(type="int", default=10),
        retries=dict(type="int", default=3),
        backoff=dict(type="float", default=1.0),
        max_backoff=dict(type="float", default=30.0),
        status_code=dict(type="list", elements="int", default=[200, 201, 202, 204]),
        validate_certs=dict(type="bool", default=True),
        fail_on_error=dict(type="bool", default=True),
    )


def validate(module):
    p = module.params
    for name in ("timeout",):
        if p[name] <= 0:
            module.fail_json(msg="%s must be a positive number of seconds, got %s" % (name, p[name]))
    for name in ("retries",):
        if p[name] < 0:
            module.fail_json(msg="%s must be 0 or more, got %s" % (name, p[name]))
    for name in ("backoff", "max_backoff"):
        if p[name] < 0:
            module.fail_json(msg="%s must be 0 or more seconds, got %s" % (name, p[name]))
    if not p["url"].lower().startswith(("http://", "https://")):
        module.fail_json(msg="url must be an http:// or https:// URL (the value is not shown: it may hold a token)")


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    validate(module)
    p = module.params
    if module.check_mode:
        module.exit_json(changed=True, delivered=False, status=None, attempts=0, waits=[],
                         msg="check mode: nothing sent")
    data = json.dumps(p["body"])
    headers = dict(p["headers"] or {})
    headers.setdefault("Content-Type", "application/json")

    def send():
        resp, info = fetch_url(module, p["url"], data=data, headers=headers, method=p["method"],
                               timeout=p["timeout"], use_proxy=True)
        status = info.get("status")
        status = None if status is None or status < 0 else status
        body = None
        if resp is not None:
            try:
                body = resp.read()
            except Exception:  # a dropped connection while reading the answer
                body = None
        elif info.get("body"):
            body = info["body"]
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        error = None if status is not None and 200 <= status < 300 else (info.get("msg") or "").strip() or None
        return status, dict((k, v) for k, v in info.items() if isinstance(v, str)), body, error

    result = deliver(send, retries=p["retries"], backoff=p["backoff"], max_backoff=p["max_backoff"],
                     success=tuple(p["status_code"]), url=p["url"])
    out = dict(changed=result["delivered"], delivered=result["delivered"], status=result["status"],
               attempts=result["attempts"], waits=result["waits"])
    if result["body"]:
        try:
            out["json"] = json.loads(result["body"])
        except ValueError:
            pass
    if result["delivered"]:
        module.exit_json(msg="delivered (HTTP %s, %d attempt(s))" % (result["status"], result["attempts"]), **out)
    out["error"] = result["error"]
    msg = "not delivered after %d attempt(s): %s" % (result["attempts"], result["error"])
    if p["fail_on_error"]:
        module.fail_json(msg=redact(msg, p["url"]), **out)
    module.exit_json(msg=redact(msg, p["url"]), **out)


if __name__ == "__main__":
    main()
