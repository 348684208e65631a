# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that grade a figure against its thresholds, for the runbook's reports."""

from __future__ import annotations

DOCUMENTATION = r"""
name: health_status
author: ClickView Platform Team
version_added: 0.1.0
short_description: Grade a figure as OK, WARN or FAIL against two thresholds
description:
  - Returns C(OK), C(WARN) or C(FAIL) for a measured value.
  - With O(higher_is_worse=true) (the default) a value at or above O(fail) is C(FAIL), at or
    above O(warn) is C(WARN). With O(higher_is_worse=false) the comparison is reversed (for
    figures such as a cache hit rate, where lower is worse).
  - A value that is V(None) (the figure could not be measured) is C(FAIL).
options:
  _input:
    description: The measured value.
    type: float
    required: true
  warn:
    description:
      - Threshold at which the figure becomes C(WARN); V(None) for none.
      - May also be a dictionary with keys C(warn) and C(fail), as in the roles' threshold settings.
    type: raw
  fail:
    description: Threshold at which the figure becomes C(FAIL); V(None) for none.
    type: float
  higher_is_worse:
    description: Whether larger values are worse.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Grade the connection usage
  ansible.builtin.debug:
    msg: "{{ 82 | clickview.runbook.health_status(warn=75, fail=90) }}"   # WARN

- name: Grade against a thresholds dictionary
  ansible.builtin.debug:
    msg: "{{ 82 | clickview.runbook.health_status({'warn': 75, 'fail': 90}) }}"   # WARN

- name: Grade a cache hit rate (lower is worse)
  ansible.builtin.debug:
    msg: "{{ 0.65 | clickview.runbook.health_status(warn=0.8, higher_is_worse=false) }}"   # WARN
"""

RETURN = r"""
_value:
  description: One of C(OK), C(WARN), C(FAIL).
  type: str
"""


def health_status(value, warn=None, fail=None, higher_is_worse=True):
    """Grade value against thresholds; None (not measured) is FAIL."""
    if isinstance(warn, dict):
        warn, fail = warn.get("warn"), warn.get("fail", fail)
    if value is None or value in ("", "None"):
        return "FAIL"
    value = float(value)

    def crossed(limit):
        if limit is None:
            return False
        return value >= float(limit) if higher_is_worse else value < float(limit)

    if crossed(fail):
        return "FAIL"
    if crossed(warn):
        return "WARN"
    return "OK"


def worst_status(statuses):
    """The worst of a list of OK/WARN/FAIL (OK for an empty list)."""
    order = ["OK", "WARN", "FAIL"]
    ranks = [order.index(status) if status in order else 2 for status in statuses or ["OK"]]
    return order[max(ranks)]


class FilterModule:
    """Health grading filters."""

    def filters(self):
        return {"health_status": health_status}
