# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Incident records: one JSON file per incident, with its whole timeline.

Plain functions, testable without AnsibleModule:

* ``declare`` / ``update`` / ``resolve`` / ``append_event`` take the current record (or None)
  and return the new one; they never touch the disk and raise ``IncidentError`` naming the
  parameter at fault;
* ``transact`` loads a record under a lock file, applies one of them and, unless in check
  mode, writes the result atomically (temporary file in the same folder + ``os.replace``),
  so that concurrent writers (several playbooks appending to one incident) never lose an
  event or leave a half-written file.

Record layout (schema_version 2)::

    {id, title, severity (P1-P4), status, impact, alert, declared_at, updated_at,
     resolved_at, duration_seconds, next_update_at, root_cause, follow_up, service_restored,
     action_items: [{text, owner, due, status, closed_at, closed_by, note}],
     timeline: [{at, kind, source, event, details, actor}],
     milestones: {...}, response: {...}}

``milestones`` and ``response`` are computed from the timeline (``derive``) on every write, and again
when a record is read: the times come from what the systems recorded (the alert's ``startsAt`` kept
with the declaration, a delivered PagerDuty acknowledgement, the first remediation that verified, the
resolution), and the runbook's response times are checked against them. Schema 1 records (action items
as plain strings) are read as schema 2.

``actor`` (who acted and from where; see ``actor_from_vars``) is set on every event written
through the collection's action plugin; records written before it have events without one.

Timestamps are UTC, ISO 8601 with a ``Z`` suffix, to the second.

Storage: a folder (the default; ``transact``) or an S3 bucket (``S3Store`` and ``transact_s3``):
one object per incident, ``<prefix><id>.json``, written with S3 conditional writes
(``If-None-Match: *`` to create, ``If-Match: <ETag>`` to replace) and retried from a fresh read
when another writer got there first, so two CI stages appending at once both land.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import copy
import datetime
import errno
import fcntl
import getpass
import json
import os
import re
import socket
import time

from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError, atomic_write, utc_now
from ansible_collections.clickview.runbook.plugins.module_utils.runbook_thresholds import ACKNOWLEDGE_WITHIN, ESCALATE_AFTER, UPDATE_EVERY

SCHEMA_VERSION = 2
SEVERITIES = ('P1', 'P2', 'P3', 'P4')
# the runbook's update template: Investigating/Mitigating/Monitoring (+ Identified)
OPEN_STATUSES = ('investigating', 'identified', 'mitigating', 'monitoring')
STATUSES = OPEN_STATUSES + ('resolved',)
KINDS = ('action', 'finding', 'notification', 'status')
DEFAULT_SOURCE = 'clickview.runbook'
ID_PATTERN = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$')
TS_FORMAT = '%Y-%m-%dT%H:%M:%SZ'
# fields that make up "the same declaration": declaring again with these equal is a no-op
DECLARED_FIELDS = ('title', 'severity', 'impact', 'alert')
# the runbook's severity table: P1 Critical (5 min), P2 High (15 min), P3 Medium (1 h), P4 Low (24 h)
SEVERITY_NAMES = {'P1': 'Critical', 'P2': 'High', 'P3': 'Medium', 'P4': 'Low'}
# Who acted: the job metadata AWX / Automation Controller adds to every job's extra variables
# (UnifiedJob.awx_meta_vars and Job.awx_meta_vars in awx/main/models: each under an awx_ and a legacy
# tower_ name; the user_* ones only when a user launched the job, not for a schedule or a callback;
# awx_execution_node added by ansible/awx#13418, so absent on older servers). Looked up awx_ first, then tower_.
AWX_PREFIXES = ('awx', 'tower')
AWX_FIELDS = ('job_id', 'user_name', 'user_email', 'job_template_name', 'job_launch_type', 'workflow_job_id',
              'schedule_name', 'parent_job_schedule_name', 'execution_node')
# the variables actor_from_vars reads (the action plugin templates only these)
ACTOR_VARS = tuple('%s_%s' % (prefix, field) for field in AWX_FIELDS for prefix in AWX_PREFIXES) + ('change_reference',)
# Action items: the PIR template's "Action | Owner | Due Date | Status"; a plain string gets its owner from an
# @handle in its text (else none) and is due this many days after the resolution.
ITEM_STATUSES = ('open', 'done')
ITEM_FIELDS = ('text', 'owner', 'due', 'status', 'closed_at', 'closed_by', 'note')
DEFAULT_ACTION_DUE_DAYS = 14
DATE_FORMAT = '%Y-%m-%d'
OWNER_RE = re.compile(r'(?:^|\s)(@[A-Za-z0-9][\w.-]*)')
# The notifications that tell the incident's status (the runbook's initial, update and resolution messages).
UPDATE_MESSAGES = ('initial', 'update', 'resolution')
# How alert_response records the outcome of its resolution steps (roles/alert_response/tasks/common/finish.yml).
VERIFIED_REMEDIATION = re.compile(r'verified after the resolution steps: \S+ - outcome remediated\b')
FRACTION = re.compile(r'(T\d{2}:\d{2}:\d{2})\.\d+')


class IncidentError(ClickviewError):
    """Bad input or a state that does not allow the operation; names the parameter."""

    def __init__(self, param, message):
        super(IncidentError, self).__init__('%s: %s' % (param, message), param=param)


class IncidentNotFound(IncidentError):
    """No record exists for the incident id."""


# ---- time ----------------------------------------------------------------------------

def format_ts(value):
    return value.astimezone(datetime.timezone.utc).strftime(TS_FORMAT)


def parse_ts(value, param):
    """Parse an ISO 8601 timestamp (``Z`` or an offset; naive means UTC)."""
    if isinstance(value, datetime.datetime):
        parsed = value
    else:
        text = str(value or '').strip()
        if text.endswith(('Z', 'z')):
            text = text[:-1] + '+00:00'
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise IncidentError(param, 'not an ISO 8601 timestamp such as 2025-01-31T14:05:00Z, got %r' % (value,))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc).replace(microsecond=0)


