# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""clickview.runbook.session_purge run through ansible-playbook against real Redis servers.

* the lab's Redis (password auth), in database 5 only, flushed before each test, so the lab's
  seeded data in database 0 and other tests are never touched;
* private redis-server processes started here from the same binary, on free ports in a temporary
  directory: an ACL-user server, a server that gets killed in mid-purge, a unix socket, and a
  3-primary Redis Cluster.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis
from redis.cluster import RedisCluster

from conftest import run_module

MODULE = 'clickview.runbook.session_purge'
DB = 5
REDIS_SERVER = shutil.which('redis-server') or '/usr/bin/redis-server'
NEIGHBOURS = [b'sessions:1', b'session', b'cache:session:1', b'Session:1', b'user:1', b'cache:video:1']
ODD_SESSIONS = [b'session:with space-1', b'session:"double" and \'single\'-2', b'session:new\nline-3',
                b'session:\xff\xfe not utf8-4', b'session:*glob?[x]-5', b'session:back\\slash-6']


# ------------------------------------------------------------------ helpers

def free_port(bus=False):
    """A free TCP port (and port + 10000 free too, for a cluster bus)."""
    for dummy in range(50):
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        if port + 10000 > 65535:
            continue
        if bus:
            with socket.socket() as sock:
                try:
                    sock.bind(('127.0.0.1', port + 10000))
                except OSError:
                    continue
        return port
    raise RuntimeError('no free port')


class PrivateRedis(object):
    """A redis-server of our own in a temporary directory (or another binary: server, e.g. valkey-server)."""

    def __init__(self, *extra, port=None, directory=None, server=None):
        self.server = server or REDIS_SERVER
        self.dir = directory or tempfile.mkdtemp(prefix='session-purge-test-')
        self.port = port or free_port(bus='--cluster-enabled' in extra)
        self.socket = os.path.join(self.dir, 'redis.sock')
        self.extra = list(extra)
        self.proc = None
        self.start()

    def start(self):
        cmd = [self.server, '--port', str(self.port), '--bind', '127.0.0.1', '--dir', self.dir, '--save', '',
               '--unixsocket', self.socket, '--unixsocketperm', '700', '--enable-debug-command', 'yes'] + self.extra
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for dummy in range(200):
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('redis-server did not start on %d' % self.port)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, remove=True):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


def seed(client, sessions=40, users=4, prefix='session:'):
    pipe = client.pipeline(transaction=False)
    for i in range(sessions):
        user = 1 + i % users
        key = '%s%06d-%d' % (prefix, i, user)
        pipe.set(key, 'data')
        pipe.sadd('user_sessions:%d' % user, key)
    for key in NEIGHBOURS:
        pipe.set(key, 'keep')
    pipe.execute()


def session_keys(client):
    return sorted(k for k in client.scan_iter(match=b'session:*', count=1000))


def assert_failed_cleanly(result, *words):
    assert result.get('failed') is True, result
    assert 'Traceback' not in result.get('msg', '') and 'module_stderr' not in result, result
    for word in words:
        assert word in result['msg'], result['msg']


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def lab_redis(lab):
    """Database 5 of the lab's Redis, flushed before and after the test."""
    client = redis.Redis(host=lab['host'], port=lab['services']['redis']['port'], password=lab['redis']['password'],
                         db=DB)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip('the lab Redis is not running (make lab-up)')
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def conn(lab):
    return dict(host=lab['host'], port=lab['services']['redis']['port'], password=lab['redis']['password'], db=DB)


@pytest.fixture
def private_redis():
    servers = []

    def make(*extra, **kwargs):
        server = PrivateRedis(*extra, **kwargs)
        servers.append(server)
        return server
    yield make
    for server in servers:
        server.stop()


# ------------------------------------------------------------------ the lab's Redis

def test_check_mode_counts_shows_samples_and_deletes_nothing(lab_redis, conn):
    seed(lab_redis)
    for key in ODD_SESSIONS:
        lab_redis.set(key, 'x')
    before = lab_redis.dbsize()
    result = run_module(MODULE, conn, check=True, diff=True)
    assert result['changed'] is True and not result.get('failed'), result
    assert result['matched'] == 40 + len(ODD_SESSIONS)
    assert result['deleted'] == 0
    assert 1 <= len(result['samples']) <= 5 and all(s.startswith('session:') for s in result['samples'])
    assert result['diff']['before']['matching_keys'] == 46 and result['diff']['after']['matching_keys'] == 0
    assert lab_redis.dbsize() == before


