#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: incident
short_description: Declare, update, resolve or read an incident record that persists between runs
version_added: 0.1.0
description:
  - The record behind the runbook's "Incident Response" - one JSON file per incident, C(<incident_dir>/<incident_id>.json),
    holding the declaration (title, severity P1-P4, impact, alert), the current status, the resolution (time, duration,
    root cause, follow-up, action items) and a timeline of every event.
  - Separate runs (separate AWX jobs, separate CI stages, separate playbooks) work on the same record; the alert playbooks
    append their findings and actions with M(clickview.runbook.incident_event).
  - Every write happens under an exclusive lock file (C(<incident_dir>/.<incident_id>.lock)) and goes to a temporary file
    that is renamed over the record, so concurrent writers never lose an event and readers never see a half-written file.
  - With O(storage=s3) the record is the object C(<s3_prefix><incident_id>.json) of O(s3_bucket) instead, for runs on
    different machines (CI stages, AWX execution nodes). Writes are S3 conditional writes (C(If-None-Match) to create,
    C(If-Match) with the ETag read to replace); a write that loses to another writer is applied again to a fresh read,
    so concurrent writers never lose an event there either.
  - O(action=declare) with the same title, severity, impact and alert as the existing record changes nothing; with
    different ones it fails (use O(action=update)).
  - O(action=update) records each changed field and the progress note as timeline events; repeating the last progress note
    with nothing else changed is a no-op.
  - O(action=resolve) sets the status to V(resolved), the resolution time and the duration; resolving again changes nothing
    unless a new root cause, follow-up or action item is given.
  - O(action=close_item) marks one action item done (by its number or its text) and records it in the timeline; closing
    an item that is done already changes nothing.
  - "Every record returned and written carries its milestones and response figures, computed from the timeline
    (RV(record.milestones), RV(record.response)): when the alert fired (its C(startsAt), kept with the declaration as
    C(details.alert_starts_at)), when the incident was declared, when it was acknowledged (the first delivered PagerDuty
    acknowledgement, a C(notification) event with C(details) C({channel: pager, action: acknowledge, delivered: true}),
    else the declaration), when it was mitigated (the first remediation that verified, outcome C(remediated)) and
    resolved; and the runbook's response times checked against them - acknowledge within the severity's response time
    (P1 5 minutes, P2 15 minutes, P3 1 hour, P4 24 hours), an update at least every 15 minutes."
author:
  - ClickView Platform Team (@clickview)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - clickview.runbook.aws
  - clickview.runbook.incident_storage
  - clickview.runbook.incident_actor
attributes:
  check_mode:
    support: full
    description: Nothing is created, locked or written; the result holds the record as it would be.
  diff_mode:
    support: full
    description: Before and after of the record, as JSON.
