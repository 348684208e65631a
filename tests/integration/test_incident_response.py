# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""incident_response role and the incident / incident_event modules, against the lab's webhook sink.

Every test uses its own incident id (INC-itest-<random>) and its own incident folder (tmp_path),
and reads the sink filtered by that id: other developers' messages are never cleared or counted.
"""

import datetime
import json
import math
import os
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid

import boto3
import pytest
import yaml

from conftest import lab_config, run_module, run_playbook, run_tasks

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '.collections'))
from ansible_collections.clickview.runbook.plugins.module_utils import incident_record as ir  # noqa: E402  pylint: disable=wrong-import-position

LAB = lab_config()
SINK = 'http://%s:%d' % (LAB['host'], LAB['services']['webhook_sink']['port'])
MOTO = 'http://%s:%d' % (LAB['host'], LAB['services']['moto']['port'])


def prometheus_range(query, start, end, step):
    """The lab Prometheus's answer to a range query."""
    url = 'http://127.0.0.1:%d/api/v1/query_range?%s' % (lab_config()['services']['prometheus']['port'], urllib.parse.urlencode(
        {'query': query, 'start': start, 'end': end, 'step': step}))
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def s3_client():
    return boto3.client('s3', endpoint_url=MOTO, region_name='us-east-1', aws_access_key_id='testing',
                        aws_secret_access_key='testing')


@pytest.fixture
def bucket():
    """A bucket of the test's own in the lab's S3 (moto), emptied and removed afterwards."""
    name = 'itest-incidents-%s' % uuid.uuid4().hex[:10]
    s3 = s3_client()
    s3.create_bucket(Bucket=name)
    yield name
    for obj in s3.list_objects_v2(Bucket=name).get('Contents', []):
        s3.delete_object(Bucket=name, Key=obj['Key'])
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def incident_bucket():
    """The lab's incident bucket, which the documented policy lets the runbook's identity (the inventory's key:
    moto enforces the policy) read and write under incidents/ and pir/; the test's objects are removed afterwards."""
    name, objects = LAB['aws']['incident_bucket'], []
    yield name, objects
    for key in objects:
        s3_client().delete_object(Bucket=name, Key=key)


def new_id():
    return 'INC-itest-%s' % uuid.uuid4().hex[:10]


def received(path, needle):
    with urllib.request.urlopen('%s/_received?path=%s' % (SINK, path), timeout=10) as resp:
        records = json.load(resp)
    return [r['body'] for r in records if needle in json.dumps(r['body'])]


def statuspage_incident(iid):
    """The incident the sink's Statuspage API holds for the clickview incident iid (its metadata names it)."""
    page = LAB['statuspage']
    req = urllib.request.Request('%s/statuspage-api/v1/pages/%s/incidents' % (SINK, page['page_id']),
                                 headers={'Authorization': 'OAuth %s' % page['api_key']})
    with urllib.request.urlopen(req, timeout=10) as resp:
        found = [i for i in json.load(resp) if i.get('metadata', {}).get('clickview', {}).get('incident_id') == iid]
    assert len(found) == 1, found
    return found[0]


def task_results(out, fragment):
    return [task['hosts']['localhost'] for play in out['plays'] for task in play['tasks']
            if fragment in task['task']['name'] and 'localhost' in task['hosts']]


def failures(out):
    return [r.get('msg', '') for play in out['plays'] for task in play['tasks'] for r in task['hosts'].values()
            if r.get('failed') and not r.get('ignored')]


def ts(value):
    return datetime.datetime.strptime(value, '%Y-%m-%dT%H:%M:%SZ')


def load(folder, iid):
    with open(str(folder / ('%s.json' % iid)), encoding='utf-8') as handle:
        return json.load(handle)


def playbook(action, folder, iid, check=False, **extra):
    extra_vars = dict(clickview_incident_dir=str(folder), incident_response_id=iid)
    extra_vars.update(extra)
    return run_playbook('playbooks/incident_%s.yml' % action, extra_vars=extra_vars, check=check)


