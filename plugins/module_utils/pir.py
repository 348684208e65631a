# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The runbook's Post-Incident Review from an incident record (clickview.runbook.incident):
summary with the computed duration, the five milestones of the PIR timeline, every recorded
event in time order with its offset from the start, the response figures (time to acknowledge,
mitigate, resolve, from the milestones the systems recorded) checked against the runbook's
response times, action items with owner, due date and status, and the review's due date (the
runbook's "schedule within 48 hours of resolution").
Used by the clickview.runbook.pir_document filter; no Ansible imports, unit-testable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.clickview.runbook.plugins.module_utils import incident_record as ir
from ansible_collections.clickview.runbook.plugins.module_utils.incident_record import actor_text, format_duration, format_ts, parse_ts
from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError

# The PIR template's timeline rows; an event may name its milestone with details.milestone (but the
# acknowledgement, which is PagerDuty's, else the declaration's).
MILESTONES = (
    ("alert", "Alert triggered"),
    ("acknowledged", "On-call acknowledged"),
    ("root_cause", "Root cause identified"),
    ("mitigation", "Mitigation applied"),
    ("restored", "Service restored"),
)
OWNER_RE = ir.OWNER_RE


class PirError(ClickviewError):
    """A record the PIR cannot be written from; the message names the problem."""


def _elapsed(start, moment):
    seconds = int((moment - start).total_seconds())
    return seconds, ("-" if seconds < 0 else "+") + format_duration(abs(seconds))


def _first(events, test):
    for event in events:
        if test(event):
            return event
    return None


def _milestone(events, name):
    return _first(events, lambda e: (e.get("details") or {}).get("milestone") == name)


def milestones(record, events):
    """[{key, name, at, event, source}] of the PIR template's five rows; at is None when not recorded.

    Alert triggered: the alert's startsAt kept with the declaration, else an event marked alert, else the
    incident's start. On-call acknowledged: the first delivered PagerDuty acknowledgement, else the
    declaration (when it was recorded), said so."""
    declared = parse_ts(record["declared_at"], "declared_at")
    marks = ir.milestones(record)
    found = {}
    alert = _milestone(events, "alert")
    if marks["alert_triggered"]:
        found["alert"] = (parse_ts(marks["alert_triggered"], "alert_starts_at"), "Alert %s fired (Alertmanager startsAt)"
                          % (record.get("alert") or ""), "alertmanager")
    elif alert:
        found["alert"] = (alert["_at"], alert["event"], "timeline")
    else:
        found["alert"] = (declared, "Alert %s fired" % record["alert"] if record.get("alert") else "Incident declared",
                          "declared")
    ack = _first(events, ir.is_pager_acknowledge)
    if ack:
        found["acknowledged"] = (ack["_at"], ack["event"], "pagerduty")
    else:
        found["acknowledged"] = (parse_ts(marks["declared"], "declared") if marks["declared"] else None,
                                 "Incident declared (no PagerDuty acknowledgement recorded)", "declare")
    cause = _milestone(events, "root_cause") or _first(
        events, lambda e: e["kind"] == "status" and e["event"].endswith(" to identified"))
    found["root_cause"] = (cause["_at"], cause["event"], "timeline") if cause else (None, "", None)
    mitigation = _milestone(events, "mitigation") or _first(
        events, lambda e: e["kind"] == "action" and not e["event"].startswith(("Progress: ", "Resolution details")))
    mitigation = mitigation or _first(events, lambda e: e["kind"] == "status" and e["event"].endswith(" to mitigating"))
    found["mitigation"] = (mitigation["_at"], mitigation["event"], "timeline") if mitigation else (None, "", None)
    restored = _milestone(events, "restored")
    if restored:
        found["restored"] = (restored["_at"], restored["event"], "timeline")
    elif record.get("resolved_at"):
        found["restored"] = (parse_ts(record["resolved_at"], "resolved_at"), "Incident resolved", "resolution")
    else:
        found["restored"] = (None, "", None)
    rows = []
    for key, name in MILESTONES:
        moment, text, source = found[key]
        row = dict(key=key, name=name, at=format_ts(moment) if moment else None,
                   time=moment.strftime("%H:%M") if moment else "not recorded", event=text,
                   elapsed_seconds=None, elapsed=None, source=source)
        if moment:
            row["elapsed_seconds"], row["elapsed"] = _elapsed(declared, moment)
        rows.append(row)
    return rows


