# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""alert_response: Database Connection Pool Exhausted, Disk Space Low and SSL Certificate Expiring, against the lab.

Faults are injected by the tests and scoped to them: long queries carry an application_name unique
to the test (and the playbook is told to select only that name), bloat is made in a table of the
test's own, the expiring certificate is served by a TLS server of the test's own on a free port.
Reports go to tmp_path; everything created is removed on teardown.
"""

import datetime
import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import psycopg2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import (PG_BIN, Cluster, free_port, http_json, lab_config, lab_url, pg_connect, pg_query, run_module, run_playbook,
                      wait_until)

LAB = lab_config()
HOST = LAB['host']
APP = LAB['postgres']['app']
SUPER = LAB['postgres']['superuser']
SINK = 'http://%s:%d' % (HOST, LAB['services']['webhook_sink']['port'])


def connect(role=APP, app='itest-alert-observer'):
    return pg_connect(role, application_name=app)


def query(sql, params=None, role=SUPER):
    return pg_query(sql, params, role=role, application_name='itest-alert-observer')


def alive(pids):
    return set(r[0] for r in query('SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)', (list(pids),)))


def received(path, needle):
    with urllib.request.urlopen('%s/_received?path=%s' % (SINK, path), timeout=10) as resp:
        return [r['body'] for r in json.load(resp) if needle in json.dumps(r['body'])]


def report(folder, slug):
    with open(str(folder / ('alert-%s-local-latest.json' % slug)), encoding='utf-8') as handle:
        return json.load(handle)


def finding(rep, check):
    return [f for f in rep['findings'] if f['check'] == check]


def alert(name, tmp_path, check=False, **extra):
    extra_vars = dict(clickview_report_dir=str(tmp_path), clickview_incident_dir=str(tmp_path / 'incidents'))
    extra_vars.update(extra)
    rc, out = run_playbook('playbooks/alert_%s.yml' % name, extra_vars=extra_vars, check=check)
    return rc, out


class Sleepers(object):
    """Backends running pg_sleep under an application_name unique to the test."""

    def __init__(self):
        self.prefix = 'itest-alert-%s' % uuid.uuid4().hex[:8]
        self.conns = []

    def start(self, suffix, count=1):
        pids = []
        for _index in range(count):
            conn = connect(app='%s-%s' % (self.prefix, suffix))
            self.conns.append(conn)
            pid = conn.get_backend_pid()

            def work(c=conn):
                try:
                    with c.cursor() as cur:
                        cur.execute('SELECT pg_sleep(600)')
                except psycopg2.Error:
                    pass
            threading.Thread(target=work, daemon=True).start()
            pids.append(pid)
        deadline = time.time() + 10
        while time.time() < deadline:
            rows = query("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) AND state = 'active'", (pids,))
            if rows[0][0] == len(pids):
                return pids
            time.sleep(0.2)
        raise AssertionError('sleepers did not start')

    def close(self):
        query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
              (self.prefix + '%',))
        for conn in self.conns:
            try:
                conn.close()
            except psycopg2.Error:
                pass


@pytest.fixture
def sleepers():
    s = Sleepers()
    yield s
    s.close()


def pool_vars(sleepers, **extra):
    # waiting queries are counted over the whole (shared) lab: other runs' sleepers must not make it FAIL
    extra_vars = dict(alert_response_long_query_min_duration='1s',
                      alert_response_pool_thresholds={'connections_pct': {'warn': 75, 'fail': 90},
                                                      'waiting_queries': {'warn': 1, 'fail': 1000},
                                                      'long_queries': {'warn': 1, 'fail': 10},
                                                      'pgbouncer_waiting_clients': {'warn': 1, 'fail': 20}},
                      alert_response_kill_include_applications=['%s-target' % sleepers.prefix],
                      alert_response_kill_grace_period='1s', alert_response_evidence_limit=200)
    extra_vars.update(extra)
    return extra_vars


# ---- Database Connection Pool Exhausted -----------------------------------------------------

def test_pool_findings_name_the_long_queries_and_remediation_off_kills_nothing(tmp_path, sleepers):
    pids = sleepers.start('target', 3)
    control = sleepers.start('control')
    time.sleep(1.5)
    rc, out = alert('db_connection_pool_exhausted', tmp_path, **pool_vars(sleepers))
    assert rc == 0
    rep = report(tmp_path, 'db-connection-pool-exhausted')
    long_q = finding(rep, 'postgres.long_queries')[0]
    assert long_q['status'] == 'WARN' and long_q['figure'].startswith('3 queries running longer than 1s')
    assert long_q['threshold'] == 'warn >= 1, fail >= 10'
    assert sorted(int(line.split()[1]) for line in long_q['evidence']) == sorted(pids)
    assert all('app=%s-target' % sleepers.prefix in line for line in long_q['evidence'])
    waiting = finding(rep, 'postgres.waiting_queries')[0]
    assert set(pids + control) <= set(int(line.split()[1]) for line in waiting['evidence'])
    assert finding(rep, 'postgres.connections')[0]['status'] == 'OK'
    assert finding(rep, 'pgbouncer.pools')[0]['figure'].endswith('server connections active')
    assert rep['actions'][0]['status'] == 'skipped' and 'remediation is off' in rep['actions'][0]['detail']
    assert rep['outcome'] == 'ok' and rep['verification'] is None      # WARN, nothing changed: no human needed yet
    assert rep['recommended_action'].startswith('Terminate them')
    assert alive(pids + control) == set(pids + control)
    assert any(m['phase'] == 'findings' and m['overall'] == 'WARN' for m in received('/chat/incidents', str(tmp_path)))
    assert (tmp_path / 'alert-db-connection-pool-exhausted-local-latest.md').read_text().startswith(
        '# Database Connection Pool Exhausted: WARN')


def test_pool_remediation_kills_exactly_the_listed_queries_and_records_them(tmp_path, sleepers):
    iid = 'INC-itest-%s' % uuid.uuid4().hex[:8]
    declared = run_module('clickview.runbook.incident', dict(incident_dir=str(tmp_path / 'incidents'), incident_id=iid,
                                                             action='declare', title='pool', severity='P2'))
    assert declared['changed']
    pids = sleepers.start('target', 2)
    control = sleepers.start('control')
    time.sleep(1.5)
    # check mode with remediation on: nothing is killed, the step says what would happen
    rc, _out = alert('db_connection_pool_exhausted', tmp_path, check=True, **pool_vars(sleepers, remediate=True))
    assert rc == 0
    rep = report(tmp_path, 'db-connection-pool-exhausted')
    assert rep['check_mode'] and rep['actions'][0]['status'] == 'would'
    assert alive(pids + control) == set(pids + control)

    rc, _out = alert('db_connection_pool_exhausted', tmp_path, alert_response_incident_id=iid,
                     **pool_vars(sleepers, remediate=True))
    assert rc == 0
    rep = report(tmp_path, 'db-connection-pool-exhausted')
    # verified: the investigation ran again after the termination and found the long queries gone; remediated
    # when nothing else is left (the shared lab may hold other runs' waiting queries: then WARN stays, outcome ok)
    verified = rep['verification']['overall']
    outcome = 'remediated' if verified == 'OK' else 'ok'
    assert rep['overall'] == 'WARN' and rep['outcome'] == outcome
    assert finding(rep['verification'], 'postgres.long_queries')[0]['status'] == 'OK'
    assert '- Outcome: **%s**' % outcome in (tmp_path / 'alert-db-connection-pool-exhausted-local-latest.md').read_text()
    posted = [m for m in received('/chat/incidents', iid) if m.get('alert') == 'Database Connection Pool Exhausted']
    assert [m['phase'] for m in posted] == ['findings', 'final'] and all(m['severity'] == 'P2 High' for m in posted)
    assert all('Incident: %s · Severity: P2 High' % iid in m['text'] for m in posted)
    assert 'Outcome: %s' % outcome in posted[1]['text'] and 'Verified after the resolution steps: %s' % verified in posted[1]['text']
    action = rep['actions'][0]
    assert action['status'] == 'done' and action['step'] == 'terminate long-running queries'
    assert len(rep['actions']) == 1          # remediate=true does not scale the backend: that has its own opt-in
    assert sorted(int(line.split()[1]) for line in action['evidence']) == sorted(pids)
    # CI's JUnit: a case per finding and per step, the step passing, each WARN finding skipped with its figure
    junit = ET.parse(tmp_path / 'alert-db-connection-pool-exhausted-local-latest.junit.xml').getroot()
    cases = list(junit.iter('testcase'))
    assert len(cases) == len(rep['findings']) + 1
    step = [case for case in cases if case.get('name') == 'action.terminate long-running queries']
    assert len(step) == 1 and step[0].find('failure') is None
    warned = sorted(case.find('skipped').get('message') for case in cases if case.find('skipped') is not None)
    assert warned and warned == sorted('WARN: %s (threshold %s)' % (f['figure'], f['threshold'])
                                       for f in rep['findings'] if f['status'] == 'WARN')
    deadline = time.time() + 10
    while alive(pids) and time.time() < deadline:
        time.sleep(0.2)
    assert alive(pids + control) == set(control)
    timeline = json.loads((tmp_path / 'incidents' / ('%s.json' % iid)).read_text())['timeline']
    assert [e['kind'] for e in timeline] == ['status', 'finding', 'action', 'finding']
    assert timeline[1]['event'].startswith('Database Connection Pool Exhausted: WARN')
    assert timeline[2]['event'].startswith('terminate long-running queries: done')
    assert timeline[3]['event'] == ('Database Connection Pool Exhausted: verified after the resolution steps: %s - '
                                    'outcome %s' % (verified, outcome))


@pytest.fixture
def crowded_primary():
    """A private PostgreSQL with every ordinary connection slot taken by the application's long queries:
    max_connections 6, 3 of them reserved for superusers, 3 held by 'app' sessions in pg_sleep."""
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="cvpool-", dir="/var/tmp")), free_port(25800))
    sleepers = []
    try:
        cluster.create("listen_addresses = '127.0.0.1'\nmax_connections = 6\nsuperuser_reserved_connections = 3\n")
        cluster.sql("CREATE ROLE ops LOGIN; GRANT pg_monitor, pg_signal_backend TO ops; CREATE ROLE app LOGIN")
        app_name = 'itest-crowd-%s' % uuid.uuid4().hex[:6]
        command = [str(PG_BIN / 'psql'), '-X', '-h', '127.0.0.1', '-p', str(cluster.port), '-U', 'app', '-d', 'clickview',
                   '-c', 'SELECT pg_sleep(600)']

        def crowded():
            # an app session is refused while this check's own connection holds a slot: start the missing ones,
            # let them connect, then count
            sleepers[:] = [proc for proc in sleepers if proc.poll() is None]
            sleepers.extend(subprocess.Popen(command, env=dict(os.environ, PGAPPNAME=app_name), stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL) for _slot in range(3 - len(sleepers)))
            time.sleep(1)
            return cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' AND state = 'active'"
                               % app_name) == '3'
        wait_until(crowded, 30, 'three sleeping app sessions')
        yield dict(cluster=cluster, app_name=app_name, sleepers=sleepers)
    finally:  # also when the set-up failed: no cluster is left running
        for proc in sleepers:
            proc.kill()
            proc.wait()
        cluster.destroy()


def test_pool_exhausted_to_max_connections_needs_a_reserved_slot_login(tmp_path, crowded_primary):
    """At 3 a.m. the pool is exhausted because max_connections is used up: the operator login cannot get in
    and the report says why; with a login that may use the reserved slots the alert investigates and ends
    the long queries."""
    cluster, app_name = crowded_primary['cluster'], crowded_primary['app_name']
    primary = {'name': 'crowded', 'host': '127.0.0.1', 'port': cluster.port}
    extra = dict(clickview_postgres_primary=primary, alert_response_long_query_min_duration='1s',
                 alert_response_kill_include_applications=[app_name], alert_response_kill_grace_period='1s',
                 alert_response_notify=False)
    rc, out = alert('db_connection_pool_exhausted', tmp_path, alert_response_pool_login_user='ops', **extra)
    assert rc != 0 and 'Traceback' not in json.dumps(out)
    rep = report(tmp_path, 'db-connection-pool-exhausted')
    conn = finding(rep, 'postgres.connections')[0]
    assert conn['status'] == 'FAIL' and conn['figure'] == 'unreachable'
    assert conn['recommendation'].startswith('No connection slot is left for ops'), conn['recommendation']
    assert 'alert_response_pool_login_user' in conn['recommendation']

    rc, out = alert('db_connection_pool_exhausted', tmp_path, remediate=True, alert_response_pool_login_user='postgres',
                    **extra)
    rep = report(tmp_path, 'db-connection-pool-exhausted')
    conn = finding(rep, 'postgres.connections')[0]
    assert conn['figure'].startswith('3 of 3 connection slots open to clients in use (100.0 %') and conn['status'] == 'FAIL', conn
    assert rep['actions'][0]['status'] == 'done', rep['actions']
    wait_until(lambda: all(proc.poll() is not None for proc in crowded_primary['sleepers']), 30,
               'the sleeping app sessions ended')
    assert cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'" % app_name) == '0'


def test_pool_fault_absent_is_ok(tmp_path, sleepers):
    rc, _out = alert('db_connection_pool_exhausted', tmp_path, **pool_vars(sleepers))
    assert rc == 0
    rep = report(tmp_path, 'db-connection-pool-exhausted')
    assert finding(rep, 'postgres.long_queries')[0]['status'] == 'OK' and rep['actions'] == []


def test_unreachable_database_is_a_fail_line_and_a_non_zero_exit(tmp_path):
    rc, out = alert('db_connection_pool_exhausted', tmp_path,
                    clickview_postgres_primary={'name': 'primary', 'host': '127.0.0.1', 'port': 1},
                    clickview_pgbouncer={'host': '127.0.0.1', 'port': 1})
    assert rc != 0
    assert 'Traceback' not in json.dumps(out)
    rep = report(tmp_path, 'db-connection-pool-exhausted')
    conn = finding(rep, 'postgres.connections')[0]
    assert conn['status'] == 'FAIL' and conn['figure'] == 'unreachable' and conn['evidence']
    assert rep['overall'] == 'FAIL' and rep['recommended_action'].startswith('Restore access to PostgreSQL')
    assert finding(rep, 'pgbouncer.pools')[0]['status'] == 'FAIL'
    assert rep['outcome'] == 'needs_attention'
    failed = [f['check'] for f in rep['findings'] if f['status'] == 'FAIL']
    assert ('Database Connection Pool Exhausted: needs attention: %d finding(s) FAIL: %s' % (len(failed), ', '.join(failed))
            in json.dumps(out))


def test_missing_inventory_variable_fails_at_argument_validation(tmp_path):
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text('all:\n  children:\n    runbook_controller:\n      hosts:\n'
                         '        localhost: {ansible_connection: local}\n')
    rc, out = run_playbook('playbooks/alert_disk_space_low.yml', inventory=str(inventory),
                           extra_vars={'clickview_webhooks': {}})
    assert rc != 0
    msgs = json.dumps(out)
    assert 'missing required arguments' in msgs and 'clickview_postgres_primary' in msgs


def test_misshapen_inventory_variable_fails_at_argument_validation(tmp_path):
    """A connection dict with a misspelt or missing key fails before any task, naming the variable and key."""
    rc, out = alert('disk_space_low', tmp_path, clickview_postgres_primary={'name': 'primary', 'hostname': 'db', 'port': 5432})
    assert rc != 0
    msgs = json.dumps(out)
    assert 'clickview_postgres_primary' in msgs and 'hostname' in msgs and "'NoneType'" not in msgs
    assert not list(tmp_path.rglob('*.json')), 'nothing ran, so no report was written'


# ---- Disk Space Low ----------------------------------------------------------------------------

@pytest.fixture
def bloated_table():
    name = 'itest_bloat_%s' % uuid.uuid4().hex[:8]
    query('CREATE TABLE public.%s (id int, pad text) WITH (autovacuum_enabled = false)' % name, role=APP)
    # 12,000 dead of 40,000: 30 % dead, a WARN (the FAIL line is 50 %)
    query("INSERT INTO public.%s SELECT g, repeat('x', 200) FROM generate_series(1, 40000) g" % name, role=APP)
    query('DELETE FROM public.%s WHERE id <= 12000' % name, role=APP)
    yield name
    query('DROP TABLE IF EXISTS public.%s' % name, role=APP)


def dead_tuples(name):
    deadline = time.time() + 15
    while True:
        rows = query('SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = %s', (name,))
        if (rows and rows[0][0] > 0) or time.time() > deadline:
            return rows[0][0] if rows else None
        time.sleep(0.5)


def wait_for_no_old_snapshot(timeout=180):
    """VACUUM reclaims only the dead tuples no snapshot can see: wait until no other session of the shared lab
    holds a snapshot (backend_xmin) older than this test's table, so the remediation can be verified."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = query("SELECT count(*) FROM pg_stat_activity WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid() "
                     "AND xact_start < now() - interval '1 second'")
        if rows[0][0] == 0:
            return
        time.sleep(1)
    raise AssertionError('another session of the lab kept an old snapshot for %s s' % timeout)


