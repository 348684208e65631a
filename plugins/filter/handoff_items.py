# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an on-call shift hands over: its incidents, open action items, alerts, expiring blocks and certificates."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.waf_block_expiries import waf_block_expiries
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.incident_record import open_action_items

DOCUMENTATION = r"""
name: handoff_items
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The item lists of the weekly on-call handoff
description:
  - "The shift's incidents are those declared since O(since), and those declared before that are still
    open (inherited). C(declared) counts the first kind; C(resolved) and C(open) count all of them by status."
  - Open action items are listed for every incident record that has any open, whenever it was declared - only those
    whose status is C(open) (an item closed with C(incident_action_item_close.yml) is left out), each with its number,
    owner and due date, C(overdue) when due before O(now). Records written before action items had an owner and a due
    date (plain texts) count them as open, due 14 days after the resolution.
  - The alerts fired are the distinct C(alertname)s of the Prometheus rows.
  - A WAF block or a certificate is expiring when it expires at or before O(until). IP sets that could not be
    read (no C(tags) in their result) and certificates without C(status.notAfter) are left out.
  - Times are compared as UTC ISO 8601 strings (C(%Y-%m-%dT%H:%M:%SZ)).
options:
  _input:
    description: The incident records (as M(clickview.runbook.incident) C(action=list) returns them).
    type: list
    elements: dict
    required: true
  since:
    description: Start of the shift.
    type: str
    required: true
  until:
    description: End of the look-ahead for expiring blocks and certificates.
    type: str
    required: true
  now:
    description: The handoff's time (UTC, ISO 8601); an action item due before its date is overdue. Defaults to now.
    type: str
  alerts:
    description: The C(metric) of each row of the Prometheus query of the alerts that fired.
    type: list
    elements: dict
    default: []
  ip_sets:
    description: The C(results) of C(community.aws.wafv2_ip_set_info) run in a loop.
    type: list
    elements: dict
    default: []
  certificates:
    description: The cert-manager C(Certificate) resources.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: The handoff's item lists
  ansible.builtin.set_fact:
    items: >-
      {{ records | clickview.runbook.handoff_items(since='2026-01-01T09:00:00Z', until='2026-01-15T09:00:00Z',
           alerts=alert_rows, ip_sets=ipsets.results, certificates=certs.resources) }}
"""

RETURN = r"""
_value:
  description: The lists.
  type: dict
  contains:
    incidents:
      description: C(declared), C(resolved) and C(open) counts, and C(list), the shift's incidents oldest first, each
        C({id, title, severity, status, declared_at, resolved_at, duration_seconds}).
      type: dict
    open_action_items:
      description:
        - C({incident, title, items}) for each record with open action items; each item
          C({number, text, owner, due, status, overdue}) (C(owner) null when unknown).
      type: list
      elements: dict
    action_items_overdue:
      description: How many of the open action items are overdue.
      type: int
    alerts_fired:
      description: The names of the alerts that fired, sorted.
      type: list
      elements: str
    alerts_fired_detail:
      description: The Prometheus rows as given.
      type: list
      elements: dict
    waf_blocks_expiring:
      description: C({address, expires}) of each temporary block expiring by O(until), set by set, soonest first.
      type: list
      elements: dict
    certificates_expiring:
      description: C({name, not_after}) of each certificate expiring by O(until).
      type: list
      elements: dict
    certificates_checked:
      description: How many certificates had an expiry to check.
      type: int
    checks:
      description:
        - The handoff as checks in the shape of every report row (C({check, target, status, figure, threshold, detail,
          value, unit}), the value how many there are, the unit C(count)),
          for its JUnit file - C(handoff.open_incidents), C(handoff.open_action_items) and
          C(handoff.certificates_expiring) are C(WARN) when there is any (something the next shift must pick up),
          C(handoff.alerts_fired) and C(handoff.waf_blocks_expiring) are C(OK) and say how many.
      type: list
      elements: dict
"""