def test_purge_removes_sessions_keeps_neighbours_and_is_idempotent(lab_redis, conn):
    seed(lab_redis)
    for key in ODD_SESSIONS:
        lab_redis.set(key, 'x')
    result = run_module(MODULE, conn)
    assert result['changed'] is True and not result.get('failed'), result
    assert result['deleted'] == 40 + len(ODD_SESSIONS)
    assert result['method'] == 'script' and result['command'] == 'UNLINK'
    assert result['servers'] == [dict(server='%s:%s' % (conn['host'], conn['port']), matched=46, deleted=46)]
    assert result['elapsed'] >= 0 and result['keys_per_second'] >= 0
    assert session_keys(lab_redis) == []
    for key in NEIGHBOURS:
        assert lab_redis.exists(key), key
    again = run_module(MODULE, conn)
    assert again['changed'] is False and again['deleted'] == 0 and again['matched'] == 0


def test_odd_names_are_returned_safely_encoded(lab_redis, conn):
    for key in ODD_SESSIONS:
        lab_redis.set(key, 'x')
    result = run_module(MODULE, dict(conn, batch_size=100), check=True)
    assert result['matched'] == len(ODD_SESSIONS)
    samples = set(result['samples'])
    assert len(samples) == 5
    assert samples <= {'session:with space-1', 'session:"double" and \'single\'-2', 'session:new\\nline-3',
                       'session:\\xff\\xfe not utf8-4', 'session:*glob?[x]-5', 'session:back\\slash-6'}
    result = run_module(MODULE, dict(conn, use_script=False))
    assert result['deleted'] == len(ODD_SESSIONS) and result['method'] == 'pipeline'
    assert session_keys(lab_redis) == []


def test_user_ids_purge_only_those_users(lab_redis, conn):
    seed(lab_redis, sessions=40, users=4)
    lab_redis.set(b'session:odd name-2', 'x')
    result = run_module(MODULE, dict(conn, user_ids=['2', '3']))
    assert not result.get('failed'), result
    assert result['deleted'] == 21
    left = session_keys(lab_redis)
    assert len(left) == 20 and all(k.endswith((b'-1', b'-4')) for k in left)
    for key in NEIGHBOURS:
        assert lab_redis.exists(key)
    assert run_module(MODULE, dict(conn, user_ids=['2', '3']))['changed'] is False


def test_user_ids_through_the_index_set(lab_redis, conn):
    seed(lab_redis, sessions=40, users=4)
    lab_redis.sadd('user_sessions:1', 'cache:video:1')  # an index member outside the pattern stays
    args = dict(conn, user_ids=['1'], user_index='user_sessions:{user_id}')
    check = run_module(MODULE, args, check=True)
    assert check['matched'] == 10 and len(session_keys(lab_redis)) == 40
    result = run_module(MODULE, args)
    assert result['deleted'] == 10
    left = session_keys(lab_redis)
    assert len(left) == 30 and not [k for k in left if k.endswith(b'-1')]
    assert lab_redis.exists('cache:video:1') and lab_redis.exists('user_sessions:1')
    assert run_module(MODULE, args)['changed'] is False


def test_user_id_with_glob_characters_only_matches_itself(lab_redis, conn):
    lab_redis.mset({'session:a-1*': 'x', 'session:b-12': 'x', 'session:c-1': 'x'})
    result = run_module(MODULE, dict(conn, user_ids=['1*']))
    assert result['deleted'] == 1
    assert session_keys(lab_redis) == [b'session:b-12', b'session:c-1']


@pytest.mark.parametrize('pattern', ['*', '**', ''])
def test_pattern_matching_everything_is_refused(lab_redis, conn, pattern):
    seed(lab_redis)
    before = lab_redis.dbsize()
    result = run_module(MODULE, dict(conn, pattern=pattern))
    assert_failed_cleanly(result, 'pattern', 'allow_all')
    assert result['param'] == 'pattern' and result['deleted'] == 0
    assert lab_redis.dbsize() == before


