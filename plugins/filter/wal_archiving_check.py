# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily health check's WAL archiving check, from pg_stat_archiver."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.common import parse_time

DOCUMENTATION = r"""
name: wal_archiving_check
author: ClickView Platform Team
version_added: 0.1.0
short_description: Grade WAL archiving from pg_stat_archiver
description:
  - Takes the registered M(community.postgresql.postgresql_query) result of the health check's archiver query
    (C(archive_mode), C(archived_count), C(last_archived_wal), C(last_archived_time), C(failed_count),
    C(last_failed_wal), C(last_failed_time); times as ISO 8601 text) and returns the check C(postgres.wal_archiving).
  - C(FAIL) when the last failure is more recent than the last success (or archiving has only ever failed); the
    backups then stop at that WAL segment and point-in-time recovery with them. The figure names the segment.
  - C(WARN) when C(archive_mode) is off (no WAL reaches the backup repository).
  - C(OK) otherwise, with the count and the time of the last archived segment; C(FAIL) when the query failed.
options:
  _input:
    description: The registered query result.
    type: dict
    required: true
  target:
    description: The primary, C(name host:port).
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Record WAL archiving
  ansible.builtin.set_fact:
    on_call_checks: "{{ on_call_checks + [on_call_pg_archiver | clickview.runbook.wal_archiving_check('primary db1:5432')] }}"
"""

RETURN = r"""
_value:
  description: The check C({check, target, status, figure, threshold, detail, value, unit}); C(value) and C(unit) are
    always null (the figure's counts are totals since the statistics were reset, not a graded number).
  type: dict
"""

CHECK = "postgres.wal_archiving"
THRESHOLD = "the last segment archived after the last failure; archive_mode on"


def wal_archiving_check(result, target=""):
    """postgres.wal_archiving (see DOCUMENTATION)."""
    result = result or {}
    rows = result.get("query_result") or []
    if not rows:
        return check_row(CHECK, target, "FAIL", "unknown", THRESHOLD, result.get("msg", "not read"))
    row = rows[0]
    archived, failed = parse_time(row.get("last_archived_time")), parse_time(row.get("last_failed_time"))
    last_ok = ("%s archived, the last %s at %s" % (row.get("archived_count"), row.get("last_archived_wal"),
                                                   row.get("last_archived_time"))) if archived else "none archived yet"
    if failed and (not archived or failed > archived):
        return check_row(CHECK, target, "FAIL", "failing: %s failed at %s (%s failure(s)); the backups stop there" % (
            row.get("last_failed_wal"), row.get("last_failed_time"), row.get("failed_count")), THRESHOLD, last_ok)
    if str(row.get("archive_mode", "")).lower() == "off":
        return check_row(CHECK, target, "WARN",
                         "archive_mode is off: no WAL reaches the backups (no point-in-time recovery)", THRESHOLD)
    return check_row(CHECK, target, "OK", last_ok, THRESHOLD)


class FilterModule:
    """WAL archiving filters."""

    def filters(self):
        return {"wal_archiving_check": wal_archiving_check}
