# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database_operations playbooks against the lab's real PostgreSQL primary and replica.

Reports are written to each test's tmp_path and read back as JSON. Read-only mode is always
turned back off (finally), and the kill tests only ever select backends carrying an
application_name unique to the test.
"""

import json
import threading
import time
import uuid

import psycopg2
import pytest

from conftest import LAB_HOST as HOST, lab_port, pg_connect, pg_query, run_module, run_playbook

PRIMARY = lab_port('postgres_primary')
REPLICA = lab_port('postgres_replica')
READ_ONLY_ERROR = 'cannot execute CREATE TABLE in a read-only transaction'
OBSERVER = 'itest-dbops-observer'


def query(sql, params=None, port='postgres_primary'):
    return pg_query(sql, params, port=port, application_name=OBSERVER)


def read_only_setting():
    # a new session: sees the reloaded configuration
    return query('SHOW default_transaction_read_only')[0][0]


def try_write():
    """None when a write succeeds in a new session, else the error text."""
    conn = pg_connect('app', application_name=OBSERVER, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute('CREATE TEMPORARY TABLE itest_write_probe (x int) ON COMMIT DROP')
        conn.commit()
        return None
    except psycopg2.Error as exc:
        return str(exc)
    finally:
        conn.close()


def force_read_write():
    """Safety net: whatever a test did, leave the lab primary writable."""
    conn = pg_connect(application_name=OBSERVER)
    try:
        with conn.cursor() as cur:
            cur.execute('SET default_transaction_read_only = off')
            cur.execute('ALTER SYSTEM SET default_transaction_read_only = off')
            cur.execute('SELECT pg_reload_conf()')
    finally:
        conn.close()
    deadline = time.monotonic() + 15
    while read_only_setting() != 'off' and time.monotonic() < deadline:
        time.sleep(0.2)


def run(playbook, tmp_path, check=False, **extra):
    extra.setdefault('database_operations_report_dir', str(tmp_path))
    rc, output = run_playbook('playbooks/%s.yml' % playbook, extra_vars=extra, check=check, json_output=False)
    return rc, output


def report(tmp_path, kind):
    return json.loads((tmp_path / ('%s-local-latest.json' % kind)).read_text())


def by_check(rep, name):
    return [c for c in rep['checks'] if c['check'] == name]


def wait_for_lab_replica(timeout=90):
    """Other suites stop the lab replica for fault drills; wait until it streams again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rows = query("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
            if rows[0][0] >= 1 and query('SELECT pg_is_in_recovery()', port='postgres_replica')[0][0]:
                return
        except psycopg2.Error:
            pass
        time.sleep(1)
    pytest.skip('the lab replica is not streaming (stopped by another test?)')


# ---- daily check -------------------------------------------------------------------------

def test_daily_check_reports_lag_per_replica_and_the_seeded_bloat(tmp_path):
    wait_for_lab_replica()
    started = time.monotonic()
    rc, output = run('db_daily_check', tmp_path)
    assert rc == 0, output
    rep = report(tmp_path, 'db-daily-check')
    assert rep['overall'] == 'WARN', rep          # page_views' 30 % dead tuples is WARN (>= 20 %)

    replica = by_check(rep, 'replication.replica_lag')
    assert [c['target'] for c in replica] == ['replica-1 %s:%d' % (HOST, REPLICA)]
    detail = replica[0]['detail']
    assert replica[0]['status'] == 'OK', replica
    assert detail['in_recovery'] is True and detail['receiver_status'] == 'streaming'
    # plausible: an idle lab replica is at most a few WAL records and seconds behind
    assert 0 <= detail['lag_bytes'] < 16 * 1024 * 1024
    assert 0 <= detail['lag_seconds'] < time.monotonic() - started + 30
    assert 'bytes' in replica[0]['figure'] and 's behind' in replica[0]['figure']

    senders = by_check(rep, 'replication.sender_lag')
    assert senders and all(s['detail']['state'] == 'streaming' for s in senders), senders
    assert all(s['detail']['lag_bytes'] >= 0 and s['detail']['lag_seconds'] >= 0 for s in senders)
    assert by_check(rep, 'replication.senders')[0]['status'] == 'OK'

    bloat = {c['target']: c for c in by_check(rep, 'bloat.table')}
    page_views = bloat['public.page_views']
    assert page_views['status'] == 'WARN'
    assert page_views['detail']['n_dead_tup'] >= 50000
    assert 25 <= page_views['detail']['dead_pct'] <= 35
    assert 'autovacuum disabled' in page_views['figure']
    markdown = (tmp_path / 'db-daily-check-local-latest.md').read_text()
    assert 'public.page_views' in markdown and 'WARN' in markdown


def test_daily_check_fails_after_writing_the_report_when_a_replica_is_unreachable(tmp_path):
    rc, output = run('db_daily_check', tmp_path, clickview_postgres_replicas=[
        {'name': 'ghost', 'host': HOST, 'port': 1}])
    assert rc != 0
    rep = report(tmp_path, 'db-daily-check')
    ghost = by_check(rep, 'replication.replica_lag')[0]
    assert ghost['status'] == 'FAIL' and ghost['figure'] == 'unreachable'
    assert 'replication.replica_lag' in output


# ---- weekly maintenance ------------------------------------------------------------------

def last_analyze(table):
    return query('SELECT last_analyze FROM pg_stat_user_tables WHERE relid = %s::regclass', (table,))[0][0]


def test_weekly_maintenance_analyzes_with_durations_and_finds_the_unused_index(tmp_path):
    before = last_analyze('public.page_views')
    rc, output = run('db_weekly_maintenance', tmp_path)
    assert rc == 0, output
    rep = report(tmp_path, 'db-weekly-maintenance')
    analyzed = {c['target']: c for c in by_check(rep, 'analyze.table')}
    assert {'public.page_views', 'public.users', 'public.api_keys', 'public.audit_log'} <= set(analyzed)
    # the seeded tables (other suites may create and drop tables of their own meanwhile: those
    # are graded WARN "gone" when dropped mid-run, never FAIL)
    assert not [c for c in analyzed.values() if c['status'] == 'FAIL'], analyzed
    for name in ('public.page_views', 'public.users', 'public.api_keys', 'public.audit_log'):
        check = analyzed[name]
        assert check['status'] == 'OK', check
        assert 0 <= check['duration_seconds'] < 60
        assert check['figure'].startswith('analyzed in ')
    assert last_analyze('public.page_views') != before
    action = rep['actions'][0]
    assert action['action'] == 'analyze' and action['duration_seconds'] >= 0
    assert 'public.page_views' in action['tables']

    unused = {c['target']: c for c in by_check(rep, 'index.unused')}
    assert 'public.page_views_referrer_idx' in unused
    referrer = unused['public.page_views_referrer_idx']
    assert referrer['status'] == 'WARN' and referrer['detail']['bytes'] > 0
    assert referrer['detail']['table_name'] == 'public.page_views'
    # primary keys and unique constraints are never listed
    assert not [name for name in unused if name.endswith('_pkey') or name.endswith('_key')]


def test_weekly_maintenance_analyzes_only_the_listed_tables(tmp_path):
    rc, output = run('db_weekly_maintenance', tmp_path, database_operations_analyze_tables=['page_views'])
    assert rc == 0, output
    rep = report(tmp_path, 'db-weekly-maintenance')
    assert [c['target'] for c in by_check(rep, 'analyze.table')] == ['public.page_views']


def test_weekly_maintenance_refuses_an_unknown_table_before_analyzing_anything(tmp_path):
    before = last_analyze('public.users')
    rc, output = run('db_weekly_maintenance', tmp_path,
                     database_operations_analyze_tables=['users', 'no_such_table'])
    assert rc != 0
    assert 'database_operations_analyze_tables: unknown table(s) no_such_table' in output
    assert 'Nothing was analyzed' in output
    assert last_analyze('public.users') == before


def test_weekly_maintenance_in_check_mode_analyzes_nothing(tmp_path):
    before = last_analyze('public.page_views')
    rc, output = run('db_weekly_maintenance', tmp_path, check=True)
    assert rc == 0, output
    rep = report(tmp_path, 'db-weekly-maintenance')
    assert rep['check_mode'] is True
    assert all('would be analyzed' in c['figure'] for c in by_check(rep, 'analyze.table'))
    assert last_analyze('public.page_views') == before
    assert 'public.page_views_referrer_idx' in [c['target'] for c in by_check(rep, 'index.unused')]


# ---- kill long-running queries -------------------------------------------------------------

class Sleeper(object):
    """A backend of the app role running pg_sleep under an application_name of its own."""

    def __init__(self, app):
        self.conn = pg_connect('app', application_name=app)
        self.started = time.monotonic()
        with self.conn.cursor() as cur:
            cur.execute('SELECT pg_backend_pid()')
            self.pid = cur.fetchone()[0]
        self.error = None
        self.thread = threading.Thread(target=self._sleep, daemon=True)
        self.thread.start()

    def _sleep(self):
        try:
            with self.conn.cursor() as cur:
                cur.execute('SELECT pg_sleep(120)')
        except psycopg2.Error as exc:
            self.error = exc

    def close(self):
        try:
            query('SELECT pg_terminate_backend(%s)', (self.pid,))
        finally:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass


def alive(pids):
    return {row[0] for row in query('SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)', (list(pids),))}


@pytest.fixture
def sleepers():
    """make(app, count): backends sleeping under app; settle(): wait until every one is older than
    the 2 s minimum duration the tests use."""
    created = []

    def make(app, count=1):
        for _index in range(count):
            created.append(Sleeper(app))
        return created[-count:]

    def settle():
        time.sleep(max(0.0, 2.5 - (time.monotonic() - created[-1].started)))

    make.settle = settle
    yield make
    for sleeper in created:
        sleeper.close()


def kill_vars(app, **extra):
    values = {'database_operations_kill_min_duration': '2s',
              'database_operations_kill_include_applications': [app],
              'database_operations_kill_grace_period': '1s'}
    values.update(extra)
    return values


def test_kill_long_queries_lists_without_execute_and_kills_only_the_selected_backends(tmp_path, sleepers):
    app = 'itest-dbops-kill-%s' % uuid.uuid4().hex[:8]
    bystander_app = 'itest-dbops-bystander-%s' % uuid.uuid4().hex[:8]
    targets = sleepers(app, 2)
    bystanders = sleepers(bystander_app, 1)
    sleepers.settle()
    pids = {s.pid for s in targets}

    rc, output = run('db_kill_long_queries', tmp_path, **kill_vars(app))
    assert rc == 0, output
    rep = report(tmp_path, 'db-kill-long-queries')
    assert {c['detail']['pid'] for c in by_check(rep, 'long_query.backend')} == pids
    assert by_check(rep, 'long_query.selection')[0]['status'] == 'WARN'
    assert 'database_operations_kill_execute=true' in by_check(rep, 'long_query.selection')[0]['figure']
    assert rep['actions'] == []
    assert alive(pids) == pids

    rc, output = run('db_kill_long_queries', tmp_path, **kill_vars(app, database_operations_kill_execute=True))
    assert rc == 0, output
    rep = report(tmp_path, 'db-kill-long-queries')
    outcomes = {c['detail']['pid']: c['detail']['outcome'] for c in by_check(rep, 'long_query.backend')}
    assert set(outcomes) == pids
    assert set(outcomes.values()) <= {'cancelled', 'terminated'}
    assert sorted(rep['actions'][0]['pids']) == sorted(pids)
    for sleeper in targets:
        sleeper.thread.join(10)
        assert sleeper.error is not None          # the query was cancelled / the session ended
    bystander = bystanders[0]
    assert alive([bystander.pid]) == {bystander.pid}
    assert bystander.thread.is_alive()


def test_kill_long_queries_in_check_mode_signals_nothing_even_with_execute(tmp_path, sleepers):
    app = 'itest-dbops-killcheck-%s' % uuid.uuid4().hex[:8]
    targets = sleepers(app, 1)
    sleepers.settle()
    rc, output = run('db_kill_long_queries', tmp_path, check=True,
                     **kill_vars(app, database_operations_kill_execute=True))
    assert rc == 0, output
    rep = report(tmp_path, 'db-kill-long-queries')
    # cancel_then_terminate: a real run would cancel first
    assert [c['detail']['outcome'] for c in by_check(rep, 'long_query.backend')] == ['would_cancel']
    assert alive([targets[0].pid]) == {targets[0].pid}
    assert targets[0].thread.is_alive()


def test_kill_long_queries_rejects_a_bad_action_before_connecting(tmp_path):
    rc, output = run('db_kill_long_queries', tmp_path, database_operations_kill_action='obliterate')
    assert rc != 0
    assert 'database_operations_kill_action' in output and 'obliterate' in output


# ---- emergency read-only mode --------------------------------------------------------------

@pytest.fixture(scope='module')
def read_only_cycle(tmp_path_factory):
    """db_read_only_on then db_read_only_off, recorded in an incident's timeline; between the two,
    and after, what a new session sees. The primary is always made writable again."""
    tmp_path = tmp_path_factory.mktemp('read-only')
    incident_dir = tmp_path / 'incidents'
    incident_id = 'INC-itest-dbops-%s' % uuid.uuid4().hex[:8]
    cycle = {'incident_dir': incident_dir, 'incident_id': incident_id, 'setting_before': read_only_setting()}
    cycle['declared'] = run_module('clickview.runbook.incident', {
        'incident_dir': str(incident_dir), 'incident_id': incident_id, 'action': 'declare',
        'title': 'itest database read-only', 'severity': 'P2'})
    try:
        for mode in ('on', 'off'):
            cycle[mode] = run('db_read_only_%s' % mode, tmp_path, incident_id=incident_id,
                              clickview_incident_dir=str(incident_dir))
            cycle[mode + '_report'] = report(tmp_path, 'db-read-only-%s' % mode) if cycle[mode][0] == 0 else None
            # independently of the playbook's own probe: what a new session sees
            cycle[mode + '_setting'], cycle[mode + '_write_error'] = read_only_setting(), try_write()
    finally:
        force_read_write()
    return cycle


def test_read_only_on_blocks_writes(read_only_cycle):
    cycle = read_only_cycle
    assert cycle['setting_before'] == 'off'
    rc, output = cycle['on']
    assert rc == 0, output
    rep = cycle['on_report']
    assert rep['overall'] == 'OK', rep
    probe = by_check(rep, 'read_only.write_probe')[0]
    assert READ_ONLY_ERROR in probe['figure']
    assert rep['actions'][0]['after'] == 'on' and rep['actions'][0]['before'] == 'off'
    assert cycle['on_setting'] == 'on'
    assert cycle['on_write_error'] is not None and READ_ONLY_ERROR in cycle['on_write_error']


def test_read_only_off_lifts_it(read_only_cycle):
    cycle = read_only_cycle
    rc, output = cycle['off']
    assert rc == 0, output
    assert by_check(cycle['off_report'], 'read_only.write_probe')[0]['figure'] == 'write accepted'
    assert cycle['off_setting'] == 'off'
    assert cycle['off_write_error'] is None


def test_read_only_is_recorded_in_the_incident_timeline(read_only_cycle):
    cycle = read_only_cycle
    assert not cycle['declared'].get('failed'), cycle['declared']
    assert cycle['on'][0] == 0 and cycle['off'][0] == 0, (cycle['on'][1], cycle['off'][1])
    record = json.loads((cycle['incident_dir'] / ('%s.json' % cycle['incident_id'])).read_text())
    events = [e for e in record['timeline'] if e.get('source') == 'database_operations/read_only']
    assert [e['event'] for e in events] == ['Database read-only mode %s on primary %s:%d' % (mode, HOST, PRIMARY)
                                            for mode in ('on', 'off')]
    assert events[0]['details']['before'] == 'off' and events[0]['details']['after'] == 'on'


def test_read_only_off_when_already_off_changes_nothing(tmp_path):
    try:
        rc, output = run('db_read_only_off', tmp_path)
        assert rc == 0, output
        rep = report(tmp_path, 'db-read-only-off')
        assert rep['actions'] == []
        assert 'already off' in by_check(rep, 'read_only.setting')[0]['figure']
    finally:
        force_read_write()


def test_read_only_on_in_check_mode_changes_nothing(tmp_path):
    try:
        rc, output = run('db_read_only_on', tmp_path, check=True)
        assert rc == 0, output
        rep = report(tmp_path, 'db-read-only-on')
        assert rep['check_mode'] is True
        assert rep['actions'][0]['summary'].startswith('would set default_transaction_read_only = on')
        assert read_only_setting() == 'off'
        assert try_write() is None
    finally:
        force_read_write()


def test_read_only_refuses_a_replica_before_anything_changes(tmp_path):
    try:
        rc, output = run('db_read_only_on', tmp_path,
                         database_operations_target={'name': 'replica-1', 'host': HOST, 'port': REPLICA})
        assert rc != 0
        assert 'database_operations_target: replica-1 %s:%d is in recovery (a replica)' % (HOST, REPLICA) in output
        assert 'Nothing was changed' in output
        assert read_only_setting() == 'off'
        assert not (tmp_path / 'db-read-only-on-local-latest.json').exists()
    finally:
        force_read_write()
