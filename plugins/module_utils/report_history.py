# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Each check's figure over the last days, from the JSON reports earlier runs stored.

Every report of roles/report is written as ``<kind>-<environment>-<YYYYmmddTHHMMSSZ>.json`` beside a
``-latest`` copy, with ``finished`` and its checks, each with a numeric ``value`` and its ``unit``
(alert_findings.check_row). ``check_trends`` reads them back: one row per check and target with the
last value of each UTC day, drawn as a sparkline, so the weekly handoff shows how each health-check
figure moved during the shift.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re

from ansible_collections.clickview.runbook.plugins.module_utils.charts import sparkline

STAMP = re.compile(r"(\d{8}T\d{6}Z)\.json")
GAP = " "   # a day without a run, in the sparkline


def _utc(text):
    return datetime.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)


def read_reports(folder, kind, environment, since):
    """``(reports, skipped)``: the parsed reports ``<kind>-<environment>-<stamp>.json`` of ``folder`` stamped at or
    after ``since`` (an aware datetime), oldest first, each with ``_at`` (its stamp); ``skipped``: the files that
    could not be read or parsed, with the reason. A missing folder has no reports."""
    prefix = "%s-%s-" % (kind, environment)
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return [], []
    reports, skipped = [], []
    for name in names:
        match = STAMP.fullmatch(name[len(prefix):]) if name.startswith(prefix) else None
        if not match:   # another kind or environment, the -latest copy, markdown, JUnit
            continue
        at = _utc(match.group(1))
        if at < since:
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                report = json.load(handle)
        except (OSError, ValueError) as exc:
            skipped.append("%s: %s" % (name, exc))
            continue
        if not isinstance(report, dict) or not isinstance(report.get("checks"), list):
            skipped.append("%s: not a report (no checks)" % name)
            continue
        report["_at"] = at
        reports.append(report)
    return reports, skipped


def check_trends(reports, now, days=7):
    """One row per (check, target) that had a numeric value in ``reports`` (read_reports): ``{check, target, unit,
    days, values, runs, latest, low, high, sparkline}``. ``days`` are the last ``days`` UTC dates up to ``now``;
    ``values`` the last value of each (None when no run gave one); the sparkline draws them, a blank for a day
    without one. Rows keep the order in which their checks first appear."""
    days = int(days)
    if days < 1:
        raise ValueError("days must be at least 1, got %d" % days)
    dates = [(now - datetime.timedelta(days=offset)).date() for offset in range(days - 1, -1, -1)]
    rows = {}
    for report in sorted(reports or [], key=lambda r: r["_at"]):
        for check in report.get("checks") or []:
            value = check.get("value")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            key = (check.get("check"), check.get("target"))
            row = rows.setdefault(key, {"unit": check.get("unit"), "by_day": {}, "runs": 0})
            row["by_day"][report["_at"].date()] = value   # reports are oldest first: the last of the day wins
            row["unit"] = check.get("unit") or row["unit"]
            row["runs"] += 1
    out = []
    for (name, target), row in rows.items():
        values = [row["by_day"].get(date) for date in dates]
        known = [value for value in values if value is not None]
        if not known:
            continue
        drawn = iter(sparkline(known, width=len(known)))
        out.append({"check": name, "target": target, "unit": row["unit"], "days": [date.isoformat() for date in dates],
                    "values": values, "runs": row["runs"], "latest": known[-1], "low": min(known), "high": max(known),
                    "sparkline": "".join(GAP if value is None else next(drawn) for value in values)})
    return out
