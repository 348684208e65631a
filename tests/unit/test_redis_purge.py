# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the session purge logic and the Redis connection helpers, without a server."""

import sys
from pathlib import Path

import pytest

try:
    import ansible_collections.clickview.runbook  # noqa: F401  pylint: disable=unused-import
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / '.collections'))

import redis  # noqa: E402

from ansible_collections.clickview.runbook.plugins.module_utils import redis_client  # noqa: E402
from ansible_collections.clickview.runbook.plugins.module_utils.redis_purge import (  # noqa: E402
    PurgeAborted, PurgeInputError, Purger, PurgeSpec, RateLimiter, batches_per_call, escape_glob, expand_user,
    glob_to_regex, is_too_broad, key_slot, safe_key)


# ------------------------------------------------------------------ a small in-memory Redis

class FakePipeline(object):
    def __init__(self, server):
        self.server = server
        self.queue = []

    def execute_command(self, *args):
        self.queue.append(args)

    def scan(self, cursor=0, match=None, count=None):
        self.queue.append(('SCAN', cursor, match, count))

    def exists(self, key):
        self.queue.append(('EXISTS', key))

    def execute(self, raise_on_error=True):
        replies = []
        for command in self.queue:
            try:
                replies.append(self.server.execute_command(*command))
            except redis.ResponseError as exc:
                if raise_on_error:
                    raise
                replies.append(exc)
        return replies


class FakeRedis(object):
    """Keys in insertion order; SCAN walks them by index. Optionally no UNLINK, no scripts, or dies."""

    def __init__(self, keys=(), sets=None, has_unlink=True, die_after=None):
        self.data = dict((k if isinstance(k, bytes) else k.encode(), b'v') for k in keys)
        self.order = list(self.data)  # like the real cursor, stable while keys are deleted
        self.sets = dict(sets or {})
        self.has_unlink = has_unlink
        self.die_after = die_after
        self.calls = []

    def _tick(self):
        if self.die_after is not None:
            if self.die_after <= 0:
                raise redis.ConnectionError('Connection closed by server.')
            self.die_after -= 1

    def pipeline(self, transaction=True):
        return FakePipeline(self)

    def register_script(self, source):
        def refuse(keys=None, args=None):
            raise redis.ResponseError("NOPERM User ops has no permissions to run the 'evalsha' command")
        return refuse

    def execute_command(self, name, *args):
        self._tick()
        self.calls.append((name,) + args)
        if name == 'SCAN':
            cursor, match, count = args
            return self.scan(cursor, match, count, _counted=True)
        if name == 'EXISTS':
            return int(args[0] in self.data)
        if name == 'UNLINK' and not self.has_unlink:
            raise redis.ResponseError("unknown command 'UNLINK', with args beginning with: ")
        if name in ('UNLINK', 'DEL'):
            gone = 0
            for key in args:
                if self.data.pop(key, None) is not None:
                    gone += 1
            return gone
        raise AssertionError('unexpected command %s' % name)

    def scan(self, cursor=0, match=None, count=10, _counted=False):
        if not _counted:
            self._tick()
        names = self.order
        cursor = int(cursor)
        chunk = [k for k in names[cursor:cursor + count] if k in self.data]
        nxt = cursor + count if cursor + count < len(names) else 0
        regex = glob_to_regex(match) if match is not None else None
        return nxt, [k for k in chunk if regex is None or regex.match(k)]

    def sscan(self, key, cursor=0, count=10):
        self._tick()
        members = sorted(self.sets.get(key, ()))
        cursor = int(cursor)
        nxt = cursor + count if cursor + count < len(members) else 0
        return nxt, members[cursor:cursor + count]


NEIGHBOURS = [b'sessions:1', b'session', b'cache:session:1', b'Session:1', b'cache:video:1']
ODD_SESSIONS = [b'session:with space-1', b'session:"quoted\'-2', b'session:new\nline-3', b'session:\xff\xfe-4',
                b'session:*glob?[x]-1']


def lab_keys():
    keys = [('session:%06d-%d' % (i, 1 + i % 4)).encode() for i in range(40)]
    return keys + NEIGHBOURS + ODD_SESSIONS


