# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Select long-running PostgreSQL backends and cancel or terminate them, safely.

Plain functions over a DB-API connection so that they can be tested without AnsibleModule:

* ``parse_duration`` / ``build_selection`` validate user input and raise ``ParameterError``
  naming the option (``pids`` narrows the selection to given process ids: the runbook's
  ``SELECT pg_terminate_backend(<pid>)``, with every guard kept);
* ``build_select_query`` returns SQL text made of constants only plus a dict of bound
  parameters (no user value is ever formatted into SQL);
* ``classify`` applies the guards that protect backends whatever the filters say;
* ``run`` does select -> guard -> signal (-> wait -> re-select -> terminate) and returns data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import re
import time

from ansible_collections.clickview.runbook.plugins.module_utils import common
from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError

try:
    import psycopg2
    DB_ERRORS = (psycopg2.Error,)
except ImportError:  # pragma: no cover - the module reports the missing library before getting here
    DB_ERRORS = (Exception,)

STATES = (
    'active',
    'idle',
    'idle in transaction',
    'idle in transaction (aborted)',
    'fastpath function call',
    'disabled',
)
ACTIONS = ('cancel', 'terminate', 'cancel_then_terminate')
# the states of a backend whose query still runs (after a cancel, when the selection names pids in any state)
RUNNING_STATES = ('active', 'fastpath function call')
OUTCOMES = ('cancelled', 'terminated', 'gone', 'skipped', 'failed', 'would_cancel', 'would_terminate', 'would_fail')
GUARDS = ('own_backend', 'not_client_backend', 'superuser', 'replication_role')
FILTER_KINDS = (
    # option suffix, column in the selection query
    ('users', 'usename'),
    ('databases', 'datname'),
    ('applications', 'application_name'),
    ('client_addresses', 'client_inet'),
)
QUERY_PREVIEW = 200
# application_name of backup and replication tools: pg_dump/pg_dumpall/pg_basebackup by default,
# pgBackRest as "pgBackRest [backup]", "pgBackRest [archive-push]", ...; Barman and WAL-G as their names.
BACKUP_TOOLS = re.compile(r'^(pg_dump|pg_dumpall|pg_basebackup|pg_receivewal|pgbackrest|barman\w*|wal-g)\b', re.IGNORECASE)
MIN_SERVER_VERSION = 100000  # backend_type appeared in PostgreSQL 10
EXIT_WAIT_SECONDS = 5.0
EXIT_POLL_SECONDS = 0.02
# how often the cancelled backends are looked at during the grace period
CANCEL_POLL_SECONDS = 0.1

_SIGNAL_FUNCTIONS = {'cancel': 'pg_catalog.pg_cancel_backend', 'terminate': 'pg_catalog.pg_terminate_backend'}


class ParameterError(ClickviewError, ValueError):
    """Invalid user input; ``param`` is the option to name in the failure message."""

    def __init__(self, param, message):
        super(ParameterError, self).__init__('%s: %s' % (param, message), param=param)


class GuardError(ClickviewError):
    """The run would hit more backends than allowed; nothing was signalled."""

    def __init__(self, message, result):
        super(GuardError, self).__init__(message, param='max_backends', partial=result)
        self.result = result


def parse_duration(value, param='min_duration'):
    """Seconds (float) in the collection's duration grammar (300, '300s', '5m', '1h30m'); raise ParameterError."""
    try:
        return common.parse_duration(value, param)
    except common.ClickviewError as exc:
        raise ParameterError(param, exc.message[len(param) + 2:])


def _name_list(params, option):
    values = params.get(option) or []
    if not isinstance(values, (list, tuple)):
        raise ParameterError(option, 'expected a list of names')
    cleaned = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ParameterError(option, 'entries must be non-empty strings, got %r' % (value,))
        cleaned.append(value.strip())
    return cleaned


def _network_list(params, option):
    networks = []
    for value in _name_list(params, option):
        try:
            networks.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError as exc:
            raise ParameterError(option, 'invalid address or CIDR %r (%s)' % (value, exc))
    return networks


def _pid_list(params):
    """The ``pids`` option: positive process ids, duplicates dropped, in the order given."""
    values = params.get('pids') or []
    if not isinstance(values, (list, tuple)):
        raise ParameterError('pids', 'expected a list of process ids')
    pids = []
    for value in values:
        pid = value
        if isinstance(value, str) and value.strip().isdigit():
            pid = int(value.strip())
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise ParameterError('pids', 'process ids are positive whole numbers, got %r' % (value,))
        if pid not in pids:
            pids.append(pid)
    return pids


