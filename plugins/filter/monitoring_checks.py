# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily health check's monitoring checks: Prometheus targets, error ratio, P95, alerts firing and fired."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.health_status import health_status
from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row
from ansible_collections.clickview.runbook.plugins.module_utils.prometheus import instant_value, series, unanswered

DOCUMENTATION = r"""
name: monitoring_checks
author: ClickView Platform Team
version_added: 0.1.0
short_description: Grade the health check's Prometheus and Alertmanager answers
description:
  - Takes the registered M(ansible.builtin.uri) results of the health check's monitoring reads and returns its five
    checks, each C({check, target, status, figure, threshold, detail, value, unit}).
  - C(prometheus.targets) is C(FAIL) when Prometheus did not answer 200 (the detail says why, for example a 401 from an
    authenticating proxy) or a scrape target is down.
  - C(app.error_ratio) and C(app.latency_p95) are graded against O(thresholds) (C(error_ratio) and
    C(latency_p95_seconds), each C({warn, fail})); a figure Prometheus did not give (no answer, no series, C(NaN)) is
    C(FAIL) with the reason.
  - C(alerts.firing) is C(FAIL) when Alertmanager did not answer or a P1 (or C(critical)) alert fires, C(WARN) when
    another fires.
  - C(alerts.overnight) lists the alerts that fired in the look-back (informational), C(FAIL) when unread.
  - An answer that is not the API's (an error page, a JSON error body) never breaks the check; it reads as no answer.
options:
  _input:
    description: The registered result of C(GET /api/v1/targets?state=active).
    type: dict
    required: true
  queries:
    description: The registered loop result of the instant queries C(error_ratio), C(latency_p95) and C(fired).
    type: dict
    required: true
  alerts:
    description: The registered result of Alertmanager's C(GET /api/v2/alerts?active=true).
    type: dict
    required: true
  thresholds:
    description: C(error_ratio) and C(latency_p95_seconds), each C({warn, fail}), as C(on_call_thresholds).
    type: dict
    required: true
  prometheus_url:
    description: Prometheus' URL, the target of the checks.
    type: str
    default: ''
  alertmanager_url:
    description: Alertmanager's URL.
    type: str
    default: ''
  rate_window:
    description: The rate window of the queries, for the targets' text.
    type: str
    default: 5m
  lookback:
    description: The look-back of the C(fired) query, for the text.
    type: str
    default: 8h
"""

EXAMPLES = r"""
- name: Record the monitoring checks
  ansible.builtin.set_fact:
    on_call_checks: >-
      {{ on_call_checks + (on_call_prom_targets | clickview.runbook.monitoring_checks(
           queries=on_call_prom_queries, alerts=on_call_am_alerts, thresholds=on_call_thresholds,
           prometheus_url=clickview_prometheus_url, alertmanager_url=clickview_alertmanager_url)) }}
"""

RETURN = r"""
_value:
  description: The checks C(prometheus.targets), C(app.error_ratio), C(app.latency_p95), C(alerts.firing) and
    C(alerts.overnight).
  type: list
  elements: dict
  contains:
    value:
      description: The figure's number - the targets up, the error ratio as a percent number, the P95 in
        milliseconds, the alerts firing or fired - or null when there is none (no answer, no data).
      type: raw
    unit:
      description: C(count), C(%), C(ms) or null.
      type: str
"""

P1 = ("P1", "critical")


def answered(result):
    """Whether a registered uri result is an HTTP 200 answer."""
    return (result or {}).get("status") == 200


def query_results(queries):
    """{name: registered item result} of the looped instant queries."""
    results = (queries or {}).get("results") if isinstance(queries, dict) else queries
    return dict(((r.get("item") or {}).get("key"), r) for r in results or [] if isinstance(r, dict))


def figure_check(check, target, value, result, limits, measure, threshold):
    """The check of one Prometheus figure; measure(value) is (number, unit) as the figure shows it."""
    number, unit = measure(value) if value is not None else (None, None)
    if value is None:
        figure = "no data" if answered(result) else "unknown"
        detail = "no series (no requests in the window?)" if answered(result) else unanswered("Prometheus", result)
    else:
        figure, detail = "%s %s" % (number, unit), ""
    return check_row(check, target, health_status(value, limits), figure, threshold, detail, value=number, unit=unit)


