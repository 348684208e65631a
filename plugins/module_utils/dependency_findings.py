# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The High Error Rate alert's dependencies, graded: the database's reachability and the external services' status pages.

The runbook's resolution steps 3 and 4 ("If database-related: Check connection pool and queries", "If external
API: Check ClickUp/OpenAI status"). The alert's tasks only gather - a SELECT 1 on each database endpoint with
community.postgresql.postgresql_query, a GET of each status page with ansible.builtin.uri, both in a loop, both with
failed_when false - and these functions turn the registered loop results into finding rows
(``check``, ``target``, ``status``, ``figure``, ``threshold``, ``evidence``, ``recommendation``), and the rows into
the sentence the error ratio's recommendation gives when the spike is not deployment-related.
"""

from __future__ import annotations

import json
import re

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import no_answer_reason, server_target, truncate

STATUS_PAGE_CHECK = "external.status_page"
CONNECTIVITY_CHECK = "postgres.connectivity"
# Atlassian Statuspage's status.indicator, graded
INDICATOR_GRADES = {"none": "OK", "minor": "WARN", "major": "FAIL", "critical": "FAIL"}
STATUS_PAGE_THRESHOLD = "indicator none is OK, minor WARN, major or critical FAIL; an unreadable page WARN"
FIGURE_CHARS = 200
# a password in a connection string or a DSN, should a driver's message ever quote one
PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\"[^\"]*\"|\S+)", re.I)
# the prefixes community.postgresql and psycopg put before the server's or libpq's own words
DRIVER_PREFIXES = ("unable to connect to database:", "connection failed:")
NO_SLOT = ("too many clients", "remaining connection slots are reserved", "connection slots are reserved")


def loop_results(registered):
    """The per-item results of a registered loop: its ``results`` (a dict), the list itself, [] for nothing or a skip."""
    if isinstance(registered, dict):
        registered = registered.get("results")
    if not isinstance(registered, list):
        return []
    return [result for result in registered if isinstance(result, dict)]


def one_line(message):
    """A message on one line: whitespace collapsed, any password= value masked."""
    return PASSWORD.sub(r"\1********", " ".join(str(message or "").split()))


def _int(value, default=-1):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ---- external services' status pages ----------------------------------------------------------

def request_failure(message):
    """Why a GET got no HTTP status, from the uri module's message (alert_findings.no_answer_reason)."""
    return no_answer_reason(message) or "no answer"


def read_status_page(result):
    """(status, None) for a page that answered in the Statuspage format, else (None, why it is unreadable).

    ``status`` is the page's ``status`` object (``indicator``, ``description``) with the ``page`` object under
    ``page``. Unreadable: no HTTP answer (status -1: refused, timed out, ...), a status other than 2xx, a body that is
    not JSON, an answer without ``status.indicator``, or a task that did not run.
    """
    if result.get("skipped"):
        return None, "not read (skipped)"
    code = _int(result.get("status"))
    if code < 0:
        return None, request_failure(result.get("msg")) if result.get("msg") else "no answer"
    if not 200 <= code < 300:
        return None, "HTTP %d" % code
    doc = result.get("json")
    if doc is None:
        try:
            doc = json.loads(result.get("content") or "")
        except (TypeError, ValueError):
            kind = result.get("content_type")
            return None, "the answer is not JSON" + (" (%s)" % kind if kind else "")
    status = doc.get("status") if isinstance(doc, dict) else None
    indicator = status.get("indicator") if isinstance(status, dict) else None
    if not isinstance(indicator, str) or not indicator:
        return None, "no status.indicator in the answer"
    page = doc.get("page") if isinstance(doc.get("page"), dict) else {}
    return dict(status, page=page), None