def test_allow_all_purges_the_whole_database(lab_redis, conn):
    seed(lab_redis)
    result = run_module(MODULE, dict(conn, pattern='*', allow_all=True))
    assert result['deleted'] == 40 + 4 + len(NEIGHBOURS)  # 4 user index sets
    assert lab_redis.dbsize() == 0


@pytest.mark.parametrize('args,param,words', [
    (dict(batch_size=-1), 'batch_size', ['batch_size']),
    (dict(batch_size=0), 'batch_size', ['batch_size']),
    (dict(max_rate=-10), 'max_rate', ['max_rate']),
    (dict(slice_ms=-1), 'slice_ms', ['slice_ms']),
    (dict(user_ids=['1'], user_key_pattern='session:*'), 'user_key_pattern', ['user_key_pattern', '{user_id}']),
    (dict(db=99), 'db', ['db=99', 'does not exist']),
    (dict(password='wrong-password'), 'password', ['password']),
])
def test_bad_input_fails_naming_the_parameter_and_deletes_nothing(lab_redis, conn, args, param, words):
    seed(lab_redis)
    before = lab_redis.dbsize()
    result = run_module(MODULE, dict(conn, **args))
    assert_failed_cleanly(result, *words)
    assert result['param'] == param
    assert result['deleted'] == 0
    assert 'wrong-password' not in str(result)
    assert lab_redis.dbsize() == before


def test_bad_url_and_unreachable_server_fail_cleanly(lab, lab_redis):
    seed(lab_redis)
    before = lab_redis.dbsize()
    bad = run_module(MODULE, dict(url='http://%s:%s/5' % (lab['host'], lab['services']['redis']['port'])))
    assert_failed_cleanly(bad, 'url')
    assert bad['param'] == 'url'
    closed = free_port()
    gone = run_module(MODULE, dict(host='127.0.0.1', port=closed, connect_timeout=2))
    assert_failed_cleanly(gone, '127.0.0.1:%d' % closed, 'cannot connect')
    both = run_module(MODULE, dict(url='redis://127.0.0.1:1/0', host='127.0.0.1'))
    assert both.get('failed') and 'mutually exclusive' in both['msg']
    assert lab_redis.dbsize() == before


def test_url_with_password_is_not_logged(lab, lab_redis):
    seed(lab_redis)
    url = 'redis://:%s@%s:%s/%d' % (lab['redis']['password'], lab['host'], lab['services']['redis']['port'], DB)
    result = run_module(MODULE, dict(url=url))
    assert result['deleted'] == 40, result
    assert lab['redis']['password'] not in str(result)
    assert session_keys(lab_redis) == []


def test_writers_creating_sessions_during_the_purge(lab_redis, conn):
    pipe = lab_redis.pipeline(transaction=False)
    for i in range(30000):
        pipe.set('session:old%06d-%d' % (i, i % 50), 'x')
    pipe.execute()
    for key in NEIGHBOURS:
        lab_redis.set(key, 'keep')
    stop = threading.Event()
    written = []

    def writer():
        client = redis.Redis(host=conn['host'], port=conn['port'], password=conn['password'], db=DB)
        while not stop.is_set():
            key = 'session:new%06d-7' % len(written)
            client.set(key, 'x')
            written.append(key)
            time.sleep(0.001)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = run_module(MODULE, dict(conn, batch_size=200, max_rate=20000))
    finally:
        stop.set()
        thread.join()
    assert not result.get('failed'), result
    assert written
    left = session_keys(lab_redis)
    # every session that existed for the whole purge is gone; only some new ones may remain
    assert not [k for k in left if k.startswith(b'session:old')]
    assert result['deleted'] >= 30000
    for key in NEIGHBOURS:
        assert lab_redis.exists(key)
    final = run_module(MODULE, conn)
    assert final['deleted'] == len(left)
    assert session_keys(lab_redis) == []


def test_max_rate_caps_the_deletion_rate(lab_redis, conn):
    seed(lab_redis, sessions=1500)
    result = run_module(MODULE, dict(conn, batch_size=100, max_rate=2000))
    assert result['deleted'] == 1500
    assert result['elapsed'] >= 0.6
    assert result['keys_per_second'] <= 2200


# ------------------------------------------------------------------ private servers