class Selection(object):
    """Validated selection criteria. ``states`` None selects any state (only with ``pids``)."""

    def __init__(self, states, min_duration, query_pattern=None, include_backup_tools=False, pids=None, **lists):
        self.states = None if states is None else list(states)
        self.pids = list(pids or [])
        self.include_backup_tools = include_backup_tools
        self.min_duration = min_duration
        self.query_pattern = query_pattern
        self.query_regex = re.compile(query_pattern) if query_pattern else None
        for kind, _column in FILTER_KINDS:
            setattr(self, 'include_' + kind, list(lists.get('include_' + kind) or []))
            setattr(self, 'exclude_' + kind, list(lists.get('exclude_' + kind) or []))

    def matches_query(self, query):
        if self.query_regex is None:
            return True
        return bool(self.query_regex.search(query or ''))


def build_selection(params):
    """Validate the selection options of ``params`` (a dict) and return a Selection.

    Without ``pids``, ``states`` defaults to active and ``min_duration`` to 5 minutes; with ``pids`` the
    named backends are selected in any state and of any duration unless those options are given."""
    pids = _pid_list(params)
    states = params.get('states')
    if states is None and not pids:
        states = ['active']
    if states is not None:
        if not isinstance(states, (list, tuple)) or not states:
            raise ParameterError('states', 'give at least one of: %s' % ', '.join(STATES))
        unknown = [state for state in states if state not in STATES]
        if unknown:
            raise ParameterError('states', 'unknown state(s) %s; choose from: %s'
                                 % (', '.join(map(repr, unknown)), ', '.join(STATES)))
        states = list(dict.fromkeys(states))

    raw_duration = params.get('min_duration')
    if raw_duration is None:
        raw_duration = 0 if pids else '5m'
    min_duration = parse_duration(raw_duration, 'min_duration')

    pattern = params.get('query_pattern')
    if pattern is not None and not isinstance(pattern, str):
        raise ParameterError('query_pattern', 'expected a regular expression string')
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ParameterError('query_pattern', 'invalid regular expression %r: %s' % (pattern, exc))

    lists = {}
    for kind, _column in FILTER_KINDS:
        reader = _network_list if kind == 'client_addresses' else _name_list
        include = reader(params, 'include_' + kind)
        exclude = reader(params, 'exclude_' + kind)
        both = sorted(set(include) & set(exclude))
        if both:
            raise ParameterError('include_%s/exclude_%s' % (kind, kind),
                                 '%s named in both lists; remove it from one of them' % ', '.join(map(repr, both)))
        lists['include_' + kind] = include
        lists['exclude_' + kind] = exclude
    return Selection(states, min_duration, pattern or None,
                     include_backup_tools=bool(params.get('include_backup_tools')), pids=pids, **lists)


_SELECT_TEMPLATE = """
SELECT s.* FROM (
    SELECT a.pid,
           a.backend_start,
           a.usename,
           a.datname,
           a.application_name,
           pg_catalog.host(a.client_addr) AS client_addr,
           a.client_addr AS client_inet,
           a.state,
           a.backend_type,
           a.query,
           COALESCE(r.rolsuper, false) AS is_superuser,
           COALESCE(r.rolreplication, false) AS is_replication,
           a.pid = pg_catalog.pg_backend_pid() AS is_own,
           EXTRACT(EPOCH FROM pg_catalog.clock_timestamp() - COALESCE(
               CASE
                   WHEN a.state = 'active' THEN a.query_start
                   WHEN a.state IN ('idle in transaction', 'idle in transaction (aborted)') THEN a.xact_start
                   ELSE a.state_change
               END, a.backend_start))::float8 AS duration,
           CASE
               WHEN r.oid IS NULL THEN false
               WHEN me.rolsuper THEN true
               WHEN r.rolsuper THEN false
               ELSE pg_catalog.pg_has_role(r.oid, 'USAGE') OR pg_catalog.pg_has_role('pg_signal_backend', 'USAGE')
           END AS can_signal
    FROM pg_catalog.pg_stat_activity AS a
    LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.usesysid
    CROSS JOIN (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS me
) AS s
WHERE {conditions}
ORDER BY s.duration DESC, s.pid
"""


