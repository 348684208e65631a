# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/postgres_backends.py (no database, no AnsibleModule)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import sys

import pytest

_COLLECTIONS = os.path.join(os.path.dirname(__file__), '..', '..', '.collections')
if os.path.isdir(_COLLECTIONS) and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.clickview.runbook.plugins.module_utils import postgres_backends as pb  # noqa: E402


# ---- duration parsing -------------------------------------------------------------------

@pytest.mark.parametrize('value, seconds', [
    (0, 0.0), (300, 300.0), (2.5, 2.5), ('300', 300.0), ('300s', 300.0), ('5m', 300.0), ('1h30m', 5400.0),
    ('1h 30m', 5400.0), ('1d2h', 93600.0), ('1.5h', 5400.0), (' 45S ', 45.0), ('0s', 0.0), ('2m30s', 150.0),
])
def test_parse_duration_accepts(value, seconds):
    assert pb.parse_duration(value) == seconds


@pytest.mark.parametrize('value', ['', 'abc', '5 minutes', '5x', '1h30', 'h', '-5m', '-1', -1, -0.5, '5m5m', None, True,
                                   [5], {'m': 5}, 'nan', 'inf', float('inf')])
def test_parse_duration_rejects_and_names_the_parameter(value):
    with pytest.raises(pb.ParameterError) as info:
        pb.parse_duration(value, 'grace_period')
    assert info.value.param == 'grace_period'
    assert str(info.value).startswith('grace_period: ')


def test_negative_duration_message_says_negative():
    with pytest.raises(pb.ParameterError, match='negative'):
        pb.parse_duration('-5m')


# ---- selection validation ---------------------------------------------------------------

def test_build_selection_defaults():
    selection = pb.build_selection({})
    assert selection.states == ['active']
    assert selection.min_duration == 300.0
    assert selection.query_regex is None
    assert selection.include_users == [] and selection.exclude_client_addresses == []


@pytest.mark.parametrize('params, param', [
    ({'states': ['running']}, 'states'),
    ({'states': []}, 'states'),
    ({'min_duration': 'soon'}, 'min_duration'),
    ({'min_duration': '-1s'}, 'min_duration'),
    ({'query_pattern': '(unclosed'}, 'query_pattern'),
    ({'include_client_addresses': ['10.0.0.0/33']}, 'include_client_addresses'),
    ({'exclude_client_addresses': ['not-an-ip']}, 'exclude_client_addresses'),
    ({'include_users': ['app'], 'exclude_users': ['ops', 'app']}, 'include_users/exclude_users'),
    ({'include_databases': ['a'], 'exclude_databases': ['a']}, 'include_databases/exclude_databases'),
    ({'include_applications': ['x'], 'exclude_applications': ['x']}, 'include_applications/exclude_applications'),
    ({'include_client_addresses': ['10.1.2.3/8'], 'exclude_client_addresses': ['10.0.0.0/8']},
     'include_client_addresses/exclude_client_addresses'),
    ({'include_users': ['']}, 'include_users'),
])
def test_build_selection_rejects_bad_input(params, param):
    with pytest.raises(pb.ParameterError) as info:
        pb.build_selection(params)
    assert info.value.param == param
    assert param in str(info.value)


def test_networks_are_normalised():
    selection = pb.build_selection({'include_client_addresses': ['10.1.2.3/8', '192.168.1.7', '2001:db8::1/32']})
    assert selection.include_client_addresses == ['10.0.0.0/8', '192.168.1.7/32', '2001:db8::/32']


def test_states_are_deduplicated_in_order():
    assert pb.build_selection({'states': ['idle', 'active', 'idle']}).states == ['idle', 'active']


def test_query_pattern_is_a_search():
    selection = pb.build_selection({'query_pattern': r'(?i)from\s+events'})
    assert selection.matches_query('select * FROM   events where x')
    assert not selection.matches_query('select 1')
    assert not selection.matches_query(None)
    assert pb.build_selection({}).matches_query(None)


# ---- query building ----------------------------------------------------------------------

HOSTILE = "x'); SELECT pg_terminate_backend(pid) FROM pg_stat_activity; --"


