# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""alert_response: High Error Rate, High Latency and High Memory, against the lab.

The Kubernetes side runs against a private API stand-in (the module-scoped `standin` fixture of
test_k8s_rollback: seeded clickview namespace, fast simulated time, its own port and state), so the
shared lab's stand-in is never changed. Prometheus is the lab's: it scrapes only the sample backend,
whose faults the tests raise (POST /admin/faults) and always reset in a `finally`. A "bad rollout" is
therefore the test deploying an `errors-40` image in the private stand-in and then raising the sample
backend's error rate; the playbook compares when the ratio crossed the threshold with the creation
time of the latest ReplicaSet. Reports go to tmp_path; chat messages are told apart by that path.
"""

import base64
import json
import os
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import psycopg2
import pytest
from kubernetes import client, config

from conftest import lab_config, pg_connect, pg_query, run_module, run_playbook, wait_until
# long queries of the test's own, for the pool alert's scale-out
from test_alert_response_db import Sleepers, pool_vars
# the module-scoped fixture: a private stand-in for this module
from test_k8s_rollback import standin  # noqa: F401  pylint: disable=unused-import

LAB = lab_config()
HOST = LAB['host']
SINK = 'http://%s:%d' % (HOST, LAB['services']['webhook_sink']['port'])
APP = 'http://%s:%d' % (HOST, LAB['services']['sample_app']['port'])
PROM = 'http://%s:%d' % (HOST, LAB['services']['prometheus']['port'])
ALERTMANAGER = 'http://%s:%d' % (HOST, LAB['services']['alertmanager']['port'])
NS = 'clickview'
DEP = 'clickview-backend'
REG = 'registry.clickview.lab/clickview-backend'
WINDOW = '20s'
ERROR_RATIO = ('(sum(rate(http_requests_total{status=~"5.."}[%s])) or vector(0)) / sum(rate(http_requests_total[%s]))'
               % (WINDOW, WINDOW))
P95 = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[%s])))' % WINDOW
# every run: the private stand-in, short windows, a quick verification
BASE = dict(alert_response_rate_window=WINDOW, alert_response_spike_lookback='10m', alert_response_spike_step='2s',
            alert_response_verify_timeout=90, alert_response_verify_interval=3, alert_response_rollout_timeout=60,
            clickview_k8s_context='clickview-lab-operator')


# ---- helpers ----------------------------------------------------------------------------------

def faults(body):
    req = urllib.request.Request(APP + '/admin/faults', data=json.dumps(body).encode(), method='POST',
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def prom(query):
    url = '%s/api/v1/query?query=%s' % (PROM, urllib.parse.quote(query))
    with urllib.request.urlopen(url, timeout=10) as resp:
        result = json.load(resp)['data']['result']
    return float(result[0]['value'][1]) if result else None


def silences(incident_id):
    """Alertmanager's silences whose comment names the incident."""
    with urllib.request.urlopen('%s/api/v2/silences' % ALERTMANAGER, timeout=10) as resp:
        return [s for s in json.load(resp) if incident_id in s.get('comment', '')]


def received(needle):
    with urllib.request.urlopen('%s/_received?path=/chat/incidents' % SINK, timeout=10) as resp:
        return [r['body'] for r in json.load(resp) if needle in json.dumps(r['body'])]