def action_items(record, overrides, default_owner, due_date, base=None, due_days=14):
    """[{action, owner, due, status}] from the record's items (each with its owner, due date and status; a plain
    text item: an @handle in the text is the owner, due ``due_date``) and the caller's overrides
    ({action, owner, due, status}, matched by action text, or new)."""
    items = []
    by_action = dict((o.get("action"), o) for o in overrides or [] if o.get("action"))
    base = base or datetime.datetime.now(datetime.timezone.utc)
    for index, raw in enumerate(record.get("action_items") or []):
        try:
            known = ir.action_item(raw, base, due_days, "action_items[%d]" % index)
        except ir.IncidentError:
            known = dict(text=str(raw), owner=None, due=None, status="open")
        item = dict(action=known["text"], owner=known["owner"] or default_owner, due=known["due"] or due_date,
                    status="Done" if known["status"] == "done" else "Open")
        item.update(dict((k, v) for k, v in (by_action.pop(known["text"], {}) or {}).items() if v))
        items.append(item)
    for extra in overrides or []:
        if extra.get("action") in by_action:
            item = dict(action=extra["action"], owner=default_owner, due=due_date, status="Open")
            item.update(dict((k, v) for k, v in extra.items() if v))
            items.append(item)
    return items


def document(record, review_hours=48, default_owner="@owner", action_due_days=14, overrides=None,
             require_resolved=True, now=None):
    """Everything the PIR markdown and JSON show, as data."""
    if not record or not record.get("id"):
        raise PirError("incident record is empty: no such incident")
    if require_resolved and record.get("status") != "resolved":
        raise PirError("incident %s is not resolved (status %s): the review is held after resolution"
                       % (record["id"], record.get("status")))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    declared = parse_ts(record["declared_at"], "declared_at")
    resolved = parse_ts(record["resolved_at"], "resolved_at") if record.get("resolved_at") else None
    end = resolved or now
    events = []
    for index, event in enumerate(record.get("timeline") or []):
        if "pir" in (event.get("details") or {}):
            continue  # the review's own drafting is not part of the incident
        events.append(dict(event, _at=parse_ts(event["at"], "timeline[%d].at" % index), _index=index))
    events.sort(key=lambda e: (e["_at"], e["_index"]))
    timeline = []
    for event in events:
        seconds, text = _elapsed(declared, event["_at"])
        timeline.append(dict(at=event["at"], time=event["_at"].strftime("%H:%M:%S"), elapsed_seconds=seconds,
                             elapsed=text, kind=event["kind"], source=event.get("source", ""), event=event["event"],
                             details=event.get("details") or {}, actor=event.get("actor") or {},
                             by=actor_text(event.get("actor"))))
    base = resolved or now
    review_due = base + datetime.timedelta(hours=review_hours)
    due_date = (base + datetime.timedelta(days=action_due_days)).strftime("%Y-%m-%d")
    duration = int((end - declared).total_seconds())
    return dict(
        incident_id=record["id"], title=record.get("title", ""), severity=record.get("severity"),
        status=record.get("status"), impact=record.get("impact") or "", alert=record.get("alert") or "",
        root_cause=record.get("root_cause") or "", follow_up=record.get("follow_up") or "",
        service_restored=record.get("service_restored") or None,
        started_at=format_ts(declared), resolved_at=format_ts(resolved) if resolved else None,
        date=declared.strftime("%Y-%m-%d %H:%M UTC"),
        duration_seconds=duration, duration_human=format_duration(duration) + ("" if resolved else " (ongoing)"),
        milestones=milestones(record, events), timeline=timeline,
        response=dict(ir.response(record, now), milestones=ir.milestones(record)),
        action_items=action_items(record, overrides, default_owner, due_date, base=base, due_days=action_due_days),
        review_due=format_ts(review_due), review_due_hours=review_hours,
        generated_at=format_ts(now),
    )


def chart_window(doc, margin_minutes=15, points=120, min_step=15, now=None):
    """The time range and step of the PIR's error-ratio chart, and its markers, from a document().

    From ``margin_minutes`` before the earliest milestone (the alert, else the declaration) to as long after
    the resolution (an open incident: up to now), never past now; the step is the range over ``points``
    samples, at least ``min_step`` seconds, so the range query stays small (Prometheus answers at most
    11,000 points). The markers are the recorded milestones: {at, label}. Returns {start, end, step, markers}
    with start and end in epoch seconds."""
    if margin_minutes < 0 or points < 2 or min_step < 1:
        raise PirError("chart window: margin_minutes must be >= 0, points >= 2 and min_step >= 1")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    moments = [parse_ts(doc["started_at"], "started_at")]
    markers = []
    for row in doc.get("milestones") or []:
        if row.get("at"):
            moments.append(parse_ts(row["at"], "milestones.at"))
            markers.append({"at": row["at"], "label": row["name"]})
    end = parse_ts(doc["resolved_at"], "resolved_at") if doc.get("resolved_at") else now
    margin = datetime.timedelta(minutes=margin_minutes)
    start = min(moments) - margin
    end = min(max(end, *moments) + margin, now)
    start_s, end_s = int(start.timestamp()), int(end.timestamp())
    if end_s <= start_s:
        end_s = start_s + min_step
    step = max(min_step, -(-(end_s - start_s) // (points - 1)))
    return {"start": start_s, "end": end_s, "step": step, "markers": markers}
