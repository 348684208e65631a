# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/incident_record.py (no Ansible, no services)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import multiprocessing
import os
import sys

import pytest

_COLLECTIONS = os.path.join(os.path.dirname(__file__), '..', '..', '.collections')
if os.path.isdir(_COLLECTIONS) and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.clickview.runbook.plugins.module_utils import incident_record as ir  # noqa: E402

T0 = datetime.datetime(2025, 1, 31, 14, 0, 0, tzinfo=datetime.timezone.utc)


def at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


def declared(**extra):
    args = dict(title='API errors', severity='P2', impact='all users', alert='High Error Rate', now=T0)
    args.update(extra)
    return ir.declare(None, 'INC-1', **args)


# ---- time helpers ----------------------------------------------------------------------

@pytest.mark.parametrize('seconds, text', [
    (0, '0s'), (45, '45s'), (60, '1m'), (610, '10m 10s'), (3600, '1h'), (4969, '1h 22m'), (93784, '1d 2h 3m'),
    (None, '0s'), (-5, '0s'),
])
def test_format_duration(seconds, text):
    assert ir.format_duration(seconds) == text


@pytest.mark.parametrize('value', ['2025-01-31T14:00:00Z', '2025-01-31T14:00:00+00:00', '2025-01-31T15:00:00+01:00',
                                   '2025-01-31T14:00:00', '2025-01-31T14:00:00.123Z'])
def test_parse_ts_normalises_to_utc(value):
    assert ir.parse_ts(value, 'declared_at') == T0


def test_parse_ts_names_the_parameter():
    with pytest.raises(ir.IncidentError, match='^declared_at: not an ISO 8601'):
        ir.parse_ts('yesterday', 'declared_at')


@pytest.mark.parametrize('bad', ['', '../etc/passwd', 'a/b', '.hidden', 'x' * 129, None, 'with space'])
def test_validate_id_refuses_path_like_ids(bad):
    with pytest.raises(ir.IncidentError, match='^incident_id:'):
        ir.validate_id(bad)


# ---- declare -----------------------------------------------------------------------------

def test_declare_builds_the_record():
    record = declared()
    assert record['id'] == 'INC-1' and record['status'] == 'investigating' and record['severity'] == 'P2'
    assert record['declared_at'] == '2025-01-31T14:00:00Z' and record['resolved_at'] is None
    assert record['duration_seconds'] is None and record['action_items'] == []
    assert [e['kind'] for e in record['timeline']] == ['status']
    assert set(record['timeline'][0]) == {'at', 'kind', 'source', 'event', 'details'}
    assert record['timeline'][0]['details']['alert'] == 'High Error Rate'


def test_declare_again_with_same_content_is_a_no_op():
    record = declared()
    assert ir.declare(record, 'INC-1', 'API errors', 'p2', impact='all users', alert='High Error Rate',
                      now=at(5)) is record


def test_declare_again_with_other_content_fails_naming_the_field():
    with pytest.raises(ir.IncidentError, match='^severity: incident INC-1 is already declared'):
        ir.declare(declared(), 'INC-1', 'API errors', 'P1', impact='all users', alert='High Error Rate')


@pytest.mark.parametrize('args, param', [
    (dict(title='', severity='P1'), 'title'),
    (dict(title='x', severity='P5'), 'severity'),
    (dict(title='x', severity=None), 'severity'),
    (dict(title='x', severity='P1', declared_at='2099-01-01T00:00:00Z'), 'declared_at'),
])
def test_declare_bad_input(args, param):
    with pytest.raises(ir.IncidentError) as info:
        ir.declare(None, 'INC-1', now=T0, **args)
    assert info.value.param == param


def test_declare_in_the_past():
    record = ir.declare(None, 'INC-1', 'x', 'P3', declared_at='2025-01-31T13:15:00Z', now=T0)
    assert record['declared_at'] == '2025-01-31T13:15:00Z'
    assert ir.age_seconds(record, T0) == 45 * 60


# ---- update --------------------------------------------------------------------------------

def test_update_records_each_change():
    record = ir.update(declared(), 'INC-1', status='mitigating', severity='P1', progress='rolled back', now=at(10))
    events = [e['event'] for e in record['timeline'][1:]]
    assert events == ['Status changed from investigating to mitigating', 'Severity changed from P2 to P1',
                      'Progress: rolled back']
    assert record['status'] == 'mitigating' and record['severity'] == 'P1'
    assert record['updated_at'] == '2025-01-31T14:10:00Z'


