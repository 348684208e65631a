# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Rotate a database login's password - the decisions, as plain functions (no Ansible, no connection).

The role security_incident (tasks_from rotate_credentials) gathers and acts; these decide:

* ``quote_identifier``: a role name as a PostgreSQL identifier (what ``quote_ident`` does), for the one
  statement whose role name cannot travel as a parameter (ALTER ROLE);
* ``scram_sha256_verifier``: the SCRAM-SHA-256 verifier of a password (what libpq's PQencryptPasswordConn
  computes), so the server is sent a verifier, never the password, and its logs can never show it;
* ``login_refusals``: why a login may not be rotated (superuser, replication role, the login the procedure
  connects as, not a login, missing);
* ``secret_consumers``: the Deployments whose pods read a Secret (env valueFrom.secretKeyRef, envFrom.secretRef,
  secret volumes and projected volumes), and whether they read the given key;
* ``login_outcome``: whether a connection attempt proves a password accepted or refused by authentication;
* ``rotation_plan`` / ``rotation_report``: the plan from what was gathered, and the report's checks and the
  timeline event from what was done. No password ever goes into or comes out of these two.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import os

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.k8s_errors import api_error

SCRAM_ITERATIONS = 4096          # PostgreSQL's scram_iterations default
SCRAM_SALT_BYTES = 16            # as PostgreSQL's SCRAM_DEFAULT_SALT_LEN
NAMEDATALEN = 64                 # identifiers longer than 63 bytes are truncated by the server
RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt'

# SQLSTATE 28P01 invalid_password and 28000 invalid_authorization_specification, as libpq words them
AUTH_FAILED = ('password authentication failed', 'authentication failed for user', 'invalid_password', '28p01')
# errors after the password was accepted: the server knew who it was talking to
ACCEPTED_THEN_REFUSED = ('permission denied for database', 'does not exist', 'too many connections for role',
                         'is not permitted to log in')


class RotationError(ValueError):
    """Input that cannot be decided on (a programming or data error, not a refusal)."""


# ---- SQL ------------------------------------------------------------------------------------------------

def quote_identifier(name):
    """``name`` double-quoted with inner double quotes doubled; refuses what the server would change or reject."""
    if not isinstance(name, str) or not name:
        raise RotationError('a role name is a non-empty string, got %r' % (name,))
    if '\x00' in name:
        raise RotationError('a role name cannot contain a NUL character')
    if len(name.encode('utf-8')) >= NAMEDATALEN:
        raise RotationError('role name %r is longer than 63 bytes: the server would truncate it' % name)
    return '"%s"' % name.replace('"', '""')


def _b64(data):
    return base64.b64encode(data).decode('ascii')


def scram_sha256_verifier(password, salt=None, iterations=SCRAM_ITERATIONS):
    """``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` as PostgreSQL stores it (RFC 5802/7677).

    PostgreSQL stores a verifier given in this form as is, whatever password_encryption says. The password is
    used as given (SASLprep only changes non-ASCII text; keep generated passwords ASCII)."""
    if not isinstance(password, str) or not password:
        raise RotationError('the password is a non-empty string')
    salt = os.urandom(SCRAM_SALT_BYTES) if salt is None else salt
    if not isinstance(salt, bytes) or not salt:
        raise RotationError('the salt is non-empty bytes')
    iterations = int(iterations)
    if iterations < 1:
        raise RotationError('iterations must be at least 1')
    salted = hashlib.pbkdf2_hmac('sha256', password.encode('utf-8'), salt, iterations)
    client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
    return 'SCRAM-SHA-256$%d:%s$%s:%s' % (iterations, _b64(salt), _b64(stored_key), _b64(server_key))


# ---- the login ------------------------------------------------------------------------------------------

def login_refusals(row, login, connecting_logins=()):
    """Why ``login`` may not be rotated (an empty list: it may). ``row`` is its pg_roles row (rolname, rolsuper,
    rolreplication, rolcanlogin), or empty when there is no such role; ``connecting_logins`` are the logins the
    procedure itself connects as (the configured user, and the server's current_user)."""
    row = row or {}
    reasons = []
    if not row.get('rolname'):
        return ['there is no role %s on the server (nothing to rotate)' % login]
    if row.get('rolsuper'):
        reasons.append('%s is a superuser: rotate superuser passwords by hand, never from an automated procedure '
                       'that puts the password into a Kubernetes Secret' % login)
    if row.get('rolreplication'):
        reasons.append('%s is a replication role: its password lives in the replicas\' primary_conninfo, not in an '
                       'application Secret' % login)
    if not row.get('rolcanlogin'):
        reasons.append('%s cannot log in (NOLOGIN): it has no password to rotate' % login)
    if login in [name for name in connecting_logins if name]:
        reasons.append('%s is the login this procedure connects as: it would lock itself out midway' % login)
    return reasons


