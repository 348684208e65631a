# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Did a spike of a ratio begin after the latest rollout? From a Prometheus range query and the rollout time."""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.clickview.runbook.plugins.module_utils.prometheus import duration_seconds, range_samples

DOCUMENTATION = r"""
name: rollout_correlation
author: ClickView Platform Team
version_added: 0.2.0
short_description: Whether a spike in a Prometheus range began after the latest rollout, and why (not)
description:
  - Finds the spike in the samples of a Prometheus range query (the first series) - the run of samples at or
    above O(threshold) that reaches the last sample - and compares its start with the time of the latest rollout.
  - C(NaN), C(+Inf) and C(-Inf) samples (no requests in the rate window) are not at or above the threshold; they end
    the run like a sample below it.
  - The spike is deployment-related when the ratio is above the threshold at the last sample, the run does not reach
    back to the first sample of the range (then it was above for the whole lookback and began at an unknown time),
    the rollout time is known, and the run began no earlier than one O(step) before the rollout and at most
    O(window) seconds after it.
  - The tolerance of one step - and no more - is there because the range samples are taken at step boundaries and the
    rollout time has one-second precision, so a spike that starts just after the rollout can be stamped up to one step
    earlier.
  - The result says why in words (C(reason)), for a report and for a skipped rollback.
options:
  _input:
    description:
      - The answer of C(/api/v1/query_range) (the C(json) of M(ansible.builtin.uri)), its C(data.result) list, or the
        list of C([timestamp, value]) pairs. An empty or failed answer is no samples.
    type: raw
    required: true
  rollout:
    description:
      - When the latest rollout happened - the creation time of the running revision, as
        C(2025-01-31T12:00:00Z) or seconds since the epoch. Empty or V(None) when unknown.
    type: raw
  threshold:
    description:
      - The threshold a sample must reach to be part of the spike (the WARN threshold), as a fraction (V(0.05) is 5 %).
      - May be a dictionary with key C(warn), as in the roles' threshold settings.
    type: raw
    required: true
  window:
    description: The spike must begin at most this many seconds after the rollout.
    type: float
    default: 3600
  step:
    description:
      - The step of the range query (C(15s), C(1m) or seconds); the spike may be stamped up to one step before the rollout.
      - V(0) or empty for no tolerance.
    type: raw
    default: 0
  label:
    description: What the ratio is, for the texts.
    type: str
    default: ratio
"""

EXAMPLES = r"""
- name: Did the error ratio rise after the latest rollout?
  ansible.builtin.set_fact:
    spike: >-
      {{ error_range.json | clickview.runbook.rollout_correlation(rollout=current.created, threshold=0.05,
         window=3600, step='15s', label='error ratio') }}
    # spike.deployment_related: true
    # spike.summary: error ratio above 5.0 % since 2025-01-31 12:01:15 UTC, 75 s after the rollout
    # spike.reason: the error ratio crossed 5.0 % at 2025-01-31 12:01:15 UTC, 75 s after the rollout at ...
"""

RETURN = r"""
_value:
  description: The spike and its relation to the rollout.
  type: dict
  contains:
    above_now:
      description: Whether the last sample is at or above the threshold.
      type: bool
    since:
      description: Timestamp (seconds since the epoch) of the first sample of the spike; V(None) when not above now.
      type: float
    since_range_start:
      description: Whether the spike reaches back to the first sample (above for the whole lookback).
      type: bool
    samples:
      description: Number of samples read.
      type: int
    range_start:
      description: Timestamp of the first sample; V(None) without samples.
      type: float
    rollout_at:
      description: The rollout time in seconds since the epoch; V(None) when unknown.
      type: float
    offset:
      description: Seconds from the rollout to the start of the spike (negative when before); V(None) when either is unknown.
      type: float
    deployment_related:
      description: Whether the spike began after the rollout, by the rule above.
      type: bool
    summary:
      description: >-
        One line for a report, e.g. C(error ratio below 5.0 % now),
        C(error ratio above 5.0 % since 2025-01-31 12:01:15 UTC, 75 s after the rollout),
        C(error ratio above 5.0 % since before 2025-01-31 11:50:00 UTC (the whole lookback)).
      type: str
    reason:
      description: Why the spike is or is not deployment-related, with the times compared.
      type: str
"""