def relfilenode(name):
    return query("SELECT relfilenode FROM pg_class WHERE oid = ('public.' || %s)::regclass", (name,))[0][0]


def test_disk_space_finds_bloat_and_vacuums_only_on_request(tmp_path, bloated_table):
    assert dead_tuples(bloated_table) >= 12000
    page_views_dead = query("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'page_views'")[0][0]
    scope = dict(alert_response_vacuum_tables=['public.%s' % bloated_table],
                 alert_response_maintenance_user=APP['name'], alert_response_maintenance_password=APP['password'])

    rc, _out = alert('disk_space_low', tmp_path, **scope)
    assert rc == 0
    rep = report(tmp_path, 'disk-space-low')
    bloat = finding(rep, 'postgres.bloat')[0]
    assert bloat['status'] == 'WARN'
    assert any(line.startswith('public.%s: ' % bloated_table) and '(30.0 %)' in line for line in bloat['evidence'])
    assert bloat['threshold'].startswith('dead/(live+dead) warn >= 0.2, fail >= 0.5')
    size = finding(rep, 'disk.database_size')[0]
    assert size['status'] == 'OK' and "of the volume's 10.0 GiB" in size['figure']
    assert finding(rep, 'disk.volume_used')[0]['status'] == 'OK'          # the lab claim's 10 GiB request
    assert len(finding(rep, 'postgres.largest_tables')[0]['evidence']) <= 10
    assert rep['actions'][0]['status'] == 'skipped'
    assert dead_tuples(bloated_table) >= 12000

    # check mode with remediation on changes nothing
    rc, _out = alert('disk_space_low', tmp_path, check=True, remediate=True, **scope)
    assert rc == 0 and report(tmp_path, 'disk-space-low')['actions'][0]['status'] == 'would'
    assert dead_tuples(bloated_table) >= 12000

    node = relfilenode(bloated_table)
    wait_for_no_old_snapshot()
    rc, _out = alert('disk_space_low', tmp_path, remediate=True, **scope)
    assert rc == 0
    rep = report(tmp_path, 'disk-space-low')
    action = rep['actions'][0]
    assert action['step'] == 'VACUUM (ANALYZE)' and action['status'] == 'done', action
    # verified by investigating again: the table is no longer bloated (other tables of the shared lab may still be)
    assert rep['verification'] and rep['outcome'] == ('remediated' if rep['verification']['overall'] == 'OK' else 'ok')
    assert not [line for line in finding(rep['verification'], 'postgres.bloat')[0]['evidence'] if bloated_table in line]
    assert query('SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = %s', (bloated_table,))[0][0] == 0
    assert relfilenode(bloated_table) == node                 # plain VACUUM: no rewrite
    # only the table asked for: the lab's page_views keeps its dead tuples
    assert query("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'page_views'")[0][0] == page_views_dead