# ---- Kubernetes -----------------------------------------------------------------------------------------

def _container_refs(container, secret, key):
    """[(what, reads_key)] of one container's references to the Secret."""
    refs = []
    name = container.get('name') or '?'
    for env in container.get('env') or []:
        ref = ((env.get('valueFrom') or {}).get('secretKeyRef') or {})
        if ref.get('name') == secret:
            refs.append(('container %s env %s (key %s)' % (name, env.get('name'), ref.get('key')), ref.get('key') == key))
    for source in container.get('envFrom') or []:
        ref = source.get('secretRef') or {}
        if ref.get('name') == secret:
            refs.append(('container %s envFrom (every key%s)' % (
                name, ', prefix %s' % source['prefix'] if source.get('prefix') else ''), True))
    return refs


def _volume_refs(volume, secret, key):
    refs = []
    name = volume.get('name') or '?'
    sources = []
    if volume.get('secret'):
        sources.append((volume['secret'].get('secretName'), volume['secret'].get('items')))
    for source in (volume.get('projected') or {}).get('sources') or []:
        if source.get('secret'):
            sources.append((source['secret'].get('name'), source['secret'].get('items')))
    for secret_name, items in sources:
        if secret_name != secret:
            continue
        if items:
            keys = [item.get('key') for item in items]
            refs.append(('volume %s (keys %s)' % (name, ', '.join(str(k) for k in keys)), key in keys))
        else:
            refs.append(('volume %s (every key)' % name, True))
    return refs


def secret_consumers(deployments, secret, key):
    """One entry per Deployment whose pod template refers to the Secret, in name order:
    ``{name, namespace, references: [text], reads_key: bool}``. Containers and init containers are both read."""
    if not secret:
        raise RotationError('the Secret\'s name is required')
    out = []
    for deployment in deployments or []:
        metadata = deployment.get('metadata') or {}
        pod = (((deployment.get('spec') or {}).get('template') or {}).get('spec') or {})
        refs = []
        for container in (pod.get('initContainers') or []) + (pod.get('containers') or []):
            refs.extend(_container_refs(container, secret, key))
        for volume in pod.get('volumes') or []:
            refs.extend(_volume_refs(volume, secret, key))
        if refs:
            out.append({'name': metadata.get('name'), 'namespace': metadata.get('namespace'),
                        'references': [text for text, _reads in refs], 'reads_key': any(reads for _text, reads in refs)})
    return sorted(out, key=lambda entry: str(entry['name']))


# ---- proving a password ---------------------------------------------------------------------------------

def login_outcome(ping):
    """``accepted``, ``refused`` (authentication failed) or ``unknown`` (unreachable, or another error: nothing
    proven) of a community.postgresql.postgresql_ping result; ``skipped`` when the attempt was not made."""
    ping = ping or {}
    if ping.get('skipped') or not ping:
        return 'skipped'
    if ping.get('is_available'):
        return 'accepted'
    text = str(ping.get('conn_err_msg') or ping.get('msg') or '').lower()
    if any(marker in text for marker in AUTH_FAILED):
        return 'refused'
    if 'fatal' in text and any(marker in text for marker in ACCEPTED_THEN_REFUSED):
        return 'accepted'
    return 'unknown'


def _error_text(ping):
    text = str((ping or {}).get('conn_err_msg') or (ping or {}).get('msg') or '').strip()
    return ' '.join(text.split())[:300]


# ---- plan and report ------------------------------------------------------------------------------------

# what the procedure reads before it decides, and how a failed read is named: the sources of read_errors
READ_SOURCES = ('postgres', 'secret_read', 'deployments')


def read_errors(reads, db_user, secret):
    """``{source: line}`` of the reads that failed: ``reads`` holds the registered results of the role's three reads
    (``postgres``: the login's row, ``secret_read``: the Secret, ``deployments``: the Deployments of its namespace), each
    failed when its ``failed`` is true. A Kubernetes error is cut to its status line (403 Forbidden: ...)."""
    unknown = sorted(set(reads or {}) - set(READ_SOURCES))
    if unknown:
        raise RotationError('reads: unknown source %s (known: %s)' % (', '.join(unknown), ', '.join(READ_SOURCES)))
    secret = secret or {}
    labels = {'postgres': 'PostgreSQL (as %s)' % db_user,
              'secret_read': 'Kubernetes, Secret %s/%s' % (secret.get('namespace'), secret.get('name')),
              'deployments': 'Kubernetes, Deployments of %s' % secret.get('namespace')}
    out = {}
    for source in READ_SOURCES:
        result = (reads or {}).get(source) or {}
        if not result.get('failed'):
            continue
        msg = result.get('msg') or 'failed'
        text = ' '.join(str(msg).split()) if source == 'postgres' else api_error(msg)['line']
        out[source] = '%s: %s' % (labels[source], text or 'failed')
    return out