def format_duration(seconds):
    """1h 23m, 45m 10s, 2d 3h 5m: the runbook's "Duration" line."""
    seconds = int(round(max(seconds or 0, 0)))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if days:
        parts.append('%dd' % days)
    if hours:
        parts.append('%dh' % hours)
    if minutes:
        parts.append('%dm' % minutes)
    if secs and not days and not hours:
        parts.append('%ds' % secs)
    return ' '.join(parts) or '0s'


def age_seconds(record, now=None):
    """Seconds since the declaration (until the resolution once resolved)."""
    if not record:
        return None
    end = parse_ts(record['resolved_at'], 'resolved_at') if record.get('resolved_at') else (now or utc_now())
    return int((end - parse_ts(record['declared_at'], 'declared_at')).total_seconds())


# ---- validation ----------------------------------------------------------------------

def validate_id(incident_id):
    if not isinstance(incident_id, str) or not ID_PATTERN.match(incident_id):
        raise IncidentError('incident_id', 'must be 1-128 characters of letters, digits, ".", "_" or "-", starting '
                                           'with a letter or digit (it names the record file), got %r' % (incident_id,))
    return incident_id


def _text(value, param, required=False):
    if value is None:
        if required:
            raise IncidentError(param, 'is required')
        return None
    text = str(value).strip()
    if required and not text:
        raise IncidentError(param, 'must not be empty')
    return text


def _severity(value, param='severity'):
    if value is None:
        return None
    text = str(value).strip().upper()
    if text not in SEVERITIES:
        raise IncidentError(param, 'must be one of %s (the runbook\'s severity table), got %r' % (', '.join(SEVERITIES), value))
    return text


def _os_user():
    try:
        return getpass.getuser()
    except Exception:  # pylint: disable=broad-except  # no passwd entry and no LOGNAME/USER (some containers)
        return 'uid:%d' % os.getuid()


def actor_from_vars(variables, getuser=None, gethostname=None):
    """Who runs this and from where, from the play's variables (the action plugin gives them).

    Under AWX / Automation Controller (a job id or a user name in its job metadata, awx_* or legacy
    tower_*): ``{user: the AWX user who launched the job (a scheduled job: "schedule:<name>"),
    via: "awx", job: the job id, host: the execution node, else this host's name, job_template,
    launch_type, workflow_job, email}`` (the last four only when AWX gives them). Else:
    ``{user: the OS user, via: "cli", job: None, host: this host's name}``. With a non-empty
    ``change_reference`` variable, the actor carries it too (the change the run is made under)."""
    variables = variables or {}
    getuser = getuser or _os_user
    gethostname = gethostname or socket.gethostname

    def awx(field):
        for prefix in AWX_PREFIXES:
            value = variables.get('%s_%s' % (prefix, field))
            if value is not None and str(value).strip():
                return value.strip() if isinstance(value, str) else value
        return None

    job, user = awx('job_id'), awx('user_name')
    if job is not None or user is not None:
        if isinstance(job, str) and job.isdigit():
            job = int(job)
        schedule = awx('schedule_name') or awx('parent_job_schedule_name')
        actor = {'user': str(user) if user is not None else ('schedule:%s' % schedule if schedule else getuser()),
                 'via': 'awx', 'job': job, 'host': str(awx('execution_node') or gethostname())}
        for key, field in (('job_template', 'job_template_name'), ('launch_type', 'job_launch_type'),
                           ('workflow_job', 'workflow_job_id'), ('email', 'user_email')):
            value = awx(field)
            if value is not None:
                actor[key] = value
    else:
        actor = {'user': getuser(), 'via': 'cli', 'job': None, 'host': gethostname()}
    change = variables.get('change_reference')
    if change is not None and str(change).strip():
        actor['change_reference'] = str(change).strip()
    return actor


def validate_actor(actor):
    """The actor of an event (a dictionary naming at least the user), or None when there is none."""
    if actor is None or actor == {}:
        return None
    if not isinstance(actor, dict):
        raise IncidentError('actor', 'must be a dictionary such as {user: alice, via: cli, job: null, host: ops-1}, got %s'
                            % type(actor).__name__)
    if not str(actor.get('user') or '').strip():
        raise IncidentError('actor', 'must name the user (actor.user), got %r' % (actor,))
    try:
        json.dumps(actor)
    except (TypeError, ValueError) as exc:
        raise IncidentError('actor', 'must be JSON-serialisable: %s' % exc)
    return copy.deepcopy(actor)


def actor_text(actor):
    """'alice (AWX job 42 on awx-ee-1, change CHG-1234)', 'bob@ops-1 (cli)': the actor in one line; '' when none."""
    if not actor:
        return ''
    if actor.get('via') == 'awx':
        where = 'AWX job %s' % actor.get('job') if actor.get('job') is not None else 'AWX'
        text = '%s (%s%s' % (actor.get('user'), where, ' on %s' % actor['host'] if actor.get('host') else '')
    else:
        text = '%s%s (%s' % (actor.get('user'), '@%s' % actor['host'] if actor.get('host') else '', actor.get('via') or 'cli')
    if actor.get('change_reference'):
        text += ', change %s' % actor['change_reference']
    return text + ')'


def make_event(at, event, kind='action', source=DEFAULT_SOURCE, details=None, actor=None):
    """One timeline entry, validated; with ``actor`` when one is given."""
    if kind not in KINDS:
        raise IncidentError('kind', 'must be one of %s, got %r' % (', '.join(KINDS), kind))
    event = _text(event, 'event', required=True)
    source = _text(source, 'source') or DEFAULT_SOURCE
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise IncidentError('details', 'must be a dictionary, got %s' % type(details).__name__)
    try:
        json.dumps(details)
    except (TypeError, ValueError) as exc:
        raise IncidentError('details', 'must be JSON-serialisable: %s' % exc)
    entry = {'at': format_ts(at), 'kind': kind, 'source': source, 'event': event, 'details': copy.deepcopy(details)}
    actor = validate_actor(actor)
    if actor:
        entry['actor'] = actor
    return entry


