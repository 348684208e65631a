# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The graded rows of the backups procedures' reports (backup, configure, list, restore, verify).

Each function takes what the procedure's tasks registered (None or {} for a step that did not run) and
returns check rows in the shape of alert_findings.check_row: check, target, status (OK, FAIL, SKIP), figure,
threshold, detail, value and unit. Nothing here reads a service; the role gathers, these decide.
"""

from __future__ import annotations

import re

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.common import to_int as _int

TRUE_WORDS = ("t", "true", "1")


def _one_line(text, limit=400):
    text = re.sub(r"\s+", " ", str(text or "")).strip()
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def backup_rows(made, requested_type, check_mode=False):
    """The backup run: OK with the backup's type and label (value: seconds it took), SKIP in check mode."""
    if made:
        return [check_row("backup", made.get("label", ""), "OK", "%s %s" % (made.get("type", ""), made.get("label", "")),
                          "a backup is made", value=_int(made.get("duration_seconds")), unit="s")]
    if check_mode:
        return [check_row("backup", "", "SKIP", "check mode: a %s backup would run" % requested_type, "a backup is made")]
    return []


def configure_rows(pgbackrest_check, check_mode=False):
    """pgbackrest check after configuring: OK when it ran and succeeded, SKIP when it did not run."""
    ran = isinstance(pgbackrest_check, dict) and not pgbackrest_check.get("skipped") and pgbackrest_check != {}
    if ran and not pgbackrest_check.get("failed") and pgbackrest_check.get("rc", 0) == 0:
        return [check_row("pgbackrest check", "", "OK", "WAL archived to the repository and backup settings valid",
                          "pgbackrest check exits 0")]
    return [check_row("pgbackrest check", "", "SKIP", "check mode" if check_mode else "not reached", "pgbackrest check exits 0")]


def list_rows(info):
    """The repository listing: OK when it holds a backup (value: how many), FAIL when it holds none."""
    if not isinstance(info, dict) or not info or info.get("failed"):
        return []
    latest = info.get("latest_backup")
    count = len(info.get("backups") or [])
    if latest:
        return [check_row("latest backup", latest.get("label", ""), "OK", "%s stopped %s" % (latest.get("label"), latest.get("stop")),
                          "at least one backup", value=count, unit="count")]
    return [check_row("latest backup", "", "FAIL", "no backup in the repository", "at least one backup", value=0, unit="count")]


def restore_rows(restored):
    """A restore that finished: where it recovered to, and each counted table's rows (value: the rows)."""
    if not isinstance(restored, dict) or not restored:
        return []
    rows = [check_row("restore", "", "OK", "recovered to %s, last transaction %s, timeline %s" % (
        restored.get("replay_lsn"), restored.get("last_replayed_transaction") or "none", restored.get("timeline")),
        "the server recovers and starts")]
    for table, count in (restored.get("counts") or {}).items():
        rows.append(check_row("rows in %s" % table, table, "OK", "%s rows" % count, "counted", value=_int(count), unit="count"))
    return rows


def verify_rows(repo_verify=None, label="", restored=None, tables=(), min_rows=None, sentinel_query="", sentinel=None):
    """The test restore: the repository's checksums, the restore, each table's rows against its minimum, the sentinel.

    ``repo_verify`` is pgbackrest verify's registered command (None or skipped: not run); ``restored`` the
    restored server's end point and row counts (None: not reached); ``sentinel`` the sentinel query's registered
    command (None: not run)."""
    rows = []
    if isinstance(repo_verify, dict) and repo_verify and not repo_verify.get("skipped"):
        good = repo_verify.get("rc") == 0
        figure = ("pgbackrest verify: every file matches its checksum" if good
                  else _one_line("%s\n%s" % (repo_verify.get("stderr", ""), repo_verify.get("stdout", ""))))
        rows.append(check_row("repository checksums", "", "OK" if good else "FAIL", figure, "pgbackrest verify exits 0"))
    if isinstance(restored, dict) and restored:
        rows.append(check_row("restore and start", label, "OK", "%s restored and started; consistent at %s, timeline %s" % (
            label, restored.get("replay_lsn"), restored.get("timeline")), "the copy recovers and starts"))
        counts = restored.get("counts") or {}
        for table in tables or ():
            count = _int(counts.get(table))
            least = _int((min_rows or {}).get(table)) or 0
            status = "OK" if count is not None and count >= least else "FAIL"
            rows.append(check_row("rows in %s" % table, table, status,
                                  "%s rows (at least %d)" % (count if count is not None else "no count of", least),
                                  "at least %d rows" % least, value=count, unit="count"))
        if sentinel_query and isinstance(sentinel, dict) and not sentinel.get("skipped"):
            answer = str(sentinel.get("stdout") or "").strip()
            rows.append(check_row("sentinel row", "", "OK" if answer in TRUE_WORDS else "FAIL",
                                  "%s → %s" % (sentinel_query, answer or "no row"), "the query answers true"))
    return rows
