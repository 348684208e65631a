# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read a pgBackRest repository: backups, WAL archive and the restorable time window.

Plain functions so that they can be tested without AnsibleModule or a repository:

* ``parse_info`` turns ``pgbackrest info --output=json`` into a list of backups (type, start,
  stop, duration, sizes, WAL range) and the archive's WAL range, raising ``StanzaError`` for a
  missing or unusable stanza;
* ``classify_error`` names the problem behind a failed pgBackRest command (repository
  unreachable, TLS, credentials, bucket, configuration);
* ``previous_segments`` / ``last_transaction_time`` find the time of the last commit (or abort)
  in the archived WAL, read with ``pg_waldump``: the latest moment a point-in-time restore can
  target;
* ``parse_target_time`` and ``check_target`` validate a requested recovery target time against
  the window, and ``info_report`` puts it all together from a runner callable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError

UTC = datetime.timezone.utc

# pgbackrest info: stanza status codes (src/command/info/info.c)
STATUS_OK = 0
STATUS_MISSING_STANZA_PATH = 1
STATUS_NO_BACKUP = 2
STATUS_MISSING_STANZA_DATA = 3
STANZA_MISSING_CODES = (STATUS_MISSING_STANZA_PATH, STATUS_MISSING_STANZA_DATA)

SEGMENT_RE = re.compile(r'^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$')
SEGMENTS_PER_LOG = 0x100          # 16 MiB WAL segments (the default, and pgBackRest's assumption here)
WALDUMP_XACT_RE = re.compile(
    r'desc: (?:COMMIT|ABORT|COMMIT_PREPARED|ABORT_PREPARED) '
    r'(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?) (UTC|[+-]\d{2}(?::?\d{2})?)')
TARGET_RE = re.compile(
    r'^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?'
    r'\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?\s*$', re.IGNORECASE)


class PgBackRestError(ClickviewError):
    """A pgBackRest command failed; ``problem`` is a short name for it (for reports and tests)."""

    def __init__(self, problem, message):
        super(PgBackRestError, self).__init__(message, partial={'problem': problem})
        self.problem = problem


class StanzaError(PgBackRestError):
    """The stanza is missing from the repository, or unusable."""


class TargetError(ClickviewError, ValueError):
    """A recovery target time that cannot be parsed or is outside the restorable window."""

    def __init__(self, problem, message):
        super(TargetError, self).__init__(message, param='target_time', partial={'problem': problem})
        self.problem = problem


def iso(ts):
    """datetime -> ISO 8601 in UTC with microseconds only when present; None stays None."""
    if ts is None:
        return None
    ts = ts.astimezone(UTC)
    fmt = '%Y-%m-%dT%H:%M:%S.%fZ' if ts.microsecond else '%Y-%m-%dT%H:%M:%SZ'
    return ts.strftime(fmt)


def from_epoch(value):
    return None if value is None else datetime.datetime.fromtimestamp(int(value), UTC)


def base_command(binary, config=None, stanza=None):
    """The argv every call starts with: binary, --config, --stanza (console output kept terse)."""
    argv = [binary]
    if config:
        argv.append('--config=%s' % config)
    if stanza:
        argv.append('--stanza=%s' % stanza)
    argv.append('--log-level-console=warn')
    return argv


# ---- errors ----------------------------------------------------------------------------

ERROR_PATTERNS = (
    # (problem, regex on pgBackRest's output, explanation): the first match wins, most specific first
    ('repository_access', r'HTTP request failed with 403|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch',
     'the repository refused the credentials (403): check the S3 key/secret or instance role'),
    ('repository_missing', r'NoSuchBucket|HTTP request failed with 404',
     'the repository bucket or path does not exist'),
    ('repository_tls', r'TLS|SSL|certificate|\[095\]|\[096\]|\[097\]',
     'TLS to the repository failed: check repo1-storage-ca-file and that the certificate names the endpoint host'),
    ('repository_unreachable', r'\[049\]|unable to get address|unable to connect|connection refused|timed out|timeout'
                               r'|HostConnectError',
     'the repository is unreachable (host, port or network): check repo1-s3-endpoint / repo1-storage-port'),
    ('config', r'\[031\]|\[032\]|\[037\]|invalid option|requires option|unable to open missing file.*\.conf',
     'pgBackRest configuration problem'),
    ('lock', r'\[050\]|unable to acquire lock', 'another pgBackRest command holds the lock for this stanza'),
)


