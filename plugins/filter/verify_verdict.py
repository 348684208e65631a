# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verdict of a post-deploy verification: report rows, failed or not, and the evidence for a rollback."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.release_checks import (
    FIGURES, figure_values, http_ok, row_value, shown, threshold_text)

DOCUMENTATION = r"""
name: verify_verdict
author: ClickView Platform Team
version_added: 0.2.0
short_description: Decide a post-deploy verification from its samples
description:
  - Takes the samples graded by P(clickview.runbook.release_sample#filter) and decides.
  - One report row per figure (C(verify.error_ratio), C(verify.latency_p95_seconds)) graded on the worst value of
    all samples; a figure without data in every sample is C(WARN) (not proven bad).
  - With a health URL, a C(verify.health) row, C(FAIL) when any answer was not 2xx.
  - When Prometheus did not answer, a C(verify.prometheus) row, C(FAIL) - nothing was verified, nothing is rolled back.
  - No rows at all when no sample was taken (the rollout or the image check failed first).
  - The verification failed when the image is not the deployed one, the rollout did not complete, or a sample is C(FAIL).
  - The evidence of a bad deploy (what justifies a rollback) is the rollout message when the rollout of the deployed image
    did not complete, then the evidence of every sample. A Deployment not running the deployed image has no evidence
    against the deploy (the deploy is not what runs); Prometheus not answering is no evidence either.
options:
  _input:
    description: The graded samples, oldest first.
    type: list
    elements: dict
    required: true
  thresholds:
    description: Figure to C({warn, fail}), as C(deployment_verify_thresholds).
    type: dict
    required: true
  selector:
    description: The PromQL selector of the deployment's traffic, the target of the figure rows.
    type: str
    default: ''
  window:
    description: The rate window of the queries, for the threshold text.
    type: str
    default: ''
  health_url:
    description: The health URL; empty for none.
    type: str
    default: ''
  prometheus_url:
    description: The Prometheus URL, the target of the C(verify.prometheus) row.
    type: str
    default: ''
  image_ok:
    description: Whether the Deployment runs the deployed image (or none was given).
    type: bool
    default: true
  rollout_ok:
    description: Whether the rollout is complete.
    type: bool
    default: true
  rollout_message:
    description: How the rollout ended, as evidence when it did not complete.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Decide
  ansible.builtin.set_fact:
    verdict: >-
      {{ samples | clickview.runbook.verify_verdict(thresholds, selector='job="backend"', window='1m',
                                                    rollout_ok=rollout.state == 'complete', rollout_message=rollout.message) }}
"""

RETURN = r"""
_value:
  description: The verdict.
  type: dict
  contains:
    rows:
      description: Report checks (C(check), C(target), C(status), C(figure), C(threshold), C(detail), C(value),
        C(unit)); the value of C(verify.error_ratio) is the worst error ratio as a percent number (unit C(%)), of
        C(verify.latency_p95_seconds) the worst P95 in seconds (unit C(s)), null without data and for the other rows.
      type: list
      elements: dict
    failed:
      description: Whether the verification failed.
      type: bool
    evidence:
      description: The evidence of a bad deploy; empty when there is no reason to roll back.
      type: list
      elements: str
"""


def _figure_row(samples, key, limits, selector, window):
    worst, _missing, last = figure_values(samples, key)
    value, unit = row_value(key, worst)
    return check_row("verify." + key, selector, health_status(worst, limits) if worst is not None else "WARN",
                     "worst of %d sample(s): %s, last: %s" % (len(samples), shown(worst), shown(last)),
                     threshold_text(limits, window), value=value, unit=unit)


def _rows(samples, thresholds, selector, window, health_url, prometheus_url):
    if not samples:
        return []
    rows = [_figure_row(samples, key, thresholds.get(key) or {}, selector, window) for key in FIGURES]
    if health_url:
        codes = [sample.get("health_status") for sample in samples if sample.get("health_status") is not None]
        rows.append(check_row("verify.health", health_url, "OK" if all(http_ok(code) for code in codes) else "FAIL",
                              "%d answer(s): %s" % (len(codes), ", ".join(str(code) for code in codes)),
                              "every answer 2xx"))
    errors = [error for sample in samples for error in sample.get("errors") or []]
    if errors:
        rows.append(check_row("verify.prometheus", prometheus_url, "FAIL",
                              "Prometheus did not answer: nothing was verified, nothing rolled back",
                              "Prometheus answers", list(dict.fromkeys(errors))))
    return rows


def verify_verdict(samples, thresholds, selector="", window="", health_url="", prometheus_url="",
                   image_ok=True, rollout_ok=True, rollout_message=""):
    """{'rows', 'failed', 'evidence'} (see DOCUMENTATION)."""
    samples = samples or []
    failed = not image_ok or not rollout_ok or any(sample.get("status") == "FAIL" for sample in samples)
    evidence = [] if rollout_ok or not image_ok else [rollout_message]
    evidence += [item for sample in samples for item in sample.get("bad") or []]
    return {"rows": _rows(samples, thresholds or {}, selector, window, health_url, prometheus_url),
            "failed": failed, "evidence": evidence}


class FilterModule:
    """Release analysis filters."""

    def filters(self):
        return {"verify_verdict": verify_verdict}
