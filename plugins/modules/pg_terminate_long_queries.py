#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pg_terminate_long_queries
short_description: Cancel or terminate long-running PostgreSQL queries and sessions, safely
version_added: 0.1.0
description:
  - The runbook remedy for "Database Connection Pool Exhausted" and "Kill Long-Running Queries".
  - Selects client backends from C(pg_stat_activity) by state, duration, user, database, application, client address and
    query text, then cancels (C(pg_cancel_backend)), terminates (C(pg_terminate_backend)) or cancels and terminates
    those that are still running after a grace period.
  - C(pg_stat_activity) has no duration column. The duration of a backend is measured from C(query_start) when its
    state is C(active), from C(xact_start) when it is C(idle in transaction) or "idle in transaction (aborted)",
    and from C(state_change) in every other state (C(backend_start) when that clock is unknown).
  - Never touched, whatever the filters say, and reported with the guard that protected them - the module's own
    session (C(own_backend)); backends whose C(backend_type) is not C(client backend) such as walsenders, autovacuum,
    background and logical replication workers (C(not_client_backend)); backends of superuser (C(superuser)) and
    replication (C(replication_role)) roles unless that role is named in O(include_users); backup and replication
    tools (C(backup_tool), by C(application_name) - pg_dump, pg_dumpall, pg_basebackup, pg_receivewal, pgBackRest,
    Barman or WAL-G) unless O(include_backup_tools=true).
  - With O(pids) it selects the named backends only - the runbook's C(pg_terminate_backend) of one pid - in any state
    and of any duration unless O(states) or O(min_duration) are given; the guards above still apply, and a process id
    with no backend (it has ended) is reported in RV(pids_not_found).
  - Refuses to run through PgBouncer (any pooling mode) or its admin console; connect to PostgreSQL directly.
author:
  - ClickView Platform Team (@clickview)
extends_documentation_fragment:
  - clickview.runbook.postgres
attributes:
  check_mode:
    support: full
    description: Lists exactly the backends a real run would signal, with outcome V(would_cancel), V(would_terminate) or V(would_fail).
  diff_mode:
    support: full
    description: The before text lists the backends that are (or would be) signalled.
options:
  min_duration:
    description:
      - Only backends whose duration (see above) is at least this long are selected.
      - Seconds as a number, or a string with units V(d), V(h), V(m), V(s), for example V(300), V(300s), V(5m) or V(1h30m).
      - V(0) selects regardless of duration.
      - When not given, V(5m); with O(pids), V(0).
    type: raw
  states:
    description:
      - Backend states to select.
      - When not given, V(active); with O(pids), any state (a backend whose state is unknown included, so that a
        protected backend named by its pid is reported with its guard rather than as not found).
    type: list
    elements: str
    choices: [ active, idle, idle in transaction, idle in transaction (aborted), fastpath function call, disabled ]
  pids:
    description:
      - Only select the backends with these process ids (positive whole numbers; duplicates are ignored).
      - Every guard still applies - a named superuser, replication, non-client or backup-tool backend, or the module's
        own session, is skipped with its guard like any other.
      - A process id with no backend in the selection is listed in RV(pids_not_found) and is not an error.
      - With O(action=cancel_then_terminate) and no O(states), a cancelled backend counts as still running only while
        its state is C(active) or C(fastpath function call).
    type: list
    elements: int
    default: []
  include_users:
    description:
      - Only select backends of these roles.
      - Naming a superuser or replication role here is the only way to allow signalling its backends.
    type: list
    elements: str
    default: []
  exclude_users:
    description:
      - Never select backends of these roles. A role may not appear in both O(include_users) and O(exclude_users).
    type: list
    elements: str
    default: []
  include_databases:
    description:
      - Only select backends connected to these databases.
    type: list
    elements: str
    default: []
  exclude_databases:
    description:
      - Never select backends connected to these databases.
    type: list
    elements: str
    default: []
  include_applications:
    description:
      - Only select backends whose C(application_name) is one of these (exact match).
    type: list
    elements: str
    default: []
  exclude_applications:
    description:
      - Never select backends whose C(application_name) is one of these (exact match).
    type: list
    elements: str
    default: []
  include_backup_tools:
    description:
      - Also signal backup and replication tools (see the guard C(backup_tool)). A backup killed in the middle of an
        incident leaves the team without the restore point it may need next; leave this V(false) unless the backup
        itself is the problem.
    type: bool
    default: false
  include_client_addresses:
    description:
      - Only select backends whose client address is in one of these networks (CIDR such as V(10.0.0.0/8), or a single address).
      - Clients connected through a Unix socket have no address and never match.
    type: list
    elements: str
    default: []
  exclude_client_addresses:
    description:
      - Never select backends whose client address is in one of these networks.
    type: list
    elements: str
    default: []
  query_pattern:
    description:
      - Only select backends whose query text matches this Python regular expression (searched anywhere in the text).
      - Matched against the full query text as PostgreSQL reports it (up to C(track_activity_query_size)).
    type: str
  action:
    description:
      - V(cancel) cancels the running query and keeps the session. It has no effect on idle sessions.
      - V(terminate) ends the session.
      - V(cancel_then_terminate) cancels, then terminates only the backends that still match the selection (same
        process, still in a selected state for at least O(min_duration)) after O(grace_period). It polls the cancelled
        backends every 0.1 s and goes on as soon as none is still running, so a cancel that works costs no wait.
    type: str
    choices: [ cancel, terminate, cancel_then_terminate ]
    default: cancel_then_terminate
  grace_period:
    description:
      - With O(action=cancel_then_terminate), the longest wait after cancelling before terminating what still runs.
        Same format as O(min_duration).
    type: raw
    default: 5s
  max_backends:
    description:
      - Safety limit. If more backends than this would be signalled, the task fails and signals none, unless O(force=true).
    type: int
    default: 50
  force:
    description:
      - Signal the selected backends even if there are more than O(max_backends).
    type: bool
    default: false
