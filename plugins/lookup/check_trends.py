# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each check's figure over the last days, read from the stored JSON reports of earlier runs."""

from __future__ import annotations

DOCUMENTATION = r"""
name: check_trends
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Each check's daily figure over the last days, from the stored reports of earlier runs
description:
  - Reads the JSON reports C(<kind>-<environment>-<YYYYmmddTHHMMSSZ>.json) that earlier runs wrote in the folder (the
    C(-latest) copy is left out) and keeps those of the last O(days) days.
  - Returns one dictionary, with one row per check and target that had a numeric C(value) (the C(value) and C(unit)
    every check row carries), the last value of each UTC day, and a sparkline of them (a blank for a day without a run).
  - Runs on the controller, where the collection writes its reports. Reports kept only in an AWX job's container are
    gone with it; on AWX, point it at a folder that persists between jobs.
  - A file that cannot be read or parsed is listed in C(skipped), not an error.
options:
  _terms:
    description: The report folder (one).
    type: list
    elements: path
    required: true
  kind:
    description: The report kind, the first part of the file names (C(health-check) for the daily health check).
    type: str
    default: health-check
  environment:
    description: The environment in the file names (C(clickview_environment)).
    type: str
    required: true
  days:
    description: How many days, up to today (UTC), the trend covers.
    type: int
    default: 7
"""

EXAMPLES = r"""
- name: The health-check figures over the shift
  ansible.builtin.set_fact:
    trends: >-
      {{ query('clickview.runbook.check_trends', clickview_report_dir, kind='health-check',
               environment=clickview_environment, days=7) | first }}
"""

RETURN = r"""
_raw:
  description: One dictionary.
  type: list
  elements: dict
  contains:
    rows:
      description:
        - One per check and target - C(check), C(target), C(unit), C(days) (the UTC dates), C(values) (the last value of
          each day, or null), C(runs) (reports with a value), C(latest), C(low), C(high), C(sparkline).
      type: list
      elements: dict
    reports:
      description: How many reports were read.
      type: int
    skipped:
      description: The files that could not be read, with the reason.
      type: list
      elements: str
"""

import datetime

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.clickview.runbook.plugins.module_utils.report_history import check_trends, read_reports


class LookupModule(LookupBase):
    """The check_trends lookup."""

    def run(self, terms, variables=None, **kwargs):
        unknown = sorted(set(kwargs) - {"kind", "environment", "days"})
        if unknown:
            raise AnsibleLookupError("check_trends: unknown option %s (kind, environment, days)" % ", ".join(unknown))
        if len(terms) != 1:
            raise AnsibleLookupError("check_trends: give one report folder, not %d" % len(terms))
        environment = str(kwargs.get("environment") or "")
        if not environment:
            raise AnsibleLookupError("check_trends: environment is required (clickview_environment)")
        try:
            days = int(kwargs.get("days", 7))
        except (TypeError, ValueError):
            raise AnsibleLookupError("check_trends: days must be a whole number, got %r" % (kwargs.get("days"),))
        if days < 1:
            raise AnsibleLookupError("check_trends: days must be at least 1, got %d" % days)
        now = datetime.datetime.now(datetime.timezone.utc)
        since = datetime.datetime.combine((now - datetime.timedelta(days=days - 1)).date(), datetime.time(),
                                          tzinfo=datetime.timezone.utc)
        reports, skipped = read_reports(str(terms[0]), str(kwargs.get("kind") or "health-check"), environment, since)
        return [{"rows": check_trends(reports, now, days), "reports": len(reports), "skipped": skipped}]
