# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/postgres_plans.py and the pg_query_plans module's argument spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import psycopg2
import pytest

_COLLECTIONS = os.path.join(os.path.dirname(__file__), '..', '..', '.collections')
if os.path.isdir(_COLLECTIONS) and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.clickview.runbook.plugins.module_utils import postgres_plans as pp  # noqa: E402
from ansible_collections.clickview.runbook.plugins.modules import pg_query_plans as mod  # noqa: E402

PG15, PG16, PG18 = 150018, 160004, 180000
SIZE = 1024


def classify(text, version=PG15, analyze=False, size=SIZE):
    return pp.classify(text, size, version, analyze=analyze)


# ---- the leading keyword ---------------------------------------------------------------------

@pytest.mark.parametrize('text, keyword', [
    ('SELECT 1', 'SELECT'),
    ('  select 1', 'SELECT'),
    ('-- a report\nWITH x AS (SELECT 1) SELECT * FROM x', 'WITH'),
    ('/* outer /* nested */ still comment */ update t set a = 1', 'UPDATE'),
    ('((SELECT 1) UNION (SELECT 2))', 'SELECT'),
    ('/* app=web */ (ANALYZE) SELECT 1', 'ANALYZE'),
    ('-- only a comment', ''),
    ('/* unterminated comment SELECT 1', ''),
    ('', ''),
    (None, ''),
    ('123', ''),
])
def test_leading_keyword_skips_spaces_comments_and_parentheses(text, keyword):
    assert pp.leading_keyword(text) == keyword


# ---- which texts are explained, and how --------------------------------------------------------

def test_a_single_select_gets_a_plain_explain_and_a_trailing_semicolon_is_allowed():
    for text in ('SELECT * FROM users WHERE id = 1', 'SELECT 1;', 'SELECT 1 ;  \n'):
        found = classify(text)
        assert found == {'statement': 'SELECT', 'mode': pp.PLAIN, 'skipped': None, 'analyze_skipped': None}, text
    assert pp.statement_body('SELECT 1 ;  \n') == 'SELECT 1'


@pytest.mark.parametrize('text', [
    'SELECT pg_sleep(30); SELECT 1',
    'SELECT 1;; ',
    "SELECT ';' AS semicolon",  # a ';' inside a string counts too: conservative
    'SELECT 1; -- the end\n',
    'UPDATE t SET a = 1; COMMIT; DROP TABLE t',
])
def test_more_than_one_statement_is_refused(text):
    found = classify(text)
    assert found['mode'] is None and 'more than one statement' in found['skipped']


def test_a_text_that_may_be_cut_off_is_refused():
    # pg_stat_activity keeps at most track_activity_query_size - 1 bytes, clipped on a character boundary
    at_limit = 'SELECT ' + 'x' * (SIZE - 1 - len('SELECT '))
    assert len(at_limit) == SIZE - 1
    assert 'cut off at track_activity_query_size (1024 bytes)' in classify(at_limit)['skipped']
    clipped_multibyte = 'SELECT ' + 'x' * (SIZE - 4 - len('SELECT '))
    assert classify(clipped_multibyte)['skipped'] is not None
    short = 'SELECT ' + 'x' * (SIZE - 5 - len('SELECT '))
    assert classify(short)['mode'] == pp.PLAIN
    # bytes, not characters: 300 three-byte characters are 900 bytes, plus the rest
    accented = 'SELECT \'' + '\u20ac' * 339 + '\''
    assert len(accented) < SIZE - 4 and len(accented.encode('utf-8')) >= SIZE - 4
    assert classify(accented)['skipped'] is not None
    assert pp.is_truncated('SELECT 1', None) is False


@pytest.mark.parametrize('text, statement', [
    ('CREATE TABLE t (a int)', 'CREATE'),
    ('EXPLAIN ANALYZE DELETE FROM t', 'EXPLAIN'),
    ('(ANALYZE) DELETE FROM t', 'ANALYZE'),
    ('VACUUM FULL users', 'VACUUM'),
    ('COPY t FROM STDIN', 'COPY'),
    ('CALL do_things()', 'CALL'),
    ('BEGIN', 'BEGIN'),
    ('DO $$ BEGIN PERFORM 1; END $$', 'DO'),
])
def test_statements_explain_does_not_accept_are_refused(text, statement):
    found = classify(text)
    assert found['mode'] is None and found['statement'] == statement
    assert found['skipped'] and 'cannot be explained' in found['skipped'] or 'more than one statement' in found['skipped']


