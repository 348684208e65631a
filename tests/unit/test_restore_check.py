# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's "Confirm service restored" (plugins/module_utils/restore_check.py and its filter): which health-check
rows an area covers, and whether an incident may be resolved."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.restore_check import restore_check
from ansible_collections.clickview.runbook.plugins.module_utils import restore_check as rc


def row(check, status="OK", figure="fine", target="t"):
    return {"check": check, "target": target, "status": status, "figure": figure, "threshold": "", "detail": ""}


# the health check's rows as the lab's run writes them
LAB = [row(name) for name in (
    "api.health", "ingress.health", "postgres.primary", "postgres.connections", "postgres.replication",
    "postgres.wal_archiving", "postgres.replica_lag", "pgbouncer.pools", "prometheus.targets", "app.error_ratio",
    "app.latency_p95", "alerts.firing", "alerts.overnight", "kubernetes.pods_ready", "kubernetes.nodes_ready",
    "kubernetes.pods_stuck", "kubernetes.warning_events", "redis.ping", "redis.memory", "redis.cache_hit_rate",
    "redis.evictions", "redis.replication", "backups.full_age")]


@pytest.mark.parametrize("area, checks", [
    ("api", ["api.health", "ingress.health", "app.error_ratio", "app.latency_p95"]),
    ("database", ["postgres.primary", "postgres.connections", "postgres.replication", "postgres.wal_archiving",
                  "postgres.replica_lag", "pgbouncer.pools"]),
    ("cache", ["redis.ping", "redis.memory", "redis.cache_hit_rate", "redis.evictions", "redis.replication"]),
    ("kubernetes", ["kubernetes.pods_ready", "kubernetes.nodes_ready", "kubernetes.pods_stuck", "kubernetes.warning_events"]),
    ("monitoring", ["prometheus.targets", "alerts.firing"]),
])
def test_each_area_covers_its_checks(area, checks):
    assert [r["check"] for r in LAB if rc.in_area(r["check"], area)] == checks


def test_all_covers_every_area_but_the_past_and_the_backups():
    assert [r["check"] for r in LAB if not rc.in_area(r["check"], "all")] == ["alerts.overnight", "backups.full_age"]
    assert rc.areas() == ["all", "api", "cache", "database", "kubernetes", "monitoring"]


def test_restored_when_no_check_of_the_area_fails_warn_included():
    rows = LAB + [row("redis.memory", "WARN", "81 %")] + [row("postgres.primary", "FAIL", "unreachable")]
    decision = rc.decide(rows, "cache")
    assert (decision["restored"], decision["allowed"], decision["forced"], decision["checked"]) == (True, True, False, 6)
    assert decision["counts"] == {"OK": 5, "WARN": 1, "FAIL": 0} and decision["warnings"] == ["redis.memory"]
    assert decision["summary"] == "service restored in area cache: 6 check(s), none FAIL (1 WARN: redis.memory)"


def test_refused_while_a_check_of_the_area_fails():
    rows = [row("api.health", "FAIL", "HTTP 503", "http://api/health"), row("redis.ping")]
    decision = rc.decide(rows, "all")
    assert (decision["restored"], decision["allowed"], decision["forced"], decision["force_reason"]) == (False, False, False, None)
    assert decision["failing"] == [{"check": "api.health", "target": "http://api/health", "figure": "HTTP 503",
                                    "value": None, "unit": None}]
    assert decision["summary"] == "service not restored in area all: api.health http://api/health (HTTP 503)"
    # a failure elsewhere does not hold this area back
    assert rc.decide(rows, "cache")["allowed"] is True


def test_no_check_of_the_area_is_no_confirmation():
    decision = rc.decide([row("redis.ping")], "kubernetes")
    assert (decision["restored"], decision["allowed"], decision["checked"]) == (False, False, 0)
    assert "no check of that area ran" in decision["summary"]


def test_a_row_without_a_status_counts_as_fail():
    assert rc.decide([{"check": "api.health"}], "api")["failing"][0]["check"] == "api.health"


def test_forced_with_a_reason_is_allowed_and_keeps_the_reason():
    decision = rc.decide([row("api.health", "FAIL", "HTTP 503")], "api", force=True, force_reason=" replaced; OPS-7 ",
                         report="reports/x.md")
    assert (decision["allowed"], decision["forced"], decision["force_reason"], decision["report"]) == (
        True, True, "replaced; OPS-7", "reports/x.md")
    assert decision["summary"].endswith("; resolved anyway (force): replaced; OPS-7")
    # a force that was not needed is no force
    assert rc.decide([row("api.health")], "api", force=True, force_reason="x")["forced"] is False


@pytest.mark.parametrize("kwargs, message", [
    (dict(force=True), "force_reason: must say why"), (dict(force=True, force_reason="  "), "force_reason: must say why"),
    (dict(area="frontend"), "area: must be one of all, api, cache, database, kubernetes, monitoring")])
def test_bad_input_names_the_option(kwargs, message):
    with pytest.raises(AnsibleFilterError, match="restore_check: " + message):
        restore_check(LAB, **kwargs)


def test_the_filter_wants_the_rows():
    with pytest.raises(AnsibleFilterError, match="expects the health check's rows"):
        restore_check({"checks": []})
    assert restore_check(LAB, area="API")["area"] == "api"


def test_a_failing_rows_value_and_unit_are_kept():
    rows = [dict(row("postgres.connections", "FAIL", "95 of 100 (95.0 %)"), value=95.0, unit="%")]
    assert rc.decide(rows, "all")["failing"][0]["value"] == 95.0
    assert rc.decide(rows, "all")["failing"][0]["unit"] == "%"