def prom_value(promql):
    found = http_json(lab_url('prometheus', '/api/v1/query?query=' + urllib.parse.quote(promql)))['data']['result']
    return float(found[0]['value'][1]) if found else None


CLAIM = 'persistentvolumeclaim="data-postgres-0"'
VOLUME_USED = '1 - kubelet_volume_stats_available_bytes{%s} / kubelet_volume_stats_capacity_bytes{%s}' % (CLAIM, CLAIM)


def test_disk_space_grades_the_volume_not_the_database_size(tmp_path, sample_app_faults):
    """The runbook's Disk Space Low: the volume over 80 % is FAIL (exit non-zero, nothing changed); where
    Prometheus has no series for the claim, df of the data directory; measured by neither, FAIL unknown."""
    def filled():
        """The claim's request shrunk until the database fills 95 % of it. The data directory's size moves by whole
        WAL segments (16 MiB of some 140) as checkpoints recycle them: set it again until Prometheus reads it full."""
        used = prom_value('kubelet_volume_stats_used_bytes{%s}' % CLAIM)
        if used:
            sample_app_faults(volume_capacity_bytes=int(used / 0.95))
            time.sleep(3)                                   # a scrape or two
        return (prom_value(VOLUME_USED) or 0) > 0.85
    wait_until(filled, 60, 'the volume to read about 95 %', interval=1)
    rc, out = alert('disk_space_low', tmp_path)
    rep = report(tmp_path, 'disk-space-low')
    volume = finding(rep, 'disk.volume_used')[0]
    assert rc != 0 and 'FAIL disk.volume_used' in json.dumps(out), rc
    assert volume['status'] == 'FAIL' and volume['figure'].endswith('(kubelet volume stats)'), volume
    assert 80 <= float(volume['figure'].split()[0]) <= 100 and volume['target'] == 'claim clickview/data-postgres-0'
    assert rep['outcome'] == 'needs_attention'
    assert finding(rep, 'disk.database_size')[0]['status'] == 'OK'          # informational
    sample_app_faults()

    # no series for this claim: df of the lab primary's data directory, the figure df itself gives
    data_dir = str(Path(__file__).resolve().parents[2] / 'lab' / '.state' / 'postgres-primary' / 'data')
    rc, out = alert('disk_space_low', tmp_path, alert_response_db_volume_claim='data-postgres-9')
    volume = finding(report(tmp_path, 'disk-space-low'), 'disk.volume_used')[0]
    fs = os.statvfs(data_dir)
    df_pct = (fs.f_blocks - fs.f_bfree) * 100.0 / (fs.f_blocks - fs.f_bfree + fs.f_bavail)
    assert '(df of %s)' % data_dir in volume['figure'], volume
    assert abs(float(volume['figure'].split()[0]) - df_pct) < 1
    assert volume['status'] == ('FAIL' if df_pct >= 80 else 'WARN' if df_pct >= 70 else 'OK')

    # measured by neither: unknown, FAIL and a non-zero exit, never OK
    rc, out = alert('disk_space_low', tmp_path, alert_response_db_volume_claim='data-postgres-9', alert_response_db_data_dir='')
    volume = finding(report(tmp_path, 'disk-space-low'), 'disk.volume_used')[0]
    assert rc != 0 and volume['status'] == 'FAIL' and volume['figure'] == 'unknown: the volume could not be measured', volume
    assert volume['evidence'] == ['Prometheus has no kubelet_volume_stats series for claim clickview/data-postgres-9',
                                  'df of the data directory: not run (no data directory set)']


