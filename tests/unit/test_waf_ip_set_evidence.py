"""plugins/filter/waf_ip_set_evidence.py: the WAF IP sets as the evidence bundle keeps them."""
from ansible_collections.clickview.runbook.plugins.filter.waf_ip_set_evidence import waf_ip_set_evidence


def test_no_sets():
    assert waf_ip_set_evidence([]) == []
    assert waf_ip_set_evidence(None) == []


def test_a_read_set_with_a_temporary_block():
    result = {"item": "blocked-v4", "name": "blocked-v4", "arn": "arn:aws:wafv2:x", "ip_address_version": "IPV4",
              "addresses": ["203.0.113.7/32", "198.51.100.0/24"],
              "tags": {"runbook:expires:2026-01-02T10:00Z:a1:1": "203.0.113.7/32", "team": "platform"}}
    assert waf_ip_set_evidence([result]) == [
        {"name": "blocked-v4", "arn": "arn:aws:wafv2:x", "ip_address_version": "IPV4",
         "addresses": ["203.0.113.7/32", "198.51.100.0/24"],
         "expiries": [{"address": "203.0.113.7/32", "expires": "2026-01-02T10:00:00Z"}]}]


def test_a_set_that_could_not_be_read_is_listed_under_its_loop_name():
    assert waf_ip_set_evidence([{"item": "blocked-v6", "failed": True, "msg": "not found"}]) == [
        {"name": "blocked-v6", "arn": "", "ip_address_version": "", "addresses": [], "expiries": []}]


def test_untagged_set_has_no_expiries_and_order_is_kept():
    results = [{"item": "b", "name": "b", "tags": None}, {"item": "a", "name": "a"}]
    out = waf_ip_set_evidence(results)
    assert [entry["name"] for entry in out] == ["b", "a"]
    assert [entry["expiries"] for entry in out] == [[], []]