# ---- operations on records (pure) ----------------------------------------------------

def _require(current, incident_id):
    if current is None:
        raise IncidentNotFound('incident_id', 'no incident record for %r; declare it first (clickview.runbook.incident '
                                              'action=declare) or check incident_dir' % (incident_id,))


def declare(current, incident_id, title, severity, impact=None, alert=None, source=DEFAULT_SOURCE,
            declared_at=None, details=None, now=None, actor=None):
    """A new record, or the current one unchanged when declared again with the same content."""
    validate_id(incident_id)
    now = now or utc_now()
    wanted = {
        'title': _text(title, 'title', required=True),
        'severity': _severity(severity),
        'impact': _text(impact, 'impact') or '',
        'alert': _text(alert, 'alert') or '',
    }
    if wanted['severity'] is None:
        raise IncidentError('severity', 'is required to declare an incident (one of %s)' % ', '.join(SEVERITIES))
    if current is not None:
        for field in DECLARED_FIELDS:
            if current.get(field, '') != wanted[field]:
                raise IncidentError(field, 'incident %s is already declared with %s %r (asked %r); use action=update to '
                                           'change it, or choose another incident_id'
                                    % (incident_id, field, current.get(field, ''), wanted[field]))
        return current
    start = parse_ts(declared_at, 'declared_at') if declared_at else now
    if start > now + datetime.timedelta(minutes=5):
        raise IncidentError('declared_at', 'is in the future (%s)' % format_ts(start))
    record = {
        'schema_version': SCHEMA_VERSION,
        'id': incident_id,
        'title': wanted['title'],
        'severity': wanted['severity'],
        'status': 'investigating',
        'impact': wanted['impact'],
        'alert': wanted['alert'],
        'declared_at': format_ts(start),
        'updated_at': format_ts(now),
        'resolved_at': None,
        'duration_seconds': None,
        'next_update_at': None,
        'root_cause': None,
        'follow_up': None,
        'action_items': [],
        'timeline': [],
    }
    event_details = {'severity': wanted['severity'], 'impact': wanted['impact']}
    if wanted['alert']:
        event_details['alert'] = wanted['alert']
    event_details.update(details or {})
    if declared_at and start != now.replace(microsecond=0):
        event_details['recorded_at'] = format_ts(now)   # declared later (or earlier) than the incident started
    record['timeline'].append(make_event(start, 'Incident declared: %s (%s)' % (wanted['title'], wanted['severity']),
                                         kind='status', source=source, details=event_details, actor=actor))
    return _finish(record, now)


def update(current, incident_id, status=None, severity=None, impact=None, progress=None, next_update_at=None,
           source=DEFAULT_SOURCE, details=None, now=None, actor=None):
    """Change status/severity/impact and/or add a progress note; unchanged when nothing is new."""
    validate_id(incident_id)
    _require(current, incident_id)
    now = now or utc_now()
    if status is not None and status not in OPEN_STATUSES:
        raise IncidentError('status', 'must be one of %s (resolve with action=resolve), got %r'
                            % (', '.join(OPEN_STATUSES), status))
    if current['status'] == 'resolved':
        raise IncidentError('incident_id', 'incident %s was resolved at %s; declare a new incident (or append events '
                                           'with incident_event)' % (incident_id, current['resolved_at']))
    severity = _severity(severity)
    impact = _text(impact, 'impact')
    progress = _text(progress, 'progress')
    record = copy.deepcopy(current)
    events = []
    for field, value in (('status', status), ('severity', severity), ('impact', impact)):
        if value is not None and value != record.get(field):
            events.append(make_event(now, '%s changed from %s to %s' % (field.capitalize(), record.get(field) or '-', value),
                                     kind='status', source=source, details={field: value, 'previous': record.get(field)},
                                     actor=actor))
            record[field] = value
    if progress:
        last = [e for e in record['timeline'] if e['kind'] == 'action' and e['event'].startswith('Progress: ')]
        if not last or last[-1]['event'] != 'Progress: ' + progress or events:
            events.append(make_event(now, 'Progress: ' + progress, kind='action', source=source,
                                     details=dict(details or {}, status=record['status']), actor=actor))
    if next_update_at is not None:
        record['next_update_at'] = format_ts(parse_ts(next_update_at, 'next_update_at'))
    if not events and record == current:
        return current
    record['timeline'].extend(events)
    return _finish(record, now)


def resolve(current, incident_id, root_cause=None, follow_up=None, action_items=None, source=DEFAULT_SOURCE,
            resolved_at=None, details=None, now=None, actor=None, service_restored=None,
            action_item_due_days=DEFAULT_ACTION_DUE_DAYS):
    """Mark resolved with the duration; resolving again changes nothing unless new facts are given.

    ``action_items``: plain strings or dictionaries (see ``action_item``), due ``action_item_due_days``
    after the resolution unless they say. ``service_restored``: what confirmed the service restored
    (the restore check's decision), kept in the record and the resolution event."""
    validate_id(incident_id)
    _require(current, incident_id)
    now = now or utc_now()
    root_cause = _text(root_cause, 'root_cause')
    follow_up = _text(follow_up, 'follow_up')
    if service_restored is not None and not isinstance(service_restored, dict):
        raise IncidentError('service_restored', 'must be a dictionary, got %s' % type(service_restored).__name__)
    resolving = current['status'] != 'resolved'
    start = parse_ts(current['declared_at'], 'declared_at')
    if resolving:
        end = parse_ts(resolved_at, 'resolved_at') if resolved_at else now
        if end < start:
            raise IncidentError('resolved_at', 'is before the declaration (%s)' % current['declared_at'])
    else:
        end = parse_ts(current['resolved_at'], 'resolved_at')
    before_items = record_action_items(current)
    items = merge_action_items(before_items, action_items, end, action_item_due_days)
    record = copy.deepcopy(current)
    record['action_items'] = items
    if root_cause is not None:
        record['root_cause'] = root_cause
    if follow_up is not None:
        record['follow_up'] = follow_up
    if resolving:
        record['status'] = 'resolved'
        record['resolved_at'] = format_ts(end)
        record['duration_seconds'] = int((end - start).total_seconds())
        record['next_update_at'] = None
        event_details = {'duration_seconds': record['duration_seconds'], 'root_cause': record['root_cause'],
                         'follow_up': record['follow_up']}
        text = 'Incident resolved after %s' % format_duration(record['duration_seconds'])
        if service_restored is not None:
            record['service_restored'] = copy.deepcopy(service_restored)
            event_details['service_restored'] = copy.deepcopy(service_restored)
            if service_restored.get('forced'):
                failing = [str(c.get('check')) for c in service_restored.get('failing') or [] if isinstance(c, dict)]
                text += ' - forced while the service was not confirmed restored (%s): %s' % (
                    ', '.join(failing) or 'no check of area %s' % service_restored.get('area'),
                    service_restored.get('force_reason') or '')
        event_details.update(details or {})
        record['timeline'].append(make_event(end, text, kind='status', source=source, details=event_details, actor=actor))
    elif (items != before_items or record.get('root_cause') != current.get('root_cause')
          or record.get('follow_up') != current.get('follow_up')):
        record['timeline'].append(make_event(now, 'Resolution details updated', kind='action', source=source,
                                             details={'root_cause': record['root_cause'], 'follow_up': record['follow_up'],
                                                      'action_items': items}, actor=actor))
    else:
        return current
    return _finish(record, now)