def rotation_plan(login, role_row, connecting_logins, secret, consumers, current_login=None, check_mode=False,
                  confirm=False, errors=None):
    """What the rotation would do, or why it is refused.

    ``secret``: what was read of the Secret, without its data - ``{namespace, name, key, exists, keys, login_key,
    login}`` (``login`` the value of ``login_key``, or None). ``current_login``: ``login_outcome`` of the Secret's
    current password before the change. Returns ``{allowed, refusals, warnings, identifier, restart, act, checks}``;
    ``act`` is whether to change anything now (allowed, confirmed, not check mode). ``errors``: what could not be
    read, ``{source: line}`` (read_errors); any is a refusal, since the plan would rest on a guess."""
    secret = secret or {}
    ref = '%s/%s' % (secret.get('namespace'), secret.get('name'))
    errors = {source: str(line) for source, line in (errors or {}).items() if line}
    lines = [errors[source] for source in READ_SOURCES if source in errors]
    checks = []
    if errors:
        checks.append(check_row('rotation.read', 'login %s' % login, 'FAIL', 'could not read %s' % '; '.join(lines),
                                'the login, the Secret and the Deployments are read before anything changes',
                                {'errors': lines}))
        if not (role_row or {}).get('rolname') and 'postgres' in errors:
            role_row = {'rolname': login, 'rolcanlogin': True}   # unknown: the read error is the refusal, not "no role"
    refusals = ['could not read %s' % e for e in lines] + list(login_refusals(role_row, login, connecting_logins))
    warnings = []
    threshold = 'not a superuser, replication role or the procedure\'s own login; a login that can log in'
    checks.append(check_row('rotation.login', 'login %s' % login, 'FAIL' if refusals else 'OK',
                            '; '.join(refusals) if refusals else 'an ordinary login that can log in', threshold,
                            {'login': login, 'superuser': bool((role_row or {}).get('rolsuper')),
                             'replication': bool((role_row or {}).get('rolreplication')),
                             'can_login': bool((role_row or {}).get('rolcanlogin'))}))
    secret_problems = []
    if 'secret_read' in errors:
        # a read that failed (403, timeout) proves nothing about the Secret: never say it does not exist
        secret_problems.append('Secret %s could not be read' % ref)
    elif not secret.get('exists'):
        secret_problems.append('Secret %s does not exist' % ref)
    else:
        if secret.get('key') not in (secret.get('keys') or []):
            secret_problems.append('Secret %s has no key %s (keys %s)' % (
                ref, secret.get('key'), ', '.join(secret.get('keys') or []) or 'none'))
        if secret.get('login_key') and secret.get('login_key') in (secret.get('keys') or []) \
                and secret.get('login') != login:
            secret_problems.append('Secret %s holds the password of %s (key %s), not of %s' % (
                ref, secret.get('login'), secret.get('login_key'), login))
    refusals.extend(secret_problems)
    if secret_problems:
        status, figure = 'FAIL', '; '.join(secret_problems)
    elif secret.get('login_key') and secret.get('login_key') not in (secret.get('keys') or []):
        status, figure = 'WARN', 'key %s, but no key %s to confirm it belongs to %s' % (
            secret.get('key'), secret.get('login_key'), login)
        warnings.append(figure)
    else:
        status, figure = 'OK', 'key %s of the Secret of login %s' % (secret.get('key'), login)
    checks.append(check_row('rotation.secret', 'secret %s' % ref, status, figure,
                            'exists, has the password key, and its login key names the login',
                            {k: secret.get(k) for k in ('namespace', 'name', 'key', 'login_key', 'keys')}))

    current_error = ''
    if isinstance(current_login, dict):
        current_error, current_login = _error_text(current_login), login_outcome(current_login)
    if current_login is not None and current_login != 'skipped' and not secret_problems:
        if current_login == 'accepted':
            status, figure = 'OK', "the Secret's current password logs in as %s" % login
        elif current_login == 'refused':
            status = 'WARN'
            figure = ("the Secret's current password is already refused for %s: its clients may already be failing, "
                      'or it is not the Secret they read; the proof that the old password is refused will mean '
                      'little' % login)
            warnings.append(figure)
        else:
            status = 'WARN'
            figure = ('no connection as %s from here (%s): the old and new passwords cannot be proven (pg_hba.conf may '
                      "admit the login only from the application's network)" % (login, current_error or 'no answer'))
            warnings.append(figure)
        checks.append(check_row('rotation.current_password', 'login %s' % login, status, figure,
                                "the Secret's password is the login's current one", {'outcome': current_login}))

    restart = [c['name'] for c in consumers or [] if c.get('reads_key')]
    others = [c['name'] for c in consumers or [] if not c.get('reads_key')]
    if restart:
        status, figure = 'OK', '%s: pods read key %s' % (', '.join('deployment/%s' % n for n in restart), secret.get('key'))
    else:
        status = 'WARN'
        figure = ('no Deployment of namespace %s reads key %s of the Secret: nothing will be restarted; pods of other '
                  'workloads keep the old password until they restart' % (secret.get('namespace'), secret.get('key')))
        warnings.append(figure)
    if others:
        figure += '; %s refer to the Secret but not to that key: not restarted' % ', '.join(others)
    checks.append(check_row('rotation.consumers', 'secret %s' % ref, status, figure,
                            'the Deployments whose pods read the key (env, envFrom, volumes) are restarted',
                            {'restart': restart, 'not_restarted': others,
                             'references': {c['name']: c['references'] for c in consumers or []}}))

    identifier = None
    if not refusals:
        identifier = quote_identifier(login)
    allowed = not refusals
    act = allowed and bool(confirm) and not check_mode
    steps = ['ALTER ROLE %s PASSWORD (a new SCRAM-SHA-256 verifier)' % (identifier or login),
             'set key %s of Secret %s' % (secret.get('key'), ref)]
    steps += ['rollout restart deployment/%s' % name for name in restart]
    steps += ['prove the old password refused and the new one accepted']
    if allowed and not act:
        checks.append(check_row('rotation.plan', 'login %s' % login, 'WARN',
                                'would %s%s' % ('; '.join(steps), ' (check mode)' if check_mode else
                                                ': run with security_incident_rotate_confirm=true'),
                                'changes only with security_incident_rotate_confirm=true, never in check mode',
                                {'steps': steps}))
    return {'allowed': allowed, 'act': act, 'refusals': refusals, 'warnings': warnings, 'identifier': identifier,
            'restart': restart, 'steps': steps, 'checks': checks,
            'msg': ('%s: %s. Nothing was changed.' % (login, '; '.join(refusals))) if refusals else
                   ('%s: %s' % (login, '; '.join(steps)))}


