# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The plans of the slowest active PostgreSQL queries and pg_stat_statements' top statements, read-only.

Plain functions over a DB-API connection so that they can be tested without AnsibleModule:

* ``build_options`` validates user input and raises ``ParameterError`` naming the option;
* ``classify`` decides, from the text alone, whether and how a query text of another session may be
  explained (a single, complete, explainable statement; ANALYZE only for statements that cannot write);
* ``explain`` runs the one EXPLAIN in its own READ ONLY transaction with a statement and a lock
  timeout, then rolls it back;
* ``top_statements`` reads pg_stat_statements when the extension is installed in the database;
* ``run`` does select -> classify -> explain, and returns data.

The query texts come from other sessions. They are never executed: a text is explained only when
it is one statement (no ``;`` except a trailing one), complete (shorter than
``track_activity_query_size``) and starts with a keyword EXPLAIN accepts; it is sent as one
statement behind a fixed ``EXPLAIN (...)`` option list, with no parameters, so nothing is
interpolated into it and nothing can be added before it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.clickview.runbook.plugins.module_utils import common
from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError

try:
    import psycopg2
    from psycopg2 import sql as pgsql
    DB_ERRORS = (psycopg2.Error,)
except ImportError:  # pragma: no cover - the module reports the missing library before getting here
    pgsql = None
    DB_ERRORS = (Exception,)

# first keyword of a statement EXPLAIN accepts (the ones the module explains)
EXPLAINABLE = ('SELECT', 'WITH', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'VALUES', 'TABLE')
# the ones EXPLAIN ANALYZE may run: it executes the statement
ANALYZABLE = ('SELECT', 'WITH', 'VALUES', 'TABLE')
PLAIN = 'EXPLAIN (FORMAT TEXT)'
GENERIC = 'EXPLAIN (GENERIC_PLAN, FORMAT TEXT)'
ANALYZE = 'EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)'
GENERIC_PLAN_VERSION = 160000  # EXPLAIN (GENERIC_PLAN) appeared in PostgreSQL 16
STATEMENTS_VERSION = 130000  # total_exec_time / mean_exec_time (PostgreSQL 13 and later)
STATEMENTS_INFO_VERSION = 140000  # pg_stat_statements_info.stats_reset
QUERY_CANCELED = '57014'  # SQLSTATE of a statement ended by statement_timeout (or a cancel request)
QUERY_CHARS = 300  # returned query and statement texts, whitespace collapsed
MAX_PLAN_LINES = 100
# pg_stat_activity keeps at most track_activity_query_size - 1 bytes, clipped on a character boundary:
# a clipped text may end up to 3 bytes shorter (a UTF-8 character has up to 4 bytes).
CLIP_SLACK = 3
DEFAULTS = {'limit': 3, 'min_duration': 0, 'statement_timeout': '5s', 'lock_timeout': '1s', 'analyze': False,
            'top_statements': 5, 'include_applications': []}

_PARAMETER = re.compile(r'\$\d')
# with analyze: anything that writes or locks rows makes the statement plain-EXPLAIN only
_WRITES = re.compile(r'\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|INTO)\b|\bFOR\s+(NO\s+KEY\s+|KEY\s+)?SHARE\b', re.IGNORECASE)
# functions known to act outside the statement (signals, configuration, sequences, locks, notifications,
# large objects, replication slots, remote databases, files): EXPLAIN ANALYZE would call them
_SIDE_EFFECTS = re.compile(
    r'\b(pg_cancel_backend|pg_terminate_backend|pg_reload_conf|pg_rotate_logfile|pg_switch_wal|pg_promote|'
    r'pg_notify|pg_(try_)?advisory\w*|nextval|setval|set_config|dblink\w*|lo_\w+|pg_create_\w+|pg_drop_\w+|'
    r'pg_replication_\w+|pg_stat_reset\w*|pg_log_backend_memory_contexts|pg_file_\w+|pg_backup_\w+|'
    r'pg_(start|stop)_backup|pg_import_system_collations|pg_wal_replay_\w+)\s*\(', re.IGNORECASE)