_FMT = "%Y-%m-%d %H:%M:%S UTC"


def _utc(epoch):
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime(_FMT)


def rollout_epoch(value):
    """A rollout time (ISO 8601 with Z or an offset, or seconds since the epoch) -> seconds since the epoch, or None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _pct(fraction):
    return "%s %%" % round(float(fraction) * 100, 1)


def find_spike(samples, threshold):
    """(above_now, since, since_range_start) of the run of samples at or above threshold that reaches the last one."""
    since, broken = None, False
    above_now = bool(samples) and samples[-1][1] is not None and samples[-1][1] >= threshold
    if above_now:
        for stamp, value in reversed(samples):
            if value is None or value < threshold:
                broken = True
                break
            since = stamp
    return above_now, since, above_now and not broken


def rollout_correlation(response, rollout=None, threshold=None, window=3600, step=0, label="ratio"):
    """The spike of the ratio at or above threshold and whether it began after the rollout (see DOCUMENTATION)."""
    if isinstance(threshold, dict):
        threshold = threshold.get("warn")
    if threshold is None:
        raise ValueError("rollout_correlation: threshold is required")
    threshold = float(threshold)
    window = float(window)
    tolerance = duration_seconds(step, default=0.0)
    samples = range_samples(response)
    above_now, since, whole = find_spike(samples, threshold)
    rollout_at = rollout_epoch(rollout)
    out = {"above_now": above_now, "since": since, "since_range_start": whole, "samples": len(samples),
           "range_start": samples[0][0] if samples else None, "rollout_at": rollout_at, "offset": None,
           "deployment_related": False}
    limit = _pct(threshold)
    if not samples:
        out["summary"] = "%s below %s now" % (label, limit)
        out["reason"] = "the range query returned no samples of the %s" % label
        return out
    if not above_now:
        last_stamp, last_value = samples[-1]
        out["summary"] = "%s below %s now" % (label, limit)
        out["reason"] = "the %s was %s at the last sample (%s), below %s" % (
            label, "no number" if last_value is None else _pct(last_value), _utc(last_stamp), limit)
        return out
    if whole:
        out["summary"] = "%s above %s since before %s (the whole lookback)" % (label, limit, _utc(samples[0][0]))
        out["reason"] = ("the %s was above %s for the whole lookback (since before %s): when it began is unknown"
                         % (label, limit, _utc(samples[0][0])))
        return out
    crossed = "the %s crossed %s at %s" % (label, limit, _utc(since))
    if rollout_at is None:
        out["summary"] = "%s above %s since %s, rollout time unknown" % (label, limit, _utc(since))
        out["reason"] = "%s; the rollout time is unknown (%s)" % (
            crossed, "no creation time of the running revision in the rollout history" if not rollout else "unreadable: %r" % (rollout,))
        return out
    offset = since - rollout_at
    out["offset"] = offset
    seconds = int(round(abs(offset)))
    relation = "%d s %s the rollout" % (seconds, "after" if offset >= 0 else "before")
    out["summary"] = "%s above %s since %s, %s" % (label, limit, _utc(since), relation)
    at_rollout = "%s, %s at %s" % (crossed, relation, _utc(rollout_at))
    if offset < -tolerance:
        out["reason"] = "%s%s" % (at_rollout, (" (more than one %g s step before it)" % tolerance) if tolerance else "")
    elif offset > window:
        out["reason"] = "%s, more than the %g s the correlation allows" % (at_rollout, window)
    else:
        out["deployment_related"] = True
        out["reason"] = at_rollout + (" (within one %g s step of it)" % tolerance if offset < 0 else "")
    return out


class FilterModule:
    """Rollout correlation filter."""

    def filters(self):
        return {"rollout_correlation": rollout_correlation}
