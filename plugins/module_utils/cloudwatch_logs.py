# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read the events of a CloudWatch Logs group for a time window (FilterLogEvents, paginated) and
write them as JSON lines - the runbook's ``export-waf-logs.sh``. Read-only against AWS: nothing
is ever deleted, expired or re-configured. Used by the cloudwatch_logs_export module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError, atomic_write

ISO_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%S+00:00")


class WindowError(ClickviewError):
    """A bad window or destination; the message names the parameter."""


def parse_time(name, value):
    """UTC datetime from ISO 8601 with a Z (or +00:00) suffix."""
    for fmt in ISO_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt).replace(tzinfo=datetime.timezone.utc)
        except (TypeError, ValueError):
            continue
    raise WindowError("%s: %r is not an ISO 8601 UTC time such as 2025-01-31T14:00:00Z" % (name, value))


def to_ms(moment):
    return int(moment.timestamp() * 1000)


def iso_ms(millis):
    moment = datetime.datetime.fromtimestamp(millis / 1000.0, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (millis % 1000)


def check_window(start, end, now=None, skew_seconds=60):
    """(start, end) datetimes, refusing a reversed window or one that ends in the future."""
    begin = parse_time("start_time", start)
    finish = parse_time("end_time", end)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if finish <= begin:
        raise WindowError("end_time %s is not after start_time %s: the window is reversed or empty" % (end, start))
    if (finish - now).total_seconds() > skew_seconds:
        raise WindowError("end_time %s is in the future (now %s): evidence can only cover the past"
                          % (end, now.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return begin, finish


def fetch(client, log_group, begin, finish, filter_pattern=None, max_events=100000):
    """Events of the window, oldest first, and whether max_events cut them short."""
    kwargs = dict(logGroupName=log_group, startTime=to_ms(begin), endTime=to_ms(finish), interleaved=True)
    if filter_pattern:
        kwargs["filterPattern"] = filter_pattern
    events = []
    truncated = False
    while True:
        page = client.filter_log_events(**kwargs)
        for event in page.get("events", []):
            if len(events) >= max_events:
                truncated = True
                break
            events.append(dict(timestamp=iso_ms(event["timestamp"]), log_stream=event.get("logStreamName"),
                               event_id=event.get("eventId"), message=event.get("message", "")))
        token = page.get("nextToken")
        if truncated or not token or token == kwargs.get("nextToken"):
            break
        kwargs["nextToken"] = token
    events.sort(key=lambda e: e["timestamp"])
    return events, truncated


def write_jsonl(dest, events):
    """Write the events to dest (one JSON object per line), atomically; refuse to overwrite."""
    if os.path.exists(dest):
        raise WindowError("dest: %s exists; evidence files are never overwritten - choose a new file" % dest)
    folder = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(folder):
        raise WindowError("dest: folder %s does not exist" % folder)
    try:
        atomic_write(dest, "".join(json.dumps(event, sort_keys=True) + "\n" for event in events), mode=0o640,
                     overwrite=False)
    except FileExistsError:
        raise WindowError("dest: %s exists; evidence files are never overwritten - choose a new file" % dest)