def test_declare_update_resolve_in_three_runs_with_the_record_in_s3(tmp_path, incident_bucket):
    iid = new_id()
    bucket, objects = incident_bucket
    objects += ['incidents/%s.json' % iid, 'pir/%s-pir.md' % iid, 'pir/%s-pir.json' % iid, 'pir/%s-pir.svg' % iid]
    title = 'API error rate above 5 %% (%s)' % iid
    # the record in the lab's S3, where staging and production keep it (incidents/), written with the inventory's
    # key, which is held to the documented policy; the folder is empty so that nothing can come from it
    s3_vars = dict(clickview_incident_storage='s3', clickview_incident_s3_bucket=bucket,
                   clickview_incident_s3_prefix='incidents/')
    rc, out = playbook('declare', tmp_path, iid, incident_response_title=title, incident_response_alert='High Error Rate',
                       incident_response_impact='about 30 % of API requests fail', **s3_vars)
    assert rc == 0, failures(out)
    # declaring again with the same content changes nothing and posts nothing
    rc, out = playbook('declare', tmp_path, iid, incident_response_title=title, incident_response_alert='High Error Rate',
                       incident_response_impact='about 30 % of API requests fail', **s3_vars)
    assert rc == 0, failures(out)
    assert [r['changed'] for r in task_results(out, 'Declare | Record the incident')] == [False]
    rc, out = playbook('update', tmp_path, iid, incident_response_status='mitigating',
                       incident_response_progress='rolled back clickview-backend to revision 41', **s3_vars)
    assert rc == 0, failures(out)
    rc, out = playbook('resolve', tmp_path, iid, incident_response_root_cause='a bad release of clickview-backend',
                       incident_response_follow_up='https://tracker.example/OPS-1234',
                       incident_response_action_items=['add a canary stage'], **s3_vars)
    assert rc == 0, failures(out)
    assert task_results(out, 'Resolve | Record')[0]['record_path'] == 's3://%s/incidents/%s.json' % (bucket, iid)

    assert list(tmp_path.iterdir()) == []
    record = json.loads(s3_client().get_object(Bucket=bucket, Key='incidents/%s.json' % iid)['Body'].read())
    chat = received('/chat/incidents', iid)
    assert [m['message_type'] for m in chat] == ['initial', 'update', 'resolution']
    assert [m['severity'] for m in chat] == ['P2'] * 3
    initial, update, resolution = [m['text'].splitlines() for m in chat]
    assert initial[0] == '🔴 INCIDENT: ' + title
    assert initial[1:4] == ['Severity: P2 High', 'Status: Investigating', 'Impact: about 30 % of API requests fail']
    assert initial[4].startswith('Next update: ') and initial[4].endswith(' UTC')
    assert update[:4] == ['🟡 UPDATE: ' + title, 'Status: Mitigating', 'Severity: P2 High',
                          'Progress: rolled back clickview-backend to revision 41']
    assert update[4].startswith('Next update: ')
    duration = int((ts(record['resolved_at']) - ts(record['declared_at'])).total_seconds())
    assert record['duration_seconds'] == duration
    assert resolution[:2] == ['🟢 RESOLVED: ' + title, 'Severity: P2 High']
    assert resolution[2] == 'Duration: %ds' % duration if duration < 60 else resolution[2].startswith('Duration: ')
    assert resolution[3:5] == ['Root cause: a bad release of clickview-backend', 'Follow-up: https://tracker.example/OPS-1234']

    # P2 pages (trigger, then resolve with the same dedup key) and opens a status-page incident
    pager = received('/pager', iid)
    assert [(p['event_action'], p['dedup_key']) for p in pager] == [('trigger', iid), ('resolve', iid)]
    assert pager[0]['payload']['severity'] == 'error'
    assert [u['status'] for u in reversed(statuspage_incident(iid)['incident_updates'])] == ['investigating', 'identified', 'resolved']

    assert record['status'] == 'resolved' and record['severity'] == 'P2' and record['alert'] == 'High Error Rate'
    assert [(i['text'], i['owner'], i['status']) for i in record['action_items']] == [('add a canary stage', None, 'open')]
    events = [(e['kind'], e['event']) for e in record['timeline']]
    assert events == [
        ('status', 'Incident declared: %s (P2)' % title),
        ('notification', 'Initial message posted to chat'),
        ('notification', 'PagerDuty trigger sent'),
        ('notification', 'Status page set to investigating'),
        ('status', 'Status changed from investigating to mitigating'),
        ('action', 'Progress: rolled back clickview-backend to revision 41'),
        ('notification', 'Update message posted to chat'),
        ('notification', 'Status page set to identified'),
        ('status', 'Incident resolved after %s' % resolution[2][len('Duration: '):]),
        ('notification', 'Resolution message posted to chat'),
        ('notification', 'PagerDuty resolve sent'),
        ('notification', 'Status page set to resolved'),
    ]
    assert all(set(e) == {'at', 'kind', 'source', 'event', 'details', 'actor'} for e in record['timeline'])
    assert all(e['actor']['via'] == 'cli' and e['actor']['user'] for e in record['timeline'])

    # resolving again changes and posts nothing
    rc, out = playbook('resolve', tmp_path, iid, incident_response_root_cause='a bad release of clickview-backend', **s3_vars)
    assert rc == 0 and len(received('/chat/incidents', iid)) == 3

    # the PIR, as the next AWX job would write it: read from the S3 record, kept in the bucket beside it (the
    # production default: post_incident_review_s3_bucket is the incident bucket), staging refuses it without one
    reports = tmp_path.parent / (tmp_path.name + '-reports')
    pir_vars = dict(s3_vars, clickview_incident_dir=str(tmp_path), clickview_report_dir=str(reports),
                    post_incident_review_id=iid)
    rc, out = run_playbook('playbooks/post_incident_review.yml', extra_vars=dict(
        pir_vars, clickview_environment='staging', post_incident_review_s3_bucket=''))
    assert rc != 0 and any(m.startswith('post_incident_review_s3_bucket is empty, and clickview_environment is staging')
                           for m in failures(out)), failures(out)
    assert not reports.exists()
    rc, out = run_playbook('playbooks/post_incident_review.yml', extra_vars=dict(pir_vars, clickview_environment='staging'))
    assert rc == 0, failures(out)
    for ext in ('svg', 'json', 'md'):
        kept = s3_client().get_object(Bucket=bucket, Key='pir/%s-pir.%s' % (iid, ext))['Body'].read()
        assert kept == (reports / 'pir' / ('%s-pir.%s' % (iid, ext))).read_bytes()
    assert b'a bad release of clickview-backend' in kept
    # the error ratio around the incident is what the lab's Prometheus answers for the review's window (but the
    # newest samples, which a scrape since may have moved), with the milestones recorded marked on it
    chart = json.loads((reports / 'pir' / ('%s-pir.json' % iid)).read_text())['chart']
    window = chart['window']
    assert window['start'] <= ts(record['declared_at']).timestamp() - 15 * 60 and window['end'] <= time.time()
    answer = prometheus_range(chart['query'], window['start'], window['end'], window['step'])
    expected = [[float(t), float(v)] for t, v in answer['data']['result'][0]['values'] if math.isfinite(float(v))]
    compared = len(chart['points']) - 2
    assert compared >= 1 and [t for t, _v in chart['points'][:compared]] == [t for t, _v in expected[:compared]]
    assert [v for _t, v in chart['points'][:compared]] == pytest.approx([v for _t, v in expected[:compared]])
    assert 'Service restored' in [m['label'] for m in chart['markers']]
    assert '### Error ratio' in kept.decode() and '](%s-pir.svg)' % iid in kept.decode()
    assert (reports / 'pir' / ('%s-pir.svg' % iid)).read_text().startswith('<svg')
    record = json.loads(s3_client().get_object(Bucket=bucket, Key='incidents/%s.json' % iid)['Body'].read())
    assert record['timeline'][-1]['details']['s3'] == 's3://%s/pir/%s-pir.md' % (bucket, iid)
    assert record['timeline'][-1]['event'].startswith('Post-incident review drafted: s3://%s/pir/%s-pir.md' % (bucket, iid))


