"""plugins/module_utils/k8s_errors.py: the one line of a kubernetes.core error a report shows."""
from ansible_collections.clickview.runbook.plugins.module_utils.k8s_errors import MAX_LEN, api_error, forbidden_hint

BODY = ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \\"api\\" not found",'
        '"reason":"NotFound","details":{"name":"api","group":"apps","kind":"deployments"},"code":404}')
NOT_FOUND = ("Exception '404\nReason: Not Found\nHTTP response headers: HTTPHeaderDict({'Audit-Id': 'x', 'Content-Type': "
             "'application/json'})\nHTTP response body: %s\n\n' raised while trying to get resource using (name=api)" % BODY)


def test_the_status_object_gives_code_reason_and_message():
    got = api_error(NOT_FOUND)
    assert got == {"code": 404, "reason": "NotFound", "message": 'deployments.apps "api" not found',
                   "line": '404 NotFound: deployments.apps "api" not found'}


def test_a_message_without_a_status_body_is_kept_on_one_line_and_cut():
    got = api_error("Failed to get client due to\nHTTPSConnectionPool(host='10.0.0.1', port=6443): Max retries exceeded")
    assert got["code"] is None and got["message"] == ""
    assert got["line"] == "Failed to get client due to HTTPSConnectionPool(host='10.0.0.1', port=6443): Max retries exceeded"
    long = api_error("x" * 1000)["line"]
    assert len(long) == MAX_LEN and long.endswith("...")


def test_a_status_line_without_a_body_still_gives_the_code():
    assert api_error("Exception '403\nReason: Forbidden\n' raised while trying to delete")["code"] == 403


def test_nothing_gives_an_empty_line():
    assert api_error(None) == {"code": None, "reason": "", "message": "", "line": ""}


def test_the_forbidden_hint_names_what_is_missing():
    assert forbidden_hint("patch deployment api").startswith("the identity running the procedure may not patch deployment api:")


def test_kubernetes_core_s_own_wording_of_a_refused_read():
    msg = ('Failed to retrieve requested object: {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
           '"message":"secrets \\"web-tls\\" is forbidden: User \\"clickview-operator\\" cannot get resource \\"secrets\\"",'
           '"reason":"Forbidden","details":{"name":"web-tls","group":"","kind":"secrets"},"code":403}')
    got = api_error(msg)
    assert got["code"] == 403
    assert got["line"] == '403 Forbidden: secrets "web-tls" is forbidden: User "clickview-operator" cannot get resource "secrets"'