def run(fake, check_mode=False, is_cluster=False, **spec):
    spec.setdefault('batch_size', 7)
    purger = Purger(PurgeSpec(**spec), check_mode=check_mode, is_cluster=is_cluster)
    if spec.get('user_index'):
        return purger.run([], index_client=fake, index_name='fake')
    return purger.run([('fake:6379', fake)])


# ------------------------------------------------------------------ patterns

@pytest.mark.parametrize('pattern', ['*', '**', '', '?*', '*?*', '*:*', '[^]*', '[!-~]*', '?ession:*', '[s]*'])
def test_patterns_matching_every_key_are_too_broad(pattern):
    assert is_too_broad(pattern)


@pytest.mark.parametrize('pattern', ['session:*', 's*', 'a', '\\*literal*'])
def test_narrow_patterns_are_not_too_broad(pattern):
    assert not is_too_broad(pattern)


@pytest.mark.parametrize('pattern,key,expected', [
    ('session:*', b'session:abc', True),
    ('session:*', b'session:', True),
    ('session:*', b'session:a\nb c', True),
    ('session:*', b'session:\xff', True),
    ('session:*', b'sessions:1', False),
    ('session:*', b'session', False),
    ('session:*', b'cache:session:1', False),
    ('session:*', b'Session:1', False),
    ('session:?', b'session:1', True),
    ('session:?', b'session:12', False),
    ('s[a-c]x', b'sbx', True),
    ('s[a-c]x', b'sdx', False),
    ('s[^a]x', b'sax', False),
    ('s[^a]x', b'sbx', True),
    ('s[c-a]x', b'sbx', True),
    ('a\\*b', b'a*b', True),
    ('a\\*b', b'axb', False),
    ('a.b', b'axb', False),
    ('a+b', b'a+b', True),
])
def test_glob_follows_redis_match_rules(pattern, key, expected):
    assert bool(glob_to_regex(pattern).match(key)) is expected


def test_user_id_glob_characters_are_escaped():
    assert escape_glob('1*[?]\\') == b'1\\*\\[\\?\\]\\\\'
    regex = glob_to_regex(expand_user('session:*-{user_id}', '1*'))
    assert regex.match(b'session:abc-1*')
    assert not regex.match(b'session:abc-12')


def test_template_keeps_cluster_hash_tags():
    assert expand_user('session:{app}:*-{user_id}', '42') == b'session:{app}:*-42'


def test_safe_key_escapes_what_is_not_printable_text():
    assert safe_key(b'session:plain') == 'session:plain'
    assert safe_key(b'session:\xff\xfe') == 'session:\\xff\\xfe'
    assert safe_key(b'a\nb\tc\x01') == 'a\\nb\\tc\\x01'
    assert safe_key('session:é'.encode()) == 'session:é'


@pytest.mark.parametrize('key', [b'session:1', b'{user1}:a', b'x{}y', b'a{b}c{d}', b'\xff\x00', b''])
def test_key_slot_matches_redis_py(key):
    from redis.crc import key_slot as reference
    assert key_slot(key) == reference(key)


# ------------------------------------------------------------------ input validation

@pytest.mark.parametrize('kwargs,param', [
    (dict(pattern='*'), 'pattern'),
    (dict(pattern='**'), 'pattern'),
    (dict(pattern=''), 'pattern'),
    (dict(pattern='', allow_all=True), 'pattern'),
    (dict(batch_size=0), 'batch_size'),
    (dict(batch_size=-5), 'batch_size'),
    (dict(batch_size=10 ** 7), 'batch_size'),
    (dict(max_rate=0), 'max_rate'),
    (dict(max_rate=-1), 'max_rate'),
    (dict(slice_ms=-1), 'slice_ms'),
    (dict(slice_ms=51), 'slice_ms'),
    (dict(slice_ms=None), 'slice_ms'),
    (dict(user_ids=[]), 'user_ids'),
    (dict(user_ids=['']), 'user_ids'),
    (dict(user_ids=['1'], user_key_pattern='session:*'), 'user_key_pattern'),
    (dict(user_ids=['1'], user_index='user_sessions'), 'user_index'),
    (dict(user_index='user_sessions:{user_id}'), 'user_index'),
])
def test_bad_input_names_the_parameter(kwargs, param):
    with pytest.raises(PurgeInputError) as err:
        PurgeSpec(**kwargs).validate()
    assert err.value.param == param
    assert param in err.value.msg or param == 'pattern'