def test_s3_writers_appending_at_once_lose_no_event(bucket):
    """Two CI stages appending to one incident at the same time: S3 conditional writes, retried on conflict."""
    iid = new_id()
    ir.transact_s3(ir.S3Store(s3_client(), bucket, 'ci/'), iid, lambda cur: ir.declare(cur, iid, 't', 'P2'), create=True)
    errors = []

    def stage(name):
        store = ir.S3Store(s3_client(), bucket, 'ci/')
        try:
            for index in range(8):
                ir.transact_s3(store, iid, lambda cur, i=index: ir.append_event(cur, iid, '%s step %d' % (name, i))[0])
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)
    threads = [threading.Thread(target=stage, args=(name,)) for name in ('build', 'deploy')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    record, _etag = ir.S3Store(s3_client(), bucket, 'ci/').load(iid)
    events = [e['event'] for e in record['timeline']][1:]
    assert sorted(events) == sorted('%s step %d' % (n, i) for n in ('build', 'deploy') for i in range(8))
    # a second declaration over an existing object is refused by If-None-Match, not silently overwritten
    assert ir.S3Store(s3_client(), bucket, 'ci/').put(iid, ir.declare(None, iid, 'other', 'P4'), None) is False
    missing = run_module('clickview.runbook.incident_event', dict(storage='s3', s3_bucket=bucket, incident_id=new_id(), event='x',
                                                                  endpoint_url=MOTO, region='us-east-1', access_key='testing',
                                                                  secret_key='testing'))
    assert missing['failed'] and missing['msg'].startswith('incident_id: no incident record for')


def test_escalation_reminder_for_an_incident_older_than_30_minutes(tmp_path):
    iid = new_id()
    started = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=45)).strftime('%Y-%m-%dT%H:%M:%SZ')
    rc, out = playbook('declare', tmp_path, iid, incident_response_title='Old incident %s' % iid,
                       incident_response_severity='P4', incident_response_declared_at=started)
    assert rc == 0, failures(out)
    chat = received('/chat/incidents', iid)
    assert [m['message_type'] for m in chat] == ['initial', 'escalation']
    reminder = chat[1]['text'].splitlines()
    assert reminder[0] == '⏰ ESCALATION: Old incident %s' % iid
    assert reminder[1].startswith('Open for 45m') and 'escalate when blocked > 30 minutes' in reminder[1]
    assert reminder[2] == 'Severity: P4 Low · Status: Investigating'
    assert reminder[3] == ('Escalate to, in order: @eng-lead (Engineering Lead, Slack escalation); then @eng-lead-backup '
                           '(Engineering Lead (secondary), Slack escalation); then @security-lead (Security Lead, '
                           'security@clickview.app, for a security concern); then @vp-eng (VP Engineering, executive '
                           'escalation only)')
    assert not received('/pager', iid)           # P4 pages nobody
    # an update a moment later posts the update but no second reminder (one per 30 minutes)
    rc, out = playbook('update', tmp_path, iid, incident_response_progress='still digging')
    assert rc == 0, failures(out)
    assert [m['message_type'] for m in received('/chat/incidents', iid)] == ['initial', 'escalation', 'update']
    assert load(tmp_path, iid)['timeline'][2]['event'] == 'Escalation message posted to chat'