_KEYWORD = re.compile(r'[A-Za-z_]+')

_TIMEOUTS_SQL = ("SELECT pg_catalog.set_config('statement_timeout', %(statement_timeout)s, true), "
                 "pg_catalog.set_config('lock_timeout', %(lock_timeout)s, true)")
_SESSION_SQL = ("SELECT pg_catalog.current_database(), "
                "(SELECT s.setting::int FROM pg_catalog.pg_settings AS s WHERE s.name = 'track_activity_query_size'), "
                "pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')")
# the longest-running active client queries of the connected database, the module's own session left out
_ACTIVE_SQL = """
SELECT a.pid, a.usename, coalesce(a.application_name, ''), a.datname,
       extract(epoch FROM pg_catalog.clock_timestamp() - a.query_start)::float8,
       coalesce(a.wait_event_type || '/' || a.wait_event, ''), a.query
FROM pg_catalog.pg_stat_activity AS a
WHERE a.state = 'active' AND a.backend_type = 'client backend'
  AND a.pid <> pg_catalog.pg_backend_pid()
  AND a.datname = pg_catalog.current_database()
  AND a.query_start <= pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => %(min_seconds)s)
  AND (pg_catalog.cardinality(%(applications)s::text[]) = 0 OR a.application_name = ANY(%(applications)s::text[]))
ORDER BY a.query_start, a.pid
LIMIT %(limit)s
"""
_EXTENSION_SQL = ("SELECT n.nspname FROM pg_catalog.pg_extension AS e "
                  "JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'")
_TOP_SQL = """
SELECT s.queryid, pg_catalog.pg_get_userbyid(s.userid), s.calls, s.total_exec_time, s.mean_exec_time, s.rows, s.query
FROM {view} AS s
WHERE s.dbid = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = pg_catalog.current_database())
ORDER BY s.total_exec_time DESC
LIMIT %(limit)s
"""
_RESET_SQL = "SELECT i.stats_reset::text FROM {view} AS i"


class ParameterError(ClickviewError, ValueError):
    """Invalid user input; ``param`` is the option to name in the failure message."""

    def __init__(self, param, message):
        super(ParameterError, self).__init__('%s: %s' % (param, message), param=param)


# ---- options -----------------------------------------------------------------------------

def _duration(params, name, positive):
    try:
        seconds = common.parse_duration(params.get(name), name)
    except ClickviewError as exc:
        raise ParameterError(name, exc.message[len(name) + 2:])
    if positive and seconds < 0.001:
        raise ParameterError(name, 'must be at least 1 ms, got %r (0 would turn the timeout off)' % (params.get(name),))
    return seconds


def _count(params, name, minimum):
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(name, 'expected a whole number, got %r' % (value,))
    if value < minimum:
        raise ParameterError(name, 'must be %d or more, got %d' % (minimum, value))
    return value


def build_options(params):
    """The validated options (durations in seconds); raises ParameterError naming the option."""
    merged = dict(DEFAULTS)
    merged.update(dict((key, value) for key, value in (params or {}).items() if value is not None))
    applications = merged['include_applications']
    if not isinstance(applications, (list, tuple)) or not all(isinstance(a, str) and a for a in applications):
        raise ParameterError('include_applications', 'expected a list of non-empty names, got %r' % (applications,))
    return {
        'limit': _count(merged, 'limit', 1),
        'top_statements': _count(merged, 'top_statements', 0),
        'min_duration': _duration(merged, 'min_duration', positive=False),
        'statement_timeout': _duration(merged, 'statement_timeout', positive=True),
        'lock_timeout': _duration(merged, 'lock_timeout', positive=True),
        'analyze': bool(merged['analyze']),
        'include_applications': list(applications),
    }


