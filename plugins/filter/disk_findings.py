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
  - Takes the registered results of the alert's investigation and returns four findings.
  - C(disk.volume_used) grades how full the database's volume is, against O(thresholds.volume_used_pct) (the runbook's
    alert is over 80 %). It is measured as the shipped C(DiskSpaceLow) rule measures it, from the kubelet's volume
    statistics of the database's claim through Prometheus (O(prometheus)); where Prometheus has no such series, from
    C(df -P -B1) of the data directory (O(df)). A volume measured by neither is C(FAIL) with the figure C(unknown),
    never C(OK) while the runbook's condition may hold.
  - C(disk.database_size) is informational (C(OK)), the database's size and its share of the volume when the volume's
    capacity is known; C(FAIL) when PostgreSQL could not be reached.
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
  prometheus:
    description:
      - The volume read through Prometheus, as P(clickview.runbook.prometheus_figures#filter) returns it for the queries
        C(volume_used) (the used ratio, 0 to 1) and C(volume_capacity) (bytes).
      - C(figures.volume_used) V(None) means Prometheus has no series for the claim; C(error) that it did not answer.
    type: dict
    default: {}
  df:
    description: The registered result of C(df -P -B1 -- DATA_DIR); skipped or failed when the data directory was not read.
    type: dict
    default: {}
  claim:
    description: The claim measured, C(namespace/name), for the target and the evidence.
    type: str
    default: ''
  data_dir:
    description: The data directory C(df) read, for the evidence.
    type: str
    default: ''
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
      {{ db_size | clickview.runbook.disk_findings(largest=largest, bloat=bloat, prometheus=volume_read, df=volume_df,
           claim='clickview/data-postgres-0', thresholds=alert_response_disk_thresholds, primary=clickview_postgres_primary,
           min_dead_tuples=1000) }}
    # [{'check': 'disk.volume_used', 'status': 'FAIL', 'figure': '91.2 % used, 9.1 of 10.0 GiB (kubelet volume stats)', ...},
    #  {'check': 'disk.database_size', ...}, {'check': 'postgres.largest_tables', ...}, {'check': 'postgres.bloat', ...}]
"""

RETURN = r"""
_value:
  description: C(disk.volume_used), C(disk.database_size), C(postgres.largest_tables), C(postgres.bloat); each with
    C(check), C(target), C(status), C(figure), C(threshold), C(evidence), C(recommendation), C(value) and C(unit) -
    the volume used as a percent number (C(%)), the database's size (C(bytes)), the worst dead-tuple ratio of the
    bloated tables as a percent number (C(%)); both null for C(postgres.largest_tables) and when the figure has no
    number (not measured, unreachable, no bloated table).
  type: list
  elements: dict
"""

GIB = 1073741824
RUNBOOK_LINE = "the runbook's alert: > 80 %"


def _gib(value):
    return round(float(value) / GIB, 1)


def df_usage(result):
    """(used_bytes, size_bytes, filesystem) from the output of ``df -P -B1 -- DIR``, or None when it was not read."""
    result = result or {}
    if result.get("skipped") or result.get("rc", 1) != 0:
        return None
    lines = [line.split() for line in (result.get("stdout") or "").splitlines()[1:] if line.strip()]
    if not lines or len(lines[-1]) < 6:
        return None
    fields = lines[-1]
    try:
        used, available = int(fields[-4]), int(fields[-3])
    except ValueError:
        return None
    # df's own Use%: used / (used + available); the blocks reserved for root are neither
    return used, used + available, fields[0]


def volume_finding(prometheus, df, thresholds, claim, data_dir):
    """disk.volume_used: the volume measured through Prometheus, else df, else unknown (FAIL)."""
    prometheus = prometheus or {}
    figures = prometheus.get("figures") or {}
    ratio, capacity = figures.get("volume_used"), figures.get("volume_capacity")
    warn, fail = threshold_pair(thresholds, "volume_used_pct")
    finding = {"check": "disk.volume_used", "target": "claim %s" % claim if claim else "the database's volume",
               "threshold": "warn >= %s %%, fail >= %s %% (%s)" % (warn, fail, RUNBOOK_LINE), "capacity": None,
               "value": None, "unit": None}
    evidence = []
    if prometheus.get("error"):
        evidence.append(prometheus["error"])
    elif ratio is None:
        evidence.append("Prometheus has no kubelet_volume_stats series for claim %s" % claim)
    usage = df_usage(df) if ratio is None else None
    # graded on the exact figure (79.99 % is not 80 %), shown to one decimal
    if ratio is not None:
        pct = float(ratio) * 100
        of = ", %s of %s GiB" % (_gib(float(ratio) * float(capacity)), _gib(capacity)) if capacity else ""
        finding["figure"] = "%s %% used%s (kubelet volume stats)" % (round(pct, 1), of)
        finding["capacity"] = capacity
        evidence.append("Prometheus: kubelet_volume_stats of claim %s: %s %% used" % (claim, round(pct, 2)))
    elif usage:
        used, size, filesystem = usage
        pct = used * 100.0 / size if size else None
        finding["figure"] = "%s %% used, %s of %s GiB (df of %s)" % (round(pct or 0, 1), _gib(used), _gib(size), data_dir)
        finding["capacity"] = size
        evidence.append("df -P -B1 %s: %s, %s bytes used of %s" % (data_dir, filesystem, used, size))
    else:
        pct = None
        df = df or {}
        evidence.append("df of the data directory: %s" % (
            "not run (no data directory set)" if df.get("skipped") or not df
            else (df.get("stderr") or df.get("msg") or "unreadable output").strip()))
    finding["status"] = health_status(pct, thresholds.get("volume_used_pct"))
    if pct is not None:
        finding.update(value=round(pct, 2), unit="%")
    if pct is None:
        finding["figure"] = "unknown: the volume could not be measured"
        finding["recommendation"] = (
            "Measure the volume now (kubectl exec postgres-0 -- df -h): this run could not, so it cannot say the disk is "
            "fine. Export the kubelet's volume stats of claim %s to Prometheus (or, for a database on the machine "
            "running the play, set alert_response_db_data_dir so df can read it)." % claim)
    elif finding["status"] == "OK":
        finding["recommendation"] = "The volume is below the runbook's line."
    else:
        finding["recommendation"] = ("Free space now: VACUUM the bloated tables (below), archive old data to cold storage, "
                                     "drop what retention allows; resize the volume (PVC) if the growth is real.")
    finding["evidence"] = evidence
    return finding


def size_finding(result, capacity, target):
    """disk.database_size: informational, with its share of the volume when the capacity is known."""
    found = rows(result)
    size = found[0] if found else {}
    unreachable = result.get("msg", "unreachable")
    if not size:
        figure = "unreachable"
    else:
        share = ", %s %% of the volume's %s GiB" % (round(int(size["bytes"]) * 100.0 / float(capacity), 1), _gib(capacity)) \
            if capacity else ""
        figure = "database %s is %s%s" % (size.get("database"), size.get("pretty"), share)
    return {"check": "disk.database_size", "target": target, "status": "OK" if size else "FAIL", "figure": figure,
            "threshold": "informational (what the database takes of its volume)",
            "evidence": [] if size else [unreachable],
            "value": int(size["bytes"]) if size else None, "unit": "bytes" if size else None,
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
            "threshold": "informational (the ten largest tables)", "value": None, "unit": None,
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
            "value": round(worst * 100, 2) if read and tables else None, "unit": "%" if read and tables else None,
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


def disk_findings(size, largest=None, bloat=None, prometheus=None, df=None, claim="", data_dir="", thresholds=None,
                  primary=None, min_dead_tuples=0, evidence_limit=20):
    """The four findings of the disk alert (see DOCUMENTATION)."""
    thresholds = thresholds or {}
    target = server_target(primary)
    volume = volume_finding(prometheus, df, thresholds, claim, data_dir)
    capacity = volume.pop("capacity")
    return [volume,
            size_finding(size or {}, capacity, target),
            largest_finding(largest or {}, target),
            bloat_finding(bloat or {}, thresholds, target, min_dead_tuples, int(evidence_limit))]


class FilterModule:
    """Disk space filters."""

    def filters(self):
        return {"disk_findings": disk_findings}