def close_action_item(current, incident_id, item, note=None, source=DEFAULT_SOURCE, details=None, now=None, actor=None):
    """Mark one action item done (by its number, 1 first, or its text); closing a done item changes nothing."""
    validate_id(incident_id)
    _require(current, incident_id)
    now = now or utc_now()
    note = _text(note, 'note') or None
    items = record_action_items(current)
    index = find_action_item(items, item, incident_id)
    chosen = items[index]
    if chosen['status'] == 'done':
        return current
    chosen.update(status='done', closed_at=format_ts(now), closed_by=(actor or {}).get('user'))
    if note:
        chosen['note'] = note
    record = copy.deepcopy(current)
    record['action_items'] = items
    event_details = {'action_item': index + 1, 'text': chosen['text'], 'owner': chosen['owner'], 'due': chosen['due'],
                     'note': note}
    event_details.update(details or {})
    record['timeline'].append(make_event(now, 'Action item %d closed: %s' % (index + 1, chosen['text']), kind='action',
                                         source=source, details=event_details, actor=actor))
    return _finish(record, now)


def append_event(current, incident_id, event, kind='action', source=DEFAULT_SOURCE, details=None, now=None, actor=None):
    """The record with one more timeline entry, and that entry."""
    validate_id(incident_id)
    _require(current, incident_id)
    now = now or utc_now()
    entry = make_event(now, event, kind=kind, source=source, details=details, actor=actor)
    record = copy.deepcopy(current)
    record['timeline'].append(entry)
    return _finish(record, now), entry


# ---- action items ---------------------------------------------------------------------

def _due_date(value, param):
    """YYYY-MM-DD from a date, a YYYY-MM-DD text or an ISO 8601 timestamp."""
    if isinstance(value, datetime.datetime):
        return format_ts(value)[:10]
    if isinstance(value, datetime.date):
        return value.strftime(DATE_FORMAT)
    text = str(value).strip()
    try:
        return datetime.datetime.strptime(text, DATE_FORMAT).strftime(DATE_FORMAT)
    except ValueError:
        pass
    try:
        return format_ts(parse_ts(text, param))[:10]
    except IncidentError:
        raise IncidentError(param, 'must be a date such as 2025-02-14 (or an ISO 8601 timestamp), got %r' % (value,))


def action_item(value, resolved, due_days=DEFAULT_ACTION_DUE_DAYS, param='action_items'):
    """One action item ``{text, owner, due, status}`` from a plain string or a dictionary.

    A string is open, owned by the ``@handle`` in its text (else nobody: ``owner`` None) and due
    ``due_days`` after ``resolved``. A dictionary gives ``text`` (or ``action``, the PIR's name) and may
    give ``owner``, ``due`` (YYYY-MM-DD) and ``status`` (``open`` or ``done``)."""
    item = {}
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(ITEM_FIELDS) - set(['action']))
        if unknown:
            raise IncidentError(param, 'unknown key(s) %s; an action item has text (or action), owner, due (YYYY-MM-DD) '
                                       'and status (open or done)' % ', '.join(str(k) for k in unknown))
        text = _text(value['text'] if value.get('text') is not None else value.get('action'), param + '.text', required=True)
        owner = _text(value.get('owner'), param + '.owner') or None
        due = _due_date(value['due'], param + '.due') if str(value.get('due') or '').strip() else None
        status = str(value.get('status') or 'open').strip().lower()
        if status not in ITEM_STATUSES:
            raise IncidentError(param + '.status', 'must be open or done, got %r' % (value.get('status'),))
        item.update((key, value[key]) for key in ('closed_at', 'closed_by', 'note') if value.get(key) is not None)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text, owner, due, status = _text(value, param, required=True), None, None, 'open'
    else:
        raise IncidentError(param, 'an action item is a text or a dictionary {text, owner, due, status}, got %s'
                            % type(value).__name__)
    if owner is None:
        match = OWNER_RE.search(text)
        owner = match.group(1) if match else None
    if due is None:
        due = format_ts(resolved + datetime.timedelta(days=due_days))[:10]
    item.update(text=text, owner=owner, due=due, status=status)
    return item


def record_action_items(record, due_days=DEFAULT_ACTION_DUE_DAYS):
    """The record's action items as dictionaries; schema 1 records hold plain strings (due after the resolution)."""
    base = record.get('resolved_at') or record.get('declared_at')
    try:
        base = parse_ts(base, 'resolved_at') if base else utc_now()
    except IncidentError:
        base = utc_now()
    items = []
    for index, value in enumerate(record.get('action_items') or []):
        try:
            items.append(action_item(value, base, due_days, 'action_items[%d]' % index))
        except IncidentError:   # a hand-edited record: keep what it says
            items.append({'text': str(value), 'owner': None, 'due': None, 'status': 'open'})
    return items


