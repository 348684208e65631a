# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily health check's Redis checks, from two INFO samples: the cache hit rate over the window between them."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: redis_checks
author: ClickView Platform Team
version_added: 0.1.0
short_description: Grade Redis from two INFO samples, the hit rate over the window between them
description:
  - Takes two registered M(community.general.redis_info) results, taken O(window) seconds apart, and returns the health
    check's Redis checks, each C({check, target, status, figure, threshold, detail, value, unit}).
  - C(redis.ping) is C(FAIL) when the second sample could not be read (the detail says why, a timeout included); the
    other checks are then left out (an unreachable Redis is one FAIL, not four).
  - C(redis.memory) grades C(used_memory) against C(maxmemory) (or the system's memory when there is none) with
    O(thresholds.redis_memory_pct).
  - C(redis.cache_hit_rate) is the hit rate of the lookups made B(during the window) (the difference of
    C(keyspace_hits) and C(keyspace_misses)), graded with O(thresholds.redis_hit_rate), lower is worse; the runbook's
    "should be > 80 %" is its FAIL line. INFO's own counters are cumulative since the last restart, so a cache that
    was good all week hides a cold one now. No lookup in the window is C(OK) (nothing to grade) with the lifetime
    figure for reference; counters that went down (a restart in between) grade the counts since the restart.
  - C(redis.evictions) is C(WARN) when keys were evicted during the window (memory full, C(maxmemory) policy at work).
  - C(redis.replication) is C(FAIL) for a replica whose link to its primary is down, else C(OK) with the replicas seen.
options:
  _input:
    description: The first registered redis_info result.
    type: dict
    required: true
  after:
    description: The second registered redis_info result.
    type: dict
    required: true
  window:
    description: Seconds between the two samples.
    type: float
    required: true
  thresholds:
    description: C(redis_memory_pct) and C(redis_hit_rate), each C({warn, fail}), as C(on_call_thresholds).
    type: dict
    required: true
  target:
    description: C(host:port), the target of the checks.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Record the Redis checks
  ansible.builtin.set_fact:
    on_call_checks: >-
      {{ on_call_checks + (on_call_redis_before | clickview.runbook.redis_checks(after=on_call_redis, window=12.5,
           thresholds=on_call_thresholds, target='10.0.0.5:6379')) }}
"""

RETURN = r"""
_value:
  description: C(redis.ping), then (when it answered) C(redis.memory), C(redis.cache_hit_rate), C(redis.evictions) and
    C(redis.replication).
  type: list
  elements: dict
  contains:
    value:
      description: The figure's number - the memory used and the hit rate in the window as percent numbers, the keys
        evicted, a primary's replicas connected - or null (unreachable, no lookups, a replica's link).
      type: raw
    unit:
      description: C(%), C(keys), C(count) or null.
      type: str
"""


def _int(info, key):
    try:
        return int(info.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def _pct(part, whole):
    return round(part * 100.0 / whole, 1)


def hit_rate(before, after, window):
    """(rate or None, figure) of the lookups between the two INFO samples."""
    hits, misses = _int(after, "keyspace_hits"), _int(after, "keyspace_misses")
    lifetime = ("lifetime %s %%" % _pct(hits, hits + misses)) if hits + misses else "no lookups since the start"
    d_hits, d_misses = hits - _int(before, "keyspace_hits"), misses - _int(before, "keyspace_misses")
    since = "in the last %d s" % round(window)
    if not before or d_hits < 0 or d_misses < 0:
        # no first sample, or Redis restarted in between: what it counted since
        d_hits, d_misses, since = hits, misses, "since Redis started (it restarted during the window)" if before else "since Redis started"
    if d_hits + d_misses == 0:
        return None, "no lookups %s (%s)" % (since, lifetime)
    rate = d_hits / float(d_hits + d_misses)
    return rate, "%s %% %s (%d hits, %d misses; %s)" % (round(rate * 100, 1), since, d_hits, d_misses, lifetime)


def server_version(info):
    """The server and its version, e.g. Redis 7.0.15 or Valkey 8.1.8: Valkey reports redis_version 7.2.4 (the Redis
    it is compatible with) and its own version in valkey_version."""
    if info.get("valkey_version"):
        return "Valkey %s" % info["valkey_version"]
    return "Redis %s" % info.get("redis_version", "?")


def redis_checks(before, after=None, window=0, thresholds=None, target=""):
    """The health check's Redis checks (see DOCUMENTATION)."""
    thresholds = thresholds or {}
    first, second = (before or {}).get("info") or {}, (after or {}).get("info") or {}
    if not second:
        return [check_row("redis.ping", target, "FAIL", "unreachable", "answers PING", (after or {}).get("msg", ""))]
    mem_t, hit_t = thresholds.get("redis_memory_pct") or {}, thresholds.get("redis_hit_rate") or {}
    limit = _int(second, "maxmemory") or _int(second, "total_system_memory")
    used_pct = _pct(_int(second, "used_memory"), limit) if limit else None
    rate, rate_figure = hit_rate(first, second, float(window or 0))
    evicted = _int(second, "evicted_keys") - _int(first, "evicted_keys") if first else _int(second, "evicted_keys")
    role = second.get("role", "?")
    link = second.get("master_link_status")
    replicas = _int(second, "connected_slaves")
    return [
        check_row("redis.ping", target, "OK", "PONG, %s, role %s" % (server_version(second), role), "answers PING"),
        check_row("redis.memory", target, health_status(used_pct, mem_t),
                  ("%s used (%s %% of %s)" % (second.get("used_memory_human", "?"), used_pct,
                                              "maxmemory" if _int(second, "maxmemory") else "system memory"))
                  if used_pct is not None else "unknown: neither maxmemory nor the system's memory is reported",
                  "warn >= %s %%, fail >= %s %%" % (mem_t.get("warn"), mem_t.get("fail")),
                  value=used_pct, unit="%"),
        check_row("redis.cache_hit_rate", target, "OK" if rate is None else health_status(rate, hit_t, higher_is_worse=False),
                  rate_figure, "warn below %s %%, fail below %s %% (the runbook: > 80 %%)" % (
                      round(float(hit_t.get("warn", 0)) * 100), round(float(hit_t.get("fail", 0)) * 100)),
                  value=round(rate * 100, 1) if rate is not None else None, unit="%"),
        check_row("redis.evictions", target, "WARN" if evicted > 0 else "OK",
                  "%d keys evicted %s (policy %s)" % (
                      max(evicted, 0), ("in the last %d s" % round(float(window or 0))) if first else "since Redis started",
                      second.get("maxmemory_policy", "?")),
                  "none evicted (an eviction means memory is full)", value=max(evicted, 0), unit="keys"),
        check_row("redis.replication", target, "FAIL" if role == "slave" and link != "up" else "OK",
                  ("replica, link to %s:%s %s" % (second.get("master_host"), second.get("master_port"), link))
                  if role == "slave" else "primary, %d replica(s) connected" % replicas,
                  "a replica's link to its primary is up",
                  value=None if role == "slave" else replicas, unit="count"),
    ]


class FilterModule:
    """Redis health filters."""

    def filters(self):
        return {"redis_checks": redis_checks}
