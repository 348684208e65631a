# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's post-security-incident checklist, each step's state read from the incident's timeline."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

DOCUMENTATION = r"""
name: security_checklist
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Number each post-incident checklist step and work out its state
description:
  - Gives each step of the runbook's "Post-Security Incident" checklist its number and its state
    (C(open), C(in_progress), C(done) or C(not_applicable)).
  - "States come from the incident's timeline, where a step that succeeded is an event with C(details.step)
    and no C(details.failed): C(preserve_evidence) is done once C(evidence) is; C(rotate_credentials) is in
    progress once C(revoke) or a C(rotate_credentials) (one login's rotation, not all of them) is done;
    C(audit_access_logs) is in progress once C(evidence) is done; C(document_timeline) is done when the incident
    is resolved, else in progress; C(notify_affected_users) is open for a data breach, a credential compromise or a
    public impact, else not applicable; C(forensic_analysis) and C(additional_controls) stay open."
  - O(overrides) set any step's state by key, over what the timeline says. The states are not checked here.
  - A step with no state (a key not listed above and not in O(overrides)) is an error.
options:
  _input:
    description: The checklist's steps, in order, each C({key, text}).
    type: list
    elements: dict
    required: true
  timeline:
    description: The incident record's timeline.
    type: list
    elements: dict
    default: []
  incident_type:
    description: The incident's classification (for example C(data_breach)).
    type: str
    default: ''
  public_impact:
    description: Whether the incident has a public impact.
    type: bool
    default: false
  status:
    description: The incident's status (C(resolved) once it is over).
    type: str
    default: ''
  overrides:
    description: Step key to state, set by the operator.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: The checklist with each step's state
  ansible.builtin.set_fact:
    checklist: >-
      {{ security_incident_checklist_steps | clickview.runbook.security_checklist(
           timeline=record.timeline, incident_type='credential_compromise', status=record.status,
           overrides={'forensic_analysis': 'done'}) }}
    # [{'number': 1, 'key': 'preserve_evidence', 'step': 'Preserve evidence (do not delete logs)', 'state': 'done'}, ...]
"""

RETURN = r"""
_value:
  description: One entry per step, in order.
  type: list
  elements: dict
  contains:
    number:
      description: The step's number, from 1.
      type: int
    key:
      description: The step's key.
      type: str
    step:
      description: The step's text.
      type: str
    state:
      description: C(open), C(in_progress), C(done), C(not_applicable), or what O(overrides) set (trimmed).
      type: str
"""

USER_NOTICE_TYPES = ("data_breach", "credential_compromise")


def done_steps(timeline):
    """The steps the timeline records as done (an event with details.step and no details.failed)."""
    out = []
    for event in timeline or []:
        details = event.get("details") or {}
        if isinstance(details, dict) and "step" in details and "failed" not in details:
            out.append(details["step"])
    return out


def derived_states(timeline=None, incident_type="", public_impact=False, status=""):
    """Step key to state, from what the timeline, the classification and the status say."""
    done = done_steps(timeline)
    return {
        "preserve_evidence": "done" if "evidence" in done else "open",
        "rotate_credentials": "in_progress" if "revoke" in done or "rotate_credentials" in done else "open",
        "audit_access_logs": "in_progress" if "evidence" in done else "open",
        "notify_affected_users": ("open" if incident_type in USER_NOTICE_TYPES or boolean(public_impact, strict=False)
                                  else "not_applicable"),
        "document_timeline": "done" if status == "resolved" else "in_progress",
        "forensic_analysis": "open",
        "additional_controls": "open",
    }


def security_checklist(steps, timeline=None, incident_type="", public_impact=False, status="", overrides=None):
    """[{number, key, step, state}] for the checklist's steps."""
    states = derived_states(timeline, incident_type, public_impact, status)
    states.update(overrides or {})
    out = []
    for number, step in enumerate(steps or [], start=1):
        if step.get("key") not in states:
            raise AnsibleFilterError("security_checklist: no state for the step %r; set it in "
                                     "security_incident_checklist_states" % (step.get("key"),))
        out.append({"number": number, "key": step["key"], "step": step.get("text"),
                    "state": str(states[step["key"]]).strip()})
    return out


class FilterModule:
    """Security incident filters."""

    def filters(self):
        return {"security_checklist": security_checklist}