notes:
  - Recommended least-privilege login role - C(CREATE ROLE runbook_ops LOGIN IN ROLE pg_signal_backend, pg_read_all_stats).
    C(pg_read_all_stats) (or C(pg_monitor)) is needed to see other roles' states and queries; without it those
    backends are never selected and the module warns. C(pg_signal_backend) allows signalling every non-superuser backend.
  - Such a role cannot signal superuser backends; when a superuser is named in O(include_users), their backends are
    reported with outcome V(failed) and the reason (permission denied), the other backends are still handled, and the task fails.
  - When C(max_connections) is exhausted only a superuser can still connect, through C(superuser_reserved_connections)
    (PostgreSQL 16 and later also members of C(pg_use_reserved_connections) through C(reserved_connections)).
    The module needs a single connection.
  - Signals are sent in one statement per step, each backend identified by its process id and C(backend_start) so that
    a reused process id is never hit. Every value is passed to the server as a bound parameter.
  - Requires PostgreSQL 10 or later.
seealso:
  - name: Server signaling functions
    description: pg_cancel_backend and pg_terminate_backend in the PostgreSQL manual.
    link: https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADMIN-SIGNAL
  - name: pg_stat_activity
    description: The view the module selects from.
    link: https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ACTIVITY-VIEW
'''

EXAMPLES = r'''
- name: Show which queries have been running for more than 5 minutes (touches nothing)
  clickview.runbook.pg_terminate_long_queries:
    login_host: db.internal
    login_user: runbook_ops
    login_password: "{{ runbook_ops_password }}"
    login_db: clickview
    min_duration: 5m
  check_mode: true
  register: long_queries

- name: Kill long-running queries of the application, cancelling first
  clickview.runbook.pg_terminate_long_queries:
    login_host: db.internal
    login_user: runbook_ops
    login_password: "{{ runbook_ops_password }}"
    login_db: clickview
    min_duration: 5m
    include_users: [clickview_app]
    exclude_applications: [pg_dump]
    action: cancel_then_terminate
    grace_period: 10s

- name: Pool exhausted - end sessions left idle in a transaction for 10 minutes or more
  clickview.runbook.pg_terminate_long_queries:
    login_host: db.internal
    login_user: postgres
    login_password: "{{ postgres_password }}"
    states: [idle in transaction, idle in transaction (aborted)]
    min_duration: 10m
    action: terminate
    max_backends: 200

- name: The runbook's SELECT pg_terminate_backend(<pid>) for two backends, with every guard kept
  clickview.runbook.pg_terminate_long_queries:
    login_host: db.internal
    login_user: runbook_ops
    login_password: "{{ runbook_ops_password }}"
    pids: [48213, 48290]
    action: terminate
  register: terminated   # terminated.pids_not_found: the pids that had already ended

- name: Cancel reports from the analysts' network that scan the events table
  clickview.runbook.pg_terminate_long_queries:
    login_host: db.internal
    include_client_addresses: [10.20.0.0/16]
    query_pattern: '(?i)\bfrom\s+events\b'
    min_duration: 1h30m
    action: cancel
