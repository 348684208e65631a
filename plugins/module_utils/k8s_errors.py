# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one line a person needs from a kubernetes.core task's error message.

kubernetes.core puts the client's whole exception in ``msg``: the status code, the reason, every response
header and the Status object as JSON, then "raised while trying to ...". A report or a chat message wants
"403 Forbidden: secrets "x" is forbidden: User "y" cannot delete ...": this module cuts that out, and says
what a 403 asks of the operator.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

_CODE = re.compile(r"\b(\d{3})\b")
MAX_LEN = 400


def _status(msg):
    """The first Kubernetes Status object (a JSON object with a code or a message) in the message, or {}:
    after "HTTP response body:" (the client's exception) or "Failed to retrieve requested object:" (kubernetes.core)."""
    decoder = json.JSONDecoder()
    start = msg.find("{")
    while start != -1:
        try:
            found, _end = decoder.raw_decode(msg, start)
        except ValueError:
            found = None
        if isinstance(found, dict) and ("code" in found or "message" in found):
            return found
        start = msg.find("{", start + 1)
    return {}


def api_error(msg):
    """``{code, reason, message, line}`` of a kubernetes.core error message (code None when none is found):
    ``line`` is the one line to show, at most MAX_LEN characters."""
    msg = "" if msg is None else str(msg)
    status = _status(msg)
    code = status.get("code")
    if code is None:
        head = msg.strip().splitlines()[0] if msg.strip() else ""
        found = _CODE.search(head) if head.startswith("Exception '") or head.startswith("(") else None
        code = int(found.group(1)) if found else None
    code = int(code) if isinstance(code, (int, float)) or (isinstance(code, str) and code.isdigit()) else None
    reason = status.get("reason") or ""
    message = status.get("message") or ""
    if message:
        line = "%s%s: %s" % ("%s " % code if code else "", reason or "error", message)
    else:
        line = " ".join(msg.split())
    return {"code": code, "reason": reason, "message": message,
            "line": line if len(line) <= MAX_LEN else line[:MAX_LEN - 3] + "..."}


def forbidden_hint(what):
    """What a 403 on ``what`` asks of the operator."""
    return ("the identity running the procedure may not %s: grant it in the namespace's Role "
            "(extensions/kubernetes/rbac.yaml names each Secret it may touch)" % what)
