# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seconds of a Prometheus duration (a range query's lookback or step)."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.prometheus import duration_seconds

DOCUMENTATION = r"""
name: prometheus_duration
author: ClickView Platform Team
version_added: 0.2.0
short_description: Seconds of a Prometheus duration such as C(15s), C(10m) or C(1h30m)
description:
  - Reads a duration in Prometheus' grammar (units C(ms), C(s), C(m), C(h), C(d), C(w), C(y), combined largest first
    as in C(1h30m)) or a plain number of seconds.
  - An empty, zero or unreadable duration gives O(default).
options:
  _input:
    description: The duration.
    type: raw
    required: true
  default:
    description: What an empty, zero or unreadable duration gives.
    type: raw
"""

EXAMPLES = r"""
- name: The lookback of the range query
  ansible.builtin.debug:
    msg: "{{ '1h30m' | clickview.runbook.prometheus_duration(default=3600) }}"   # 5400.0
"""

RETURN = r"""
_value:
  description: Seconds, or O(default).
  type: float
"""


def prometheus_duration(text, default=None):
    """Seconds of a Prometheus duration, or default."""
    return duration_seconds(text, default=default)


class FilterModule:
    """Prometheus filters."""

    def filters(self):
        return {"prometheus_duration": prometheus_duration}
