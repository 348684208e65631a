# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A record that tells the truth (issue 20), no services: the milestones computed from the timeline, the runbook's
response times checked against them (at the boundaries), the reminders of the escalation sweep (at the
boundaries), action items with owner, due date and status, and the PIR built from all of it."""

import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.escalation_contacts import escalation_contacts
from ansible_collections.clickview.runbook.plugins.filter.incident_reminders import incident_reminders
from ansible_collections.clickview.runbook.plugins.module_utils import incident_record as ir
from ansible_collections.clickview.runbook.plugins.module_utils import pir
from ansible_collections.clickview.runbook.plugins.module_utils import runbook_thresholds as rt

T0 = datetime.datetime(2025, 1, 31, 14, 0, 0, tzinfo=datetime.timezone.utc)


def at(minutes=0, seconds=0):
    return T0 + datetime.timedelta(minutes=minutes, seconds=seconds)


def ts(minutes=0, seconds=0):
    return ir.format_ts(at(minutes, seconds))


def declared(severity='P2', alert_minutes=None, declared_minutes=0, **extra):
    """Declared at T0 + declared_minutes; with alert_minutes, started by an alert that fired then (back-dated)."""
    details = {}
    kwargs = dict(now=at(declared_minutes))
    if alert_minutes is not None:
        details = {'alert_fingerprint': 'f00d', 'alert_starts_at': ts(alert_minutes)[:-1] + '.5Z'}
        kwargs['declared_at'] = ts(alert_minutes)
    kwargs.update(extra)
    return ir.declare(None, 'INC-1', 'API errors', severity, alert='High Error Rate', details=details, **kwargs)


def event(record, minutes, text, kind='action', seconds=0, **details):
    return ir.append_event(record, 'INC-1', text, kind=kind, details=details, now=at(minutes, seconds))[0]


def acknowledged(record, minutes, seconds=0, **details):
    fields = dict(channel='pager', action='acknowledge', delivered=True)
    fields.update(details)
    return event(record, minutes, 'PagerDuty acknowledge sent', kind='notification', seconds=seconds, **fields)


def remediated(record, minutes, outcome='remediated', structured=True):
    text = 'High Error Rate: verified after the resolution steps: %s - outcome %s' % (
        'OK' if outcome == 'remediated' else 'FAIL', outcome)
    return event(record, minutes, text, kind='finding', **({'outcome': outcome} if structured else {}))


def targets(record, now=None):
    return {t['target']: t for t in ir.response(record, now)['targets']}


# ---- the table ---------------------------------------------------------------------------------------------

def test_response_times_are_the_runbooks_table():
    assert rt.ACKNOWLEDGE_WITHIN == {'P1': 5 * 60, 'P2': 15 * 60, 'P3': 60 * 60, 'P4': 24 * 3600}
    assert (rt.UPDATE_EVERY, rt.ESCALATE_AFTER) == (15 * 60, 30 * 60)
    assert set(rt.ACKNOWLEDGE_WITHIN) == set(ir.SEVERITIES)


# ---- milestones ----------------------------------------------------------------------------------------------

def test_milestones_from_the_systems():
    record = declared(alert_minutes=-3)                 # the alert fired 3 minutes before the run declared it
    record = event(record, 1, 'Progress: looking', kind='action')
    record = acknowledged(record, 4)
    record = remediated(record, 9, outcome='needs_attention')
    record = remediated(record, 12)
    record = remediated(record, 14)
    record = ir.resolve(record, 'INC-1', now=at(20))
    assert record['milestones'] == {
        'alert_triggered': ts(-3), 'declared': ts(0), 'acknowledged': ts(4), 'acknowledged_source': 'pagerduty',
        'mitigated': ts(12), 'mitigated_by': 'High Error Rate: verified after the resolution steps: OK - outcome remediated',
        'resolved': ts(20)}
    figures = record['response']
    assert (figures['start'], figures['start_source']) == (ts(-3), 'alert')
    assert (figures['time_to_acknowledge_seconds'], figures['time_to_mitigate_seconds'],
            figures['time_to_resolve_seconds']) == (7 * 60, 15 * 60, 23 * 60)
    assert (figures['time_to_acknowledge'], figures['time_to_mitigate'], figures['time_to_resolve']) == ('7m', '15m', '23m')


def test_the_declaration_is_the_acknowledgement_when_pagerduty_recorded_none_and_says_so():
    record = declared(alert_minutes=-2, declared_minutes=0)
    record = acknowledged(record, 3, delivered=False)     # not delivered: no acknowledgement
    record = event(record, 4, 'PagerDuty trigger sent', kind='notification', channel='pager', pager_action='trigger',
                   delivered=True)
    marks = ir.milestones(record)
    assert (marks['acknowledged'], marks['acknowledged_source']) == (ts(0), 'declare')
    assert ir.response(record, at(5))['time_to_acknowledge_seconds'] == 120
    assert (marks['mitigated'], marks['resolved']) == (None, None)


@pytest.mark.parametrize('details', [dict(action='acknowledge'), dict(pager_action='acknowledge', action=None),
                                     dict(delivered='True'), dict(delivered='true', milestone='acknowledged')])
def test_either_shape_of_a_delivered_pagerduty_acknowledgement_counts(details):
    record = acknowledged(declared(), 6, **details)
    assert (ir.milestones(record)['acknowledged'], ir.milestones(record)['acknowledged_source']) == (ts(6), 'pagerduty')


def test_an_alert_start_that_cannot_be_read_is_no_alert_start():
    record = ir.declare(None, 'INC-1', 't', 'P3', details={'alert_starts_at': 'yesterday'}, now=T0)
    assert ir.milestones(record)['alert_triggered'] is None
    assert ir.response(record, at(1))['start_source'] == 'declared'


def test_a_declaration_made_later_than_the_incident_began_is_declared_when_recorded():
    record = ir.declare(None, 'INC-1', 't', 'P3', declared_at=ts(-20), now=T0)
    assert record['timeline'][0]['at'] == ts(-20) and record['timeline'][0]['details']['recorded_at'] == ts(0)
    assert ir.milestones(record)['declared'] == ts(0)
    figures = ir.response(record, at(1))
    assert (figures['start'], figures['start_source'], figures['time_to_acknowledge_seconds']) == (ts(-20), 'declared', 1200)
    assert 'recorded_at' not in ir.declare(None, 'INC-2', 't', 'P3', now=T0)['timeline'][0]['details']


def test_the_mitigation_is_a_remediation_that_verified_by_its_outcome_or_its_text():
    assert ir.milestones(remediated(declared(), 5, structured=False))['mitigated'] == ts(5)
    for record in (remediated(declared(), 5, outcome='needs_attention'), event(declared(), 5, 'Rolled back', kind='action'),
                   event(declared(), 5, 'x: verified after the resolution steps: OK - outcome remediated',
                         kind='notification')):
        assert ir.milestones(record)['mitigated'] is None


def test_milestones_in_time_order_even_when_recorded_out_of_order():
    record = remediated(declared(), 10)
    record['timeline'].append(dict(record['timeline'][-1], at=ts(7)))
    assert ir.milestones(record)['mitigated'] == ts(7)


def test_every_write_carries_the_computed_parts_and_schema_2():
    record = declared()
    assert record['schema_version'] == 2 and set(record['milestones']) >= {'declared', 'acknowledged'}
    assert record['response']['computed_at'] == ts(0)
    updated = ir.update(record, 'INC-1', progress='x', now=at(3))
    assert updated['response']['computed_at'] == ts(3)
    assert ir.update(updated, 'INC-1', progress='x', now=at(5)) is updated   # nothing new: nothing recomputed


# ---- response times at the boundaries ----------------------------------------------------------------------

@pytest.mark.parametrize('severity, seconds, result', [
    ('P1', 300, 'met'), ('P1', 301, 'missed'), ('P2', 900, 'met'), ('P2', 901, 'missed'),
    ('P3', 3600, 'met'), ('P3', 3601, 'missed'), ('P4', 86400, 'met'), ('P4', 86401, 'missed')])
def test_acknowledge_within_the_severitys_response_time(severity, seconds, result):
    record = acknowledged(declared(severity, alert_minutes=0, declared_minutes=0), 0, seconds=seconds)
    target = targets(record, at(0, seconds))['acknowledge']
    assert (target['limit_seconds'], target['actual_seconds'], target['result']) == (rt.ACKNOWLEDGE_WITHIN[severity], seconds, result)
    assert target['basis'].startswith('%s: acknowledge within ' % ir.severity_label(severity))


def test_acknowledgement_of_an_unknown_severity_is_unknown():
    record = declared()
    record['severity'] = 'P9'
    assert targets(record, at(1))['acknowledge']['result'] == 'unknown'


@pytest.mark.parametrize('gap, result', [(900, 'met'), (901, 'missed')])
def test_an_update_every_15_minutes(gap, result):
    record = event(declared(), 0, 'Progress: one', seconds=gap)
    record = ir.resolve(record, 'INC-1', now=at(0, gap + 60))
    target = targets(record)['updates']
    assert (target['actual_seconds'], target['result'], target['final']) == (gap, result, True)


def test_updates_of_an_open_incident_count_the_time_since_the_last_one():
    record = declared()
    assert (targets(record, at(15))['updates']['result'], targets(record, at(15))['updates']['final']) == ('met', False)
    assert (targets(record, at(15, 1))['updates']['result'], targets(record, at(15, 1))['updates']['final']) == ('missed', True)


def test_what_counts_as_an_update():
    record = declared()
    record = event(record, 10, 'Escalation message posted to chat', kind='notification', channel='chat', message='escalation',
                   delivered=True)
    record = event(record, 12, 'Killed 3 queries', kind='action')
    record = event(record, 13, 'Update message posted to chat - NOT DELIVERED: HTTP 503', kind='notification',
                   channel='chat', message='update', delivered=False)
    assert ir.update_moments(record) == [at(0)]
    record = event(record, 14, 'Update message posted to chat', kind='notification', channel='chat', message='update',
                   delivered='True')
    assert ir.update_moments(record) == [at(0), at(14)]


# ---- reminders at the boundaries ---------------------------------------------------------------------------

@pytest.mark.parametrize('seconds, escalation', [(1799, False), (1800, True)])
def test_escalation_is_due_at_30_minutes(seconds, escalation):
    record = event(declared(), 20, 'Progress: x')          # updated: no update reminder
    assert ir.reminders(record, at(0, seconds))['escalation'] is escalation


@pytest.mark.parametrize('seconds, due', [(899, False), (900, True)])
def test_an_update_reminder_is_due_15_minutes_after_the_last_update(seconds, due):
    record = event(declared(), 5, 'Progress: x')
    decision = ir.reminders(record, at(5, seconds))
    assert (decision['update_reminder'], decision['escalation']) == (due, False)
    assert decision['last_update_at'] == ts(5) and decision['since_update_seconds'] == seconds


def test_reminders_repeat_at_most_once_per_interval():
    record = declared()
    record = event(record, 15, 'Reminder message posted to chat', kind='notification', message='reminder', delivered=True)
    assert ir.reminders(record, at(29, 59))['update_reminder'] is False
    assert ir.reminders(record, at(30))['update_reminder'] is True
    record = event(record, 30, 'Escalation message posted to chat', kind='notification', message='escalation', delivered=True)
    assert ir.reminders(record, at(59, 59))['escalation'] is False
    assert ir.reminders(record, at(60))['escalation'] is True


def test_no_reminder_for_a_resolved_incident_or_a_switched_off_one():
    resolved = ir.resolve(declared(), 'INC-1', now=at(1))
    assert ir.reminders(resolved, at(120)) == dict(ir.reminders(resolved, at(120)), open=False, escalation=False,
                                                   update_reminder=False, reasons=[])
    decision = ir.reminders(declared(), at(120), escalate_after=0, update_every=0)
    assert (decision['escalation'], decision['update_reminder']) == (False, False)


def test_a_back_dated_declaration_is_an_update_when_it_was_recorded():
    record = ir.declare(None, 'INC-1', 't', 'P3', declared_at=ts(-45), now=T0)
    decision = ir.reminders(record, at(1))
    assert (decision['escalation'], decision['update_reminder']) == (True, False)
    assert decision['reasons'] == ['open for 46m (escalate when blocked > 30m)']


def test_the_reminders_filter():
    records = [declared(), ir.resolve(declared(), 'INC-1', now=at(1))]
    out = incident_reminders(records, now=ts(16), escalate_after_minutes=30, update_interval_minutes=15)
    assert [(d['open'], d['update_reminder'], d['since_update']) for d in out] == [(True, True, '16m'), (False, False, None)]
    assert incident_reminders(declared(), now=ts(16))[0]['update_reminder'] is True
    with pytest.raises(AnsibleFilterError, match='now: not an ISO 8601'):
        incident_reminders([declared()], now='soon')
    with pytest.raises(AnsibleFilterError, match='expects a list'):
        incident_reminders('INC-1')


def test_escalation_contacts_in_order():
    contacts = [{'contact': '@eng-lead', 'role': 'Engineering Lead', 'via': 'Slack escalation'}, '@eng-lead-backup',
                {'contact': '@vp-eng', 'role': 'VP Engineering'}]
    assert escalation_contacts(contacts) == ['@eng-lead (Engineering Lead, Slack escalation)', '@eng-lead-backup',
                                             '@vp-eng (VP Engineering)']
    with pytest.raises(AnsibleFilterError, match='contact 2 has no handle'):
        escalation_contacts(['@a', {'role': 'Security Lead'}])


# ---- action items ----------------------------------------------------------------------------------------

def test_action_items_from_texts_and_dictionaries():
    record = ir.resolve(declared(), 'INC-1', now=at(60), action_item_due_days=7, action_items=[
        'Add a canary gate @platform', 'Alert sooner',
        {'text': 'Rotate the key', 'owner': '@security-lead', 'due': '2025-02-03'},
        {'action': 'Page earlier', 'due': '2025-02-10T09:00:00Z', 'status': 'Done'}])
    assert record['action_items'] == [
        {'text': 'Add a canary gate @platform', 'owner': '@platform', 'due': '2025-02-07', 'status': 'open'},
        {'text': 'Alert sooner', 'owner': None, 'due': '2025-02-07', 'status': 'open'},
        {'text': 'Rotate the key', 'owner': '@security-lead', 'due': '2025-02-03', 'status': 'open'},
        {'text': 'Page earlier', 'owner': None, 'due': '2025-02-10', 'status': 'done'}]


@pytest.mark.parametrize('item, param', [
    ({'owner': '@x'}, 'action_items[0].text'), ({'text': 'x', 'due': 'next week'}, 'action_items[0].due'),
    ({'text': 'x', 'status': 'closed'}, 'action_items[0].status'), ({'text': 'x', 'priority': 1}, 'action_items[0]'),
    (['x'], 'action_items[0]'), ('  ', 'action_items[0]')])
def test_a_bad_action_item_names_itself(item, param):
    with pytest.raises(ir.IncidentError) as info:
        ir.resolve(declared(), 'INC-1', action_items=[item], now=at(1))
    assert info.value.param == param


def test_an_item_given_again_is_not_added_twice_but_a_dictionary_refines_it():
    record = ir.resolve(declared(), 'INC-1', action_items=['Add a canary gate'], now=at(60))
    assert ir.resolve(record, 'INC-1', action_items=['Add a canary gate'], now=at(61)) is record
    again = ir.resolve(record, 'INC-1', action_items=[{'text': 'Add a canary gate', 'owner': '@platform'}], now=at(62))
    assert again['action_items'] == [{'text': 'Add a canary gate', 'owner': '@platform', 'due': '2025-02-14', 'status': 'open'}]
    assert again['timeline'][-1]['event'] == 'Resolution details updated'


def test_a_schema_1_record_reads_as_schema_2_and_resolving_it_again_changes_nothing():
    old = ir.resolve(declared(), 'INC-1', now=at(60))
    old.update(schema_version=1, action_items=['Add a canary gate @platform'])
    for key in ('milestones', 'response'):
        old.pop(key)
    assert ir.record_action_items(old) == [{'text': 'Add a canary gate @platform', 'owner': '@platform', 'due': '2025-02-14',
                                            'status': 'open'}]
    assert ir.resolve(old, 'INC-1', action_items=['Add a canary gate @platform'], now=at(90)) is old
    assert ir.derive(old, at(90))['action_items'][0]['owner'] == '@platform'


@pytest.mark.parametrize('item', ['2', '#2', 2, 'rotate the KEY', ' Rotate the key '])
def test_closing_an_item_by_its_number_or_its_text(item):
    record = ir.resolve(declared(), 'INC-1', action_items=['Add a canary gate', 'Rotate the key'], now=at(60))
    closed = ir.close_action_item(record, 'INC-1', item, note='OPS-9', now=at(90), actor={'user': 'alice'})
    assert closed['action_items'][1] == {'text': 'Rotate the key', 'owner': None, 'due': '2025-02-14', 'status': 'done',
                                         'closed_at': ts(90), 'closed_by': 'alice', 'note': 'OPS-9'}
    assert closed['action_items'][0]['status'] == 'open'
    last = closed['timeline'][-1]
    assert (last['kind'], last['event'], last['details']['action_item'], last['details']['note']) == (
        'action', 'Action item 2 closed: Rotate the key', 2, 'OPS-9')
    assert ir.close_action_item(closed, 'INC-1', item, now=at(95)) is closed       # done already: nothing changes


@pytest.mark.parametrize('item, message', [('3', 'has no action item 3; its items are 1. a; 2. b'),
                                           ('c', "has no action item 'c'; give its number or its exact text: 1. a; 2. b"),
                                           ('0', 'has no action item 0'), ('', 'item: must not be empty')])
def test_closing_an_unknown_item_names_the_items(item, message):
    record = ir.resolve(declared(), 'INC-1', action_items=['a', 'b'], now=at(60))
    with pytest.raises(ir.IncidentError, match='^item: ') as info:
        ir.close_action_item(record, 'INC-1', item)
    assert message in str(info.value)
    with pytest.raises(ir.IncidentError, match='has no action items'):
        ir.close_action_item(declared(), 'INC-1', '1')


def test_open_action_items_and_overdue_on_the_day_after_due():
    record = ir.resolve(declared(), 'INC-1', now=at(60), action_items=[
        {'text': 'a', 'due': '2025-02-10'}, {'text': 'b', 'due': '2025-02-09', 'status': 'done'}])
    assert ir.open_action_items(record, today='2025-02-10') == [
        {'text': 'a', 'owner': None, 'due': '2025-02-10', 'status': 'open', 'number': 1, 'overdue': False}]
    assert ir.open_action_items(record, today='2025-02-11T00:00:00Z')[0]['overdue'] is True


# ---- the PIR -----------------------------------------------------------------------------------------------

def test_the_pir_takes_its_milestones_and_figures_from_the_record():
    record = declared('P1', alert_minutes=-2)
    record = event(record, 1, 'Initial message posted to chat', kind='notification', channel='chat', message='initial',
                   delivered=True)
    record = acknowledged(record, 6)
    record = event(record, 8, 'roll back deployment/clickview-backend: done', kind='action')
    record = remediated(record, 11)
    record = ir.resolve(record, 'INC-1', now=at(30), action_items=[{'text': 'Page earlier', 'owner': '@sre', 'status': 'done'}],
                        service_restored={'area': 'api', 'restored': True, 'forced': False, 'summary': 'ok'})
    doc = pir.document(record, now=at(31))
    rows = {m['key']: (m['at'], m['source']) for m in doc['milestones']}
    assert rows['alert'] == (ts(-2), 'alertmanager')
    assert rows['acknowledged'] == (ts(6), 'pagerduty')            # not the chat post at +1m
    assert rows['mitigation'] == (ts(8), 'timeline')               # the mitigation applied: the rollback
    assert doc['response']['milestones']['mitigated'] == ts(11)    # mitigated: the remediation that verified
    figures = {t['target']: t['result'] for t in doc['response']['targets']}
    assert figures == {'acknowledge': 'missed', 'updates': 'missed'}   # 8 minutes for a P1; 29 minutes without an update
    assert doc['response']['time_to_resolve_seconds'] == 32 * 60
    assert doc['action_items'] == [{'action': 'Page earlier', 'owner': '@sre', 'due': '2025-02-14', 'status': 'Done'}]
    assert doc['service_restored']['area'] == 'api'


def test_the_pir_of_a_record_without_acknowledgement_says_the_declaration():
    doc = pir.document(ir.resolve(declared(), 'INC-1', now=at(10)), now=at(11))
    row = [m for m in doc['milestones'] if m['key'] == 'acknowledged'][0]
    assert (row['at'], row['source'], row['event']) == (ts(0), 'declare', 'Incident declared (no PagerDuty acknowledgement recorded)')
