# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The graded rows of a backups procedure's report."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils import backup_checks as bc

DOCUMENTATION = r"""
name: backup_checks
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The graded rows of the backups procedures' reports - backup, configure, list, restore, verify
description:
  - Grades what a backups procedure registered into report rows (check, target, status, figure, threshold, detail, value,
    unit), the shape every report of the collection uses.
  - C(backup) - the input is the backup made (pgbackrest_info's new backup, or empty); OK with its type and label and the
    seconds it took as the value; SKIP in check mode; no row when nothing was made outside check mode.
  - C(configure) - the input is the registered C(pgbackrest check); OK when it ran and exited 0, else SKIP (check mode, or not reached).
  - C(list) - the input is the repository listing; OK naming the latest backup (value - how many backups), FAIL when
    the repository holds none; no row when the listing failed.
  - C(restore) - the input is the restored server's end point and row counts; the recovery point, then each table's rows.
  - C(verify) - the input is the registered C(pgbackrest verify) (FAIL with its output when it did not exit 0); with
    O(restored) the restore, each table of O(tables) against its minimum in O(min_rows) (FAIL below it), and the
    sentinel query's answer (FAIL unless t, true or 1).
options:
  _input:
    description: What the step registered (see the description); null or empty for a step that did not run.
    type: raw
    required: true
  step:
    description: Which procedure's rows.
    type: str
    required: true
    choices: [backup, configure, list, restore, verify]
  check_mode:
    description: Whether the run is in check mode (C(backup) and C(configure)).
    type: bool
    default: false
  requested_type:
    description: The backup type asked for (C(backup), for the check-mode row).
    type: str
    default: ''
  label:
    description: The label of the backup restored (C(verify)).
    type: str
    default: ''
  restored:
    description: The restored server's end point and row counts (C(verify)); null when the restore was not reached.
    type: dict
  tables:
    description: The tables whose rows are counted (C(verify)).
    type: list
    elements: str
    default: []
  min_rows:
    description: The fewest rows each table must hold (C(verify)); a table not named needs 0.
    type: dict
    default: {}
  sentinel_query:
    description: The sentinel query (C(verify)); empty when there is none.
    type: str
    default: ''
  sentinel:
    description: The registered sentinel query (C(verify)); null when it did not run.
    type: dict
"""

EXAMPLES = r"""
- name: Grade the test restore
  ansible.builtin.set_fact:
    backups_checks: >-
      {{ backups_repo_verify | default(none) | clickview.runbook.backup_checks('verify',
           label=backups_verified.label, restored=backups_restored | default(none), tables=backups_verify_tables,
           min_rows=backups_verify_min_rows, sentinel_query=backups_verify_sentinel_query,
           sentinel=backups_psql | default(none)) }}
"""

RETURN = r"""
_value:
  description: The rows, in the order the procedure ran the steps.
  type: list
  elements: dict
  contains:
    check:
      description: What was checked - C(backup), C(pgbackrest check), C(latest backup), C(restore), C(rows in <table>), ...
      type: str
    status:
      description: C(OK), C(FAIL) or C(SKIP).
      type: str
    figure:
      description: What was found, as a person reads it.
      type: str
    value:
      description: The figure's number (seconds, backups, rows); null when it has none.
      type: raw
    unit:
      description: C(s) or C(count); null when there is no value.
      type: str
"""


def backup_checks(data, step, check_mode=False, requested_type="", label="", restored=None, tables=None, min_rows=None,
                  sentinel_query="", sentinel=None):
    """The rows of one step (see DOCUMENTATION)."""
    if step == "backup":
        return bc.backup_rows(data or {}, requested_type, check_mode)
    if step == "configure":
        return bc.configure_rows(data, check_mode)
    if step == "list":
        return bc.list_rows(data)
    if step == "restore":
        return bc.restore_rows(data)
    if step == "verify":
        return bc.verify_rows(data, label, restored, tables or [], min_rows or {}, sentinel_query or "", sentinel)
    raise AnsibleFilterError("backup_checks: step must be one of backup, configure, list, restore, verify; got %r" % (step,))


class FilterModule:
    """Backups filters."""

    def filters(self):
        return {"backup_checks": backup_checks}