def merge_action_items(items, given, resolved, due_days=DEFAULT_ACTION_DUE_DAYS):
    """``items`` with the ``given`` ones added (an item already there by its text is not added twice; a
    dictionary for it may set its owner and due date)."""
    merged = copy.deepcopy(items)
    for index, value in enumerate(given or []):
        item = action_item(value, resolved, due_days, 'action_items[%d]' % index)
        existing = [known for known in merged if known['text'] == item['text']]
        if not existing:
            merged.append(item)
        elif isinstance(value, dict):
            for key in ('owner', 'due'):
                if str(value.get(key) or '').strip():
                    existing[0][key] = item[key]
    return merged


def find_action_item(items, item, incident_id=''):
    """The position (0 first) of an action item given by its number (1 first, "#2" too) or its text."""
    text = _text(item, 'item', required=True)
    numbered = ['%d. %s' % (n, known['text']) for n, known in enumerate(items, 1)]
    if not items:
        raise IncidentError('item', 'incident %s has no action items' % incident_id)
    number = text.lstrip('#')
    if number.isdigit():
        if 1 <= int(number) <= len(items):
            return int(number) - 1
        raise IncidentError('item', 'incident %s has no action item %s; its items are %s'
                            % (incident_id, text, '; '.join(numbered)))
    wanted = text.casefold()
    for index, known in enumerate(items):
        if known['text'].strip().casefold() == wanted:
            return index
    raise IncidentError('item', 'incident %s has no action item %r; give its number or its exact text: %s'
                        % (incident_id, text, '; '.join(numbered)))


def open_action_items(record, today=None):
    """The open action items of a record, each with its ``number`` (1 first) and ``overdue`` (due before ``today``)."""
    today = _due_date(today or utc_now(), 'today')
    out = []
    for number, item in enumerate(record_action_items(record), 1):
        if item['status'] != 'done':
            out.append(dict(item, number=number, overdue=bool(item['due']) and item['due'] < today))
    return out


# ---- milestones, response times, reminders ----------------------------------------------

def _truthy(value):
    return value is True or str(value).strip().lower() in ('true', 'yes', '1')


def _moment(value, param='at'):
    """A timestamp, or None when there is none or it cannot be read (Alertmanager's nanoseconds are dropped)."""
    if not value:
        return None
    try:
        return parse_ts(FRACTION.sub(r'\1', str(value).strip()), param)
    except IncidentError:
        return None


def _events(record):
    """(moment, event) of the timeline's entries with a readable time, in time order (ties: as recorded)."""
    out = []
    for index, event in enumerate(record.get('timeline') or []):
        moment = _moment(event.get('at')) if isinstance(event, dict) else None
        if moment is not None:
            out.append((moment, index, event))
    out.sort(key=lambda entry: (entry[0], entry[1]))
    return [(moment, event) for moment, _index, event in out]


def _declaration(record):
    for event in record.get('timeline') or []:
        if isinstance(event, dict) and event.get('kind') == 'status' and str(event.get('event', '')).startswith('Incident declared'):
            return event
    return None


def is_pager_acknowledge(event):
    """A delivered PagerDuty acknowledgement: kind notification, details {channel: pager, action (or
    pager_action): acknowledge, delivered: true}."""
    details = event.get('details') or {}
    return (event.get('kind') == 'notification' and details.get('channel') == 'pager'
            and 'acknowledge' in (details.get('action'), details.get('pager_action')) and _truthy(details.get('delivered')))


def is_verified_remediation(event):
    """A remediation whose verification found the alert cleared (alert_response: outcome remediated)."""
    if event.get('kind') not in ('finding', 'action'):
        return False
    details = event.get('details') or {}
    if str(details.get('outcome') or '').strip().lower() == 'remediated':
        return True
    return bool(VERIFIED_REMEDIATION.search(str(event.get('event') or '')))


def is_update(event):
    """An event that told the incident's status: a status change (declared, re-classified, resolved), a progress
    note, or a delivered initial/update/resolution message."""
    kind, details = event.get('kind'), event.get('details') or {}
    if kind == 'status':
        return True
    if kind == 'action' and str(event.get('event') or '').startswith('Progress: '):
        return True
    return kind == 'notification' and details.get('message') in UPDATE_MESSAGES and _truthy(details.get('delivered'))


def _declared(record, declaration):
    """When the incident was declared: the declaration's recorded_at (a back-dated declaration), else its time."""
    details = (declaration or {}).get('details') or {}
    for value in (details.get('recorded_at'), (declaration or {}).get('at'), record.get('declared_at')):
        moment = _moment(value)
        if moment is not None:
            return moment
    return None


def _marks(record):
    """The milestones as datetimes, with where each came from."""
    declaration = _declaration(record)
    events = _events(record)
    declared = _declared(record, declaration)
    alert = _moment(((declaration or {}).get('details') or {}).get('alert_starts_at'))
    ack = next(((moment, event) for moment, event in events if is_pager_acknowledge(event)), None)
    mitigated = next(((moment, event) for moment, event in events if is_verified_remediation(event)), None)
    return {
        'alert_triggered': alert,
        'declared': declared,
        'acknowledged': ack[0] if ack else declared,
        'acknowledged_source': 'pagerduty' if ack else 'declare',
        'mitigated': mitigated[0] if mitigated else None,
        'mitigated_by': mitigated[1].get('event') if mitigated else None,
        'resolved': _moment(record.get('resolved_at')) if record.get('status') == 'resolved' else None,
        'start': alert or _moment(record.get('declared_at')) or declared,
        'start_source': 'alert' if alert else 'declared',
    }