def test_query_carries_no_user_value_and_binds_everything():
    selection = pb.build_selection({
        'states': ['active', 'idle in transaction'], 'min_duration': '90s',
        'include_users': [HOSTILE], 'exclude_users': ['ops'], 'include_databases': [HOSTILE + 'db'],
        'exclude_databases': ['postgres'], 'include_applications': [HOSTILE + 'app'], 'exclude_applications': ['psql'],
        'include_client_addresses': ['10.0.0.0/8'], 'exclude_client_addresses': ['10.9.0.0/16'],
        'query_pattern': 'pg_sleep',
    })
    sql, params = pb.build_select_query(selection)
    for value in (HOSTILE, 'ops', 'postgres', 'psql', '10.0.0.0', 'pg_sleep', '90'):
        assert value not in sql
    assert params['states'] == ['active', 'idle in transaction']
    assert params['min_duration'] == 90.0
    assert params['include_users'] == [HOSTILE]
    assert params['exclude_users'] == ['ops']
    assert params['include_client_addresses'] == ['10.0.0.0/8']
    for name in params:
        assert '%%(%s)s' % name in sql
    assert 's.client_inet <<= ANY(%(include_client_addresses)s::inet[])' in sql
    assert 'NOT COALESCE(s.usename = ANY(%(exclude_users)s::text[]), false)' in sql
    # the query pattern is applied in Python, on the full text
    assert 'query_pattern' not in params


def test_query_without_filters_has_only_state_and_duration():
    sql, params = pb.build_select_query(pb.build_selection({'min_duration': 0}))
    assert sorted(params) == ['min_duration', 'states']
    assert 'ANY(%(include' not in sql and 'only_pids' not in sql


def test_duration_clock_per_state_is_in_the_query():
    sql, _params = pb.build_select_query(pb.build_selection({}))
    assert "WHEN a.state = 'active' THEN a.query_start" in sql
    assert "WHEN a.state IN ('idle in transaction', 'idle in transaction (aborted)') THEN a.xact_start" in sql
    assert 'ELSE a.state_change' in sql
    assert 'a.backend_start))::float8 AS duration' in sql


def test_recheck_query_binds_identities():
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    sql, params = pb.build_select_query(pb.build_selection({}), only=[(10, start), (11, start)])
    assert params['only_pids'] == [10, 11]
    assert params['only_starts'] == [start, start]
    assert 'unnest(%(only_pids)s::int[], %(only_starts)s::timestamptz[])' in sql


def test_signal_sql_uses_a_fixed_function_name():
    assert set(pb._SIGNAL_FUNCTIONS.values()) == {'pg_catalog.pg_cancel_backend', 'pg_catalog.pg_terminate_backend'}


# ---- guards and classification -----------------------------------------------------------

def row(pid=100, **kw):
    base = dict(pid=pid, backend_start=datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc), usename='app',
                datname='clickview', application_name='worker', client_addr='10.0.0.5', state='active',
                backend_type='client backend', query='select pg_sleep(600)', is_superuser=False,
                is_replication=False, is_own=False, duration=400.0, can_signal=True)
    base.update(kw)
    return base


@pytest.mark.parametrize('overrides, guard', [
    ({}, None),
    ({'is_own': True}, 'own_backend'),
    ({'backend_type': 'autovacuum worker'}, 'not_client_backend'),
    ({'backend_type': 'walsender', 'usename': 'replicator', 'is_replication': True}, 'not_client_backend'),
    ({'usename': 'postgres', 'is_superuser': True}, 'superuser'),
    ({'usename': 'replicator', 'is_replication': True}, 'replication_role'),
    ({'application_name': 'pg_dump'}, 'backup_tool'),
    ({'application_name': 'pg_dumpall'}, 'backup_tool'),
    ({'application_name': 'pg_basebackup'}, 'backup_tool'),
    ({'application_name': 'pgBackRest [backup]'}, 'backup_tool'),
    ({'application_name': 'pgBackRest [archive-push:async]'}, 'backup_tool'),
    ({'application_name': 'barman_receive_wal'}, 'backup_tool'),
    ({'application_name': 'barman'}, 'backup_tool'),
    ({'application_name': 'pg_dump_reports'}, None),
    ({'application_name': 'clickview-report-export'}, None),
])
def test_guards(overrides, guard):
    assert pb.guard_for(row(**overrides), pb.build_selection({})) == guard


