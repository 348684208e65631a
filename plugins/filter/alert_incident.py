# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether an alert-started run declares an incident, joins the open one for the same alert, or neither."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
name: alert_incident
author: ClickView Platform Team
version_added: 0.3.0
short_description: Declare an incident for a P1/P2 alert, or join the open one for the same alert fingerprint
description:
  - An alert playbook started by event-driven automation (C(clickview_alert)) for an alert of severity P1 or P2 (the
    runbook's critical and high) runs under an incident. This filter decides which, from the alert and the incident records
    (M(clickview.runbook.incident) with O(clickview.runbook.incident#module:action=list)).
  - An open record (not resolved) whose declaration carries the same alert fingerprint (Alertmanager's hash of the alert's
    label set) is joined - a re-notified, flapping or re-fired alert never opens a second incident while the first is open.
  - Otherwise the decision is to declare one. Its id is derived from the alert (C(INC-<startsAt>-<alertname>-<fingerprint>))
    so two runs for the same firing that race both arrive at the same record (declaring it again with the same content
    changes nothing). It starts at the alert's C(startsAt), and the declaration keeps the fingerprint. When that id
    belongs to an incident already resolved while the alert kept firing, the new one gets the suffix C(-r2), C(-r3)...
  - No alert, an alert without a fingerprint, or a severity outside O(severities) decides V(none); so does an incident id
    the caller gave already (RV(_value.action=given)).
options:
  _input:
    description: The alert (C(clickview_alert) - C(alertname), C(severity), C(fingerprint), C(starts_at), C(summary),
      C(labels)); empty or null when the run was not started by an alert.
    type: dict
    required: true
  records:
    description: The incident records (RV(clickview.runbook.incident#module:records)).
    type: list
    elements: dict
    default: []
  incident_id:
    description: The incident id the caller gave (C(alert_response_incident_id)); non-empty wins.
    type: str
    default: ''
  severities:
    description: The severities that run under an incident.
    type: list
    elements: str
    default: [P1, P2]
"""

EXAMPLES = r"""
- name: Decide the incident of an alert-started run
  ansible.builtin.set_fact:
    decision: "{{ clickview_alert | clickview.runbook.alert_incident(listed.records) }}"
    # {'action': 'declare', 'incident_id': 'INC-20261206-161503-highmemoryusage-3f9c2a1b', 'severity': 'P2', ...}
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    action:
      description: V(declare), V(join), V(given) (the caller's id) or V(none).
      type: str
    incident_id:
      description: The incident to run under; empty with V(none).
      type: str
    reason:
      description: The decision in words.
      type: str
    title:
      description: With V(declare), the incident's title (the alert's summary, else its name).
      type: str
    severity:
      description: With V(declare), the alert's severity.
      type: str
    impact:
      description: With V(declare), the alert's summary.
      type: str
    alert:
      description: With V(declare), the alert's name.
      type: str
    declared_at:
      description: With V(declare), the alert's C(startsAt) to the second (UTC), or empty.
      type: str
    details:
      description: With V(declare), what the declaration keeps of the alert (C(alert_fingerprint), C(alert_starts_at)).
      type: dict
"""

_STARTS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]00:00)$")


def _fingerprint_of(record):
    for event in record.get("timeline") or []:
        fingerprint = (event.get("details") or {}).get("alert_fingerprint")
        if fingerprint:
            return str(fingerprint)
    return ""


def alert_incident(alert, records=None, incident_id="", severities=("P1", "P2")):
    """The decision (see DOCUMENTATION)."""
    if str(incident_id or "").strip():
        return {"action": "given", "incident_id": str(incident_id).strip(), "reason": "the incident id given by the caller"}
    alert = alert if isinstance(alert, dict) else {}
    labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
    name = str(alert.get("alertname") or labels.get("alertname") or "").strip()
    fingerprint = str(alert.get("fingerprint") or "").strip()
    severity = str(alert.get("severity") or labels.get("severity") or "").strip().upper()
    if not name or not fingerprint:
        return {"action": "none", "incident_id": "", "reason": "not started by an alert"}
    if severity not in severities:
        reason = "%s is %s: an incident is declared for %s alerts" % (
            name, severity or "without severity", "/".join(severities))
        return {"action": "none", "incident_id": "", "reason": reason}
    for record in records or []:
        if record.get("status") != "resolved" and _fingerprint_of(record) == fingerprint:
            return {"action": "join", "incident_id": record["id"],
                    "reason": "the open incident %s of the same alert (fingerprint %s)" % (record["id"], fingerprint)}
    match = _STARTS.match(str(alert.get("starts_at") or ""))
    declared_at = "%s-%s-%sT%s:%s:%sZ" % match.groups()[:6] if match else ""
    stamp = "".join(match.groups()[:3]) + "-" + "".join(match.groups()[3:6]) if match else "unknown"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "alert"
    new_id = "INC-%s-%s-%s" % (stamp, slug, re.sub(r"[^A-Za-z0-9]", "", fingerprint)[:12])
    taken = set(str(record.get("id")) for record in records or [])
    if new_id in taken:   # resolved while the alert kept firing: a new incident, not the closed record
        new_id = next("%s-r%d" % (new_id, n) for n in range(2, len(taken) + 3) if "%s-r%d" % (new_id, n) not in taken)
    summary = str(alert.get("summary") or "").strip()
    return {"action": "declare", "incident_id": new_id,
            "reason": "%s %s fired (fingerprint %s) and no open incident has it" % (severity, name, fingerprint),
            "title": summary or name, "severity": severity, "impact": summary, "alert": name,
            "declared_at": declared_at,
            "details": {"alert_fingerprint": fingerprint, "alert_starts_at": str(alert.get("starts_at") or "")}}


class FilterModule:
    """Alert incident filters."""

    def filters(self):
        return {"alert_incident": alert_incident}
