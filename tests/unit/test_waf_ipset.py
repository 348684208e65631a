# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/waf_ipset.py against an in-memory WAFv2 stand-in (no AWS, no Ansible)."""
import datetime
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

# pylint: disable=wrong-import-position
from ansible_collections.clickview.runbook.plugins.module_utils import waf_ipset as w  # noqa: E402

NOW = datetime.datetime(2025, 11, 28, 12, 0, 30, tzinfo=datetime.timezone.utc)


def client_error(code, op="UpdateIPSet"):
    return ClientError({"Error": {"Code": code, "Message": code}}, op)


class FakeWafv2:
    """Enough of the WAFv2 API: lock tokens, tags, call log; ``racer`` runs between a read and a write."""

    def __init__(self):
        self.sets = {}
        self.tags = {}
        self.calls = []
        self.racer = None
        self.fail_update = {}

    def add_set(self, name, version="IPV4", addresses=(), description=None, scope="REGIONAL"):
        set_id = str(uuid.uuid4())
        region = "global" if scope == "CLOUDFRONT" else "regional"
        arn = "arn:aws:wafv2:us-east-1:123456789012:%s/ipset/%s/%s" % (region, name, set_id)
        self.sets[(name, set_id)] = dict(Name=name, Id=set_id, ARN=arn, IPAddressVersion=version, Scope=scope,
                                         Addresses=list(addresses), Description=description, token=uuid.uuid4().hex)
        self.tags[arn] = []
        return self.sets[(name, set_id)]

    def _find(self, name, set_id):
        if (name, set_id) not in self.sets:
            raise client_error("WAFNonexistentItemException", "GetIPSet")
        return self.sets[(name, set_id)]

    def list_ip_sets(self, Scope, Limit=100, NextMarker=None):  # pylint: disable=invalid-name
        self.calls.append("list_ip_sets")
        return {"IPSets": [dict(Name=s["Name"], Id=s["Id"], ARN=s["ARN"], LockToken=s["token"])
                           for s in self.sets.values() if s["Scope"] == Scope]}

    def get_ip_set(self, Name, Scope, Id):  # pylint: disable=invalid-name
        self.calls.append("get_ip_set")
        s = self._find(Name, Id)
        body = {k: v for k, v in s.items() if k not in ("token", "Scope")}
        body["Addresses"] = list(s["Addresses"])
        if not body["Description"]:
            del body["Description"]
        return {"IPSet": body, "LockToken": s["token"]}

    def update_ip_set(self, Name, Scope, Id, Addresses, LockToken, Description=None):  # pylint: disable=invalid-name
        self.calls.append("update_ip_set")
        if self.racer:
            racer, self.racer = self.racer, None
            racer(self)
        if Name in self.fail_update:
            raise client_error(self.fail_update[Name])
        s = self._find(Name, Id)
        if LockToken != s["token"]:
            raise client_error("WAFOptimisticLockException")
        s.update(Addresses=list(Addresses), Description=Description, token=uuid.uuid4().hex)
        return {"NextLockToken": s["token"]}

    def list_tags_for_resource(self, ResourceARN, NextMarker=None):  # pylint: disable=invalid-name
        self.calls.append("list_tags_for_resource")
        return {"TagInfoForResource": {"TagList": [dict(t) for t in self.tags[ResourceARN]]}}

    def tag_resource(self, ResourceARN, Tags):  # pylint: disable=invalid-name
        self.calls.append("tag_resource")
        current = {t["Key"]: t["Value"] for t in self.tags[ResourceARN]}
        current.update({t["Key"]: t["Value"] for t in Tags})
        self.tags[ResourceARN] = [dict(Key=k, Value=v) for k, v in current.items()]

    def untag_resource(self, ResourceARN, TagKeys):  # pylint: disable=invalid-name
        self.calls.append("untag_resource")
        self.tags[ResourceARN] = [t for t in self.tags[ResourceARN] if t["Key"] not in TagKeys]

    def writes(self):
        return [c for c in self.calls if c in ("update_ip_set", "tag_resource", "untag_resource")]


def run(client, check_mode=False, now=NOW, **params):
    params.setdefault("ip_sets", ["v4"])
    return w.run(client, params, check_mode=check_mode, now=now, sleep=lambda s: None, nonce="abc123")


