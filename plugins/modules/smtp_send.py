#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: smtp_send
short_description: Send one plain-text email through an SMTP relay, retried, and say whether it was delivered
version_added: 0.3.0
description:
  - Sends one message to O(to) through the relay O(host):O(port) - STARTTLS by default (refused when the relay does not
    offer it), implicit TLS with O(tls=true), a login when O(username) is given - and retries what may pass on a second
    try (a temporary 4xx answer, a refused or dropped connection, a timeout) with full-jitter exponential backoff.
  - Every network step (connect, each command, the message) is bounded by O(timeout) seconds.
  - RV(delivered) says whether the relay took the message for every recipient. The task fails when it did not, unless
    O(fail_on_error=false), so a caller can record an undelivered email instead of believing it was sent.
  - O(password) is never printed; no returned text holds it.
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
  host:
    description:
      - The SMTP relay's host name.
    type: str
    required: true
  port:
    description:
      - Its port - 587 for STARTTLS (submission), 465 with O(tls=true), 25 for a relay inside the network.
    type: int
    default: 587
  starttls:
    description:
      - Upgrade the connection with STARTTLS before the login and the message; the task fails (not delivered) when the
        relay does not offer it.
    type: bool
    default: true
  tls:
    description:
      - Connect with TLS from the start (SMTPS, usually port 465) instead of STARTTLS (O(starttls) is then ignored).
    type: bool
    default: false
  validate_certs:
    description:
      - Verify the relay's TLS certificate and host name.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates to verify the relay with, instead of the system's.
    type: path
  username:
    description:
      - Login (SMTP AUTH) when the relay asks for one; none when empty.
    type: str
  password:
    description:
      - Its password. Never printed.
    type: str
  sender:
    description:
      - The From address, for example V(ClickView runbook <runbook@clickview.app>).
    type: str
    required: true
  to:
    description:
      - The recipients.
    type: list
    elements: str
    required: true
  subject:
    description:
      - The subject, one line (line breaks become spaces).
    type: str
    required: true
  body:
    description:
      - The plain-text body.
    type: str
    required: true
  headers:
    description:
      - Extra headers, for example C(X-Clickview-Incident).
    type: dict
    default: {}
  timeout:
    description:
      - Seconds each network step may take.
    type: int
    default: 10
  retries:
    description:
      - How many times to try again after a temporary failure (so at most O(retries) + 1 sessions).
    type: int
    default: 2
  backoff:
    description:
      - Base of the exponential backoff in seconds; before retry N the task waits a random time up to
        min(O(max_backoff), O(backoff) * 2^(N-1)).
    type: float
    default: 1.0
  max_backoff:
    description:
      - The longest wait between two attempts, in seconds.
    type: float
    default: 30.0
  fail_on_error:
    description:
      - Fail the task when the message was not delivered. With V(false) the task succeeds and RV(delivered) is V(false).
    type: bool
    default: true
notes:
  - M(community.general.mail) sends mail too; this module adds the retries, refuses to drop STARTTLS silently, and reports
    a refused or unreachable relay as RV(delivered=false) with a one-line RV(error) instead of a traceback.
seealso:
  - module: community.general.mail
"""

EXAMPLES = r"""
- name: Email the security team; record whether it was delivered
  clickview.runbook.smtp_send:
    host: smtp.clickview.app
    port: 587
    username: "{{ vault_clickview_smtp_username }}"
    password: "{{ vault_clickview_smtp_password }}"
    sender: ClickView runbook <runbook@clickview.app>
    to: [security@clickview.app]
    subject: "[SECURITY P1] SEC-20261205-0301 - Data breach"
    body: "{{ lookup('ansible.builtin.template', 'security_email.txt.j2') }}"
    fail_on_error: false
  register: security_email
"""

RETURN = r"""
delivered:
  description: Whether the relay took the message for every recipient.
  returned: always
  type: bool
  sample: true
attempts:
  description: How many SMTP sessions were opened (0 in check mode).
  returned: always
  type: int
  sample: 1
waits:
  description: Seconds waited before each retry.
  returned: always
  type: list
  elements: float
  sample: []
message_id:
  description: The message's Message-ID header.
  returned: always
  type: str
  sample: "<172.1.2@clickview.app>"
recipients:
  description: The recipients.
  returned: always
  type: list
  elements: str
  sample: [security@clickview.app]
refused:
  description: Recipients the relay refused, with its answer.
  returned: always
  type: dict
  sample: {}
error:
  description: Why the message was not delivered (the relay's answer or the connection error).
  returned: when not delivered
  type: str
  sample: "cannot connect: Connection refused"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.clickview.runbook.plugins.module_utils import smtp_mail


def argument_spec():
    return dict(
        host=dict(type="str", required=True),
        port=dict(type="int", default=587),
        starttls=dict(type="bool", default=True),
        tls=dict(type="bool", default=False),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        sender=dict(type="str", required=True),
        to=dict(type="list", elements="str", required=True),
        subject=dict(type="str", required=True),
        body=dict(type="str", required=True),
        headers=dict(type="dict", default={}),
        timeout=dict(type="int", default=10),
        retries=dict(type="int", default=2),
        backoff=dict(type="float", default=1.0),
        max_backoff=dict(type="float", default=30.0),
        fail_on_error=dict(type="bool", default=True),
    )


def validate(module):
    p = module.params
    if not p["host"].strip():
        module.fail_json(msg="host: the SMTP relay's host name is empty")
    if not 0 < p["port"] < 65536:
        module.fail_json(msg="port must be 1-65535, got %s" % p["port"])
    if p["timeout"] <= 0:
        module.fail_json(msg="timeout must be a positive number of seconds, got %s" % p["timeout"])
    if p["retries"] < 0:
        module.fail_json(msg="retries must be 0 or more, got %s" % p["retries"])
    for name in ("backoff", "max_backoff"):
        if p[name] < 0:
            module.fail_json(msg="%s must be 0 or more seconds, got %s" % (name, p[name]))
    if p["password"] and not p["username"]:
        module.fail_json(msg="password is given without a username: set username too (or neither)")


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    validate(module)
    p = module.params
    try:
        msg = smtp_mail.build_message(p["sender"], p["to"], p["subject"], p["body"], headers=p["headers"])
    except smtp_mail.MailError as exc:
        module.fail_json(msg=str(exc))
    out = dict(message_id=msg["Message-ID"], recipients=list(p["to"]), refused={}, waits=[])
    if module.check_mode:
        module.exit_json(changed=True, delivered=False, attempts=0, msg="check mode: nothing sent", **out)
    context = smtp_mail.tls_context(p["validate_certs"], p["ca_path"]) if (p["tls"] or p["starttls"]) else None

    def attempt():
        return smtp_mail.send_once(msg, p["host"], p["port"], p["timeout"], starttls=p["starttls"] and not p["tls"],
                                   tls=p["tls"], username=p["username"], password=p["password"], context=context)

    result = smtp_mail.deliver(attempt, retries=p["retries"], backoff=p["backoff"], max_backoff=p["max_backoff"],
                               timeout=p["timeout"])
    out.update(changed=result["delivered"], delivered=result["delivered"], attempts=result["attempts"],
               waits=result["waits"], refused=result["refused"])
    if result["delivered"]:
        module.exit_json(msg="delivered to %s (%d attempt(s))" % (", ".join(p["to"]), result["attempts"]), **out)
    out["error"] = result["error"]
    text = "not delivered after %d attempt(s): %s" % (result["attempts"], result["error"])
    if p["fail_on_error"]:
        module.fail_json(msg=text, **out)
    module.exit_json(msg=text, **out)


if __name__ == "__main__":
    main()