def test_escalation_sweep_reminds_every_open_incident_once(tmp_path):
    """The scheduled sweep: a reminder for each open incident older than 30 minutes, none for a resolved
    or a young one, and none again within the next 30 minutes."""
    old_open, old_resolved, young = new_id(), new_id(), new_id()
    started = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=45)).strftime('%Y-%m-%dT%H:%M:%SZ')
    for iid, declared_at in ((old_open, started), (old_resolved, started), (young, None)):
        args = dict(action='declare', incident_dir=str(tmp_path), incident_id=iid, title='Sweep %s' % iid, severity='P3')
        if declared_at:
            args['declared_at'] = declared_at
        assert not run_module('clickview.runbook.incident', args).get('failed')
    resolved = run_module('clickview.runbook.incident', dict(action='resolve', incident_dir=str(tmp_path), incident_id=old_resolved,
                                                             root_cause='fixed'))
    assert not resolved.get('failed'), resolved

    rc, out = run_playbook('playbooks/incident_escalation_sweep.yml', extra_vars=dict(clickview_incident_dir=str(tmp_path)))
    assert rc == 0, failures(out)
    assert [m['message_type'] for m in received('/chat/incidents', old_open)] == ['escalation']
    assert received('/chat/incidents', old_resolved) == [] and received('/chat/incidents', young) == []
    assert load(tmp_path, old_open)['timeline'][-1]['event'] == 'Escalation message posted to chat'

    rc, out = run_playbook('playbooks/incident_escalation_sweep.yml', extra_vars=dict(clickview_incident_dir=str(tmp_path)))
    assert rc == 0, failures(out)
    assert [m['message_type'] for m in received('/chat/incidents', old_open)] == ['escalation']


