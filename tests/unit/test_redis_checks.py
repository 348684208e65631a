"""plugins/filter/redis_checks: the health check's Redis checks from two INFO samples."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.redis_checks import redis_checks
from ansible_collections.clickview.runbook.plugins.module_utils.runbook_thresholds import threshold

T = {"redis_memory_pct": threshold("redis_memory_pct"), "redis_hit_rate": threshold("redis_hit_rate")}


def info(hits=900, misses=100, used=100, maxmemory=1000, evicted=0, **more):
    fields = dict(redis_version="7.0.15", role="master", keyspace_hits=hits, keyspace_misses=misses, used_memory=used,
                  used_memory_human="%dB" % used, maxmemory=maxmemory, total_system_memory=8000, evicted_keys=evicted,
                  maxmemory_policy="allkeys-lru", connected_slaves=0)
    fields.update(more)
    return {"info": fields}


def checks(before, after, window=12):
    return dict((c["check"], c) for c in redis_checks(before, after=after, window=window, thresholds=T, target="r:6379"))


def test_the_hit_rate_is_that_of_the_window_not_the_lifetime():
    # a week of 90 % hits, then a cold cache: 60 of the last 100 lookups missed
    found = checks(info(hits=90000, misses=10000), info(hits=90040, misses=10060))["redis.cache_hit_rate"]
    assert found["status"] == "FAIL"
    assert found["figure"] == "40.0 % in the last 12 s (40 hits, 60 misses; lifetime 90.0 %)"
    assert found["threshold"] == "warn below 85 %, fail below 80 % (the runbook: > 80 %)"


@pytest.mark.parametrize("hits, misses, status", [(81, 19, "WARN"), (80, 20, "WARN"), (79, 21, "FAIL"), (85, 15, "OK"),
                                                  (100, 0, "OK"), (0, 5, "FAIL")])
def test_the_runbooks_80_percent_is_the_fail_line(hits, misses, status):
    assert checks(info(0, 0), info(hits, misses))["redis.cache_hit_rate"]["status"] == status


def test_no_lookup_in_the_window_is_ok_with_the_lifetime_for_reference():
    found = checks(info(900, 100), info(900, 100))["redis.cache_hit_rate"]
    assert found["status"] == "OK" and found["figure"] == "no lookups in the last 12 s (lifetime 90.0 %)"


def test_a_restart_in_the_window_grades_what_was_counted_since():
    found = checks(info(90000, 10000), info(3, 7))["redis.cache_hit_rate"]
    assert found["status"] == "FAIL" and "since Redis started (it restarted during the window)" in found["figure"]


def test_unreachable_is_one_fail_with_the_reason():
    out = redis_checks(info(), after={"failed": True, "msg": "Task failed: Timed out after 5 second(s)."}, window=12,
                       thresholds=T, target="r:6379")
    assert out == [{"check": "redis.ping", "target": "r:6379", "status": "FAIL", "figure": "unreachable",
                    "threshold": "answers PING", "detail": "Task failed: Timed out after 5 second(s).", "value": None,
                    "unit": None}]


def test_first_sample_missing_grades_the_lifetime_figures():
    found = checks({"failed": True}, info(50, 50))
    assert found["redis.cache_hit_rate"]["figure"].startswith("50.0 % since Redis started (50 hits")
    assert found["redis.cache_hit_rate"]["status"] == "FAIL"


@pytest.mark.parametrize("used, maxmemory, status, word", [(790, 1000, "OK", "maxmemory"), (800, 1000, "WARN", "maxmemory"),
                                                           (900, 1000, "FAIL", "maxmemory"), (4000, 0, "OK", "system memory")])
def test_memory_against_maxmemory_or_the_system(used, maxmemory, status, word):
    found = checks(info(), info(used=used, maxmemory=maxmemory))["redis.memory"]
    assert found["status"] == status and word in found["figure"]


def test_evictions_in_the_window_warn():
    assert checks(info(evicted=10), info(evicted=10))["redis.evictions"]["status"] == "OK"
    found = checks(info(evicted=10), info(evicted=25))["redis.evictions"]
    assert found["status"] == "WARN" and found["figure"] == "15 keys evicted in the last 12 s (policy allkeys-lru)"


def test_a_replica_with_its_link_down_fails():
    down = checks(info(), info(role="slave", master_host="10.0.0.1", master_port=6379, master_link_status="down"))
    assert down["redis.replication"]["status"] == "FAIL" and down["redis.replication"]["figure"] == "replica, link to 10.0.0.1:6379 down"
    primary = checks(info(), info(connected_slaves=2))["redis.replication"]
    assert primary["status"] == "OK" and primary["figure"] == "primary, 2 replica(s) connected"


def test_each_figure_has_its_number_and_unit():
    found = checks(info(hits=90000, misses=10000, evicted=3), info(hits=90040, misses=10060, used=815, evicted=10,
                                                                   connected_slaves=2))
    assert [(c["value"], c["unit"]) for c in found.values()] == [
        (None, None), (81.5, "%"), (40.0, "%"), (7, "keys"), (2, "count")]


def test_no_lookups_and_a_replicas_link_have_no_value():
    found = checks(info(900, 100), info(900, 100, role="slave", master_host="p", master_port=6379, master_link_status="up"))
    assert (found["redis.cache_hit_rate"]["value"], found["redis.cache_hit_rate"]["unit"]) == (None, None)
    assert (found["redis.replication"]["value"], found["redis.replication"]["unit"]) == (None, None)


def test_valkey_is_named_with_its_own_version_not_the_redis_one_it_reports():
    # Valkey 8.1's INFO: redis_version 7.2.4 (the Redis it is compatible with), its own version in valkey_version
    found = checks(info(), info(redis_version="7.2.4", valkey_version="8.1.8", server_name="valkey"))["redis.ping"]
    assert found["status"] == "OK" and found["figure"] == "PONG, Valkey 8.1.8, role master"
    assert checks(info(), info())["redis.ping"]["figure"] == "PONG, Redis 7.0.15, role master"
