# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What an incident's notifications send, decided from its record: PagerDuty (Events API v2) and Statuspage.

Plain functions, testable without Ansible:

* ``pager_state`` / ``status_page_state`` read what the timeline says was delivered before (the "notification"
  events incident_response writes: ``details.channel``, ``details.delivered``, ``details.pager_action``,
  ``details.status_page_status``, ``details.status_page_incident``);
* ``notify_plan`` decides, for one step of the runbook (declare, update, acknowledge, resolve, escalation), whether
  to post to chat, which PagerDuty event action to send (one incident, one page: a trigger only while no trigger was
  delivered) and which Statuspage call to make (create the incident once, then update it, resolve it);
* ``pagerduty_event`` builds the Events API v2 body (the dedup key is the incident id);
* ``statuspage_request`` builds the Statuspage API call (method, URL, JSON body) with the components' status
  from the severity.

Nothing here sends anything or reads a secret but the routing key it is handed to put in the body.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote  # type: ignore[no-redef]

STEPS = ('declare', 'update', 'acknowledge', 'resolve', 'escalation')
PAGER_ACTIONS = ('trigger', 'acknowledge', 'resolve')
# the runbook's severities as PagerDuty's payload.severity
PAGERDUTY_SEVERITY = {'P1': 'critical', 'P2': 'error', 'P3': 'warning', 'P4': 'info'}
# the record's status as Statuspage's incident status (Statuspage has no "mitigating")
STATUSPAGE_STATUS = {'investigating': 'investigating', 'identified': 'identified', 'mitigating': 'identified',
                     'monitoring': 'monitoring', 'resolved': 'resolved'}
COMPONENT_STATUSES = ('operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage')
# the components' status by severity (incident_response_statuspage_component_status overrides it)
DEFAULT_COMPONENT_STATUS = {'P1': 'major_outage', 'P2': 'partial_outage', 'P3': 'degraded_performance',
                            'P4': 'degraded_performance'}
# Statuspage's impact_override by severity
STATUSPAGE_IMPACT = {'P1': 'critical', 'P2': 'major', 'P3': 'minor', 'P4': 'none'}
SUMMARY_MAX = 1024  # PagerDuty truncates payload.summary there


class NotifyError(ValueError):
    """Bad input; the message names the argument at fault."""


