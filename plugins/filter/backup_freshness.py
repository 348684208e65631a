# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily health check's backup freshness: the age of the latest full and of the latest backup of any type."""

from __future__ import annotations

import datetime

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.common import UTC, parse_time
from ansible_collections.clickview.runbook.plugins.module_utils.runbook_thresholds import threshold

DOCUMENTATION = r"""
name: backup_freshness
author: ClickView Platform Team
version_added: 0.3.0
short_description: Grade the age of the latest backups against the backup schedule
description:
  - Takes the registered result of M(clickview.runbook.pgbackrest_info) (read as the backups role reads it) and
    returns the health check's two backup checks, each C({check, target, status, figure, threshold, detail}).
  - C(backups.latest_full) - the age of the newest full backup, graded with O(thresholds.backup_full_age_hours).
  - C(backups.latest_incremental) - the age of the newest backup of any type, graded with
    O(thresholds.backup_incremental_age_hours). An incremental counts, and so does a newer differential or full,
    since each of them is as recent a starting point for a restore (a full holds everything an incremental would).
  - The age is the time since the backup stopped (from then on it is consistent). A figure at or above C(warn) is
    C(WARN), at or above C(fail) is C(FAIL), as for every threshold of the health check.
  - Backups in which pgBackRest found page checksum errors are left out, as the module's C(latest_backup) leaves
    them out; the detail says how many.
  - No backup to grade is C(FAIL). An unreadable repository (the module failed, or the database host was
    unreachable) makes both checks C(FAIL) with the error as the figure; never C(OK).
options:
  _input:
    description: The registered result of M(clickview.runbook.pgbackrest_info), or of its failure.
    type: dict
    required: true
  thresholds:
    description:
      - C(backup_full_age_hours) and C(backup_incremental_age_hours), each C({warn, fail}) in hours; other keys are
        ignored, so the health check's whole threshold dictionary can be given.
      - A missing entry takes the collection's table (P(clickview.runbook.runbook_threshold#filter)), which follows
        the schedule in C(docs/backups.md) - a full weekly (WARN at 170 h, FAIL at 174 h) and a differential daily
        (WARN at 26 h, FAIL at 30 h).
    type: dict
    default: {}
  target:
    description: What the rows name as their target; by default C(stanza NAME) from the result.
    type: str
    default: ''
  now:
    description: The time to measure the ages at, ISO 8601 (for tests and reports of a past run); by default now.
    type: str
"""

EXAMPLES = r"""
- name: Record the backup freshness
  ansible.builtin.set_fact:
    on_call_checks: "{{ on_call_checks + (backups_info | clickview.runbook.backup_freshness(thresholds=on_call_thresholds)) }}"

- name: Grade against a schedule of daily fulls
  ansible.builtin.debug:
    msg: >-
      {{ backups_info | clickview.runbook.backup_freshness(thresholds={
           'backup_full_age_hours': {'warn': 26, 'fail': 30}, 'backup_incremental_age_hours': {'warn': 26, 'fail': 30}}) }}
"""

RETURN = r"""
_value:
  description: C(backups.latest_full), then C(backups.latest_incremental).
  type: list
  elements: dict
  contains:
    check:
      description: The check's name.
      type: str
      sample: backups.latest_full
    target:
      description: The stanza.
      type: str
      sample: stanza clickview
    status:
      description: C(OK), C(WARN) or C(FAIL).
      type: str
    figure:
      description: The age, label, type and stop time of the backup graded, or why there is none.
      type: str
      sample: "31.5 h old - 20250112-010002F (full), stopped 2025-01-12T01:42:10Z"
    threshold:
      description: The WARN and FAIL ages.
      type: str
    detail:
      description: The backups in the repository by type, or the problem the module named.
      type: str
    value:
      description: The age of the backup graded in hours (rounded to 0.01), null when there is none.
      type: float
      sample: 31.52
    unit:
      description: C(hours), null when there is no value.
      type: str
"""

