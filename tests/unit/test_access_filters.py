"""access_item / access_review_item: a registered result becomes one checklist line."""
from ansible_collections.clickview.runbook.plugins.filter.access_item import access_item, access_review_item


def test_working_access_is_ticked_with_evidence():
    item = access_item({"changed": False, "arn": "arn:aws:sts::1:user/x"}, check="aws.caller_identity", figure_attr="arn")
    assert (item["status"], item["figure"], item["detail"]) == ("OK", "arn:aws:sts::1:user/x", "")


def test_failed_task_keeps_its_exact_error():
    item = access_item({"failed": True, "msg": "An error occurred (AccessDenied)\n when calling GetIPSet"}, check="aws.waf")
    assert item["status"] == "FAIL"
    assert item["detail"] == "An error occurred (AccessDenied) when calling GetIPSet"


def test_missing_answer_key_is_not_access():
    item = access_item({"changed": False}, check="aws.waf_ip_set_read", ok_when="id", target_attr="item.value")
    assert item["status"] == "FAIL"
    assert "id not in the answer" in item["detail"]


def test_lists_are_counted_and_loop_targets_read():
    item = access_item({"s3_keys": ["a", "b"], "item": {"value": "bucket"}}, check="s3", ok_when="s3_keys",
                       figure_attr="s3_keys", target_attr="item.value")
    assert (item["status"], item["figure"], item["target"]) == ("OK", "2 item(s)", "bucket")


def test_review_denied_and_allowed():
    denied = access_review_item({"item": {"verb": "delete", "resource": "secrets"},
                                 "result": {"status": {"allowed": False}}}, namespace="clickview")
    assert (denied["status"], denied["figure"], denied["target"]) == ("FAIL", "denied", "delete secrets in clickview")
    allowed = access_review_item({"item": {"verb": "get", "resource": "pods", "subresource": "log"},
                                  "result": {"status": {"allowed": True, "reason": "RBAC"}}}, namespace="clickview")
    assert (allowed["status"], allowed["target"]) == ("OK", "get pods/log in clickview")
    named = access_review_item({"item": {"verb": "delete", "resource": "secrets", "name": "clickview-tls"},
                                "result": {"status": {"allowed": True}}}, namespace="clickview")
    assert named["target"] == "delete secrets clickview-tls in clickview"


def test_review_that_failed_reports_the_error():
    item = access_review_item({"failed": True, "msg": "Unauthorized", "item": {"verb": "list", "resource": "pods"}})
    assert (item["status"], item["detail"]) == ("FAIL", "Unauthorized")


def test_a_listed_answer_counts_its_items_other_evidence_has_no_value():
    item = access_item({"s3_keys": ["a", "b", "c"]}, check="s3", ok_when="s3_keys", figure_attr="s3_keys")
    assert (item["value"], item["unit"]) == (3, "count")
    item = access_item({"arn": "arn:aws:sts::1:user/x"}, check="aws.caller_identity", figure_attr="arn")
    assert (item["value"], item["unit"]) == (None, None)
    review = access_review_item({"item": {"verb": "get", "resource": "pods"}, "result": {"status": {"allowed": True}}})
    assert (review["value"], review["unit"]) == (None, None)