def test_vacuum_full_only_with_its_own_opt_in(tmp_path, bloated_table):
    assert dead_tuples(bloated_table) >= 12000
    node = relfilenode(bloated_table)
    scope = dict(alert_response_vacuum_tables=['public.%s' % bloated_table],
                 alert_response_maintenance_user=APP['name'], alert_response_maintenance_password=APP['password'])
    wait_for_no_old_snapshot()
    rc, _out = alert('disk_space_low', tmp_path, alert_response_vacuum_full=True, **scope)
    assert rc == 0
    action = report(tmp_path, 'disk-space-low')['actions'][0]
    assert action['step'] == 'VACUUM (FULL, ANALYZE)' and action['status'] == 'done'
    assert 'locked exclusively' in action['detail']
    assert relfilenode(bloated_table) != node                 # VACUUM FULL rewrote the table


# ---- SSL Certificate Expiring -------------------------------------------------------------------

def make_cert(tmp_path, days):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost')]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / ('cert-%d.pem' % days), tmp_path / ('key-%d.pem' % days)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_server(tmp_path):
    servers = []

    def serve(days):
        cert, key = make_cert(tmp_path, days)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        sock.listen(5)
        sock.settimeout(0.5)
        state = {'stop': False}

        def loop():
            while not state['stop']:
                try:
                    conn, _addr = sock.accept()
                except OSError:
                    continue
                try:
                    with context.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(1)
                except (OSError, ssl.SSLError):
                    pass
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        servers.append((state, sock, thread))
        return sock.getsockname()[1]

    yield serve
    for state, sock, thread in servers:
        state['stop'] = True
        thread.join(2)
        sock.close()


