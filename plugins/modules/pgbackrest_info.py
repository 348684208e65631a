#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pgbackrest_info
short_description: Backups, WAL archive and the restorable time window of a pgBackRest stanza
version_added: 0.1.0
description:
  - Reads C(pgbackrest info --output=json) for one stanza and returns every backup with its type, start and stop
    time, duration, sizes and WAL range, the WAL range of the archive, and the restorable window of
    point-in-time targets - the answer to "what can I restore to?".
  - The window starts at the stop time of the oldest backup and ends at the last transaction (commit or abort)
    found in the archived WAL. To find that transaction the module fetches the newest archived segments with
    C(pgbackrest archive-get) into a private temporary folder and reads them with C(pg_waldump). This needs
    O(pg_bin_dir) and must run on the database host, as the cluster's owner, like every pgBackRest command
    that reads C(pg1-path).
  - With O(target_time), also checks that a point-in-time restore can reach that time and fails, naming the
    window, when it cannot. Nothing is restored.
  - Fails, naming the problem, when the repository is unreachable (host, TLS, credentials, bucket) or the stanza
    does not exist (unless O(require_stanza=false)).
  - Read-only. Never changes the repository or the cluster.
author:
  - ClickView Platform Team (@clickview)
attributes:
  check_mode:
    support: full
    description: Runs the same read-only commands in check mode.
  diff_mode:
    support: none
    description: Reads only; there is nothing to diff.
options:
  stanza:
    description:
      - The pgBackRest stanza (one per PostgreSQL cluster).
    type: str
    required: true
  config:
    description:
      - pgBackRest configuration file (C(--config)). Omit to use pgBackRest's default location.
    type: path
  pgbackrest_bin:
    description:
      - The pgbackrest executable.
    type: path
    default: pgbackrest
  require_stanza:
    description:
      - Fail when the stanza does not exist in the repository. With V(false), return RV(exists=false) instead
        (used before C(stanza-create)).
    type: bool
    default: true
  pg_bin_dir:
    description:
      - Folder of the PostgreSQL binaries, for C(pg_waldump). Omit to skip the latest-transaction lookup (the
        window then has no end, and O(target_time) always fails).
    type: path
  wal_scan_segments:
    description:
      - How many of the newest archived WAL segments to read, newest first, looking for the last transaction.
    type: int
    default: 4
  target_time:
    description:
      - A recovery target time to check against the window, such as V(2025-01-15 10:30:00) or
        V(2025-01-15T10:30:00+01:00). Without an offset it is read in O(timezone).
    type: str
  timezone:
    description:
      - Time zone of a O(target_time) given without an offset; V(UTC) or an offset such as V(+01:00).
    type: str
    default: UTC
  timeout:
    description:
      - Seconds allowed for each pgBackRest or pg_waldump command.
    type: int
    default: 120
notes:
  - Time stamps are returned in UTC, ISO 8601.
  - The window assumes the WAL archive is continuous from the oldest backup; C(pgbackrest check) and the
    C(backup_verify) playbook are what prove that.
seealso:
  - name: pgBackRest command reference
    description: The info, archive-get and restore commands.
    link: https://pgbackrest.org/command.html
'''

EXAMPLES = r'''
- name: What can I restore to?
  clickview.runbook.pgbackrest_info:
    stanza: clickview
    config: /etc/pgbackrest/pgbackrest.conf
    pg_bin_dir: /usr/lib/postgresql/15/bin
  become: true
  become_user: postgres
  register: backups

- name: Refuse a restore target outside the window, before anything is stopped
  clickview.runbook.pgbackrest_info:
    stanza: clickview
    pg_bin_dir: /usr/lib/postgresql/15/bin
    target_time: "2025-01-15 10:30:00"
  become: true
  become_user: postgres

- name: Does the stanza exist yet?
  clickview.runbook.pgbackrest_info:
    stanza: clickview
    require_stanza: false
  become: true
  become_user: postgres
  register: stanza
'''

RETURN = r'''
stanza:
  description: The stanza.
  returned: always
  type: str
  sample: clickview
exists:
  description: Whether the stanza exists in the repository.
  returned: success
  type: bool
  sample: true
status:
  description: pgBackRest's status of the stanza (0 ok, 1 missing stanza path, 2 no valid backups, ...).
  returned: success
  type: dict
  sample: {code: 0, message: ok}
backups:
  description: Every backup in the repository, oldest first.
  returned: success
  type: list
  elements: dict
  contains:
    label:
      description: "Backup label"
      type: str
      returned: always
      sample: 20250115-020000F_20250116-020000I
    type:
      description: "V(full), V(diff) or V(incr)."
      type: str
      returned: always
    prior:
      description: "Label of the backup this one depends on, or null."
      type: str
      returned: always
    start:
      description: "Start time (UTC)."
      type: str
      returned: always
      sample: "2025-01-16T02:00:00Z"
    stop:
      description: "Stop time (UTC); the backup is consistent from here."
      type: str
      returned: always
    duration_seconds:
      description: "stop - start."
      type: float
      returned: always
    size_bytes:
      description: "Size of the database at backup time."
      type: int
      returned: always
    delta_bytes:
      description: "Bytes copied by this backup."
      type: int
      returned: always
    repo_size_bytes:
      description: "Size in the repository (compressed) including referenced files."
      type: int
      returned: always
    repo_delta_bytes:
      description: "Bytes this backup added to the repository."
      type: int
      returned: always
    wal_start:
      description: "First WAL segment the backup needs."
      type: str
      returned: always
    wal_stop:
      description: "Last WAL segment the backup needs."
      type: str
      returned: always
    lsn_start:
      description: "Start LSN."
      type: str
      returned: always
    lsn_stop:
      description: "Stop LSN."
      type: str
      returned: always
    error:
      description: "Whether pgBackRest found page checksum errors in the backup."
      type: bool
      returned: always