options:
  incident_dir:
    description:
      - Folder holding the incident records on the host the module runs on (usually the controller or an AWX execution node).
      - Created (mode 0750) by O(action=declare) when missing.
      - Required with O(storage=file); left out, the inventory's C(clickview_incident_dir).
    type: path
  incident_id:
    description:
      - Identifier of the incident, for example V(INC-20250131-api-errors). It names the record file.
      - 1-128 characters of letters, digits, C(.), C(_) or C(-), starting with a letter or digit.
      - Required, except with O(action=list).
    type: str
  action:
    description:
      - V(declare) creates the record (status V(investigating)).
      - V(update) changes status, severity or impact and/or adds a progress note.
      - V(resolve) marks the incident resolved and computes its duration.
      - V(read) returns the record (RV(exists=false) when there is none); it never changes anything.
      - V(list) returns every record of the folder or the bucket's prefix in RV(records) (for reports such as the
        on-call handoff); it never changes anything.
      - V(close_item) marks the action item O(item) done.
    type: str
    choices: [ declare, update, resolve, read, list, close_item ]
    default: read
  title:
    description:
      - The brief description used in every message (C(INCIDENT - <title>)). Required with O(action=declare).
    type: str
  severity:
    description:
      - The runbook's severity - V(P1) critical (service down, data loss, security breach), V(P2) high (degraded performance,
        partial outage), V(P3) medium (non-critical errors, capacity warnings), V(P4) low (informational).
      - Required with O(action=declare); with O(action=update) it re-classifies the incident.
    type: str
    choices: [ P1, P2, P3, P4 ]
  impact:
    description:
      - Affected users or services.
    type: str
  alert:
    description:
      - Name of the alert that triggered the incident, if any (O(action=declare) only).
    type: str
  status:
    description:
      - New status with O(action=update). Use O(action=resolve) to resolve.
    type: str
    choices: [ investigating, identified, mitigating, monitoring ]
  progress:
    description:
      - What was tried or learned, with O(action=update) (the runbook's "Progress" line).
    type: str
  next_update_at:
    description:
      - When the next update is due, ISO 8601 (for example V(2025-01-31T14:30:00Z)); stored with O(action=declare) and
        O(action=update).
    type: str
  declared_at:
    description:
      - When the incident started, ISO 8601, if earlier than now (O(action=declare) only). Defaults to now.
    type: str
  resolved_at:
    description:
      - When service was restored, ISO 8601, if earlier than now (O(action=resolve) only). Defaults to now.
    type: str
  root_cause:
    description:
      - Brief explanation of the root cause, with O(action=resolve).
    type: str
  follow_up:
    description:
      - Follow-up ticket link, with O(action=resolve).
    type: str
  action_items:
    description:
      - Follow-up action items, with O(action=resolve). Items already recorded (same text) are not added twice; a
        dictionary for one may change its owner or due date.
      - Each is a text (open; its owner the C(@handle) in it, else none; due O(action_item_due_days) after the
        resolution) or a dictionary with C(text) (or C(action)), and optionally C(owner), C(due) (YYYY-MM-DD) and
        C(status) (V(open) or V(done)).
    type: list
    elements: raw
    default: []
  action_item_due_days:
    description:
      - Days after the resolution an action item is due when it does not say, with O(action=resolve).
    type: int
    default: 14
  item:
    description:
      - The action item to close with O(action=close_item) - its number (V(1) is the first; V(#1) too) or its exact text
        (case does not matter).
    type: str
  note:
    description:
      - Why or how the item was closed (a ticket, a pull request), with O(action=close_item); kept with the item.
    type: str
  service_restored:
    description:
      - What confirmed the service restored, with O(action=resolve) (the decision of the C(clickview.runbook.restore_check)
        filter - area, checks, failing checks, and when forced the reason). Kept in the record and the resolution event
        when the incident is resolved; a forced resolution names the failing checks and the reason in the event's text.
    type: dict
  source:
    description:
      - Who or what made the change, recorded in the timeline (a playbook name, a user, an AWX job).
    type: str
    default: clickview.runbook
  details:
    description:
      - Extra data attached to the timeline event this call adds.
    type: dict
    default: {}
  lock_timeout:
    description:
      - Seconds to wait for another writer's lock before failing.
    type: int
    default: 30
notes:
  - With O(storage=file) the folder is on the host the module runs on. For separate AWX jobs or CI stages it must be shared
    between them (a persistent volume, an NFS mount); O(storage=s3) needs no shared folder.
  - The AWS options and boto3 are used only with O(storage=s3); it needs C(s3:GetObject) and C(s3:PutObject) on the prefix.
  - Timestamps are UTC, ISO 8601 with a C(Z) suffix, to the second.
seealso:
  - module: clickview.runbook.incident_event
'''

EXAMPLES = r'''
- name: Declare the incident
  clickview.runbook.incident:
    incident_dir: /var/lib/clickview-runbook/incidents
    incident_id: INC-20250131-api-errors
    action: declare
    title: API error rate above 5 %
    severity: P2
    impact: about 30 % of API requests fail for all customers
    alert: High Error Rate
    next_update_at: "2025-01-31T14:30:00Z"

- name: Post an update
  clickview.runbook.incident:
    incident_dir: /var/lib/clickview-runbook/incidents
    incident_id: INC-20250131-api-errors
    action: update
    status: mitigating
    progress: rolled back clickview-backend to revision 41; error ratio falling

- name: Resolve it
  clickview.runbook.incident:
    incident_dir: /var/lib/clickview-runbook/incidents
    incident_id: INC-20250131-api-errors
    action: resolve
    root_cause: a bad release of clickview-backend
    follow_up: https://tracker.example/OPS-1234
    action_items:
      - add a canary stage for backend releases
  register: resolved

- name: Read the record
  clickview.runbook.incident:
    incident_dir: /var/lib/clickview-runbook/incidents
    incident_id: INC-20250131-api-errors
  register: incident

- name: Append to the same incident from another CI stage, the record kept in S3
  clickview.runbook.incident:
    storage: s3
    s3_bucket: clickview-runbook-incidents
    region: eu-west-1
    incident_id: INC-20250131-api-errors
    action: update
    progress: error ratio back under 1 %

- name: Every incident on record, wherever the inventory keeps them (folder or S3)
  clickview.runbook.incident:
    action: list
  register: incidents
'''

RETURN = r'''
records:
  description:
    - With O(action=list), every incident record found, oldest declaration first (each as in RV(record)).
  returned: when O(action=list)
  type: list
  elements: dict
  sample: [{"id": "INC-20250131-api-errors", "severity": "P2", "status": "resolved", "timeline": []}]
unreadable:
  description: With O(action=list), the records that could not be read, by incident id, with the reason.
  returned: when O(action=list)
  type: dict
  sample: {"INC-20250130-broken": "incident_dir: /var/lib/clickview-runbook/incidents/INC-20250130-broken.json is not a valid incident record"}
exists:
  description: Whether a record exists (after the call; in check mode, whether it would).
  returned: always
  type: bool
  sample: true
record_path:
  description: The record file, or with O(storage=s3) its C(s3://<bucket>/<key>) address.
  returned: always
  type: str
  sample: /var/lib/clickview-runbook/incidents/INC-20250131-api-errors.json
severity_label:
  description: The severity with its name in the runbook's table (V(P1 Critical), V(P2 High), V(P3 Medium), V(P4 Low)).
  returned: when a record exists
  type: str
  sample: P2 High
record:
  description: The record after the call (as it would be in check mode); empty when there is none.
  returned: always
  type: dict
  contains:
    id:
      description: The incident id.
      type: str
      sample: INC-20250131-api-errors
    title:
      description: Brief description.
      type: str
      sample: API error rate above 5 %
    severity:
      description: P1 to P4.
      type: str
      sample: P2
    status:
      description: V(investigating), V(identified), V(mitigating), V(monitoring) or V(resolved).
      type: str
      sample: mitigating
    impact:
      description: Affected users or services.
      type: str
      sample: about 30 % of API requests fail
    alert:
      description: Triggering alert, or empty.
      type: str
      sample: High Error Rate
    declared_at:
      description: When the incident started.
      type: str
      sample: '2025-01-31T14:02:11Z'
    updated_at:
      description: Last change of the record.
      type: str
      sample: '2025-01-31T14:20:40Z'
    resolved_at:
      description: When it was resolved, or null.
      type: str
      sample: '2025-01-31T15:25:00Z'
    duration_seconds:
      description: Resolution time minus declaration time, or null while open.
      type: int
      sample: 4969
    next_update_at:
      description: When the next update is due, or null.
      type: str
      sample: '2025-01-31T14:45:00Z'
    root_cause:
      description: Root cause, or null.
      type: str
      sample: a bad release of clickview-backend
    follow_up:
      description: Follow-up ticket link, or null.
      type: str
      sample: https://tracker.example/OPS-1234
    action_items:
      description: Follow-up action items (records written before 0.3.0 held texts; they are returned as dictionaries).
      type: list
      elements: dict
      contains:
        text:
          description: The action.
          type: str
          sample: add a canary stage for backend releases
        owner:
          description: Who owns it (a C(@handle)), or null when unknown.
          type: str
          sample: '@platform'
        due:
          description: Due date, YYYY-MM-DD.
          type: str
          sample: '2025-02-14'
        status:
          description: V(open) or V(done).
          type: str
          sample: open
        closed_at:
          description: When it was closed.
          type: str
          returned: when done by O(action=close_item)
          sample: '2025-02-10T09:00:00Z'
        closed_by:
          description: Who closed it (the actor's user).
          type: str
          returned: when done by O(action=close_item)
          sample: alice
        note:
          description: The O(note) given when it was closed.
          type: str
          returned: when given
          sample: https://tracker.example/OPS-1240
    service_restored:
      description: The O(service_restored) given at the resolution.
      type: dict
      returned: when resolved with it
      sample: {area: api, restored: true, forced: false, checked: 4, failing: [], summary: 'service restored in area api'}
    milestones:
      description:
        - The incident's milestones from the timeline (ISO 8601, null when not recorded) - V(alert_triggered) (the alert's
          startsAt), V(declared) (when the declaration was recorded), V(acknowledged) and V(acknowledged_source)
          (V(pagerduty), else V(declare)), V(mitigated) (the first remediation that verified) and V(mitigated_by) (its
          event), V(resolved).
      type: dict
      sample: {alert_triggered: '2025-01-31T14:00:00Z', declared: '2025-01-31T14:02:11Z', acknowledged: '2025-01-31T14:03:40Z',
               acknowledged_source: pagerduty, mitigated: '2025-01-31T14:20:40Z', mitigated_by: null, resolved: null}
    response:
      description:
        - The response figures, from the alert's start (else the incident's) - C(start), C(start_source), C(time_to_acknowledge),
          C(time_to_mitigate), C(time_to_resolve) (each also in C(*_seconds); null when not reached), C(last_update_at),
          C(longest_update_gap_seconds), C(computed_at).
        - C(targets), the runbook's response times checked - C(acknowledge) (the severity's response time) and C(updates)
          (every 15 minutes) - each C({target, basis, limit, limit_seconds, actual, actual_seconds, result, final}), result
          V(met), V(missed) or V(unknown); C(final) is false while the result may still change.
      type: dict
      sample: {time_to_acknowledge_seconds: 209, targets: [{target: acknowledge, limit_seconds: 900, result: met}]}
    timeline:
      description: Every event, oldest first.
      type: list
      elements: dict
      contains:
        at:
          description: When (UTC).
          type: str
          sample: '2025-01-31T14:05:00Z'
        kind:
          description: V(action), V(finding), V(notification) or V(status).
          type: str
          sample: status
        source:
          description: Who or what recorded it.
          type: str
          sample: playbooks/incident_update.yml
        event:
          description: One line.
          type: str
          sample: Status changed from investigating to mitigating
        details:
          description: Structured data.
          type: dict
          sample: {status: mitigating, previous: investigating}
        actor:
          description:
            - Who recorded it and from where (see O(actor)); absent on events recorded before the collection kept it.
          type: dict
          returned: when known
          sample: {user: bob, via: cli, job: null, host: ops-laptop, change_reference: CHG-1234}
events:
  description: The timeline events this call added (or would add).
  returned: always
  type: list
  elements: dict
  sample: [{at: '2025-01-31T14:20:40Z', kind: action, source: clickview.runbook, event: 'Progress: rolled back', details: {}}]
age_seconds:
  description: Seconds since the declaration (until the resolution once resolved); null when there is no record.
  returned: always
  type: int
  sample: 1110
age_human:
  description: RV(age_seconds) as text.
  returned: when a record exists
  type: str
  sample: 18m 30s
duration_human:
  description: The duration as text once resolved (the runbook's "Duration" line), else null.
  returned: when a record exists
  type: str
  sample: 1h 22m
open:
  description: Whether the incident is not resolved.
  returned: when a record exists
  type: bool
  sample: true
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: 'INC-20250131-api-errors: declared (P2)'
'''

import json

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clickview.runbook.plugins.module_utils import incident_record as ir
from ansible_collections.clickview.runbook.plugins.module_utils.aws import aws_retry_argument_spec
from ansible_collections.clickview.runbook.plugins.module_utils.aws import client as aws_client
from ansible_collections.clickview.runbook.plugins.module_utils.common import fail

ONLY_WITH = {
    'title': ('declare',), 'alert': ('declare',), 'declared_at': ('declare',),
    'status': ('update',), 'progress': ('update',),
    'resolved_at': ('resolve',), 'root_cause': ('resolve',), 'follow_up': ('resolve',), 'service_restored': ('resolve',),
    'item': ('close_item',), 'note': ('close_item',),
    'next_update_at': ('declare', 'update'), 'severity': ('declare', 'update'), 'impact': ('declare', 'update'),
}


def argument_spec():
    spec = dict(
        incident_id=dict(type='str'),
        action=dict(type='str', choices=['declare', 'update', 'resolve', 'read', 'list', 'close_item'], default='read'),
        title=dict(type='str'),
        severity=dict(type='str', choices=list(ir.SEVERITIES)),
        impact=dict(type='str'),
        alert=dict(type='str'),
        status=dict(type='str', choices=list(ir.OPEN_STATUSES)),
        progress=dict(type='str'),
        next_update_at=dict(type='str'),
        declared_at=dict(type='str'),
        resolved_at=dict(type='str'),
        root_cause=dict(type='str'),
        follow_up=dict(type='str'),
        action_items=dict(type='list', elements='raw', default=[]),
        action_item_due_days=dict(type='int', default=ir.DEFAULT_ACTION_DUE_DAYS),
        item=dict(type='str'),
        note=dict(type='str'),
        service_restored=dict(type='dict'),
        source=dict(type='str', default=ir.DEFAULT_SOURCE),
        details=dict(type='dict', default={}),
        actor=dict(type='dict'),
        lock_timeout=dict(type='int', default=30),
    )
    spec.update(ir.storage_argument_spec())
    spec.update(aws_retry_argument_spec())
    return spec


def operation(params, now):
    """The pure function transact() applies, for the requested action."""
    action = params['action']
    incident_id = params['incident_id']
    common = dict(source=params['source'], details=params['details'], now=now, actor=params['actor'])
    if action == 'declare':
        def run(current):
            record = ir.declare(current, incident_id, params['title'], params['severity'], impact=params['impact'],
                                alert=params['alert'], declared_at=params['declared_at'], **common)
            if current is None and params['next_update_at']:
                record['next_update_at'] = ir.format_ts(ir.parse_ts(params['next_update_at'], 'next_update_at'))
            return record
    elif action == 'update':
        def run(current):
            return ir.update(current, incident_id, status=params['status'], severity=params['severity'],
                             impact=params['impact'], progress=params['progress'],
                             next_update_at=params['next_update_at'], **common)
    elif action == 'resolve':
        def run(current):
            return ir.resolve(current, incident_id, root_cause=params['root_cause'], follow_up=params['follow_up'],
                              action_items=params['action_items'], resolved_at=params['resolved_at'],
                              service_restored=params['service_restored'],
                              action_item_due_days=params['action_item_due_days'], **common)
    elif action == 'close_item':
        def run(current):
            return ir.close_action_item(current, incident_id, params['item'], note=params['note'], **common)
    else:
        def run(current):
            return current
    return run


def check_params(params):
    action = params['action']
    for name, actions in ONLY_WITH.items():
        if params[name] is not None and action not in actions:
            raise ir.IncidentError(name, 'is only used with action=%s (action is %s)' % (' or action='.join(actions), action))
    if params['action_items'] and action != 'resolve':
        raise ir.IncidentError('action_items', 'is only used with action=resolve (action is %s)' % action)
    if action == 'declare':
        for name in ('title', 'severity'):
            if not params[name]:
                raise ir.IncidentError(name, 'is required with action=declare')
    if action == 'close_item' and not str(params['item'] or '').strip():
        raise ir.IncidentError('item', 'is required with action=close_item (the number or the text of the action item)')
    if params['action_item_due_days'] < 0:
        raise ir.IncidentError('action_item_due_days', 'must be 0 or more, got %d' % params['action_item_due_days'])
    if action == 'resolve':
        ir.merge_action_items([], params['action_items'], ir.utc_now(), params['action_item_due_days'])  # validate
    if action == 'update' and not any(params[n] is not None for n in ('status', 'severity', 'impact', 'progress', 'next_update_at')):
        raise ir.IncidentError('progress', 'action=update needs at least one of status, severity, impact, progress, next_update_at')
    ir.validate_actor(params['actor'])
    if params['lock_timeout'] < 0:
        raise ir.IncidentError('lock_timeout', 'must be 0 or more, got %d' % params['lock_timeout'])
    for name in ('next_update_at', 'declared_at', 'resolved_at'):
        if params[name] is not None:
            ir.parse_ts(params[name], name)


def as_text(record):
    return json.dumps(record, indent=2, sort_keys=True) + '\n' if record else ''


def list_records(module, params):
    """action=list: every record of the storage; changes nothing."""
    try:
        for name in [n for n in ONLY_WITH if params[n] is not None] + (['action_items'] if params['action_items'] else []):
            raise ir.IncidentError(name, 'is not used with action=list')
        records, unreadable = ir.Storage(params, s3_client=lambda: aws_client(module, 's3')).list()
    except ir.IncidentError as exc:
        fail(module, exc, records=[], unreadable={})
    except (IOError, OSError) as exc:
        module.fail_json(msg='incident_dir: cannot use %s: %s' % (params['incident_dir'], to_native(exc)), records=[],
                         unreadable={})
    open_count = sum(1 for record in records if record.get('status') != 'resolved')
    msg = '%d incident records (%d open)' % (len(records), open_count)
    if unreadable:
        msg += ', %d unreadable' % len(unreadable)
    now = ir.utc_now()
    module.exit_json(changed=False, records=[ir.derive(record, now) for record in records], unreadable=unreadable, msg=msg)


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True, check_boto3=False,
                              required_if=[('action', action, ['incident_id'])
                                           for action in ('declare', 'update', 'resolve', 'read', 'close_item')])
    params = module.params
    if params['action'] == 'list':
        list_records(module, params)
    incident_dir = params['incident_dir']
    incident_id = params['incident_id']
    path = ''
    try:
        ir.validate_id(incident_id)
        check_params(params)
        now = ir.utc_now()
        if params['action'] == 'read' and params['storage'] == 'file' and not incident_dir:
            before = after = None
        else:
            storage = ir.Storage(params, s3_client=lambda: aws_client(module, 's3'))
            path = storage.location(incident_id)
            if params['action'] == 'read':
                before = after = storage.load(incident_id)
                changed = False
            else:
                before, after, changed = storage.transact(incident_id, operation(params, now), check_mode=module.check_mode,
                                                          create=params['action'] == 'declare',
                                                          lock_timeout=float(params['lock_timeout']))
        if after is None:
            changed = False
    except ir.IncidentError as exc:
        fail(module, exc, record_path=path)
    except (IOError, OSError) as exc:
        module.fail_json(msg='incident_dir: cannot use %s: %s' % (incident_dir, to_native(exc)), record_path=path)

    known = len(before['timeline']) if before else 0
    result = dict(
        changed=changed,
        exists=after is not None,
        record_path=path,
        record=ir.derive(after, now) if after else {},
        events=after['timeline'][known:] if after and changed else [],
        age_seconds=ir.age_seconds(after, now) if after else None,
    )
    if after:
        result.update({k: v for k, v in ir.summary(after, now).items() if k in ('age_human', 'duration_human', 'open', 'severity_label')})
    if module._diff:
        result['diff'] = dict(before=as_text(before), after=as_text(after),
                              before_header=path + ' (before)', after_header=path + ' (after)')
    if params['action'] == 'read':
        result['msg'] = '%s: %s' % (incident_id, ('%s, %s, open for %s' % (after['severity'], after['status'], result['age_human'])
                                                  if after and after['status'] != 'resolved' else
                                                  ('%s, resolved after %s' % (after['severity'], result['duration_human'])
                                                   if after else 'no record')))
    else:
        verb = {'declare': 'declared', 'update': 'updated', 'resolve': 'resolved',
                'close_item': 'action item closed'}[params['action']]
        result['msg'] = '%s: %s%s (%s, %s)%s' % (incident_id, 'would be ' if module.check_mode and changed else '',
                                                 verb if changed else 'unchanged', after['severity'], after['status'],
                                                 '' if changed else ', nothing new')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