def rotation_report(plan, login, secret_ref, postgres=None, secret_updated=None, restarts=None, rollouts=None,
                    old_login=None, new_login=None, failed_step=None):
    """The checks, actions and timeline event of a rotation that ran (``plan['act']``).

    ``postgres``: the ALTER ROLE result (only ``failed``/``skipped`` are read); ``secret_updated``: True when the
    Secret read back holds the new password, False when not, None when not read; ``restarts``: {name: result of the
    patch}; ``rollouts``: {name: deployment_rollout state}; ``old_login`` / ``new_login``: ``login_outcome`` (or
    postgresql_ping results) of the old and new passwords after the change; ``failed_step``: the task that failed."""
    plan = plan or {}
    checks = [dict(c) for c in plan.get('checks') or [] if c['check'] != 'rotation.plan']
    if not plan.get('act'):
        return {'checks': checks + [c for c in plan.get('checks') or [] if c['check'] == 'rotation.plan'],
                'actions': [], 'event': None, 'failed': False, 'changed': False}
    restarts, rollouts = restarts or {}, rollouts or {}
    if isinstance(old_login, dict):
        old_error, old_login = _error_text(old_login), login_outcome(old_login)
    else:
        old_error = ''
    if isinstance(new_login, dict):
        new_error, new_login = _error_text(new_login), login_outcome(new_login)
    else:
        new_error = ''
    changed_pg = bool(postgres) and not postgres.get('failed') and not postgres.get('skipped')
    target = 'login %s' % login
    if changed_pg:
        checks.append(check_row('rotation.postgres', target, 'OK',
                                'new password set (ALTER ROLE with a SCRAM-SHA-256 verifier)',
                                'the password changed in PostgreSQL', {}))
    else:
        checks.append(check_row('rotation.postgres', target, 'FAIL',
                                'the password was NOT changed in PostgreSQL%s: the old one still works; nothing else '
                                'was changed' % (' (%s failed)' % failed_step if failed_step else ''),
                                'the password changed in PostgreSQL', {}))
    if secret_updated is True:
        checks.append(check_row('rotation.secret_updated', 'secret %s' % secret_ref, 'OK',
                                'holds the new password (read back)', 'the Secret holds the new password', {}))
    elif changed_pg:
        checks.append(check_row('rotation.secret_updated', 'secret %s' % secret_ref, 'FAIL',
                                'the Secret does NOT hold the new password, which PostgreSQL now requires: restarted '
                                'or new pods cannot connect. Run the procedure again (it sets a new password in both)',
                                'the Secret holds the new password', {}))
    for name in plan.get('restart') or []:
        patched, state = restarts.get(name) or {}, rollouts.get(name) or {}
        if not patched or patched.get('skipped'):
            status, figure = 'FAIL', 'not restarted: the rotation stopped before (%s)' % (failed_step or 'not reached')
        elif patched.get('failed'):
            status, figure = 'FAIL', 'rollout restart failed: %s' % patched.get('msg', '')
        elif state.get('complete'):
            status, figure = 'OK', state.get('message') or 'rolled out'
        else:
            status = 'FAIL'
            figure = state.get('message') or 'the rollout did not complete'
        checks.append(check_row('rotation.rollout', 'deployment/%s' % name, status, figure,
                                'every pod restarted with the new password',
                                {'state': state.get('state'), 'detail': state.get('detail')}))
    if changed_pg:
        checks.append(_proof('rotation.old_password_refused', target, old_login, old_error, expect='refused',
                             plan=plan))
        checks.append(_proof('rotation.new_password_accepted', target, new_login, new_error, expect='accepted',
                             plan=plan))
    failed = any(c['status'] == 'FAIL' for c in checks)
    restarted = [name for name in plan.get('restart') or []
                 if restarts.get(name) and not restarts[name].get('failed') and not restarts[name].get('skipped')]
    actions, event = [], None
    if changed_pg:
        summary = 'Rotated the password of database login %s: PostgreSQL, Secret %s%s%s' % (
            login, secret_ref, ' (NOT updated)' if secret_updated is not True else '',
            ', rollout restart of %s' % ', '.join('deployment/%s' % n for n in restarted) if restarted else '')
        proof = {'old_password': old_login, 'new_password': new_login}
        actions.append({'action': 'rotate_credentials', 'summary': summary, 'login': login, 'secret': secret_ref,
                        'restarted': restarted, 'proof': proof})
        event = {'event': summary + ('; old password refused, new one accepted' if not failed
                                     else '; FAILED: ' + '; '.join(c['check'] for c in checks if c['status'] == 'FAIL')),
                 'details': dict({'step': 'rotate_credentials', 'login': login, 'secret': secret_ref,
                                  'restarted': restarted, 'proof': proof}, **({'failed': True} if failed else {}))}
    elif failed_step:
        event = {'event': 'Credential rotation of database login %s FAILED before any change (%s)' % (login, failed_step),
                 'details': {'step': 'rotate_credentials', 'login': login, 'secret': secret_ref, 'failed': True}}
    return {'checks': checks, 'actions': actions, 'event': event, 'failed': failed, 'changed': changed_pg}


def _proof(check, target, outcome, error, expect, plan):
    labels = {'refused': 'refused by authentication', 'accepted': 'accepted', 'unknown': 'not proven',
              'skipped': 'not tried'}
    if outcome == expect:
        status = 'OK'
        figure = ('the old password is refused (%s)' % (error or 'authentication failed') if expect == 'refused'
                  else 'the new password logs in')
        if expect == 'refused' and any(c['check'] == 'rotation.current_password' and c['status'] != 'OK'
                                       for c in plan.get('checks') or []):
            status = 'WARN'
            figure += ", but it was refused before the rotation too: this proves little"
    elif outcome == 'skipped' and expect == 'refused':
        status, figure = 'WARN', 'the old password was unknown (not in the Secret): not tried'
    else:
        status = 'FAIL'
        which = 'old' if expect == 'refused' else 'new'
        figure = 'the %s password was %s%s' % (which, labels.get(outcome, outcome), ' (%s)' % error if error else '')
    threshold = 'a connection with the %s password is %s' % ('old' if expect == 'refused' else 'new', labels[expect])
    return check_row(check, target, status, figure, threshold, {'outcome': outcome})