archive:
  description: WAL range in the archive of the current database.
  returned: success
  type: dict
  sample: {min: "000000010000000000000002", max: "000000010000000000000009"}
latest_transaction:
  description: Time of the last commit or abort found in the archived WAL, or null.
  returned: success
  type: str
  sample: "2025-01-16T09:59:58.123456Z"
latest_backup:
  description: The newest backup without errors (an element of RV(backups)), or null.
  returned: success
  type: dict
window:
  description: The restorable window of point-in-time targets.
  returned: success
  type: dict
  contains:
    earliest:
      description: "Stop time of the oldest backup; targets must be later."
      type: str
      returned: always
    latest:
      description: "Last archived transaction; targets must be earlier."
      type: str
      returned: always
    latest_backup_stop:
      description: "Stop time of the newest backup."
      type: str
      returned: always
    point_in_time:
      description: "Whether any point-in-time target is restorable."
      type: bool
      returned: always
target:
  description: The checked O(target_time), normalised.
  returned: when O(target_time) is given and restorable
  type: dict
  sample: {requested: "2025-01-15 10:30:00", time: "2025-01-15T10:30:00Z", recovery_target_time: "2025-01-15 10:30:00+00"}
problem:
  description: Short name of the failure (V(repository_unreachable), V(repository_tls), V(repository_access),
    V(stanza_missing), V(target_time_unparseable), V(target_before_earliest), V(target_after_latest), ...).
  returned: failure
  type: str
  sample: target_after_latest
'''

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.clickview.runbook.plugins.module_utils.common import fail
from ansible_collections.clickview.runbook.plugins.module_utils.pgbackrest import (
    PgBackRestError, TargetError, base_command, info_report)


def argument_spec():
    return dict(
        stanza=dict(type='str', required=True),
        config=dict(type='path'),
        pgbackrest_bin=dict(type='path', default='pgbackrest'),
        require_stanza=dict(type='bool', default=True),
        pg_bin_dir=dict(type='path'),
        wal_scan_segments=dict(type='int', default=4),
        target_time=dict(type='str'),
        timezone=dict(type='str', default='UTC'),
        timeout=dict(type='int', default=120),
    )


class Runner:
    """Runs commands through AnsibleModule.run_command with a time limit and TZ=UTC."""

    def __init__(self, module):
        self.module = module
        self.timeout = module.params['timeout']

    def run(self, argv):
        timeout = ['timeout', str(self.timeout)] if self.timeout > 0 else []
        return self.module.run_command(timeout + argv, environ_update={'TZ': 'UTC'})

    def waldump_reader(self, folder):
        params = self.module.params
        pg_waldump = os.path.join(params['pg_bin_dir'], 'pg_waldump')
        getter = base_command(params['pgbackrest_bin'], params['config'], params['stanza'])

        def read(segment):
            dest = os.path.join(folder, segment)
            rc, _out, err = self.run(getter + ['archive-get', segment, dest])
            if rc != 0 or not os.path.exists(dest):
                return None, 'archive-get %s failed (exit %s): %s' % (segment, rc, err.strip()[-300:])
            # pg_waldump ends with an error at the end of the valid WAL: expected, and its output is complete
            _rc, out, _err = self.run([pg_waldump, '--path', folder, segment])
            os.unlink(dest)
            return out, None
        return read


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if params['wal_scan_segments'] < 1:
        module.fail_json(msg='wal_scan_segments must be 1 or more, got %d' % params['wal_scan_segments'],
                         stanza=params['stanza'], problem='bad_parameter')
    runner = Runner(module)
    folder = tempfile.mkdtemp(prefix='pgbackrest-info-') if params['pg_bin_dir'] else None
    try:
        result = info_report(
            runner.run, params['pgbackrest_bin'], params['config'], params['stanza'],
            require_stanza=params['require_stanza'],
            waldump=runner.waldump_reader(folder) if folder else None,
            scan_segments=params['wal_scan_segments'], target_time=params['target_time'],
            default_timezone=params['timezone'], timeout=params['timeout'])
    except TargetError as exc:
        found = getattr(exc, 'result', {})
        module.fail_json(msg='target_time: %s' % to_native(exc), stanza=params['stanza'], problem=exc.problem,
                         window=found.get('window'), latest_transaction=found.get('latest_transaction'))
    except PgBackRestError as exc:
        fail(module, exc, stanza=params['stanza'])
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    for warning in result.pop('warnings'):
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