@pytest.fixture
def waf():
    fake = FakeWafv2()
    fake.add_set("v4", "IPV4", ["192.0.2.1/32"], description="incident blocklist")
    fake.add_set("v6", "IPV6", [])
    return fake


def addresses(fake, name):
    return next(s["Addresses"] for s in fake.sets.values() if s["Name"] == name)


# ------------------------------------------------------------------ parsing and validation

def test_hosts_become_single_address_blocks():
    networks, normalized = w.parse_addresses(["198.51.100.7", "2001:DB8::1", " 203.0.113.0/24 ", "198.51.100.7/32"])
    assert [str(n) for n in networks] == ["198.51.100.7/32", "2001:db8::1/128", "203.0.113.0/24"]
    assert normalized == {}


def test_host_bits_refused_without_normalize_and_masked_with_it():
    with pytest.raises(w.WafIpSetError) as err:
        w.parse_addresses(["203.0.113.7/24"])
    assert err.value.param == "addresses" and "203.0.113.0/24" in err.value.msg and "normalize" in err.value.msg
    networks, normalized = w.parse_addresses(["203.0.113.7/24", "2001:db8::7/64"], normalize=True)
    assert [str(n) for n in networks] == ["203.0.113.0/24", "2001:db8::/64"]
    assert normalized == {"203.0.113.7/24": "203.0.113.0/24", "2001:db8::7/64": "2001:db8::/64"}


@pytest.mark.parametrize("bad", ["attacker.example.com", "", "300.1.1.1", "fe80::1%eth0", "192.0.2.1/33"])
def test_not_an_address_names_the_parameter(bad):
    with pytest.raises(w.WafIpSetError) as err:
        w.parse_addresses(["192.0.2.1", bad])
    assert err.value.param == "addresses" and "not an IPv4/IPv6 address" in err.value.msg


def test_every_bad_value_is_reported_at_once():
    with pytest.raises(w.WafIpSetError) as err:
        w.parse_addresses(["nope", "203.0.113.7/24"])
    assert "'nope'" in err.value.msg and "'203.0.113.7/24'" in err.value.msg


def test_protected_and_private_ranges_refused_with_the_overlap_named():
    ranges = w.parse_protected(["198.51.100.0/25"])
    with pytest.raises(w.WafIpSetError) as err:
        w.check_protected(w.parse_addresses(["198.51.100.0/24", "10.1.2.3", "192.0.2.1"])[0], ranges)
    assert "198.51.100.0/24 overlaps 198.51.100.0/25" in err.value.msg
    assert "10.1.2.3/32 overlaps 10.0.0.0/8" in err.value.msg and "allow_private" in err.value.msg
    assert "192.0.2.1" not in err.value.msg
    w.check_protected(w.parse_addresses(["10.1.2.3", "fd00::1"])[0], w.parse_protected([], allow_private=True))
    with pytest.raises(w.WafIpSetError) as err:
        w.parse_protected(["office"])
    assert err.value.param == "protected"


@pytest.mark.parametrize("address,protected", [
    ("198.51.100.127", "198.51.100.0/25"),  # last address of the range
    ("198.51.100.0", "198.51.100.0/25"),  # first address
    ("198.51.100.128", "198.51.100.0/25"),  # just after: no overlap
    ("198.51.99.255", "198.51.100.0/25"),  # just before: no overlap
    ("198.51.0.0/16", "198.51.100.0/25"),  # a block around the range
    ("2001:db8::/127", "2001:db8::1/128"),
    ("2001:db8::2", "2001:db8::1/128"),
    ("::ffff:198.51.100.1", "198.51.100.0/25"),  # other family: never an overlap
])
def test_protected_check_agrees_with_ipaddress_overlaps(address, protected):
    network = w.parse_addresses([address])[0][0]
    ranges = w.parse_protected([protected], allow_private=True)
    expected = network.version == ranges[0][0].version and network.overlaps(ranges[0][0])
    try:
        w.check_protected([network], ranges)
        refused = False
    except w.WafIpSetError:
        refused = True
    assert refused == expected


def test_canonical_forms_and_odd_entries():
    assert w.canonical("203.0.113.7/32") == "203.0.113.7/32"
    assert w.canonical(" 203.0.113.7/24") == "203.0.113.0/24"
    assert w.canonical("2001:DB8:0::1/128") == "2001:db8::1/128"
    assert w.canonical("not an address") is None
    assert w.canonical(["unhashable"]) is None
    assert w.canonical("203.0.113.7/32") == "203.0.113.7/32"  # remembered, same answer


