# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The game-day drill (playbooks/game_day_drill.yml, lab/drill.py) end to end against the lab.

lab/drill.py inject/status/clear are checked first (clear puts the lab back to healthy), then the
drill runs once and its end state is read from the services themselves: the backend's deployment
back on the good image and the error ratio under 5 % in Prometheus, no long query left in
pg_stat_activity, the attacker in the WAF IP set with an expiry, the victim's sessions gone and
everybody else's intact, the leaked key revoked with its audit row, the PIR's timeline in order,
and the scoreboard. Reports and incident records go to a private folder; the lab is cleared after.
The drill changes the shared lab's backend deployment: run this file on its own (not in parallel
with other integration tests).
"""

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid

import boto3
import psycopg2
import pytest
import redis
from kubernetes import client, config

from conftest import ROOT, lab_config, run_playbook, wait_for_quiet_lab

from ansible_collections.clickview.runbook.plugins.module_utils.waf_ipset import latest_expiries, parse_expiry_tags

LAB = lab_config()
HOST = LAB['host']
PLAYBOOK = 'playbooks/game_day_drill.yml'
DRILL = ROOT / 'lab' / 'drill.py'
PROM = 'http://%s:%d' % (HOST, LAB['services']['prometheus']['port'])
APP = 'http://%s:%d' % (HOST, LAB['services']['sample_app']['port'])
ATTACKER = '198.51.100.66'
VICTIM = 1337
KEY = 'ck_drill_victim_1337'
QUERY_APP = 'clickview-report-export'
GOOD_IMAGE = 'registry.clickview.lab/clickview-backend:1.4.0'
BAD_IMAGE = 'registry.clickview.lab/clickview-backend:1.5.0-errors-40'
ERROR_RATIO = ('(sum(rate(http_requests_total{status=~"5.."}[20s])) or vector(0)) / sum(rate(http_requests_total[20s]))')
# sessions that must survive: other users, including ids that end or begin like the victim's
BYSTANDERS = ['session:gdtest-13371', 'session:gdtest-21337', 'session:gdtest-1338']


# ---- helpers ----------------------------------------------------------------------------------

def drill(action):
    proc = subprocess.run([sys.executable, str(DRILL), action], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def prom(query):
    url = '%s/api/v1/query?query=%s' % (PROM, urllib.parse.quote(query))
    with urllib.request.urlopen(url, timeout=10) as resp:
        result = json.load(resp)['data']['result']
    return float(result[0]['value'][1]) if result else None


def faults():
    with urllib.request.urlopen(APP + '/admin/faults', timeout=10) as resp:
        return json.load(resp)


def pg(sql, args=()):
    cfg = LAB['postgres']
    conn = psycopg2.connect(host=HOST, port=LAB['services']['postgres_primary']['port'], dbname=cfg['database'],
                            user=cfg['superuser']['name'], password=cfg['superuser']['password'])
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


def long_queries():
    return pg("SELECT pid FROM pg_stat_activity WHERE application_name = %s AND state = 'active'", (QUERY_APP,))


def rds():
    return redis.Redis(host=HOST, port=LAB['services']['redis']['port'], password=LAB['redis']['password'])


def victim_sessions():
    return [k.decode() for k in rds().scan_iter(match='session:*-%d' % VICTIM, count=1000)]


def waf_state():
    aws = LAB['aws']
    waf = boto3.client('wafv2', region_name=aws['region'], aws_access_key_id=aws['access_key'],
                       aws_secret_access_key=aws['secret_key'],
                       endpoint_url='http://%s:%d' % (HOST, LAB['services']['moto']['port']))
    name = aws['waf_ip_sets']['ipv4']
    summary = next(s for s in waf.list_ip_sets(Scope='REGIONAL')['IPSets'] if s['Name'] == name)
    addresses = waf.get_ip_set(Name=name, Scope='REGIONAL', Id=summary['Id'])['IPSet']['Addresses']
    tags = waf.list_tags_for_resource(ResourceARN=summary['ARN'])['TagInfoForResource'].get('TagList', [])
    return addresses, latest_expiries(parse_expiry_tags(tags))


def backend_image():
    config.load_kube_config(config_file=str(ROOT / LAB['state_dir'] / 'kubeconfig'))
    dep = client.AppsV1Api().read_namespaced_deployment('clickview-backend', 'clickview')
    return dep.spec.template.spec.containers[0].image


def assert_cleared():
    """What lab/drill.py clear promises: nothing of the drill is left on the lab."""
    status = drill('status')
    assert status['healthy'] and status['symptoms'] == [], status
    assert status['injected'] is None and status['holder_pid'] is None and status['watcher_pid'] is None
    assert backend_image() == GOOD_IMAGE
    assert faults()['error_rate'] < 0.05
    assert long_queries() == []
    assert victim_sessions() == []
    assert pg('SELECT count(*) FROM api_keys WHERE key_id = %s', (KEY,)) == [(0,)]
    addresses, expiries = waf_state()
    assert ATTACKER + '/32' not in addresses and ATTACKER + '/32' not in expiries


# ---- lab/drill.py -----------------------------------------------------------------------------

def test_drill_inject_status_clear():
    drill('clear')
    injected = drill('inject')
    try:
        assert injected['good_image'] == GOOD_IMAGE and injected['long_queries_running'] == 30
        assert drill('inject')['started'] == injected['started']        # injecting again changes nothing
        status = drill('status')
        assert not status['healthy'] and status['injected']['started'] == injected['started']
        assert sorted(status['symptoms']) == sorted(['bad_image_deployed', 'sample_app_error_rate', 'long_queries',
                                                     'victim_sessions', 'leaked_key']), status
        visible = status['visible']
        assert visible['sample_app_error_rate'] == 0.35 and visible['long_queries'] == 30
        assert visible['victim_sessions'] == 3 and visible['leaked_key'] == 'active'
        assert backend_image() == BAD_IMAGE and len(long_queries()) == 30
        assert status['holder_pid'] and status['watcher_pid']
    finally:
        cleared = drill('clear')
    assert cleared['cleared'] and cleared['rolled_back'] and cleared['queries_terminated'] == 30
    assert sorted(cleared['processes_stopped']) == ['holder', 'watcher'] and cleared['sessions_deleted'] == 3
    assert_cleared()
    assert drill('clear')['rolled_back'] is False            # clearing a clear lab is harmless


def test_drill_refuses_any_inventory_but_the_lab(tmp_path):
    rc, out = run_playbook(PLAYBOOK, json_output=False, extra_vars={
        'clickview_environment': 'production', 'clickview_report_dir': str(tmp_path),
        'clickview_incident_dir': str(tmp_path / 'incidents')})
    assert rc != 0
    assert 'clickview_environment: the game-day drill injects a real incident and runs only on the lab' in out, out
    assert 'Nothing was done' in out
    assert drill('status')['injected'] is None
    assert backend_image() == GOOD_IMAGE


# ---- the drill --------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    """Run the drill once; afterwards clear the lab and check that it is back to healthy."""
    folder = tmp_path_factory.mktemp('game-day')
    incident_id = 'GAMEDAY-itest-%s' % uuid.uuid4().hex[:8]
    drill('clear')
    # the alert ties the spike to the rollout only if the ratio crosses the threshold after it:
    # start from a quiet lab (the inject/clear test and earlier tests raise the error ratio)
    wait_for_quiet_lab(timeout=240)
    store = rds()
    for key in BYSTANDERS:
        store.set(key, json.dumps({'user_id': int(key.rsplit('-', 1)[1])}), ex=3600)
    others = sorted(k.decode() for k in store.scan_iter(match='session:0000*', count=1000))
    assert others, 'the lab has no seeded sessions'
    started = time.time()
    try:
        rc, out = run_playbook(PLAYBOOK, json_output=False, timeout=900, extra_vars={
            'clickview_report_dir': str(folder), 'clickview_incident_dir': str(folder / 'incidents'),
            'game_day_incident_id': incident_id})
        result = dict(rc=rc, out=out, folder=folder, id=incident_id, others=others, seconds=time.time() - started)
        yield result
    finally:
        store.delete(*BYSTANDERS)
        drill('clear')
    assert_cleared()


def test_drill_runs_end_to_end(run):
    assert run['rc'] == 0, run['out'][-6000:]
    out = run['out']
    assert 'Game day %s (P1)' % run['id'] in out
    assert 'PIR: reports/' not in out         # the private report folder, shown relative to the checkout
    assert 'PIR: ' in out and '%s-pir.md' % run['id'] in out
    assert 'Scoreboard (time from the injection)' in out
    assert 'failed=0' in out


def test_error_rate_back_under_threshold_and_bad_image_gone(run):
    assert backend_image() == GOOD_IMAGE
    assert faults()['error_rate'] < 0.05
    ratio = prom(ERROR_RATIO)
    assert ratio is not None and ratio < 0.05, ratio


def test_no_long_queries_left(run):
    assert long_queries() == []


def test_attacker_blocked_with_expiry(run):
    addresses, expiries = waf_state()
    assert ATTACKER + '/32' in addresses
    expires = expiries[ATTACKER + '/32']
    hours = (expires.timestamp() - time.time()) / 3600
    assert 23 < hours <= 24.1, expires


def test_only_the_victims_sessions_are_gone(run):
    assert victim_sessions() == []
    store = rds()
    assert all(store.exists(key) for key in BYSTANDERS)
    assert sorted(k.decode() for k in store.scan_iter(match='session:0000*', count=1000)) == run['others']


def test_leaked_key_revoked_with_audit_row(run):
    rows = pg('SELECT revoked_at, revoked_by FROM api_keys WHERE key_id = %s', (KEY,))
    assert rows and rows[0][0] is not None and rows[0][1] == 'runbook:%s' % run['id']
    audit = pg("SELECT actor, detail->>'incident_id' FROM audit_log WHERE action = 'api_key.revoke' AND target = %s "
               "AND detail->>'incident_id' = %s", (KEY, run['id']))
    assert audit == [('runbook:%s' % run['id'], run['id'])]
    # the victim's other keys are untouched: only the leaked one was revoked
    assert pg('SELECT count(*) FROM api_keys WHERE user_id = %s AND key_id <> %s AND revoked_by = %s',
              (VICTIM, KEY, 'runbook:%s' % run['id'])) == [(0,)]


def test_pir_written_with_timeline_in_order(run):
    pir = json.loads((run['folder'] / 'pir' / ('%s-pir.json' % run['id'])).read_text())
    assert pir['status'] == 'resolved' and pir['severity'] == 'P1'
    keys = [m['key'] for m in pir['milestones']]
    assert keys == ['alert', 'acknowledged', 'root_cause', 'mitigation', 'restored']
    elapsed = [m['elapsed_seconds'] for m in pir['milestones']]
    assert None not in elapsed and elapsed == sorted(elapsed), pir['milestones']
    assert pir['milestones'][3]['event'].startswith('roll back deployment/clickview-backend: done')
    events = [e['event'] for e in pir['timeline']]
    at = [e['at'] for e in pir['timeline']]
    assert at == sorted(at)

    def first(prefix):
        return next(i for i, e in enumerate(events) if e.startswith(prefix))
    order = [first('Incident declared'), first('Classified as Credential compromise'), first('Status changed from investigating to identified'),
             first('roll back deployment/clickview-backend: done'), first('terminate long-running queries: done'),
             first('Blocked 1 address'), first('Revoked 1 API key'), first('Forced logout of 1 user'),
             first('Incident resolved')]
    assert order == sorted(order), list(zip(order, events))
    markdown = (run['folder'] / 'pir' / ('%s-pir.md' % run['id'])).read_text()
    # the PIR's milestones table lists 'Service restored' (mitigated) before the timeline's rows; the chronological
    # order is the JSON timeline's, asserted above
    assert markdown.index('Alert triggered') < markdown.index('Root cause identified') and 'Service restored' in markdown


def test_scoreboard(run):
    board = json.loads((run['folder'] / 'game-day' / ('%s-scoreboard.json' % run['id'])).read_text())
    seconds = {row['key']: row['seconds'] for row in board['scoreboard']}
    assert list(seconds) == ['alert', 'declared', 'rollback', 'queries_terminated', 'attacker_blocked', 'key_revoked',
                             'sessions_purged', 'resolved']
    assert None not in seconds.values(), seconds
    assert 0 <= seconds['alert'] <= seconds['declared'] <= seconds['rollback'] <= seconds['queries_terminated']
    assert seconds['queries_terminated'] <= seconds['attacker_blocked'] <= seconds['key_revoked']
    assert seconds['key_revoked'] <= seconds['sessions_purged'] <= seconds['resolved'] <= run['seconds']
    assert all(check['ok'] for check in board['checks']), board['checks']
    assert board['pir'].endswith('%s-pir.md' % run['id'])