CHECKS = (
    # check, threshold key, backup types that count, what counts (for the threshold text)
    ("backups.latest_full", "backup_full_age_hours", ("full",), "full backup"),
    ("backups.latest_incremental", "backup_incremental_age_hours", None, "backup of any type (incr, diff or full)"),
)


def age_text(hours):
    """An age for people: minutes under an hour, else hours (and days from two days on)."""
    if hours < 1:
        return "%d min" % int(round(hours * 60))
    text = "%.1f h" % hours
    return text + (" (%.1f days)" % (hours / 24.0) if hours >= 48 else "")


def _limits(thresholds, key):
    given = (thresholds or {}).get(key) or {}
    table = threshold(key)
    return {"warn": given.get("warn", table["warn"]), "fail": given.get("fail", table["fail"])}


def _limits_text(limits, counted):
    return "latest %s: warn >= %s h, fail >= %s h old" % (counted, limits["warn"], limits["fail"])


def _error(result):
    """The error of a failed or unreachable read, or None when the result lists the backups."""
    if not isinstance(result, dict):
        return "backup repository not read"
    if result.get("failed") or result.get("unreachable") or not isinstance(result.get("backups"), list):
        if result.get("skipped"):
            return "backup repository not read (skipped)"
        return str(result.get("msg") or "backup repository not read")
    return None


def _inventory(backups, ignored):
    counts = {}
    for backup in backups:
        counts[backup.get("type")] = counts.get(backup.get("type"), 0) + 1
    text = "%d backup(s) in the repository: %s" % (
        len(backups), ", ".join("%d %s" % (counts[kind], kind) for kind in sorted(counts, key=str)) or "none")
    if ignored:
        text += "; %d left out (page checksum errors found by pgBackRest, or no stop time)" % ignored
    return text


def backup_freshness(result, thresholds=None, target="", now=None):
    """backups.latest_full and backups.latest_incremental (see DOCUMENTATION)."""
    result = result if isinstance(result, dict) else {}
    target = target or ("stanza %s" % result["stanza"] if result.get("stanza") else "backup repository")
    moment = parse_time(now) if now else datetime.datetime.now(UTC)
    if moment is None:
        raise AnsibleFilterError("backup_freshness: now must be an ISO 8601 time, got %r" % (now,))
    error = _error(result)
    if error is not None:
        detail = ("problem: %s" % result["problem"]) if result.get("problem") else ""
        return [check_row(name, target, "FAIL", error, _limits_text(_limits(thresholds, key), counted), detail)
                for name, key, _types, counted in CHECKS]
    backups = result["backups"]
    good = [b for b in backups if not b.get("error") and parse_time(b.get("stop"))]
    detail = _inventory(backups, len(backups) - len(good))
    rows = []
    for name, key, types, counted in CHECKS:
        limits = _limits(thresholds, key)
        limits_text = _limits_text(limits, counted)
        candidates = [b for b in good if types is None or b.get("type") in types]
        if not candidates:
            rows.append(check_row(name, target, "FAIL", "no %s in the repository" % counted, limits_text, detail))
            continue
        latest = max(candidates, key=lambda b: (parse_time(b["stop"]), b.get("label") or ""))
        hours = (moment - parse_time(latest["stop"])).total_seconds() / 3600.0
        note = ""
        if hours < 0:          # stopped "in the future": the clocks of this host and the database host differ
            note = "; stopped %s after the time of this check: check the clocks" % age_text(-hours)
            hours = 0.0
        figure = "%s old - %s (%s), stopped %s" % (age_text(hours), latest.get("label"), latest.get("type"),
                                                   latest.get("stop"))
        rows.append(check_row(name, target, health_status(hours, limits), figure, limits_text, detail + note,
                              value=round(hours, 2), unit="hours"))
    return rows


class FilterModule:
    """Backup freshness filters."""

    def filters(self):
        return {"backup_freshness": backup_freshness}