INCIDENT_FIELDS = ("id", "title", "severity", "status", "declared_at", "resolved_at", "duration_seconds")


def _declared_in_shift(record, since):
    return str(record.get("declared_at") or "") >= since


def shift_incidents(records, since):
    """The records declared since `since`, then the older ones still open."""
    records = records or []
    return ([record for record in records if _declared_in_shift(record, since)]
            + [record for record in records if not _declared_in_shift(record, since) and record.get("status") != "resolved"])


def _not_after(certificate):
    status = certificate.get("status")
    return status.get("notAfter") if isinstance(status, dict) else None


def _row(check, items, threshold, warn, names):
    count = len(items)
    figure = "%d%s" % (count, (": " + ", ".join(str(name) for name in names[:10])) if names else "")
    return check_row(check, "the next shift", "WARN" if warn and count else "OK", figure, threshold,
                     value=count, unit="count")


def handoff_checks(items):
    """The handoff's lists as report rows (see RETURN, checks)."""
    open_ids = [incident["id"] for incident in items["incidents"]["list"] if incident.get("status") != "resolved"]
    actions = [item for entry in items["open_action_items"] for item in entry["items"]]
    return [
        _row("handoff.open_incidents", open_ids, "none open", True, open_ids),
        _row("handoff.open_action_items", actions, "none open", True,
             ["%s #%s%s" % (entry["incident"], item["number"], " (overdue)" if item["overdue"] else "")
              for entry in items["open_action_items"] for item in entry["items"]]),
        _row("handoff.certificates_expiring", items["certificates_expiring"], "none expiring before the shift ends", True,
             [certificate["name"] for certificate in items["certificates_expiring"]]),
        _row("handoff.alerts_fired", items["alerts_fired"], "for information", False, items["alerts_fired"]),
        _row("handoff.waf_blocks_expiring", items["waf_blocks_expiring"], "for information", False,
             [block.get("address") for block in items["waf_blocks_expiring"]]),
    ]


def handoff_items(records, since, until, alerts=None, ip_sets=None, certificates=None, now=None):
    """The handoff's incidents, open action items, alerts, and blocks and certificates expiring by `until`."""
    actions = [{"incident": record.get("id"), "title": record.get("title"), "items": open_action_items(record, today=now)}
               for record in records or [] if record.get("action_items")]
    actions = [entry for entry in actions if entry["items"]]
    incidents = shift_incidents(records, since)
    blocks = [block for ip_set in ip_sets or [] if "tags" in ip_set for block in waf_block_expiries(ip_set["tags"])]
    dated = [certificate for certificate in certificates or [] if _not_after(certificate) is not None]
    alerts = alerts or []
    items = {
        "incidents": {
            "declared": len([record for record in incidents if _declared_in_shift(record, since)]),
            "resolved": len([record for record in incidents if record.get("status") == "resolved"]),
            "open": len([record for record in incidents if record.get("status") != "resolved"]),
            "list": [{field: record.get(field) for field in INCIDENT_FIELDS}
                     for record in sorted(incidents, key=lambda record: str(record.get("declared_at") or ""))],
        },
        "open_action_items": actions,
        "action_items_overdue": len([item for entry in actions for item in entry["items"] if item["overdue"]]),
        "alerts_fired": sorted({row["alertname"] for row in alerts if row.get("alertname")}),
        "alerts_fired_detail": alerts,
        "waf_blocks_expiring": [block for block in blocks if block["expires"] <= until],
        "certificates_expiring": [{"name": (certificate.get("metadata") or {}).get("name"), "not_after": _not_after(certificate)}
                                  for certificate in dated if str(_not_after(certificate)) <= until],
        "certificates_checked": len(dated),
    }
    items["checks"] = handoff_checks(items)
    return items


class FilterModule:
    """On-call handoff filters."""

    def filters(self):
        return {"handoff_items": handoff_items}