def test_check_mode_changes_nothing(tmp_path):
    iid = new_id()
    rc, out = playbook('declare', tmp_path, iid, check=True, incident_response_title='Check %s' % iid,
                       incident_response_severity='P1')
    assert rc == 0, failures(out)
    assert list(tmp_path.iterdir()) == [] and not received('/chat/incidents', iid) and not received('/pager', iid)
    assert task_results(out, 'Declare | Record the incident')[0]['record']['severity'] == 'P1'

    rc, out = playbook('declare', tmp_path, iid, incident_response_title='Check %s' % iid, incident_response_severity='P3')
    assert rc == 0, failures(out)
    before = (tmp_path / ('%s.json' % iid)).read_bytes()
    for action, extra in (('update', dict(incident_response_status='monitoring', incident_response_progress='fix deployed')),
                          ('resolve', dict(incident_response_root_cause='x'))):
        rc, out = playbook(action, tmp_path, iid, check=True, **extra)
        assert rc == 0, failures(out)
    assert (tmp_path / ('%s.json' % iid)).read_bytes() == before
    assert [m['message_type'] for m in received('/chat/incidents', iid)] == ['initial']


def test_missing_inventory_variable_fails_at_argument_validation(tmp_path):
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text('all:\n  children:\n    runbook_controller:\n      hosts:\n'
                         '        localhost: {ansible_connection: local}\n')
    rc, out = run_playbook('playbooks/incident_declare.yml', inventory=str(inventory),
                           extra_vars={'incident_response_title': 'x'})
    assert rc != 0
    msgs = ' '.join(failures(out))
    assert 'clickview_incident_dir' in msgs and 'clickview_webhooks' in msgs
    validation = task_results(out, 'Validating arguments')
    assert validation and validation[0]['failed'] and 'clickview_incident_dir' in validation[0]['msg']


@pytest.mark.parametrize('action, extra, named', [
    ('declare', {}, 'incident_response_title'),
    ('declare', {'incident_response_title': 'x', 'incident_response_severity': 'P7'}, 'incident_response_severity'),
    ('update', {'incident_response_status': 'fixed'}, 'incident_response_status'),
    ('resolve', {'incident_response_id': None}, 'incident_response_id'),
])
def test_bad_input_is_named(tmp_path, action, extra, named):
    extra_vars = dict(clickview_incident_dir=str(tmp_path), incident_response_id=new_id())
    extra_vars.update(extra)
    extra_vars = {k: v for k, v in extra_vars.items() if v is not None}
    rc, out = run_playbook('playbooks/incident_%s.yml' % action, extra_vars=extra_vars)
    assert rc != 0 and named in ' '.join(failures(out))
    assert list(tmp_path.iterdir()) == []


def test_update_of_an_unknown_incident_names_the_id(tmp_path):
    iid = new_id()
    rc, out = playbook('update', tmp_path, iid, incident_response_progress='x')
    assert rc != 0
    assert "incident_id: no incident record for '%s'" % iid in ' '.join(failures(out))


# ---- the modules directly ---------------------------------------------------------------

def test_incident_module_declare_is_idempotent_and_diffs(tmp_path):
    args = dict(incident_dir=str(tmp_path), incident_id=new_id(), action='declare', title='t', severity='P3', impact='i')
    first = run_module('clickview.runbook.incident', args, diff=True)
    assert first['changed'] and first['exists'] and first['diff']['before'] == ''
    assert json.loads(first['diff']['after'])['severity'] == 'P3'
    again = run_module('clickview.runbook.incident', args)
    assert again['changed'] is False and again['events'] == []
    clash = run_module('clickview.runbook.incident', dict(args, severity='P1'))
    assert clash['failed'] and clash['msg'].startswith('severity: incident ')
    read = run_module('clickview.runbook.incident', dict(incident_dir=str(tmp_path), incident_id=args['incident_id']))
    assert read['changed'] is False and read['record']['title'] == 't' and read['open'] is True