@pytest.mark.parametrize('slice_ms,batch_size,max_rate,expected', [
    (4, 1000, None, 8),  # a 4 ms slice examines at most 8000 keys, even if TIME stood still
    (4, 100, None, 80),
    (50, 1000, None, 100),
    (4, 100000, None, 1),  # never less than one batch
    (0, 1000, None, 1),  # no slice: one batch per call
    (4, 1000, 5000, 1),  # a rate limit keeps each call to one batch
])
def test_batches_per_call_are_bounded(slice_ms, batch_size, max_rate, expected):
    assert batches_per_call(slice_ms, batch_size, max_rate) == expected


def test_allow_all_permits_star():
    PurgeSpec(pattern='*', allow_all=True).validate()


def test_bad_input_touches_nothing():
    fake = FakeRedis(lab_keys())
    with pytest.raises(PurgeInputError):
        run(fake, pattern='*')
    assert fake.calls == []


# ------------------------------------------------------------------ purging

def test_pattern_purge_deletes_sessions_only_and_is_idempotent():
    fake = FakeRedis(lab_keys())
    result = run(fake)
    assert result['deleted'] == result['matched'] == 45
    assert sorted(fake.data) == sorted(NEIGHBOURS)
    assert result['servers'] == [dict(server='fake:6379', matched=45, deleted=45)]
    assert result['method'] == 'pipeline'  # the fake refuses scripts
    assert result['command'] == 'UNLINK'
    again = run(fake)
    assert again['deleted'] == again['matched'] == 0


def test_pipeline_sends_each_unlink_with_the_next_scan():
    fake = FakeRedis(lab_keys())
    run(fake, batch_size=10)
    names = [c[0] for c in fake.calls]
    assert 'KEYS' not in names
    # SCAN, then (UNLINK, SCAN) pairs: one UNLINK per batch, never more than one batch in flight
    assert names[0] == 'SCAN'
    assert names.count('UNLINK') <= names.count('SCAN')
    for call in fake.calls:
        if call[0] == 'UNLINK':
            assert len(call) - 1 <= 10


def test_check_mode_counts_and_deletes_nothing():
    fake = FakeRedis(lab_keys())
    before = dict(fake.data)
    result = run(fake, check_mode=True)
    assert fake.data == before
    assert result['matched'] == 45 and result['deleted'] == 0
    assert 0 < len(result['samples']) <= 5
    assert all(isinstance(s, str) and s.startswith('session:') for s in result['samples'])
    assert not [c for c in fake.calls if c[0] in ('UNLINK', 'DEL')]


def test_odd_key_names_are_deleted_and_reported_safely():
    fake = FakeRedis(ODD_SESSIONS + NEIGHBOURS)
    result = run(fake, check_mode=True, sample_size=10)
    assert sorted(result['samples']) == sorted(safe_key(k) for k in ODD_SESSIONS)
    result = run(fake)
    assert result['deleted'] == len(ODD_SESSIONS)
    assert sorted(fake.data) == sorted(NEIGHBOURS)


def test_user_ids_purge_only_those_users():
    fake = FakeRedis(lab_keys())
    result = run(fake, user_ids=['1', '2'])
    left = set(fake.data)
    # users 1 and 2: 10 + 10 regular sessions, plus the odd ones ending in -1 / -2
    assert result['deleted'] == 23
    assert all(not k.endswith((b'-1', b'-2')) for k in left if k.startswith(b'session:'))
    assert any(k.endswith(b'-3') for k in left) and any(k.endswith(b'-4') for k in left)
    assert set(NEIGHBOURS) <= left


