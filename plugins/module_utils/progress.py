# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What one poll of a wait saw, as a short line for on-call (``3/5 pods updated, 2 ready``).

The clickview.runbook.oncall stdout callback prints it for every retry of an ``until`` loop
instead of "FAILED - RETRYING ... (57 retries left)". It knows the result shapes the roles poll:

- kubernetes.core.k8s_info of a Deployment, StatefulSet, ReplicaSet, DaemonSet, Endpoints, Pod
  or any object with a Ready condition;
- community.postgresql.postgresql_query (the first row, as key=value pairs);
- ansible.builtin.uri (HTTP status, the JSON ``status`` field, a Prometheus query's first value
  or the length of a JSON list);
- a command (the last line of stdout, and rc when it is not 0);
- any result with a ``progress`` key (a string, or a list whose last entry is shown);
- ansible.builtin.async_status of a job still running ("running in the background").

Anything else is "not yet" ("not yet (the poll failed)" when the poll itself failed). Only
those fields are read, never a message, a URL, a query or stderr; values whose key names a
secret are masked; the line is cut to ``limit`` characters. A result censored by no_log gives
None: the callback then prints only the task name and time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.six.moves.collections_abc import Mapping

NOT_YET = "not yet"
RUNNING = "running in the background"
LIMIT = 120
VALUE_LIMIT = 40
ROLLOUT_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")
SECRET_KEY = re.compile(r"pass|secret|token|credential|private|api_?key|auth", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_TEXT = (type(u""), type(""))


def is_censored(result):
    """Whether Ansible censored the result (no_log): nothing of it may be shown."""
    return isinstance(result, Mapping) and bool(result.get("censored") or result.get("_ansible_no_log"))


def clip(text, limit=LIMIT):
    """One line: whitespace and control characters collapsed, cut to ``limit`` characters with '...'."""
    text = _SPACE.sub(" ", u"%s" % (text,)).strip()
    text = "".join(" " if c < " " or c == "\x7f" else c for c in text)
    if limit and len(text) > limit:
        return text[:max(limit - 3, 1)].rstrip() + "..."
    return text


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _value(key, value):
    if SECRET_KEY.search(u"%s" % (key,)):
        return "***"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return clip(value, VALUE_LIMIT)


def pairs(row, limit=LIMIT):
    """A row (dict) as ``key=value, ...``: each value cut short, secrets masked."""
    if not isinstance(row, Mapping):
        return clip(row, limit) if row not in (None, "") else ""
    return clip(", ".join("%s=%s" % (k, _value(k, v)) for k, v in row.items()), limit)


# ---------------------------------------------------------------- kubernetes.core.k8s_info
def _ready_condition(status):
    for cond in status.get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") in ("Ready", "Available"):
            text = "%s=%s" % (cond.get("type"), cond.get("status"))
            if cond.get("reason"):
                text += " (%s)" % clip(cond.get("reason"), VALUE_LIMIT)
            return text
    return None


def pods_line(updated, wanted, ready):
    """How far a rollout is, as every wait shows it: '3/5 pods updated, 2 ready'."""
    return "%d/%d pods updated, %d ready" % (_int(updated), _int(wanted), _int(ready))


def k8s_object_state(obj):
    """The state of one Kubernetes object as k8s_info returns it."""
    if not isinstance(obj, Mapping):
        return None
    kind = obj.get("kind") or ""
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    parts = []
    if kind in ROLLOUT_KINDS or (kind == "" and "updatedReplicas" in status):
        desired = spec.get("replicas", status.get("replicas", 0))
        parts.append(pods_line(status.get("updatedReplicas"), desired, status.get("readyReplicas")))
    elif kind == "DaemonSet":
        parts.append(pods_line(status.get("updatedNumberScheduled"), status.get("desiredNumberScheduled"),
                               status.get("numberReady")))
    elif kind == "Endpoints":
        subsets = [s for s in obj.get("subsets") or [] if isinstance(s, Mapping)]
        ready = sum(len(s.get("addresses") or []) for s in subsets)
        not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
        parts.append("%d ready addresses, %d not ready" % (ready, not_ready))
    elif kind == "Pod" and status.get("phase"):
        parts.append("phase %s" % clip(status.get("phase"), VALUE_LIMIT))
    if kind in ROLLOUT_KINDS + ("DaemonSet",) and _int(meta.get("generation")) > _int(status.get("observedGeneration")):
        parts.append("generation %d not observed yet" % _int(meta.get("generation")))
    if not parts:
        condition = _ready_condition(status)
        if condition:
            parts.append(condition)
        if "revision" in status:
            parts.append("revision %s" % clip(status.get("revision"), VALUE_LIMIT))
    if not parts and meta.get("name"):
        parts.append("%s/%s found" % (kind.lower() or "object", clip(meta.get("name"), VALUE_LIMIT)))
    return ", ".join(parts) or None


def _k8s_info_state(result):
    resources = [r for r in result.get("resources") or [] if isinstance(r, Mapping)]
    if not resources:
        return "not found"
    state = k8s_object_state(resources[0]) or "found"
    if len(resources) > 1:
        state += " (+%d more)" % (len(resources) - 1)
    return state


# ---------------------------------------------------------------- community.postgresql.postgresql_query
def _query_state(result):
    rows = result.get("query_result")
    if isinstance(rows, list) and rows and isinstance(rows[0], list):   # several queries: the last one's rows
        rows = rows[-1]
    if not rows:
        return "no rows"
    if not isinstance(rows, list):
        return None
    state = pairs(rows[0])
    if len(rows) > 1:
        state = "%s (%d rows)" % (state, len(rows))
    return state


# ---------------------------------------------------------------- ansible.builtin.uri
def _json_state(data):
    if isinstance(data, list):
        return "%d item%s" % (len(data), "" if len(data) == 1 else "s")
    if not isinstance(data, Mapping):
        return None
    parts = []
    if isinstance(data.get("status"), _TEXT + (int, float, bool)):
        parts.append("status=%s" % _value("status", data["status"]))
    inner = data.get("data")
    if isinstance(inner, Mapping) and isinstance(inner.get("result"), list):   # a Prometheus query
        series = inner["result"]
        if not series:
            parts.append("no series")
        else:
            first = series[0] if isinstance(series[0], Mapping) else {}
            value = first.get("value")
            if isinstance(value, list) and len(value) == 2:
                parts.append("value=%s" % clip(value[1], VALUE_LIMIT))
            if len(series) > 1:
                parts.append("%d series" % len(series))
    return ", ".join(parts) or None


def _uri_state(result):
    status = result.get("status")
    if _int(status) <= 0:
        state = "no response"
    else:
        state = "HTTP %d" % _int(status)
    extra = _json_state(result.get("json"))
    return "%s, %s" % (state, extra) if extra else state


def _is_uri(result, action):
    if action and action.rsplit(".", 1)[-1] == "uri":
        return True
    return isinstance(result.get("status"), int) and not isinstance(result.get("status"), bool) and (
        "url" in result or "redirected" in result or "elapsed" in result)


# ---------------------------------------------------------------- commands
def _command_state(result):
    stdout = result.get("stdout")
    lines = [line for line in (stdout if isinstance(stdout, _TEXT) else "").splitlines() if line.strip()]
    rc = result.get("rc")
    state = lines[-1] if lines else "no output"
    if rc not in (None, 0, "0"):
        state = "rc=%s, %s" % (clip(rc, 10), state)
    return state


def _progress_state(progress):
    if isinstance(progress, _TEXT):
        return progress.strip() or None
    if isinstance(progress, list) and progress:
        last = progress[-1]
        if isinstance(last, Mapping) and "replicas" in last and "updated" in last:
            # a rollout wait's sample (k8s_rollback, k8s_rollout_status): as k8s_info's Deployment reads
            return pods_line(last.get("updated"), last.get("replicas"), last.get("ready"))
        return pairs(last)
    if isinstance(progress, Mapping) and progress:
        return pairs(progress)
    return None


def poll_state(result, action=None, limit=LIMIT):
    """The state one poll's result shows, as one line of at most ``limit`` characters.

    ``action`` (the task's module, optional) settles a result that could be of more than one shape.
    None when the result is censored (no_log); "not yet" when nothing known is in it."""
    if not isinstance(result, Mapping):
        return NOT_YET
    if is_censored(result):
        return None
    state = None
    if result.get("progress") not in (None, "", [], {}):
        state = _progress_state(result["progress"])
    if state is None and isinstance(result.get("resources"), list):
        state = _k8s_info_state(result)
    if state is None and "query_result" in result:
        state = _query_state(result)
    if state is None and _is_uri(result, action):
        state = _uri_state(result)
    if state is None and "ansible_job_id" in result and result.get("finished") in (0, False, "0"):
        state = RUNNING      # async_status of a job still running: the time waited says the rest
    if state is None and ("stdout" in result or "rc" in result):
        state = _command_state(result)
    if state is None and result.get("failed") is True:
        state = NOT_YET + " (the poll failed)"
    return clip(state, limit) if state else NOT_YET
