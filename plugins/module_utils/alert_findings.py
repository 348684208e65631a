# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The findings of an alert response (roles/alert_response): tidy rows, their summary, the outcome of a run.

A finding is one graded figure: ``check``, ``target``, ``status`` (OK, WARN or FAIL), ``figure``,
``threshold``, ``evidence`` (lines) and ``recommendation``, and the figure's number as ``value`` and ``unit`` (see
check_row; both None when the figure has no number). An action is one resolution step:
``step``, ``status`` (done, would, skipped, failed), ``detail``, ``evidence``. A verification is
the summary of the investigation run again after the steps (``overall``, ``counts``, ``findings``).
The helpers below also render figures the way the role's Jinja did, so reports read as before.
"""

from __future__ import annotations

import math
import re

GRADES = ("OK", "WARN", "FAIL")
RANK = {"OK": 0, "WARN": 1, "FAIL": 2}
NO_ACTION = "No action needed: every figure is within its threshold."
TIDIED = ("status", "figure", "threshold", "recommendation")
# the units of a row's value (see check_row)
UNITS = ("%", "ms", "s", "hours", "days", "bytes", "connections", "keys", "pods", "count")


def text(value):
    """A value as Jinja's ``~`` writes it (None is 'None')."""
    return str(value)


def floor1(value):
    """Rounded down to one decimal, as Jinja's round(1, 'floor')."""
    return math.floor(float(value) * 10) / 10


def truncate(value, length=255, end="...", leeway=5):
    """As Jinja's truncate filter: whole words, a leeway of 5 characters."""
    value = str(value)
    if len(value) <= length + leeway:
        return value
    return value[:length - len(end)].rsplit(" ", 1)[0] + end


def rows(result):
    """The rows of a registered postgresql_query result: [] when it has none (failed, skipped, or no row -
    postgresql_query gives an empty dict, not an empty list, for a query that returned no row)."""
    found = (result or {}).get("query_result")
    if not found:
        return []
    return [found] if isinstance(found, dict) else list(found)


def check_row(check, target, status, figure, threshold, detail="", value=None, unit=None):
    """One check of a report, in the shape every health check has.

    ``figure`` is the text a human reads; ``value`` is its graded number (int or float) and ``unit`` what that number
    counts, so stored reports can be compared over time. Both keys are always there, None when the figure has no
    number (a check that is down, unreadable or a yes/no): the unit is dropped when the value is None, so a caller
    may pass the unit its figure has when it has one. The units (UNITS):

    - ``%``: a percentage as a percent number (93.5, not 0.935);
    - ``ms``, ``s``, ``hours``, ``days``: a duration or an age;
    - ``bytes``: a size;
    - ``connections``, ``keys``, ``pods``: how many of those;
    - ``count``: how many of anything else the check names (targets, alerts, queries, tables, ...).
    """
    if unit not in UNITS + (None,):
        raise ValueError("check %r: unknown unit %r (one of %s)" % (check, unit, ", ".join(UNITS)))
    return {"check": check, "target": target, "status": status, "figure": figure, "threshold": threshold,
            "detail": detail, "value": value, "unit": unit if value is not None else None}


def server_target(server):
    """'name host:port' of a connection dict such as clickview_postgres_primary (name defaults to primary)."""
    server = server or {}
    return "%s %s:%s" % (server.get("name", "primary"), server.get("host"), server.get("port"))


def threshold_pair(thresholds, key=None):
    """(warn, fail) of a thresholds dict, or of its entry ``key``."""
    pair = (thresholds or {}).get(key) if key else thresholds
    pair = pair or {}
    return pair.get("warn"), pair.get("fail")


def tidy(finding):
    """The finding with its status, figure, threshold and recommendation as trimmed text, and its value and unit
    (None when not given)."""
    out = dict(finding)
    for key in TIDIED:
        if key not in finding:
            raise ValueError("finding %r has no %s" % (finding.get("check", finding), key))
        out[key] = str(finding[key]).strip()
    out.setdefault("value", None)
    out.setdefault("unit", None)
    return out


def grade_counts(findings):
    """How many findings are OK, WARN and FAIL (every key present)."""
    statuses = [f.get("status") for f in findings or []]
    return dict((grade, statuses.count(grade)) for grade in GRADES)


def failed_checks(findings):
    """The checks of the findings that are FAIL, in order."""
    return [f.get("check") for f in findings or [] if f.get("status") == "FAIL"]


def recommended_action(findings):
    """The recommendation of the first FAIL finding, else of the first WARN (or other not OK) one, else none needed."""
    attention = [f for f in findings or [] if f.get("status") != "OK"]
    worst = [f for f in attention if f.get("status") == "FAIL"] or attention
    return worst[0].get("recommendation") if worst else NO_ACTION


def outcome(overall, failed_steps, verification_overall=None):
    """needs_attention, remediated or ok.

    needs_attention: a resolution step failed, or a FAIL is left (the verification after the steps is FAIL,
    or without a verification the first investigation is). remediated: the verification is better than the
    first investigation (FAIL -> WARN/OK, WARN -> OK). ok: otherwise (nothing FAIL, nothing improved).
    """
    if failed_steps:
        return "needs_attention"
    if verification_overall:
        if verification_overall == "FAIL":
            return "needs_attention"
        return "remediated" if RANK.get(verification_overall, 2) < RANK.get(overall, 2) else "ok"
    return "needs_attention" if overall == "FAIL" else "ok"


def attention_text(findings, failed_steps, verification=None):
    """Why a human must act: 'N finding(s) FAIL: a, b; step(s) failed: c' ('' when nothing is left)."""
    left = failed_checks((verification or {"findings": findings}).get("findings"))
    parts = []
    if left:
        where = "still FAIL after the resolution steps" if verification else "FAIL"
        parts.append("%d finding(s) %s: %s" % (len(left), where, ", ".join(str(check) for check in left)))
    if failed_steps:
        parts.append("step(s) failed: " + ", ".join(str(step) for step in failed_steps))
    return "; ".join(parts)


# the reason inside ansible.builtin.uri's message for a request that got no HTTP status:
# "Status code was -1 and not [200]: Request failed: <url...open error REASON>"
_URL_ERROR = re.compile(r"<url\w* error (.*)>\s*$", re.S)
_VERIFY = re.compile(r"certificate verify failed: ([^(]+)")


def no_answer_reason(message):
    """Why a GET got no HTTP status, in short words, from the uri module's message: "connection refused",
    "timed out", "host name not found", "connection closed", "certificate not trusted - <why>", "TLS handshake
    failed - <error>", else the reason itself on one line."""
    message = str(message or "")
    found = _URL_ERROR.search(message)
    reason = (found.group(1) if found else message.split("Request failed: ", 1)[-1]).strip()
    lower = reason.lower()
    verify = _VERIFY.search(reason)
    if verify:
        return "certificate not trusted - " + verify.group(1).strip()
    if "certificate_verify_failed" in lower or "hostname mismatch" in lower:
        return "certificate not trusted"
    if "ssl" in lower or "tls" in lower:
        return "TLS handshake failed - " + " ".join(reason.split())
    if "connection refused" in lower:
        return "connection refused"
    if "timed out" in lower or "timeout" in lower:
        return "timed out"
    if "name or service not known" in lower or "nodename nor servname" in lower or "name resolution" in lower:
        return "host name not found"
    if "connection reset" in lower or "remote end closed" in lower:
        return "connection closed"
    return " ".join(reason.split())
