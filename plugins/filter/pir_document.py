# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's Post-Incident Review, as data, from an incident record."""

from __future__ import annotations

DOCUMENTATION = r"""
name: pir_document
author: ClickView Platform Team
version_added: 0.1.0
short_description: The data of a Post-Incident Review from an incident record
description:
  - Takes a record written by M(clickview.runbook.incident) (its RV(clickview.runbook.incident#module:record)) and
    returns what the runbook's PIR template shows - summary (date, duration computed from the declaration and the
    resolution, severity, impact), the five milestones of the template's timeline (alert triggered, on-call
    acknowledged, root cause identified, mitigation applied, service restored) with their offset from the start, every
    recorded event in time order, action items with owner and due date, and when the review is due.
  - "Milestones: the alert triggered when Alertmanager's C(startsAt) says (kept with the declaration as
    C(details.alert_starts_at)), else at an event whose C(details.milestone) is V(alert), else at the incident's start;
    on-call acknowledged at the first delivered PagerDuty acknowledgement (a C(notification) event with
    C(details) C({channel: pager, action: acknowledge, delivered: true})), else at the declaration (when it was recorded),
    said so in the row. An event whose C(details.milestone) is V(root_cause), V(mitigation) or V(restored) marks
    that row; otherwise the first change to status C(identified) is the root cause, the first action (progress notes
    excepted) the mitigation, the resolution the restoration."
  - "Response: time to acknowledge, to mitigate (the first remediation that verified - outcome C(remediated)) and to
    resolve, from the alert's start (else the incident's), and the runbook's response times checked - acknowledge
    within the severity's response time (P1 5 minutes, P2 15 minutes, P3 1 hour, P4 24 hours), an update at least
    every 15 minutes - each V(met), V(missed) or V(unknown)."
  - Action items are the record's, with their owner, due date and status (V(Open) or V(Done)); an item recorded as a
    plain text is owned by the C(@handle) in it, else O(default_owner), and due O(action_due_days) after the
    resolution. O(overrides) sets owner, due date or status of an item (matched by its text) or adds items.
options:
  _input:
    description: The incident record.
    type: dict
    required: true
  review_hours:
    description: The review is due this many hours after the resolution.
    type: int
    default: 48
  default_owner:
    description: Owner of an action item that names none.
    type: str
    default: "@owner"
  action_due_days:
    description: Due date of an action item, in days after the resolution.
    type: int
    default: 14
  overrides:
    description: Action items as dictionaries (C(action), C(owner), C(due), C(status)).
    type: list
    elements: dict
    default: []
  require_resolved:
    description: Fail for an incident that is not resolved.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: PIR data of the incident
  ansible.builtin.set_fact:
    pir: "{{ incident.record | clickview.runbook.pir_document(review_hours=48) }}"
"""

RETURN = r"""
_value:
  description: >-
    incident_id, title, severity, status, impact, alert, root_cause, follow_up, service_restored (what confirmed the
    service restored at the resolution - or that it was forced, and why - as the record keeps it; null when it does
    not say), started_at, resolved_at, date,
    duration_seconds, duration_human, milestones (key, name, at, time, event, elapsed_seconds, elapsed, source), timeline
    (at, time, elapsed_seconds, elapsed, kind, source, event, details, actor, by - the actor in one line),
    response (start, start_source, time_to_acknowledge, time_to_mitigate, time_to_resolve and their _seconds,
    last_update_at, longest_update_gap_seconds, targets - target, basis, limit, actual, result met/missed/unknown,
    final - and milestones - alert_triggered, declared, acknowledged, acknowledged_source, mitigated, mitigated_by,
    resolved), action_items (action, owner, due, status), review_due, review_due_hours, generated_at.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils import pir
from ansible_collections.clickview.runbook.plugins.module_utils.incident_record import IncidentError


def pir_document(record, review_hours=48, default_owner="@owner", action_due_days=14, overrides=None,
                 require_resolved=True):
    try:
        return pir.document(record, review_hours=int(review_hours), default_owner=default_owner,
                            action_due_days=int(action_due_days), overrides=overrides or [],
                            require_resolved=bool(require_resolved))
    except (pir.PirError, IncidentError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("pir_document: %s" % exc) from exc


class FilterModule:
    """Post-Incident Review filters."""

    def filters(self):
        return {"pir_document": pir_document}
