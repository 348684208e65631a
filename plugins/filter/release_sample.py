# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One graded sample of a release's figures (canary analysis, post-deploy verification)."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status, worst_status
from ansible_collections.clickview.runbook.plugins.module_utils.release_checks import (
    FIGURES, http_ok, query_errors, query_values)

DOCUMENTATION = r"""
name: release_sample
author: ClickView Platform Team
version_added: 0.2.0
short_description: Grade one sample of a release's figures from the answers of Prometheus and a health URL
description:
  - Reads the looped M(ansible.builtin.uri) results of one instant query per figure (each item a C(key)/C(value) pair
    of the queries, as from C(dict2items)) and grades each figure with P(clickview.runbook.health_status#filter)
    against its thresholds.
  - A figure Prometheus cannot compute (no series, C(NaN) such as 0/0 without traffic, C(+Inf), C(-Inf)) has no value
    and is graded O(no_data) - C(WARN) for the post-deploy verification (not proven bad), C(FAIL) for a canary
    (not proven healthy).
  - A query Prometheus did not answer makes the sample C(FAIL) (nothing was verified) but is no evidence against
    the release; its message is in RV(_value.errors).
  - The evidence of a bad release (RV(_value.bad)) is every figure at or above its FAIL threshold and a health URL that
    did not answer 2xx.
options:
  _input:
    description: The C(results) of the looped uri task that queried Prometheus.
    type: list
    elements: dict
    required: true
  thresholds:
    description: Figure to C({warn, fail}), as C(deployment_verify_thresholds).
    type: dict
    required: true
  no_data:
    description: The grade of a figure without a value.
    type: str
    choices: [WARN, FAIL]
    default: WARN
  health:
    description:
      - The registered result of the uri task that asked the health URL. Skipped or omitted means no health URL.
      - A result without C(status) counts as status C(-1) (no answer).
    type: dict
  sample:
    description: The sample's number, copied into the result.
    type: int
  time:
    description: The sample's time, copied into the result.
    type: str
"""

EXAMPLES = r"""
- name: Grade the sample
  ansible.builtin.set_fact:
    samples: >-
      {{ samples + [query.results | clickview.runbook.release_sample(thresholds, health=health, sample=1,
                                                                     time=now(utc=true).strftime('%H:%M:%S'))] }}
"""

RETURN = r"""
_value:
  description: The graded sample.
  type: dict
  contains:
    sample:
      description: The sample's number.
      type: int
    time:
      description: The sample's time.
      type: str
    health_status:
      description: The health URL's HTTP status (C(-1) without an answer), or V(None) without a health URL.
      type: int
    error_ratio:
      description: The error ratio, or V(None) without data.
      type: float
    latency_p95_seconds:
      description: The P95 latency in seconds, or V(None) without data.
      type: float
    status:
      description: C(OK), C(WARN) or C(FAIL), the worst grade of the sample.
      type: str
    bad:
      description: The evidence of a bad release, such as C(error_ratio 0.3 >= 0.05) or C(health URL answered 503).
      type: list
      elements: str
    errors:
      description: The message of each query Prometheus did not answer.
      type: list
      elements: str
"""


def _health_code(health):
    if not health or health.get("skipped"):
        return None
    return health.get("status", -1)


def release_sample(results, thresholds, no_data="WARN", health=None, sample=None, time=None):
    """The graded sample (see DOCUMENTATION)."""
    values = query_values(results)
    errors = query_errors(results)
    code = _health_code(health)
    statuses, bad = [], []
    for key, limits in (thresholds or {}).items():
        value = values.get(key)
        grade = no_data if value is None else health_status(value, limits)
        statuses.append(grade)
        if value is not None and grade == "FAIL":
            bad.append("%s %s >= %s" % (key, value, limits.get("fail")))
    if code is not None and not http_ok(code):
        bad.append("health URL answered %s" % code)
    if errors or bad:
        statuses.append("FAIL")
    out = {"sample": sample, "time": time, "health_status": code}
    out.update((key, values.get(key)) for key in FIGURES)
    out.update({"status": worst_status(statuses), "bad": bad, "errors": errors})
    return out


class FilterModule:
    """Release analysis filters."""

    def filters(self):
        return {"release_sample": release_sample}
