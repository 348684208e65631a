# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seconds from a game day's fault injection to each step of the response."""

from __future__ import annotations

from datetime import datetime

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: scoreboard_timings
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Seconds from the injection to each marked step of a game day
description:
  - Each mark names a step of the response (C(key), C(label)) and when the incident's timeline says it was
    done (C(at), UTC C(%Y-%m-%dT%H:%M:%SZ)). This gives the whole seconds from the injection to each step.
  - A step that was not done (empty or absent C(at)) has a null C(at) and null C(seconds).
  - A step recorded before the injection has negative seconds. A time in another format is an error.
options:
  _input:
    description: The marks, in the scoreboard's order, each C({key, label, at}).
    type: list
    elements: dict
    required: true
  started:
    description: When the fault was injected (UTC, C(%Y-%m-%dT%H:%M:%SZ)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Time from the injection to each step
  ansible.builtin.set_fact:
    rows: >-
      {{ [{'key': 'alert', 'label': 'alert fired', 'at': '2026-01-01T10:01:30Z'},
          {'key': 'resolved', 'label': 'incident resolved', 'at': ''}]
         | clickview.runbook.scoreboard_timings('2026-01-01T10:00:00Z') }}
    # [{'key': 'alert', 'label': 'alert fired', 'at': '2026-01-01T10:01:30Z', 'seconds': 90},
    #  {'key': 'resolved', 'label': 'incident resolved', 'at': None, 'seconds': None}]
"""

RETURN = r"""
_value:
  description: One row per mark, in the input's order.
  type: list
  elements: dict
  contains:
    key:
      description: The step's key.
      type: str
    label:
      description: The step's label.
      type: str
    at:
      description: When it was done, or null when it was not.
      type: str
    seconds:
      description: Whole seconds from the injection (truncated), or null when it was not done.
      type: int
"""

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _moment(text, what):
    try:
        return datetime.strptime(str(text), _FORMAT)
    except ValueError:
        raise AnsibleFilterError("scoreboard_timings: %s %r is not a UTC time like 2026-01-01T10:00:00Z" % (what, text))


def scoreboard_timings(marks, started):
    """[{key, label, at, seconds}]: seconds from started to each mark's time, None when it has none."""
    start = _moment(started, "started")
    rows = []
    for mark in marks or []:
        at = mark.get("at") or None
        seconds = int((_moment(at, "the time of %s" % mark.get("key")) - start).total_seconds()) if at else None
        rows.append({"key": mark.get("key"), "label": mark.get("label"), "at": at, "seconds": seconds})
    return rows


class FilterModule:
    """Game-day filters."""

    def filters(self):
        return {"scoreboard_timings": scoreboard_timings}