def test_a_text_without_a_keyword_or_not_visible_is_refused():
    assert 'without a statement keyword' in classify('-- nothing')['skipped']
    assert 'not visible to this login' in classify('<insufficient privilege>')['skipped']
    assert 'not visible to this login' in classify('')['skipped']


@pytest.mark.parametrize('text', ['INSERT INTO t VALUES (1)', 'UPDATE t SET a = 2 WHERE id = 1', 'DELETE FROM t',
                                  'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'VALUES (1), (2)',
                                  'TABLE users', 'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d'])
def test_every_explainable_statement_gets_a_plain_explain(text):
    assert classify(text)['mode'] == pp.PLAIN


def test_bind_parameters_are_refused_before_postgresql_16_and_get_a_generic_plan_after():
    text = 'SELECT * FROM users WHERE id = $1 AND name = $2'
    found = classify(text, PG15)
    assert found['mode'] is None
    assert found['skipped'] == ('the statement has bind parameters ($1, ...) and EXPLAIN (GENERIC_PLAN) needs '
                                'PostgreSQL 16 or later (the server is 15.18)')
    assert classify(text, PG16)['mode'] == pp.GENERIC == 'EXPLAIN (GENERIC_PLAN, FORMAT TEXT)'
    assert classify(text, PG18)['mode'] == pp.GENERIC
    # no ANALYZE without the parameters' values
    generic = classify(text, PG16, analyze=True)
    assert generic['mode'] == pp.GENERIC and 'bind parameters' in generic['analyze_skipped']
    # dollar quoting is not a parameter
    assert classify('SELECT $$a$$', PG15)['mode'] == pp.PLAIN


@pytest.mark.parametrize('text', ['SELECT * FROM users', 'WITH x AS (SELECT 1) SELECT * FROM x', 'VALUES (1)',
                                  'TABLE users', 'select count(*) from page_views where updated_at > now()'])
def test_analyze_runs_only_statements_that_cannot_write(text):
    found = classify(text, analyze=True)
    assert found['mode'] == pp.ANALYZE == 'EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)'
    assert found['analyze_skipped'] is None


@pytest.mark.parametrize('text, reason', [
    ('UPDATE t SET a = 1', 'ANALYZE would execute this UPDATE statement'),
    ('INSERT INTO t VALUES (1)', 'ANALYZE would execute this INSERT statement'),
    ('DELETE FROM t', 'ANALYZE would execute this DELETE statement'),
    ('MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE', 'ANALYZE would execute this MERGE statement'),
    ('WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', 'the text contains DELETE'),
    ('with i as (insert into t values (1) returning *) select * from i', 'the text contains INSERT'),
    ('SELECT * FROM t FOR UPDATE', 'the text contains UPDATE'),
    ('SELECT * FROM t FOR NO KEY UPDATE', 'the text contains UPDATE'),
    ('SELECT * FROM t FOR SHARE', 'the text contains FOR SHARE'),
    ('SELECT * FROM t FOR  KEY SHARE', 'the text contains FOR KEY SHARE'),
    ('SELECT * INTO new_table FROM t', 'the text contains INTO'),
    ('SELECT pg_terminate_backend(pid) FROM pg_stat_activity', 'the text calls pg_terminate_backend'),
    ("SELECT nextval('s')", 'the text calls nextval'),
    ("SELECT pg_notify('c', 'x')", 'the text calls pg_notify'),
    ('SELECT pg_advisory_lock(1)', 'the text calls pg_advisory_lock'),
    ("SELECT set_config('x.y', '1', false)", 'the text calls set_config'),
    ("SELECT * FROM dblink('host=x', 'DELETE FROM t') AS t(a int)", 'the text contains DELETE'),
])
def test_analyze_falls_back_to_a_plain_explain_for_statements_that_write_or_act(text, reason):
    found = classify(text, analyze=True)
    assert found['mode'] == pp.PLAIN and found['skipped'] is None
    assert found['analyze_skipped'].startswith(reason) and found['analyze_skipped'].endswith('explained without ANALYZE')


def test_version_text():
    assert pp.version_text(150018) == '15.18' and pp.version_text(180000) == '18.0' and pp.version_text(90624) == '9.6.24'