def truthy(value):
    """A timeline's ``delivered`` as written by a template: True, 'True', 'true', 'yes', 1."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ('true', 'yes', '1', 'on')


def _notifications(timeline, channel):
    for event in timeline or []:
        details = (event or {}).get('details') or {}
        if details.get('channel') == channel:
            yield details


def pager_state(timeline):
    """What PagerDuty was told, from the timeline: {attempted (a trigger sent, delivered or not), triggered (a
    trigger delivered), acknowledged, resolved (an acknowledge / resolve delivered after the last trigger delivered)}."""
    state = dict(attempted=False, triggered=False, acknowledged=False, resolved=False)
    for details in _notifications(timeline, 'pager'):
        action, delivered = details.get('pager_action'), truthy(details.get('delivered'))
        if action == 'trigger':
            state['attempted'] = True
            if delivered:
                state.update(triggered=True, acknowledged=False, resolved=False)
        elif action == 'acknowledge' and delivered:
            state['acknowledged'] = True
        elif action == 'resolve' and delivered:
            state['resolved'] = True
    return state


def status_page_state(timeline):
    """What the status page shows, from the timeline: {incident (the Statuspage incident id recorded, '' when none was
    created), status and severity (of the last call delivered, '')}."""
    state = dict(incident='', status='', severity='')
    for details in _notifications(timeline, 'status_page'):
        if not truthy(details.get('delivered')):
            continue
        if details.get('status_page_incident'):
            state['incident'] = str(details['status_page_incident'])
        if details.get('status_page_status'):
            state['status'] = str(details['status_page_status']).strip()
        state['severity'] = str(details.get('status_page_severity') or '')
    return state


def _severities(value, name):
    if value is None:
        return ()
    if isinstance(value, str):
        raise NotifyError('%s: a list of severities such as [P1, P2], got the string %r' % (name, value))
    return tuple(str(v) for v in value)


def notify_plan(record, step, changed=True, page_severities=(), status_page_severities=()):
    """What one step sends. ``record`` is the incident record after the step (severity, status, timeline); ``changed``
    whether the step changed it (a new declaration, update or resolution: a message to post).

    Returns {chat: bool, pager_action: '' | trigger | acknowledge | resolve,
             status_page: {action: '' | create | update | resolve, status, incident}, pager: pager_state,
             reason: why nothing goes to the pager}.

    The pager: declare and update trigger while the severity pages and no trigger was delivered (so a re-run, or an
    update after a page that was not delivered, pages; a second declaration never pages twice); acknowledge sends
    acknowledge once after a delivered trigger; resolve sends resolve once after any trigger. The status page: created
    once (declare or update) for a severity that opens one, updated when an update changes its status or the
    severity (not for a progress note alone: the public page does not repeat itself), resolved once."""
    if step not in STEPS:
        raise NotifyError('step: one of %s, got %r' % (', '.join(STEPS), step))
    if not isinstance(record, dict):
        raise NotifyError('record: the incident record (a dict), got %r' % (type(record).__name__,))
    page_severities = _severities(page_severities, 'page_severities')
    status_page_severities = _severities(status_page_severities, 'status_page_severities')
    severity, status = record.get('severity', ''), record.get('status', '')
    is_open = status != 'resolved'
    pager = pager_state(record.get('timeline'))
    page = status_page_state(record.get('timeline'))
    plan = dict(chat=bool(changed), pager_action='', status_page=dict(action='', status='', incident=page['incident']),
                pager=pager, reason='')

    if step in ('declare', 'update'):
        if not is_open:
            plan['reason'] = 'the incident is resolved'
        elif severity not in page_severities:
            plan['reason'] = '%s does not page (%s)' % (severity, ', '.join(page_severities) or 'no severity pages')
        elif pager['triggered']:
            plan['reason'] = 'already paged'
        else:
            plan['pager_action'] = 'trigger'
        wanted = STATUSPAGE_STATUS.get(status, '')
        if is_open and page['incident'] and changed and (wanted, severity) != (page['status'], page['severity']):
            plan['status_page'].update(action='update', status=wanted)
        elif is_open and not page['incident'] and severity in status_page_severities:
            plan['status_page'].update(action='create', status=wanted or 'investigating')
    elif step == 'acknowledge':
        plan['chat'] = False
        if not pager['triggered']:
            plan['reason'] = 'never paged (no trigger delivered): nothing to acknowledge'
        elif pager['resolved']:
            plan['reason'] = 'the page is resolved already'
        elif pager['acknowledged']:
            plan['reason'] = 'already acknowledged'
        elif not is_open:
            plan['reason'] = 'the incident is resolved'
        else:
            plan['pager_action'] = 'acknowledge'
    elif step == 'resolve':
        if is_open:
            plan['reason'] = 'the incident is not resolved'
        elif not pager['attempted']:
            plan['reason'] = 'never paged'
        elif pager['resolved']:
            plan['reason'] = 'the page is resolved already'
        else:
            plan['pager_action'] = 'resolve'
        if not is_open and page['incident'] and page['status'] != 'resolved':
            plan['status_page'].update(action='resolve', status='resolved')
    else:  # escalation: a reminder to chat only
        plan['reason'] = 'an escalation reminder goes to chat only'
    return plan


def pagerduty_event(action, record, routing_key, source='clickview.runbook', links=None):
    """The Events API v2 body of ``action`` for the incident: the dedup key is the incident id, so every event of one
    incident is about one PagerDuty alert. A trigger carries the payload (summary, source, severity, details);
    acknowledge and resolve carry only the routing key, the action and the dedup key, as the API asks."""
    if action not in PAGER_ACTIONS:
        raise NotifyError('action: one of %s, got %r' % (', '.join(PAGER_ACTIONS), action))
    incident_id = str((record or {}).get('id') or '').strip()
    if not incident_id:
        raise NotifyError('record: the incident record has no id (the dedup key)')
    body = dict(routing_key=str(routing_key or ''), event_action=action, dedup_key=incident_id)
    if action == 'trigger':
        severity = record.get('severity', '')
        summary = '[%s] %s' % (severity, record.get('title') or incident_id)
        body['payload'] = dict(
            summary=summary[:SUMMARY_MAX],
            source=str(source or 'clickview.runbook'),
            severity=PAGERDUTY_SEVERITY.get(severity, 'error'),
            custom_details=dict(incident_id=incident_id, severity=severity, status=record.get('status', ''),
                                impact=record.get('impact', ''), alert=record.get('alert', '')),
        )
        body['client'] = 'clickview.runbook'
        if links:
            body['links'] = [dict(href=str(link['href']), text=str(link.get('text') or link['href']))
                             for link in links if isinstance(link, dict) and link.get('href')]
    return body


def component_status(severity, mapping=None):
    """The components' status for a severity: P1 major_outage, P2 partial_outage, P3 degraded_performance (or
    ``mapping``'s)."""
    table = dict(DEFAULT_COMPONENT_STATUS)
    table.update(mapping or {})
    value = table.get(severity)
    if value not in COMPONENT_STATUSES:
        raise NotifyError('component_status: %r for %s is not a Statuspage component status (%s)'
                          % (value, severity, ', '.join(COMPONENT_STATUSES)))
    return value


