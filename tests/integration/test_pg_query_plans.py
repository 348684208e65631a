# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""clickview.runbook.pg_query_plans against the lab's real PostgreSQL primary.

The tests work in scratch databases of their own (one with pg_stat_statements installed, one
without), created for this module and dropped at the end, so the lab's clickview database is
never changed and the top statements are only this module's. Every backend runs under an
application_name unique to the test and every module run is scoped to those names.
"""

import threading
import time
import uuid

import psycopg2
import pytest

from conftest import LAB_HOST as HOST, PG_ROLES, lab_port, pg_connect, pg_query, run_module, run_tasks

MODULE = 'clickview.runbook.pg_query_plans'
PRIMARY = lab_port('postgres_primary')
OPS = PG_ROLES['operator']
APP = PG_ROLES['app']
ROWS = 50000
PLAIN = 'EXPLAIN (FORMAT TEXT)'
ANALYZE = 'EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)'


def no_traceback(result):
    """A clean fail_json (ansible-core 2.19 adds exception='(traceback unavailable)' to those)."""
    return 'module_stderr' not in result and 'Traceback' not in str(result.get('exception', ''))


def superuser(sql, params=None, db='postgres'):
    return pg_query(sql, params, dbname=db, application_name='itest-plans-admin')


@pytest.fixture(scope='module')
def scratch():
    """Two scratch databases: NAME with pg_stat_statements and the table plan_items, NAME_bare without."""
    name = 'itest_plans_%s' % uuid.uuid4().hex[:8]
    bare = name + '_bare'
    conn = pg_connect('superuser', dbname='postgres', application_name='itest-plans-admin')
    try:
        with conn.cursor() as cur:
            cur.execute('CREATE DATABASE %s' % name)
            cur.execute('CREATE DATABASE %s' % bare)
    finally:
        conn.close()
    setup = pg_connect('superuser', dbname=name, application_name='itest-plans-admin')
    try:
        with setup.cursor() as cur:
            cur.execute('CREATE EXTENSION pg_stat_statements')
            cur.execute('CREATE TABLE plan_items (id int PRIMARY KEY, v text NOT NULL)')
            cur.execute("INSERT INTO plan_items SELECT i, 'item ' || i FROM generate_series(1, %s) AS i", (ROWS,))
            cur.execute('ANALYZE plan_items')
            # the operator login of the roles; UPDATE only so that EXPLAIN may plan the UPDATE (it never writes)
            cur.execute('GRANT SELECT, UPDATE ON plan_items TO %s' % OPS['name'])
            cur.execute('GRANT SELECT, UPDATE ON plan_items TO %s' % APP['name'])
    finally:
        setup.close()
    yield {'name': name, 'bare': bare}
    for db in (name, bare):
        superuser('DROP DATABASE IF EXISTS %s WITH (FORCE)' % db)


class Sessions(object):
    """Backends of one test in the scratch database; whatever is left is terminated afterwards."""

    def __init__(self, db):
        self.db = db
        self.prefix = 'itest-plans-%s' % uuid.uuid4().hex[:8]
        self.conns = []
        self.threads = []

    def app(self, suffix):
        return '%s-%s' % (self.prefix, suffix)

    def connect(self, suffix, autocommit=True):
        conn = pg_connect('app', dbname=self.db, application_name=self.app(suffix), autocommit=autocommit)
        self.conns.append(conn)
        return conn

    def running(self, suffix, sql):
        """A backend running sql in a thread; returns its pid once it shows as active."""
        conn = self.connect(suffix)
        pid = conn.get_backend_pid()

        def work():
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)  # no parameters: sent as it is, several statements included
            except psycopg2.Error:
                pass

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        self.threads.append(thread)
        deadline = time.time() + 10
        while time.time() < deadline:
            rows = superuser("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
            if rows and rows[0][0] == 'active':
                return pid
            time.sleep(0.05)
        raise AssertionError('backend %s never became active' % pid)

    def terminate(self, pids=None):
        if pids is None:
            superuser('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s',
                      (self.prefix + '%',))
        else:
            superuser('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(%s)', (list(pids),))

    def close(self):
        self.terminate()
        for conn in self.conns:
            try:
                conn.close()
            except psycopg2.Error:
                pass
        for thread in self.threads:
            thread.join(timeout=5)


@pytest.fixture
def sessions(scratch):
    found = Sessions(scratch['name'])
    yield found
    found.close()


def login(db, role=None, **extra):
    role = role or OPS
    args = dict(login_host=HOST, login_port=PRIMARY, login_user=role['name'], login_password=role['password'], login_db=db)
    args.update(extra)
    return args


def by_pid(result):
    return dict((q['pid'], q) for q in result['queries'])


def value_of_row_1(db):
    return superuser('SELECT v FROM plan_items WHERE id = 1', db=db)[0][0]


def test_plans_refusals_and_dml_never_executed(scratch, sessions):
    db = scratch['name']
    marker = 'itest_marker_%s' % uuid.uuid4().hex[:8]
    # the slowest: sleeps 60 s in its own session only (0 s in anybody else's), then reads the whole table;
    # its text has a '%' that must reach the server as it is
    slow_sql = ("SELECT count(*) FROM plan_items, pg_sleep(CASE WHEN current_setting('application_name') LIKE 'itest-%' "
                "THEN 60 ELSE 0 END) WHERE v LIKE 'item 1%'")
    slow = sessions.running('slow', slow_sql)
    time.sleep(0.3)
    multi = sessions.running('multi', 'SELECT pg_sleep(30); SELECT 1 AS %s' % marker)
    # an UPDATE blocked by a row lock held by another session
    locker = sessions.connect('locker', autocommit=False)
    with locker.cursor() as cur:
        cur.execute('SELECT * FROM plan_items WHERE id = 1 FOR UPDATE')
    update = sessions.running('update', "UPDATE plan_items SET v = 'changed by the test' WHERE id = 1")
    time.sleep(1.2)
    apps = [sessions.app(s) for s in ('slow', 'multi', 'update')]
    args = login(db, include_applications=apps, limit=10, min_duration='1s', top_statements=0)
    analyze_args = dict(args, analyze=True, statement_timeout='3s')
    plain, analyzed, checked = run_tasks([
        {'name': 'plain', MODULE: args, 'ignore_errors': True},
        {'name': 'analyze', MODULE: analyze_args, 'ignore_errors': True},
        {'name': 'check mode', MODULE: args, 'check_mode': True, 'ignore_errors': True},
    ])
    assert not plain.get('failed'), plain
    assert plain['changed'] is False and plain['database'] == db and plain['server_version'] >= 150000
    assert [q['pid'] for q in plain['queries']] == [slow, multi, update], plain['queries']
    found = by_pid(plain)

    # the slowest query: its text untouched (the '%'), its plan
    assert found[slow]['query'] == slow_sql and found[slow]['statement'] == 'SELECT'
    assert found[slow]['explain'] == PLAIN and found[slow]['explain_skipped'] is None and found[slow]['seconds'] >= 1
    assert found[slow]['plan'][0].startswith('Aggregate')
    assert any('Seq Scan on plan_items' in line for line in found[slow]['plan']), found[slow]['plan']
    assert found[slow]['user'] == APP['name'] and found[slow]['application'] == sessions.app('slow')

    # several statements: refused with the reason
    assert found[multi]['explain'] is None and found[multi]['plan'] == []
    assert 'more than one statement' in found[multi]['explain_skipped']

    # the UPDATE is planned (EXPLAIN never executes it)
    assert found[update]['explain'] == PLAIN and found[update]['wait'].startswith('Lock/')
    assert any(line.startswith('Update on plan_items') for line in found[update]['plan']), found[update]['plan']

    # with analyze: the SELECT runs again in the module's session (0 s of sleep there), the UPDATE is only planned
    assert not analyzed.get('failed'), analyzed
    assert analyzed['changed'] is False and analyzed['analyze'] is True
    found_analyzed = by_pid(analyzed)
    assert found_analyzed[slow]['explain'] == ANALYZE and found_analyzed[slow]['analyze_skipped'] is None
    assert any('actual time=' in line for line in found_analyzed[slow]['plan'])
    assert found_analyzed[update]['explain'] == PLAIN
    assert found_analyzed[update]['analyze_skipped'] == 'ANALYZE would execute this UPDATE statement: explained without ANALYZE'
    assert not any('actual' in line for line in found_analyzed[update]['plan'])
    assert 'more than one statement' in found_analyzed[multi]['explain_skipped']

    # check mode: the same result, changed false
    assert not checked.get('failed'), checked
    assert checked['changed'] is False
    assert checked['queries'] == [dict(q, seconds=c['seconds']) for q, c in zip(plain['queries'], checked['queries'])]

    # nothing was executed: the blocked UPDATE never ran (ended before its lock was released), and the second
    # statement of the refused text never ran in any session (pg_stat_statements would show it)
    sessions.terminate([update, multi])
    locker.rollback()
    assert value_of_row_1(db) == 'item 1'
    ran = superuser('SELECT count(*) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid '
                    'WHERE d.datname = %s AND s.query LIKE %s', (db, '%' + marker + '%'), db=db)
    assert ran[0][0] == 0


def test_analyze_that_times_out_keeps_the_plain_plan(scratch, sessions):
    slow = sessions.running('sleep', 'SELECT pg_sleep(60)')
    time.sleep(1.2)
    started = time.monotonic()
    result = run_module(MODULE, login(scratch['name'], include_applications=[sessions.app('sleep')], min_duration=1,
                                      analyze=True, statement_timeout='1s', top_statements=0))
    assert not result.get('failed'), result
    found = by_pid(result)[slow]
    assert found['explain'] == PLAIN and found['plan'][0].startswith('Result')
    assert found['analyze_skipped'] == 'ANALYZE did not finish within statement_timeout (1 s): explained without ANALYZE'
    assert time.monotonic() - started < 30


def test_own_session_and_young_queries_are_not_listed(scratch, sessions):
    young = sessions.running('young', 'SELECT pg_sleep(60)')
    result = run_module(MODULE, login(scratch['name'], include_applications=[sessions.app('young'), MODULE],
                                      min_duration='10m', top_statements=0))
    assert not result.get('failed'), result
    assert result['queries'] == [] and young
    assert result['msg'].startswith('0 active queries found, 0 explained')


def test_top_statements_where_the_extension_is_installed(scratch):
    db = scratch['name']
    conn = pg_connect('app', dbname=db, application_name='itest-plans-top')
    try:
        with conn.cursor() as cur:
            for bound in range(1, 21):
                cur.execute('SELECT count(*) AS itest_top FROM plan_items WHERE id < %s', (bound * 1000,))
    finally:
        conn.close()
    with_extension, without = run_tasks([
        {'name': 'installed', MODULE: login(db, top_statements=50), 'ignore_errors': True},
        {'name': 'absent', MODULE: login(scratch['bare']), 'ignore_errors': True},
    ])
    assert not with_extension.get('failed'), with_extension
    assert with_extension['statements_available'] is True and with_extension['statements_reason'] is None
    top = with_extension['top_statements']
    assert top and [s['total_ms'] for s in top] == sorted((s['total_ms'] for s in top), reverse=True)
    ours = [s for s in top if 'itest_top' in s['query']]
    assert ours, top
    assert ours[0]['calls'] >= 20 and ours[0]['rows'] >= 20 and ours[0]['user'] == APP['name']
    assert ours[0]['mean_ms'] > 0 and ours[0]['total_ms'] >= ours[0]['mean_ms']
    assert ours[0]['query'] == 'SELECT count(*) AS itest_top FROM plan_items WHERE id < $1'
    assert with_extension['statements_reset']  # PostgreSQL 14 and later

    assert not without.get('failed'), without
    assert without['statements_available'] is False and without['top_statements'] == []
    assert without['statements_reason'].startswith(
        'the pg_stat_statements extension is not installed in database %s' % scratch['bare'])


@pytest.mark.parametrize('extra, param, words', [
    ({'limit': 0}, 'limit', 'must be 1 or more'),
    ({'statement_timeout': 0}, 'statement_timeout', '0 would turn the timeout off'),
    ({'statement_timeout': 'soon'}, 'statement_timeout', 'cannot parse'),
    ({'lock_timeout': '-1s'}, 'lock_timeout', 'must not be negative'),
    ({'top_statements': -1}, 'top_statements', 'must be 0 or more'),
])
def test_bad_options_fail_naming_the_parameter(scratch, extra, param, words):
    result = run_module(MODULE, login(scratch['name'], **extra))
    assert result.get('failed') and no_traceback(result), result
    assert result['msg'].startswith(param + ': ') and words in result['msg'] and result['param'] == param


def test_refuses_pgbouncer(scratch):
    result = run_module(MODULE, dict(login(scratch['name']), login_port=lab_port('pgbouncer'), login_db='clickview'))
    assert result.get('failed') and no_traceback(result), result
    assert 'PgBouncer' in result['msg'] or 'pooler' in result['msg'] or 'unable to connect' in result['msg']
