# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the security evidence procedure, kept out of Jinja so they are unit-tested.

- ``audit_trail_query``: the audit-trail query of the evidence window, with its two names checked and quoted.
- ``quote_identifier``: a table or column name from a variable as a quoted SQL identifier, or a
  refusal naming the variable (the audit trail's table and time column are configurable, and a
  name is the one part of a query that cannot travel as a query parameter).
- ``evidence_storage``: where the evidence may be kept: outside the lab (and under AWX, whose job
  container is thrown away after the run) an S3 bucket is required.
- ``pod_log_index``: each container of the pods read, and what became of its previous container's log.
No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# PostgreSQL's unquoted identifier (letters, digits, _ and $, not starting with a digit or $), ASCII only,
# at most NAMEDATALEN - 1 = 63 bytes. Anything else is refused, never escaped.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")
NO_PREVIOUS = "no previous container"
PREVIOUS_NOT_FOUND = "previous terminated container"


def quote_identifier(value, variable, qualified=True):
    """``audit_log`` -> ``"audit_log"``, ``audit.events`` -> ``"audit"."events"`` (qualified only).

    Each part must be a plain identifier; a name is taken as written (quoted, so case-sensitive, as
    PostgreSQL's quote_ident does). Raises ValueError naming ``variable`` otherwise."""
    text = "" if value is None else str(value)
    parts = text.split(".")
    most = 2 if qualified else 1
    shape = "a table name or schema.table" if qualified else "a column name"
    if not text.strip():
        raise ValueError("%s: empty; give %s" % (variable, shape))
    if len(parts) > most:
        raise ValueError("%s: %r has %d dotted parts; give %s" % (variable, text, len(parts), shape))
    bad = [part for part in parts if not IDENTIFIER.fullmatch(part)]
    if bad:
        raise ValueError("%s: %r is not %s made of SQL identifiers (letters, digits, _ and $, not starting with a digit, "
                         "at most 63 characters): %r is not one" % (variable, text, shape, bad[0]))
    return ".".join('"%s"' % part for part in parts)


def audit_trail_query(table, time_column, table_variable="security_incident_audit_table",
                      time_variable="security_incident_audit_time_column"):
    """The runbook's ``SELECT * FROM audit_log WHERE created_at > ... ORDER BY created_at DESC``, bounded on both
    ends and in rows: every column of each row as JSON (``row``), newest first.

    The two names are checked and quoted by quote_identifier (ValueError naming the variable otherwise); the
    window's start and end and the row limit are the three ``%s`` parameters, in that order, never text."""
    quoted_table = quote_identifier(table, table_variable)
    quoted_time = quote_identifier(time_column, time_variable, qualified=False)
    return ("SELECT row_to_json(audit_row) AS row FROM {table} AS audit_row "
            "WHERE audit_row.{time} >= %s::timestamptz AND audit_row.{time} < %s::timestamptz "
            "ORDER BY audit_row.{time} DESC LIMIT %s").format(table=quoted_table, time=quoted_time)


# what is kept, where its bucket is set, and what a refusal leaves undone; by the ``subject`` of evidence_storage
STORAGE_SUBJECTS = {
    "evidence": ("the evidence, the reports and the record must be kept where the next job can read them",
                 "the inventory's group_vars/all/security_incident.yml", "Nothing was collected.", "evidence"),
    "review": ("the post-incident review must be kept where the next job can read it",
               "the inventory; it defaults to clickview_incident_s3_bucket", "Nothing was written.", "review"),
}


def evidence_storage(bucket, environment, awx_job_id=None, variable="security_incident_evidence_s3_bucket",
                     local_environments=("local",), subject="evidence"):
    """{required, ok, where, msg}: whether the evidence (or the post-incident review: ``subject`` "review") needs a
    bucket here, and whether it has one.

    A bucket is required outside ``local_environments`` (an unset environment counts as outside: the
    safe side) and under AWX (a job id is set), where a file left in the job's container is lost."""
    if subject not in STORAGE_SUBJECTS:
        raise ValueError("subject must be one of %s, not %r" % (", ".join(sorted(STORAGE_SUBJECTS)), subject))
    kept, set_in, undone, noun = STORAGE_SUBJECTS[subject]
    bucket = "" if bucket is None else str(bucket).strip()
    environment = "" if environment is None else str(environment).strip()
    awx = "" if awx_job_id is None else str(awx_job_id).strip()
    reasons = []
    if environment not in [str(name) for name in local_environments or []]:
        reasons.append("clickview_environment is %s" % (environment or "not set")
                       + (" (not %s)" % ", ".join(local_environments) if local_environments else ""))
    if awx:
        reasons.append("the run is AWX job %s, whose container is discarded after the run" % awx)
    required = bool(reasons)
    ok = bool(bucket) or not required
    if bucket:
        where = "s3://%s" % bucket
        msg = "%s kept in s3://%s" % (noun, bucket)
    elif required:
        where = ""
        msg = ("%s is empty, and %s: %s. Set %s (%s) to an S3 bucket with versioning / Object Lock. %s"
               % (variable, " and ".join(reasons), kept, variable, set_in, undone))
    else:
        where = "local"
        msg = "%s kept on this machine only (%s is empty; allowed in %s)" % (noun, variable, environment)
    return {"required": required, "ok": ok, "where": where, "msg": msg}


def _statuses(pod):
    return ((pod or {}).get("status") or {}).get("containerStatuses") or []


def _name(pod):
    return ((pod or {}).get("metadata") or {}).get("name")


def pod_log_index(pods, previous_results=None, prefix="pod-logs"):
    """{containers: [...], errors: [...]} for the pods' containers.

    Each container: {pod, container, restarts, last_terminated, previous_wanted, previous}.
    ``previous_wanted``: the container restarted (restartCount above 0, or a last terminated state), so
    its previous container's log is read. ``previous``: the file it went to (``<prefix>/<pod>.<container>.previous.log``),
    ``no previous container`` (never restarted, or the API has none any more: not an error), or, when
    the read failed otherwise, ``not read (<why>)`` (also in ``errors``)."""
    read = {}
    for result in previous_results or []:
        item = result.get("item") or {}
        read[(item.get("pod"), item.get("container"))] = result
    containers, errors = [], []
    for pod in pods or []:
        name = _name(pod)
        for status in _statuses(pod):
            last = (status.get("lastState") or {}).get("terminated") or {}
            restarts = int(status.get("restartCount") or 0)
            entry = {"pod": name, "container": status.get("name"), "restarts": restarts,
                     "last_terminated": {key: last.get(key) for key in ("reason", "exitCode", "startedAt", "finishedAt")}
                     if last else {},
                     "previous_wanted": restarts > 0 or bool(last), "previous": NO_PREVIOUS}
            result = read.get((name, status.get("name")))
            if entry["previous_wanted"] and result is not None:
                if "log" in result and not result.get("failed"):
                    entry["previous"] = "%s/%s.%s.previous.log" % (prefix, name, status.get("name"))
                elif PREVIOUS_NOT_FOUND not in str(result.get("msg", "")):
                    why = str(result.get("msg") or "failed")
                    entry["previous"] = "not read (%s)" % why
                    errors.append("%s/%s previous log: %s" % (name, status.get("name"), why))
            elif entry["previous_wanted"] and previous_results is not None:
                entry["previous"] = "not read (no result)"
                errors.append("%s/%s previous log: not read" % (name, status.get("name")))
            containers.append(entry)
    return {"containers": containers, "errors": errors}