def milestones(record):
    """``{alert_triggered, declared, acknowledged, acknowledged_source, mitigated, mitigated_by, resolved}``.

    alert_triggered: the alert's startsAt kept with the declaration (else None); declared: when the declaration
    was recorded; acknowledged: the first delivered PagerDuty acknowledgement, else the declaration
    (acknowledged_source ``pagerduty`` or ``declare``); mitigated: the first remediation that verified (else
    None); resolved: the resolution (None while open). Times as ISO 8601 text."""
    marks = _marks(record)
    return dict((key, format_ts(value) if isinstance(value, datetime.datetime) else value)
                for key, value in marks.items() if key not in ('start', 'start_source'))


def update_moments(record):
    """The times the incident's status was told, oldest first (the declaration at the time it was recorded)."""
    declaration = _declaration(record)
    moments = []
    for moment, event in _events(record):
        if event is declaration:
            moments.append(_declared(record, declaration) or moment)
        elif is_update(event):
            moments.append(moment)
    return sorted(moments)


def _span(seconds):
    return format_duration(seconds) if seconds is not None else None


def _elapsed_seconds(later, earlier):
    if later is None or earlier is None:
        return None
    return max(int((later - earlier).total_seconds()), 0)


def response(record, now=None):
    """Time to acknowledge / mitigate / resolve (from the alert's start, else the incident's) and the runbook's
    response times checked against them: ``targets`` [{target, basis, limit_seconds, actual_seconds, result
    (met, missed or unknown), final}]. While the incident is open the update target counts the time since the
    last update too (``final`` false: it may still be missed)."""
    now = now or utc_now()
    marks = _marks(record)
    start = marks['start']
    resolved = marks['resolved']
    end = resolved or now
    figures = {
        'start': format_ts(start) if start else None,
        'start_source': marks['start_source'],
        'time_to_acknowledge_seconds': _elapsed_seconds(marks['acknowledged'], start),
        'time_to_mitigate_seconds': _elapsed_seconds(marks['mitigated'], start),
        'time_to_resolve_seconds': _elapsed_seconds(resolved, start),
    }
    for name in ('acknowledge', 'mitigate', 'resolve'):
        figures['time_to_%s' % name] = _span(figures['time_to_%s_seconds' % name])
    moments = [moment for moment in update_moments(record) if moment <= end]
    gaps = [_elapsed_seconds(later, earlier) for earlier, later in zip(moments, moments[1:] + [end])]
    figures['last_update_at'] = format_ts(moments[-1]) if moments else None
    figures['longest_update_gap_seconds'] = max(gaps) if gaps else None

    severity = record.get('severity')
    limit = ACKNOWLEDGE_WITHIN.get(severity)
    took = figures['time_to_acknowledge_seconds']
    ack_source = 'the PagerDuty acknowledgement' if marks['acknowledged_source'] == 'pagerduty' else \
        'the declaration (no PagerDuty acknowledgement recorded)'
    targets = [{
        'target': 'acknowledge',
        'basis': '%s: acknowledge within %s (the runbook\'s severity table), measured from %s to %s' % (
            severity_label(severity) or 'no severity', _span(limit) or '-',
            'the alert\'s start' if marks['start_source'] == 'alert' else 'the incident\'s start', ack_source),
        'limit_seconds': limit,
        'actual_seconds': took,
        'result': 'unknown' if limit is None or took is None else ('met' if took <= limit else 'missed'),
        'final': True,
        'source': marks['acknowledged_source'],
    }]
    gap = figures['longest_update_gap_seconds']
    targets.append({
        'target': 'updates',
        'basis': 'communicate status every %s (Incident Response, 3. MITIGATE): the longest time without an update'
                 % _span(UPDATE_EVERY),
        'limit_seconds': UPDATE_EVERY,
        'actual_seconds': gap,
        'result': 'unknown' if gap is None else ('met' if gap <= UPDATE_EVERY else 'missed'),
        'final': resolved is not None or (gap is not None and gap > UPDATE_EVERY),
    })
    for target in targets:
        target['limit'] = _span(target['limit_seconds'])
        target['actual'] = _span(target['actual_seconds'])
    figures['targets'] = targets
    figures['computed_at'] = format_ts(now)
    return figures


def derive(record, now=None):
    """A copy of the record with its computed parts: action items as dictionaries, ``milestones`` and ``response``."""
    if not record:
        return record
    out = copy.deepcopy(record)
    out['action_items'] = record_action_items(record)
    out['milestones'] = milestones(record)
    out['response'] = response(record, now)
    return out


def _finish(record, now):
    """A changed record as written: its schema, its time of change and its computed parts."""
    record['schema_version'] = SCHEMA_VERSION
    record['updated_at'] = format_ts(now)
    return derive(record, now)


def _last(events, message):
    moments = [moment for moment, event in events if (event.get('details') or {}).get('message') == message]
    return moments[-1] if moments else None


def reminders(record, now=None, escalate_after=ESCALATE_AFTER, update_every=UPDATE_EVERY):
    """Whether an open incident is due a reminder: ``escalation`` once it is open for ``escalate_after`` seconds
    ("escalate if blocked > 30 minutes"), ``update_reminder`` once its last update is ``update_every`` seconds old
    ("communicate status every 15 minutes"); each again at most every that many seconds (a previous
    reminder is a notification whose details.message is escalation or reminder). 0 switches one off."""
    now = now or utc_now()
    out = {'id': record.get('id'), 'title': record.get('title'), 'severity': record.get('severity'),
           'open': record.get('status') != 'resolved', 'escalation': False, 'update_reminder': False,
           'age_seconds': None, 'since_update_seconds': None, 'age': None, 'since_update': None, 'last_update_at': None,
           'reasons': []}
    if not out['open']:
        return out
    events = _events(record)
    start = _moment(record.get('declared_at'))
    moments = update_moments(record)
    last_update = moments[-1] if moments else start
    out['age_seconds'] = _elapsed_seconds(now, start)
    out['since_update_seconds'] = _elapsed_seconds(now, last_update)
    out['age'], out['since_update'] = _span(out['age_seconds']), _span(out['since_update_seconds'])
    out['last_update_at'] = format_ts(last_update) if last_update else None

    def due(elapsed, limit, previous):
        return bool(limit) and elapsed is not None and elapsed >= limit and (
            previous is None or _elapsed_seconds(now, previous) >= limit)

    if due(out['age_seconds'], escalate_after, _last(events, 'escalation')):
        out['escalation'] = True
        out['reasons'].append('open for %s (escalate when blocked > %s)' % (_span(out['age_seconds']), _span(escalate_after)))
    if due(out['since_update_seconds'], update_every, _last(events, 'reminder')):
        out['update_reminder'] = True
        out['reasons'].append('no update for %s (communicate status every %s)'
                              % (_span(out['since_update_seconds']), _span(update_every)))
    return out