def status_page(name, **state):
    """Set the lab's status page of a service (the webhook sink's Statuspage stand-in); no state = operational."""
    req = urllib.request.Request('%s/_statuspage/%s' % (SINK, name), method='PUT' if state else 'DELETE',
                                 data=json.dumps(state).encode() if state else None,
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def findings_of(rep, check):
    return [f for f in rep['findings'] if f['check'] == check]


def assert_database_answers(rep):
    """postgres.connectivity: the primary, then PgBouncer, both answering SELECT 1."""
    db = findings_of(rep, 'postgres.connectivity')
    assert [f['target'] for f in db] == ['primary 127.0.0.1:15432, database clickview',
                                         'pgbouncer 127.0.0.1:16432, database clickview'], db
    for row in db:
        assert row['status'] == 'OK', row
        assert row['figure'].startswith('SELECT 1 answered in ') and 'connections in use (max_connections)' in row['figure']
        assert row['threshold'] == 'SELECT 1 answers within the connect timeout (5 s)'


def finding(rep, check):
    found = [f for f in rep['findings'] if f['check'] == check]
    assert found, 'no finding %s in %s' % (check, [f['check'] for f in rep['findings']])
    return found[0]


def expected_outcome(rep):
    """The documented rule: a failed step or a FAIL left needs attention; a verification better than the first
    investigation is remediated; otherwise ok."""
    rank = {'OK': 0, 'WARN': 1, 'FAIL': 2}
    verified = (rep['verification'] or {}).get('overall')
    if any(a['status'] == 'failed' for a in rep['actions']) or (verified or rep['overall']) == 'FAIL':
        return 'needs_attention'
    return 'remediated' if verified and rank[verified] < rank[rep['overall']] else 'ok'


@pytest.fixture
def status_pages():
    """Sets the lab's status pages for a test and always puts the services it set back to operational."""
    names = []

    def put(name, **state):
        names.append(name)
        return status_page(name, **state)
    try:
        yield put
    finally:
        for name in names:
            status_page(name)


@pytest.fixture(scope='module')
def api(standin):  # noqa: F811  pylint: disable=redefined-outer-name
    return config.new_client_from_config(config_file=standin, context='clickview-lab')


@pytest.fixture
def play(standin, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    def run(alert, check=False, **extra):
        extra_vars = dict(BASE, clickview_k8s_kubeconfig=standin, clickview_report_dir=str(tmp_path),
                          clickview_incident_dir=str(tmp_path / 'incidents'))
        extra_vars.update(extra)
        rc, out = run_playbook('playbooks/alert_%s.yml' % alert, extra_vars=extra_vars, check=check, json_output=False)
        assert 'Traceback' not in out, out
        return rc, out
    run.report = lambda slug: json.loads((tmp_path / ('alert-%s-local-latest.json' % slug)).read_text())
    run.markdown = lambda slug: (tmp_path / ('alert-%s-local-latest.md' % slug)).read_text()
    run.folder = tmp_path
    return run


def deployment(api):
    return client.AppsV1Api(api).read_namespaced_deployment(DEP, NS)


def hpa(api):
    return client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler(DEP, NS)


def versions(api):
    """resourceVersions of what a remediation could write: the Deployment and the HPA's spec."""
    h = hpa(api)
    return deployment(api).metadata.resource_version, h.metadata.generation, h.spec.min_replicas


def written(api):
    """What a write to the Deployment's spec changes: its generation and pod template annotations. (With crash-looping
    pods the controller keeps updating its status, so its resourceVersion moves without any write by the runbook.)"""
    d = deployment(api)
    return d.metadata.generation, d.spec.template.metadata.annotations, versions(api)[1:]


def rolled_out(api):
    d = deployment(api)
    s = d.status
    return ((s.observed_generation or 0) >= d.metadata.generation and s.updated_replicas == d.spec.replicas
            and s.replicas == d.spec.replicas and s.available_replicas == d.spec.replicas)


def set_image(api, tag, wait=True):
    patch = {'metadata': {'annotations': {'kubernetes.io/change-cause': 'release ' + tag}},
             'spec': {'template': {'spec': {'containers': [{'name': 'backend', 'image': '%s:%s' % (REG, tag)}]}}}}
    client.AppsV1Api(api).patch_namespaced_deployment(DEP, NS, patch)
    if wait:
        wait_until(lambda: rolled_out(api), 60, 'the rollout of %s' % tag)


def image(api):
    return deployment(api).spec.template.spec.containers[0].image


def pods(api):
    sel = ','.join('%s=%s' % kv for kv in deployment(api).spec.selector.match_labels.items())
    return client.CoreV1Api(api).list_namespaced_pod(NS, label_selector=sel).items


# ---- High Error Rate --------------------------------------------------------------------------

def test_error_rate_absent_is_ok_and_nothing_is_rolled_back(api, play):
    wait_until(lambda: (prom(ERROR_RATIO) or 0) < 0.015, 60, 'the error ratio to be low')
    before = versions(api)
    rc, out = play('high_error_rate', remediate=True, alert_response_notify=False)
    assert rc == 0, out
    rep = play.report('high-error-rate')
    assert rep['overall'] == 'OK' and rep['actions'] == []
    ratio = finding(rep, 'prometheus.error_ratio')
    assert ratio['status'] == 'OK' and ratio['figure'].endswith(' %') and ratio['threshold'] == 'warn >= 2.0 %, fail >= 5.0 %'
    rollout = finding(rep, 'deployment.latest_rollout')
    assert rollout['status'] == 'OK' and 'error ratio below 5.0 % now' in rollout['figure']
    assert any(line.startswith('revision 4 (running)') and ':1.4.0' in line for line in rollout['evidence'])
    assert finding(rep, 'logs.error_lines')['figure'].startswith('0 error lines of ')
    assert versions(api) == before
    # the runbook's resolution steps 3 and 4: the database answers, the external services report no incident
    assert_database_answers(rep)
    pages = findings_of(rep, 'external.status_page')
    assert [(p['target'].split()[0], p['status'], p['figure']) for p in pages] == [
        ('ClickUp', 'OK', 'All Systems Operational (indicator none)'),
        ('OpenAI', 'OK', 'All Systems Operational (indicator none)')]


def test_error_rate_names_the_external_service_in_an_outage(play, status_pages):
    """A spike that did not follow a rollout, while OpenAI's status page reports a major outage: the report says
    so (FAIL), ClickUp stays OK, the database answers, and the error ratio's advice names OpenAI."""
    status_pages('openai', indicator='major', description='Partial outage')
    try:
        faults({'error_rate': 0.4})
        wait_until(lambda: (prom(ERROR_RATIO) or 0) > 0.12, 60, 'the error ratio to rise')
        # the rollouts of the private stand-in are minutes old: within 1 s only counts as after one
        rc, out = play('high_error_rate', alert_response_notify=False, alert_response_rollout_correlation_seconds=1)
    finally:
        faults({})
    # the next test's spike must not join this one
    wait_until(lambda: (prom(ERROR_RATIO) or 0) < 0.015, 90, 'the error ratio to fall again')
    assert rc != 0, out
    rep = play.report('high-error-rate')
    assert rep['overall'] == 'FAIL' and rep['outcome'] == 'needs_attention' and not rep['remediate']
    pages = {p['target'].split()[0]: p for p in findings_of(rep, 'external.status_page')}
    assert sorted(pages) == ['ClickUp', 'OpenAI']
    openai, clickup = pages['OpenAI'], pages['ClickUp']
    assert openai['status'] == 'FAIL' and openai['figure'] == 'Partial outage (indicator major)', openai
    assert openai['target'] == 'OpenAI http://127.0.0.1:18099/statuspage/openai/api/v2/status.json'
    assert openai['evidence'][0].startswith('page openai http://127.0.0.1:18099/statuspage/openai, updated ')
    assert clickup['status'] == 'OK' and clickup['figure'] == 'All Systems Operational (indicator none)'
    assert_database_answers(rep)
    ratio = finding(rep, 'prometheus.error_ratio')
    assert ratio['status'] == 'FAIL' and finding(rep, 'deployment.latest_rollout')['status'] == 'OK'
    assert ratio['recommendation'] == (
        'Not deployment-related: the dependency at fault looks like OpenAI (its status page: Partial outage (indicator '
        'major)) - start there; the grouped log errors show which requests fail.')
    assert rep['recommended_action'] == ratio['recommendation']
    assert rep['actions'][0]['status'] == 'skipped' and 'not deployment-related' in rep['actions'][0]['detail']
    markdown = play.markdown('high-error-rate')
    assert '| ❌ FAIL | `external.status_page`' in markdown and 'Partial outage (indicator major)' in markdown
    assert '| ✅ OK | `postgres.connectivity`' in markdown


def test_error_rate_database_unreachable_through_pgbouncer_and_an_unreadable_page(play, status_pages):
    """PgBouncer not answering is FAIL with the driver's reason (never the password); a status page that answers
    503 is WARN - no proof the service is down."""
    status_pages('clickup', http_status=503)
    rc, out = play('high_error_rate', alert_response_notify=False, clickview_pgbouncer={'host': '127.0.0.1', 'port': 9})
    assert rc != 0, out
    rep = play.report('high-error-rate')
    primary, bouncer = findings_of(rep, 'postgres.connectivity')
    assert primary['status'] == 'OK'
    assert bouncer['status'] == 'FAIL' and bouncer['target'] == 'pgbouncer 127.0.0.1:9, database clickview'
    assert bouncer['figure'] == 'unreachable: connection to server at "127.0.0.1", port 9 failed: Connection refused'
    assert bouncer['recommendation'].startswith('PgBouncer does not pass connections to the database')
    pages = {p['target'].split()[0]: p for p in findings_of(rep, 'external.status_page')}
    assert pages['ClickUp']['status'] == 'WARN' and pages['ClickUp']['figure'] == 'status page unreadable: HTTP 503'
    assert pages['OpenAI']['status'] == 'OK'
    password = LAB['postgres']['operator']['password']
    assert password not in out and password not in json.dumps(rep) and password not in play.markdown('high-error-rate')


def prom_range(query, start, end, step):
    url = '%s/api/v1/query_range?query=%s&start=%s&end=%s&step=%s' % (PROM, urllib.parse.quote(query), start, end, step)
    with urllib.request.urlopen(url, timeout=10) as resp:
        result = json.load(resp)['data']['result']
    return [[float(t), float(v)] for t, v in result[0]['values']] if result else []


def assert_error_ratio_chart(play, rep, summary):
    """The final report's chart is the error ratio Prometheus recorded, with the rollout and the rollback on it."""
    chart = rep['chart']
    points = chart['points']
    assert len(points) > 20 and chart['peak'] == max(point[1] for point in points) > 0.12, chart
    assert chart['last'] == points[-1][1] < 0.05, chart             # the fall after the rollback is drawn
    # the same instants read from Prometheus now give the same values (the newest few may still move)
    again = dict((t, v) for t, v in prom_range(ERROR_RATIO, points[0][0], points[-1][0], 2))
    settled = points[:-3]
    assert all(t in again and abs(again[t] - v) < 1e-9 for t, v in settled), (settled[:5], list(again.items())[:5])
    labels = [m['label'] for m in chart['markers']]
    assert labels[0] == 'rollout, revision 5' and 'roll back deployment/%s' % DEP in labels, labels
    svg = ET.fromstring((play.folder / os.path.basename(chart['file'])).read_text())
    line = [e for e in svg.iter() if e.tag.endswith('polyline') and e.get('class') == 'series']
    assert len(line) == 1 and len(line[0].get('points').split()) == len(points)
    assert 'Error ratio: %s peak' % chart['sparkline'] in summary
    md = (play.folder / (os.path.basename(chart['file'])[:-len('.svg')] + '.md')).read_text()
    assert '](%s)' % os.path.basename(chart['file']) in md


def test_error_rate_after_bad_rollout_reported_then_rolled_back(api, play):
    iid = 'INC-itest-%s' % uuid.uuid4().hex[:8]
    declared = run_module('clickview.runbook.incident', dict(incident_dir=str(play.folder / 'incidents'), incident_id=iid, action='declare',
                                                             title='errors after release', severity='P2'))
    assert declared['changed']
    set_image(api, '1.5.0-errors-40')
    time.sleep(1)
    watcher = None
    try:
        faults({'error_rate': 0.4})
        wait_until(lambda: (prom(ERROR_RATIO) or 0) > 0.12, 60, 'the error ratio to rise')

        # remediation off: reported, nothing changed
        before = versions(api)
        rc, out = play('high_error_rate')
        assert rc != 0, out                      # a FAIL finding fails the run, after the report
        assert 'FAIL prometheus.error_ratio' in out
        rep = play.report('high-error-rate')
        assert rep['overall'] == 'FAIL' and not rep['remediate'] and rep['outcome'] == 'needs_attention'
        ratio = finding(rep, 'prometheus.error_ratio')
        assert ratio['status'] == 'FAIL' and float(ratio['figure'].split()[0]) > 10
        rollout = finding(rep, 'deployment.latest_rollout')
        assert rollout['status'] == 'WARN' and 'revision 5 (%s:1.5.0-errors-40)' % REG in rollout['figure']
        assert ' s after the rollout' in rollout['figure'], rollout['figure']
        assert [e for e in rollout['evidence'] if e.startswith('revision 5 (running)')]
        errors = finding(rep, 'logs.error_lines')
        assert errors['status'] == 'FAIL'
        top = errors['evidence'][0]
        assert 'msg="request failed" err="upstream timeout: search-svc"' in top and int(top.split('x ')[0]) > 10
        assert rep['recommended_action'].startswith('The spike began after the latest rollout (revision 5')
        assert rep['actions'][0]['status'] == 'skipped' and 'remediation is off' in rep['actions'][0]['detail']
        assert versions(api) == before
        assert image(api).endswith('1.5.0-errors-40')
        posted = [m for m in received(str(play.folder)) if m['alert'] == 'High Error Rate']
        assert [m['phase'] for m in posted] == ['findings', 'final']
        assert posted[0]['overall'] == 'FAIL' and posted[0]['text'].startswith('\U0001F534 ALERT High Error Rate (local): FAIL')
        assert 'FAIL prometheus.error_ratio' in posted[0]['text'] and 'SKIPPED roll back' in posted[1]['text']

        # check mode with remediation on: says what it would do, changes nothing
        play('high_error_rate', check=True, remediate=True, alert_response_notify=False)
        rep = play.report('high-error-rate')
        assert rep['check_mode'] and rep['actions'][0]['status'] == 'would', rep['actions']
        assert 'from revision 5 to revision 4' in rep['actions'][0]['detail']
        assert versions(api) == before

        # remediation on: rolled back; the lab's errors stop when the bad image is gone (the stand-in's pods are
        # not what Prometheus scrapes), and the playbook watches the ratio fall
        seen_during = []

        def clear_when_rolled_back():
            deadline = time.time() + 240
            while time.time() < deadline and 'errors-40' in image(api):
                time.sleep(0.5)
            seen_during.extend(s['status']['state'] for s in silences(iid))   # mid-fix: the alert is silenced
            faults({})
        watcher = threading.Thread(target=clear_when_rolled_back, daemon=True)
        watcher.start()
        rc, out = play('high_error_rate', remediate=True, alert_response_incident_id=iid)
        rep = play.report('high-error-rate')
        # FAIL before, rolled back, verified by investigating again: the run succeeds
        assert rc == 0, out
        assert rep['overall'] == 'FAIL' and rep['outcome'] == 'remediated', rep['verification']
        assert finding(rep['verification'], 'prometheus.error_ratio')['status'] == 'OK'
        final = [m for m in received(str(play.folder)) if m['alert'] == 'High Error Rate' and m['incident_id'] == iid][-1]
        assert final['phase'] == 'final' and final['outcome'] == 'remediated' and final['severity'] == 'P2 High'
        assert 'Incident: %s · Severity: P2 High' % iid in final['text'] and 'Outcome: remediated' in final['text']
        steps = {a['step']: a for a in rep['actions']}
        rollback = steps['roll back deployment/%s' % DEP]
        assert rollback['status'] == 'done', rep['actions']
        assert 'rolled back from revision 5 to revision 4' in rollback['detail']
        verify = steps['verify the error ratio falls']
        assert verify['status'] == 'done' and 'falling, under the threshold' in verify['detail'], verify
        d = deployment(api)
        assert d.spec.template.spec.containers[0].image == '%s:1.4.0' % REG
        assert d.metadata.annotations['deployment.kubernetes.io/revision'] == '6'
        assert 'High Error Rate alert' in d.metadata.annotations['kubernetes.io/change-cause']
        assert all(p.spec.containers[0].image.endswith(':1.4.0') for p in pods(api))
        assert_error_ratio_chart(play, rep, final['text'])
        timeline = json.loads((play.folder / 'incidents' / ('%s.json' % iid)).read_text())['timeline']
        assert [e['kind'] for e in timeline] == ['status', 'finding', 'action', 'action', 'finding']
        assert timeline[1]['event'].startswith('High Error Rate: FAIL')
        assert timeline[2]['event'].startswith('roll back deployment/%s: done' % DEP)
        assert timeline[3]['event'].startswith('verify the error ratio falls: done')
        assert timeline[4]['event'].endswith('outcome remediated')
        # the alert, and only it, was silenced while the fix ran, and the silence expired with the run
        assert seen_during == ['active'], seen_during
        (silence,) = silences(iid)
        assert silence['status']['state'] == 'expired' and silence['createdBy'] == 'clickview.runbook.alert_response'
        assert silence['matchers'] == [{'name': 'alertname', 'value': 'HighErrorRate', 'isRegex': False, 'isEqual': True}]
    finally:
        faults({})
        if watcher:
            watcher.join(10)


def test_unreachable_prometheus_is_a_fail_line_not_a_traceback(play):
    rc, out = play('high_error_rate', alert_response_prometheus_url='http://127.0.0.1:9', alert_response_notify=False)
    assert rc != 0
    rep = play.report('high-error-rate')
    ratio = finding(rep, 'prometheus.error_ratio')
    assert ratio['status'] == 'FAIL' and ratio['figure'] == 'unknown: Prometheus did not answer'
    assert ratio['evidence'][0].startswith('Prometheus http://127.0.0.1:9 did not answer')
    assert '| ❌ FAIL | `prometheus.error_ratio`' in play.markdown('high-error-rate')
    failed = [f['check'] for f in rep['findings'] if f['status'] == 'FAIL']
    assert 'prometheus.error_ratio' in failed
    assert 'High Error Rate: needs attention: %d finding(s) FAIL: %s' % (len(failed), ', '.join(failed)) in out
    assert rep['actions'] == [] and rep['outcome'] == 'needs_attention'


# ---- High Latency -----------------------------------------------------------------------------

def test_latency_absent_is_ok(api, play):
    wait_until(lambda: (prom(P95) or 1) < 0.4, 60, 'the P95 to be low')
    before = versions(api)
    rc, out = play('high_latency', remediate=True, alert_response_notify=False)
    assert rc == 0, out
    rep = play.report('high-latency')
    assert rep['overall'] == 'OK' and rep['actions'] == []
    p95 = finding(rep, 'prometheus.latency_p95')
    assert p95['figure'].endswith(' ms') and p95['threshold'] == 'warn >= 400 ms, fail >= 500 ms'
    cpu = finding(rep, 'k8s.pod_cpu')
    assert cpu['status'] == 'OK' and len(cpu['evidence']) == 3 and 'of 500m limit' in cpu['evidence'][0]
    assert finding(rep, 'k8s.pod_memory')['figure'].startswith('highest ')
    assert finding(rep, 'postgres.active_queries')['figure'].endswith(' s')
    hit = finding(rep, 'redis.cache_hit_rate')
    # graded over the lookups made during the investigation (none here: OK), the lifetime figure for reference
    assert hit['status'] == 'OK' and 'lifetime' in hit['figure'] and hit['threshold'].startswith('warn below 85 %, fail below 80 %')
    # no query running for 5 s or more: no plan to show; the lab's clickview database has no pg_stat_statements
    plans = finding(rep, 'postgres.query_plans')
    assert plans['status'] == 'OK' and plans['figure'] == 'no active query running for 5 s or more', plans
    top = finding(rep, 'postgres.top_statements')
    assert top['status'] == 'OK' and (top['figure'].startswith('not available: ') or top['figure'].endswith(' calls)')), top
    assert versions(api) == before


def test_latency_slow_query_has_its_plan_in_the_report(play):
    """A query running for longer than active_query_seconds.warn (5 s): the report shows its plan (plain EXPLAIN)."""
    app = 'itest-latency-%s' % uuid.uuid4().hex[:8]
    sql = 'SELECT pg_sleep(120), count(*) FROM audit_log'
    conn = pg_connect('app', application_name=app)
    pid = conn.get_backend_pid()

    def work():
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        except psycopg2.Error:  # ended by the cleanup below
            pass

    threading.Thread(target=work, daemon=True).start()
    try:
        wait_until(lambda: pg_query("SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state = 'active'", (pid,)), 10,
                   'the slow query to start')
        time.sleep(6)
        started = pg_query("SELECT query_start FROM pg_stat_activity WHERE pid = %s", (pid,))[0][0]
        play('high_latency', alert_response_notify=False)
        rep = play.report('high-latency')
        plans = finding(rep, 'postgres.query_plans')
        assert plans['status'] in ('WARN', 'FAIL') and 'explained, the longest running' in plans['figure'], plans
        lines = plans['evidence']
        ours = [i for i, line in enumerate(lines) if line.startswith('pid %d ' % pid)]
        if ours:
            assert lines[ours[0]].endswith(': ' + sql), lines
            assert lines[ours[0] + 1] == '  EXPLAIN (FORMAT TEXT):', lines
            assert lines[ours[0] + 2].startswith('    Aggregate') and 'Seq Scan on audit_log' in lines[ours[0] + 3], lines
        else:
            # the shared lab had three queries running for longer than this one: they take the places (longest first)
            older = pg_query("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname = 'clickview' "
                             "AND backend_type = 'client backend' AND query_start < %s", (started,))[0][0]
            assert older >= 3 and plans['figure'].startswith('3 slow queries'), (older, plans)
        active = finding(rep, 'postgres.active_queries')
        assert active['status'] in ('WARN', 'FAIL') and 'postgres.query_plans' in active['recommendation']
        assert 'EXPLAIN ANALYZE' not in active['recommendation']
        assert 'postgres.query_plans' in play.markdown('high-latency')
    finally:
        pg_query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s', (app,))
        conn.close()


def test_latency_raised_scales_out_within_bounds(api, play):
    assert deployment(api).spec.replicas == 3 and hpa(api).spec.min_replicas == 3
    try:
        faults({'latency_ms': 900})
        wait_until(lambda: (prom(P95) or 0) > 0.6, 60, 'the P95 to rise')
        before = versions(api)
        play('high_latency', check=True, remediate=True, alert_response_notify=False)
        rep = play.report('high-latency')
        assert rep['check_mode'] and rep['actions'][0]['status'] == 'would', rep['actions']
        assert versions(api) == before

        # step 2 from 3 replicas, but the bound is 4
        rc, out = play('high_latency', remediate=True, alert_response_scale_out_max=4)
        rep = play.report('high-latency')
        # verified by investigating again (the lab's latency fault is still on: the P95 seldom falls at once)
        assert rep['verification'], (rc, rep['actions'])
        assert rep['outcome'] == expected_outcome(rep) and (rc != 0) == (rep['outcome'] == 'needs_attention'), out
        p95 = finding(rep, 'prometheus.latency_p95')
        assert p95['status'] in ('WARN', 'FAIL') and int(p95['figure'].split()[0]) > 500
        action = rep['actions'][0]
        assert action['status'] == 'done', rep['actions']
        assert action['detail'].startswith('3 -> 4 replicas (bound 4, HPA %s 3-10, minReplicas raised to 4)' % DEP)
        d = deployment(api)
        assert d.spec.replicas == 4 and d.status.ready_replicas == 4
        h = hpa(api)
        assert h.spec.min_replicas == 4 and h.metadata.annotations['runbook.clickview.app/previous-min-replicas'] == '3'
        posted = [m for m in received(str(play.folder)) if m['alert'] == 'High Latency']
        assert posted[0]['overall'] == p95['status'] and 'prometheus.latency_p95' in posted[0]['text']
        assert 'DONE scale deployment/%s out' % DEP in posted[-1]['text']

        # at the bound: not scaled again
        play('high_latency', remediate=True, alert_response_scale_out_max=4, alert_response_notify=False)
        rep = play.report('high-latency')
        assert rep['actions'][0]['status'] == 'skipped' and 'already at its upper bound' in rep['actions'][0]['detail']
        assert deployment(api).spec.replicas == 4
    finally:
        faults({})
        client.AutoscalingV2Api(api).patch_namespaced_horizontal_pod_autoscaler(DEP, NS, {'spec': {'minReplicas': 3}})
        client.AppsV1Api(api).patch_namespaced_deployment_scale(DEP, NS, {'spec': {'replicas': 3}})


# ---- Database Connection Pool Exhausted: the scale-out --------------------------------------------

def test_pool_exhausted_scales_the_backend_out_only_when_asked(api, play):
    assert deployment(api).spec.replicas == 3 and hpa(api).spec.min_replicas == 3
    sleepers = Sleepers()
    try:
        pids = sleepers.start('target', 2)
        time.sleep(1.5)
        # terminate the long queries, then scale out (its own opt-in), bounded as the latency scale-out
        rc, out = play('db_connection_pool_exhausted', alert_response_pool_scale_out=True, alert_response_scale_out_max=4,
                       **pool_vars(sleepers, remediate=True))
        assert rc == 0, out
        rep = play.report('db-connection-pool-exhausted')
        steps = {a['step']: a for a in rep['actions']}
        assert steps['terminate long-running queries']['status'] == 'done'
        assert sorted(int(line.split()[1]) for line in steps['terminate long-running queries']['evidence']) == sorted(pids)
        scale = steps['scale deployment/%s out' % DEP]
        assert scale['status'] == 'done', rep['actions']
        assert scale['detail'].startswith('3 -> 4 replicas (bound 4, HPA %s 3-10, minReplicas raised to 4)' % DEP)
        d = deployment(api)
        assert d.spec.replicas == 4 and d.status.ready_replicas == 4
        h = hpa(api)
        assert h.spec.min_replicas == 4 and h.metadata.annotations['runbook.clickview.app/previous-min-replicas'] == '3'
        # verified by investigating again: the long queries are gone (the shared lab may hold other waiting queries)
        assert finding(rep['verification'], 'postgres.long_queries')['status'] == 'OK'
        assert rep['outcome'] == ('remediated' if rep['verification']['overall'] == 'OK' else 'ok')
        posted = [m for m in received(str(play.folder)) if m['alert'] == 'Database Connection Pool Exhausted']
        assert 'DONE scale deployment/%s out' % DEP in posted[-1]['text']
    finally:
        sleepers.close()
        client.AutoscalingV2Api(api).patch_namespaced_horizontal_pod_autoscaler(
            DEP, NS, {'metadata': {'annotations': {'runbook.clickview.app/previous-min-replicas': None,
                                                   'runbook.clickview.app/min-replicas-reason': None}},
                      'spec': {'minReplicas': 3}})
        client.AppsV1Api(api).patch_namespaced_deployment_scale(DEP, NS, {'spec': {'replicas': 3}})
        wait_until(lambda: rolled_out(api), 60, 'the backend back at 3 replicas')


# ---- High Memory ------------------------------------------------------------------------------

def test_memory_leak_reported_and_restarted(api, play):
    set_image(api, '1.5.1-leak')

    def oom_killed():
        return [p for p in pods(api) for cs in p.status.container_statuses or []
                if cs.last_state and cs.last_state.terminated and cs.last_state.terminated.reason == 'OOMKilled']
    wait_until(oom_killed, 60, 'an OOMKilled container')
    before = written(api)
    play('high_memory', check=True, remediate=True, alert_response_notify=False)
    rep = play.report('high-memory')
    assert rep['check_mode'] and rep['actions'][0]['status'] == 'would', rep['actions']
    assert written(api) == before

    old_pods = {p.metadata.name for p in pods(api)}
    rc, out = play('high_memory', remediate=True)
    rep = play.report('high-memory')
    # OOM kills are FAIL; after the restart the investigation runs again on the new pods (the leaking image
    # is still deployed: they may leak again before it looks)
    assert rep['overall'] == 'FAIL' and rep['verification'] and rep['outcome'] == expected_outcome(rep)
    assert (rc == 0) == (rep['outcome'] == 'remediated'), out
    oom = finding(rep, 'k8s.oom_kills')
    assert oom['status'] == 'FAIL' and 'containers OOMKilled in their last run' in oom['figure']
    assert any('OOMKilled (exit 137)' in line for line in oom['evidence'])
    lines = finding(rep, 'logs.memory_lines')
    assert lines['status'] == 'FAIL' and 'out of memory' in ' '.join(lines['evidence'])
    assert any('msg="heap usage high" limit_mb=256' in line for line in lines['evidence'])
    mem = finding(rep, 'k8s.container_memory')
    assert 'of its memory limit' in mem['figure'] and 'MiB of 256.0 MiB' in mem['figure']
    assert all('of limit 256.0 MiB' in line for line in mem['evidence'])
    assert finding(rep, 'k8s.container_limits')['figure'] == 'backend: limits memory 256Mi, cpu 500m; requests memory 128Mi, cpu 100m'
    action = rep['actions'][0]
    assert action['step'] == 'rollout restart deployment/%s' % DEP and action['status'] == 'done', rep['actions']
    d = deployment(api)
    restarted = d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']
    assert restarted in action['detail']
    new_rs = [rs for rs in client.AppsV1Api(api).list_namespaced_replica_set(NS).items
              if rs.metadata.annotations.get('deployment.kubernetes.io/revision') == d.metadata.annotations['deployment.kubernetes.io/revision']]
    assert len(new_rs) == 1 and new_rs[0].spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'] == restarted
    new_pods = pods(api)
    assert new_pods and not {p.metadata.name for p in new_pods} & old_pods
    assert all(p.metadata.labels['pod-template-hash'] == new_rs[0].metadata.labels['pod-template-hash'] for p in new_pods)
    posted = [m for m in received(str(play.folder)) if m['alert'] == 'High Memory']
    assert posted[0]['overall'] == 'FAIL' and 'FAIL k8s.oom_kills' in posted[0]['text']


def test_memory_limit_raised_only_when_asked(api, play):
    """The runbook's "Increase memory limits if persistent issue": its own opt-in (alert_response_memory_limit),
    the new limit on every container of the backend, rolled out; nothing else of the pod template changes."""
    set_image(api, '1.5.1-leak')
    wait_until(lambda: [p for p in pods(api) for cs in p.status.container_statuses or []
                        if cs.last_state and cs.last_state.terminated and cs.last_state.terminated.reason == 'OOMKilled'],
               60, 'an OOMKilled container')
    before = deployment(api).spec.template.spec.containers[0]
    annotations = deployment(api).spec.template.metadata.annotations
    old_pods = {p.metadata.name for p in pods(api)}
    try:
        rc, out = play('high_memory', alert_response_memory_limit='512Mi', alert_response_notify=False)
        rep = play.report('high-memory')
        action = rep['actions'][0]
        assert action['step'] == 'raise the memory limit of deployment/%s to 512Mi' % DEP, rep['actions']
        assert action['status'] == 'done' and action['detail'].startswith('limits.memory=512Mi on every container'), action
        after = deployment(api).spec.template.spec.containers[0]
        assert after.resources.limits == {'memory': '512Mi', 'cpu': before.resources.limits['cpu']}
        assert after.resources.requests == before.resources.requests and after.image == before.image
        assert deployment(api).spec.template.metadata.annotations == annotations      # not a restart as well
        assert not {p.metadata.name for p in pods(api)} & old_pods            # rolled out on new pods
        assert rep['verification'] and (rc == 0) == (rep['outcome'] == 'remediated'), out
    finally:
        client.AppsV1Api(api).patch_namespaced_deployment(DEP, NS, {'spec': {'template': {'spec': {'containers': [
            {'name': before.name, 'resources': {'limits': {'memory': before.resources.limits['memory']}}}]}}}})
        set_image(api, '1.4.0')


def test_memory_absent_is_ok(api, play):
    set_image(api, '1.4.0')
    before = versions(api)
    rc, out = play('high_memory', remediate=True, alert_response_notify=False)
    assert rc == 0, out
    rep = play.report('high-memory')
    assert rep['overall'] == 'OK' and rep['actions'] == []
    assert finding(rep, 'k8s.oom_kills')['figure'].startswith('0 of 3 containers')
    assert finding(rep, 'logs.memory_lines')['status'] == 'OK'
    assert versions(api) == before


FRONTEND = 'clickview-frontend'


def frontend_pods(api):
    sel = ','.join('%s=%s' % kv for kv in
                   client.AppsV1Api(api).read_namespaced_deployment(FRONTEND, NS).spec.selector.match_labels.items())
    return client.CoreV1Api(api).list_namespaced_pod(NS, label_selector=sel).items


def memory_alert(pod, container):
    """What event-driven automation passes for Alertmanager's HighMemoryUsage alert on one container."""
    return {'alertname': 'HighMemoryUsage', 'runbook': 'alert_high_memory', 'severity': 'P3',
            'summary': '%s/%s uses 91%% of its memory limit' % (pod, container), 'starts_at': '2026-12-06T03:00:00Z',
            'fingerprint': 'a1b2c3d4e5f60718',
            'labels': {'alertname': 'HighMemoryUsage', 'severity': 'P3', 'runbook': 'alert_high_memory',
                       'namespace': NS, 'pod': pod, 'container': container}}


def test_frontend_memory_alert_restarts_the_frontend_not_the_backend(api, play):
    """The alert's labels choose the workload: a memory alert on a frontend pod investigates and restarts the
    frontend; the backend (the inventory's default) is not touched."""
    apps = client.AppsV1Api(api)
    original = apps.read_namespaced_deployment(FRONTEND, NS).spec.template.spec.containers[0].image
    apps.patch_namespaced_deployment(FRONTEND, NS, {'spec': {'template': {'spec': {'containers': [
        {'name': 'frontend', 'image': original.rsplit(':', 1)[0] + ':2.1.0-leak'}]}}}})
    try:
        wait_until(lambda: [p for p in frontend_pods(api) for cs in p.status.container_statuses or []
                            if cs.last_state and cs.last_state.terminated
                            and cs.last_state.terminated.reason == 'OOMKilled'], 60, 'an OOMKilled frontend container')
        backend_before = written(api)
        pod = frontend_pods(api)[0].metadata.name
        rc, out = play('high_memory', remediate=True, alert_response_notify=False,
                       clickview_alert=memory_alert(pod, 'frontend'))
        rep = play.report('high-memory')
        assert rep['target']['deployment'] == FRONTEND and rep['target']['pod'] == pod, rep['target']
        assert rep['target']['labels_used'] == ['namespace=' + NS, 'pod=' + pod, 'container=frontend']
        assert finding(rep, 'k8s.oom_kills')['status'] == 'FAIL'
        assert all(line.startswith(FRONTEND) or 'frontend' in line for line in finding(rep, 'k8s.oom_kills')['evidence'])
        action = rep['actions'][0]
        assert action['step'] == 'rollout restart deployment/%s' % FRONTEND and action['status'] == 'done', rep['actions']
        restarted = apps.read_namespaced_deployment(FRONTEND, NS).spec.template.metadata.annotations
        assert restarted['kubectl.kubernetes.io/restartedAt'] in action['detail']
        assert written(api) == backend_before                      # the backend: no write at all
        assert rep['incident_decision']['action'] == 'none'          # P3: no incident
        assert 'Target: deployment/%s (%s), from the alert\'s labels' % (FRONTEND, NS) in play.markdown('high-memory')

        # a label naming something the inventory does not list stops the run before anything is read or changed
        frontend_before = apps.read_namespaced_deployment(FRONTEND, NS).metadata.generation
        rc, out = play('high_memory', remediate=True, alert_response_notify=False,
                       clickview_alert=memory_alert('postgres-0', 'postgres'))
        assert rc != 0 and "label pod='postgres-0' belongs to none of the Deployments" in out, out
        assert written(api) == backend_before
        assert apps.read_namespaced_deployment(FRONTEND, NS).metadata.generation == frontend_before
    finally:
        apps.patch_namespaced_deployment(FRONTEND, NS, {'spec': {'template': {'spec': {'containers': [
            {'name': 'frontend', 'image': original}]}}}})


# ---- SSL Certificate Expiring: the cert-manager part --------------------------------------------

class SecretServer(object):
    """A TLS endpoint serving whatever certificate a stand-in secret holds now (read at each handshake), as an
    ingress that reloads its certificate would."""

    def __init__(self, api, secret, folder):
        self.api, self.secret, self.folder = api, secret, folder
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self.loop, daemon=True).start()

    def context(self):
        data = client.CoreV1Api(self.api).read_namespaced_secret(self.secret, NS).data
        crt, key = self.folder / (self.secret + '.crt'), self.folder / (self.secret + '.key')
        crt.write_bytes(base64.b64decode(data['tls.crt']))
        key.write_bytes(base64.b64decode(data['tls.key']))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(crt), str(key))
        return ctx

    def loop(self):
        while not self.stopped:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            try:
                with self.context().wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError, client.ApiException, KeyError, ValueError):  # no secret yet, client gone: next one
                conn.close()

    def close(self):
        self.stopped = True
        self.sock.close()