def test_single_user_is_matched_by_the_server():
    fake = FakeRedis(lab_keys())
    run(fake, user_ids=['3'])
    scans = [c for c in fake.calls if c[0] == 'SCAN']
    assert all(c[2] == b'session:*-3' for c in scans)


def test_user_id_with_glob_characters_matches_only_itself():
    fake = FakeRedis([b'session:a-1*', b'session:b-12', b'session:c-1'])
    result = run(fake, user_ids=['1*'])
    assert result['deleted'] == 1
    assert sorted(fake.data) == [b'session:b-12', b'session:c-1']


def test_user_index_deletes_existing_matching_members_only():
    keys = [b'session:a-7', b'session:b-7', b'session:c-8', b'cache:profile:7']
    sets = {b'user_sessions:7': {b'session:a-7', b'session:b-7', b'session:gone-7', b'cache:profile:7'},
            b'user_sessions:8': {b'session:c-8'}}
    fake = FakeRedis(keys, sets=sets)
    check = run(fake, check_mode=True, user_ids=['7'], user_index='user_sessions:{user_id}')
    assert check['matched'] == 2 and len(fake.data) == 4
    result = run(fake, user_ids=['7'], user_index='user_sessions:{user_id}')
    assert result['deleted'] == 2
    assert sorted(fake.data) == [b'cache:profile:7', b'session:c-8']
    assert run(fake, user_ids=['7'], user_index='user_sessions:{user_id}')['deleted'] == 0


def test_falls_back_to_del_without_unlink():
    fake = FakeRedis(lab_keys(), has_unlink=False)
    result = run(fake)
    assert result['command'] == 'DEL'
    assert result['deleted'] == 45
    assert sorted(fake.data) == sorted(NEIGHBOURS)


def test_cluster_deletes_one_slot_per_command():
    fake = FakeRedis(lab_keys())
    run(fake, is_cluster=True, batch_size=50)
    for call in fake.calls:
        if call[0] == 'UNLINK':
            assert len({key_slot(k) for k in call[1:]}) == 1
    assert sorted(fake.data) == sorted(NEIGHBOURS)


def test_lost_connection_reports_progress_and_rerun_finishes():
    fake = FakeRedis(lab_keys(), die_after=6)
    with pytest.raises(PurgeAborted) as err:
        run(fake)
    done = err.value.result['deleted']
    assert 0 < done < 45
    assert str(done) in err.value.msg and 'again' in err.value.msg
    # the count is what the server confirmed: the batch in flight when the connection broke may be gone too
    gone = len(lab_keys()) - len(fake.data)
    assert done <= gone <= done + 7
    fake.die_after = None
    assert run(fake)['deleted'] == 45 - gone
    assert sorted(fake.data) == sorted(NEIGHBOURS)


def test_rate_limiter_sleeps_to_hold_the_rate():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(100, clock=lambda: now[0], sleep=sleep)
    limiter.add(50)
    assert slept == [pytest.approx(0.5)]
    now[0] += 2.0
    limiter.add(50)  # behind schedule: no sleep
    assert len(slept) == 1


def test_max_rate_is_applied_to_deletions():
    slept = []
    fake = FakeRedis(lab_keys())
    purger = Purger(PurgeSpec(batch_size=10, max_rate=10), sleep=slept.append)
    purger.run([('fake', fake)])
    assert slept and sum(slept) > 0


# ------------------------------------------------------------------ connection helpers

def test_connection_argument_spec_hides_secrets():
    spec = redis_client.redis_argument_spec()
    assert spec['password']['no_log'] is True
    assert spec['url']['no_log'] is True


@pytest.mark.parametrize('params,param', [
    (dict(port=0), 'port'),
    (dict(port=70000), 'port'),
    (dict(db=-1), 'db'),
    (dict(db=3, cluster=True), 'db'),
    (dict(url='http://example.com'), 'url'),
    (dict(url='unix:///tmp/r.sock', cluster=True), 'url'),
    (dict(connect_timeout=0), 'connect_timeout'),
])
def test_bad_connection_parameters_are_named(params, param):
    with pytest.raises(redis_client.RedisConnectError) as err:
        redis_client.validate_connection_params(params)
    assert err.value.param == param