# ---- storage -------------------------------------------------------------------------

def record_path(incident_dir, incident_id):
    return os.path.join(incident_dir, validate_id(incident_id) + '.json')


def load(incident_dir, incident_id):
    """The stored record, or None when there is none."""
    path = record_path(incident_dir, incident_id)
    try:
        with open(path, 'r', encoding='utf-8') as handle:
            record = json.load(handle)
    except IOError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise IncidentError('incident_dir', 'cannot read %s: %s' % (path, exc.strerror))
    except ValueError as exc:
        raise IncidentError('incident_dir', '%s is not a valid incident record (JSON: %s)' % (path, exc))
    if not isinstance(record, dict) or record.get('id') != incident_id or not isinstance(record.get('timeline'), list):
        raise IncidentError('incident_dir', '%s is not an incident record for %s' % (path, incident_id))
    return record


def write(incident_dir, incident_id, record):
    """Write atomically: a temporary file in the same folder, fsync, then rename over the record."""
    path = record_path(incident_dir, incident_id)
    return atomic_write(path, json.dumps(record, indent=2, sort_keys=True) + '\n', mode=0o640)


@contextlib.contextmanager
def locked(incident_dir, incident_id, timeout=30.0):
    """Exclusive lock on ``<incident_dir>/.<id>.lock`` (flock), waiting up to ``timeout`` seconds."""
    lock_path = os.path.join(incident_dir, '.%s.lock' % validate_id(incident_id))
    handle = open(lock_path, 'a')
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise IncidentError('incident_id', 'another run holds the lock %s for more than %ds' % (lock_path, timeout))
                time.sleep(0.05)
        yield
    finally:
        handle.close()


def transact(incident_dir, incident_id, operation, check_mode=False, create_dir=False, lock_timeout=30.0):
    """Load, apply ``operation(current) -> new`` and write when changed.

    Returns ``(before, after, changed)``. In check mode nothing is created, locked or written.
    """
    validate_id(incident_id)
    if not incident_dir:
        raise IncidentError('incident_dir', 'must not be empty')
    if not os.path.isdir(incident_dir):
        if os.path.exists(incident_dir):
            raise IncidentError('incident_dir', '%s exists and is not a folder' % incident_dir)
        if not create_dir or check_mode:
            if check_mode and create_dir:
                before = None
                after = operation(before)
                return before, after, after is not None
            raise IncidentNotFound('incident_id', 'no incident record for %r: folder %s does not exist (declare the '
                                                  'incident first, or check incident_dir)' % (incident_id, incident_dir))
        try:
            os.makedirs(incident_dir, 0o750)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise IncidentError('incident_dir', 'cannot create %s: %s' % (incident_dir, exc.strerror))
    if not os.access(incident_dir, os.W_OK if not check_mode else os.R_OK):
        raise IncidentError('incident_dir', '%s is not %s' % (incident_dir, 'readable' if check_mode else 'writable'))
    if not create_dir and not os.path.exists(record_path(incident_dir, incident_id)):
        _require(None, incident_id)   # fail before creating a lock file
    if check_mode:
        before = load(incident_dir, incident_id)
        after = operation(before)
        return before, after, after != before
    with locked(incident_dir, incident_id, lock_timeout):
        before = load(incident_dir, incident_id)
        after = operation(before)
        changed = after != before
        if changed:
            write(incident_dir, incident_id, after)
    return before, after, changed


def severity_label(severity):
    """'P2 High': the severity as the runbook's table names it."""
    return ('%s %s' % (severity, SEVERITY_NAMES[severity])).strip() if severity in SEVERITY_NAMES else (severity or '')


# ---- S3 storage ----------------------------------------------------------------------

def _s3_error(exc):
    """(code, HTTP status) of a botocore ClientError, else (None, None)."""
    response = getattr(exc, 'response', None) or {}
    return (response.get('Error', {}).get('Code'), response.get('ResponseMetadata', {}).get('HTTPStatusCode'))