def test_preview_and_plan_lines():
    assert pp.preview('SELECT  *\n\tFROM t') == 'SELECT * FROM t'
    long_text = pp.preview('SELECT ' + 'x' * 400)
    assert len(long_text) == pp.QUERY_CHARS and long_text.endswith('...')
    lines = ['line %d' % i for i in range(150)]
    capped = pp.plan_lines(lines)
    assert len(capped) == pp.MAX_PLAN_LINES and capped[-1] == '... 51 more plan lines' and capped[0] == 'line 0'
    assert pp.plan_lines(lines[:3]) == lines[:3]


# ---- options -----------------------------------------------------------------------------------

def test_options_defaults_and_durations():
    opts = pp.build_options({})
    assert opts == {'limit': 3, 'top_statements': 5, 'min_duration': 0.0, 'statement_timeout': 5.0, 'lock_timeout': 1.0,
                    'analyze': False, 'include_applications': []}
    opts = pp.build_options({'limit': 1, 'min_duration': '1m', 'statement_timeout': 2, 'lock_timeout': '0.5',
                             'top_statements': 0, 'analyze': True, 'include_applications': ['web']})
    assert opts['min_duration'] == 60 and opts['statement_timeout'] == 2 and opts['lock_timeout'] == 0.5
    assert opts['top_statements'] == 0 and opts['analyze'] is True


@pytest.mark.parametrize('params, param, words', [
    ({'limit': 0}, 'limit', 'must be 1 or more, got 0'),
    ({'limit': -2}, 'limit', 'must be 1 or more'),
    ({'top_statements': -1}, 'top_statements', 'must be 0 or more'),
    ({'statement_timeout': 0}, 'statement_timeout', '0 would turn the timeout off'),
    ({'statement_timeout': '0s'}, 'statement_timeout', 'must be at least 1 ms'),
    ({'statement_timeout': 'soon'}, 'statement_timeout', 'cannot parse'),
    ({'statement_timeout': '-5s'}, 'statement_timeout', 'must not be negative'),
    ({'lock_timeout': 0}, 'lock_timeout', 'must be at least 1 ms'),
    ({'min_duration': 'a while'}, 'min_duration', 'cannot parse'),
    ({'include_applications': ['']}, 'include_applications', 'non-empty'),
])
def test_bad_options_name_the_parameter(params, param, words):
    with pytest.raises(pp.ParameterError) as err:
        pp.build_options(params)
    assert err.value.param == param and str(err.value).startswith(param + ': ') and words in str(err.value)


def test_argument_spec_hides_the_password_and_matches_the_defaults():
    spec = mod.argument_spec()
    assert spec['login_password']['no_log'] is True
    for name, default in pp.DEFAULTS.items():
        assert spec[name]['default'] == default, name


# ---- against a scripted connection -------------------------------------------------------------

class Canceled(psycopg2.errors.QueryCanceled):
    pgcode = '57014'


def flatten(statement):
    """The text of a statement, also of a psycopg2.sql composition."""
    if isinstance(statement, str):
        return statement
    if hasattr(statement, 'seq'):
        return ''.join(flatten(part) for part in statement.seq)
    if hasattr(statement, 'strings'):
        return '.'.join('"%s"' % name for name in statement.strings)
    return statement.string


class FakeCursor(object):
    def __init__(self, db):
        self.db = db
        self._rows = []

    def execute(self, statement, params=None):
        text = flatten(statement)
        self.db.executed.append((text, params))
        self._rows = self.db.answer(text, params)

    def fetchall(self):
        return list(self._rows)

    def close(self):
        pass


