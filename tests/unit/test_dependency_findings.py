"""plugins/module_utils/dependency_findings and its filters status_page_findings, postgres_connectivity_findings and
dependency_recommendation: the High Error Rate alert's database reachability and external status pages, graded.

The results are shaped as ansible.builtin.uri and community.postgresql.postgresql_query register them in a loop
(failed_when: false), with the messages those modules give."""
import json

import pytest

from ansible_collections.clickview.runbook.plugins.filter.dependency_recommendation import FilterModule as RecFilters
from ansible_collections.clickview.runbook.plugins.filter.postgres_connectivity_findings import FilterModule as PgFilters
from ansible_collections.clickview.runbook.plugins.filter.status_page_findings import FilterModule as PageFilters
from ansible_collections.clickview.runbook.plugins.module_utils.dependency_findings import (
    STATUS_PAGE_THRESHOLD, dependency_recommendation, driver_error, postgres_connectivity_findings, request_failure,
    status_page_findings)

KEYS = {"check", "target", "status", "figure", "threshold", "evidence", "recommendation", "value", "unit"}
CLICKUP = {"name": "ClickUp", "url": "https://status.clickup.com/api/v2/status.json"}
OPENAI = {"name": "OpenAI", "url": "https://status.openai.com/api/v2/status.json"}
PRIMARY = {"name": "primary", "kind": "primary", "database": "clickview", "host": "127.0.0.1", "port": 15432}
BOUNCER = {"name": "pgbouncer", "kind": "pgbouncer", "database": "clickview", "host": "127.0.0.1", "port": 16432}
REFUSED = ('unable to connect to database: connection failed: connection to server at "127.0.0.1", port 16432 failed: '
           'Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?\n')


# ---- helpers: registered loop results -----------------------------------------------------------

def page(indicator, description, name="ClickUp"):
    return {"page": {"id": "y2j98763l5x9", "name": name, "url": "https://status.clickup.com", "time_zone": "Etc/UTC",
                     "updated_at": "2025-01-31T09:12:44.123Z"},
            "status": {"indicator": indicator, "description": description}}


def uri(item, status=200, body=None, msg=None, content_type="application/json"):
    """One item of the uri loop, as the module registers it (json only when the body parses as JSON)."""
    result = {"item": item, "ansible_loop_var": "item", "url": item["url"], "status": status, "changed": False,
              "failed": False, "msg": msg or ("OK (%d bytes)" % len(json.dumps(body)) if status == 200 else ""),
              "content_type": content_type, "elapsed": 0}
    if isinstance(body, (dict, list)):
        result["json"] = body
        result["content"] = json.dumps(body)
    elif body is not None:
        result["content"] = body
    return result


def loop(*results):
    return {"results": list(results), "changed": False, "msg": "All items completed"}