def build_select_query(selection, only=None):
    """Return (sql, params) selecting the backends that match ``selection``.

    ``only`` restricts to a list of (pid, backend_start) identities (re-check after cancel).
    The SQL contains constants only; every value is in ``params``.
    """
    conditions, params = [], {}
    if selection.states is not None:
        conditions.append('s.state = ANY(%(states)s)')
        params['states'] = list(selection.states)
    if not selection.pids or selection.min_duration > 0:
        # with pids and no minimum, a backend whose clock is unknown (NULL duration) is still found
        conditions.append('s.duration >= %(min_duration)s')
        params['min_duration'] = float(selection.min_duration)
    if selection.pids:
        conditions.append('s.pid = ANY(%(pids)s::int[])')
        params['pids'] = list(selection.pids)
    for kind, column in FILTER_KINDS:
        cast = '::inet[]' if kind == 'client_addresses' else '::text[]'
        include = getattr(selection, 'include_' + kind)
        exclude = getattr(selection, 'exclude_' + kind)
        if include:
            params['include_' + kind] = list(include)
            conditions.append('COALESCE(s.%s = ANY(%%(include_%s)s%s), false)' % (column, kind, cast)
                              if kind != 'client_addresses' else
                              'COALESCE(s.%s <<= ANY(%%(include_%s)s%s), false)' % (column, kind, cast))
        if exclude:
            params['exclude_' + kind] = list(exclude)
            conditions.append('NOT COALESCE(s.%s = ANY(%%(exclude_%s)s%s), false)' % (column, kind, cast)
                              if kind != 'client_addresses' else
                              'NOT COALESCE(s.%s <<= ANY(%%(exclude_%s)s%s), false)' % (column, kind, cast))
    if only is not None:
        params['only_pids'] = [pid for pid, _start in only]
        params['only_starts'] = [start for _pid, start in only]
        conditions.append('(s.pid, s.backend_start) IN (SELECT * FROM unnest(%(only_pids)s::int[], %(only_starts)s::timestamptz[]))')
    return _SELECT_TEMPLATE.format(conditions='\n  AND '.join(conditions)), params


def _fetch_dicts(cursor):
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def select_backends(cursor, selection, only=None):
    """Rows matching the selection (query_pattern applied here, on the full query text)."""
    sql, params = build_select_query(selection, only)
    cursor.execute(sql, params)
    return [row for row in _fetch_dicts(cursor) if selection.matches_query(row['query'])]


def guard_for(row, selection):
    """Name of the guard protecting this backend, or None if it may be signalled."""
    if row['is_own']:
        return 'own_backend'
    if row['backend_type'] != 'client backend':
        return 'not_client_backend'
    named = row['usename'] in selection.include_users
    if row['is_superuser'] and not named:
        return 'superuser'
    if row['is_replication'] and not named:
        return 'replication_role'
    if not selection.include_backup_tools and BACKUP_TOOLS.match(row.get('application_name') or ''):
        return 'backup_tool'
    return None


def _report(row):
    query = row.get('query') or ''
    start = row.get('backend_start')
    return {
        'pid': row['pid'],
        'user': row.get('usename'),
        'database': row.get('datname'),
        'application': row.get('application_name'),
        'client_addr': row.get('client_addr'),
        'state': row.get('state'),
        'backend_type': row.get('backend_type'),
        'backend_start': start.isoformat() if hasattr(start, 'isoformat') else start,
        'duration': round(float(row.get('duration') or 0.0), 3),
        'query': query[:QUERY_PREVIEW],
        'outcome': None,
        'guard': None,
        'reason': None,
    }


def classify(rows, selection):
    """Return (reports, targets): every row as a report; targets are (report, row) pairs to signal."""
    reports, targets = [], []
    for row in rows:
        report = _report(row)
        guard = guard_for(row, selection)
        if guard:
            report['outcome'] = 'skipped'
            report['guard'] = guard
        else:
            targets.append((report, row))
        reports.append(report)
    return reports, targets


def _predicted_denial(row):
    return 'permission denied: the connected role may not signal backends of %s%s' % (
        row.get('usename'), ' (a superuser)' if row.get('is_superuser') else '')


_SIGNAL_TEMPLATE = """
SELECT t.pid, CASE WHEN s.pid IS NULL THEN NULL ELSE {function}(t.pid) END AS signalled
FROM unnest(%(pids)s::int[], %(starts)s::timestamptz[]) AS t(pid, backend_start)
LEFT JOIN LATERAL pg_catalog.pg_stat_get_activity(t.pid) AS s ON s.backend_start = t.backend_start
"""

_ALIVE_SQL = """
SELECT t.pid
FROM unnest(%(pids)s::int[], %(starts)s::timestamptz[]) AS t(pid, backend_start)
JOIN LATERAL pg_catalog.pg_stat_get_activity(t.pid) AS s ON s.backend_start = t.backend_start
"""


