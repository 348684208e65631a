# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's escalation contacts, in order, as the escalation message names them."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: escalation_contacts
author: ClickView Platform Team
version_added: 0.3.0
short_description: The escalation contacts in order, one line each
description:
  - Takes the escalation contacts (the runbook's "Escalation Contacts" table, in the order to escalate) and
    returns one text per contact - C(@eng-lead (Engineering Lead, Slack escalation)) - in the same order.
  - A contact is a handle (V(@eng-lead)) or a dictionary with C(contact) (the handle) and optionally C(role)
    and C(via) (how to reach them, or when).
  - A contact without a handle fails the task, naming its position.
options:
  _input:
    description: The contacts.
    type: list
    elements: raw
    required: true
"""

EXAMPLES = r"""
- name: Who the escalation reminder names
  ansible.builtin.debug:
    msg: "Escalate to, in order: {{ contacts | clickview.runbook.escalation_contacts | join('; then ') }}"
"""

RETURN = r"""
_value:
  description: One text per contact, in the given order.
  type: list
  elements: str
  sample: ['@eng-lead (Engineering Lead, Slack escalation)', '@vp-eng (VP Engineering, executive escalation only)']
"""


def contact_text(contact, position=1):
    """'@eng-lead (Engineering Lead, Slack escalation)' from a handle or {contact, role, via}."""
    if isinstance(contact, dict):
        handle = str(contact.get("contact") or "").strip()
        extra = [str(contact[key]).strip() for key in ("role", "via") if str(contact.get(key) or "").strip()]
    else:
        handle, extra = str(contact or "").strip(), []
    if not handle:
        raise AnsibleFilterError("escalation_contacts: contact %d has no handle (contact: '@name'): %r" % (position, contact))
    return "%s (%s)" % (handle, ", ".join(extra)) if extra else handle


def escalation_contacts(contacts):
    """The contacts as text, in order (see DOCUMENTATION)."""
    if not isinstance(contacts, list):
        raise AnsibleFilterError("escalation_contacts: expects a list, got %s" % type(contacts).__name__)
    return [contact_text(contact, position) for position, contact in enumerate(contacts, 1)]


class FilterModule:
    """Escalation contact filters."""

    def filters(self):
        return {"escalation_contacts": escalation_contacts}
