# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each notification attempt of an incident delivered, as the incident's timeline records it."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: notify_deliveries
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: One delivery entry per notification channel that was tried
description:
  - Turns the registered results of M(clickview.runbook.webhook_post) for the chat, pager and status-page
    channels (and of M(clickview.runbook.smtp_send) for the email channel) into one entry per channel that was tried,
    with the event text and the details the incident's timeline records.
  - A channel whose task was skipped (no webhook configured, nothing to send, check mode) gives no entry.
  - A result without C(delivered) counts as not delivered; the reason is the result's C(error), else its
    C(msg), else C(no result). The entry never holds the URL or the body of the message.
options:
  _input:
    description:
      - The attempts, in the order to report them, each C({channel, result}).
      - C(channel) is one of C(chat), C(pager), C(status_page), C(email); C(result) is the registered result.
    type: list
    elements: dict
    required: true
  note_type:
    description: The message type (initial, update, resolution, escalation, security), for the chat event.
    type: str
    required: true
  pager_action:
    description: The PagerDuty event action sent (trigger, acknowledge, resolve), for the pager event.
    type: str
    default: ''
  status_page_status:
    description: The status set on the status page, for the status-page event.
    type: str
    default: ''
  status_page_incident:
    description:
      - The Statuspage incident id already recorded; a create's answer (the result's C(json.id)) gives it otherwise.
    type: str
    default: ''
  severity:
    description: The incident's severity when sent, kept with a status-page event (a change of it updates the page).
    type: str
    default: ''
  email_to:
    description: The recipients of the email, for the email event.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Sum up the deliveries
  ansible.builtin.set_fact:
    deliveries: >-
      {{ [{'channel': 'chat', 'result': chat_post}, {'channel': 'pager', 'result': pager_post}]
         | clickview.runbook.notify_deliveries('update', pager_action='trigger') }}
    # [{'channel': 'chat', 'delivered': true, 'attempts': 1, 'event': 'Update message posted to chat'},
    #  {'channel': 'pager', 'delivered': false, 'attempts': 3,
    #   'event': 'PagerDuty trigger sent - NOT DELIVERED: HTTP 503'}]
"""

RETURN = r"""
_value:
  description: One entry per channel tried, in the input's order.
  type: list
  elements: dict
  contains:
    channel:
      description: C(chat), C(pager), C(status_page) or C(email).
      type: str
    delivered:
      description: Whether the message was delivered.
      type: bool
    attempts:
      description: How many times it was sent (0 when the result does not say).
      type: int
    event:
      description: "The timeline's text, ending in C( - NOT DELIVERED: <reason>) when it was not delivered."
      type: str
    details:
      description:
        - "What the timeline event keeps: C(channel), C(message) (the message type), C(delivered), C(attempts),
          C(pager_action) and C(status_page_status) (empty for the other channels), C(status_page_incident) and
          C(status_page_severity) for the status page, C(email_to) for the email, and C(milestone=acknowledged) for a delivered acknowledge (the PIR's
          On-call acknowledged)."
      type: dict
"""


def _event(channel, note_type, pager_action, status_page_status, email_to):
    if channel == "chat":
        return "%s message posted to chat" % str(note_type).capitalize()
    if channel == "pager":
        return "PagerDuty %s sent" % pager_action
    if channel == "status_page":
        return "Status page set to %s" % str(status_page_status).strip()
    if channel == "email":
        return "%s email sent to %s" % (str(note_type).capitalize(), ", ".join(email_to or []) or "nobody")
    raise AnsibleFilterError("notify_deliveries: unknown channel %r (chat, pager, status_page or email)" % (channel,))


def _status_page_incident(result, known):
    answer = result.get("json")
    if isinstance(answer, dict) and answer.get("id"):
        return str(answer["id"])
    return str(known or "")


def notify_deliveries(attempts, note_type, pager_action="", status_page_status="", status_page_incident="", severity="",
                      email_to=None):
    """[{channel, delivered, attempts, event, details}] for each attempt whose task ran."""
    out = []
    for attempt in attempts or []:
        result = attempt.get("result") or {}
        if result.get("skipped", False):
            continue
        channel = attempt.get("channel")
        delivered = result.get("delivered", False) is True
        event = _event(channel, note_type, pager_action, status_page_status, email_to)
        if not delivered:
            reason = result["error"] if "error" in result else result.get("msg", "no result")
            event += " - NOT DELIVERED: %s" % (reason,)
        details = {"channel": channel, "message": note_type, "delivered": delivered, "attempts": result.get("attempts", 0),
                   "pager_action": pager_action if channel == "pager" else "",
                   "status_page_status": str(status_page_status).strip() if channel == "status_page" else ""}
        if channel == "status_page":
            details["status_page_incident"] = _status_page_incident(result, status_page_incident)
            details["status_page_severity"] = severity
        if channel == "email":
            details["email_to"] = list(email_to or [])
        if channel == "pager" and pager_action == "acknowledge" and delivered:
            details["milestone"] = "acknowledged"
        out.append({"channel": channel, "delivered": delivered, "attempts": result.get("attempts", 0), "event": event,
                    "details": details})
    return out


class FilterModule:
    """Notification filters."""

    def filters(self):
        return {"notify_deliveries": notify_deliveries}
