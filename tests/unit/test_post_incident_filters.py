# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of db_terminate_backend.yml (terminate_backend_report) and security_unblock_ip.yml
(waf_unblock_report), from module results shaped as pg_terminate_long_queries and waf_block_ip return them."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.terminate_backend_report import terminate_backend_report
from ansible_collections.clickview.runbook.plugins.filter.waf_unblock_report import waf_unblock_report

TARGET = "primary 127.0.0.1:15432"


def backend(pid, outcome="would_terminate", guard=None, **kw):
    row = {"pid": pid, "user": "app", "database": "clickview", "application": "worker", "state": "active",
           "backend_type": "client backend", "duration": 12.3, "outcome": outcome, "guard": guard, "reason": None}
    row.update(kw)
    return row


def listing(*backends, missing=()):
    return {"backends": list(backends), "pids_not_found": list(missing), "counts": {}, "msg": "listed"}


def decide(preview, run=None, pids=(), **kw):
    return terminate_backend_report(preview, run, pids=list(pids), target=TARGET, **kw)


def statuses(result):
    return [(c["detail"]["pid"], c["status"]) for c in result["checks"]]


# ---- terminate by pid ----------------------------------------------------------------------------

def test_listed_only_without_the_opt_in():
    result = decide(listing(backend(10)), pids=[10])
    assert not result["signal"] and statuses(result) == [(10, "WARN")]
    assert "database_operations_kill_execute=true" in result["checks"][0]["figure"] and result["actions"] == []


def test_check_mode_never_signals():
    result = decide(listing(backend(10)), pids=[10], execute=True, check_mode=True)
    assert not result["signal"] and "would terminate (check mode)" in result["checks"][0]["figure"]


def test_terminated_with_the_opt_in():
    preview = listing(backend(10), backend(11))
    assert decide(preview, pids=[10, 11], execute=True)["signal"]
    run = listing(backend(10, "terminated"), backend(11, "terminated"))
    result = decide(preview, run, pids=[10, 11], execute=True)
    assert statuses(result) == [(10, "OK"), (11, "OK")] and result["terminated"] == [10, 11]
    assert result["actions"] == [{"action": "terminate_backend", "pids": [10, 11],
                                  "summary": "pg_terminate_backend on %s: terminated pid(s) 10, 11" % TARGET}]


@pytest.mark.parametrize("row, fragment", [
    (backend(10, "skipped", "superuser", user="postgres"), "a superuser's backend"),
    (backend(10, "skipped", "replication_role"), "a replication role's backend"),
    (backend(10, "skipped", "not_client_backend", backend_type="walsender"), "server process (walsender)"),
    (backend(10, "skipped", "backup_tool", application="pg_dump"), "backup or replication tool (pg_dump)"),
    (backend(10, "skipped", "own_backend"), "own session"),
    (backend(10, "would_fail", reason="permission denied: superuser"), "may not signal it"),
])
def test_a_protected_pid_is_refused_and_holds_back_the_whole_list(row, fragment):
    result = decide(listing(row, backend(11)), pids=[11, 10], execute=True)
    assert not result["signal"] and result["refused"] == [10]
    assert statuses(result) == [(11, "WARN"), (10, "FAIL")]
    assert fragment in result["checks"][1]["figure"] and "refused" in result["checks"][0]["figure"]


def test_a_pid_that_has_ended_is_nothing_to_do():
    result = decide(listing(missing=[99]), pids=[99], execute=True)
    assert not result["signal"] and result["not_found"] == [99]
    assert statuses(result) == [(99, "OK")] and "nothing to do" in result["checks"][0]["figure"]


def test_a_pid_that_ends_between_listing_and_signal():
    result = decide(listing(backend(10)), listing(missing=[10]), pids=[10], execute=True)
    assert statuses(result) == [(10, "OK")] and result["not_found"] == [10] and result["actions"] == []
    gone = decide(listing(backend(10)), listing(backend(10, "gone")), pids=[10], execute=True)
    assert statuses(gone) == [(10, "OK")] and "ended before the signal" in gone["checks"][0]["figure"]