def test_server_description_never_contains_the_password():
    assert redis_client.describe_server(dict(url='redis://ops:s3cret@cache:6380/2')) == 'redis://cache:6380'
    assert redis_client.describe_server(dict(unix_socket='/run/r.sock')) == 'unix:/run/r.sock'
    assert redis_client.describe_server(dict(host='h', port=1)) == 'h:1'


def test_tls_options_map_to_redis_py():
    kwargs = redis_client.client_kwargs(dict(tls=True, validate_certs=False, ca_certs='ca.pem', client_cert='c.pem',
                                             client_key='k.pem', password='pw', username='ops', db=2))
    assert kwargs['ssl'] is True and kwargs['ssl_cert_reqs'] == 'none' and kwargs['ssl_check_hostname'] is False
    assert (kwargs['ssl_ca_certs'], kwargs['ssl_certfile'], kwargs['ssl_keyfile']) == ('ca.pem', 'c.pem', 'k.pem')
    assert (kwargs['username'], kwargs['password'], kwargs['db']) == ('ops', 'pw', 2)
    assert 'ssl' in redis_client.client_kwargs(dict(url='rediss://h:1/0'))
    assert 'ssl' not in redis_client.client_kwargs(dict(host='h'))


@pytest.mark.parametrize('exc,param', [
    (redis.AuthenticationError('invalid username-password pair'), 'password'),
    (redis.ResponseError('WRONGPASS invalid username-password pair or user is disabled.'), 'password'),
    (redis.ResponseError('NOAUTH Authentication required.'), 'password'),
    (redis.ResponseError('DB index is out of range'), 'db'),
    (redis.ConnectionError('Error 111 connecting to h:1. Connection refused.'), 'host/port'),
])
def test_errors_are_explained_with_the_parameter(exc, param):
    err = redis_client.explain_error(exc, dict(host='h', port=1, db=99))
    assert err.param == param
    assert 'h:1' in err.msg


class ClockedScript(object):
    """A server-side batch script stand-in: each batch examines batch_size of ``keys`` names and takes
    ``batch_seconds`` on the module's clock; ``timed`` is what the script reports about its own clock."""

    def __init__(self, keys, batch_seconds, timed):
        self.keys, self.batch_seconds, self.timed = keys, batch_seconds, timed
        self.now = 0.0
        self.batches_asked = []

    def clock(self):
        return self.now

    def register_script(self, source):
        assert 'os.clock' in source and 'TIME' in source

        def call(keys=None, args=None):
            cursor, dummy, count, dummy, dummy, dummy, batches = args
            cursor, count, batches = int(cursor), int(count), int(batches)
            self.batches_asked.append(batches)
            ran = 0
            while ran < batches and (ran == 0 or cursor != 0):
                ran += 1
                cursor = cursor + count if cursor + count < self.keys else 0
                self.now += self.batch_seconds
            found = min(ran * count, self.keys)
            return [str(cursor).encode(), found, found, [], ran, self.timed]
        return call


@pytest.mark.parametrize('timed, batch_ms, expected', [
    (1, 1.0, 8),    # a clock moves in the script (TIME on Redis 7.0, os.clock on Valkey 8.1): the cap, the script slices
    (0, 1.0, 4),    # no clock moves: as many 1 ms batches as fit in the 4 ms slice
    (0, 3.0, 1),    # batches longer than the slice: one per call
    (0, 0.1, 8),    # never more than the cap
])
def test_script_calls_are_sized_by_the_scripts_clock_or_by_the_modules(timed, batch_ms, expected):
    server = ClockedScript(keys=100000, batch_seconds=batch_ms / 1000.0, timed=timed)
    purger = Purger(PurgeSpec(batch_size=1000, slice_ms=4), clock=server.clock)
    result = purger.run([('fake:6379', server)])
    assert result['method'] == 'script' and result['deleted'] == 100000
    assert server.batches_asked[0] == 1  # the first call runs one batch: it tells whether a clock moves
    assert set(server.batches_asked[1:]) == {expected}, server.batches_asked