def test_update_repeating_the_last_progress_note_is_a_no_op():
    first = ir.update(declared(), 'INC-1', status='mitigating', progress='rolled back', now=at(10))
    assert ir.update(first, 'INC-1', status='mitigating', progress='rolled back', now=at(12)) is first
    second = ir.update(first, 'INC-1', progress='error ratio falling', now=at(12))
    assert second['timeline'][-1]['event'] == 'Progress: error ratio falling'


def test_update_needs_a_record_and_an_open_incident():
    with pytest.raises(ir.IncidentNotFound, match='^incident_id: no incident record'):
        ir.update(None, 'INC-1', progress='x')
    resolved = ir.resolve(declared(), 'INC-1', now=at(30))
    with pytest.raises(ir.IncidentError, match='was resolved'):
        ir.update(resolved, 'INC-1', progress='x')
    with pytest.raises(ir.IncidentError, match='^status:'):
        ir.update(declared(), 'INC-1', status='resolved')


# ---- resolve -------------------------------------------------------------------------------

def test_resolve_computes_the_duration():
    record = ir.resolve(declared(), 'INC-1', root_cause='bad release', follow_up='OPS-1', action_items=['canary'],
                        now=at(82))
    assert record['status'] == 'resolved' and record['resolved_at'] == '2025-01-31T15:22:00Z'
    assert record['duration_seconds'] == 82 * 60
    assert record['timeline'][-1]['event'] == 'Incident resolved after 1h 22m'
    assert record['action_items'] == [{'text': 'canary', 'owner': None, 'due': '2025-02-14', 'status': 'open'}]
    assert record['root_cause'] == 'bad release'


def test_resolve_twice_changes_nothing_unless_new_facts():
    record = ir.resolve(declared(), 'INC-1', root_cause='bad release', action_items=['canary'], now=at(82))
    assert ir.resolve(record, 'INC-1', root_cause='bad release', action_items=['canary'], now=at(90)) is record
    again = ir.resolve(record, 'INC-1', follow_up='OPS-2', now=at(90))
    assert again['follow_up'] == 'OPS-2' and again['duration_seconds'] == 82 * 60
    assert again['timeline'][-1]['event'] == 'Resolution details updated'


def test_resolve_before_declaration_fails():
    with pytest.raises(ir.IncidentError, match='^resolved_at: is before'):
        ir.resolve(declared(), 'INC-1', resolved_at='2025-01-31T13:00:00Z', now=at(5))


# ---- events --------------------------------------------------------------------------------

def test_append_event_validates():
    record, entry = ir.append_event(declared(), 'INC-1', 'killed 3 queries', kind='action', details={'pids': [1, 2]},
                                    now=at(3))
    assert record['timeline'][-1] == entry == {'at': '2025-01-31T14:03:00Z', 'kind': 'action',
                                               'source': 'clickview.runbook', 'event': 'killed 3 queries',
                                               'details': {'pids': [1, 2]}}
    for kwargs, param in ((dict(event=' '), 'event'), (dict(event='x', kind='bogus'), 'kind'),
                          (dict(event='x', details={'o': object()}), 'details')):
        with pytest.raises(ir.IncidentError) as info:
            ir.append_event(declared(), 'INC-1', **kwargs)
        assert info.value.param == param


# ---- storage -------------------------------------------------------------------------------

def test_transact_persists_and_check_mode_writes_nothing(tmp_path):
    folder = str(tmp_path / 'incidents')

    def declare(current):
        return ir.declare(current, 'INC-1', 'x', 'P3', now=T0)

    before, after, changed = ir.transact(folder, 'INC-1', declare, check_mode=True, create_dir=True)
    assert before is None and after['id'] == 'INC-1' and changed and not os.path.exists(folder)
    _b, after, changed = ir.transact(folder, 'INC-1', declare, create_dir=True)
    assert changed and ir.load(folder, 'INC-1') == after
    _b, _a, changed = ir.transact(folder, 'INC-1', declare, create_dir=True)
    assert not changed
    names = sorted(os.listdir(folder))
    assert names == ['.INC-1.lock', 'INC-1.json']

    def add(current):
        return ir.append_event(current, 'INC-1', 'checked')[0]

    mtime = os.stat(os.path.join(folder, 'INC-1.json')).st_mtime_ns
    _b, after, changed = ir.transact(folder, 'INC-1', add, check_mode=True)
    assert changed and len(after['timeline']) == 2
    assert os.stat(os.path.join(folder, 'INC-1.json')).st_mtime_ns == mtime
    assert len(ir.load(folder, 'INC-1')['timeline']) == 1