'''

RETURN = r'''
backends:
  description:
    - Every backend that matched the selection, protected ones included, in decreasing order of duration.
  returned: success or failure after connecting
  type: list
  elements: dict
  contains:
    pid:
      description: Process id of the backend.
      type: int
      sample: 48213
    user:
      description: Role of the backend.
      type: str
      sample: clickview_app
    database:
      description: Database of the backend.
      type: str
      sample: clickview
    application:
      description: C(application_name) of the backend.
      type: str
      sample: report-worker
    client_addr:
      description: Client address, V(null) for Unix-socket clients.
      type: str
      sample: 10.20.3.4
    state:
      description: State when selected.
      type: str
      sample: active
    backend_type:
      description: C(backend_type) from C(pg_stat_activity).
      type: str
      sample: client backend
    backend_start:
      description: When the backend started (ISO 8601); with O(ignore:pid) it identifies the backend.
      type: str
      sample: '2025-01-31T10:02:03.123456+00:00'
    duration:
      description: Seconds in the current state, measured from the clock described above.
      type: float
      sample: 421.7
    query:
      description: The first 200 characters of the query text.
      type: str
      sample: SELECT * FROM events WHERE ...
    outcome:
      description:
        - V(cancelled), V(terminated), V(gone) (ended before it was signalled), V(skipped) (see RV(backends[].guard)),
          V(failed) (see RV(backends[].reason)); in check mode V(would_cancel), V(would_terminate) or V(would_fail).
      type: str
      sample: terminated
    guard:
      description:
        - For skipped backends, what protected them - V(own_backend), V(not_client_backend), V(superuser),
          V(replication_role), V(backup_tool) or V(max_backends).
      type: str
      sample: superuser
    reason:
      description: Why a backend failed or was gone, or a note such as a cancel that had to be followed by terminate.
      type: str
      sample: 'must be a superuser to terminate superuser process'
counts:
  description: Number of backends per outcome (every outcome is present).
  returned: success or failure after connecting
  type: dict
  sample: {cancelled: 0, terminated: 3, gone: 0, skipped: 1, failed: 0, would_cancel: 0, would_terminate: 0, would_fail: 0}
pids_not_found:
  description:
    - The process ids of O(pids) that no backend of the selection has - the backend ended (or, with other filters
      given, is outside them). Empty without O(pids).
  returned: success or failure after connecting
  type: list
  elements: int
  sample: [48290]
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: '4 backend(s) matched: 3 terminated, 1 skipped'
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.clickview.runbook.plugins.module_utils.common import fail
from ansible_collections.clickview.runbook.plugins.module_utils.postgres import (
    connect,
    postgres_common_argument_spec,
)
from ansible_collections.clickview.runbook.plugins.module_utils.postgres_backends import (
    ACTIONS,
    STATES,
    DB_ERRORS,
    GuardError,
    ParameterError,
    build_selection,
    parse_duration,
    run,
    summary,
)

APPLICATION_NAME = 'clickview.runbook.pg_terminate_long_queries'


def argument_spec():
    spec = postgres_common_argument_spec()
    names = dict(type='list', elements='str', default=[])
    spec.update(
        min_duration=dict(type='raw'),
        states=dict(type='list', elements='str', choices=list(STATES)),
        pids=dict(type='list', elements='int', default=[]),
        include_users=dict(names), exclude_users=dict(names),
        include_databases=dict(names), exclude_databases=dict(names),
        include_applications=dict(names), exclude_applications=dict(names),
        include_client_addresses=dict(names), exclude_client_addresses=dict(names),
        query_pattern=dict(type='str'),
        include_backup_tools=dict(type='bool', default=False),
        action=dict(type='str', choices=list(ACTIONS), default='cancel_then_terminate'),
        grace_period=dict(type='raw', default='5s'),
        max_backends=dict(type='int', default=50),
        force=dict(type='bool', default=False),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        selection = build_selection(params)
        grace_period = parse_duration(params['grace_period'], 'grace_period')
        if params['max_backends'] < 0:
            raise ParameterError('max_backends', 'must be 0 or more, got %d' % params['max_backends'])
    except ParameterError as exc:
        fail(module, exc)

    conn, target, _own_pid = connect(module, application_name=APPLICATION_NAME, direct_only=True)
    try:
        result = run(conn, selection, action=params['action'], grace_period=grace_period,
                     max_backends=params['max_backends'], force=params['force'], check_mode=module.check_mode)
    except GuardError as exc:
        module.fail_json(msg='max_backends: %s' % to_native(exc), changed=False,
                         backends=exc.result['backends'], counts=exc.result['counts'],
                         pids_not_found=exc.result.get('pids_not_found', []))
    except ParameterError as exc:
        module.fail_json(msg='%s: %s' % (target, to_native(exc)))
    except DB_ERRORS as exc:
        module.fail_json(msg='%s: PostgreSQL error: %s' % (target, to_native(exc).strip()))
    finally:
        conn.close()

    for warning in result.pop('warnings'):
        module.warn(warning)
    diff = result.pop('diff')
    if module._diff:
        result['diff'] = diff
    result['msg'] = summary(result, module.check_mode)
    if result['counts']['failed']:
        failed = [r for r in result['backends'] if r['outcome'] == 'failed']
        result['msg'] += '; could not signal %s' % ', '.join('pid %s (%s)' % (r['pid'], r['reason']) for r in failed)
        module.fail_json(**result)
    if result['counts']['would_fail']:
        module.warn('a real run would fail to signal %d backend(s); see backends[].reason' % result['counts']['would_fail'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
