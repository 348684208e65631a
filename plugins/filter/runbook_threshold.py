# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's threshold of a measure, from the collection's one table."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.module_utils import runbook_thresholds

DOCUMENTATION = r"""
name: runbook_threshold
author: ClickView Platform Team
version_added: 0.1.0
short_description: The WARN and FAIL lines of a measure, from the runbook's table
description:
  - Returns C({warn, fail}) of a measure from the collection's one table of thresholds, which the
    alert rules in C(extensions/prometheus), the health check and the alert roles share.
  - Where the runbook names a figure (High Error Rate over 5 %, P95 over 500 ms, memory over 85 %,
    disk over 80 %, a certificate expiring within 14 days, a Redis hit rate under 80 %), that figure is
    the C(fail) line; C(warn) marks the approach to it.
  - "Measures: V(error_ratio), V(latency_p95_seconds), V(memory_pct), V(connections_pct),
    V(volume_used_pct), V(cert_days_left) and V(redis_hit_rate) (lower is worse for these two),
    V(pgbouncer_waiting_clients), V(redis_memory_pct), V(replication_lag_bytes), V(replication_lag_seconds),
    V(backup_full_age_hours), V(backup_incremental_age_hours) (hours since the backup stopped)."
  - An unknown measure fails the task, naming the known ones.
options:
  _input:
    description: The measure's name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Grade the error ratio against the runbook's figure
  ansible.builtin.debug:
    msg: "{{ 0.06 | clickview.runbook.health_status('error_ratio' | clickview.runbook.runbook_threshold) }}"   # FAIL
"""

RETURN = r"""
_value:
  description: The thresholds, C(warn) and C(fail).
  type: dict
  sample: {warn: 0.02, fail: 0.05}
"""


def runbook_threshold(measure):
    """{warn, fail} of the measure."""
    try:
        return runbook_thresholds.threshold(measure)
    except runbook_thresholds.UnknownMeasure as exc:
        raise AnsibleFilterError("runbook_threshold: %s" % exc.args[0])


class FilterModule:
    """Threshold filters."""

    def filters(self):
        return {"runbook_threshold": runbook_threshold}