def test_transact_on_a_missing_record_fails_without_a_lock_file(tmp_path):
    with pytest.raises(ir.IncidentNotFound):
        ir.transact(str(tmp_path), 'INC-9', lambda current: ir.append_event(current, 'INC-9', 'x')[0])
    with pytest.raises(ir.IncidentNotFound):
        ir.transact(str(tmp_path / 'missing'), 'INC-9', lambda current: current)
    assert os.listdir(str(tmp_path)) == []


def test_load_refuses_a_foreign_or_broken_file(tmp_path):
    (tmp_path / 'INC-1.json').write_text('{not json')
    with pytest.raises(ir.IncidentError, match='^incident_dir: .* not a valid incident record'):
        ir.load(str(tmp_path), 'INC-1')
    (tmp_path / 'INC-2.json').write_text(json.dumps({'id': 'other', 'timeline': []}))
    with pytest.raises(ir.IncidentError, match='not an incident record for INC-2'):
        ir.load(str(tmp_path), 'INC-2')


def _append_many(folder, worker, count):
    for index in range(count):
        ir.transact(folder, 'INC-1', lambda current, i=index: ir.append_event(current, 'INC-1', 'w%d-%d' % (worker, i))[0])


def test_concurrent_writers_lose_no_event(tmp_path):
    folder = str(tmp_path)
    ir.transact(folder, 'INC-1', lambda current: ir.declare(current, 'INC-1', 'x', 'P3'), create_dir=True)
    workers = [multiprocessing.Process(target=_append_many, args=(folder, w, 25)) for w in range(6)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(60)
        assert proc.exitcode == 0
    events = [e['event'] for e in ir.load(folder, 'INC-1')['timeline'][1:]]
    assert len(events) == 150 and len(set(events)) == 150
    assert not [n for n in os.listdir(folder) if n.endswith('.tmp')]


def test_summary():
    record = ir.resolve(declared(), 'INC-1', now=at(75))
    assert ir.summary(record) == {'age_seconds': 4500, 'age_human': '1h 15m', 'open': False,
                                  'duration_human': '1h 15m', 'events': 2, 'severity_label': 'P2 High'}
    assert ir.summary(declared(), now=at(31))['age_seconds'] == 31 * 60


def test_severity_label_names_the_runbook_table():
    assert [ir.severity_label(s) for s in ir.SEVERITIES] == ['P1 Critical', 'P2 High', 'P3 Medium', 'P4 Low']
    assert ir.severity_label('') == '' and ir.severity_label(None) == ''


def test_storage_names_the_missing_parameter(tmp_path):
    with pytest.raises(ir.IncidentError) as err:
        ir.Storage({'storage': 'file', 'incident_dir': ''})
    assert err.value.param == 'incident_dir'
    with pytest.raises(ir.IncidentError) as err:
        ir.Storage({'storage': 's3', 's3_bucket': None}, s3_client=lambda: None)
    assert err.value.param == 's3_bucket'
    storage = ir.Storage({'storage': 'file', 'incident_dir': str(tmp_path)})
    assert storage.location('INC-1') == str(tmp_path / 'INC-1.json')
    assert storage.transact('INC-1', lambda cur: ir.declare(cur, 'INC-1', 't', 'P3'), create=True)[2]
    assert storage.load('INC-1')['severity'] == 'P3'
    assert ir.S3Store(None, 'b', 'p/').location('INC-1') == 's3://b/p/INC-1.json'


def test_list_gives_every_record_oldest_first_and_names_the_unreadable(tmp_path):
    storage = ir.Storage({'storage': 'file', 'incident_dir': str(tmp_path)})
    assert storage.list() == ([], {})
    for incident_id, minutes in (('INC-late', 30), ('INC-early', 0)):
        storage.transact(incident_id, lambda current, i=incident_id, m=minutes: ir.declare(
            current, i, 'API errors', 'P2', now=at(m)), create=True)
    (tmp_path / 'INC-broken.json').write_text('{not json')
    (tmp_path / 'notes.txt').write_text('not a record')
    records, unreadable = storage.list()
    assert [r['id'] for r in records] == ['INC-early', 'INC-late']
    assert list(unreadable) == ['INC-broken'] and 'not a valid incident record' in unreadable['INC-broken']


# ---- who acted (issue 17) ------------------------------------------------------------------

def os_user():
    return 'ops-bob'


def controller():
    return 'ops-laptop'


def test_actor_from_awx_job_metadata():
    actor = ir.actor_from_vars({'awx_user_name': 'alice', 'awx_job_id': 4711, 'awx_job_template_name': 'Deploy | Canary',
                                'awx_job_launch_type': 'manual', 'awx_user_email': 'alice@example.com',
                                'awx_execution_node': 'awx-ee-1', 'tower_user_name': 'alice', 'tower_job_id': 4711},
                               getuser=os_user, gethostname=controller)
    assert actor == {'user': 'alice', 'via': 'awx', 'job': 4711, 'host': 'awx-ee-1', 'job_template': 'Deploy | Canary',
                     'launch_type': 'manual', 'email': 'alice@example.com'}


def test_actor_from_legacy_tower_names():
    actor = ir.actor_from_vars({'tower_user_name': 'carol', 'tower_job_id': '812', 'tower_job_template_name': 'Scale'},
                               getuser=os_user, gethostname=controller)
    assert actor == {'user': 'carol', 'via': 'awx', 'job': 812, 'host': 'ops-laptop', 'job_template': 'Scale'}
    # the awx_ name wins over the tower_ one
    assert ir.actor_from_vars({'awx_user_name': 'dave', 'tower_user_name': 'carol', 'awx_job_id': 1},
                              getuser=os_user, gethostname=controller)['user'] == 'dave'


def test_actor_of_a_scheduled_awx_job_names_the_schedule():
    actor = ir.actor_from_vars({'awx_job_id': 9, 'awx_schedule_name': 'hourly WAF purge', 'awx_job_launch_type': 'scheduled'},
                               getuser=os_user, gethostname=controller)
    assert actor['user'] == 'schedule:hourly WAF purge' and actor['via'] == 'awx' and actor['job'] == 9


@pytest.mark.parametrize('variables', [{}, None, {'awx_user_name': '', 'awx_job_id': None, 'tower_job_id': '  '}])
def test_actor_without_awx_is_the_os_user_on_this_host(variables):
    assert ir.actor_from_vars(variables, getuser=os_user, gethostname=controller) == {
        'user': 'ops-bob', 'via': 'cli', 'job': None, 'host': 'ops-laptop'}


def test_actor_defaults_to_the_real_os_user_and_host():
    import getpass  # pylint: disable=import-outside-toplevel
    import socket  # pylint: disable=import-outside-toplevel
    actor = ir.actor_from_vars({})
    assert actor == {'user': getpass.getuser(), 'via': 'cli', 'job': None, 'host': socket.gethostname()}


@pytest.mark.parametrize('value, kept', [('CHG-1234', 'CHG-1234'), (' CHG-7 ', 'CHG-7'), ('  ', None), ('', None), (None, None)])
def test_actor_carries_the_change_reference(value, kept):
    actor = ir.actor_from_vars({'change_reference': value}, getuser=os_user, gethostname=controller)
    assert actor.get('change_reference') == kept


def test_every_event_carries_the_actor():
    actor = {'user': 'alice', 'via': 'awx', 'job': 42, 'host': 'awx-ee-1'}
    record = declared(actor=actor)
    record = ir.update(record, 'INC-1', status='mitigating', progress='rolled back', actor=actor, now=at(5))
    record = ir.resolve(record, 'INC-1', root_cause='bad release', actor=actor, now=at(60))
    record = ir.resolve(record, 'INC-1', follow_up='OPS-1', actor=actor, now=at(61))
    record, entry = ir.append_event(record, 'INC-1', 'note', actor=actor, now=at(62))
    assert len(record['timeline']) == 6
    assert all(e['actor'] == actor for e in record['timeline']) and entry['actor'] == actor
    assert record['timeline'][0]['actor'] is not actor  # a copy, not the caller's dictionary


def test_an_event_without_actor_has_no_actor_key():
    assert 'actor' not in declared()['timeline'][0]


@pytest.mark.parametrize('actor', ['alice', ['alice'], {'via': 'cli'}, {'user': ' '}, {'user': 'a', 'x': object()}])
def test_a_bad_actor_names_the_parameter(actor):
    with pytest.raises(ir.IncidentError) as info:
        ir.append_event(declared(), 'INC-1', 'x', actor=actor)
    assert info.value.param == 'actor'


def test_actor_text():
    assert ir.actor_text({'user': 'alice', 'via': 'awx', 'job': 42, 'host': 'awx-ee-1', 'change_reference': 'CHG-1'}) \
        == 'alice (AWX job 42 on awx-ee-1, change CHG-1)'
    assert ir.actor_text({'user': 'bob', 'via': 'cli', 'job': None, 'host': 'ops-1'}) == 'bob@ops-1 (cli)'
    assert ir.actor_text(None) == '' and ir.actor_text({}) == ''