def test_acl_user_without_script_permission_uses_the_pipeline(private_redis):
    server = private_redis('--requirepass', 'admin-pw')
    admin = redis.Redis(port=server.port, password='admin-pw')
    admin.execute_command('ACL', 'SETUSER', 'purger', 'on', '>purger-pw', 'resetkeys', '~session:*', '-@all',
                          '+scan', '+unlink', '+del', '+exists', '+ping', '+select', '+client|setname',
                          '+info')
    seed(admin)
    args = dict(host='127.0.0.1', port=server.port, username='purger', password='purger-pw')
    result = run_module(MODULE, args)
    assert not result.get('failed'), result
    assert result['deleted'] == 40 and result['method'] == 'pipeline'
    assert session_keys(admin) == []
    for key in NEIGHBOURS:
        assert admin.exists(key)
    wrong = run_module(MODULE, dict(args, password='not-it'))
    assert_failed_cleanly(wrong, 'credentials')
    assert wrong['param'] == 'password' and 'not-it' not in str(wrong)
    no_user = run_module(MODULE, dict(host='127.0.0.1', port=server.port))
    assert_failed_cleanly(no_user, 'password')


def test_acl_user_with_script_permission_uses_the_script(private_redis):
    server = private_redis()
    admin = redis.Redis(port=server.port)
    admin.execute_command('ACL', 'SETUSER', 'ops', 'on', '>ops-pw', '~*', '+@all')
    seed(admin)
    result = run_module(MODULE, dict(host='127.0.0.1', port=server.port, username='ops', password='ops-pw'))
    assert result['deleted'] == 40 and result['method'] == 'script'


def evalsha_calls(client):
    return client.info('commandstats').get('cmdstat_evalsha', {}).get('calls', 0)


def test_time_slices_need_fewer_calls_and_delete_the_same_keys(private_redis):
    server = private_redis()
    client = redis.Redis(port=server.port)
    args = dict(host='127.0.0.1', port=server.port, batch_size=200)
    calls = {}
    for slice_ms in (0, 50):
        client.flushall()
        client.execute_command('DEBUG', 'POPULATE', 20000, 'session', 8)
        client.execute_command('DEBUG', 'POPULATE', 20000, 'cache', 8)
        seed(client, prefix='session:odd ')
        client.set(ODD_SESSIONS[3], 'x')
        client.config_resetstat()
        result = run_module(MODULE, dict(args, slice_ms=slice_ms))
        assert not result.get('failed'), result
        assert result['method'] == 'script' and result['deleted'] == 20000 + 40 + 1, result
        assert session_keys(client) == []
        assert client.dbsize() == 20000 + 4 + len(NEIGHBOURS)  # cache:*, the user index sets, neighbours
        calls[slice_ms] = evalsha_calls(client)
    # one call per 200-key batch without a slice; several batches per call within 50 ms slices
    assert calls[0] >= 40000 // 200
    assert calls[50] < calls[0] / 2, calls


def test_acl_user_without_time_still_uses_the_script(private_redis):
    server = private_redis()
    admin = redis.Redis(port=server.port)
    admin.execute_command('ACL', 'SETUSER', 'ops', 'on', '>ops-pw', '~*', '+@all', '-time')
    seed(admin, sessions=3000)
    keys = admin.dbsize()
    admin.config_resetstat()
    result = run_module(MODULE, dict(host='127.0.0.1', port=server.port, username='ops', password='ops-pw',
                                     batch_size=100))
    assert not result.get('failed'), result
    assert result['deleted'] == 3000 and result['method'] == 'script'
    assert session_keys(admin) == []
    assert evalsha_calls(admin) >= keys // 100  # no clock, so one 100-key batch per call


def test_unix_socket_and_unix_url(private_redis):
    server = private_redis()
    client = redis.Redis(port=server.port, db=3)
    seed(client)
    result = run_module(MODULE, dict(unix_socket=server.socket, db=3, user_ids=['1']))
    assert result['deleted'] == 10, result
    result = run_module(MODULE, dict(url='unix://%s?db=3' % server.socket))
    assert result['deleted'] == 30, result
    assert result['servers'][0]['server'] == 'unix:' + server.socket
    assert session_keys(client) == []


