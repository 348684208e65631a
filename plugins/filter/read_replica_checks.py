# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The read replica procedures' graded rows: Verify replica sync, and Remove a read replica."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status, worst_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row, server_target as _server

DOCUMENTATION = r"""
name: read_replica_checks
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: Grade a read replica after Verify replica sync or Remove a read replica
description:
  - C(verify) - the input is the primary's C(pg_stat_replication) rows for the replica (C(query_result) of
    M(community.postgresql.postgresql_query)). Two rows - C(read_replica.recovery), OK when the replica (O(replica_state),
    its C(pg_is_in_recovery()), WAL receiver status and replay position) is in recovery with its WAL receiver
    streaming; and C(read_replica.streaming), FAIL unless the primary lists it as streaming, else graded by its replay
    lag in bytes (the value) and seconds against O(thresholds). In check mode both are OK and say not checked.
  - C(remove) - the input is the number of WAL senders the primary still has for the replica. Two rows -
    C(read_replica.stopped), OK when its port closed (O(port_open) false); C(read_replica.removed_from_primary), OK when
    no WAL sender is left (the number as the value). In check mode both are OK and say what would happen.
options:
  _input:
    description: The primary's rows for the replica (C(verify)) or its WAL senders left (C(remove)).
    type: raw
    required: true
  step:
    description: Which procedure's rows.
    type: str
    required: true
    choices: [verify, remove]
  replica:
    description: The read replica, a dictionary with C(name), C(host), C(port) and C(data_dir).
    type: dict
    required: true
  primary:
    description: The primary, a dictionary with C(name), C(host) and C(port).
    type: dict
    required: true
  thresholds:
    description: The lag thresholds (C(verify)), C(lag_bytes) and C(lag_seconds), each with C(warn) and C(fail).
    type: dict
  replica_state:
    description: The replica's own row (C(verify)); empty when it could not be read.
    type: dict
  replica_error:
    description: Why the replica could not be read (C(verify)).
    type: str
    default: ''
  port_open:
    description: Whether the replica's port was still open after it was stopped (C(remove)).
    type: bool
    default: false
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Record the replica's sync
  ansible.builtin.set_fact:
    checks: >-
      {{ sender.query_result | default([]) | clickview.runbook.read_replica_checks('verify', replica=read_replica,
           primary=primary, thresholds=read_replica_thresholds, replica_state=replica_state.query_result[0] | default({}),
           replica_error=replica_state.msg | default(''), check_mode=ansible_check_mode) }}
"""

RETURN = r"""
_value:
  description: The rows (check, target, status, figure, threshold, detail, value, unit).
  type: list
  elements: dict
"""


def _sender(rows):
    """The primary's row for the replica: a streaming one first."""
    rows = [] if rows is None or isinstance(rows, Mapping) else list(rows)
    streaming = [row for row in rows if (row or {}).get("state") == "streaming"]
    return (streaming + rows or [{}])[0] or {}


def verify_rows(senders, replica, primary, thresholds, replica_state=None, replica_error="", check_mode=False):
    """read_replica.recovery and read_replica.streaming (see DOCUMENTATION)."""
    state, sender = replica_state or {}, _sender(senders)
    lag_bytes, lag_seconds = thresholds.get("lag_bytes") or {}, thresholds.get("lag_seconds") or {}
    if check_mode:
        recovery = ("OK", "not checked (check mode)")
        streaming = ("OK", "not checked (check mode)")
    else:
        in_sync = bool(state) and bool(state.get("in_recovery")) and state.get("receiver_status") == "streaming"
        recovery = ("OK" if in_sync else "FAIL",
                    "unreachable" if not state else "pg_is_in_recovery() = %s, WAL receiver %s, replayed up to %s" % (
                        state.get("in_recovery"), state.get("receiver_status") or "not running", state.get("replay_lsn")))
        if sender.get("state") != "streaming":
            grade = "FAIL"
        else:
            grade = worst_status([health_status(sender.get("lag_bytes"), lag_bytes),
                                  health_status(sender.get("lag_seconds"), lag_seconds)])
        streaming = (grade, ("%s not in pg_stat_replication" % replica.get("name")) if not sender else
                     "%s %s (%s) from %s, %s bytes, %s s replay lag" % (
                         replica.get("name"), sender.get("state"), sender.get("sync_state"), sender.get("client_addr"),
                         sender.get("lag_bytes"), sender.get("lag_seconds")))
    lag = sender.get("lag_bytes") if not check_mode and sender.get("state") == "streaming" else None
    return [
        check_row("read_replica.recovery", _server(replica), recovery[0], recovery[1], "in recovery, WAL receiver streaming",
                  "" if check_mode or state else replica_error),
        check_row("read_replica.streaming", _server(primary), streaming[0], streaming[1],
                  "streaming; bytes warn >= %s, fail >= %s; seconds warn >= %s, fail >= %s" % (
                      lag_bytes.get("warn"), lag_bytes.get("fail"), lag_seconds.get("warn"), lag_seconds.get("fail")),
                  sender, value=lag, unit="bytes"),
    ]


def remove_rows(senders, replica, primary, port_open=False, check_mode=False):
    """read_replica.stopped and read_replica.removed_from_primary (see DOCUMENTATION)."""
    try:
        left = int(senders)
    except (TypeError, ValueError):
        left = None
    if check_mode:
        stopped = ("OK", "would stop it and delete %s (check mode)" % replica.get("data_dir"))
    else:
        stopped = ("FAIL", "port still open") if port_open else ("OK", "port closed, data directory deleted")
    return [
        check_row("read_replica.stopped", _server(replica), stopped[0], stopped[1], "port closed"),
        check_row("read_replica.removed_from_primary", _server(primary), "OK" if check_mode or left == 0 else "FAIL",
                  "%s WAL sender(s) for %s" % ("unknown" if left is None else left, replica.get("name")),
                  "none left (ansible --check counts the current ones)", value=left, unit="count"),
    ]


def read_replica_checks(data, step, replica, primary, thresholds=None, replica_state=None, replica_error="", port_open=False,
                        check_mode=False):
    """The rows of one procedure (see DOCUMENTATION)."""
    if step == "verify":
        return verify_rows(data, replica or {}, primary or {}, thresholds or {}, replica_state, replica_error or "", bool(check_mode))
    if step == "remove":
        return remove_rows(data, replica or {}, primary or {}, bool(port_open), bool(check_mode))
    raise AnsibleFilterError("read_replica_checks: step must be verify or remove, got %r" % (step,))


class FilterModule:
    """Read replica filters."""

    def filters(self):
        return {"read_replica_checks": read_replica_checks}