def query(item, round_trips=(0.412, 1.9), max_connections=100, connections=7):
    """A postgresql_query item that answered both queries."""
    every = [[{"answered": 1}],
             [{"max_connections": max_connections, "connections": connections, "server_version": "15.18 (Debian)"}]]
    return {"item": item, "ansible_loop_var": "item", "changed": False, "failed": False, "query_all_results": every,
            "query_result": every[-1], "execution_time_ms": list(round_trips), "rowcount": 1,
            "invocation": {"module_args": {"login_password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}}}


def unreachable(item, msg):
    return {"item": item, "ansible_loop_var": "item", "changed": False, "failed": False, "failed_when_result": False,
            "msg": msg}


# ---- status pages -------------------------------------------------------------------------------

def test_no_page_configured_gives_no_row():
    skipped = {"results": [], "skipped": True, "skipped_reason": "No items in the list", "changed": False}
    assert status_page_findings(skipped) == []
    assert status_page_findings({"results": []}) == []
    assert status_page_findings(None) == []
    assert status_page_findings([]) == []


@pytest.mark.parametrize("indicator, description, grade", [
    ("none", "All Systems Operational", "OK"),
    ("minor", "Minor Service Outage", "WARN"),
    ("major", "Partial System Outage", "FAIL"),
    ("critical", "Major System Outage", "FAIL"),
])
def test_each_indicator_is_graded(indicator, description, grade):
    (row,) = status_page_findings(loop(uri(CLICKUP, body=page(indicator, description))))
    assert set(row) == KEYS
    assert row["check"] == "external.status_page"
    assert row["target"] == "ClickUp https://status.clickup.com/api/v2/status.json"
    assert row["status"] == grade
    assert row["figure"] == "%s (indicator %s)" % (description, indicator)
    assert row["threshold"] == STATUS_PAGE_THRESHOLD
    assert row["evidence"] == ["page ClickUp https://status.clickup.com, updated 2025-01-31T09:12:44.123Z"]


def test_the_recommendation_follows_the_grade():
    rows = status_page_findings(loop(uri(CLICKUP, body=page("none", "All Systems Operational")),
                                     uri(OPENAI, body=page("major", "Partial outage", "OpenAI")),
                                     uri(CLICKUP, body=page("minor", "Degraded search"))))
    assert rows[0]["recommendation"] == "ClickUp reports no incident."
    assert rows[1]["recommendation"].startswith("OpenAI reports a major outage (Partial outage): the requests that call "
                                                "OpenAI may be what fails")
    assert "no rollback or restart of ours fixes it" in rows[1]["recommendation"]
    assert rows[2]["recommendation"].startswith("ClickUp reports minor trouble (Degraded search)")


def test_pages_keep_the_order_of_the_list():
    rows = status_page_findings([uri(OPENAI, body=page("none", "ok", "OpenAI")), uri(CLICKUP, body=page("none", "ok"))])
    assert [r["target"].split()[0] for r in rows] == ["OpenAI", "ClickUp"]


def test_indicator_case_and_spaces_are_tolerated():
    (row,) = status_page_findings(loop(uri(CLICKUP, body=page(" Major ", "Partial outage"))))
    assert row["status"] == "FAIL" and row["figure"] == "Partial outage (indicator major)"


def test_an_unknown_indicator_is_warn():
    (row,) = status_page_findings(loop(uri(CLICKUP, body=page("maintenance", "Under maintenance"))))
    assert row["status"] == "WARN" and row["figure"] == "Under maintenance (unknown indicator maintenance)"


def test_connection_refused_is_an_unreadable_page_and_warn():
    msg = "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>"
    (row,) = status_page_findings(loop(uri(CLICKUP, status=-1, msg=msg, body="", content_type=None)))
    assert row["status"] == "WARN"
    assert row["figure"] == "status page unreadable: connection refused"
    assert row["evidence"] == [msg]
    assert "no proof that ClickUp is down" in row["recommendation"]


@pytest.mark.parametrize("msg, reason", [
    ("Status code was -1 and not [200]: Request failed: <urlopen error timed out>", "timed out"),
    ("Status code was -1 and not [200]: Request failed: The read operation timed out", "timed out"),
    ("Status code was -1 and not [200]: Request failed: <urlopen error [Errno -2] Name or service not known>",
     "host name not found"),
    ("Status code was -1 and not [200]: Request failed: <urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
     "verify failed: unable to get local issuer certificate (_ssl.c:1006)>",
     "certificate not trusted - unable to get local issuer certificate"),
    ("Status code was -1 and not [200]: Request failed: <urlopen error [Errno 104] Connection reset by peer>",
     "connection closed"),
    ("Status code was -1 and not [200]: Request failed: <urlopen error something odd>", "something odd"),
])
def test_why_no_http_answer(msg, reason):
    assert request_failure(msg) == reason
    (row,) = status_page_findings(loop(uri(OPENAI, status=-1, msg=msg)))
    assert row["status"] == "WARN" and row["figure"] == "status page unreadable: " + reason


def test_an_http_error_is_unreadable():
    (row,) = status_page_findings(loop(uri(OPENAI, status=503, body="status page unavailable\n", content_type="text/plain",
                                           msg="Status code was 503 and not [200]: HTTP Error 503: Service Unavailable")))
    assert row["status"] == "WARN" and row["figure"] == "status page unreadable: HTTP 503"


def test_a_body_that_is_not_json_is_unreadable():
    (row,) = status_page_findings(loop(uri(OPENAI, body="<html>Status</html>", content_type="text/html")))
    assert row["status"] == "WARN" and row["figure"] == "status page unreadable: the answer is not JSON (text/html)"


def test_a_json_body_without_the_uri_json_key_is_parsed():
    """uri fills json only for a JSON content type: a page served as text/plain still counts."""
    result = uri(CLICKUP, body=json.dumps(page("major", "Partial outage")), content_type="text/plain")
    assert "json" not in result
    (row,) = status_page_findings(loop(result))
    assert row["status"] == "FAIL" and row["figure"] == "Partial outage (indicator major)"


@pytest.mark.parametrize("body", [
    {"page": {"name": "ClickUp"}},
    {"status": {"description": "All Systems Operational"}},
    {"status": {"indicator": ""}},
    {"status": "ok"},
    [],
    {"status": {"indicator": None}},
])
def test_missing_keys_are_unreadable(body):
    (row,) = status_page_findings(loop(uri(CLICKUP, body=body)))
    assert row["status"] == "WARN" and row["figure"] == "status page unreadable: no status.indicator in the answer"


def test_a_page_without_description_or_page_object_still_grades():
    (row,) = status_page_findings(loop(uri(CLICKUP, body={"status": {"indicator": "none"}})))
    assert row["status"] == "OK" and row["figure"] == "no description (indicator none)"
    assert row["evidence"] == ["page ClickUp"]


def test_a_skipped_item_is_unreadable():
    (row,) = status_page_findings(loop({"item": CLICKUP, "skipped": True, "changed": False}))
    assert row["status"] == "WARN" and row["figure"] == "status page unreadable: not read (skipped)"


def test_the_filter_is_registered():
    assert PageFilters().filters() == {"status_page_findings": status_page_findings}


# ---- the database's reachability ----------------------------------------------------------------

def test_reachable_endpoints_are_ok_with_round_trip_and_connections():
    rows = postgres_connectivity_findings(loop(query(PRIMARY), query(BOUNCER, round_trips=(23.6, 2.0))), connect_timeout=5)
    assert [set(r) for r in rows] == [KEYS, KEYS]
    primary, bouncer = rows
    assert primary == {
        "check": "postgres.connectivity", "target": "primary 127.0.0.1:15432, database clickview", "status": "OK",
        "figure": "SELECT 1 answered in 0.4 ms; 7 of 100 connections in use (max_connections)",
        "threshold": "SELECT 1 answers within the connect timeout (5 s)",
        "evidence": ["7 client connections of max_connections 100 (7.0 %)", "PostgreSQL 15.18 (Debian)"],
        "recommendation": "The database answers.", "value": 0.41, "unit": "ms"}
    assert (bouncer["value"], bouncer["unit"]) == (23.6, "ms")
    assert bouncer["target"] == "pgbouncer 127.0.0.1:16432, database clickview"
    assert bouncer["status"] == "OK" and bouncer["figure"].startswith("SELECT 1 answered in 24 ms;")
    assert bouncer["recommendation"] == "The database answers through PgBouncer."


def test_only_select_1_answered_is_still_ok():
    """A single query (query_result only, no timing): reachable is all the row says."""
    result = {"item": PRIMARY, "failed": False, "query_result": [{"answered": 1}]}
    (row,) = postgres_connectivity_findings([result])
    assert row["status"] == "OK" and row["figure"] == "SELECT 1 answered" and row["evidence"] == []
    assert row["threshold"] == "SELECT 1 answers"


def test_unreachable_endpoint_is_fail_with_the_drivers_message():
    rows = postgres_connectivity_findings(loop(query(PRIMARY), unreachable(BOUNCER, REFUSED)), connect_timeout=5)
    assert rows[0]["status"] == "OK"
    bouncer = rows[1]
    assert bouncer["status"] == "FAIL"
    assert bouncer["figure"] == 'unreachable: connection to server at "127.0.0.1", port 16432 failed: Connection refused'
    assert bouncer["evidence"] == [" ".join(REFUSED.split())]
    assert bouncer["recommendation"].startswith("PgBouncer does not pass connections to the database")


def test_unreachable_primary_says_restore_the_database():
    msg = "unable to connect to database: failed to resolve host 'db.invalid': [Errno -2] Name or service not known"
    (row,) = postgres_connectivity_findings(loop(unreachable(PRIMARY, msg)))
    assert row["status"] == "FAIL"
    assert row["figure"] == "unreachable: failed to resolve host 'db.invalid': [Errno -2] Name or service not known"
    assert row["recommendation"].startswith("Restore the database first")


def test_a_timeout_and_a_failed_login_are_named():
    timeout = ('unable to connect to database: connection failed: connection to server at "10.0.0.5", port 5432 failed: '
               'timeout expired\n')
    login = ('unable to connect to database: connection failed: connection to server at "127.0.0.1", port 15432 failed: '
             'FATAL:  password authentication failed for user "clickview_ops"')
    rows = postgres_connectivity_findings([unreachable(PRIMARY, timeout), unreachable(PRIMARY, login)])
    assert rows[0]["figure"].endswith("port 5432 failed: timeout expired")
    assert rows[1]["figure"].endswith('failed: FATAL: password authentication failed for user "clickview_ops"')


def test_no_slot_left_points_at_the_pool_alert():
    msg = ('unable to connect to database: connection failed: connection to server at "127.0.0.1", port 15432 failed: '
           'FATAL:  sorry, too many clients already')
    (row,) = postgres_connectivity_findings([unreachable(PRIMARY, msg)])
    assert row["status"] == "FAIL" and row["figure"].endswith("sorry, too many clients already")
    assert "alert_db_connection_pool_exhausted.yml" in row["recommendation"]


def test_a_password_in_the_message_is_masked():
    msg = "unable to connect to database: invalid dsn: host=db password=s3cret-pw user=ops port=x"
    (row,) = postgres_connectivity_findings([unreachable(PRIMARY, msg)])
    assert "s3cret-pw" not in json.dumps(row)
    assert row["figure"] == "unreachable: invalid dsn: host=db password=******** user=ops port=x"


def test_a_query_that_failed_after_connecting_is_fail():
    msg = "Cannot execute SQL 'SELECT 1 AS answered' None: canceling statement due to statement timeout"
    (row,) = postgres_connectivity_findings([{"item": PRIMARY, "failed": True, "msg": msg}])
    assert row["status"] == "FAIL" and "statement timeout" in row["figure"]


def test_skipped_or_empty_results():
    assert postgres_connectivity_findings({"results": [], "skipped": True}) == []
    assert postgres_connectivity_findings(None) == []
    (row,) = postgres_connectivity_findings([{"item": PRIMARY, "skipped": True}])
    assert row["status"] == "FAIL" and row["figure"] == "unreachable: not read (skipped)"


def test_a_long_driver_message_is_cut_in_the_figure_not_in_the_evidence():
    msg = "unable to connect to database: " + "word " * 100
    (row,) = postgres_connectivity_findings([unreachable(PRIMARY, msg)])
    assert len(row["figure"]) < 230 and row["figure"].endswith("...")
    assert row["evidence"] == [" ".join(msg.split())]


def test_driver_error_without_message():
    assert driver_error("") == "no answer"
    assert driver_error("connection failed: x") == "x"


def test_the_connectivity_filter_is_registered():
    assert PgFilters().filters() == {"postgres_connectivity_findings": postgres_connectivity_findings}


# ---- which dependency looks at fault ----------------------------------------------------------

def rows_of(*, db_down=False, pages=(("ClickUp", "none", "All Systems Operational"),
                                     ("OpenAI", "none", "All Systems Operational"))):
    db = postgres_connectivity_findings([query(PRIMARY), unreachable(BOUNCER, REFUSED) if db_down else query(BOUNCER)])
    found = []
    for name, indicator, description in pages:
        item = {"name": name, "url": "https://status.%s.com/api/v2/status.json" % name.lower()}
        if indicator is None:
            found.append(uri(item, status=-1, msg="Request failed: <urlopen error timed out>"))
        else:
            found.append(uri(item, body=page(indicator, description, name)))
    return db + status_page_findings(found)


def test_nothing_at_fault():
    assert dependency_recommendation(rows_of()) == (
        "Not deployment-related, and the database answers and no external service's status page reports an incident: "
        "check the database's queries (connection pool and slow queries) and the grouped log errors, which name the "
        "failing dependency.")


def test_an_outage_names_the_service():
    text = dependency_recommendation(rows_of(pages=(("ClickUp", "none", "All Systems Operational"),
                                                    ("OpenAI", "major", "Partial outage"))))
    assert text == ("Not deployment-related: the dependency at fault looks like OpenAI (its status page: Partial outage "
                    "(indicator major)) - start there; the grouped log errors show which requests fail.")


def test_the_database_first_then_minor_trouble():
    text = dependency_recommendation(rows_of(db_down=True, pages=(("ClickUp", "minor", "Degraded"),
                                                                  ("OpenAI", "none", "All Systems Operational"))))
    assert text.startswith('Not deployment-related: the dependency at fault looks like the database (pgbouncer '
                           '127.0.0.1:16432, database clickview: unreachable: connection to server at')
    assert text.index("the database") < text.index("ClickUp (its status page: Degraded (indicator minor))")


def test_an_unreadable_page_is_not_blamed():
    text = dependency_recommendation(rows_of(pages=(("ClickUp", None, None), ("OpenAI", "none", "fine"))))
    assert "the dependency at fault" not in text
    assert "no external service's status page reports an incident (unreadable: ClickUp)" in text


def test_without_status_pages_or_without_any_row():
    assert dependency_recommendation(rows_of(pages=())).startswith("Not deployment-related, and the database answers: ")
    generic = dependency_recommendation([])
    assert generic.startswith("Not deployment-related: check the database (connection pool and queries) and the external "
                              "APIs (ClickUp/OpenAI status)")
    assert dependency_recommendation(None) == generic
    other = [{"check": "prometheus.error_ratio", "status": "FAIL"}]
    assert dependency_recommendation(other) == generic


def test_a_service_name_with_spaces():
    item = {"name": "Google Cloud", "url": "https://status.cloud.google.com/api/v2/status.json"}
    rows = status_page_findings([uri(item, body=page("critical", "Major outage", "Google Cloud"))])
    assert "looks like Google Cloud (its status page: Major outage (indicator critical))" in dependency_recommendation(rows)


def test_the_recommendation_filter_is_registered():
    assert RecFilters().filters() == {"dependency_recommendation": dependency_recommendation}