def classify_error(rc, stderr, stdout='', timeout=None):
    """Return (problem, message) for a failed pgBackRest command (rc 124: killed by ``timeout``)."""
    if rc == 124 and timeout:
        return ('repository_unreachable',
                'pgbackrest did not answer within %s s: the repository is unreachable or too slow (pgBackRest retries '
                'a refused or silent endpoint until its io-timeout): check repo1-s3-endpoint / repo1-storage-port' % timeout)
    text = '\n'.join(part for part in (stderr, stdout) if part).strip()
    lines = [line.strip() for line in text.splitlines() if 'ERROR' in line or 'error' in line.lower()]
    detail = lines[0] if lines else (text.splitlines()[-1] if text else 'no output')
    for problem, pattern, explanation in ERROR_PATTERNS:
        if re.search(pattern, text, re.IGNORECASE):
            return problem, '%s (pgbackrest exit %s: %s)' % (explanation, rc, detail)
    return 'command_failed', 'pgbackrest exit %s: %s' % (rc, detail)


# ---- info --------------------------------------------------------------------------------

def _backup_entry(raw):
    ts = raw.get('timestamp') or {}
    start, stop = from_epoch(ts.get('start')), from_epoch(ts.get('stop'))
    info = raw.get('info') or {}
    repo = info.get('repository') or {}
    archive = raw.get('archive') or {}
    lsn = raw.get('lsn') or {}
    return {
        'label': raw.get('label'),
        'type': raw.get('type'),
        'prior': raw.get('prior'),
        'start': iso(start),
        'stop': iso(stop),
        'duration_seconds': (stop - start).total_seconds() if start and stop else None,
        'size_bytes': info.get('size'),
        'delta_bytes': info.get('delta'),
        'repo_size_bytes': repo.get('size'),
        'repo_delta_bytes': repo.get('delta'),
        'wal_start': archive.get('start'),
        'wal_stop': archive.get('stop'),
        'lsn_start': lsn.get('start'),
        'lsn_stop': lsn.get('stop'),
        'error': bool(raw.get('error', False)),
        'database_id': (raw.get('database') or {}).get('id'),
    }