def statuspage_request(plan, record, text, api_url, page_id, component_ids=(), component_status_map=None):
    """The Statuspage API call for ``plan`` (``notify_plan(...)['status_page']``): {method, url, body}, or {} when
    the plan makes none.

    create: POST {api_url}/pages/{page_id}/incidents with the name, status, body, the components' status from the
    severity and the metadata that ties it to the incident id; update: PATCH .../incidents/{id} with the new status,
    body and components' status; resolve: PATCH with status resolved and every component operational."""
    plan = plan or {}
    action = plan.get('action') or ''
    if not action:
        return {}
    if action not in ('create', 'update', 'resolve'):
        raise NotifyError('plan: action create, update or resolve, got %r' % (action,))
    api_url = str(api_url or '').strip().rstrip('/')
    if not api_url.lower().startswith(('http://', 'https://')):
        raise NotifyError('api_url: the Statuspage API base URL, such as https://api.statuspage.io/v1, got %r' % (api_url,))
    page_id = str(page_id or '').strip()
    if not page_id:
        raise NotifyError('page_id: the Statuspage page id is empty')
    if isinstance(component_ids, str) or not all(isinstance(c, str) and c for c in component_ids or ()):
        raise NotifyError('component_ids: a list of Statuspage component ids, got %r' % (component_ids,))
    record = record or {}
    status = 'resolved' if action == 'resolve' else (plan.get('status') or 'investigating')
    if status not in STATUSPAGE_STATUS.values():
        raise NotifyError('plan: status %r is not a Statuspage incident status' % (status,))
    each = 'operational' if action == 'resolve' else component_status(record.get('severity'), component_status_map)
    incident = dict(status=status, body=str(text or '').strip(),
                    components=dict((cid, each) for cid in component_ids or ()),
                    component_ids=list(component_ids or ()))
    base = '%s/pages/%s/incidents' % (api_url, quote(page_id, safe=''))
    if action == 'create':
        incident.update(name=record.get('title') or record.get('id') or 'Incident',
                        impact_override=STATUSPAGE_IMPACT.get(record.get('severity'), 'none'),
                        metadata=dict(clickview=dict(incident_id=record.get('id', ''))))
        return dict(method='POST', url=base, body=dict(incident=incident))
    incident_id = str(plan.get('incident') or '').strip()
    if not incident_id:
        raise NotifyError('plan: no Statuspage incident id recorded to %s' % action)
    if action == 'update':
        incident['impact_override'] = STATUSPAGE_IMPACT.get(record.get('severity'), 'none')
    return dict(method='PATCH', url='%s/%s' % (base, quote(incident_id, safe='')), body=dict(incident=incident))