def _identities(rows):
    return {'pids': [row['pid'] for row in rows], 'starts': [row['backend_start'] for row in rows]}


def signal_backends(cursor, kind, rows):
    """Send one signal kind to rows (identified by pid and backend_start).

    Returns {pid: (True|False|None, error text or None)}: True signalled, False/None gone,
    error text when the server refused (for example permission denied).
    """
    sql = _SIGNAL_TEMPLATE.format(function=_SIGNAL_FUNCTIONS[kind])
    results = {}
    batch = [row for row in rows if row['can_signal']]
    if batch:
        try:
            cursor.execute(sql, _identities(batch))
            results.update((pid, (signalled, None)) for pid, signalled in cursor.fetchall())
        except DB_ERRORS:
            results.clear()
            batch = []  # fall back to one statement per backend to find which one failed
    for row in rows:
        if row['pid'] in results:
            continue
        try:
            cursor.execute(sql, _identities([row]))
            fetched = cursor.fetchall()
            results[row['pid']] = (fetched[0][1] if fetched else None, None)
        except DB_ERRORS as exc:
            message = (getattr(exc, 'pgerror', None) or str(exc)).strip()
            if message.startswith('ERROR:'):
                message = message[len('ERROR:'):].strip()
            results[row['pid']] = (None, message.splitlines()[0] if message else 'signal failed')
    return results


def wait_for_exit(cursor, rows, timeout=EXIT_WAIT_SECONDS, poll=EXIT_POLL_SECONDS, sleep=time.sleep, now=time.monotonic):
    """Poll until the given backends have left pg_stat_activity; return the pids still there."""
    remaining = list(rows)
    deadline = now() + timeout
    while remaining:
        cursor.execute(_ALIVE_SQL, _identities(remaining))
        alive = set(pid for (pid,) in cursor.fetchall())
        remaining = [row for row in remaining if row['pid'] in alive]
        if not remaining or now() >= deadline:
            break
        sleep(poll)
    return [row['pid'] for row in remaining]


def wait_for_cancel(cursor, selection, done, grace_period, poll=CANCEL_POLL_SECONDS, sleep=time.sleep, now=time.monotonic):
    """Poll the cancelled backends until none still runs a selected query or the grace period is over.

    Returns the rows still running. A cancel that works ends the query at once: waiting out the whole grace
    period then only delays the run (six cancelled pg_sleep queries took 6 s where 1 s was enough)."""
    identities = [(row['pid'], row['backend_start']) for _report, row in done]
    if selection.states is None:
        # pids in any state: a cancelled query leaves its session idle, which must not count as still running
        selection = copy.copy(selection)
        selection.states = list(RUNNING_STATES)
    deadline = now() + grace_period
    while True:
        still = select_backends(cursor, selection, only=identities)
        left = deadline - now()
        if not still or left <= 0:
            return still
        sleep(min(poll, left))


def _apply(kind, outcome, results, pairs):
    done = []
    for report, row in pairs:
        signalled, error = results.get(row['pid'], (None, None))
        if error:
            report['outcome'] = 'failed'
            report['reason'] = error
        elif signalled:
            report['outcome'] = outcome
            done.append((report, row))
        else:
            report['outcome'] = 'gone'
            report['reason'] = 'the backend ended before it was %s' % outcome
    return done


def counts_of(reports):
    counts = dict((outcome, 0) for outcome in OUTCOMES)
    for report in reports:
        counts[report['outcome']] = counts.get(report['outcome'], 0) + 1
    return counts


def _diff_line(report):
    return 'pid %s %s@%s app=%s client=%s state=%s %.1fs: %s' % (
        report['pid'], report['user'], report['database'], report['application'] or '-',
        report['client_addr'] or 'local', report['state'], report['duration'],
        ' '.join((report['query'] or '').split())[:80])


def build_diff(reports, action):
    touched = [r for r in reports if r['outcome'] in ('cancelled', 'terminated', 'would_cancel', 'would_terminate')]
    kept = [r for r in touched if r['outcome'] in ('cancelled', 'would_cancel') and action == 'cancel']
    return {
        'before_header': 'backends selected',
        'after_header': 'after %s' % action,
        'before': ''.join(_diff_line(r) + '\n' for r in touched),
        'after': ''.join(_diff_line(r).replace(': ', ' (query cancelled): ', 1) + '\n' for r in kept),
    }


