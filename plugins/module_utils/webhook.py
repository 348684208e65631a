# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Deliver one message to a webhook (chat, PagerDuty Events API, status page) with retries.

Nothing here needs AnsibleModule: ``deliver`` takes a ``send`` callable that does one HTTP attempt and
returns ``(status, headers, body_text, error)`` (status None when no answer came), so the retry decisions
are tested with a fake. A webhook URL carries its token in its path; nothing returned here contains it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import re
import time

RETRY_STATUSES = (408, 425, 429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 60.0
# the path, query and fragment of any URL in an error text (a webhook's token is in its path)
_URL_PATH = re.compile(r"""(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/?#'"<>]+)[/?#][^\s'"<>]*""")


def redact(text, url=None):
    """``text`` without the path of any URL in it, and without ``url`` itself."""
    text = "" if text is None else str(text)
    if url:
        text = text.replace(url, "<webhook>")
    return _URL_PATH.sub(lambda m: m.group("head") + "/<hidden>", text)


def retry_after(headers, now=None):
    """Seconds asked for by a Retry-After header (a number of seconds; an HTTP date is not parsed), or None."""
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, min(float(value), MAX_RETRY_AFTER))
            except (TypeError, ValueError):
                return None
    return None


def backoff_delay(attempt, base, cap, rng=random.random):
    """Full-jitter exponential backoff: a random delay up to min(cap, base * 2**attempt)."""
    return rng() * min(cap, base * (2 ** attempt))


def should_retry(status, error):
    """Retry when no answer came (connection refused, timeout) or the answer is throttling or a server error."""
    if status is None:
        return error is not None
    return status in RETRY_STATUSES


def deliver(send, retries=3, backoff=1.0, max_backoff=30.0, success=(200, 201, 202, 204),
            sleep=time.sleep, rng=random.random, url=None):
    """Send until delivered, a non-retryable answer, or ``retries`` retries are spent.

    Returns a dict: delivered, status (last HTTP status or None), attempts, error (redacted, None when
    delivered), body (last answer's text), waits (seconds slept before each retry)."""
    waits = []
    attempts = 0
    while True:
        attempts += 1
        status, headers, body, error = send()
        if status in success:
            return dict(delivered=True, status=status, attempts=attempts, error=None, body=body, waits=waits)
        if attempts > retries or not should_retry(status, error):
            if status is None:
                why = "no answer: %s" % redact(error, url)
            else:
                why = "HTTP %s%s" % (status, (": " + redact(error, url)) if error else "")
            return dict(delivered=False, status=status, attempts=attempts, error=why, body=body, waits=waits)
        asked = retry_after(headers) if status in (429, 503) else None
        delay = asked if asked is not None else backoff_delay(attempts - 1, backoff, max_backoff, rng)
        waits.append(round(delay, 3))
        sleep(delay)