def test_superuser_and_replication_only_when_named_in_include_users():
    selection = pb.build_selection({'include_users': ['postgres', 'replicator']})
    assert pb.guard_for(row(usename='postgres', is_superuser=True), selection) is None
    assert pb.guard_for(row(usename='replicator', is_replication=True), selection) is None
    # naming them never lifts the own-backend or backend-type guards
    assert pb.guard_for(row(usename='postgres', is_superuser=True, is_own=True), selection) == 'own_backend'
    assert pb.guard_for(row(usename='replicator', backend_type='walsender'), selection) == 'not_client_backend'


def test_backup_tools_only_when_asked():
    selection = pb.build_selection({'include_backup_tools': True})
    assert pb.guard_for(row(application_name='pgBackRest [backup]'), selection) is None
    assert pb.guard_for(row(application_name='pg_dump', is_own=True), selection) == 'own_backend'


def test_classify_reports_every_row_and_truncates_query():
    rows = [row(1, query='x' * 500), row(2, is_own=True)]
    reports, targets = pb.classify(rows, pb.build_selection({}))
    assert [r['pid'] for r in reports] == [1, 2]
    assert [t[0]['pid'] for t in targets] == [1]
    assert len(reports[0]['query']) == 200
    assert reports[1]['outcome'] == 'skipped' and reports[1]['guard'] == 'own_backend'
    assert reports[0]['backend_start'] == '2025-01-01T00:00:00+00:00'
    assert set(reports[0]) == {'pid', 'user', 'database', 'application', 'client_addr', 'state', 'backend_type',
                               'backend_start', 'duration', 'query', 'outcome', 'guard', 'reason'}


def test_counts_include_every_outcome():
    counts = pb.counts_of([{'outcome': 'terminated'}, {'outcome': 'terminated'}, {'outcome': 'skipped'}])
    assert counts['terminated'] == 2 and counts['skipped'] == 1
    assert set(counts) == set(pb.OUTCOMES)


# ---- run() against a scripted cursor ------------------------------------------------------

class FakeCursor(object):
    """Answers the module's statements from a script; records what was executed."""

    def __init__(self, rows, refuse=(), stubborn=()):
        self.rows = rows
        self.refuse = set(refuse)
        self.stubborn = set(stubborn)
        self.executed = []
        self.description = None
        self._result = []

    def execute(self, sql, params=None):
        self.executed.append((sql, params))
        if 'pg_read_all_stats' in sql:
            self._result = [(False, True, True)]
        elif 'FROM pg_catalog.pg_stat_activity AS a' in sql:
            rows = self.rows
            if params and 'only_pids' in params:
                rows = [r for r in rows if r['pid'] in params['only_pids'] and r['pid'] in self.stubborn]
            self.description = [(name,) for name in rows[0]] if rows else [('pid',)]
            self._result = [tuple(r.values()) for r in rows]
        elif 'signalled' in sql:
            if any(pid in self.refuse for pid in params['pids']):
                raise pb.DB_ERRORS[0]('ERROR:  must be a superuser to terminate superuser process\n')
            self._result = [(pid, True) for pid in params['pids']]
        elif 'JOIN LATERAL' in sql:  # wait for exit: everyone has gone
            self._result = []
        else:
            raise AssertionError(sql)

    def fetchall(self):
        return list(self._result)

    def fetchone(self):
        return self._result[0]

    def close(self):
        pass


class FakeConn(object):
    server_version = 150000

    def __init__(self, cursor):
        self._cursor = cursor

    def cursor(self):
        return self._cursor


def signal_calls(cursor):
    return [(sql, params) for sql, params in cursor.executed if 'signalled' in sql]