def test_incident_event_module(tmp_path):
    iid = new_id()
    base = dict(incident_dir=str(tmp_path), incident_id=iid)
    missing = run_module('clickview.runbook.incident_event', dict(base, event='x'))
    assert missing['failed'] and missing['msg'].startswith("incident_id: no incident record for '%s'" % iid)
    assert list(tmp_path.iterdir()) == []
    run_module('clickview.runbook.incident', dict(base, action='declare', title='t', severity='P4'))
    before = (tmp_path / ('%s.json' % iid)).read_bytes()
    event = dict(base, event='Terminated 3 queries', kind='action', source='itest', details={'pids': [1, 2, 3]})
    would = run_module('clickview.runbook.incident_event', event, check=True, diff=True)
    assert would['changed'] and would['event']['event'] == 'Terminated 3 queries' and would['timeline_length'] == 2
    assert '+' in would['diff']['after'] or 'Terminated 3 queries' in would['diff']['after']
    assert (tmp_path / ('%s.json' % iid)).read_bytes() == before
    done = run_module('clickview.runbook.incident_event', event)
    assert done['changed'] and load(tmp_path, iid)['timeline'][-1] == done['event']
    assert done['event']['details'] == {'pids': [1, 2, 3]} and done['event']['source'] == 'itest'
    bad = run_module('clickview.runbook.incident_event', dict(base, event='x', kind='bogus'))
    assert bad['failed'] and 'kind' in bad['msg']


def test_list_refuses_bad_input_and_names_a_missing_bucket(tmp_path):
    """action=list: an option of another action, or a bucket that does not exist, fails naming the parameter."""
    s3 = dict(storage='s3', s3_bucket='no-such-bucket-%s' % uuid.uuid4().hex[:8], endpoint_url=MOTO, region='us-east-1',
              access_key='testing', secret_key='testing')
    wrong_option, missing_bucket = run_tasks([
        {'name': 'list with a title', 'ignore_errors': True,
         'clickview.runbook.incident': {'action': 'list', 'incident_dir': str(tmp_path), 'title': 'x'}},
        {'name': 'list a missing bucket', 'ignore_errors': True, 'clickview.runbook.incident': dict(s3, action='list')},
    ])
    assert wrong_option['failed'] and wrong_option['msg'] == 'title: is not used with action=list'
    assert missing_bucket['failed'] and missing_bucket['msg'] == 's3_bucket: bucket %s does not exist' % s3['s3_bucket']
    assert wrong_option['records'] == [] and missing_bucket['records'] == []