def certificate(api, name):
    return client.CustomObjectsApi(api).get_namespaced_custom_object('cert-manager.io', 'v1', NS, 'certificates', name)


def test_certificate_expiring_renewed_through_cert_manager_and_served(api, play):
    # cert-manager's pods, and a Certificate issued for 10 days (the seeded clickview-tls has 90)
    # (the lab seeds cert-manager's controller: one Deployment, one pod)
    assert [d.metadata.name for d in client.AppsV1Api(api).list_namespaced_deployment('cert-manager').items] == ['cert-manager']
    client.CustomObjectsApi(api).create_namespaced_custom_object('cert-manager.io', 'v1', NS, 'certificates', {
        'apiVersion': 'cert-manager.io/v1', 'kind': 'Certificate', 'metadata': {'name': 'itest-short'},
        'spec': {'secretName': 'itest-short-tls', 'commonName': 'localhost', 'dnsNames': ['localhost'],
                 'issuerRef': {'group': 'cert-manager.io', 'kind': 'ClusterIssuer', 'name': 'clickview-lab-ca'},
                 'duration': '240h0m0s', 'renewBefore': '1h0m0s'}})
    wait_until(lambda: certificate(api, 'itest-short').get('status', {}).get('revision'), 30, 'the certificate to be issued')
    wait_until(lambda: [p for p in client.CoreV1Api(api).list_namespaced_pod('cert-manager').items
                        if p.status.container_statuses and p.status.container_statuses[0].ready], 30, 'cert-manager to be ready')
    short = SecretServer(api, 'itest-short-tls', play.folder)
    healthy = SecretServer(api, 'clickview-tls', play.folder)
    try:
        eps = {'itest-short': [{'host': '127.0.0.1', 'port': short.port, 'server_name': 'localhost'}],
               'clickview-tls': [{'host': '127.0.0.1', 'port': healthy.port, 'server_name': 'localhost'}]}
        extra = dict(alert_response_tls_endpoints=eps['itest-short'] + eps['clickview-tls'],
                     alert_response_certificates=[{'name': n, 'endpoints': e} for n, e in eps.items()],
                     alert_response_cert_served_timeout=30)
        revisions = {n: certificate(api, n)['status']['revision'] for n in eps}

        # the operator's Roles (extensions/kubernetes/rbac.yaml) name the Secrets it may touch: not this one. Check
        # mode already meets the API server's refusal: the report says so in one line and names the grant it needs,
        # and nothing waits for a certificate that cannot come
        rc, out = play('ssl_certificate_expiring', check=True, remediate=True, alert_response_notify=False, **extra)
        assert rc != 0, out
        rep = play.report('ssl-certificate-expiring')
        assert [a['status'] for a in rep['actions']] == ['failed'], rep['actions']
        detail = rep['actions'][0]['detail']
        assert detail.startswith('secret itest-short-tls not deleted: 403 Forbidden: secrets "itest-short-tls" is forbidden: '
                                 'User "clickview-lab-operator"'), detail
        assert detail.endswith("grant it in the namespace's Role (extensions/kubernetes/rbac.yaml names each Secret it may touch)")
        assert 'waiting: SSL certificate | Wait for the new revision' not in out, out

        # a team that renews this Certificate too grants its Secret, as the Role does clickview-tls's
        rbac = client.RbacAuthorizationV1Api(api)
        rbac.create_namespaced_role(NS, {
            'metadata': {'name': 'itest-renew-short'},
            'rules': [{'apiGroups': [''], 'resources': ['secrets'], 'resourceNames': ['itest-short-tls'], 'verbs': ['get', 'delete']}]})
        rbac.create_namespaced_role_binding(NS, {
            'metadata': {'name': 'itest-renew-short'},
            'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Role', 'name': 'itest-renew-short'},
            'subjects': [{'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'User', 'name': 'clickview-lab-operator'}]})

        # the runbook's alert: expires within 14 days, so 9.9 days left is FAIL and the run exits non-zero
        rc, out = play('ssl_certificate_expiring', check=True, remediate=True, alert_response_notify=False, **extra)
        assert rc != 0, out
        rep = play.report('ssl-certificate-expiring')
        assert [a['status'] for a in rep['actions']] == ['would'], rep['actions']
        assert {n: certificate(api, n)['status']['revision'] for n in eps} == revisions
        certs = {f['target']: f for f in rep['findings'] if f['check'] == 'cert_manager.certificate'}
        short_f = certs['certificate/itest-short (%s)' % NS]
        assert short_f['status'] == 'FAIL' and '(9.9 days left)' in short_f['figure'], short_f
        assert short_f['threshold'] == 'Ready; warn < 21 days, fail < 14 days'
        live = {f['target']: f for f in rep['findings'] if f['check'] == 'tls.certificate_expiry'}
        assert live['127.0.0.1:%d' % short.port]['status'] == 'FAIL' and live['127.0.0.1:%d' % healthy.port]['status'] == 'OK'

        extra['alert_response_cert_days_thresholds'] = {'warn': 14, 'fail': 7}
        # the lab's cert-manager re-issues for the Certificate's own 10-day duration, which is still inside the
        # runbook's 14 days; a 7-day line lets the renewal verify (a 90-day Certificate renews to OK)
        rc, out = play('ssl_certificate_expiring', remediate=True, **extra)
        assert rc == 0, out                      # WARN: under 14 days, over 7
        rep = play.report('ssl-certificate-expiring')
        assert finding(rep, 'cert_manager.pods')['figure'] == '1 of 1 pods running and ready'
        certs = {f['target']: f for f in rep['findings'] if f['check'] == 'cert_manager.certificate'}
        short_f = certs['certificate/itest-short (%s)' % NS]
        assert short_f['status'] == 'WARN' and short_f['figure'].startswith('Ready, notAfter ') and '(9.9 days left)' in short_f['figure']
        assert 'secret: itest-short-tls' in short_f['evidence']
        assert certs['certificate/clickview-tls (%s)' % NS]['status'] == 'OK'
        live = {f['target']: f for f in rep['findings'] if f['check'] == 'tls.certificate_expiry'}
        assert live['127.0.0.1:%d' % short.port]['status'] == 'WARN' and live['127.0.0.1:%d' % healthy.port]['status'] == 'OK'
        steps = [(a['step'], a['status']) for a in rep['actions']]
        assert steps == [('force the renewal of certificate/itest-short (delete secret itest-short-tls)', 'done'),
                         ('verify the new certificate of itest-short is served', 'done')], rep['actions']
        after = {n: certificate(api, n)['status']['revision'] for n in eps}
        assert after == {'itest-short': revisions['itest-short'] + 1, 'clickview-tls': revisions['clickview-tls']}
        served = rep['actions'][1]['evidence'][0]
        assert served.startswith('127.0.0.1:%d serves serial ' % short.port) and 'not the new one' not in served
        assert rep['actions'][0]['detail'].startswith('re-issued: revision %d -> %d' % (revisions['itest-short'], after['itest-short']))
    finally:
        short.close()
        healthy.close()


@pytest.mark.parametrize('alert, extra, word', [
    ('high_latency', {'alert_response_scale_out_step': 'many'}, 'alert_response_scale_out_step'),
    ('high_error_rate', {'alert_response_rollback': 'perhaps'}, 'alert_response_rollback'),
    ('high_memory', {'alert_response_memory_thresholds': 'high'}, 'alert_response_memory_thresholds'),
])
def test_wrong_variable_fails_at_argument_validation_naming_it(play, alert, extra, word):
    rc, out = play(alert, **extra)
    assert rc != 0 and 'Validating arguments against arg spec' in out and word in out, out