class S3Store(object):
    """One JSON object per incident in an S3 bucket; ``client`` is a boto3 S3 client."""

    def __init__(self, client, bucket, prefix=''):
        if not bucket:
            raise IncidentError('s3_bucket', 'is required with storage=s3')
        self.client = client
        self.bucket = bucket
        self.prefix = prefix or ''

    def key(self, incident_id):
        return '%s%s.json' % (self.prefix, validate_id(incident_id))

    def location(self, incident_id):
        return 's3://%s/%s' % (self.bucket, self.key(incident_id))

    def _fail(self, exc, what, incident_id):
        code, status = _s3_error(exc)
        if code in ('NoSuchBucket',):
            raise IncidentError('s3_bucket', 'bucket %s does not exist' % self.bucket)
        raise IncidentError('s3_bucket', 'cannot %s %s: %s' % (what, self.location(incident_id), code or status or exc))

    def load(self, incident_id):
        """``(record, etag)``; ``(None, None)`` when there is no object."""
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self.key(incident_id))
            body = obj['Body'].read()
        except Exception as exc:  # pylint: disable=broad-except
            code, status = _s3_error(exc)
            if code in ('NoSuchKey', '404') or (status == 404 and code != 'NoSuchBucket'):
                return None, None
            if code is None:
                raise
            self._fail(exc, 'read', incident_id)
        try:
            record = json.loads(body.decode('utf-8'))
        except ValueError as exc:
            raise IncidentError('s3_bucket', '%s is not a valid incident record (JSON: %s)' % (self.location(incident_id), exc))
        if not isinstance(record, dict) or record.get('id') != incident_id or not isinstance(record.get('timeline'), list):
            raise IncidentError('s3_bucket', '%s is not an incident record for %s' % (self.location(incident_id), incident_id))
        return record, obj.get('ETag')

    def ids(self):
        """The incident ids of the records under the prefix (every page of the listing)."""
        found = []
        token = None
        while True:
            kwargs = dict(Bucket=self.bucket, Prefix=self.prefix)
            if token:
                kwargs['ContinuationToken'] = token
            try:
                page = self.client.list_objects_v2(**kwargs)
            except Exception as exc:  # pylint: disable=broad-except
                code, status = _s3_error(exc)
                if code is None:
                    raise
                if code == 'NoSuchBucket':
                    raise IncidentError('s3_bucket', 'bucket %s does not exist' % self.bucket)
                raise IncidentError('s3_bucket', 'cannot list s3://%s/%s: %s' % (self.bucket, self.prefix, code or status))
            for obj in page.get('Contents', []):
                name = obj['Key'][len(self.prefix):]
                if name.endswith('.json') and '/' not in name and ID_PATTERN.match(name[:-5]):
                    found.append(name[:-5])
            token = page.get('NextContinuationToken')
            if not page.get('IsTruncated') or not token:
                return found

    def put(self, incident_id, record, etag):
        """Write only if the object is still the one read (``etag``; None = only if there is none).

        Returns False when another writer changed it in between (the caller reads again)."""
        body = (json.dumps(record, indent=2, sort_keys=True) + '\n').encode('utf-8')
        condition = {'IfMatch': etag} if etag else {'IfNoneMatch': '*'}
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key(incident_id), Body=body,
                                   ContentType='application/json', **condition)
        except Exception as exc:  # pylint: disable=broad-except
            code, status = _s3_error(exc)
            if code in ('PreconditionFailed', 'ConditionalRequestConflict') or status in (409, 412):
                return False
            if code is None:
                raise
            self._fail(exc, 'write', incident_id)
        return True


def transact_s3(store, incident_id, operation, check_mode=False, create=False, attempts=20):
    """``transact`` for S3: read, apply ``operation(current) -> new``, write conditionally.

    A conditional write that loses to another writer is retried from a fresh read (the operations
    are pure functions of the current record, so applying one again is safe). Returns
    ``(before, after, changed)``."""
    validate_id(incident_id)
    for attempt in range(attempts):
        before, etag = store.load(incident_id)
        if before is None and not create:
            _require(None, incident_id)
        after = operation(before)
        changed = after != before
        if check_mode or not changed:
            return before, after, changed
        if store.put(incident_id, after, etag):
            return before, after, changed
        time.sleep(min(0.05 * (attempt + 1), 0.5))
    raise IncidentError('incident_id', 'incident %s changed under this run %d times in a row at %s; try again'
                        % (incident_id, attempts, store.location(incident_id)))


# ---- where the record lives: the modules' common options -------------------------------

def storage_argument_spec():
    """Options of the incident modules that choose the storage; merge into their argument_spec."""
    return dict(
        incident_dir=dict(type='path'),
        storage=dict(type='str', choices=['file', 's3'], default='file'),
        s3_bucket=dict(type='str'),
        s3_prefix=dict(type='str', default='incidents/'),
    )


class Storage(object):
    """The record's place from the module parameters: a folder, or S3 (``s3_client`` makes the client)."""

    def __init__(self, params, s3_client=None):
        self.kind = params.get('storage') or 'file'
        self.incident_dir = params.get('incident_dir') or ''
        self.store = None
        if self.kind == 's3':
            if not params.get('s3_bucket'):
                raise IncidentError('s3_bucket', 'is required with storage=s3')
            self.store = S3Store(s3_client(), params['s3_bucket'], params.get('s3_prefix'))
        elif not self.incident_dir:
            raise IncidentError('incident_dir', 'is required with storage=file (the folder holding the incident records)')

    def location(self, incident_id):
        return self.store.location(incident_id) if self.store else record_path(self.incident_dir, incident_id)

    def load(self, incident_id):
        if self.store:
            return self.store.load(incident_id)[0]
        return load(self.incident_dir, incident_id)

    def list(self):
        """Every record, oldest declaration first, and ``{id: reason}`` for records that could not be read."""
        if self.store:
            ids = self.store.ids()
        elif os.path.isdir(self.incident_dir):
            ids = [name[:-5] for name in os.listdir(self.incident_dir)
                   if name.endswith('.json') and ID_PATTERN.match(name[:-5])]
        else:
            ids = []
        records, unreadable = [], {}
        for incident_id in sorted(ids):
            try:
                record = self.load(incident_id)
            except IncidentError as exc:
                unreadable[incident_id] = str(exc)
                continue
            if record:
                records.append(record)
        records.sort(key=lambda record: (record.get('declared_at') or '', record['id']))
        return records, unreadable

    def transact(self, incident_id, operation, check_mode=False, create=False, lock_timeout=30.0):
        if self.store:
            return transact_s3(self.store, incident_id, operation, check_mode=check_mode, create=create)
        return transact(self.incident_dir, incident_id, operation, check_mode=check_mode, create_dir=create,
                        lock_timeout=lock_timeout)


def summary(record, now=None):
    """Derived figures the roles use in messages: age, human duration, open or not."""
    if not record:
        return {}
    age = age_seconds(record, now)
    return {
        'age_seconds': age,
        'age_human': format_duration(age),
        'open': record['status'] != 'resolved',
        'duration_human': format_duration(record['duration_seconds']) if record.get('duration_seconds') is not None else None,
        'events': len(record['timeline']),
        'severity_label': severity_label(record.get('severity')),
    }
