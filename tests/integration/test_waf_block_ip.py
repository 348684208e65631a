# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""clickview.runbook.waf_block_ip run for real (ansible-playbook) against the lab's moto server.

Every test creates its own IP sets with unique names, so the lab's seeded blocklists and
other tests are never disturbed; what is blocked afterwards is read back with boto3.
"""
import datetime
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from conftest import ROOT, VENV_BIN, run_module

sys.path.insert(0, str(ROOT / ".collections"))

# pylint: disable=wrong-import-position
from ansible_collections.clickview.runbook.plugins.module_utils import waf_ipset  # noqa: E402

MODULE = "clickview.runbook.waf_block_ip"
CREATED = []


@pytest.fixture(scope="module")
def aws(lab):  # pylint: disable=redefined-outer-name
    cfg = lab["aws"]
    endpoint = "http://%s:%s" % (lab["host"], lab["services"]["moto"]["port"])
    conn = dict(region=cfg["region"], endpoint_url=endpoint, access_key=cfg["access_key"], secret_key=cfg["secret_key"])
    client = boto3.client("wafv2", region_name=cfg["region"], endpoint_url=endpoint,
                          aws_access_key_id=cfg["access_key"], aws_secret_access_key=cfg["secret_key"])
    try:
        client.list_ip_sets(Scope="REGIONAL", Limit=1)
    except EndpointConnectionError:
        pytest.skip("the lab's moto server is not running (make lab-up)")
    yield dict(conn=conn, client=client, endpoint=endpoint, cfg=cfg)
    for ip_set in CREATED:  # leave the lab as it was: only the seeded sets
        got = client.get_ip_set(Name=ip_set["name"], Scope=ip_set["scope"], Id=ip_set["id"])
        client.delete_ip_set(Name=ip_set["name"], Scope=ip_set["scope"], Id=ip_set["id"], LockToken=got["LockToken"])


def new_set(aws, version="IPV4", addresses=(), scope="REGIONAL"):  # pylint: disable=redefined-outer-name
    name = "test-%s-%s" % (version.lower(), uuid.uuid4().hex[:10])
    client = aws["client"]
    if scope == "CLOUDFRONT":
        client = boto3.client("wafv2", region_name="us-east-1", endpoint_url=aws["endpoint"],
                              aws_access_key_id="testing", aws_secret_access_key="testing")
    summary = client.create_ip_set(Name=name, Scope=scope, IPAddressVersion=version, Addresses=list(addresses),
                                   Description="integration test set")["Summary"]
    CREATED.append(dict(name=name, id=summary["Id"], arn=summary["ARN"], scope=scope))
    return CREATED[-1]


def blocked(aws, ip_set):  # pylint: disable=redefined-outer-name
    got = aws["client"].get_ip_set(Name=ip_set["name"], Scope=ip_set["scope"], Id=ip_set["id"])["IPSet"]
    return sorted(got["Addresses"])


def tags(aws, ip_set):  # pylint: disable=redefined-outer-name
    return aws["client"].list_tags_for_resource(ResourceARN=ip_set["arn"])["TagInfoForResource"].get("TagList", [])


def block(aws, check=False, diff=False, env=None, **args):  # pylint: disable=redefined-outer-name
    return run_module(MODULE, dict(aws["conn"], **args), check=check, diff=diff, env=env)


# ------------------------------------------------------------------ blocking and unblocking

def test_block_v4_and_v6_check_mode_diff_idempotence(aws):  # pylint: disable=redefined-outer-name
    v4, v6 = new_set(aws, "IPV4", ["192.0.2.1/32"]), new_set(aws, "IPV6")
    args = dict(ip_sets=[v4["name"], v6["name"]], addresses=["198.51.100.7", "203.0.113.0/24", "2001:db8::7"])

    dry = block(aws, check=True, diff=True, **args)
    assert dry["changed"] and not dry.get("failed"), dry
    assert sorted(dry["added"]) == ["198.51.100.7/32", "2001:db8::7/128", "203.0.113.0/24"]
    assert "198.51.100.7/32" in dry["diff"][0]["after"]
    assert blocked(aws, v4) == ["192.0.2.1/32"] and blocked(aws, v6) == []  # check mode changed nothing

    done = block(aws, diff=True, **args)
    assert done["changed"] and done["lock_retries"] == 0, done
    assert blocked(aws, v4) == ["192.0.2.1/32", "198.51.100.7/32", "203.0.113.0/24"]
    assert blocked(aws, v6) == ["2001:db8::7/128"]
    assert {s["name"]: (s["ip_address_version"], s["arn"]) for s in done["ip_sets"]} == {
        v4["name"]: ("IPV4", v4["arn"]), v6["name"]: ("IPV6", v6["arn"])}
    # one ListIPSets, then per set one GetIPSet and one UpdateIPSet
    assert done["api_calls"] == 5
    assert "testing" not in json.dumps({k: v for k, v in done.items() if k != "invocation"})
    assert done["invocation"]["module_args"]["secret_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

    again = block(aws, **args)
    assert not again["changed"] and sorted(again["already_present"]) == sorted(done["added"]), again
    assert aws["client"].get_ip_set(Name=v4["name"], Scope="REGIONAL", Id=v4["id"])["IPSet"]["Description"] == \
        "integration test set"


def test_unblock_removes_only_named(aws):  # pylint: disable=redefined-outer-name
    v4 = new_set(aws, "IPV4", ["192.0.2.1/32", "198.51.100.7/32", "198.51.100.8/32"])
    dry = block(aws, check=True, ip_set=v4["arn"], state="absent", addresses=["198.51.100.7"])
    assert dry["changed"] and blocked(aws, v4) == ["192.0.2.1/32", "198.51.100.7/32", "198.51.100.8/32"]
    result = block(aws, ip_set=v4["arn"], state="absent", addresses=["198.51.100.7", "203.0.113.9"])
    assert result["removed"] == ["198.51.100.7/32"] and result["not_present"] == ["203.0.113.9/32"], result
    assert blocked(aws, v4) == ["192.0.2.1/32", "198.51.100.8/32"]
    assert not block(aws, ip_set=v4["arn"], state="absent", addresses=["198.51.100.7"])["changed"]


def test_set_by_id_and_host_becomes_128(aws):  # pylint: disable=redefined-outer-name
    v6 = new_set(aws, "IPV6")
    result = block(aws, ip_sets=[v6["id"]], addresses=["2001:DB8:0:0::42"])
    assert result["added"] == ["2001:db8::42/128"] and blocked(aws, v6) == ["2001:db8::42/128"]


def test_host_bits_refused_unless_normalize(aws):  # pylint: disable=redefined-outer-name
    v4 = new_set(aws)
    refused = block(aws, ip_sets=[v4["name"]], addresses=["198.51.100.9", "203.0.113.77/24"])
    assert refused.get("failed") and "addresses" in refused["msg"] and "normalize" in refused["msg"], refused
    assert blocked(aws, v4) == []
    masked = block(aws, ip_sets=[v4["name"]], addresses=["198.51.100.9", "203.0.113.77/24"], normalize=True)
    assert masked["normalized"] == {"203.0.113.77/24": "203.0.113.0/24"}, masked
    assert blocked(aws, v4) == ["198.51.100.9/32", "203.0.113.0/24"]


def test_protected_ranges_refused_with_overlap_named(aws):  # pylint: disable=redefined-outer-name
    v4 = new_set(aws)
    refused = block(aws, ip_sets=[v4["name"]], addresses=["198.51.100.0/24", "192.0.2.5"], protected=["198.51.100.128/25"])
    assert refused.get("failed") and "198.51.100.0/24 overlaps 198.51.100.128/25" in refused["msg"], refused
    private = block(aws, ip_sets=[v4["name"]], addresses=["192.168.1.100"])
    assert private.get("failed") and "192.168.0.0/16" in private["msg"] and "allow_private" in private["msg"]
    assert blocked(aws, v4) == []
    allowed = block(aws, ip_sets=[v4["name"]], addresses=["192.168.1.100"], allow_private=True)
    assert allowed["changed"] and blocked(aws, v4) == ["192.168.1.100/32"]


def test_capacity(aws):  # pylint: disable=redefined-outer-name
    start = ["198.18.%d.%d/32" % (i // 256, i % 256) for i in range(waf_ipset.MAX_ADDRESSES - 1)]
    v4 = new_set(aws, "IPV4", start)
    over = block(aws, ip_sets=[v4["name"]], addresses=["203.0.113.1", "203.0.113.2"])
    assert over.get("failed") and "10001" in over["msg"] and "addresses" in over["msg"], over
    assert len(blocked(aws, v4)) == waf_ipset.MAX_ADDRESSES - 1
    fits = block(aws, ip_sets=[v4["name"]], addresses=["203.0.113.1"])
    assert fits["changed"] and fits["ip_sets"][0]["address_count"] == waf_ipset.MAX_ADDRESSES
    assert len(blocked(aws, v4)) == waf_ipset.MAX_ADDRESSES


def test_expiry_recorded_and_purged(aws):  # pylint: disable=redefined-outer-name
    v4 = new_set(aws, "IPV4", ["192.0.2.1/32"])
    result = block(aws, ip_sets=[v4["name"]], addresses=["198.51.100.7", "198.51.100.8"], expire_after="24h")
    expires = datetime.datetime.strptime(result["expiries"]["198.51.100.7/32"], "%Y-%m-%dT%H:%MZ")
    assert abs((expires - datetime.datetime.utcnow()).total_seconds() - 86400) < 180, result
    (tag,) = tags(aws, v4)
    assert tag["Key"].startswith("runbook:expires:") and sorted(tag["Value"].split()) == ["198.51.100.7/32", "198.51.100.8/32"]
    assert not block(aws, ip_sets=[v4["name"]], addresses=["198.51.100.7"], expire_after="24h")["changed"]

    # nothing is due yet
    early = block(aws, ip_sets=[v4["name"]], purge_expired=True)
    assert not early["changed"] and early["purged"] == []
    # make the record look a day old: a block whose time is up
    past = "runbook:expires:2000-01-01T00:00Z:0a0b0c:1"
    aws["client"].untag_resource(ResourceARN=v4["arn"], TagKeys=[tag["Key"]])
    aws["client"].tag_resource(ResourceARN=v4["arn"], Tags=[dict(Key=past, Value="198.51.100.7/32")])
    aws["client"].tag_resource(ResourceARN=v4["arn"], Tags=[dict(Key=tag["Key"], Value="198.51.100.8/32")])
    dry = block(aws, check=True, ip_sets=[v4["name"]], purge_expired=True)
    assert dry["changed"] and dry["purged"] == ["198.51.100.7/32"] and len(blocked(aws, v4)) == 3
    purge = block(aws, ip_sets=[v4["name"]], purge_expired=True)
    assert purge["purged"] == ["198.51.100.7/32"], purge
    assert blocked(aws, v4) == ["192.0.2.1/32", "198.51.100.8/32"]  # permanent and not-yet-due blocks stay
    assert [t["Key"] for t in tags(aws, v4)] == [tag["Key"]]


def test_cloudfront_scope_uses_us_east_1(aws):  # pylint: disable=redefined-outer-name
    edge = new_set(aws, "IPV4", scope="CLOUDFRONT")
    result = block(aws, ip_sets=[edge["name"]], scope="CLOUDFRONT", addresses=["198.51.100.7"], region="eu-west-1")
    assert result["changed"] and result["ip_sets"][0]["scope"] == "CLOUDFRONT", result
    client = boto3.client("wafv2", region_name="us-east-1", endpoint_url=aws["endpoint"],
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    assert client.get_ip_set(Name=edge["name"], Scope="CLOUDFRONT", Id=edge["id"])["IPSet"]["Addresses"] == ["198.51.100.7/32"]
    wrong = block(aws, ip_sets=[edge["arn"]], addresses=["198.51.100.8"])  # a CLOUDFRONT ARN with scope REGIONAL
    assert wrong.get("failed") and wrong["msg"].startswith("scope:"), wrong


# ------------------------------------------------------------------ bad input and refusals

@pytest.mark.parametrize("args,param", [
    (dict(addresses=["attacker.example.com"]), "addresses"),
    (dict(addresses=["not-an-ip"]), "addresses"),
    (dict(addresses=[]), "addresses"),
    (dict(addresses=["198.51.100.7"], scope="regional"), "scope"),
    (dict(addresses=["198.51.100.7"], expire_after="tomorrow"), "expire_after"),
    (dict(addresses=["2001:db8::1"]), "ip_sets"),  # IPv6 address, only an IPv4 set named
])
def test_bad_input_names_the_parameter_and_changes_nothing(aws, args, param):  # pylint: disable=redefined-outer-name
    v4 = new_set(aws, "IPV4", ["192.0.2.1/32"])
    result = block(aws, ip_sets=[v4["name"]], **args)
    assert result.get("failed") and param in result["msg"], result
    assert "Traceback (most recent call last)" not in json.dumps(result)  # 2.19 adds "exception: (traceback unavailable)"
    assert blocked(aws, v4) == ["192.0.2.1/32"]


def test_unknown_ip_set(aws):  # pylint: disable=redefined-outer-name
    result = block(aws, ip_sets=["no-such-set-%s" % uuid.uuid4().hex[:6]], addresses=["198.51.100.7"])
    assert result.get("failed") and "ip_sets" in result["msg"] and "no REGIONAL IP set" in result["msg"], result
    arn = "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/gone/0f1e2d3c-aaaa-bbbb-cccc-111122223333"
    result = block(aws, ip_set=arn, addresses=["198.51.100.7"])
    assert result.get("failed") and result["error_code"] == "WAFNonexistentItemException", result


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_credentials_refused(tmp_path):
    """A moto server that enforces IAM: unknown keys are refused; the task says so, without the secret."""
    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0")
    with open(tmp_path / "moto.log", "w", encoding="utf-8") as log:
        server = subprocess.Popen([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],  # pylint: disable=consider-using-with
                                  env=env, stdout=log, stderr=log)
    try:
        for _attempt in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        result = run_module(MODULE, dict(region="us-east-1", endpoint_url="http://127.0.0.1:%d" % port,
                                         access_key="AKIAEXAMPLEWRONGKEY0", secret_key="wrong-secret-value",
                                         ip_sets=["clickview-blocklist-v4"], addresses=["198.51.100.7"]))
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.get("failed") and result["error_code"] == "InvalidClientTokenId", result
    assert "wrong-secret-value" not in json.dumps(result)


def test_connection_from_environment_profile_and_debug_actions(aws, tmp_path):  # pylint: disable=redefined-outer-name
    """The amazon.aws connection conventions: keys and region from the environment, a named profile from
    the shared files, and the list of actions called with debug_botocore_endpoint_logs."""
    v4 = new_set(aws, "IPV4")
    cfg = aws["cfg"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=cfg["access_key"], AWS_SECRET_ACCESS_KEY=cfg["secret_key"],
               AWS_REGION=cfg["region"])
    result = run_module(MODULE, dict(endpoint_url=aws["endpoint"], ip_sets=[v4["name"]], addresses=["198.51.100.21"],
                                     debug_botocore_endpoint_logs=True), env=env)
    assert result.get("changed") and result["added"] == ["198.51.100.21/32"], result
    assert result["resource_actions"] == ["wafv2:GetIPSet", "wafv2:ListIPSets", "wafv2:UpdateIPSet"]
    (tmp_path / "credentials").write_text("[responder]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                                          % (cfg["access_key"], cfg["secret_key"]), encoding="utf-8")
    (tmp_path / "config").write_text("[profile responder]\nregion = %s\n" % cfg["region"], encoding="utf-8")
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
               AWS_CONFIG_FILE=str(tmp_path / "config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        env.pop(name, None)
    result = run_module(MODULE, dict(endpoint_url=aws["endpoint"], profile="responder", ip_sets=[v4["name"]],
                                     addresses=["198.51.100.22"]), env=env)
    assert result.get("changed") and result["added"] == ["198.51.100.22/32"], result
    assert blocked(aws, v4) == ["198.51.100.21/32", "198.51.100.22/32"]


@pytest.mark.parametrize("args,param,words", [
    (dict(region=None), "region", ["requires a region"]),
    (dict(profile="responder"), "profile", ["profile and access tokens"]),
    (dict(aws_config={"no_such_setting": 1}), "aws_config", ["aws_config"]),
])
def test_bad_connection_options_fail_naming_them(aws, args, param, words):  # pylint: disable=redefined-outer-name
    v4 = new_set(aws, "IPV4")
    env = dict(os.environ, AWS_CONFIG_FILE=os.devnull)  # no region from a config file either
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        env.pop(name, None)
    task = dict(aws["conn"], ip_sets=[v4["name"]], addresses=["198.51.100.7"], **args)
    result = run_module(MODULE, dict((k, v) for k, v in task.items() if v is not None), env=env)
    assert result.get("failed") and result.get("param") == param, result
    for word in words:
        assert word in result["msg"], result
    assert "Traceback (most recent call last)" not in json.dumps(result)
    assert blocked(aws, v4) == []


class _Throttler(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_POST(self):  # noqa: N802  pylint: disable=invalid-name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).hits += 1
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


def test_throttling_that_outlasts_the_retries():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Throttler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = run_module(MODULE, dict(region="us-east-1", endpoint_url="http://127.0.0.1:%d" % server.server_port,
                                         access_key="testing", secret_key="testing", max_attempts=3,
                                         ip_sets=["clickview-blocklist-v4"], addresses=["198.51.100.7"]))
    finally:
        server.shutdown()
    assert result.get("failed") and result["error_code"] == "ThrottlingException", result
    assert result["msg"].startswith("ThrottlingException") and "nothing changed" in result["msg"]
    assert _Throttler.hits == result["api_calls"] == 3, (_Throttler.hits, result)  # botocore gave up after max_attempts


# ------------------------------------------------------------------ concurrency

def test_20_parallel_module_runs_all_land(aws):  # pylint: disable=redefined-outer-name
    v4 = new_set(aws, "IPV4", ["192.0.2.1/32"])
    wanted = ["198.51.100.%d/32" % i for i in range(1, 21)]
    results = [None] * len(wanted)

    def one(i):
        results[i] = block(aws, ip_sets=[v4["name"]], addresses=[wanted[i]])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(wanted))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r and r["changed"] and not r.get("failed") for r in results), [r.get("msg") for r in results if r]
    assert blocked(aws, v4) == sorted(["192.0.2.1/32"] + wanted)
    print("lock retries over 20 parallel ansible runs:", sum(r["lock_retries"] for r in results))


def test_20_racing_writers_all_land_through_lock_retry(aws):  # pylint: disable=redefined-outer-name
    """Twenty writers released at once against one set: the lock-token retry is what makes all of them land."""
    v4 = new_set(aws, "IPV4")
    barrier = threading.Barrier(20)
    outcomes = [None] * 20

    def one(i):
        client = boto3.client("wafv2", region_name="us-east-1", endpoint_url=aws["endpoint"],
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        ref = waf_ipset.resolve_ip_sets(client, [waf_ipset.parse_ip_set_ref(v4["arn"], "REGIONAL")], "REGIONAL")[0]
        ip_set = waf_ipset.get_ip_set(client, ref, "REGIONAL")  # everybody reads the same lock token ...
        barrier.wait()  # ... then all write at once
        mine = "203.0.113.%d/32" % (i + 1)

        def mutate(addresses):
            new_list, added = waf_ipset.apply_delta(addresses, [mine])[:2]
            return (new_list if added else None), None

        outcomes[i] = waf_ipset.update_with_lock_retry(client, ip_set, "REGIONAL", mutate, 30)[2]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert blocked(aws, v4) == sorted("203.0.113.%d/32" % (i + 1) for i in range(20))
    assert sum(outcomes) >= 19  # all but the first writer lost at least once and re-applied its delta