def test_a_failed_signal_fails():
    run = dict(listing(backend(10, "failed", reason="must be a superuser")), failed=True)
    result = decide(listing(backend(10)), run, pids=[10], execute=True)
    assert statuses(result) == [(10, "FAIL")] and "must be a superuser" in result["checks"][0]["figure"]


def test_a_failed_listing_is_one_fail():
    result = decide({"failed": True, "msg": "could not connect"}, pids=[10], execute=True)
    assert not result["signal"] and [c["status"] for c in result["checks"]] == ["FAIL"]
    assert "could not connect" in result["checks"][0]["figure"]


def test_pids_are_required_and_numbers():
    with pytest.raises(AnsibleFilterError):
        decide(listing(), pids=[])
    with pytest.raises(AnsibleFilterError):
        decide(listing(), pids=["abc"])
    assert decide(listing(backend(10)), pids=["10", 10])["checks"][0]["detail"]["pid"] == 10


# ---- unblock -------------------------------------------------------------------------------------

SETS = [{"name": "blocklist-v4"}]


def waf(removed=(), not_present=(), **kw):
    result = {"changed": bool(removed), "removed": list(removed), "not_present": list(not_present), "ip_sets": SETS}
    result.update(kw)
    return result


def test_check_mode_says_what_would_be_unblocked():
    result = waf_unblock_report(waf(["203.0.113.7/32"], ["192.0.2.1/32"]), {"skipped": True},
                                addresses=["203.0.113.7", "192.0.2.1"], check_mode=True)
    assert [(c["target"], c["status"]) for c in result["checks"]] == [("203.0.113.7/32", "WARN"), ("192.0.2.1/32", "OK")]
    assert "would unblock" in result["checks"][0]["figure"] and result["event"] is None and result["actions"] == []
    assert result["summary"] == "would unblock 203.0.113.7/32 in blocklist-v4 (check mode)"


def test_unblocked_and_recorded():
    plan = waf(["203.0.113.7/32", "2001:db8::/64"])
    result = waf_unblock_report(plan, plan, addresses=["203.0.113.7", "2001:db8::/64"])
    assert [c["status"] for c in result["checks"]] == ["OK", "OK"]
    assert result["actions"][0]["removed"] == ["203.0.113.7/32", "2001:db8::/64"]
    assert result["event"]["details"] == {"step": "unblock", "addresses": ["203.0.113.7/32", "2001:db8::/64"],
                                          "not_blocked": [], "ip_sets": ["blocklist-v4"]}


def test_nothing_blocked_is_nothing_to_do():
    result = waf_unblock_report(waf([], ["198.51.100.1/32"]), {}, addresses=["198.51.100.1"])
    assert [c["status"] for c in result["checks"]] == ["OK"] and result["event"] is None
    assert result["summary"].startswith("nothing to unblock")


@pytest.mark.parametrize("plan, run, fragment", [
    ({"failed": True, "msg": "addresses: 'not-an-ip' is not an IP address"}, {}, "refused before any change"),
    (waf(["203.0.113.7/32"]), {"failed": True, "msg": "ThrottlingException: slow down", "error_code": "ThrottlingException"},
     "unblocking failed"),
])
def test_a_failure_is_one_fail_and_nothing_recorded(plan, run, fragment):
    result = waf_unblock_report(plan, run, addresses=["203.0.113.7"])
    assert [c["status"] for c in result["checks"]] == ["FAIL"] and fragment in result["checks"][0]["figure"]
    assert result["event"] is None and result["actions"] == []


def test_action_rows_carry_no_value():
    rows = decide(listing(backend(10)), pids=[10])["checks"] + waf_unblock_report(
        waf(["203.0.113.7/32"]), {"skipped": True}, addresses=["203.0.113.7"], check_mode=True)["checks"]
    assert rows and all((row["value"], row["unit"]) == (None, None) for row in rows)
