#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: incident_event
short_description: Append one event to an incident's timeline
version_added: 0.1.0
description:
  - Adds one entry (C(at), C(kind), C(source), C(event), C(details)) to the timeline of an incident record declared with
    M(clickview.runbook.incident), so that the record holds every action the collection's playbooks took during the
    incident - findings of an investigation, a rollback, killed queries, messages sent.
  - The write happens under the record's lock file and replaces the record atomically, so several playbooks may append to
    the same incident at the same time without losing an event. With O(storage=s3) the write is an S3 conditional write
    (C(If-Match) with the ETag read), applied again to a fresh read when another writer got there first.
  - Fails, changing nothing, when no record exists for O(incident_id).
  - Every call appends (events are facts in time, not desired state), so a successful call always reports C(changed).
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
    description: Nothing is written; RV(event) holds the event that would be appended.
  diff_mode:
    support: full
    description: The timeline before and after, one line per event.
options:
  incident_dir:
    description:
      - Folder holding the incident records (the same as for M(clickview.runbook.incident)). Required with O(storage=file);
        left out, the inventory's C(clickview_incident_dir).
    type: path
  incident_id:
    description:
      - Identifier of a declared incident.
    type: str
    required: true
  event:
    description:
      - What happened, in one line, for example V(Rolled back clickview-backend to revision 41).
    type: str
    required: true
  source:
    description:
      - Who or what did it (a playbook, a role, a user).
    type: str
    default: clickview.runbook
  kind:
    description:
      - V(action) something was done, V(finding) something was learned, V(notification) a message was sent,
        V(status) the incident's state changed.
    type: str
    choices: [ action, finding, notification, status ]
    default: action
  details:
    description:
      - Structured data kept with the event (figures, names, process ids). Must be JSON-serialisable.
    type: dict
    default: {}
notes:
  - Storage is a folder on the host the module runs on, or an S3 bucket; see M(clickview.runbook.incident).
  - The AWS options and boto3 are used only with O(storage=s3).
seealso:
  - module: clickview.runbook.incident
'''

EXAMPLES = r'''
- name: Record the rollback in the incident's timeline
  clickview.runbook.incident_event:
    incident_dir: "{{ clickview_incident_dir }}"
    incident_id: "{{ incident_id }}"
    event: Rolled back clickview-backend to revision 41
    source: playbooks/alert_high_error_rate.yml
    kind: action
    details:
      deployment: clickview-backend
      revision: 41

- name: Record a finding
  clickview.runbook.incident_event:
    incident_dir: "{{ clickview_incident_dir }}"
    incident_id: "{{ incident_id }}"
    event: "Connections at 97 of 100 (FAIL >= 90 %)"
    kind: finding
  when: incident_id | default('') | length > 0
'''

RETURN = r'''
event:
  description: The event appended (in check mode, the event that would be appended).
  returned: success
  type: dict
  contains:
    at:
      description: When (UTC, ISO 8601).
      type: str
      sample: '2025-01-31T14:20:40Z'
    kind:
      description: The O(kind).
      type: str
      sample: action
    source:
      description: The O(source).
      type: str
      sample: playbooks/alert_high_error_rate.yml
    event:
      description: The O(event).
      type: str
      sample: Rolled back clickview-backend to revision 41
    details:
      description: The O(details).
      type: dict
      sample: {deployment: clickview-backend, revision: 41}
    actor:
      description: The O(actor) - who appended it and from where.
      type: dict
      returned: when the actor is known (always through the collection's action plugin)
      sample: {user: alice, via: awx, job: 4711, host: awx-ee-1, job_template: 'Alert | High error rate'}
timeline_length:
  description: Number of events in the timeline after the call (as it would be in check mode).
  returned: success
  type: int
  sample: 7
record_path:
  description: The record file, or with O(storage=s3) its C(s3://<bucket>/<key>) address.
  returned: always
  type: str
  sample: /var/lib/clickview-runbook/incidents/INC-20250131-api-errors.json
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: 'INC-20250131-api-errors: event 7 appended'
'''

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clickview.runbook.plugins.module_utils import incident_record as ir
from ansible_collections.clickview.runbook.plugins.module_utils.aws import aws_retry_argument_spec
from ansible_collections.clickview.runbook.plugins.module_utils.aws import client as aws_client
from ansible_collections.clickview.runbook.plugins.module_utils.common import fail


def argument_spec():
    spec = dict(
        incident_id=dict(type='str', required=True),
        event=dict(type='str', required=True),
        source=dict(type='str', default=ir.DEFAULT_SOURCE),
        kind=dict(type='str', choices=list(ir.KINDS), default='action'),
        details=dict(type='dict', default={}),
        actor=dict(type='dict'),
    )
    spec.update(ir.storage_argument_spec())
    spec.update(aws_retry_argument_spec())
    return spec


def timeline_text(record):
    if not record:
        return ''
    return ''.join('%s [%s] %s%s: %s\n' % (e['at'], e['kind'], e['source'],
                                           ' by ' + ir.actor_text(e['actor']) if e.get('actor') else '', e['event'])
                   for e in record['timeline'])


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True, check_boto3=False)
    params = module.params
    incident_id = params['incident_id']
    appended = {}
    path = ''

    def operation(current):
        record, entry = ir.append_event(current, incident_id, params['event'], kind=params['kind'],
                                        source=params['source'], details=params['details'], actor=params['actor'])
        appended['event'] = entry
        return record

    try:
        ir.validate_id(incident_id)
        ir.make_event(ir.utc_now(), params['event'], kind=params['kind'], source=params['source'],
                      details=params['details'], actor=params['actor'])  # validate before touching anything
        storage = ir.Storage(params, s3_client=lambda: aws_client(module, 's3'))
        path = storage.location(incident_id)
        before, after, _changed = storage.transact(incident_id, operation, check_mode=module.check_mode)
    except ir.IncidentError as exc:
        fail(module, exc, record_path=path)
    except (IOError, OSError) as exc:
        module.fail_json(msg='incident_dir: cannot use %s: %s' % (params['incident_dir'], to_native(exc)), record_path=path)

    result = dict(
        changed=True,
        event=appended['event'],
        timeline_length=len(after['timeline']),
        record_path=path,
        msg='%s: event %d %s' % (incident_id, len(after['timeline']), 'would be appended' if module.check_mode else 'appended'),
    )
    if module._diff:
        result['diff'] = dict(before=timeline_text(before), after=timeline_text(after),
                              before_header=path + ' timeline (before)', after_header=path + ' timeline (after)')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