def test_documentation_ranges_are_not_private():
    w.check_protected(w.parse_addresses(["192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1"])[0],
                      w.parse_protected([]))


@pytest.mark.parametrize("text,seconds", [("24h", 86400), ("30m", 1800), ("1d12h", 129600), ("2w", 1209600), ("1h 30m", 5400)])
def test_durations(text, seconds):
    assert w.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["tomorrow", "24", "h", "30s", "1x", "-1h"])
def test_bad_durations_name_the_parameter(text):
    with pytest.raises(w.WafIpSetError) as err:
        w.parse_duration(text)
    assert err.value.param == "expire_after"


def test_ip_set_references():
    arn = "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/blocklist/0f1e2d3c-aaaa-bbbb-cccc-111122223333"
    assert w.parse_ip_set_ref(arn, "REGIONAL", "us-east-1")["name"] == "blocklist"
    assert w.parse_ip_set_ref("blocklist", "REGIONAL")["id"] is None
    for ref, scope, region, param in [(arn, "CLOUDFRONT", None, "scope"), (arn, "REGIONAL", "eu-west-1", "region"),
                                      ("arn:aws:s3:::bucket", "REGIONAL", None, "ip_sets"), ("bad name!", "REGIONAL", None, "ip_sets")]:
        with pytest.raises(w.WafIpSetError) as err:
            w.parse_ip_set_ref(ref, scope, region)
        assert err.value.param == param


@pytest.mark.parametrize("params,param", [
    (dict(addresses=[]), "addresses"),
    (dict(), "addresses"),
    (dict(addresses=["192.0.2.9"], state="absent", expire_after="1h"), "expire_after"),
    (dict(addresses=["192.0.2.9"], scope="regional"), "scope"),
    (dict(addresses=["192.0.2.9"], ip_sets=[]), "ip_sets"),
    (dict(addresses=["192.0.2.%d" % (i % 250) for i in range(10)] + ["10.0.0.1"]), "addresses"),
])
def test_bad_input_fails_before_any_call(waf, params, param):
    with pytest.raises(w.WafIpSetError) as err:
        run(waf, **params)
    assert err.value.param == param
    assert not waf.calls


@pytest.mark.parametrize("wide", ["2000::/3", "128.0.0.0/1", "198.0.0.0/8", "203.0.0.0/15", "2001:db8::/31"])
def test_wide_prefixes_refused_unless_allowed(waf, wide):
    ip_set = "v6" if ":" in wide else "v4"
    with pytest.raises(w.WafIpSetError) as err:
        run(waf, ip_sets=[ip_set], addresses=["192.0.2.9" if ip_set == "v4" else "2001:db8::9", wide])
    assert err.value.param == "addresses" and wide in err.value.msg and "allow_wide_prefix" in err.value.msg
    assert not waf.calls
    result = run(waf, ip_sets=[ip_set], addresses=[wide], allow_wide_prefix=True, allow_private=True)
    assert result["changed"] and wide in addresses(waf, ip_set)


@pytest.mark.parametrize("narrow", ["203.0.0.0/16", "2001:db8::/32", "2001:db8::1"])
def test_prefixes_at_the_limit_are_accepted(waf, narrow):
    ip_set = "v6" if ":" in narrow else "v4"
    run(waf, ip_sets=[ip_set], addresses=[narrow])
    assert any(a.startswith(narrow.split("/")[0].lower()) for a in addresses(waf, ip_set))


def test_unblocking_a_wide_prefix_needs_no_switch(waf):
    waf.sets[next(k for k in waf.sets if k[0] == "v4")]["Addresses"].append("198.0.0.0/8")
    result = run(waf, addresses=["198.0.0.0/8"], state="absent")
    assert result["changed"] and "198.0.0.0/8" not in addresses(waf, "v4")


