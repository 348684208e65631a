#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pg_query_plans
short_description: Plans of the slowest active PostgreSQL queries and pg_stat_statements' top statements, read-only
version_added: 0.3.0
description:
  - The runbook's High Latency step "Check if database queries are slow", done safely on production.
  - Reads the O(limit) longest-running active client queries of the connected database from C(pg_stat_activity)
    (the module's own session left out), and returns for each its process id, role, application, running time, the
    start of its text and its plan from C(EXPLAIN) (in C(FORMAT TEXT)), one line per list item. Plain EXPLAIN plans the
    statement and never executes it.
  - The query texts come from other sessions and are never executed. Each EXPLAIN runs in its own transaction that
    is C(READ ONLY), with C(SET LOCAL statement_timeout) (O(statement_timeout)) and C(lock_timeout) (O(lock_timeout)),
    and is rolled back. The text is sent as one statement behind a fixed EXPLAIN option list, with no
    parameters, so nothing is interpolated into it.
  - "A text is not explained, and the reason is returned in RV(queries[].explain_skipped) (the task does not fail),
    when it holds more than one statement (any C(;) other than a trailing one, also one inside a string or a comment),
    when it may be cut off (its length reaches C(track_activity_query_size) - 1 bytes, less 3 for a clipped multi-byte
    character), when it is not a SELECT, WITH, INSERT, UPDATE, DELETE, MERGE, VALUES or TABLE statement, or when it
    has bind parameters (C($1)) and the server is older than PostgreSQL 16. From PostgreSQL 16 such statements get
    a generic plan (the C(GENERIC_PLAN) option of EXPLAIN)."
  - When PostgreSQL refuses an EXPLAIN (missing privilege, a table of another schema or search_path, the statement or
    lock timeout), its message is returned in RV(queries[].explain_error) and the other queries are still explained.
  - Also reads the O(top_statements) statements of the connected database with the largest total execution time
    from C(pg_stat_statements) when the extension is installed in that database. When it is not (or cannot be read),
    RV(statements_available) is V(false) with the reason in RV(statements_reason); the task does not fail.
  - Refuses to run through PgBouncer (any pooling mode) or its admin console; connect to PostgreSQL directly.
author:
  - ClickView Platform Team (@clickview)
extends_documentation_fragment:
  - clickview.runbook.postgres
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no difference to show.
options:
  limit:
    description:
      - How many active queries to list and explain, longest running first.
    type: int
    default: 3
  min_duration:
    description:
      - Only queries running for at least this long are listed.
      - Seconds as a number, or a string with units V(d), V(h), V(m), V(s), for example V(5), V(30s), V(5m).
      - V(0) lists every active query.
    type: raw
    default: 0
  include_applications:
    description:
      - Only list queries whose C(application_name) is one of these (exact match). Empty lists every application.
    type: list
    elements: str
    default: []
  statement_timeout:
    description:
      - C(statement_timeout) of each EXPLAIN (and of the module's other reads), set with C(SET LOCAL) in its
        transaction. Same format as O(min_duration); must be more than 0 (0 would turn the timeout off).
      - With O(analyze=true) this bounds how long each query may run again.
    type: raw
    default: 5s
  lock_timeout:
    description:
      - C(lock_timeout) of each EXPLAIN. Planning takes a light lock on every table of the statement; behind a
        pending C(ALTER TABLE) or C(VACUUM FULL) the EXPLAIN gives up after this long instead of queueing.
      - Same format as O(min_duration); must be more than 0.
    type: raw
    default: 1s
  analyze:
    description:
      - Run C(EXPLAIN) with the options C(ANALYZE) and C(BUFFERS) instead of plain C(EXPLAIN), for the actual row counts
        and times.
      - B(ANALYZE executes the query again), with this module's login, on the server that is already slow. It still
        runs in the READ ONLY transaction bounded by O(statement_timeout) and is rolled back, and only for SELECT, WITH,
        VALUES and TABLE statements that contain no C(INSERT), C(UPDATE), C(DELETE), C(MERGE), C(TRUNCATE), C(INTO),
        row lock (C(FOR UPDATE), C(FOR SHARE)) nor a call of a function known to act outside the statement (such as
        C(pg_terminate_backend), C(pg_notify), C(nextval), C(set_config), C(pg_advisory_lock), C(dblink)). Other
        statements get a plain EXPLAIN and RV(queries[].analyze_skipped) says why. A user-defined function called by
        the query runs too, whatever it does outside the database.
      - When ANALYZE does not finish within O(statement_timeout), the plain plan is returned instead and
        RV(queries[].analyze_skipped) says so.
      - Leave this V(false) on production unless the plain plan is not enough.
    type: bool
    default: false
  top_statements:
    description:
      - How many statements of C(pg_stat_statements) to return, largest total execution time first. V(0) does not read it.
    type: int
    default: 5
notes:
  - Only queries of the connected database are listed (a plan can only be made there); set O(login_db) to the
    application's database.
  - The statement is planned with this module's login and its C(search_path), not those of the session that runs it.
    EXPLAIN needs the privileges the statement needs (C(SELECT) on the tables it reads; for C(INSERT), C(UPDATE),
    C(DELETE) and C(MERGE) the privilege to write the table, although nothing is written).
  - Recommended login - a role in C(pg_read_all_stats) (or C(pg_monitor)), without which other roles' queries are
    not visible (the module warns), and C(pg_read_all_data) (PostgreSQL 14 and later) to plan their SELECT statements.
    C(pg_stat_statements) shows other roles' statement texts only to members of C(pg_read_all_stats).
  - The figures of C(pg_stat_statements) add up since its last reset (RV(statements_reset), PostgreSQL 14 and later),
    not only during the incident.
  - Requires PostgreSQL 10 or later; C(pg_stat_statements) is read on PostgreSQL 13 and later.
seealso:
  - name: EXPLAIN
    description: The command, its options and its output.
    link: https://www.postgresql.org/docs/current/sql-explain.html
  - name: pg_stat_statements
    description: The extension the top statements come from.
    link: https://www.postgresql.org/docs/current/pgstatstatements.html
  - module: clickview.runbook.pg_terminate_long_queries
'''

EXAMPLES = r'''
- name: Plans of the three longest-running queries and the top statements
  clickview.runbook.pg_query_plans:
    login_host: db.internal
    login_user: runbook_ops
    login_password: "{{ runbook_ops_password }}"
    login_db: clickview
  register: plans

- name: Only queries running for 5 seconds or more, with tight timeouts
  clickview.runbook.pg_query_plans:
    login_host: db.internal
    login_db: clickview
    min_duration: 5s
    limit: 5
    statement_timeout: 2s
    lock_timeout: 0.5
    top_statements: 10

- name: Actual times of the slow SELECTs (this executes them again, read-only, for at most 10 s each)
  clickview.runbook.pg_query_plans:
    login_host: db.internal
    login_db: clickview
    analyze: true
    statement_timeout: 10s

- name: Show the first plan lines
  ansible.builtin.debug:
    msg: "{{ item.pid }} {{ item.seconds }}s {{ item.plan[:3] | join(' / ') or item.explain_skipped or item.explain_error }}"
  loop: "{{ plans.queries }}"
'''

RETURN = r'''
queries:
  description: The active queries, longest running first, each with its plan or why it has none.
  returned: success
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
    application:
      description: C(application_name) of the backend.
      type: str
      sample: report-worker
    database:
      description: Database of the backend (the connected one).
      type: str
      sample: clickview
    seconds:
      description: Seconds since the query started.
      type: float
      sample: 42.3
    wait:
      description: C(wait_event_type/wait_event) when the backend waits, else empty.
      type: str
      sample: Lock/transactionid
    query:
      description: The query text on one line, at most 300 characters.
      type: str
      sample: SELECT count(*) FROM page_views v JOIN users u ON u.id = v.user_id
    statement:
      description: The first keyword of the text (upper case), V(null) when there is none.
      type: str
      sample: SELECT
    explain:
      description: The EXPLAIN that made the plan, V(null) when there is no plan.
      type: str
      choices: ['EXPLAIN (FORMAT TEXT)', 'EXPLAIN (GENERIC_PLAN, FORMAT TEXT)', 'EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)']
      sample: EXPLAIN (FORMAT TEXT)
    plan:
      description: The plan, one line per item (at most 100; a last line says how many were left out). Empty without a plan.
      type: list
      elements: str
      sample:
        - Aggregate  (cost=46.00..46.01 rows=1 width=8)
        - '  ->  Seq Scan on audit_log  (cost=0.00..41.00 rows=2000 width=0)'
    explain_skipped:
      description: Why the text was not explained (more than one statement, cut off, not explainable, bind parameters).
      type: str
      sample: "the text holds more than one statement (a ';' before its end, maybe inside a string or a comment): only a single statement is explained"
    explain_error:
      description: The message of PostgreSQL when it refused the EXPLAIN.
      type: str
      sample: permission denied for table users
    analyze_skipped:
      description: With O(analyze=true), why this statement got a plan without ANALYZE.
      type: str
      sample: 'ANALYZE would execute this UPDATE statement: explained without ANALYZE'
statements_available:
  description: Whether RV(top_statements) could be read from C(pg_stat_statements).
  returned: success
  type: bool
  sample: true
statements_reason:
  description: Why RV(top_statements) is empty (the extension is not installed in the database, an older server, an error).
  returned: success
  type: str
  sample: >-
    the pg_stat_statements extension is not installed in database clickview (CREATE EXTENSION pg_stat_statements;
    the library must be in shared_preload_libraries)
statements_reset:
  description: When the statistics of C(pg_stat_statements) were last reset (PostgreSQL 14 and later), else V(null).
  returned: success
  type: str
  sample: '2025-01-31 10:02:03.123456+00'
top_statements:
  description: The statements of the connected database with the largest total execution time, largest first.
  returned: success
  type: list
  elements: dict
  contains:
    queryid:
      description: C(queryid) of the statement.
      type: int
      sample: -6789012345678901234
    user:
      description: The role that ran it.
      type: str
      sample: clickview_app
    calls:
      description: How many times it ran.
      type: int
      sample: 1520
    total_ms:
      description: Total execution time, milliseconds.
      type: float
      sample: 91234.5
    mean_ms:
      description: Mean execution time, milliseconds.
      type: float
      sample: 60.0
    rows:
      description: Rows returned or affected, in total.
      type: int
      sample: 1520
    query:
      description: The normalized statement text on one line, at most 300 characters.
      type: str
      sample: SELECT * FROM users WHERE id = $1
database:
  description: The connected database.
  returned: success
  type: str
  sample: clickview
server_version:
  description: C(server_version_num) of the server.
  returned: success
  type: int
  sample: 150018
track_activity_query_size:
  description: Bytes of a query text C(pg_stat_activity) keeps (less one).
  returned: success
  type: int
  sample: 4096
analyze:
  description: Whether O(analyze) was on.
  returned: success
  type: bool
  sample: false
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: '3 active queries found, 2 explained; 1 skipped; 5 top statements from pg_stat_statements'
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.clickview.runbook.plugins.module_utils.common import fail
from ansible_collections.clickview.runbook.plugins.module_utils.postgres import (
    connect,
    postgres_common_argument_spec,
)
from ansible_collections.clickview.runbook.plugins.module_utils.postgres_plans import (
    DB_ERRORS,
    ParameterError,
    build_options,
    run,
)

APPLICATION_NAME = 'clickview.runbook.pg_query_plans'


def argument_spec():
    spec = postgres_common_argument_spec()
    spec.update(
        limit=dict(type='int', default=3),
        min_duration=dict(type='raw', default=0),
        include_applications=dict(type='list', elements='str', default=[]),
        statement_timeout=dict(type='raw', default='5s'),
        lock_timeout=dict(type='raw', default='1s'),
        analyze=dict(type='bool', default=False),
        top_statements=dict(type='int', default=5),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        options = build_options(module.params)
    except ParameterError as exc:
        fail(module, exc)

    conn, target, _own_pid = connect(module, application_name=APPLICATION_NAME, direct_only=True)
    try:
        result = run(conn, options)
    except DB_ERRORS as exc:
        module.fail_json(msg='%s: PostgreSQL error: %s' % (target, to_native(exc).strip()), changed=False)
    finally:
        conn.close()

    for warning in result.pop('warnings'):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
