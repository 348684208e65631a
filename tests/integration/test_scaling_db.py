# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scaling role's database procedures against the lab: a real new streaming replica of
the lab primary (pg_basebackup into a scratch directory under lab/.state, a spare port), and
PgBouncer's pool size changed through its configuration file and RELOAD.

Every test leaves the lab as it found it: the scratch replica is removed (finally) and the
original pool size is restored.
"""

import json
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from conftest import LAB, LAB_HOST as HOST, ROOT, lab_port, pg_query, run_playbook

PRIMARY = lab_port('postgres_primary')
PG_CTL = '/usr/lib/postgresql/15/bin/pg_ctl'
PGBOUNCER_INI = ROOT / 'lab' / '.state' / 'pgbouncer' / 'pgbouncer.ini'


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def listening(port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def query(sql, params=None, port='postgres_primary'):
    return pg_query(sql, params, port=port, application_name='itest-scaling-db')


def pgbouncer_admin(sql):
    """A command on PgBouncer's admin console, as the operator role."""
    return pg_query(sql, port='pgbouncer', role='operator', dbname='pgbouncer', application_name=None)


def report(tmp_path, kind):
    return json.loads((tmp_path / ('%s-local-latest.json' % kind)).read_text())


def by_check(rep, name):
    return [c for c in rep['checks'] if c['check'] == name]


# ---- read replica ------------------------------------------------------------------------

@pytest.fixture
def scratch_replica():
    """A replica definition of its own (name, spare port, scratch data directory); torn down always."""
    name = 'itest-replica-%s' % uuid.uuid4().hex[:6]
    parent = ROOT / 'lab' / '.state' / 'scaling-replicas' / name
    replica = {'name': name, 'host': HOST, 'port': free_port(), 'data_dir': str(parent / 'data')}
    yield replica
    if (parent / 'data' / 'PG_VERSION').exists():
        subprocess.run(['runuser', '-u', 'postgres', '--', PG_CTL, '-D', str(parent / 'data'), '-m', 'immediate',
                        '-w', 'stop'], capture_output=True, check=False)
    shutil.rmtree(parent, ignore_errors=True)


def run(playbook, tmp_path, check=False, env=None, **extra):
    extra.setdefault('scaling_report_dir', str(tmp_path))
    return run_playbook('playbooks/%s.yml' % playbook, extra_vars=extra, check=check, json_output=False, env=env)


def test_read_replica_added_streams_then_is_removed(tmp_path, scratch_replica):
    replica = scratch_replica
    password = LAB['postgres']['replicator']['password']
    # at -vvv Ansible prints each command line with its environment: the password must not be there
    rc, output = run('scale_read_replica_add', tmp_path, env={'ANSIBLE_VERBOSITY': '3'}, scaling_read_replica=replica)
    assert rc == 0, output
    assert password not in output and 'PGPASSWORD' not in output
    # the replica authenticates with a password file only its server's user can read
    passfile = ROOT / replica['data_dir'] / '..' / ('%s.pgpass' % replica['name'])
    assert oct(passfile.stat().st_mode & 0o777) == '0o600'
    auto_conf = (ROOT / replica['data_dir'] / 'postgresql.auto.conf').read_text()
    assert 'passfile=' in auto_conf and password not in auto_conf
    rep = report(tmp_path, 'scale-read-replica-add')
    assert rep['overall'] in ('OK', 'WARN'), rep
    assert by_check(rep, 'read_replica.recovery')[0]['status'] == 'OK'
    streaming = by_check(rep, 'read_replica.streaming')[0]
    assert streaming['detail']['state'] == 'streaming'
    assert 0 <= streaming['detail']['lag_bytes'] < 16 * 1024 * 1024

    # independently: the new server is a replica, and the primary streams to it by name
    assert query('SELECT pg_is_in_recovery()', port=replica['port'])[0][0] is True
    rows = query('SELECT state FROM pg_stat_replication WHERE application_name = %s', (replica['name'],))
    assert rows == [('streaming',)]
    # and it really replicates: a row written on the primary arrives
    marker = query("SELECT pg_current_wal_lsn()::text")[0][0]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if query('SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn', (marker,), port=replica['port'])[0][0]:
            break
        time.sleep(0.5)
    else:
        pytest.fail('the new replica did not replay the primary WAL position %s' % marker)

    rc, output = run('scale_read_replica_verify', tmp_path, scaling_read_replica=replica)
    assert rc == 0, output
    assert report(tmp_path, 'scale-read-replica-verify')['overall'] in ('OK', 'WARN')

    # adding the same replica again is refused, naming what is in the way
    rc, output = run('scale_read_replica_add', tmp_path, scaling_read_replica=replica)
    assert rc != 0
    assert 'already streams from the primary' in output and 'nothing was changed' in output

    # removal needs the explicit confirmation
    rc, output = run('scale_read_replica_remove', tmp_path, scaling_read_replica=replica)
    assert rc != 0
    assert 'scaling_read_replica_remove_confirm' in output and 'nothing was changed' in output
    assert listening(replica['port'])

    rc, output = run('scale_read_replica_remove', tmp_path, scaling_read_replica=replica,
                     scaling_read_replica_remove_confirm=True)
    assert rc == 0, output
    rep = report(tmp_path, 'scale-read-replica-remove')
    assert rep['overall'] == 'OK', rep
    assert not listening(replica['port'])
    assert query('SELECT count(*) FROM pg_stat_replication WHERE application_name = %s', (replica['name'],)) == [(0,)]
    assert not (ROOT / replica['data_dir']).exists()
    assert not passfile.exists()