def parse_info(text, stanza, require_stanza=True):
    """Parse ``pgbackrest --stanza=<stanza> --output=json info``.

    Returns a dict: stanza, status {code, message}, exists, backups (oldest first), archive
    {min, max} of the current database, and the raw database list.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PgBackRestError('bad_output', 'pgbackrest info did not print JSON: %s' % exc)
    entry = next((s for s in data if s.get('name') == stanza), None)
    if entry is None:
        raise StanzaError('stanza_missing', "pgbackrest info has no stanza '%s'" % stanza)
    status = entry.get('status') or {}
    code, message = status.get('code'), status.get('message', '')
    exists = code not in STANZA_MISSING_CODES
    if require_stanza and not exists:
        raise StanzaError('stanza_missing',
                          "stanza '%s' does not exist in the repository (%s): run playbooks/backup_configure.yml "
                          "first, or check backups_stanza and the repository path" % (stanza, message))
    if require_stanza and code not in (STATUS_OK, STATUS_NO_BACKUP) and code != 6:
        # 4 different cipher, 5 database mismatch, 99 other (often an unreadable repository)
        raise StanzaError('stanza_unusable', "stanza '%s' is not usable: %s (status %s)" % (stanza, message, code))
    dbs = entry.get('db') or []
    current_db = max((d.get('id', 0) for d in dbs), default=None)
    archive = {'min': None, 'max': None}
    for arc in entry.get('archive') or []:
        if (arc.get('database') or {}).get('id') == current_db:
            archive = {'min': arc.get('min'), 'max': arc.get('max')}
    backups = [_backup_entry(b) for b in entry.get('backup') or []]
    backups.sort(key=lambda b: (b['stop'] or '', b['label'] or ''))
    return {
        'stanza': stanza,
        'exists': exists,
        'status': {'code': code, 'message': message},
        'backups': backups,
        'archive': archive,
        'databases': [{'id': d.get('id'), 'version': d.get('version'), 'system_id': d.get('system-id')} for d in dbs],
        'cipher': entry.get('cipher'),
    }


# ---- the restorable window -------------------------------------------------------------

def previous_segments(segment, count):
    """``segment`` and up to count-1 segments before it on the same timeline, newest first."""
    match = SEGMENT_RE.match(segment or '')
    if not match:
        raise ValueError('not a WAL segment name: %r' % (segment,))
    tli, log, seg = (int(part, 16) for part in match.groups())
    position = log * SEGMENTS_PER_LOG + seg
    out = []
    for pos in range(position, max(position - count, -1), -1):
        out.append('%08X%08X%08X' % (tli, pos // SEGMENTS_PER_LOG, pos % SEGMENTS_PER_LOG))
    return out


def last_transaction_time(waldump_output):
    """The timestamp of the last COMMIT/ABORT record in ``pg_waldump`` output (run with TZ=UTC), or None."""
    found = None
    for match in WALDUMP_XACT_RE.finditer(waldump_output or ''):
        stamp, zone = match.groups()
        found = _parse_stamp(stamp, zone)
    return found


def _parse_stamp(stamp, zone):
    fmt = '%Y-%m-%d %H:%M:%S.%f' if '.' in stamp else '%Y-%m-%d %H:%M:%S'
    value = datetime.datetime.strptime(stamp, fmt)
    return value.replace(tzinfo=_zone(zone))


def _zone(zone):
    if zone is None or zone.upper() in ('Z', 'UTC'):
        return UTC
    sign = -1 if zone[0] == '-' else 1
    digits = zone[1:].replace(':', '')
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        raise ValueError('bad UTC offset %r' % zone)
    return datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes))


def window(backups, latest_transaction):
    """The restorable window of point-in-time targets.

    earliest: the stop time of the oldest good backup (a target before it has no backup to start from);
    latest: the last transaction found in the archived WAL (recovery to a later time would end
    before reaching its target, which PostgreSQL treats as an error). A restore of "latest"
    replays all archived WAL whatever the window says.
    """
    good = [b for b in backups if not b['error'] and b['stop']]
    earliest = good[0]['stop'] if good else None
    latest = iso(latest_transaction) if latest_transaction else None
    if latest and (not earliest or latest <= earliest):
        latest = None            # nothing committed since the oldest backup: no time target is reachable
    return {
        'earliest': earliest,
        'latest': latest,
        'latest_backup_stop': good[-1]['stop'] if good else None,
        'point_in_time': bool(earliest and latest),
    }


def parse_target_time(value, default_timezone='UTC'):
    """A recovery target time -> aware datetime.

    Accepts ``YYYY-MM-DD HH:MM[:SS[.ffffff]]`` (or with ``T``), optionally followed by ``Z``,
    ``UTC`` or an offset such as ``+02``, ``+0200`` or ``+02:00``; without one, the time is read
    in ``default_timezone`` (``UTC`` or an offset).
    """
    if value is None or not str(value).strip():
        raise TargetError('target_time_missing', 'target_time is empty: give a time such as "2025-01-15 10:30:00"')
    match = TARGET_RE.match(str(value))
    if not match:
        raise TargetError('target_time_unparseable',
                          'target_time %r is not a time: use "YYYY-MM-DD HH:MM:SS" with an optional UTC offset '
                          '(for example "2025-01-15 10:30:00" or "2025-01-15 10:30:00+01:00")' % (value,))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tzinfo = _zone(zone or default_timezone)
        return datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                                 int((fraction or '0').ljust(6, '0')), tzinfo=tzinfo)
    except ValueError as exc:
        raise TargetError('target_time_unparseable', 'target_time %r is not a valid time: %s' % (value, exc))


def pg_target(ts):
    """A recovery_target_time value PostgreSQL reads the same whatever its TimeZone setting."""
    ts = ts.astimezone(UTC)
    text = ts.strftime('%Y-%m-%d %H:%M:%S')
    if ts.microsecond:
        text += '.%06d' % ts.microsecond
    return text + '+00'


def check_target(ts, win):
    """Raise TargetError when ``ts`` is outside the restorable window ``win`` (from ``window``)."""
    if not win['earliest']:
        raise TargetError('no_backup', 'there is no backup to restore from')
    if not win['latest']:
        raise TargetError('target_after_latest',
                          'target time %s cannot be reached: no archived transaction was found after the oldest '
                          'backup (stopped %s); restore "latest" instead' % (iso(ts), win['earliest']))
    if iso(ts) <= win['earliest']:
        raise TargetError('target_before_earliest',
                          'target time %s is before the restorable window (%s .. %s): the oldest backup stopped at %s'
                          % (iso(ts), win['earliest'], win['latest'], win['earliest']))
    if iso(ts) >= win['latest']:
        raise TargetError('target_after_latest',
                          'target time %s is after the latest archived transaction (%s): the restorable window is '
                          '%s .. %s; a later target would end recovery before reaching it'
                          % (iso(ts), win['latest'], win['earliest'], win['latest']))


def info_report(run, binary, config, stanza, require_stanza=True, waldump=None, scan_segments=4,
                target_time=None, default_timezone='UTC', timeout=None):
    """Everything the module returns, from ``run(argv, env=None) -> (rc, stdout, stderr)``.

    ``waldump(segment_name) -> (text or None, warning or None)`` prints one archived segment with
    pg_waldump; None skips the latest-transaction lookup. Raises PgBackRestError / TargetError.
    """
    target = None
    if target_time is not None:
        target = parse_target_time(target_time, default_timezone)     # bad input fails before any command
    argv = base_command(binary, config, stanza) + ['--output=json', 'info']
    rc, out, err = run(argv)
    if rc != 0:
        problem, message = classify_error(rc, err, out, timeout=timeout)
        raise PgBackRestError(problem, message)
    result = parse_info(out, stanza, require_stanza=require_stanza)
    # info reports an unreadable repository as a stanza status, not an exit code
    if result['status']['code'] == 99:
        problem, message = classify_error(99, result['status']['message'])
        raise PgBackRestError(problem, "stanza '%s': %s" % (stanza, message))
    warnings = []
    latest_txn = None
    if waldump is not None and result['archive']['max']:
        segments = previous_segments(result['archive']['max'], max(1, scan_segments))
        for segment in segments:           # newest first: stop at the first one holding a transaction
            text, warning = waldump(segment)
            if warning:
                warnings.append(warning)
            latest_txn = last_transaction_time(text) if text else None
            if latest_txn is not None:
                break
        else:
            warnings.append('no transaction found in the last %d archived WAL segment(s) (%s .. %s): the '
                            'point-in-time window is unknown; raise wal_scan_segments'
                            % (len(segments), segments[-1], segments[0]))
    result['latest_transaction'] = iso(latest_txn)
    result['window'] = window(result['backups'], latest_txn)
    result['latest_backup'] = next((b for b in reversed(result['backups']) if not b['error']), None)
    if target is not None:
        result['target'] = {'requested': str(target_time), 'time': iso(target), 'recovery_target_time': pg_target(target)}
        try:
            check_target(target, result['window'])
        except TargetError as exc:
            exc.result = result
            raise
    result['warnings'] = warnings
    return result