def test_every_role_records_where_the_inventory_says(bucket, tmp_path):
    """With clickview_incident_storage=s3 in the inventory, the incident modules and the roles' own
    event tasks (which name only the incident, as in deployment and database_operations) all write
    to the one record in S3; the folder stays empty; an option the task gives still wins."""
    iid = new_id()
    inventory = dict(clickview_incident_storage='s3', clickview_incident_s3_bucket=bucket,
                     clickview_incident_s3_prefix='records/', clickview_incident_dir=str(tmp_path),
                     clickview_aws_region='us-east-1', clickview_aws_endpoint_url=MOTO,
                     clickview_aws_access_key='testing', clickview_aws_secret_key='testing')
    play = tmp_path.parent / ('%s-play.yml' % iid)
    play.write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'connection': 'local', 'tasks': [
        {'name': 'declare', 'vars': inventory,
         'clickview.runbook.incident': {'incident_id': iid, 'action': 'declare', 'title': 'storage from the inventory',
                                        'severity': 'P3'}},
        {'name': 'a module event', 'vars': inventory,
         'clickview.runbook.incident_event': {'incident_id': iid, 'event': 'a module event'}},
        {'name': 'a deployment event', 'ansible.builtin.include_role': {
            'name': 'clickview.runbook.deployment', 'tasks_from': 'common/incident_event.yml'},
         'vars': dict(inventory, incident_id=iid, deployment_event='rolled back to revision 4',
                      deployment_procedure='rollback')},
        {'name': 'a database event', 'ansible.builtin.include_role': {
            'name': 'clickview.runbook.database_operations', 'tasks_from': 'incident_event.yml'},
         'vars': dict(inventory, incident_id=iid, database_operations_event='terminated 3 queries',
                      database_operations_event_source='database_operations/kill_long_queries')},
        # keys left to the environment (an instance role in production): the inventory's omit is no value
        {'name': 'keys from the environment',
         'environment': {'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing'},
         'vars': dict(inventory, clickview_aws_access_key='{{ vault_clickview_aws_access_key | default(omit) }}',
                      clickview_aws_secret_key='{{ vault_clickview_aws_secret_key | default(omit) }}'),
         'clickview.runbook.incident_event': {'incident_id': iid, 'event': 'keys from the environment'}},
        {'name': 'list every record', 'vars': inventory, 'clickview.runbook.incident': {'action': 'list'}},
        {'name': 'file storage named in the task', 'vars': inventory, 'ignore_errors': True,
         'clickview.runbook.incident_event': {'incident_id': iid, 'event': 'not here', 'storage': 'file',
                                              'incident_dir': str(tmp_path)}},
    ]}]), encoding='utf-8')
    _rc, out = run_playbook(str(play), inventory='localhost,')
    results = [task_results(out, name)[-1] for name in ('declare', 'a module event', 'a deployment event',
                                                        'a database event', 'file storage named in the task',
                                                        'keys from the environment', 'list every record')]
    assert results[0]['record_path'] == 's3://%s/records/%s.json' % (bucket, iid), results[0]
    assert all(not r.get('failed') for r in results[:4]), results
    record = json.loads(s3_client().get_object(Bucket=bucket, Key='records/%s.json' % iid)['Body'].read())
    events = [e['event'] for e in record['timeline']]
    assert events[-4:] == ['a module event', 'rolled back to revision 4', 'terminated 3 queries',
                           'keys from the environment'], events
    assert [e['source'] for e in record['timeline'][-3:-1]] == ['deployment/rollback', 'database_operations/kill_long_queries']
    assert not results[5].get('failed'), results[5]
    # action=list reads the bucket too (the on-call handoff lists the records this way)
    assert [r['id'] for r in results[6]['records']] == [iid] and results[6]['unreadable'] == {}
    assert len(results[6]['records'][0]['timeline']) == len(record['timeline'])
    # the task's own storage=file won: that folder holds no record of the incident, so it failed
    assert results[4]['failed'] and 'no incident record' in results[4]['msg'] and str(tmp_path) in results[4]['record_path']
    assert list(tmp_path.iterdir()) == []


def test_a_page_that_was_not_delivered_is_sent_again_by_the_next_update(tmp_path):
    """'Already paged' means a delivered page: a declare whose page went to a dead endpoint records it as not
    delivered (after its retries), and the next update pages."""
    iid = new_id()
    hooks = dict(chat=SINK + '/chat/incidents', pager='http://127.0.0.1:9/pager', status_page='')
    rc, out = playbook('declare', tmp_path, iid, incident_response_title='Checkout down (%s)' % iid,
                       incident_response_severity='P1', incident_response_impact='checkout fails',
                       incident_response_webhooks=hooks, incident_response_webhook_retries=1,
                       incident_response_fail_on_notify_error=False)
    assert rc == 0, failures(out)
    pages = [e for e in load(tmp_path, iid)['timeline'] if e.get('details', {}).get('channel') == 'pager']
    assert len(pages) == 1 and pages[0]['details']['delivered'] in (False, 'False')
    assert 'NOT DELIVERED' in pages[0]['event'] and str(pages[0]['details']['attempts']) == '2'
    assert not received('/pager', iid)

    rc, out = playbook('update', tmp_path, iid, incident_response_status='identified',
                       incident_response_progress='payment provider outage')
    assert rc == 0, failures(out)
    assert [(p['event_action'], p['dedup_key']) for p in received('/pager', iid)] == [('trigger', iid)]
    # delivered now: a further update does not page again
    rc, out = playbook('update', tmp_path, iid, incident_response_status='monitoring',
                       incident_response_progress='provider recovered')
    assert rc == 0, failures(out)
    assert len(received('/pager', iid)) == 1
