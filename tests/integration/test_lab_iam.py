"""The lab's moto enforces IAM (lab/moto_iam.py), and the procedures run under the documented policy.

The local inventory's AWS key is the operator's, whose policy is extensions/aws/iam/runbook-operator.json
filled in with the lab's names: what the policy does not grant is refused, so a missing grant fails the
procedures' own tests. These tests prove the enforcement, and that a grant dropped from the documented
policy (the WAF policy once lacked wafv2:UntagResource) breaks the procedure that needs it. Each test uses
IP sets, objects and IAM users of its own, and removes them."""
import json
import sys
import uuid

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from conftest import ROOT, lab_url, run_module

sys.path.insert(0, str(ROOT / "lab"))
import moto_iam  # noqa: E402  pylint: disable=wrong-import-position,import-error

INVENTORY_KEYS = ROOT / "inventory" / "local" / "group_vars" / "all" / "lab_credentials.yml"


def client(service, key, secret, region):
    return boto3.client(service, region_name=region, endpoint_url=lab_url("moto"),
                        aws_access_key_id=key, aws_secret_access_key=secret)


@pytest.fixture
def aws(lab):
    cfg = lab["aws"]
    admin = {s: client(s, cfg["access_key"], cfg["secret_key"], cfg["region"]) for s in ("wafv2", "s3", "iam")}
    created = {"ip_sets": [], "users": [], "objects": []}
    yield cfg, admin, created
    for name, set_id in created["ip_sets"]:
        token = admin["wafv2"].get_ip_set(Name=name, Scope="REGIONAL", Id=set_id)["LockToken"]
        admin["wafv2"].delete_ip_set(Name=name, Scope="REGIONAL", Id=set_id, LockToken=token)
    for key in created["objects"]:
        admin["s3"].delete_object(Bucket=cfg["backup_bucket"], Key=key)
    for user, key_id in created["users"]:
        admin["iam"].delete_access_key(UserName=user, AccessKeyId=key_id)
        admin["iam"].delete_user_policy(UserName=user, PolicyName="test")
        admin["iam"].delete_user(UserName=user)


def refused(call):
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def test_the_inventory_runs_as_the_operator_and_moto_refuses_what_its_policy_does_not_grant(aws):
    cfg, admin, created = aws
    inventory = yaml.safe_load(INVENTORY_KEYS.read_text(encoding="utf-8"))
    assert inventory["clickview_aws_access_key"] == cfg["operator"]["access_key"] != cfg["access_key"]
    operator = {s: client(s, inventory["clickview_aws_access_key"], inventory["clickview_aws_secret_key"], cfg["region"])
                for s in ("wafv2", "s3")}
    # granted: find and read the block lists, write evidence under security-evidence/
    names = {s["Name"] for s in operator["wafv2"].list_ip_sets(Scope="REGIONAL")["IPSets"]}
    assert set(cfg["waf_ip_sets"].values()) <= names
    key = "security-evidence/test-%s" % uuid.uuid4().hex[:8]
    operator["s3"].put_object(Bucket=cfg["evidence_bucket"], Key=key, Body=b"evidence")
    created["objects"].append(key)
    # not granted: refused, and nothing changed
    assert refused(lambda: operator["wafv2"].create_ip_set(
        Name="not-allowed", Scope="REGIONAL", IPAddressVersion="IPV4", Addresses=[])) in ("403", "AccessDeniedException")
    assert "not-allowed" not in {s["Name"] for s in admin["wafv2"].list_ip_sets(Scope="REGIONAL")["IPSets"]}
    outside = "pgbackrest/local/not-the-operators-%s" % uuid.uuid4().hex[:8]
    assert refused(lambda: operator["s3"].put_object(Bucket=cfg["backup_bucket"], Key=outside, Body=b"x")) == "AccessDenied"
    assert refused(lambda: admin["s3"].head_object(Bucket=cfg["backup_bucket"], Key=outside)) == "404"
    # an unknown key is refused outright
    assert refused(lambda: client("s3", "AKIAEXAMPLEUNKNOWN01", "x", cfg["region"]).list_buckets()) == "InvalidAccessKeyId"


def documented_policy_without(cfg, action):
    policy = moto_iam.for_moto(moto_iam.render_policy("runbook-operator", moto_iam.lab_values(cfg)))
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != action]
    return {"Version": policy["Version"], "Statement": [s for s in policy["Statement"] if s["Action"]]}


def test_a_grant_missing_from_the_policy_fails_the_unblock_that_needs_it(aws):
    """An expiring block, then its unblock, as the operator: it works. Under the same policy without
    wafv2:UntagResource, the unblock fails, and says which permission is missing."""
    cfg, admin, created = aws
    user = "test-no-untag-%s" % uuid.uuid4().hex[:8]
    admin["iam"].create_user(UserName=user)
    admin["iam"].put_user_policy(UserName=user, PolicyName="test",
                                 PolicyDocument=json.dumps(documented_policy_without(cfg, "wafv2:UntagResource")))
    key = admin["iam"].create_access_key(UserName=user)["AccessKey"]
    created["users"].append((user, key["AccessKeyId"]))

    def waf(access_key, secret_key, ip_set, **args):
        return run_module("clickview.runbook.waf_block_ip", dict(
            region=cfg["region"], endpoint_url=lab_url("moto"), access_key=access_key, secret_key=secret_key,
            ip_sets=[ip_set], addresses=["198.51.100.23"], **args))

    def addresses(name, set_id):
        return admin["wafv2"].get_ip_set(Name=name, Scope="REGIONAL", Id=set_id)["IPSet"]["Addresses"]

    operator = (cfg["operator"]["access_key"], cfg["operator"]["secret_key"])
    for who in (operator, (key["AccessKeyId"], key["SecretAccessKey"])):
        name = "test-iam-%s" % uuid.uuid4().hex[:8]
        set_id = admin["wafv2"].create_ip_set(Name=name, Scope="REGIONAL", IPAddressVersion="IPV4",
                                              Addresses=[])["Summary"]["Id"]
        created["ip_sets"].append((name, set_id))
        blocked = waf(*who, name, expire_after="1h")
        assert blocked.get("changed") and not blocked.get("failed"), blocked
        assert addresses(name, set_id) == ["198.51.100.23/32"]
        unblocked = waf(*who, name, state="absent")
        if who == operator:
            assert unblocked.get("changed") and not unblocked.get("failed"), unblocked
            assert addresses(name, set_id) == []
        else:
            assert unblocked.get("failed"), unblocked
            assert unblocked["msg"].startswith("AccessDenied: ") and \
                unblocked["msg"].endswith("is not authorized to perform: wafv2:UntagResource"), unblocked["msg"]
            assert cfg["operator"]["secret_key"] not in json.dumps(unblocked)
