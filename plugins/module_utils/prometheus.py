# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading answers of the Prometheus HTTP API (/api/v1/query and /api/v1/query_range).

Prometheus sends sample values as strings; ``NaN`` (for example 0/0 when there were no
requests), ``+Inf`` and ``-Inf`` are no figure at all and read as None here.
"""

from __future__ import annotations

import math
import re

_DURATION_RE = re.compile(r"(\d+)(ms|[smhdwy])")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def sample_value(value):
    """A sample value as Prometheus sends it ('0.25', 'NaN', '+Inf') -> float, or None when it is no number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def series(response):
    """data.result of an API answer (the uri module's json), or the result list itself."""
    if isinstance(response, dict):
        return ((response.get("data") or {}).get("result")) or []
    return response or []


def unanswered(what, result):
    """Why a service gave no usable answer to a registered uri result: 'WHAT did not answer: msg [error]'."""
    result = result or {}
    body = result.get("json") if isinstance(result.get("json"), dict) else {}
    return "%s did not answer: %s%s" % (what, result.get("msg", "HTTP %s" % result.get("status", "?")),
                                        (" " + str(body["error"])) if "error" in body else "")


def instant_value(response):
    """The value of the first series of an instant query's answer; None for no series or no number."""
    result = series(response)
    if not result or not isinstance(result[0], dict):
        return None
    pair = result[0].get("value") or []
    return sample_value(pair[1]) if len(pair) > 1 else None


def range_samples(response):
    """[(timestamp, float or None), ...] of the first series of a range query's answer, oldest first.

    Also accepts the result list, or the list of [timestamp, value] pairs itself."""
    result = series(response)
    if result and isinstance(result[0], dict):
        pairs = result[0].get("values") or []
    else:
        pairs = result
    return [(float(pair[0]), sample_value(pair[1])) for pair in pairs]


def duration_seconds(text, default=None):
    """A Prometheus duration ('15s', '1h30m', '500ms', or a number of seconds) -> seconds (float).

    Returns default for an empty, zero or unreadable duration."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text) if text > 0 else default
    compact = re.sub(r"\s+", "", str(text or ""))
    try:
        seconds = float(compact)
    except ValueError:
        if not compact or _DURATION_RE.sub("", compact):
            return default
        seconds = sum(int(number) * _DURATION_UNITS[unit] for number, unit in _DURATION_RE.findall(compact))
    if math.isnan(seconds) or math.isinf(seconds) or seconds <= 0:
        return default
    return seconds