def session_warnings(cursor):
    """Warn when the connected role cannot see or signal other roles' backends."""
    cursor.execute("SELECT r.rolsuper, pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'), "
                   "pg_catalog.pg_has_role('pg_signal_backend', 'USAGE') "
                   "FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user")
    row = cursor.fetchone()
    warnings = []
    if row and not row[0]:
        if not row[1]:
            warnings.append('the connected role is not a member of pg_read_all_stats (or pg_monitor): backends of other '
                            'roles show no state or query and are never selected')
        if not row[2]:
            warnings.append('the connected role is not a member of pg_signal_backend: it can only signal its own roles\' backends')
    return warnings


def run(conn, selection, action='cancel_then_terminate', grace_period=5.0, max_backends=50, force=False,
        check_mode=False, sleep=time.sleep, exit_wait=EXIT_WAIT_SECONDS, now=time.monotonic):
    """Select, guard and signal. Returns a result dict; raises GuardError when max_backends is exceeded."""
    if action not in ACTIONS:
        raise ParameterError('action', 'unknown action %r; choose from: %s' % (action, ', '.join(ACTIONS)))
    if getattr(conn, 'server_version', MIN_SERVER_VERSION) < MIN_SERVER_VERSION:
        raise ParameterError('login_host', 'PostgreSQL 10 or later is required (server reports %s)' % conn.server_version)
    cursor = conn.cursor()
    try:
        warnings = session_warnings(cursor)
        reports, targets = classify(select_backends(cursor, selection), selection)
        found = set(report['pid'] for report in reports)
        result = {'changed': False, 'backends': reports, 'warnings': warnings,
                  'pids_not_found': [pid for pid in selection.pids if pid not in found]}

        if len(targets) > max_backends and not force:
            for report, _row in targets:
                report['outcome'] = 'skipped'
                report['guard'] = 'max_backends'
            result['counts'] = counts_of(reports)
            raise GuardError('%d backends match the selection but max_backends is %d; nothing was signalled. Narrow the '
                             'selection, raise max_backends or set force=true' % (len(targets), max_backends), result)

        first = 'terminate' if action == 'terminate' else 'cancel'
        if check_mode:
            for report, row in targets:
                if row['can_signal']:
                    report['outcome'] = 'would_' + first
                else:
                    report['outcome'] = 'would_fail'
                    report['reason'] = _predicted_denial(row)
        elif targets:
            results = signal_backends(cursor, first, [row for _report, row in targets])
            done = _apply(first, 'terminated' if first == 'terminate' else 'cancelled', results, targets)
            if action == 'cancel_then_terminate' and done:
                still = wait_for_cancel(cursor, selection, done, grace_period, sleep=sleep, now=now)
                still_pids = set(row['pid'] for row in still)
                stubborn = [(report, row) for report, row in done if row['pid'] in still_pids]
                if stubborn:
                    results = signal_backends(cursor, 'terminate', [row for _report, row in stubborn])
                    for report, row in stubborn:
                        signalled, error = results.get(row['pid'], (None, None))
                        if error:
                            report['outcome'] = 'failed'
                            report['reason'] = 'cancelled but still running after %gs; terminate failed: %s' % (grace_period, error)
                        elif signalled:
                            report['outcome'] = 'terminated'
                            report['reason'] = 'still running %gs after cancel' % grace_period
                        # else: it ended on its own in between: stays 'cancelled'
            terminated = [(report, row) for report, row in targets if report['outcome'] == 'terminated']
            if terminated:
                lingering = set(wait_for_exit(cursor, [row for _report, row in terminated], timeout=exit_wait))
                for report, row in terminated:
                    if row['pid'] in lingering:
                        report['reason'] = 'signalled; the process had not exited after %gs' % exit_wait
    finally:
        cursor.close()

    result['counts'] = counts_of(reports)
    touched = ('cancelled', 'terminated', 'would_cancel', 'would_terminate')
    result['changed'] = any(report['outcome'] in touched for report in reports)
    result['diff'] = build_diff(reports, action)
    return result


def summary(result, check_mode=False):
    counts = result['counts']
    parts = ['%d %s' % (counts[outcome], outcome.replace('_', ' ')) for outcome in OUTCOMES if counts.get(outcome)]
    considered = len(result['backends'])
    prefix = 'check mode: ' if check_mode else ''
    missing = result.get('pids_not_found') or []
    suffix = ('; no backend with pid %s (ended, or outside the selection)' % ', '.join(str(pid) for pid in missing)
              if missing else '')
    if not considered:
        return prefix + 'no backend matches the selection' + suffix
    return '%s%d backend(s) matched: %s%s' % (prefix, considered, ', '.join(parts), suffix)