class FakeConn(object):
    """Answers the module's statements from a script; records what was executed."""

    def __init__(self, active=(), plans=None, extension='public', top=(), version=PG15, fail_top=False):
        self.server_version = version
        self.closed = 0
        self.executed = []
        self.active = list(active)
        self.plans = plans or {}
        self.extension = extension
        self.top = list(top)
        self.fail_top = fail_top
        self.in_transaction = False

    def cursor(self):
        return FakeCursor(self)

    def answer(self, text, params):
        if text == 'BEGIN TRANSACTION READ ONLY':
            assert not self.in_transaction
            self.in_transaction = True
            return []
        if text == 'ROLLBACK':
            self.in_transaction = False
            return []
        assert self.in_transaction, 'outside a read-only transaction: %s' % text
        if 'set_config' in text and 'statement_timeout' in text:
            return []
        if 'track_activity_query_size' in text:
            return [('clickview', SIZE, True)]
        if 'pg_stat_activity' in text:
            assert params['limit'] >= 1
            return self.active[:params['limit']]
        if text.startswith('EXPLAIN'):
            assert params is None, 'an EXPLAIN must be sent without parameters'
            answer = self.plans.get(text)
            if isinstance(answer, Exception):
                raise answer
            return [(line,) for line in (answer or ['Result  (cost=0.00..0.01 rows=1 width=4)'])]
        if 'pg_extension' in text:
            return [(self.extension,)] if self.extension else []
        if 'pg_stat_statements_info' in text:
            return [('2025-01-31 10:00:00+00',)]
        if 'pg_stat_statements' in text:
            if self.fail_top:
                raise psycopg2.errors.ObjectNotInPrerequisiteState(
                    'pg_stat_statements must be loaded via shared_preload_libraries\n')
            return self.top[:params['limit']]
        raise AssertionError('unexpected statement %s' % text)

    def explains(self):
        return [text for text, _params in self.executed if text.startswith('EXPLAIN')]


def active(pid, query, seconds=30.0, user='clickview_app', app='web'):
    return (pid, user, app, 'clickview', seconds, '', query)


def run(conn, **params):
    return pp.run(conn, pp.build_options(params))


def by_pid(result):
    return dict((q['pid'], q) for q in result['queries'])


def test_each_explain_is_alone_in_a_rolled_back_read_only_transaction_with_timeouts():
    conn = FakeConn(active=[active(1, "SELECT * FROM users WHERE name LIKE 'a%'"), active(2, 'SELECT 2;')])
    result = run(conn, statement_timeout='2s', lock_timeout=0.25)
    explains = [i for i, (text, _p) in enumerate(conn.executed) if text.startswith('EXPLAIN')]
    assert len(explains) == 2
    for index in explains:
        assert conn.executed[index - 2] == ('BEGIN TRANSACTION READ ONLY', None)
        assert 'set_config' in conn.executed[index - 1][0]
        assert conn.executed[index - 1][1] == {'statement_timeout': '2000ms', 'lock_timeout': '250ms'}
        assert conn.executed[index + 1] == ('ROLLBACK', None)
    # the text is sent as it is (a '%' is not interpolated: no parameters), without its trailing ';'
    assert conn.explains() == ["EXPLAIN (FORMAT TEXT) SELECT * FROM users WHERE name LIKE 'a%'",
                               'EXPLAIN (FORMAT TEXT) SELECT 2']
    assert result['changed'] is False and not conn.in_transaction
    assert by_pid(result)[1]['plan'] == ['Result  (cost=0.00..0.01 rows=1 width=4)']
    assert by_pid(result)[1]['explain'] == pp.PLAIN and by_pid(result)[1]['seconds'] == 30.0


def test_refused_texts_are_never_sent_to_the_server():
    texts = {1: 'SELECT pg_sleep(30); DROP TABLE users', 2: 'CREATE INDEX CONCURRENTLY i ON t (a)',
             3: 'SELECT * FROM users WHERE id = $1', 4: 'SELECT ' + 'x' * SIZE}
    conn = FakeConn(active=[active(pid, text) for pid, text in texts.items()])
    result = run(conn, limit=10)
    assert conn.explains() == []
    for text, _params in conn.executed:
        assert 'DROP TABLE' not in text and 'CREATE INDEX' not in text and '$1' not in text
    found = by_pid(result)
    assert 'more than one statement' in found[1]['explain_skipped']
    assert 'a CREATE statement cannot be explained' in found[2]['explain_skipped']
    assert 'bind parameters' in found[3]['explain_skipped']
    assert 'cut off' in found[4]['explain_skipped']
    assert all(q['plan'] == [] and q['explain'] is None for q in result['queries'])
    assert result['msg'].startswith('4 active queries found, 0 explained; 4 skipped')


def test_generic_plan_on_postgresql_16():
    conn = FakeConn(active=[active(1, 'SELECT * FROM users WHERE id = $1')], version=PG16)
    result = run(conn)
    assert conn.explains() == ['EXPLAIN (GENERIC_PLAN, FORMAT TEXT) SELECT * FROM users WHERE id = $1']
    assert result['queries'][0]['explain'] == pp.GENERIC


