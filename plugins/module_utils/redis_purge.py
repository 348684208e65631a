# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Delete the keys matching a glob pattern without blocking Redis: SCAN + UNLINK, pipelined.

Used by the session_purge module; importable and testable without AnsibleModule and
without a server (any object with redis-py's ``pipeline``/``scan``/``sscan`` interface works).

How it stays fast without stalling the server, two ways:

* ``script`` (the default for a pattern purge): each round trip runs one small Lua script
  that repeats ``SCAN ... COUNT batch_size`` and the ``UNLINK`` of what it found for one
  time slice (``slice_ms``, a few milliseconds). Key names never travel to the client, so the
  purge runs at the speed of the server; few round trips are paid; and each call blocks the
  server only for about one slice.
* ``pipeline`` (per-user purges, check mode, and where scripts are not allowed, e.g. an ACL
  user without ``+eval``): every round trip carries the UNLINK of the previous SCAN batch
  together with the next SCAN, so the client never waits twice.

Only one batch of key names is held in memory. KEYS is never used.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError

DEFAULT_PATTERN = 'session:*'
DEFAULT_USER_KEY_PATTERN = 'session:*-{user_id}'
USER_ID_PLACEHOLDER = '{user_id}'
MAX_BATCH_SIZE = 100000
SAMPLE_SIZE = 5
GLOB_SPECIALS = b'*?[]\\'

try:
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as _RedisTimeoutError
    LOST_CONNECTION = (_RedisConnectionError, _RedisTimeoutError, OSError)
except ImportError:  # the module reports the missing library before getting here
    LOST_CONNECTION = (OSError,)


class PurgeInputError(ClickviewError):
    """Bad module input; ``param`` names the option to fix."""

    def __init__(self, param, msg):
        super(PurgeInputError, self).__init__(msg, param=param)


class PurgeAborted(ClickviewError):
    """The purge stopped part-way; ``result`` holds what had been done until then."""

    def __init__(self, msg, result, server=None):
        super(PurgeAborted, self).__init__(msg, partial=result)
        self.result = result
        self.server = server


# ---------------------------------------------------------------- patterns

def to_bytes(value):
    if isinstance(value, bytes):
        return value
    return value.encode('utf-8', 'surrogateescape')


def literal_prefix(pattern):
    """The literal bytes a pattern starts with, up to its first glob character (``*``, ``?``, ``[``).

    An escaped character (``\\*``) is literal. ``session:*`` gives ``session:``; ``*:*``, ``[^]*`` and
    ``?ession:*`` give nothing.
    """
    raw = bytearray(to_bytes(pattern))
    out = bytearray()
    i = 0
    while i < len(raw):
        char = raw[i]
        if char in bytearray(b'*?['):
            break
        if char == ord('\\') and i + 1 < len(raw):
            i += 1
            char = raw[i]
        out.append(char)
        i += 1
    return bytes(out)


def is_too_broad(pattern):
    """True for a pattern without a literal prefix before its first glob character.

    Such a pattern (``*``, ``*:*``, ``[^]*``, ``[!-~]*``, ``?ession:*``) can match keys of every kind in
    the database, so a typo purges far more than sessions.
    """
    return literal_prefix(pattern) == b''


def escape_glob(text):
    """Escape Redis glob characters so ``text`` matches only itself."""
    raw = to_bytes(text)
    out = bytearray()
    for byte in bytearray(raw):
        if byte in bytearray(GLOB_SPECIALS):
            out += b'\\'
        out.append(byte)
    return bytes(out)


def glob_to_regex(pattern):
    """Compile a Redis glob (``*``, ``?``, ``[a-z]``, ``[^x]``, ``\\`` escapes) to a bytes regex.

    Follows Redis' stringmatchlen(), so the client decides exactly as SCAN MATCH would.
    """
    raw = bytearray(to_bytes(pattern))
    out = []
    i, n = 0, len(raw)
    while i < n:
        char = raw[i]
        if char == ord('*'):
            out.append(b'.*')
        elif char == ord('?'):
            out.append(b'.')
        elif char == ord('\\') and i + 1 < n:
            i += 1
            out.append(re.escape(bytes(raw[i:i + 1])))
        elif char == ord('['):
            i += 1
            negate = i < n and raw[i] == ord('^')
            if negate:
                i += 1
            items = []
            while i < n and raw[i] != ord(']'):
                if raw[i] == ord('\\') and i + 1 < n:
                    i += 1
                    items.append(re.escape(bytes(raw[i:i + 1])))
                elif i + 2 < n and raw[i + 1] == ord('-') and raw[i + 2] != ord(']'):
                    low, high = sorted((raw[i], raw[i + 2]))
                    items.append(re.escape(bytes([low])) + b'-' + re.escape(bytes([high])))
                    i += 2
                else:
                    items.append(re.escape(bytes(raw[i:i + 1])))
                i += 1
            if not items:  # "[]" matches nothing, "[^]" any one byte
                out.append(b'.' if negate else b'(?!)')
            else:
                out.append(b'[' + (b'^' if negate else b'') + b''.join(items) + b']')
        else:
            out.append(re.escape(bytes(raw[i:i + 1])))
        i += 1
    return re.compile(b''.join(out) + b'\\Z', re.DOTALL)


def expand_user(template, user_id):
    """Key pattern (glob) of one user's keys: the placeholder replaced by the escaped id."""
    head, dummy, tail = to_bytes(template).partition(to_bytes(USER_ID_PLACEHOLDER))
    return head + escape_glob(user_id) + tail


def safe_key(key):
    """A key name as printable text: UTF-8 kept, control characters and other bytes escaped."""
    text = to_bytes(key).decode('utf-8', 'backslashreplace')
    out = []
    for char in text:
        if char == '\\' or ord(char) >= 32 and ord(char) != 127:
            out.append(char)
        elif char == '\n':
            out.append('\\n')
        elif char == '\r':
            out.append('\\r')
        elif char == '\t':
            out.append('\\t')
        else:
            out.append('\\x%02x' % ord(char))
    return ''.join(out)


# ---------------------------------------------------------------- cluster slots

def _crc16(data):
    crc = 0
    for byte in bytearray(data):
        crc ^= byte << 8
        for dummy in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def key_slot(key):
    """Redis Cluster hash slot of a key (hash tags respected)."""
    raw = to_bytes(key)
    start = raw.find(b'{')
    if start > -1:
        end = raw.find(b'}', start + 1)
        if end > start + 1:
            raw = raw[start + 1:end]
    return _crc16(raw) % 16384


# ---------------------------------------------------------------- server-side batch

# ARGV: cursor, match pattern, count, number of sample names wanted, deletion command,
#       time slice in microseconds, most SCAN batches per call.
# Runs SCAN batches (each followed by the deletion of what it found) until the slice is used up,
# the keyspace is done, or the batch cap is reached; one batch per call where TIME is not allowed.
# Fewer, slightly longer calls: the round trip between two calls, during which the server waits
# for the module, is paid less often, while no call blocks the server for much longer than the slice.
# Valkey 8.1 freezes TIME for the whole script (it returns the time the script started), so there
# the slice is measured with Lua's os.clock() instead (the server's CPU time, which runs on inside a
# script; Redis 7.0 has no os.clock). Where neither clock moves, the script says so and the module
# sizes the batches of each call from the duration of the calls it times itself (Purger.script_node).
# Returns {next cursor, keys found, keys deleted, {sample names}, batches run, 1 if a clock ended the slice}.
_BATCH_BODY = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local cursor = ARGV[1]
local want = tonumber(ARGV[4])
local slice = tonumber(ARGV[6])
local function clock()  -- microseconds; nil where TIME is not allowed (an ACL user without +time)
  local now = redis.pcall('TIME')
  if now.err then return nil end
  return now[1] * 1000000 + now[2]
end
local has_cpu, cpu = pcall(function() return os.clock end)  -- os is absent from Redis 7.0's Lua
if not has_cpu or type(cpu) ~= 'function' then cpu = nil end
local start = slice > 0 and clock()
local stop = start and start + slice
local cpu_stop = slice > 0 and cpu and cpu() + slice / 1000000
local found, deleted, sample, ran, timed = 0, 0, {}, 0, 0
for batch = 1, tonumber(ARGV[7]) do
  ran = batch
  local reply = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', ARGV[3])
  cursor = reply[1]
  local keys = reply[2]
  local n = #keys
  found = found + n
%s
  for i = 1, math.min(want - #sample, n) do sample[#sample + 1] = keys[i] end
  if cursor == '0' or not (stop or cpu_stop) then break end
  local now = stop and clock()
  if now and now > start then timed = 1 end
  if now and now >= stop then break end
  if cpu_stop then
    timed = 1
    if cpu() >= cpu_stop then break end
  elseif not now then break end
end
return {cursor, found, deleted, sample, ran, timed}
"""
# one command per 1000 keys (Lua's unpack() has a stack limit)
_DELETE_MANY = """  for i = 1, n, 1000 do
    deleted = deleted + redis.call(ARGV[5], unpack(keys, i, math.min(i + 999, n)))
  end"""
# a cluster refuses one command over keys of different slots: one command per key
_DELETE_EACH = """  for i = 1, n do deleted = deleted + redis.call(ARGV[5], keys[i]) end"""
BATCH_SCRIPT = _BATCH_BODY % _DELETE_MANY
CLUSTER_BATCH_SCRIPT = '#!lua flags=allow-cross-slot-keys\n' + _BATCH_BODY % _DELETE_EACH
# Default time slice of one server-side call, and its upper limit (milliseconds).
DEFAULT_SLICE_MS = 4
MAX_SLICE_MS = 50
# Keys one call may examine per millisecond of its slice, at most: bounds a call even where TIME
# does not advance inside a script (a fast server examines about 1000 keys per millisecond).
KEYS_PER_MS_CAP = 2000


def batches_per_call(slice_ms, batch_size, max_rate=None):
    """Most SCAN batches one server-side call runs: one without a slice or with a rate limit."""
    if not slice_ms or max_rate:
        return 1
    return max(1, int(slice_ms * KEYS_PER_MS_CAP) // batch_size)


class ScriptUnavailable(Exception):
    """The server refused the batch script (no EVAL permission, scripting disabled, too old)."""


# ---------------------------------------------------------------- the purge

class PurgeSpec(object):
    """What to purge and how; ``validate()`` raises PurgeInputError naming the option."""

    def __init__(self, pattern=DEFAULT_PATTERN, user_ids=None, user_key_pattern=DEFAULT_USER_KEY_PATTERN,
                 user_index=None, batch_size=1000, max_rate=None, allow_all=False, sample_size=SAMPLE_SIZE,
                 use_script=True, slice_ms=DEFAULT_SLICE_MS):
        self.pattern = pattern
        self.user_ids = user_ids
        self.user_key_pattern = user_key_pattern
        self.user_index = user_index
        self.batch_size = batch_size
        self.max_rate = max_rate
        self.allow_all = allow_all
        self.sample_size = sample_size
        self.use_script = use_script
        self.slice_ms = slice_ms

    def validate(self):
        if self.pattern is None or is_too_broad(self.pattern):
            if not self.allow_all:
                raise PurgeInputError('pattern', 'pattern %r has no literal prefix before its first glob character, so it '
                                      'can match every key; refusing to purge the whole database. Give a pattern '
                                      'that starts with the key prefix, such as session:*, or set allow_all=true if '
                                      'you really mean every key' % (self.pattern,))
        if self.pattern is None or self.pattern == '':
            raise PurgeInputError('pattern', 'pattern must not be empty (use * with allow_all=true for every key)')
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise PurgeInputError('batch_size', 'batch_size must be between 1 and %d, got %r' % (MAX_BATCH_SIZE, self.batch_size))
        if self.slice_ms is None or not 0 <= self.slice_ms <= MAX_SLICE_MS:
            raise PurgeInputError('slice_ms', 'slice_ms must be between 0 and %d milliseconds, got %r'
                                  % (MAX_SLICE_MS, self.slice_ms))
        if self.max_rate is not None and not self.max_rate > 0:
            raise PurgeInputError('max_rate', 'max_rate must be a positive number of keys per second, got %r' % (self.max_rate,))
        if self.user_ids is not None:
            if not self.user_ids:
                raise PurgeInputError('user_ids', 'user_ids is empty: give at least one user id, or leave it out to purge by pattern')
            for user_id in self.user_ids:
                if user_id is None or str(user_id) == '':
                    raise PurgeInputError('user_ids', 'user_ids contains an empty id')
            if self.user_index is not None:
                if USER_ID_PLACEHOLDER not in self.user_index:
                    raise PurgeInputError('user_index', 'user_index must contain %s, e.g. user_sessions:%s'
                                          % (USER_ID_PLACEHOLDER, USER_ID_PLACEHOLDER))
            elif self.user_key_pattern is None or USER_ID_PLACEHOLDER not in self.user_key_pattern:
                raise PurgeInputError('user_key_pattern', 'user_key_pattern must contain %s, e.g. session:*-%s'
                                      % (USER_ID_PLACEHOLDER, USER_ID_PLACEHOLDER))
        elif self.user_index is not None:
            raise PurgeInputError('user_index', 'user_index is only used together with user_ids')


class RateLimiter(object):
    """Keeps the running average of deleted keys per second at or below ``max_rate``."""

    def __init__(self, max_rate, clock=time.monotonic, sleep=time.sleep):
        self.max_rate = max_rate
        self.clock = clock
        self.sleep = sleep
        self.start = clock()
        self.count = 0

    def add(self, count):
        if not self.max_rate or not count:
            return
        self.count += count
        ahead = self.count / float(self.max_rate) - (self.clock() - self.start)
        if ahead > 0:
            self.sleep(ahead)


class Purger(object):
    """Runs a PurgeSpec against a list of (name, client) nodes."""

    def __init__(self, spec, check_mode=False, is_cluster=False, clock=time.monotonic, sleep=time.sleep):
        spec.validate()
        self.spec = spec
        self.check_mode = check_mode
        self.is_cluster = is_cluster
        self.clock = clock
        self.limiter = RateLimiter(spec.max_rate, clock=clock, sleep=sleep)
        self.command = 'UNLINK'
        self.method = None
        self.matched = 0
        self.deleted = 0
        self.samples = []
        self.servers = []
        self.started = None
        self.pattern_re = glob_to_regex(spec.pattern)
        self.user_res = None
        if spec.user_ids is not None:
            self.user_res = [glob_to_regex(expand_user(spec.user_key_pattern or '', uid)) for uid in spec.user_ids]

    # -- results

    def result(self):
        elapsed = max(self.clock() - self.started, 0.0) if self.started is not None else 0.0
        done = self.matched if self.check_mode else self.deleted
        return dict(
            matched=self.matched,
            deleted=0 if self.check_mode else self.deleted,
            elapsed=round(elapsed, 3),
            keys_per_second=int(done / elapsed) if elapsed > 0 else 0,
            servers=self.servers,
            samples=[safe_key(k) for k in self.samples],
            command=self.command,
            method=self.method or 'pipeline',
        )

    def _note(self, server, keys):
        self.matched += len(keys)
        server['matched'] += len(keys)
        room = self.spec.sample_size - len(self.samples)
        if room > 0 and keys:
            self.samples.extend(keys[:room])

    # -- deletion, queued on a pipeline so it travels with the next SCAN

    def _queue_delete(self, pipe, keys):
        """Queue the deletion of ``keys``; return the number of commands queued."""
        if not keys:
            return 0
        if not self.is_cluster:
            pipe.execute_command(self.command, *keys)
            return 1
        by_slot = {}
        for key in keys:
            by_slot.setdefault(key_slot(key), []).append(key)
        for group in by_slot.values():
            pipe.execute_command(self.command, *group)
        return len(by_slot)

    def _count_deleted(self, client, server, replies, keys):
        """Add up UNLINK replies; fall back to DEL once on a server without UNLINK (Redis < 4)."""
        count = 0
        for reply in replies:
            if isinstance(reply, Exception):
                text = str(reply).lower()
                if self.command == 'UNLINK' and 'unknown command' in text:
                    self.command = 'DEL'
                    pipe = client.pipeline(transaction=False)
                    queued = self._queue_delete(pipe, keys)
                    return self._count_deleted(client, server, pipe.execute(raise_on_error=False)[:queued], keys)
                raise reply
            count += int(reply)
        self.deleted += count
        server['deleted'] += count
        self.limiter.add(count)
        return count

    # -- the two ways of finding keys

    def _wanted(self, keys):
        if self.user_res is None:
            return keys
        return [k for k in keys if self.pattern_re.match(k) and any(r.match(k) for r in self.user_res)]

    def _scan_match(self):
        if self.user_res is not None and len(self.spec.user_ids) == 1:
            return expand_user(self.spec.user_key_pattern, self.spec.user_ids[0])
        return to_bytes(self.spec.pattern)

    def purge_node(self, client, server):
        """Purge one server with the batch script where possible, else with the pipeline."""
        if self.spec.use_script and not self.check_mode and self.user_res is None and self.method != 'pipeline':
            try:
                self.script_node(client, server)
                self.method = 'script'
                return server
            except ScriptUnavailable:
                self.method = 'pipeline'
        self.method = 'pipeline'
        return self.scan_node(client, server)

    def scan_node(self, client, server):
        """SCAN one server, deleting each batch while the next one is fetched."""
        match = self._scan_match()
        cursor = 0
        pending = []
        finished = False
        while not finished or pending:
            pipe = client.pipeline(transaction=False)
            queued = self._queue_delete(pipe, pending)
            if not finished:
                pipe.scan(cursor=cursor, match=match, count=self.spec.batch_size)
            replies = pipe.execute(raise_on_error=False)
            if queued:
                self._count_deleted(client, server, replies[:queued], pending)
            pending = []
            if finished:
                break
            reply = replies[-1]
            if isinstance(reply, Exception):
                raise reply
            cursor, keys = reply
            cursor = int(cursor)
            finished = cursor == 0
            keys = self._wanted(keys)
            self._note(server, keys)
            if not self.check_mode:
                pending = keys
        return server

    def script_node(self, client, server):
        """SCAN + UNLINK one time slice per call of a server-side script; key names stay on the server.

        The first call runs one batch and tells whether a clock moves inside the script: TIME on Redis 7.0,
        os.clock() on Valkey 8.1 (whose TIME stands still in a script). Where one does, the script itself ends each
        call after the slice. Where none does, the number of batches per call is sized from the duration of the
        calls, timed here (round trip included, so on the safe side): the slice divided by the slowest recent batch.
        """
        script = client.register_script(CLUSTER_BATCH_SCRIPT if self.is_cluster else BATCH_SCRIPT)
        match = to_bytes(self.spec.pattern)
        slice_us = int(self.spec.slice_ms * 1000) if not self.spec.max_rate else 0
        cap = batches_per_call(self.spec.slice_ms, self.spec.batch_size, self.spec.max_rate)
        batches = 1
        per_batch = None
        cursor = b'0'
        first = True
        while True:
            room = max(self.spec.sample_size - len(self.samples), 0)
            before = self.clock()
            try:
                reply = script(args=[cursor, match, self.spec.batch_size, room, self.command, slice_us, batches])
            except LOST_CONNECTION:
                raise
            except Exception as exc:  # pylint: disable=broad-except
                text = str(exc).lower()
                if self.command == 'UNLINK' and 'unknown' in text and 'from' in text and 'script' in text:
                    self.command = 'DEL'  # Redis < 4: the script ran, but knows no UNLINK
                    continue
                if first:
                    raise ScriptUnavailable(str(exc))
                raise
            took = self.clock() - before
            first = False
            cursor, found, deleted, sample = reply[:4]
            found, deleted = int(found), int(deleted)
            self.matched += found
            server['matched'] += found
            if room and sample:
                self.samples.extend(sample[:room])
            self.deleted += deleted
            server['deleted'] += deleted
            self.limiter.add(deleted)
            if int(cursor) == 0:
                return server
            if cap > 1:
                ran, timed = (int(reply[4]), int(reply[5])) if len(reply) > 5 else (batches, 1)
                if timed:
                    batches = cap  # the script's own clock ends the call after the slice
                else:
                    one = took / max(ran, 1)
                    # the slowest recent batch counts at once; a faster one only halfway
                    per_batch = one if per_batch is None else max(one, (per_batch + one) / 2.0)
                    batches = max(1, min(cap, int(self.spec.slice_ms / 1000.0 / per_batch + 1e-6))) if per_batch > 0 else cap

    def index_purge(self, client, server):
        """Delete the members of each user's index set that exist and match the pattern."""
        for user_id in self.spec.user_ids:
            index_key = to_bytes(self.spec.user_index.replace(USER_ID_PLACEHOLDER, str(user_id)))
            cursor = 0
            while True:
                cursor, members = client.sscan(index_key, cursor=cursor, count=self.spec.batch_size)
                cursor = int(cursor)
                members = [m for m in members if self.pattern_re.match(to_bytes(m))]
                if members:
                    members = [to_bytes(m) for m in members]
                    # only keys that exist count as matched, in check mode and for real
                    pipe = client.pipeline(transaction=False)
                    for member in members:
                        pipe.exists(member)
                    exists = pipe.execute()
                    present = [m for m, e in zip(members, exists) if int(e)]
                    self._note(server, present)
                    if present and not self.check_mode:
                        pipe = client.pipeline(transaction=False)
                        if self.is_cluster:
                            for key in present:  # members may live on any node
                                pipe.execute_command(self.command, key)
                        else:
                            pipe.execute_command(self.command, *present)
                        self._count_deleted(client, server, pipe.execute(raise_on_error=False), present)
                if cursor == 0:
                    break
        return server

    def run(self, nodes, index_client=None, index_name=None):
        """Purge on every (name, client) node; with user_index, through ``index_client``.

        Raises PurgeAborted (with the result so far) when a server fails part-way.
        """
        self.started = self.clock()
        if self.spec.user_index is not None:
            work = [(index_name or nodes[0][0], index_client or nodes[0][1], self.index_purge)]
        else:
            work = [(name, client, self.purge_node) for name, client in nodes]
        for name, client, step in work:
            server = dict(server=name, matched=0, deleted=0)
            self.servers.append(server)
            try:
                step(client, server)
            except LOST_CONNECTION as exc:
                raise PurgeAborted('lost the connection to %s after deleting %d keys (%s); run the task again to '
                                   'finish the purge' % (name, self.deleted, exc), self.result(), server=name)
            except Exception as exc:  # pylint: disable=broad-except
                text = str(exc)
                hint = ''
                if 'noperm' in text.lower() or 'no permissions' in text.lower():
                    hint = ' (the user named by username needs +scan +unlink +exists +sscan on these keys)'
                elif 'wrongtype' in text.lower():
                    hint = ' (user_index must name a set of key names)'
                raise PurgeAborted('purge failed on %s after deleting %d keys: %s%s'
                                   % (name, self.deleted, text, hint), self.result(), server=name)
        return self.result()