def test_ssl_certificate_expiring_within_14_days_is_flagged(tmp_path, tls_server):
    # the runbook's alert: expires within 14 days. 13 days is FAIL (it was WARN until 7), 20 days WARN
    short, near, long_ = tls_server(13), tls_server(20), tls_server(90)
    endpoints = [{'host': '127.0.0.1', 'port': port, 'server_name': 'localhost'} for port in (short, near, long_)]
    rc, out = alert('ssl_certificate_expiring', tmp_path, alert_response_tls_endpoints=endpoints)
    rep = report(tmp_path, 'ssl-certificate-expiring')
    by_target = dict((f['target'], f) for f in rep['findings'])
    flagged, fine = by_target['127.0.0.1:%d' % short], by_target['127.0.0.1:%d' % long_]
    assert flagged['status'] == 'FAIL' and flagged['figure'].startswith('expires in 12.9 days')
    assert flagged['threshold'] == 'warn < 21 days, fail < 14 days'
    assert by_target['127.0.0.1:%d' % near]['status'] == 'WARN'
    assert 'subject: localhost' in flagged['evidence'] and 'cert-manager' in flagged['recommendation']
    assert fine['status'] == 'OK' and fine['figure'].startswith('expires in 89.9 days')
    assert rc != 0 and 'tls.certificate_expiry' in json.dumps(out)
    assert rep['outcome'] == 'needs_attention'         # FAIL with remediation off: on-call must notice
    summary = [m for m in received('/chat/incidents', '127.0.0.1:%d' % short) if m['alert'] == 'SSL Certificate Expiring']
    assert summary and summary[0]['overall'] == 'FAIL'


def test_ssl_only_healthy_certificates_is_ok_and_check_mode_writes_only_the_report(tmp_path, tls_server):
    port = tls_server(90)
    endpoints = [{'host': '127.0.0.1', 'port': port, 'server_name': 'localhost'}]
    rc, _out = alert('ssl_certificate_expiring', tmp_path, check=True, alert_response_tls_endpoints=endpoints)
    assert rc == 0 and report(tmp_path, 'ssl-certificate-expiring')['overall'] == 'OK'
    assert not received('/chat/incidents', '127.0.0.1:%d' % port)      # check mode posts nothing