def test_analyze_runs_selects_only_and_dml_gets_a_plain_plan():
    conn = FakeConn(active=[active(1, 'SELECT count(*) FROM page_views'), active(2, "UPDATE users SET name = 'x' WHERE id = 1")])
    result = run(conn, analyze=True)
    assert conn.explains() == ['EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) SELECT count(*) FROM page_views',
                               "EXPLAIN (FORMAT TEXT) UPDATE users SET name = 'x' WHERE id = 1"]
    found = by_pid(result)
    assert found[1]['explain'] == pp.ANALYZE and found[1]['analyze_skipped'] is None
    assert found[2]['explain'] == pp.PLAIN and 'ANALYZE would execute this UPDATE' in found[2]['analyze_skipped']
    assert result['analyze'] is True


def test_analyze_that_times_out_falls_back_to_the_plain_plan():
    text = 'SELECT pg_sleep(60)'
    conn = FakeConn(active=[active(1, text)], plans={
        pp.ANALYZE + ' ' + text: Canceled('canceling statement due to statement timeout\n'),
        pp.PLAIN + ' ' + text: ['Result  (cost=0.00..0.01 rows=1 width=4)']})
    found = run(conn, analyze=True, statement_timeout='1.5s')['queries'][0]
    assert conn.explains() == [pp.ANALYZE + ' ' + text, pp.PLAIN + ' ' + text]
    assert found['explain'] == pp.PLAIN and found['plan'] == ['Result  (cost=0.00..0.01 rows=1 width=4)']
    assert found['analyze_skipped'] == 'ANALYZE did not finish within statement_timeout (1.5 s): explained without ANALYZE'
    assert found['explain_error'] is None and not conn.in_transaction


def test_a_refused_explain_is_reported_and_the_others_still_explained():
    denied = 'SELECT * FROM users'
    conn = FakeConn(active=[active(1, denied), active(2, 'SELECT 1')], plans={
        pp.PLAIN + ' ' + denied: psycopg2.errors.InsufficientPrivilege('ERROR:  permission denied for table users\n')})
    result = run(conn)
    found = by_pid(result)
    assert found[1]['explain_error'] == 'permission denied for table users' and found[1]['plan'] == []
    assert found[2]['plan'] and not conn.in_transaction
    assert '1 refused by PostgreSQL' in result['msg']


def test_top_statements_when_the_extension_is_installed():
    top = [(-42, 'clickview_app', 1520, 91234.567, 60.02, 1520, 'SELECT *  FROM users\nWHERE id = $1'),
           (7, 'clickview_ops', 3, 12.0, 4.0, 3, 'SELECT 1')]
    conn = FakeConn(extension='monitoring', top=top, version=PG18)
    result = run(conn, top_statements=1)
    assert result['statements_available'] is True and result['statements_reason'] is None
    assert result['top_statements'] == [{'queryid': -42, 'user': 'clickview_app', 'calls': 1520, 'total_ms': 91234.6,
                                         'mean_ms': 60.0, 'rows': 1520, 'query': 'SELECT * FROM users WHERE id = $1'}]
    assert result['statements_reset'] == '2025-01-31 10:00:00+00'
    view = [text for text, _p in conn.executed if 'total_exec_time' in text][0]
    assert '"monitoring"."pg_stat_statements"' in view and 'ORDER BY s.total_exec_time DESC' in view


def test_top_statements_absent_or_unreadable_is_not_a_failure():
    result = run(FakeConn(extension=None))
    assert result['statements_available'] is False and result['top_statements'] == []
    assert result['statements_reason'].startswith('the pg_stat_statements extension is not installed in database clickview')
    result = run(FakeConn(fail_top=True))
    assert result['statements_available'] is False
    assert result['statements_reason'] == ('pg_stat_statements could not be read: pg_stat_statements must be loaded via '
                                           'shared_preload_libraries')
    result = run(FakeConn(), top_statements=0)
    assert result['statements_available'] is False and result['statements_reason'] == 'not read (top_statements is 0)'
    old = FakeConn(version=120015)
    result = run(old)
    assert result['statements_available'] is False and 'PostgreSQL 12.15' in result['statements_reason']
    assert not [text for text, _p in old.executed if 'pg_extension' in text]


def test_selection_passes_its_filters_as_parameters():
    conn = FakeConn()
    run(conn, limit=2, min_duration='5s', include_applications=['web', "it's"])
    params = [p for text, p in conn.executed if 'pg_stat_activity' in text][0]
    assert params == {'min_seconds': 5.0, 'applications': ['web', "it's"], 'limit': 2}