def status_page_row(result):
    """The external.status_page finding of one registered loop item (see status_page_findings)."""
    item = result.get("item") if isinstance(result.get("item"), dict) else {}
    url = str(item.get("url") or result.get("url") or "")
    name = str(item.get("name") or url or "status page")
    row = {"check": STATUS_PAGE_CHECK, "target": ("%s %s" % (name, url)).strip(), "threshold": STATUS_PAGE_THRESHOLD,
           "value": None, "unit": None}
    status, reason = read_status_page(result)
    if status is None:
        evidence = [one_line(result.get("msg"))] if result.get("msg") else []
        return dict(row, status="WARN", figure="status page unreadable: %s" % reason, evidence=evidence,
                    recommendation="The status page of %s could not be read (%s), which is no proof that %s is down: "
                                   "look at it by hand (%s) if the log errors name %s." % (name, reason, name, url, name))
    indicator = status["indicator"].strip().lower()
    description = one_line(status.get("description")) or "no description"
    page = status["page"]
    evidence = ["page %s%s%s" % (page.get("name") or name, (" " + str(page["url"])) if page.get("url") else "",
                                 (", updated " + str(page["updated_at"])) if page.get("updated_at") else "")]
    grade = INDICATOR_GRADES.get(indicator)
    if grade is None:
        return dict(row, status="WARN", figure="%s (unknown indicator %s)" % (description, indicator), evidence=evidence,
                    recommendation="%s's status page gives an indicator this check does not know (%s): read it by hand "
                                   "(%s)." % (name, indicator, page.get("url") or url))
    if grade == "OK":
        recommendation = "%s reports no incident." % name
    elif grade == "WARN":
        recommendation = ("%s reports minor trouble (%s): see whether the failing requests are the ones that call %s "
                          "(the grouped log errors)." % (name, description, name))
    else:
        recommendation = ("%s reports a %s outage (%s): the requests that call %s may be what fails - follow its status "
                          "page (%s); no rollback or restart of ours fixes it." % (
                              name, indicator, description, name, page.get("url") or url))
    return dict(row, status=grade, figure="%s (indicator %s)" % (description, indicator), evidence=evidence,
                recommendation=recommendation)


def status_page_findings(registered):
    """One external.status_page finding per page read, in the order of the list; none for an empty list."""
    return [status_page_row(result) for result in loop_results(registered)]


# ---- the database's reachability ---------------------------------------------------------------

def driver_error(message):
    """The driver's own words from a postgresql_query failure: the module's prefixes dropped, the first line only."""
    lines = [line.strip() for line in str(message or "").splitlines() if line.strip()]
    text = lines[0] if lines else ""
    changed = True
    while changed:
        changed = False
        for prefix in DRIVER_PREFIXES:
            if text.lower().startswith(prefix):
                text, changed = text[len(prefix):].strip(), True
    return truncate(one_line(text), FIGURE_CHARS) or "no answer"


def _answers(result):
    """The rows of each query of a postgresql_query result (query_all_results, else query_result alone)."""
    every = result.get("query_all_results")
    if isinstance(every, list) and every:
        return [list(rows) if isinstance(rows, list) else [rows] for rows in every]
    found = result.get("query_result")
    if isinstance(found, list):
        return [found]
    return [[found]] if isinstance(found, dict) else []


def _round_trip(result):
    times = result.get("execution_time_ms")
    try:
        return float(times[0] if isinstance(times, list) else times)
    except (TypeError, ValueError, IndexError):
        return None


def _ms(value):
    return "%d ms" % round(value) if value >= 10 else "%.1f ms" % value


