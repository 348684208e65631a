# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's thresholds and alerts: one table for the alert rules, the health check and the alert roles.

Where the runbook names a figure (High Error Rate > 5 %, P95 > 500 ms, memory > 85 %, disk > 80 %, a
certificate within 14 days, a Redis hit rate that should be > 80 %), that figure is where the alert fires,
so it is the FAIL line: a check never says OK or WARN while the runbook's condition holds. WARN marks the
approach to it. The Prometheus rules in extensions/prometheus and the incident severities are tested
against this table (tests/unit/test_runbook_thresholds.py), so the three cannot drift apart.
"""

from __future__ import annotations

from collections import namedtuple

# measure: {warn, fail}. Higher is worse unless the measure is in LOWER_IS_WORSE.
THRESHOLDS = {
    # the runbook's alerts
    "error_ratio": {"warn": 0.02, "fail": 0.05},          # High Error Rate (> 5 %): 5xx / all requests
    "latency_p95_seconds": {"warn": 0.4, "fail": 0.5},    # High Latency (P95 > 500 ms)
    "memory_pct": {"warn": 75, "fail": 85},               # High Memory Usage (> 85 %) of the container's limit
    "connections_pct": {"warn": 75, "fail": 90},          # Connection Pool Exhausted: backends / max_connections
    "volume_used_pct": {"warn": 70, "fail": 80},          # Disk Space Low (> 80 %) of the database's volume
    "cert_days_left": {"warn": 21, "fail": 14},           # SSL Certificate Expiring: expires within 14 days
    "redis_hit_rate": {"warn": 0.85, "fail": 0.80},       # High Latency step 2: cache hit rate should be > 80 %
    # figures the runbook's steps read without naming a limit
    "pgbouncer_waiting_clients": {"warn": 1, "fail": 20},
    "redis_memory_pct": {"warn": 80, "fail": 90},
    "replication_lag_bytes": {"warn": 16777216, "fail": 268435456},  # 16 MiB / 256 MiB behind the primary
    "replication_lag_seconds": {"warn": 30, "fail": 300},
    # backup freshness, in hours since the backup stopped, against the schedule in docs/backups.md (a full every
    # Sunday, a differential every other day, both at 01:00 UTC): 2 h past the period is late, 6 h past it is missed
    "backup_full_age_hours": {"warn": 170, "fail": 174},          # a week (168 h) + 2 h / + 6 h
    "backup_incremental_age_hours": {"warn": 26, "fail": 30},     # a day (24 h) + 2 h / + 6 h; any type counts
}
LOWER_IS_WORSE = frozenset(("cert_days_left", "redis_hit_rate"))

Alert = namedtuple("Alert", "rule title severity playbook measure rule_scale")
# rule: the alert's name in the Prometheus rules; title: the runbook's heading; rule_scale: the
# rule's figure is the table's times this (a percentage in the table is a ratio in PromQL).
ALERTS = (
    Alert("HighErrorRate", "High Error Rate", "P2", "alert_high_error_rate", "error_ratio", 1),
    Alert("HighLatency", "High Latency", "P2", "alert_high_latency", "latency_p95_seconds", 1),
    Alert("HighMemoryUsage", "High Memory", "P3", "alert_high_memory", "memory_pct", 0.01),
    Alert("DatabaseConnectionPoolExhausted", "Database Connection Pool Exhausted", "P1",
          "alert_db_connection_pool_exhausted", "connections_pct", 0.01),
    Alert("DiskSpaceLow", "Disk Space Low", "P3", "alert_disk_space_low", "volume_used_pct", 0.01),
    Alert("SSLCertificateExpiring", "SSL Certificate Expiring", "P3", "alert_ssl_certificate_expiring",
          "cert_days_left", 1),
)

# The runbook's response times (Alert Response, "Severity Classifications": P1 Critical 5 minutes, P2 High
# 15 minutes, P3 Medium 1 hour, P4 Low 24 hours; On-Call "Acknowledge alerts within 5 minutes" is P1's):
# how long after the alert fired on-call has to acknowledge, in seconds.
ACKNOWLEDGE_WITHIN = {"P1": 300, "P2": 900, "P3": 3600, "P4": 86400}
# Incident Response, "3. MITIGATE": "Communicate status every 15 minutes", "Escalate if blocked > 30 minutes".
UPDATE_EVERY = 900
ESCALATE_AFTER = 1800


class UnknownMeasure(KeyError):
    """A threshold asked for by a name the table does not have."""


def threshold(measure):
    """{warn, fail} of a measure (a copy: callers may change it)."""
    try:
        return dict(THRESHOLDS[measure])
    except KeyError:
        raise UnknownMeasure("no runbook threshold named %r (known: %s)" % (measure, ", ".join(sorted(THRESHOLDS))))


def higher_is_worse(measure):
    """Whether a larger figure of this measure is worse."""
    threshold(measure)
    return measure not in LOWER_IS_WORSE


def alert_rule(title):
    """The Prometheus rule name of a runbook alert, by its title or its rule name."""
    for alert in ALERTS:
        if title in (alert.title, alert.rule):
            return alert.rule
    raise UnknownMeasure("no runbook alert named %r (known: %s)" % (title, ", ".join(a.title for a in ALERTS)))


def alert_severities(extra=None):
    """{alert name: severity} for every runbook alert, under its runbook title and its rule name, then ``extra``."""
    out = {}
    for alert in ALERTS:
        out[alert.title] = alert.severity
        out[alert.rule] = alert.severity
    out.update(extra or {})
    return out