def test_check_mode_signals_nothing_and_predicts():
    cursor = FakeCursor([row(1), row(2, usename='postgres', is_superuser=True, can_signal=False), row(3, is_own=True)])
    selection = pb.build_selection({'include_users': ['app', 'postgres']})
    result = pb.run(FakeConn(cursor), selection, action='terminate', check_mode=True)
    assert signal_calls(cursor) == []
    outcomes = dict((r['pid'], r['outcome']) for r in result['backends'])
    assert outcomes == {1: 'would_terminate', 2: 'would_fail', 3: 'skipped'}
    assert result['changed'] is True
    assert 'pid 1 ' in result['diff']['before'] and result['diff']['after'] == ''


def test_max_backends_guard_touches_nothing():
    cursor = FakeCursor([row(1), row(2), row(3)])
    with pytest.raises(pb.GuardError) as info:
        pb.run(FakeConn(cursor), pb.build_selection({}), action='terminate', max_backends=2)
    assert signal_calls(cursor) == []
    assert '3 backends' in str(info.value)
    assert info.value.result['counts']['skipped'] == 3
    assert all(r['guard'] == 'max_backends' for r in info.value.result['backends'])


def test_force_overrides_max_backends_in_one_statement():
    cursor = FakeCursor([row(1), row(2), row(3)])
    result = pb.run(FakeConn(cursor), pb.build_selection({}), action='terminate', max_backends=2, force=True)
    assert result['counts']['terminated'] == 3
    calls = signal_calls(cursor)
    assert len(calls) == 1 and calls[0][1]['pids'] == [1, 2, 3]
    assert 'pg_terminate_backend' in calls[0][0]


class Clock(object):
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self):
        self.at, self.slept = 100.0, []

    def now(self):
        return self.at

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.at += seconds


def test_cancel_then_terminate_terminates_only_what_still_runs():
    cursor = FakeCursor([row(1), row(2)], stubborn=[2])
    clock = Clock()
    result = pb.run(FakeConn(cursor), pb.build_selection({}), action='cancel_then_terminate', grace_period=3,
                    sleep=clock.sleep, now=clock.now)
    # polled every 0.1 s for the whole grace period, since pid 2 kept running
    assert sum(clock.slept) == pytest.approx(3) and max(clock.slept) <= pb.CANCEL_POLL_SECONDS
    outcomes = dict((r['pid'], r['outcome']) for r in result['backends'])
    assert outcomes == {1: 'cancelled', 2: 'terminated'}
    calls = signal_calls(cursor)
    assert 'pg_cancel_backend' in calls[0][0] and calls[0][1]['pids'] == [1, 2]
    assert 'pg_terminate_backend' in calls[1][0] and calls[1][1]['pids'] == [2]


def test_cancel_then_terminate_moves_on_as_soon_as_every_cancelled_query_has_ended():
    cursor = FakeCursor([row(1), row(2)], stubborn=[])
    clock = Clock()
    result = pb.run(FakeConn(cursor), pb.build_selection({}), action='cancel_then_terminate', grace_period=5,
                    sleep=clock.sleep, now=clock.now)
    assert clock.slept == []                                  # nothing left running: no wait at all
    assert dict((r['pid'], r['outcome']) for r in result['backends']) == {1: 'cancelled', 2: 'cancelled'}
    assert len(signal_calls(cursor)) == 1                     # the cancel, no terminate


def test_permission_denied_is_reported_per_backend():
    rows = [row(1), row(2, usename='postgres', is_superuser=True, can_signal=False)]
    cursor = FakeCursor(rows, refuse=[2])
    result = pb.run(FakeConn(cursor), pb.build_selection({'include_users': ['app', 'postgres']}), action='terminate')
    outcomes = dict((r['pid'], (r['outcome'], r['reason'])) for r in result['backends'])
    assert outcomes[1] == ('terminated', None)
    assert outcomes[2] == ('failed', 'must be a superuser to terminate superuser process')
    assert result['changed'] is True


def test_unexpected_batch_error_falls_back_per_backend():
    rows = [row(1), row(2)]
    cursor = FakeCursor(rows, refuse=[2])  # row 2 predicted signalable, but the server refuses
    result = pb.run(FakeConn(cursor), pb.build_selection({}), action='terminate')
    assert [r['outcome'] for r in result['backends']] == ['terminated', 'failed']