def test_more_than_the_capacity_fails_before_any_call(waf):
    many = ["10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255) for i in range(w.MAX_ADDRESSES + 1)]
    with pytest.raises(w.WafIpSetError) as err:
        run(waf, addresses=many, allow_private=True)
    assert "10000" in err.value.msg and not waf.calls


# ------------------------------------------------------------------ delta

def test_delta_touches_only_named_entries():
    existing = ["192.0.2.1/32", "198.51.100.0/24", "not-an-address", "2001:DB8::1/128"]
    new, added, removed, already, missing = w.apply_delta(existing, ["192.0.2.1/32", "192.0.2.2/32"], ["2001:db8::1/128", "203.0.113.5/32"])
    assert new == ["192.0.2.1/32", "198.51.100.0/24", "not-an-address", "192.0.2.2/32"]
    assert (added, removed, already, missing) == (["192.0.2.2/32"], ["2001:db8::1/128"], ["192.0.2.1/32"], ["203.0.113.5/32"])


def test_expiry_tags_round_trip_and_fit_aws_limits():
    expires = w.expiry_at(NOW, 86400)
    assert w.format_time(expires) == "2025-11-29T12:01Z"  # rounded up to the minute
    blocks = ["198.51.100.%d/32" % i for i in range(40)] + ["2001:db8::%x/128" % i for i in range(1, 11)]
    tags = w.build_expiry_tags(expires, blocks, "abc123")
    assert len(tags) > 1 and all(len(t["Value"]) <= 256 and len(t["Key"]) <= 128 for t in tags)
    records = w.parse_expiry_tags(tags + [dict(Key="team", Value="sre")])
    assert sorted(a for r in records for a in r["addresses"]) == sorted(blocks)
    assert all(r["expires"] == expires for r in records)


# ------------------------------------------------------------------ the lock-token retry

def test_lost_race_is_reread_and_only_this_delta_reapplied(waf):
    def other_writer(fake):  # another responder blocks 192.0.2.99 between our read and write
        target = next(s for s in fake.sets.values() if s["Name"] == "v4")
        target.update(Addresses=target["Addresses"] + ["192.0.2.99/32"], token="other")
    waf.racer = other_writer
    result = run(waf, addresses=["198.51.100.7"])
    assert result["lock_retries"] == 1 and result["changed"]
    assert sorted(addresses(waf, "v4")) == ["192.0.2.1/32", "192.0.2.99/32", "198.51.100.7/32"]
    assert waf.calls == ["list_ip_sets", "get_ip_set", "update_ip_set", "get_ip_set", "update_ip_set"]


def test_lost_race_where_the_other_writer_did_our_work_writes_nothing(waf):
    def other_writer(fake):
        target = next(s for s in fake.sets.values() if s["Name"] == "v4")
        target.update(Addresses=target["Addresses"] + ["198.51.100.7/32"], token="other")
    waf.racer = other_writer
    result = run(waf, addresses=["198.51.100.7"])
    assert result["lock_retries"] == 1 and result["already_present"] == ["198.51.100.7/32"] and not result["changed"]


def test_lock_retries_are_bounded(waf):
    target = next(s for s in waf.sets.values() if s["Name"] == "v4")
    ip_set = dict(Name="v4", Id=target["Id"], ARN=target["ARN"], Addresses=[], LockToken="stale")

    def always_lost(**kwargs):
        raise client_error("WAFOptimisticLockException")

    waf.update_ip_set = always_lost
    sleeps = []
    with pytest.raises(w.WafIpSetError) as err:
        w.update_with_lock_retry(waf, ip_set, "REGIONAL", lambda a: (a + ["192.0.2.5/32"], None), 3, sleeps.append)
    assert err.value.param == "lock_retries" and err.value.code == "WAFOptimisticLockException" and len(sleeps) == 3
    assert all(0 <= s <= 3.0 for s in sleeps)


def test_other_errors_are_not_retried(waf):
    waf.fail_update["v4"] = "WAFLimitsExceededException"
    with pytest.raises(w.WafIpSetError) as err:
        run(waf, addresses=["198.51.100.7"])
    assert err.value.code == "WAFLimitsExceededException"
    assert waf.calls.count("update_ip_set") == 1


# ------------------------------------------------------------------ whole tasks

def test_one_read_one_write_for_any_batch_and_description_kept(waf):
    batch = ["198.51.%d.%d" % (i // 250, i % 250) for i in range(5000)]
    result = run(waf, addresses=batch)
    assert waf.calls == ["list_ip_sets", "get_ip_set", "update_ip_set"]
    assert len(result["added"]) == 5000 and result["ip_sets"][0]["address_count"] == 5001
    assert next(s for s in waf.sets.values() if s["Name"] == "v4")["Description"] == "incident blocklist"


def test_arn_needs_no_list_call(waf):
    arn = next(s for s in waf.sets.values() if s["Name"] == "v4")["ARN"]
    run(waf, ip_sets=[arn], addresses=["198.51.100.7"])
    assert waf.calls == ["get_ip_set", "update_ip_set"]


def test_set_named_by_id(waf):
    set_id = next(s for s in waf.sets.values() if s["Name"] == "v6")["Id"]
    result = run(waf, ip_sets=[set_id], addresses=["2001:db8::5"])
    assert result["added"] == ["2001:db8::5/128"] and addresses(waf, "v6") == ["2001:db8::5/128"]


def test_check_mode_reports_and_writes_nothing(waf):
    result = run(waf, check_mode=True, addresses=["198.51.100.7"], expire_after="1h")
    assert result["changed"] and result["added"] == ["198.51.100.7/32"]
    assert result["diff"][0]["after"] == "192.0.2.1/32\n198.51.100.7/32\n"
    assert not waf.writes() and addresses(waf, "v4") == ["192.0.2.1/32"]


def test_idempotent(waf):
    assert run(waf, addresses=["198.51.100.7"])["changed"]
    waf.calls.clear()
    second = run(waf, addresses=["198.51.100.7"])
    assert not second["changed"] and second["already_present"] == ["198.51.100.7/32"] and not waf.writes()


def test_families_routed_to_their_sets(waf):
    result = run(waf, ip_sets=["v4", "v6"], addresses=["198.51.100.7", "2001:db8::7"])
    assert addresses(waf, "v4") == ["192.0.2.1/32", "198.51.100.7/32"] and addresses(waf, "v6") == ["2001:db8::7/128"]
    assert [s["ip_address_version"] for s in result["ip_sets"]] == ["IPV4", "IPV6"]


def test_family_without_a_set_fails_before_writing(waf):
    with pytest.raises(w.WafIpSetError) as err:
        run(waf, addresses=["198.51.100.7", "2001:db8::7"])
    assert err.value.param == "ip_sets" and "IPv6" in err.value.msg and not waf.writes()


def test_two_sets_of_one_family_refused(waf):
    waf.add_set("v4b", "IPV4")
    with pytest.raises(w.WafIpSetError) as err:
        run(waf, ip_sets=["v4", "v4b"], addresses=["198.51.100.7"])
    assert err.value.param == "ip_sets"


def test_unknown_set(waf):
    with pytest.raises(w.WafIpSetError) as err:
        run(waf, ip_sets=["nope"], addresses=["198.51.100.7"])
    assert err.value.param == "ip_sets" and "'nope'" in err.value.msg and not waf.writes()


def test_capacity_checked_against_current_content(waf):
    full = next(s for s in waf.sets.values() if s["Name"] == "v4")
    full["Addresses"] = ["198.18.%d.%d/32" % (i // 256, i % 256) for i in range(w.MAX_ADDRESSES - 1)]
    with pytest.raises(w.WafIpSetError) as err:
        run(waf, addresses=["203.0.113.1", "203.0.113.2"])
    assert err.value.param == "addresses" and "10001" in err.value.msg and not waf.writes()
    assert run(waf, addresses=["203.0.113.1"])["ip_sets"][0]["address_count"] == w.MAX_ADDRESSES


def test_unblock_removes_only_named(waf):
    run(waf, addresses=["198.51.100.7", "198.51.100.8"])
    result = run(waf, state="absent", addresses=["198.51.100.7", "203.0.113.99"])
    assert result["removed"] == ["198.51.100.7/32"] and result["not_present"] == ["203.0.113.99/32"]
    assert addresses(waf, "v4") == ["192.0.2.1/32", "198.51.100.8/32"]


def test_expiry_recorded_before_the_write_then_purged(waf):
    arn = next(s for s in waf.sets.values() if s["Name"] == "v4")["ARN"]
    result = run(waf, addresses=["198.51.100.7"], expire_after="24h")
    assert result["expiries"] == {"198.51.100.7/32": "2025-11-29T12:01Z"}
    assert waf.writes() == ["tag_resource", "update_ip_set"]
    assert waf.tags[arn] == [dict(Key="runbook:expires:2025-11-29T12:01Z:abc123:1", Value="198.51.100.7/32")]
    # same task again a little later: idempotent; permanent blocks keep being permanent
    waf.calls.clear()
    again = run(waf, now=NOW + datetime.timedelta(minutes=30), addresses=["198.51.100.7", "192.0.2.1"], expire_after="24h")
    assert not again["changed"] and not waf.writes()
    assert again["expiries"] == {"198.51.100.7/32": "2025-11-29T12:01Z", "192.0.2.1/32": None}
    # not yet expired: purge does nothing
    assert not run(waf, now=NOW + datetime.timedelta(hours=23), purge_expired=True)["changed"]
    later = run(waf, now=NOW + datetime.timedelta(hours=25), purge_expired=True)
    assert later["purged"] == ["198.51.100.7/32"] and later["removed"] == ["198.51.100.7/32"]
    assert addresses(waf, "v4") == ["192.0.2.1/32"] and waf.tags[arn] == []


def test_purge_spares_a_block_extended_meanwhile(waf):
    """Another task blocks an expired address again between this purge's read and its write: it stays."""
    arn = next(s for s in waf.sets.values() if s["Name"] == "v4")["ARN"]
    run(waf, addresses=["198.51.100.7", "198.51.100.8"], expire_after="1h")
    later = NOW + datetime.timedelta(hours=2)
    real_list_tags = waf.list_tags_for_resource
    reads = []

    def list_tags_then_reblock(**kwargs):
        reads.append(1)
        page = real_list_tags(**kwargs)
        if len(reads) == 1:  # right after the purge read the tags: a responder blocks .8 again for a day
            w.run(waf, dict(ip_sets=["v4"], addresses=["198.51.100.8"], expire_after="24h"), now=later,
                  sleep=lambda s: None, nonce="def456")
        return page

    waf.list_tags_for_resource = list_tags_then_reblock
    purge = run(waf, now=later, purge_expired=True)
    assert purge["purged"] == ["198.51.100.7/32"] and purge["removed"] == ["198.51.100.7/32"]
    assert "198.51.100.8/32" in addresses(waf, "v4") and "198.51.100.7/32" not in addresses(waf, "v4")
    assert [t["Key"] for t in waf.tags[arn]] == ["runbook:expires:2025-11-29T14:01Z:def456:1"]


def test_reblock_extends_expiry(waf):
    run(waf, addresses=["198.51.100.7"], expire_after="1h")
    result = run(waf, now=NOW + datetime.timedelta(minutes=50), addresses=["198.51.100.7"], expire_after="24h", nonce="x")
    assert result["changed"] and result["expiries"]["198.51.100.7/32"] == "2025-11-29T12:51Z"
    purge = run(waf, now=NOW + datetime.timedelta(hours=2), purge_expired=True)
    assert purge["purged"] == [] and "198.51.100.7/32" in addresses(waf, "v4")


def test_unblock_drops_expiry_records(waf):
    arn = next(s for s in waf.sets.values() if s["Name"] == "v4")["ARN"]
    run(waf, addresses=["198.51.100.7", "198.51.100.8"], expire_after="24h")
    run(waf, state="absent", addresses=["198.51.100.7"])
    assert waf.tags[arn][0]["Value"] == "198.51.100.8/32"
    run(waf, state="absent", addresses=["198.51.100.8"])
    assert waf.tags[arn] == []


def test_tag_quota_checked_before_writing(waf):
    many = ["198.51.%d.%d" % (i // 250, i % 250) for i in range(1000)]
    with pytest.raises(w.WafIpSetError) as err:
        run(waf, addresses=many, expire_after="1h")
    assert err.value.param == "expire_after" and not waf.writes()


def test_failure_on_second_set_rolls_back_the_first(waf):
    waf.fail_update["v6"] = "ThrottlingException"
    with pytest.raises(w.WafIpSetError) as err:
        run(waf, ip_sets=["v4", "v6"], addresses=["198.51.100.7", "2001:db8::7"], expire_after="1h")
    assert err.value.code == "ThrottlingException" and "rolled back" in err.value.msg
    assert addresses(waf, "v4") == ["192.0.2.1/32"] and addresses(waf, "v6") == []
    assert all(not tags for tags in waf.tags.values())