def test_server_killed_in_mid_purge_reports_progress_and_a_rerun_finishes(private_redis):
    server = private_redis('--appendonly', 'yes', '--appendfsync', 'always')
    client = redis.Redis(port=server.port)
    pipe = client.pipeline(transaction=False)  # real writes, so that the append-only file has them
    for i in range(60000):
        pipe.set('session:%06d' % i, 'x')
    pipe.execute()
    for key in NEIGHBOURS:
        client.set(key, 'keep')
    args = dict(host='127.0.0.1', port=server.port, batch_size=500, max_rate=15000, connect_timeout=3)
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(run_module(MODULE, args)))
    runner.start()
    deadline = time.time() + 60
    while time.time() < deadline and client.dbsize() > 60000 + len(NEIGHBOURS) - 10000:
        time.sleep(0.05)
    server.kill()
    runner.join()
    result = outcome
    assert_failed_cleanly(result, 'after deleting', 'again', '127.0.0.1:%d' % server.port)
    assert result['deleted'] > 0 and result['changed'] is True
    assert str(result['deleted']) in result['msg']
    server.start()  # the append-only file brings the keys back as they were when it died
    client = redis.Redis(port=server.port)
    left = len(session_keys(client))
    assert 0 < left <= 60000 - result['deleted']
    again = run_module(MODULE, dict(args, max_rate=None))
    assert not again.get('failed'), again
    assert again['deleted'] == left
    assert session_keys(client) == []
    for key in NEIGHBOURS:
        assert client.exists(key)


@pytest.fixture
def cluster(private_redis):
    servers = [private_redis('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--appendonly', 'no')
               for dummy in range(3)]
    # each server has its own directory, so nodes.conf files never collide
    clients = [redis.Redis(port=s.port) for s in servers]
    bounds = [(0, 5460), (5461, 10922), (10923, 16383)]
    for client, (low, high) in zip(clients, bounds):
        client.execute_command('CLUSTER', 'ADDSLOTSRANGE', low, high)
    for client in clients[1:]:
        client.execute_command('CLUSTER', 'MEET', '127.0.0.1', servers[0].port)
    deadline = time.time() + 30
    while time.time() < deadline:
        if all(c.cluster('info')['cluster_state'] == 'ok' and len(c.cluster('nodes')) == 3 for c in clients):
            break
        time.sleep(0.2)
    else:
        pytest.fail('the test cluster did not come up')
    return servers


def test_cluster_purge_runs_on_every_primary(cluster):
    client = RedisCluster(host='127.0.0.1', port=cluster[0].port)
    for i in range(300):
        client.set('session:%06d-%d' % (i, 1 + i % 3), 'x')
    for key in NEIGHBOURS + ODD_SESSIONS:
        client.set(key, 'keep' if key in NEIGHBOURS else 'x')
    args = dict(host='127.0.0.1', port=cluster[1].port, cluster=True, batch_size=50)
    check = run_module(MODULE, args, check=True)
    assert check['matched'] == 300 + len(ODD_SESSIONS) and len(check['servers']) == 3
    result = run_module(MODULE, args)
    assert not result.get('failed'), result
    assert result['deleted'] == 300 + len(ODD_SESSIONS)
    assert sorted(s['server'] for s in result['servers']) == sorted('127.0.0.1:%d' % s.port for s in cluster)
    assert all(s['deleted'] > 0 for s in result['servers'])
    for server in cluster:
        assert session_keys(redis.Redis(port=server.port)) == []
    for key in NEIGHBOURS:
        assert client.exists(key)
    assert run_module(MODULE, args)['changed'] is False
    client.close()


def test_cluster_user_purge_and_index(cluster):
    client = RedisCluster(host='127.0.0.1', port=cluster[0].port)
    for i in range(60):
        key = 'session:%06d-%d' % (i, 1 + i % 3)
        client.set(key, 'x')
        client.sadd('user_sessions:%d' % (1 + i % 3), key)
    args = dict(host='127.0.0.1', port=cluster[0].port, cluster=True)
    result = run_module(MODULE, dict(args, user_ids=['1']))
    assert result['deleted'] == 20, result
    result = run_module(MODULE, dict(args, user_ids=['2'], user_index='user_sessions:{user_id}'))
    assert result['deleted'] == 20, result
    left = sorted(k for s in cluster for k in session_keys(redis.Redis(port=s.port)))
    assert len(left) == 20 and all(k.endswith(b'-3') for k in left)
    bad = run_module(MODULE, dict(args, db=2))
    assert_failed_cleanly(bad, 'db')
    client.close()