def test_nothing_selected_is_unchanged():
    result = pb.run(FakeConn(FakeCursor([])), pb.build_selection({}), action='terminate')
    assert result['changed'] is False and result['backends'] == []
    assert pb.summary(result) == 'no backend matches the selection'


def test_old_server_is_refused():
    conn = FakeConn(FakeCursor([]))
    conn.server_version = 90600
    with pytest.raises(pb.ParameterError, match='PostgreSQL 10'):
        pb.run(conn, pb.build_selection({}))


# ---- pids: the runbook's pg_terminate_backend(<pid>) ------------------------------------------

def test_pids_select_any_state_and_duration_by_default():
    selection = pb.build_selection({'pids': [42, '43', 42]})
    assert selection.pids == [42, 43] and selection.states is None and selection.min_duration == 0.0
    sql, params = pb.build_select_query(selection)
    assert sorted(params) == ['pids'] and params['pids'] == [42, 43]
    assert 's.pid = ANY(%(pids)s::int[])' in sql
    assert 's.state = ANY' not in sql and 's.duration >=' not in sql


def test_pids_with_states_and_duration_narrow_further():
    selection = pb.build_selection({'pids': [42], 'states': ['idle'], 'min_duration': '1m'})
    sql, params = pb.build_select_query(selection)
    assert params == {'states': ['idle'], 'min_duration': 60.0, 'pids': [42]}
    assert 's.state = ANY(%(states)s)' in sql and 's.duration >= %(min_duration)s' in sql


def test_without_pids_the_defaults_are_unchanged():
    selection = pb.build_selection({'pids': []})
    assert selection.pids == [] and selection.states == ['active'] and selection.min_duration == 300.0
    assert 'pids' not in pb.build_select_query(selection)[1]


@pytest.mark.parametrize('pids', [[0], [-3], ['abc'], [True], [1.5], ['12a'], 'not a list'])
def test_bad_pids_are_refused_naming_the_option(pids):
    with pytest.raises(pb.ParameterError) as info:
        pb.build_selection({'pids': pids})
    assert info.value.param == 'pids'


def test_a_named_pid_keeps_every_guard():
    selection = pb.build_selection({'pids': [1, 2, 3, 4, 5]})
    assert pb.guard_for(row(1, usename='postgres', is_superuser=True), selection) == 'superuser'
    assert pb.guard_for(row(2, usename='replicator', is_replication=True), selection) == 'replication_role'
    assert pb.guard_for(row(3, backend_type='autovacuum launcher', state=None), selection) == 'not_client_backend'
    assert pb.guard_for(row(4, application_name='pg_dump'), selection) == 'backup_tool'
    assert pb.guard_for(row(5, is_own=True), selection) == 'own_backend'


def test_a_pid_that_has_ended_is_reported_not_found():
    cursor = FakeCursor([row(7)])
    result = pb.run(FakeConn(cursor), pb.build_selection({'pids': [7, 8]}), action='terminate')
    assert [r['outcome'] for r in result['backends']] == ['terminated']
    assert result['pids_not_found'] == [8]
    assert pb.summary(result).endswith('; no backend with pid 8 (ended, or outside the selection)')
    empty = pb.run(FakeConn(FakeCursor([])), pb.build_selection({'pids': [9]}), action='terminate', check_mode=True)
    assert empty['changed'] is False and empty['pids_not_found'] == [9]
    assert pb.summary(empty, True) == 'check mode: no backend matches the selection; no backend with pid 9 (ended, or outside the selection)'
    assert pb.run(FakeConn(FakeCursor([])), pb.build_selection({}))['pids_not_found'] == []


def test_pids_in_any_state_recheck_a_cancel_on_running_states_only():
    cursor = FakeCursor([row(1)], stubborn=[1])
    clock = Clock()
    pb.run(FakeConn(cursor), pb.build_selection({'pids': [1]}), action='cancel_then_terminate', grace_period=0.2,
           sleep=clock.sleep, now=clock.now)
    rechecks = [params for sql, params in cursor.executed if params and 'only_pids' in params]
    assert rechecks and all(params['states'] == list(pb.RUNNING_STATES) for params in rechecks)