def targets_check(targets, url):
    if not answered(targets) or not isinstance(targets.get("json"), dict):
        return check_row("prometheus.targets", url, "FAIL", "Prometheus unreachable", "every target up",
                         unanswered("Prometheus", targets))
    active = ((targets["json"].get("data") or {}).get("activeTargets")) or []
    down = [t.get("scrapeUrl") for t in active if t.get("health") != "up"]
    up = len(active) - len(down)
    return check_row("prometheus.targets", url, "FAIL" if down else "OK", "%d of %d targets up" % (up, len(active)),
                     "every target up", ("down: " + ", ".join(str(d) for d in down)) if down else "",
                     value=up, unit="count")


def firing_check(alerts, url):
    body = (alerts or {}).get("json")
    if not answered(alerts) or not isinstance(body, list):
        return check_row("alerts.firing", url, "FAIL", "Alertmanager unreachable", "none firing (P1 firing is FAIL)",
                         unanswered("Alertmanager", alerts))
    labels = [a.get("labels") or {} for a in body if isinstance(a, dict)]
    names = sorted(set(str(lab.get("alertname")) for lab in labels))
    p1 = [lab for lab in labels if lab.get("severity") in P1]
    return check_row("alerts.firing", url, "FAIL" if p1 else ("WARN" if names else "OK"),
                     "%d firing%s" % (len(names), (": " + ", ".join(names)) if names else ""),
                     "none firing (P1 firing is FAIL)", labels, value=len(names), unit="count")


def fired_check(result, lookback):
    target = "ALERTS in Prometheus, last %s" % lookback
    if not answered(result):
        return check_row("alerts.overnight", target, "FAIL", "no data", "for review (informational)",
                         unanswered("Prometheus", result))
    names = sorted(set(str((s.get("metric") or {}).get("alertname")) for s in series(result.get("json"))
                       if isinstance(s, dict)))
    return check_row("alerts.overnight", target, "OK", "%d fired%s" % (len(names), (": " + ", ".join(names)) if names else ""),
                     "for review (informational)", value=len(names), unit="count")


def monitoring_checks(targets, queries=None, alerts=None, thresholds=None, prometheus_url="", alertmanager_url="",
                      rate_window="5m", lookback="8h"):
    """The five monitoring checks of the health check (see DOCUMENTATION)."""
    thresholds = thresholds or {}
    found = query_results(queries)
    ratio_result, p95_result = found.get("error_ratio") or {}, found.get("latency_p95") or {}
    ratio = instant_value(ratio_result.get("json")) if answered(ratio_result) else None
    p95 = instant_value(p95_result.get("json")) if answered(p95_result) else None
    ratio_t, p95_t = thresholds.get("error_ratio") or {}, thresholds.get("latency_p95_seconds") or {}
    return [
        targets_check(targets or {}, prometheus_url),
        figure_check("app.error_ratio", "5xx / all requests, rate over %s" % rate_window, ratio, ratio_result, ratio_t,
                     lambda v: (round(v * 100, 2), "%"),
                     "warn >= %s %%, fail >= %s %%" % (round(ratio_t.get("warn", 0) * 100, 1), round(ratio_t.get("fail", 0) * 100, 1))),
        figure_check("app.latency_p95", "P95 request duration over %s" % rate_window, p95, p95_result, p95_t,
                     lambda v: (int(round(v * 1000)), "ms"),
                     "warn >= %d ms, fail >= %d ms" % (p95_t.get("warn", 0) * 1000, p95_t.get("fail", 0) * 1000)),
        firing_check(alerts or {}, alertmanager_url),
        fired_check(found.get("fired") or {}, lookback),
    ]


class FilterModule:
    """Health check monitoring filters."""

    def filters(self):
        return {"monitoring_checks": monitoring_checks}
