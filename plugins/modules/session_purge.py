#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: session_purge
short_description: Delete Redis session keys by pattern or by user without blocking the server
version_added: 0.1.0
description:
  - Deletes the keys matching a glob O(pattern) (by default every C(session:*) key, which logs every user out),
    or only the sessions of the users listed in O(user_ids).
  - Walks the keyspace with C(SCAN) and deletes each batch with C(UNLINK) (C(DEL) on servers older than Redis 4),
    sending the deletion of one batch together with the request for the next one. C(KEYS) is never used, so
    the server keeps answering other clients during the purge; only one batch of key names is held in memory.
  - Key names are handled as bytes, so names with spaces, quotes, newlines, glob characters or bytes that are not
    UTF-8 are deleted when they match.
  - With O(cluster=true) the purge runs on every primary node of the Redis Cluster.
  - A key that does not match O(pattern) is never deleted. If the connection is lost part-way the task fails and
    reports how many keys it had deleted; running it again finishes the job.
author:
  - ClickView Platform Team (@clickview)
extends_documentation_fragment:
  - clickview.runbook.redis
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Counts the matching keys and returns a few sample names; deletes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Shows the number of matching keys before and after.
options:
  pattern:
    description:
      - Glob pattern (Redis C(MATCH) syntax) of the keys to delete.
      - The pattern must start with a literal prefix before its first glob character (C(*), C(?) or C([)),
        as V(session:*) does. A pattern without one, such as V(*), V(*:*), V([^]*), V([!-~]*) or the empty
        string, can match every key in the database and is refused unless O(allow_all=true).
      - With O(user_ids), a key is deleted only if it matches this pattern as well as the user's key pattern.
    type: str
    default: 'session:*'
  allow_all:
    description:
      - Allow a O(pattern) without a literal prefix, which can match every key in the database.
    type: bool
    default: false
  user_ids:
    description:
      - Delete only the sessions of these users (for example the accounts of a security incident);
        other users' sessions stay.
      - Each user's keys are found by scanning for O(user_key_pattern), or through the user's index set
        when O(user_index) is given.
      - Glob characters in a user id are escaped, so an id only ever matches itself.
    type: list
    elements: str
  user_key_pattern:
    description:
      - Glob pattern of one user's session keys, with the literal placeholder C({user_id}).
      - The default fits session keys named C(session:<session id>-<user id>).
      - Used with O(user_ids) when O(user_index) is not given.
    type: str
    default: 'session:*-{user_id}'
  user_index:
    description:
      - Name of a per-user set that lists the names of the user's session keys, with the literal placeholder
        C({user_id}), for example V(user_sessions:{user_id}).
      - When given with O(user_ids), the members of each user's set that exist and match O(pattern) are deleted,
        without scanning the keyspace. The index set itself is left alone.
    type: str
  batch_size:
    description:
      - Number of keys examined by each C(SCAN) call (its C(COUNT)), and so the size of each deletion.
      - Larger batches are faster; each call blocks the server a little longer (about 1 ms per 1000 keys).
    type: int
    default: 1000
  max_rate:
    description:
      - Upper limit of deleted keys per second, to cap the extra load on a busy primary and its replicas.
      - No limit when omitted. With a limit, each server-side call runs a single batch (see O(slice_ms)).
    type: int
  slice_ms:
    description:
      - With the server-side script (see O(use_script)), how long one call keeps working, in milliseconds,
        before it returns and lets other clients in. A call repeats C(SCAN) batches of O(batch_size) keys
        and their C(UNLINK) until this much time has passed, so it blocks the server for about this long
        plus one batch.
      - Longer slices need fewer round trips and finish sooner; V(0) runs one batch per call. At most 50.
      - Valkey 8.1's C(TIME) does not advance inside a script; there the script measures its slice in the server's
        CPU time (Lua's C(os.clock)). On a server where neither clock moves inside a script, the module times the
        calls itself and gives each call as many batches as fit in the slice.
    type: float
    default: 4
  use_script:
    description:
      - Run the batches (each one C(SCAN) and the C(UNLINK) of what it found) in a small Lua script on the server,
        one time slice per call (see O(slice_ms)), so key names never travel to the module. This is the fastest
        way, and each call still blocks the server only for about one slice.
      - Used for a real purge by O(pattern). Check mode, O(user_ids), and servers that refuse the script
        (for example an ACL user without C(+evalsha) and C(+eval), or Redis Cluster older than 7) use C(SCAN)
        and C(UNLINK) commands sent from the module, pipelined.
      - The script needs the C(SCAN) and C(UNLINK) permissions as well; see RV(method) for the way used.
    type: bool
    default: true
seealso:
  - name: SCAN
    description: How SCAN walks the keyspace and what it guarantees.
    link: https://redis.io/docs/latest/commands/scan/
  - name: UNLINK
    description: Deleting keys with the memory reclaimed in the background.
    link: https://redis.io/docs/latest/commands/unlink/
"""

EXAMPLES = r"""
- name: Count the sessions a purge would delete (nothing is deleted)
  clickview.runbook.session_purge:
    host: redis.internal
    password: "{{ redis_password }}"
  check_mode: true
  register: would_purge

- name: Log every user out
  clickview.runbook.session_purge:
    host: redis.internal
    password: "{{ redis_password }}"
    pattern: "session:*"

- name: Log out the compromised accounts only, scanning for their keys
  clickview.runbook.session_purge:
    url: "rediss://ops:{{ redis_password }}@redis.internal:6380/0"
    ca_certs: /etc/pki/clickview/redis-ca.pem
    user_ids:
      - "4711"
      - "4712"

- name: Log out one account through the per-user index set, no keyspace scan
  clickview.runbook.session_purge:
    host: redis.internal
    username: ops
    password: "{{ redis_password }}"
    user_ids: ["4711"]
    user_index: "user_sessions:{user_id}"

- name: Purge on every primary of a Redis Cluster, at most 20000 keys a second
  clickview.runbook.session_purge:
    host: redis-cluster-0.internal
    port: 7000
    cluster: true
    password: "{{ redis_password }}"
    batch_size: 500
    max_rate: 20000

- name: Purge through the local unix socket
  clickview.runbook.session_purge:
    unix_socket: /run/redis/redis-server.sock
    db: 2
"""

RETURN = r"""
matched:
  description:
    - Number of matching keys found. In check mode, the number that would be deleted.
    - SCAN may return a key twice while the server resizes its tables, so this can slightly exceed the real count.
  returned: always
  type: int
  sample: 1000000
deleted:
  description:
    - Number of keys deleted (as counted by the server). Always V(0) in check mode.
    - When the task fails part-way, the keys the server had confirmed deleted; the batch in flight may be gone too.
  returned: always
  type: int
  sample: 1000000
elapsed:
  description: Seconds spent purging, connection set-up excluded.
  returned: always
  type: float
  sample: 1.21
keys_per_second:
  description: Keys deleted per second (keys matched per second in check mode).
  returned: always
  type: int
  sample: 826446
servers:
  description: The servers touched (one per cluster primary), with their own counts.
  returned: always
  type: list
  elements: dict
  contains:
    server:
      description: The server, as C(host:port), C(unix:path) or the URL without credentials.
      type: str
      sample: 10.0.0.5:6379
    matched:
      description: Matching keys found on this server.
      type: int
      sample: 333412
    deleted:
      description: Keys deleted on this server.
      type: int
      sample: 333412
  sample: [{"server": "10.0.0.5:6379", "matched": 1000000, "deleted": 1000000}]
samples:
  description:
    - Up to five names of matching keys, as text. Bytes that are not UTF-8 and control characters are written as
      backslash escapes (C(\\xff), C(\\n)), a backslash stays a backslash.
  returned: always
  type: list
  elements: str
  sample: ["session:000017-42", "session:000018-42"]
command:
  description: The deletion command used, C(UNLINK), or C(DEL) on a server older than Redis 4.
  returned: always
  type: str
  sample: UNLINK
method:
  description:
    - How the keys were found and deleted, V(script) (one server-side script per batch) or V(pipeline)
      (C(SCAN) and C(UNLINK) commands from the module). See O(use_script).
  returned: always
  type: str
  sample: script
pattern:
  description: The pattern purged.
  returned: always
  type: str
  sample: "session:*"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.clickview.runbook.plugins.module_utils.common import fail
from ansible_collections.clickview.runbook.plugins.module_utils.redis_client import (
    HAS_REDIS,
    REDIS_IMPORT_ERROR,
    REDIS_MUTUALLY_EXCLUSIVE,
    REDIS_REQUIRED_BY,
    RedisConnectError,
    connect,
    redis_argument_spec,
    validate_connection_params,
)
from ansible_collections.clickview.runbook.plugins.module_utils.redis_purge import (
    DEFAULT_PATTERN,
    DEFAULT_USER_KEY_PATTERN,
    PurgeAborted,
    PurgeInputError,
    Purger,
    PurgeSpec,
)


def build_diff(pattern, result, check_mode):
    servers = ', '.join(s['server'] for s in result['servers'])
    before = dict(pattern=pattern, servers=servers, matching_keys=result['matched'])
    remaining = 0 if check_mode else max(result['matched'] - result['deleted'], 0)
    after = dict(pattern=pattern, servers=servers, matching_keys=remaining)
    return dict(before=before, after=after)


def main():
    argument_spec = redis_argument_spec()
    argument_spec.update(
        pattern=dict(type='str', default=DEFAULT_PATTERN),
        allow_all=dict(type='bool', default=False),
        user_ids=dict(type='list', elements='str'),
        user_key_pattern=dict(type='str', default=DEFAULT_USER_KEY_PATTERN, no_log=False),
        user_index=dict(type='str'),
        batch_size=dict(type='int', default=1000),
        max_rate=dict(type='int'),
        use_script=dict(type='bool', default=True),
        slice_ms=dict(type='float', default=4),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=REDIS_MUTUALLY_EXCLUSIVE,
        required_by=REDIS_REQUIRED_BY,
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, pattern=params['pattern'], matched=0, deleted=0, elapsed=0.0,
                  keys_per_second=0, servers=[], samples=[], command='UNLINK', method='pipeline')

    spec = PurgeSpec(
        pattern=params['pattern'],
        user_ids=params['user_ids'],
        user_key_pattern=params['user_key_pattern'],
        user_index=params['user_index'],
        batch_size=params['batch_size'],
        max_rate=params['max_rate'],
        allow_all=params['allow_all'],
        use_script=params['use_script'],
        slice_ms=params['slice_ms'],
    )
    # every input is checked before anything is contacted
    try:
        spec.validate()
        validate_connection_params(params)
    except (PurgeInputError, RedisConnectError) as exc:
        fail(module, exc, **result)

    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib('redis'), exception=REDIS_IMPORT_ERROR, **result)

    try:
        target = connect(params)
    except RedisConnectError as exc:
        fail(module, exc, **result)

    try:
        purger = Purger(spec, check_mode=module.check_mode, is_cluster=target.is_cluster)
        nodes = [] if spec.user_index is not None else target.nodes()
        outcome = purger.run(nodes, index_client=target.client, index_name=target.name)
    except PurgeAborted as exc:
        result.update(exc.result)
        result['changed'] = result['deleted'] > 0
        module.fail_json(msg=exc.msg, server=exc.server, **result)
    finally:
        target.close()

    result.update(outcome)
    result['changed'] = (result['matched'] if module.check_mode else result['deleted']) > 0
    if module._diff:
        result['diff'] = build_diff(params['pattern'], result, module.check_mode)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
