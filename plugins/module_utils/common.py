# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base every module and module_utils file of the collection shares.

- ``ClickviewError``: the one error type. ``message`` says what is wrong and the fix, ``param``
  names the option at fault (or None), ``partial`` is the result gathered until the failure
  (what was already done, for the task result). Each topic's error subclasses it.
- ``fail(module, err)``: the one way a module turns such an error into ``fail_json``.
- ``parse_duration``: the one duration grammar of the collection's options.
- ``UTC``, ``utc_now``: the UTC zone (datetime.timezone.utc) and now in it, whole seconds.
- ``atomic_write``: a file written whole or not at all (temporary file in the same folder,
  fsync, rename), optionally refusing to replace an existing file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import math
import os
import re
import tempfile

UTC = datetime.timezone.utc


class ClickviewError(Exception):
    """A refusal or failure with a message for the user.

    ``param`` names the option to look at (None when no single option is at fault);
    ``partial`` is the part of the result that is already true (what was done before the failure).
    """

    def __init__(self, message, param=None, partial=None):
        super(ClickviewError, self).__init__(message)
        self.message = message
        self.msg = message
        self.param = param
        self.partial = dict(partial or {})


def fail(module, err, **result):
    """``module.fail_json`` for ``err``: its message, ``param`` when known, and the partial result.

    Keyword arguments are added to the result (they win over the error's partial result).
    """
    out = dict(getattr(err, 'partial', None) or {})
    out.update(result)
    if getattr(err, 'param', None) and 'param' not in out:
        out['param'] = err.param
    module.fail_json(msg=str(err), **out)


# ---- durations ---------------------------------------------------------------------------

_UNIT_SECONDS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}
_PART_RE = re.compile(r'(\d+(?:\.\d+)?)\s*([smhdw])', re.IGNORECASE)
EXAMPLES_TEXT = 'seconds or units w, d, h, m, s such as 300, 90s, 5m, 1h30m or 7d'


def to_int(value, default=None):
    """``int(value)``, or ``default`` when it is not a whole number (None, '', 'abc')."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def parse_duration(value, param, minimum=0):
    """Seconds (float) for ``300``, ``300.5``, ``'300'``, ``'90s'``, ``'5m'``, ``'1h30m'``, ``'1d 2h'``, ``'2w'``.

    A number is seconds. Units are w, d, h, m, s (any case), each at most once. Raises
    ClickviewError naming ``param`` for anything else, a negative, infinite or NaN value, or a
    value under ``minimum`` seconds.
    """
    if isinstance(value, bool) or value is None:
        raise ClickviewError('%s: expected a duration (%s), got %r' % (param, EXAMPLES_TEXT, value), param=param)
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith('-'):
            raise ClickviewError('%s: must not be negative, got %r' % (param, value), param=param)
        try:
            seconds = float(text)
        except ValueError:
            parts = _PART_RE.findall(text)
            if not parts or _PART_RE.sub('', text).strip():
                raise ClickviewError('%s: cannot parse %r; use %s' % (param, value, EXAMPLES_TEXT), param=param)
            units = [unit.lower() for number, unit in parts]
            if len(set(units)) != len(units):
                raise ClickviewError('%s: cannot parse %r: a unit appears twice' % (param, value), param=param)
            seconds = sum(float(number) * _UNIT_SECONDS[unit.lower()] for number, unit in parts)
    else:
        raise ClickviewError('%s: expected a duration (%s), got a %s' % (param, EXAMPLES_TEXT, type(value).__name__),
                             param=param)
    if math.isnan(seconds) or math.isinf(seconds):
        raise ClickviewError('%s: must be a finite duration, got %r' % (param, value), param=param)
    if seconds < 0:
        raise ClickviewError('%s: must not be negative, got %r' % (param, value), param=param)
    if seconds < minimum:
        raise ClickviewError('%s: %r is shorter than %s' % (param, value, format_seconds(minimum)), param=param)
    return seconds


def format_seconds(seconds):
    """60 -> '1 minute', 90 -> '90 s', 7200 -> '2 hours' (for messages)."""
    seconds = int(seconds)
    for size, name in ((86400, 'day'), (3600, 'hour'), (60, 'minute')):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return '%d %s%s' % (count, name, '' if count == 1 else 's')
    return '%d s' % seconds


# ---- UTC timestamps ----------------------------------------------------------------------

def utc_now():
    """Now in UTC, whole seconds."""
    return datetime.datetime.now(UTC).replace(microsecond=0)


def parse_time(value):
    """An ISO 8601 time stamp (``Z`` or an offset; a space for the ``T`` as PostgreSQL prints it) or a datetime, as an
    aware datetime - UTC when it names no zone; None when empty or unreadable."""
    if isinstance(value, datetime.datetime):
        found = value
    elif not value:
        return None
    else:
        try:
            found = datetime.datetime.fromisoformat(str(value).strip().replace('Z', '+00:00').replace(' ', 'T', 1))
        except ValueError:
            return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


# ---- files -------------------------------------------------------------------------------

def atomic_write(path, text, mode=0o640, overwrite=True):
    """Write ``text`` to ``path`` whole or not at all: temporary file in the same folder, fsync, rename.

    With ``overwrite=False`` an existing ``path`` is never replaced (``FileExistsError``), even
    when another writer creates it at the same moment (the file is linked into place, not renamed).
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
            os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