def test_read_replica_add_in_check_mode_creates_nothing(tmp_path, scratch_replica):
    replica = scratch_replica
    rc, output = run('scale_read_replica_add', tmp_path, check=True, scaling_read_replica=replica)
    assert rc == 0, output
    assert not listening(replica['port'])
    assert not (ROOT / replica['data_dir']).exists()
    assert query('SELECT count(*) FROM pg_stat_replication WHERE application_name = %s', (replica['name'],)) == [(0,)]


def test_read_replica_add_refuses_a_port_in_use(tmp_path, scratch_replica):
    replica = dict(scratch_replica, port=PRIMARY)
    rc, output = run('scale_read_replica_add', tmp_path, scaling_read_replica=replica)
    assert rc != 0
    assert 'scaling_read_replica.port: %s:%d is in use' % (HOST, PRIMARY) in output
    assert not (ROOT / replica['data_dir']).exists()


def test_read_replica_remove_refuses_the_lab_replica_data_dir_mismatch_and_the_primary(tmp_path):
    primary_data = str(ROOT / 'lab' / '.state' / 'postgres-primary' / 'data')
    rc, output = run('scale_read_replica_remove', tmp_path, scaling_read_replica_remove_confirm=True,
                     scaling_read_replica={'name': 'primary', 'host': HOST, 'port': PRIMARY, 'data_dir': primary_data})
    assert rc != 0
    assert 'is the primary' in output and 'has no standby.signal' in output and 'nothing was changed' in output
    assert listening(PRIMARY)


def test_read_replica_rejects_a_definition_without_a_port(tmp_path):
    rc, output = run('scale_read_replica_add', tmp_path, scaling_read_replica={'name': 'x', 'host': HOST, 'data_dir': '/tmp/x'})
    assert rc != 0
    assert 'port' in output and 'scaling_read_replica' in output


# ---- PgBouncer pool size -----------------------------------------------------------------

def show_pool_size():
    rows = pgbouncer_admin('SHOW CONFIG')
    return int([row for row in rows if row[0] == 'default_pool_size'][0][1])


@pytest.fixture
def pgbouncer_restored():
    original_ini = PGBOUNCER_INI.read_text()
    original = show_pool_size()
    yield original
    if PGBOUNCER_INI.read_text() != original_ini:
        PGBOUNCER_INI.write_text(original_ini)
    if show_pool_size() != original:
        pgbouncer_admin('RELOAD')
    assert show_pool_size() == original


def test_pool_size_changed_verified_then_restored(tmp_path, pgbouncer_restored):
    original = pgbouncer_restored
    new = original + 7
    rc, output = run('scale_pgbouncer_pool', tmp_path, scaling_pgbouncer_pool_size=new)
    assert rc == 0, output
    rep = report(tmp_path, 'scale-pgbouncer-pool')
    assert rep['overall'] == 'OK'
    assert rep['actions'][0]['before'] == original and rep['actions'][0]['after'] == new
    assert show_pool_size() == new
    assert 'default_pool_size = %d' % new in PGBOUNCER_INI.read_text()

    rc, output = run('scale_pgbouncer_pool', tmp_path, scaling_pgbouncer_pool_size=original)
    assert rc == 0, output
    assert show_pool_size() == original
    # idempotent: the same size again changes nothing
    rc, output = run('scale_pgbouncer_pool', tmp_path, scaling_pgbouncer_pool_size=original)
    assert rc == 0, output
    assert report(tmp_path, 'scale-pgbouncer-pool')['actions'] == []


def test_pool_size_in_check_mode_changes_nothing(tmp_path, pgbouncer_restored):
    original = pgbouncer_restored
    before = PGBOUNCER_INI.read_text()
    rc, output = run('scale_pgbouncer_pool', tmp_path, check=True, scaling_pgbouncer_pool_size=original + 3)
    assert rc == 0, output
    assert report(tmp_path, 'scale-pgbouncer-pool')['actions'][0]['summary'].startswith('would set')
    assert PGBOUNCER_INI.read_text() == before
    assert show_pool_size() == original


@pytest.mark.parametrize('size', [0, 100000])
def test_pool_size_out_of_range_fails_naming_it_before_anything_changes(tmp_path, pgbouncer_restored, size):
    before = PGBOUNCER_INI.read_text()
    rc, output = run('scale_pgbouncer_pool', tmp_path, scaling_pgbouncer_pool_size=size)
    assert rc != 0
    assert 'scaling_pgbouncer_pool_size: %d is out of range 1..500' % size in output
    assert PGBOUNCER_INI.read_text() == before
    assert show_pool_size() == pgbouncer_restored
