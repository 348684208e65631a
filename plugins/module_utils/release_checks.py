# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grading the figures of a release (canary analysis, post-deploy verification).

A release is watched in samples: each sample asks Prometheus one instant query per figure
(error ratio, P95 latency, ...) and, for the post-deploy verification, a health URL. These
helpers read the answers (values arrive as strings; ``NaN``/``+Inf`` are no figure) and
summarise a figure over the samples for a report row.
"""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.prometheus import instant_value

# the figures every release analysis samples and reports (the queries may hold more)
FIGURES = ("error_ratio", "latency_p95_seconds")
OK_HTTP = (200, 300)


def fill_queries(queries, selector, window):
    """{key: PromQL} with $selector and $window filled in."""
    return dict((key, str(query).replace("$selector", str(selector)).replace("$window", str(window)).strip())
                for key, query in (queries or {}).items())


def _key(result):
    item = result.get("item") or {}
    return item.get("key") if isinstance(item, dict) else item


def answered(result):
    """Whether one uri result of a Prometheus query is an HTTP 200 answer."""
    return result.get("status", 0) == 200


def query_values(results):
    """{figure: float rounded to 6 places, or None} from the looped uri results of the queries.

    A failed answer, no series, NaN, +Inf and -Inf are None: no figure."""
    out = {}
    for result in results or []:
        value = instant_value(result.get("json") or {}) if answered(result) else None
        out[_key(result)] = round(value, 6) if value is not None else None
    return out


def query_errors(results):
    """The message of each query Prometheus did not answer with HTTP 200."""
    return [result.get("msg", "") for result in results or [] if not answered(result)]


def http_ok(status):
    """Whether an HTTP status is 2xx."""
    try:
        return OK_HTTP[0] <= int(status) < OK_HTTP[1]
    except (TypeError, ValueError):
        return False


def figure_values(samples, key):
    """(worst value or None, number of samples without the figure, last sample's value or None)."""
    values = [sample.get(key) for sample in samples or []]
    present = [value for value in values if value is not None]
    return (max(present) if present else None, len(values) - len(present), values[-1] if values else None)


def row_value(key, value):
    """(number, unit) of a figure for a report row's value and unit: the error ratio as a percent number (0.0123 is
    1.23 %), the P95 latency in seconds; (None, None) without a value."""
    if value is None:
        return None, None
    if key == "error_ratio":
        return round(value * 100, 4), "%"
    return value, "s"


def shown(value):
    """A figure as the reports print it: rounded to 4 places, or 'no data'."""
    return "no data" if value is None else str(round(value, 4))


def threshold_text(limits, window):
    """'warn ≥ 0.02, fail ≥ 0.05 (query over 1m)'."""
    return "warn \u2265 %s, fail \u2265 %s (query over %s)" % (limits.get("warn", "-"), limits.get("fail"), window)
