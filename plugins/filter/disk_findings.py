# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The figures of a disk space alert, graded: database size on its volume, the largest tables, bloat."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import rows, server_target, threshold_pair

DOCUMENTATION = r"""
name: disk_findings
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Grade the figures of the Disk Space Low alert
description:
  - Takes the registered results of the alert's investigation and returns three findings.
  - C(disk.database_size) grades the database's size as a percentage of O(volume_bytes); C(OK) (not graded) when the
    volume size is unknown (0), C(FAIL) when PostgreSQL could not be reached.
  - C(postgres.largest_tables) is informational (C(OK)), the ten largest tables; C(FAIL) when not read.
  - C(postgres.bloat) grades the highest dead-tuple ratio of the tables the bloat query returned; C(FAIL) when not read.
    The figure names the table with the most dead tuples (the first row).
  - A figure at a threshold takes that grade (at C(warn) is C(WARN), at C(fail) is C(FAIL)).
options:
  _input:
    description: The registered postgresql_query result of the database size (C(database), C(bytes), C(pretty)).
    type: dict
    required: true
  largest:
    description: The registered postgresql_query result of the largest tables.
    type: dict
    default: {}
  bloat:
    description: The registered postgresql_query result of the bloated tables (C(name), C(dead_ratio), C(n_dead_tup) ...),
      most dead tuples first.
    type: dict
    default: {}
  volume_bytes:
    description: The size of the database's volume in bytes; 0 when unknown.
    type: int
    default: 0
  thresholds:
    description: C(volume_used_pct) and C(dead_tuple_ratio), each C({warn, fail}), as C(alert_response_disk_thresholds).
    type: dict
    required: true
  primary:
    description: The PostgreSQL primary (C(name), C(host), C(port)), the target of the findings.
    type: dict
    required: true
  min_dead_tuples:
    description: The fewest dead tuples a table needs to count as bloated, for the threshold text.
    type: int
    default: 0
  evidence_limit:
    description: At most this many evidence lines for the bloated tables.
    type: int
    default: 20
"""

EXAMPLES = r"""
- name: Grade the figures
  ansible.builtin.set_fact:
    findings: >-
      {{ db_size | clickview.runbook.disk_findings(largest=largest, bloat=bloat, volume_bytes=53687091200,
           thresholds=alert_response_disk_thresholds, primary=clickview_postgres_primary, min_dead_tuples=1000) }}
    # [{'check': 'disk.database_size', 'status': 'OK', 'figure': 'database clickview is 2 GiB, 4.0 % of a 50.0 GiB volume'},
    #  {'check': 'postgres.largest_tables', ...}, {'check': 'postgres.bloat', ...}]
"""

RETURN = r"""
_value:
  description: C(disk.database_size), C(postgres.largest_tables), C(postgres.bloat); each with C(check), C(target),
    C(status), C(figure), C(threshold), C(evidence), C(recommendation).
  type: list
  elements: dict
"""

GIB = 1073741824


def size_finding(result, thresholds, volume, target):
    """disk.database_size: the database against its volume."""
    found = rows(result)
    size = found[0] if found else {}
    unreachable = result.get("msg", "unreachable")
    used_pct = round(int(size["bytes"]) * 100 / volume, 1) if size and volume > 0 else None
    if not size:
        status, figure = "FAIL", "unreachable"
    else:
        status = health_status(used_pct, thresholds.get("volume_used_pct")) if volume > 0 else "OK"
        figure = "database %s is %s%s" % (size.get("database"), size.get("pretty"),
                                          ", %s %% of a %s GiB volume" % (used_pct, round(volume / GIB, 1)) if volume > 0
                                          else " (volume size unknown)")
    return {"check": "disk.database_size", "target": target, "status": status, "figure": figure,
            "threshold": "volume used warn >= %s %%, fail >= %s %%" % threshold_pair(thresholds, "volume_used_pct")
            if volume > 0 else "not graded: set alert_response_db_volume_bytes to the volume size",
            "evidence": [] if size else [unreachable],
            "recommendation": "Restore access to PostgreSQL first: the database could not be reached (%s)." % unreachable
            if not size else "Reclaim space from bloated tables, archive old data to cold storage, or resize the volume "
                             "(PVC) if growth is real."}


def largest_finding(result, target):
    """postgres.largest_tables: informational."""
    read = "query_result" in result
    tables = rows(result)
    first = tables[0] if tables else {}
    return {"check": "postgres.largest_tables", "target": target, "status": "OK" if read else "FAIL",
            "figure": "largest: %s %s" % (first.get("relname", "none"), first.get("total", "")) if read else "unknown",
            "threshold": "informational (the ten largest tables)",
            "evidence": ["%s.%s: %s (heap %s, indexes %s), %s live / %s dead tuples" % (
                r.get("schemaname"), r.get("relname"), r.get("total"), r.get("heap"), r.get("indexes"), r.get("n_live_tup"),
                r.get("n_dead_tup")) for r in tables],
            "recommendation": "Review the retention of the largest tables; archive old rows to cold storage."}


def bloat_finding(result, thresholds, target, min_dead, limit):
    """postgres.bloat: the highest dead-tuple ratio."""
    read = "query_result" in result
    tables = bloated_tables(result)
    worst = max(float(t.get("dead_ratio") or 0) for t in tables) if tables else 0
    if not read:
        figure = "unknown"
    elif tables:
        first = tables[0]
        figure = "%d bloated table(s), worst %s %s %% dead (%s dead tuples)" % (
            len(tables), first.get("name"), round(float(first.get("dead_ratio") or 0) * 100, 1), first.get("n_dead_tup"))
    else:
        figure = "0 bloated table(s)"
    return {"check": "postgres.bloat", "target": target,
            "status": health_status(worst, thresholds.get("dead_tuple_ratio")) if read else "FAIL", "figure": figure,
            "threshold": "dead/(live+dead) warn >= %s, fail >= %s, at least %s dead tuples" % (
                threshold_pair(thresholds, "dead_tuple_ratio") + (min_dead,)),
            "evidence": ["%s: %s dead / %s live (%s %%), %s, last vacuum %s, owner %s" % (
                t.get("name"), t.get("n_dead_tup"), t.get("n_live_tup"), round(float(t.get("dead_ratio") or 0) * 100, 1),
                t.get("total"), t.get("last_vacuum"), t.get("owner")) for t in tables[:limit]],
            "recommendation": "VACUUM (ANALYZE) %s (remediate=true or alert_response_vacuum=true). VACUUM FULL returns the "
                              "space to the operating system but locks each table exclusively while it rewrites it and "
                              "needs free space for a copy: alert_response_vacuum_full=true, in a quiet window."
                              % ", ".join(str(t.get("name")) for t in tables) if tables else "No bloated table."}


def bloated_tables(bloat):
    """The rows of the bloat query ([] when it was not read)."""
    return rows(bloat or {})


def disk_findings(size, largest=None, bloat=None, volume_bytes=0, thresholds=None, primary=None, min_dead_tuples=0,
                  evidence_limit=20):
    """The three findings of the disk alert (see DOCUMENTATION)."""
    thresholds = thresholds or {}
    target = server_target(primary)
    volume = int(volume_bytes or 0)
    return [size_finding(size or {}, thresholds, volume, target),
            largest_finding(largest or {}, target),
            bloat_finding(bloat or {}, thresholds, target, min_dead_tuples, int(evidence_limit))]


class FilterModule:
    """Disk space filters."""

    def filters(self):
        return {"disk_findings": disk_findings}
