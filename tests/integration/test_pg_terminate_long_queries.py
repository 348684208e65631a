# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""clickview.runbook.pg_terminate_long_queries against the lab's real PostgreSQL primary.

Every test creates its own backends with an application_name unique to the test, and every
module run is scoped to those names, so tests running in parallel never touch each other's
backends (or anybody else's). All connections are closed and terminated on teardown.
"""

import threading
import time
import uuid

import psycopg2
import pytest

from conftest import LAB, LAB_HOST as HOST, PG_ROLES, lab_port, pg_connect, pg_query, run_module, run_tasks

MODULE = 'clickview.runbook.pg_terminate_long_queries'
PRIMARY = lab_port('postgres_primary')
PGBOUNCER = lab_port('pgbouncer')
DB = LAB['postgres']['database']
ROLES = {'app': PG_ROLES['app'], 'ops': PG_ROLES['operator'], 'super': PG_ROLES['superuser'],
         'replicator': PG_ROLES['replicator']}
SLEEP = 'SELECT pg_sleep(600)'
# Loops around pg_sleep and swallows query_canceled: only pg_terminate_backend ends it.
STUBBORN_FUNCTION = """
CREATE FUNCTION pg_temp.stubborn_sleep() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOOP
        BEGIN
            PERFORM pg_sleep(600);
        EXCEPTION WHEN query_canceled THEN
            NULL;
        END;
    END LOOP;
END $$
"""


def connect(role='app', app='itest', db=DB, autocommit=True):
    return pg_connect(ROLES[role], dbname=db, application_name=app, autocommit=autocommit)


def login(role='ops', **extra):
    args = dict(login_host=HOST, login_port=PRIMARY, login_user=ROLES[role]['name'],
                login_password=ROLES[role]['password'], login_db=DB)
    args.update(extra)
    return args


def admin_query(sql, params=None):
    return pg_query(sql, params, application_name='itest-observer')


def alive(pids):
    rows = admin_query('SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)', (list(pids),))
    return set(row[0] for row in rows)


class Backend(object):
    def __init__(self, conn, pid, thread=None):
        self.conn = conn
        self.pid = pid
        self.thread = thread
        self.error = None


class Backends(object):
    """Creates real backends for one test and removes whatever is left of them afterwards."""

    def __init__(self):
        self.prefix = 'itest-%s' % uuid.uuid4().hex[:10]
        self.backends = []

    def app(self, suffix):
        return '%s-%s' % (self.prefix, suffix)

    def _track(self, conn):
        backend = Backend(conn, conn.get_backend_pid())
        self.backends.append(backend)
        return backend

    def running(self, suffix, role='app', db=DB, sql=SLEEP, setup=None):
        """A backend running ``sql`` (blocking) in a thread; waits until it shows as active."""
        conn = connect(role, self.app(suffix), db)
        backend = self._track(conn)
        if setup:
            with conn.cursor() as cur:
                cur.execute(setup)

        def work():
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
            except psycopg2.Error as exc:
                backend.error = exc

        backend.thread = threading.Thread(target=work, daemon=True)
        backend.thread.start()
        deadline = time.time() + 10
        while time.time() < deadline:
            rows = admin_query("SELECT state FROM pg_stat_activity WHERE pid = %s", (backend.pid,))
            if rows and rows[0][0] == 'active':
                break
            time.sleep(0.05)
        else:
            raise AssertionError('backend %s never became active' % backend.pid)
        return backend

    def idle_in_transaction(self, suffix, role='app'):
        conn = connect(role, self.app(suffix), autocommit=False)
        with conn.cursor() as cur:
            cur.execute('SELECT 1')
        return self._track(conn)

    def idle(self, suffix, role='app'):
        conn = connect(role, self.app(suffix))
        with conn.cursor() as cur:
            cur.execute('SELECT 1')
        return self._track(conn)

    def cleanup(self):
        pids = [b.pid for b in self.backends]
        if pids:
            try:
                admin_query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(%s) '
                            'AND application_name LIKE %s', (pids, self.prefix + '%'))
            except psycopg2.Error:
                pass
        for backend in self.backends:
            try:
                backend.conn.close()
            except psycopg2.Error:
                pass
            if backend.thread is not None:
                backend.thread.join(timeout=5)


@pytest.fixture
def pg():
    backends = Backends()
    yield backends
    backends.cleanup()


def outcomes(result):
    return dict((b['pid'], b['outcome']) for b in result.get('backends', []))


def no_traceback(result):
    """A clean fail_json (ansible-core 2.19 adds exception='(traceback unavailable)' to those)."""
    return 'module_stderr' not in result and 'Traceback' not in str(result.get('exception', ''))


def wait_old_enough(seconds=1.2):
    time.sleep(seconds)


# ---------------------------------------------------------------------------------------------

def test_check_mode_lists_targets_with_diff_and_touches_nothing(pg):
    targets = [pg.running('a'), pg.running('a', role='ops'), pg.idle_in_transaction('a')]
    wait_old_enough()
    result = run_module(MODULE, login(include_applications=[pg.app('a')], states=['active', 'idle in transaction'],
                                      min_duration='1s', action='terminate'), check=True, diff=True)
    assert not result.get('failed'), result
    assert result['changed'] is True
    assert outcomes(result) == dict((b.pid, 'would_terminate') for b in targets)
    assert result['counts']['would_terminate'] == 3 and result['counts']['terminated'] == 0
    for backend in targets:
        assert 'pid %s ' % backend.pid in result['diff']['before']
    assert alive(b.pid for b in targets) == set(b.pid for b in targets)

    # too young for the threshold: nothing selected, nothing changed
    result = run_module(MODULE, login(include_applications=[pg.app('a')], min_duration='1h'), check=True)
    assert result['changed'] is False and result['backends'] == []


def test_terminate_hits_exactly_the_selection_and_is_idempotent(pg):
    hit = [pg.running('t'), pg.running('t', role='ops', db='postgres'), pg.idle_in_transaction('t')]
    spared = [pg.idle('t'), pg.running('bystander'), pg.idle_in_transaction('bystander')]
    wait_old_enough()
    args = login(include_applications=[pg.app('t')], states=['active', 'idle in transaction'], min_duration='1s',
                 action='terminate')
    result = run_module(MODULE, args)
    assert not result.get('failed'), result
    assert result['changed'] is True
    assert outcomes(result) == dict((b.pid, 'terminated') for b in hit)
    assert result['counts']['terminated'] == 3
    assert alive(b.pid for b in hit + spared) == set(b.pid for b in spared)
    report = next(b for b in result['backends'] if b['pid'] == hit[0].pid)
    assert report['user'] == ROLES['app']['name'] and report['database'] == DB
    assert report['application'] == pg.app('t') and report['client_addr'] == '127.0.0.1'
    assert report['state'] == 'active' and report['backend_type'] == 'client backend'
    assert report['query'] == SLEEP and report['duration'] >= 1.0
    assert next(b for b in result['backends'] if b['pid'] == hit[1].pid)['database'] == 'postgres'
    assert next(b for b in result['backends'] if b['pid'] == hit[2].pid)['state'] == 'idle in transaction'

    again = run_module(MODULE, args)
    assert not again.get('failed'), again
    assert again['changed'] is False and again['backends'] == []


def test_include_exclude_filters_and_query_pattern(pg):
    b1 = pg.running('f1')
    b2 = pg.running('f1', role='ops')
    b3 = pg.running('f1', db='postgres')
    b4 = pg.running('f2')
    b5 = pg.running('f1', sql=SLEEP + ' /* nightly report */')
    everyone = [b1, b2, b3, b4, b5]
    wait_old_enough()
    base = dict(min_duration='1s', action='terminate')
    runs = [
        (dict(include_applications=[pg.app('f1')], exclude_users=[ROLES['ops']['name']], include_databases=[DB]),
         {b1.pid, b5.pid}),
        (dict(include_applications=[pg.app('f1'), pg.app('f2')], include_users=[ROLES['app']['name']],
              exclude_databases=['postgres']),
         {b1.pid, b4.pid, b5.pid}),
        (dict(include_applications=[pg.app('f1'), pg.app('f2')], query_pattern=r'nightly\s+report'), {b5.pid}),
        (dict(include_applications=[pg.app('f1'), pg.app('f2')], exclude_client_addresses=['127.0.0.0/8']), set()),
        (dict(include_applications=[pg.app('f2')], include_client_addresses=['127.0.0.1']), {b4.pid}),
        (dict(include_applications=[pg.app('f1'), pg.app('f2')], include_client_addresses=['10.0.0.0/8']), set()),
        (dict(include_applications=[pg.app('f1')], include_databases=['postgres']), {b3.pid}),
    ]
    tasks = []
    for extra, _expected in runs:
        args = login(**base)
        args.update(extra)
        tasks.append({'name': 'filter', MODULE: args, 'check_mode': True, 'ignore_errors': True})
    results = run_tasks(tasks)
    for (extra, expected), result in zip(runs, results):
        assert not result.get('failed'), (extra, result)
        assert set(outcomes(result)) == expected, extra
        assert set(outcomes(result).values()) <= {'would_terminate'}
    assert alive(b.pid for b in everyone) == set(b.pid for b in everyone)

    # a real run with the pattern ends only the report
    result = run_module(MODULE, login(include_applications=[pg.app('f1')], query_pattern='nightly report', **base))
    assert outcomes(result) == {b5.pid: 'terminated'}
    assert alive(b.pid for b in everyone) == {b1.pid, b2.pid, b3.pid, b4.pid}


def test_cancel_then_terminate_ends_a_query_that_ignores_cancel(pg):
    stubborn = pg.running('ct', sql='SELECT pg_temp.stubborn_sleep()', setup=STUBBORN_FUNCTION)
    polite = pg.running('ct')
    wait_old_enough()
    result = run_module(MODULE, login(include_applications=[pg.app('ct')], min_duration='1s',
                                      action='cancel_then_terminate', grace_period='1s'))
    assert not result.get('failed'), result
    assert outcomes(result) == {stubborn.pid: 'terminated', polite.pid: 'cancelled'}
    assert 'after cancel' in next(b for b in result['backends'] if b['pid'] == stubborn.pid)['reason']
    # the polite session survives with its query cancelled; the stubborn one is gone
    polite.thread.join(timeout=5)
    assert isinstance(polite.error, psycopg2.extensions.QueryCanceledError)
    assert alive([stubborn.pid, polite.pid]) == {polite.pid}
    again = run_module(MODULE, login(include_applications=[pg.app('ct')], min_duration='1s'))
    assert again['changed'] is False


def test_cancel_then_terminate_does_not_wait_out_the_grace_when_every_cancel_worked(pg):
    polite = [pg.running('cq') for _index in range(3)]
    wait_old_enough()
    started = time.monotonic()
    result = run_module(MODULE, login(include_applications=[pg.app('cq')], min_duration='1s',
                                      action='cancel_then_terminate', grace_period='60s'))
    # a functional bound, not a benchmark: waiting out the grace period would take over 60 s
    assert time.monotonic() - started < 30
    assert outcomes(result) == dict((b.pid, 'cancelled') for b in polite)
    assert alive(b.pid for b in polite) == set(b.pid for b in polite)        # sessions kept, queries cancelled


def test_cancel_keeps_the_session(pg):
    backend = pg.running('c')
    wait_old_enough()
    result = run_module(MODULE, login(include_applications=[pg.app('c')], min_duration='1s', action='cancel'))
    assert outcomes(result) == {backend.pid: 'cancelled'}
    backend.thread.join(timeout=5)
    assert isinstance(backend.error, psycopg2.extensions.QueryCanceledError)
    assert alive([backend.pid]) == {backend.pid}


def test_max_backends_guard_then_force(pg):
    backends = [pg.running('g') for _index in range(3)]
    wait_old_enough()
    args = login(include_applications=[pg.app('g')], min_duration='1s', action='terminate', max_backends=2)
    result = run_module(MODULE, args)
    assert result['failed'] is True and result['changed'] is False
    assert 'max_backends' in result['msg'] and '3 backends' in result['msg']
    assert set(outcomes(result).values()) == {'skipped'}
    assert alive(b.pid for b in backends) == set(b.pid for b in backends)

    args['force'] = True
    result = run_module(MODULE, args)
    assert not result.get('failed'), result
    assert result['counts']['terminated'] == 3
    assert alive(b.pid for b in backends) == set()


def test_superuser_own_backend_and_replication_are_protected(pg):
    superuser = pg.running('p', role='super')
    replication_role = pg.running('p', role='replicator')
    app = pg.running('p')
    own = pg.app('p-own')
    wait_old_enough()
    walsenders_before = admin_query("SELECT pid FROM pg_stat_replication WHERE state = 'streaming'")

    result = run_module(MODULE, login('super', include_applications=[pg.app('p'), own], min_duration=0,
                                      action='terminate', connect_params={'application_name': own}))
    assert not result.get('failed'), result
    by_pid = dict((b['pid'], b) for b in result['backends'])
    assert by_pid[superuser.pid]['outcome'] == 'skipped' and by_pid[superuser.pid]['guard'] == 'superuser'
    assert by_pid[replication_role.pid]['guard'] == 'replication_role'
    assert by_pid[app.pid]['outcome'] == 'terminated'
    own_reports = [b for b in result['backends'] if b['application'] == own]
    assert len(own_reports) == 1 and own_reports[0]['guard'] == 'own_backend'
    assert alive([superuser.pid, replication_role.pid, app.pid]) == {superuser.pid, replication_role.pid}

    # named explicitly, they may be terminated
    result = run_module(MODULE, login('super', include_applications=[pg.app('p')], min_duration=0, action='terminate',
                                      include_users=[ROLES['super']['name'], ROLES['replicator']['name']]))
    assert outcomes(result) == {superuser.pid: 'terminated', replication_role.pid: 'terminated'}

    # even with the replication role named and every state selected, the walsender is left alone
    result = run_module(MODULE, login('super', include_users=[ROLES['replicator']['name']], min_duration=0,
                                      action='terminate', states=['active', 'idle', 'idle in transaction',
                                                                  'idle in transaction (aborted)',
                                                                  'fastpath function call', 'disabled']))
    assert not result.get('failed'), result
    assert result['counts']['terminated'] == 0
    if not walsenders_before:
        pytest.skip('the lab replica is not streaming; walsender survival not checked')
    assert admin_query("SELECT pid FROM pg_stat_replication WHERE state = 'streaming'") == walsenders_before


def test_signal_backend_role_gets_permission_denied_on_superuser(pg):
    superuser = pg.running('pd', role='super')
    app = pg.running('pd')
    wait_old_enough()
    result = run_module(MODULE, login('ops', include_applications=[pg.app('pd')], min_duration='1s', action='terminate',
                                      include_users=[ROLES['super']['name'], ROLES['app']['name']]))
    assert result['failed'] is True
    assert no_traceback(result)
    by_pid = dict((b['pid'], b) for b in result['backends'])
    assert by_pid[superuser.pid]['outcome'] == 'failed'
    assert 'superuser' in by_pid[superuser.pid]['reason'] or 'permission' in by_pid[superuser.pid]['reason']
    assert by_pid[app.pid]['outcome'] == 'terminated'
    assert str(superuser.pid) in result['msg']
    assert alive([superuser.pid, app.pid]) == {superuser.pid}

    predicted = run_module(MODULE, login('ops', include_applications=[pg.app('pd')], min_duration='1s',
                                         include_users=[ROLES['super']['name']]), check=True)
    assert outcomes(predicted) == {superuser.pid: 'would_fail'}


def test_clears_exhausted_connections_as_superuser(pg):
    max_connections, reserved = [int(v) for (v,) in admin_query(
        "SELECT setting FROM pg_settings WHERE name IN ('max_connections', 'superuser_reserved_connections') ORDER BY name")]
    opened = []
    try:
        for _attempt in range(max_connections):
            try:
                opened.append(pg.idle('x'))
            except psycopg2.OperationalError as exc:
                assert 'reserved' in str(exc)
                break
        with pytest.raises(psycopg2.OperationalError):
            connect('ops', app=pg.app('x-probe')).close()
        result = run_module(MODULE, login('super', include_applications=[pg.app('x')], states=['idle'], min_duration=0,
                                          action='terminate', force=True))
        assert not result.get('failed'), result
        assert result['counts']['terminated'] == len(opened) >= max_connections - reserved - 20
        connect('ops', app=pg.app('x-probe')).close()
    finally:
        pg.cleanup()


def test_bad_input_fails_with_the_parameter_and_changes_nothing(pg):
    sentinel = pg.running('bad')
    wait_old_enough()
    scope = dict(include_applications=[pg.app('bad')], min_duration='1s', action='terminate')
    cases = [
        (dict(states=['running']), 'states'),
        (dict(min_duration='soon'), 'min_duration'),
        (dict(min_duration='-5m'), 'min_duration'),
        (dict(grace_period='forever'), 'grace_period'),
        (dict(query_pattern='(unclosed'), 'query_pattern'),
        (dict(include_client_addresses=['10.0.0.0/33']), 'include_client_addresses'),
        (dict(include_users=['clickview_app'], exclude_users=['clickview_app']), 'exclude_users'),
        (dict(max_backends=-1), 'max_backends'),
        (dict(login_port=1), '%s:1' % HOST),
        (dict(login_password='wrong-password'), '%s:%s' % (HOST, PRIMARY)),
        (dict(login_port=PGBOUNCER), 'directly'),
        (dict(login_port=PGBOUNCER, login_db='pgbouncer'), 'admin console'),
    ]
    tasks = []
    for extra, _needle in cases:
        args = login(**scope)
        args.update(extra)
        tasks.append({'name': 'bad input', MODULE: args, 'ignore_errors': True})
    results = run_tasks(tasks)
    for (extra, needle), result in zip(cases, results):
        assert result.get('failed') is True, (extra, result)
        assert needle in result['msg'], (extra, result['msg'])
        assert no_traceback(result), (extra, result)
        assert not result.get('changed'), extra
        assert 'wrong-password' not in str(result) and ROLES['ops']['password'] not in str(result)
    assert 'password authentication failed' in results[9]['msg']
    assert alive([sentinel.pid]) == {sentinel.pid}