def connectivity_row(result, connect_timeout=None):
    """The postgres.connectivity finding of one registered loop item (see postgres_connectivity_findings)."""
    item = result.get("item") if isinstance(result.get("item"), dict) else {}
    pooler = str(item.get("kind") or "") == "pgbouncer"
    target = server_target(item) + (", database %s" % item["database"] if item.get("database") else "")
    limit = " within the connect timeout (%s s)" % connect_timeout if connect_timeout not in (None, "") else ""
    row = {"check": CONNECTIVITY_CHECK, "target": target, "threshold": "SELECT 1 answers%s" % limit,
           "value": None, "unit": None}
    answers = _answers(result)
    first = answers[0][0] if answers and answers[0] and isinstance(answers[0][0], dict) else {}
    if result.get("failed") or result.get("skipped") or not first:
        message = str(result.get("msg") or ("not read (skipped)" if result.get("skipped") else "no answer"))
        why = driver_error(message)
        lower = message.lower()
        if any(words in lower for words in NO_SLOT):
            advice = ("No connection slot is left: the connection pool is exhausted - run the DB Connection Pool "
                      "Exhausted response (playbooks/alert_db_connection_pool_exhausted.yml).")
        elif pooler:
            advice = ("PgBouncer does not pass connections to the database: check the PgBouncer service and its pools "
                      "(SHOW POOLS, as the DB Connection Pool Exhausted response reads them) - the backend connects "
                      "through it.")
        else:
            advice = ("Restore the database first: the backend's requests fail while PostgreSQL is unreachable "
                      "(the runbook's database-related path: connection pool and queries).")
        return dict(row, status="FAIL", figure="unreachable: %s" % why, evidence=[one_line(message)],
                    recommendation=advice)
    trip = _round_trip(result)
    figure = "SELECT 1 answered" + (" in %s" % _ms(trip) if trip is not None else "")
    evidence = []
    usage = answers[1][0] if len(answers) > 1 and answers[1] and isinstance(answers[1][0], dict) else {}
    connections, most = _int(usage.get("connections")), _int(usage.get("max_connections"))
    if connections >= 0 and most > 0:
        figure += "; %d of %d connections in use (max_connections)" % (connections, most)
        evidence.append("%d client connections of max_connections %d (%.1f %%)" % (
            connections, most, connections * 100.0 / most))
    if usage.get("server_version"):
        evidence.append("PostgreSQL %s" % usage["server_version"])
    return dict(row, status="OK", figure=figure, evidence=evidence,
                recommendation="The database answers%s." % (" through PgBouncer" if pooler else ""),
                value=round(trip, 2) if trip is not None else None, unit="ms" if trip is not None else None)


def postgres_connectivity_findings(registered, connect_timeout=None):
    """One postgres.connectivity finding per endpoint read, in the order of the loop."""
    return [connectivity_row(result, connect_timeout) for result in loop_results(registered)]


# ---- which dependency looks at fault -----------------------------------------------------------

def _service(row):
    """The service's name of an external.status_page row (its target is 'NAME URL')."""
    target = str(row.get("target") or "")
    return target.rsplit(" ", 1)[0] if "://" in target else target


def _cause(row):
    if row.get("check") == CONNECTIVITY_CHECK:
        return "the database (%s: %s)" % (row.get("target"), row.get("figure"))
    return "%s (its status page: %s)" % (_service(row), row.get("figure"))


def dependency_recommendation(findings):
    """What the error ratio's recommendation says when the spike is not deployment-related (see the filter's docs)."""
    rows = [f for f in findings or [] if isinstance(f, dict) and f.get("check") in (CONNECTIVITY_CHECK, STATUS_PAGE_CHECK)]
    if not rows:
        return ("Not deployment-related: check the database (connection pool and queries) and the external APIs "
                "(ClickUp/OpenAI status); the grouped log errors name the failing dependency.")
    at_fault = [r for r in rows if r.get("status") == "FAIL"]
    # a minor incident on a status page is a lead too; an unreadable page is not
    leads = [r for r in rows if r.get("status") == "WARN" and r.get("check") == STATUS_PAGE_CHECK
             and not str(r.get("figure", "")).startswith("status page unreadable")]
    if at_fault or leads:
        return ("Not deployment-related: the dependency at fault looks like %s - start there; the grouped log errors "
                "show which requests fail." % "; ".join(_cause(r) for r in at_fault + leads))
    pages = [r for r in rows if r.get("check") == STATUS_PAGE_CHECK]
    unread = [_service(r) for r in pages if r.get("status") != "OK"]
    said = []
    if len(pages) < len(rows):
        said.append("the database answers")
    if pages:
        said.append("no external service's status page reports an incident"
                    + (" (unreadable: %s)" % ", ".join(unread) if unread else ""))
    said = " and ".join(said)
    return ("Not deployment-related, and %s: check the database's queries (connection pool and slow queries) and "
            "the grouped log errors, which name the failing dependency." % said)