# ---- the text of a statement -----------------------------------------------------------------

def leading_keyword(text):
    """The first keyword of a statement text (upper case), after spaces, comments and opening parentheses; '' if none."""
    i, n = 0, len(text or '')
    while i < n:
        if text[i].isspace() or text[i] == '(':
            i += 1
        elif text.startswith('--', i):
            end = text.find('\n', i)
            if end < 0:
                return ''
            i = end + 1
        elif text.startswith('/*', i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith('/*', i):
                    depth, i = depth + 1, i + 2
                elif text.startswith('*/', i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            if depth:
                return ''
        else:
            break
    found = _KEYWORD.match(text, i) if i < n else None
    return found.group(0).upper() if found else ''


def statement_body(text):
    """The text without trailing spaces and one trailing ';'."""
    body = (text or '').rstrip()
    if body.endswith(';'):
        body = body[:-1].rstrip()
    return body


def is_truncated(text, query_size):
    """Whether pg_stat_activity may have clipped the text at track_activity_query_size (in bytes)."""
    if not query_size:
        return False
    return len((text or '').encode('utf-8')) >= int(query_size) - 1 - CLIP_SLACK


def version_text(server_version):
    """150018 -> '15.18', 90624 -> '9.6.24'."""
    server_version = int(server_version or 0)
    if server_version >= 100000:
        return '%d.%d' % (server_version // 10000, server_version % 10000)
    return '%d.%d.%d' % (server_version // 10000, server_version // 100 % 100, server_version % 100)


def classify(text, query_size, server_version, analyze=False):
    """How a query text of another session may be explained, decided from the text alone.

    Returns ``{'statement', 'mode', 'skipped', 'analyze_skipped'}``: ``statement`` is the leading
    keyword, ``mode`` the EXPLAIN prefix to use (None when ``skipped`` holds the reason the text is
    refused); with ``analyze``, ``analyze_skipped`` says why the statement gets a plan without ANALYZE.
    """
    keyword = leading_keyword(text)
    out = {'statement': keyword or None, 'mode': None, 'skipped': None, 'analyze_skipped': None}
    body = statement_body(text)
    if not body or body == '<insufficient privilege>':
        out['skipped'] = 'the query text is not visible to this login (it needs pg_read_all_stats or pg_monitor)'
        return out
    if is_truncated(text, query_size):
        out['skipped'] = ('the text may be cut off at track_activity_query_size (%s bytes): the statement is not complete'
                          % query_size)
        return out
    if ';' in body:
        out['skipped'] = ("the text holds more than one statement (a ';' before its end, maybe inside a string or a "
                          "comment): only a single statement is explained")
        return out
    if keyword not in EXPLAINABLE:
        out['skipped'] = ('%s cannot be explained: only %s statements are' % (
            ('a %s statement' % keyword) if keyword else 'a text without a statement keyword',
            ', '.join(EXPLAINABLE[:-1]) + ' and ' + EXPLAINABLE[-1]))
        return out
    if _PARAMETER.search(body):
        if int(server_version or 0) < GENERIC_PLAN_VERSION:
            out['skipped'] = ('the statement has bind parameters ($1, ...) and EXPLAIN (GENERIC_PLAN) needs PostgreSQL 16 '
                              'or later (the server is %s)' % version_text(server_version))
            return out
        out['mode'] = GENERIC
        if analyze:
            out['analyze_skipped'] = 'the statement has bind parameters: ANALYZE would need their values (generic plan)'
        return out
    out['mode'] = PLAIN
    if analyze:
        out['analyze_skipped'] = analyze_refusal(keyword, body)
        if out['analyze_skipped'] is None:
            out['mode'] = ANALYZE
    return out


def analyze_refusal(keyword, body):
    """Why EXPLAIN ANALYZE must not run this statement (None when it may): ANALYZE executes it."""
    if keyword not in ANALYZABLE:
        return 'ANALYZE would execute this %s statement: explained without ANALYZE' % keyword
    writes = _WRITES.search(body)
    if writes:
        return ('the text contains %s (a data-modifying part or a row lock): explained without ANALYZE'
                % re.sub(r'\s+', ' ', writes.group(0)).upper())
    calls = _SIDE_EFFECTS.search(body)
    if calls:
        return 'the text calls %s, which acts outside the statement: explained without ANALYZE' % calls.group(1)
    return None


def preview(text, length=QUERY_CHARS):
    """The text on one line, at most ``length`` characters (ending in '...' when cut)."""
    flat = re.sub(r'\s+', ' ', text or '').strip()
    return flat if len(flat) <= length else flat[:length - 3] + '...'


def plan_lines(lines, limit=MAX_PLAN_LINES):
    """At most ``limit`` plan lines; a last line says how many were left out."""
    lines = list(lines)
    if len(lines) <= limit:
        return lines
    return lines[:limit - 1] + ['... %d more plan lines' % (len(lines) - limit + 1)]


def first_line(exc):
    return (str(exc).strip().splitlines() or ['unknown error'])[0].replace('ERROR:  ', '').strip()


# ---- the database --------------------------------------------------------------------------

def _timeouts(options):
    return {'statement_timeout': '%dms' % max(1, int(round(options['statement_timeout'] * 1000))),
            'lock_timeout': '%dms' % max(1, int(round(options['lock_timeout'] * 1000)))}


def read_only(conn, options, statement, params=None):
    """Run one statement in its own READ ONLY transaction with SET LOCAL statement_timeout and lock_timeout;
    return its rows. The transaction is always rolled back."""
    cursor = conn.cursor()
    try:
        cursor.execute('BEGIN TRANSACTION READ ONLY')
        try:
            cursor.execute(_TIMEOUTS_SQL, _timeouts(options))
            if params is None:
                cursor.execute(statement)  # no parameters: psycopg2 interpolates nothing
            else:
                cursor.execute(statement, params)
            return cursor.fetchall()
        finally:
            if not conn.closed:
                try:
                    cursor.execute('ROLLBACK')
                except DB_ERRORS:
                    pass
    finally:
        cursor.close()


def explain(conn, text, mode, options):
    """The plan lines of ``mode + text`` (one statement, no parameters), in a read-only, rolled-back transaction."""
    rows = read_only(conn, options, '%s %s' % (mode, statement_body(text)))
    return [row[0] for row in rows]


def explain_backend(conn, row, query_size, server_version, options):
    """One active query: who runs it, for how long, and its plan or why there is none."""
    pid, user, application, database, seconds, wait, text = row
    decision = classify(text, query_size, server_version, analyze=options['analyze'])
    out = {'pid': pid, 'user': user, 'application': application, 'database': database,
           'seconds': round(float(seconds or 0), 1), 'wait': wait, 'query': preview(text),
           'statement': decision['statement'], 'explain': None, 'plan': [],
           'explain_skipped': decision['skipped'], 'explain_error': None,
           'analyze_skipped': decision['analyze_skipped']}
    mode = decision['mode']
    if mode is None:
        return out
    try:
        try:
            lines = explain(conn, text, mode, options)
        except DB_ERRORS as exc:
            # ANALYZE ran out of statement_timeout: the plan without ANALYZE still says how it runs
            if mode != ANALYZE or conn.closed or getattr(exc, 'pgcode', None) != QUERY_CANCELED:
                raise
            out['analyze_skipped'] = ('ANALYZE did not finish within statement_timeout (%s s): explained without ANALYZE'
                                      % ('%g' % options['statement_timeout']))
            mode = PLAIN
            lines = explain(conn, text, mode, options)
    except DB_ERRORS as exc:
        if conn.closed:
            raise
        out['explain_error'] = first_line(exc)
    else:
        out['explain'] = mode
        out['plan'] = plan_lines(lines)
    return out


def top_statements(conn, options, server_version, database):
    """pg_stat_statements' top statements of the connected database by total execution time."""
    out = {'statements_available': False, 'statements_reason': None, 'statements_reset': None, 'top_statements': []}
    if not options['top_statements']:
        out['statements_reason'] = 'not read (top_statements is 0)'
        return out
    if int(server_version or 0) < STATEMENTS_VERSION:
        out['statements_reason'] = ('PostgreSQL %s: the module reads the columns of PostgreSQL 13 and later '
                                    '(total_exec_time, mean_exec_time)' % version_text(server_version))
        return out
    found = read_only(conn, options, _EXTENSION_SQL, {})
    if not found:
        out['statements_reason'] = ('the pg_stat_statements extension is not installed in database %s (CREATE EXTENSION '
                                    'pg_stat_statements; the library must be in shared_preload_libraries)' % database)
        return out
    schema = found[0][0]
    query = pgsql.SQL(_TOP_SQL).format(view=pgsql.Identifier(schema, 'pg_stat_statements'))
    try:
        rows = read_only(conn, options, query, {'limit': options['top_statements']})
    except DB_ERRORS as exc:
        if conn.closed:
            raise
        out['statements_reason'] = 'pg_stat_statements could not be read: %s' % first_line(exc)
        return out
    out['statements_available'] = True
    out['top_statements'] = [{
        'queryid': queryid, 'user': user, 'calls': int(calls or 0),
        'total_ms': round(float(total or 0), 1), 'mean_ms': round(float(mean or 0), 1), 'rows': int(count or 0),
        'query': preview(text)} for queryid, user, calls, total, mean, count, text in rows]
    if int(server_version) >= STATEMENTS_INFO_VERSION:
        try:
            reset = read_only(conn, options, pgsql.SQL(_RESET_SQL).format(
                view=pgsql.Identifier(schema, 'pg_stat_statements_info')), {})
        except DB_ERRORS:
            if conn.closed:
                raise
            reset = []
        out['statements_reset'] = reset[0][0] if reset else None
    return out


def summary(result):
    """One line: what was explained, skipped, failed; whether the top statements were read."""
    queries = result['queries']
    explained = len([q for q in queries if q['explain']])
    skipped = len([q for q in queries if q['explain_skipped']])
    failed = len([q for q in queries if q['explain_error']])
    parts = ['%d active quer%s found, %d explained' % (len(queries), 'y' if len(queries) == 1 else 'ies', explained)]
    if skipped:
        parts.append('%d skipped' % skipped)
    if failed:
        parts.append('%d refused by PostgreSQL' % failed)
    if result['statements_available']:
        parts.append('%d top statements from pg_stat_statements' % len(result['top_statements']))
    else:
        parts.append('no top statements: %s' % result['statements_reason'])
    return '; '.join(parts)


def run(conn, options):
    """Select the longest-running active queries, explain each safely, read the top statements."""
    server_version = int(conn.server_version)
    session = read_only(conn, options, _SESSION_SQL, {})
    database, query_size, reads_all_stats = session[0]
    warnings = []
    if not reads_all_stats:
        warnings.append('the connected role is not a member of pg_read_all_stats (or pg_monitor): queries of other '
                        'roles are not visible and are not listed')
    rows = read_only(conn, options, _ACTIVE_SQL, {
        'min_seconds': options['min_duration'], 'applications': options['include_applications'],
        'limit': options['limit']})
    queries = [explain_backend(conn, row, query_size, server_version, options) for row in rows]
    result = {'changed': False, 'database': database, 'server_version': server_version,
              'track_activity_query_size': query_size, 'analyze': options['analyze'], 'queries': queries}
    result.update(top_statements(conn, options, server_version, database))
    result['msg'] = summary(result)
    result['warnings'] = warnings
    return result
