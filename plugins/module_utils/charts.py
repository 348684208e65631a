# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small charts of a Prometheus range query for reports: a text sparkline and a self-contained SVG.

A point is ``[epoch_seconds, value]`` (both floats), oldest first. A marker is a moment on the chart,
``{"at": epoch seconds or an RFC 3339 timestamp, "label": "rollout rev 5"}``. The SVG has no script and
no external reference, so it can be inlined in an HTML report or an e-mail.
"""

from __future__ import annotations

import datetime
import math
import re
import time
from collections.abc import Mapping
from xml.sax.saxutils import escape

from ansible_collections.clickview.runbook.plugins.module_utils.prometheus import sample_value

BLOCKS = "▁▂▃▄▅▆▇█"
# the lines of a chart with several series, in order: blue, orange, green
SERIES_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c")
SVG_NS = "http://www.w3.org/2000/svg"
# margins of the plot area inside the SVG: left (y labels), right, top (title), bottom (x labels)
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 30, 24
# steps tried for the time labels, in seconds: 1, 2, 5, 10, 15, 30 minutes, 1, 2, 3, 6, 12 hours, 1, 2, 7 days
TIME_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
# characters XML 1.0 does not allow, even escaped
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def matrix_points(response):
    """[[epoch_seconds, value], ...] of the first series of a /api/v1/query_range answer, oldest first.

    Samples that are no number (NaN, +Inf, -Inf, unparsable) are left out. [] for None, an empty or error
    answer, or an answer without a series."""
    if not isinstance(response, Mapping) or response.get("status", "success") != "success":
        return []
    data = response.get("data")
    result = data.get("result") if isinstance(data, Mapping) else None
    if not result or not isinstance(result, (list, tuple)) or not isinstance(result[0], Mapping):
        return []
    points = []
    for pair in result[0].get("values") or []:
        if not isinstance(pair, (list, tuple)) or len(pair) < 2:
            continue
        at, value = sample_value(pair[0]), sample_value(pair[1])
        if at is not None and value is not None:
            points.append([at, value])
    return sorted(points, key=lambda point: point[0])


def epoch_seconds(value):
    """A moment as epoch seconds: a number, a numeric string or an RFC 3339 / ISO 8601 timestamp
    ('2026-12-07T00:53:20Z'; without an offset it is UTC). None when it cannot be read."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        number = sample_value(text)
        if number is not None:
            return number
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return sample_value(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def chart_markers(markers, start, end):
    """The markers that can be read and fall within [start, end], each with ``at`` in epoch seconds,
    oldest first. [] when there are no points (start or end is None)."""
    if markers is None:
        return []
    if isinstance(markers, (str, bytes, Mapping)):
        raise TypeError("markers must be a list of {'at': ..., 'label': ...}, not %s" % type(markers).__name__)
    if start is None or end is None:
        return []
    kept = []
    for marker in markers:
        if not isinstance(marker, Mapping):
            continue
        at = epoch_seconds(marker.get("at"))
        if at is None or not start <= at <= end:
            continue
        # a marker's text is its label, or the step of a resolution step recorded in a report
        label = marker.get("label") if marker.get("label") is not None else marker.get("step")
        kept.append({"at": at, "label": "" if label is None else str(label)})
    return sorted(kept, key=lambda marker: marker["at"])


def _numbers(values, what):
    """values as a list of finite floats; ValueError naming the first one that is not."""
    if isinstance(values, (str, bytes, Mapping)):
        raise TypeError("%s must be a list of numbers, not %s" % (what, type(values).__name__))
    numbers = []
    for value in values or []:
        number = sample_value(value)
        if number is None:
            raise ValueError("%s must be finite numbers, got %r" % (what, value))
        numbers.append(number)
    return numbers


def sparkline(values, width=48, ceiling=None):
    """A line of the blocks ▁▂▃▄▅▆▇█, the lowest for 0 and the highest for max(values), or for ``ceiling``
    when it is larger.

    More values than ``width`` are put into ``width`` buckets of consecutive values, each drawn as its
    largest value, so a single spike still shows."""
    numbers = _numbers(values, "sparkline values")
    width = int(width)
    if width < 1:
        raise ValueError("sparkline width must be at least 1, got %d" % width)
    if not numbers:
        return ""
    count = len(numbers)
    if count > width:
        numbers = [max(numbers[index * count // width:(index + 1) * count // width]) for index in range(width)]
    top = max(numbers)
    if ceiling is not None:
        limit = sample_value(ceiling)
        if limit is None:
            raise ValueError("sparkline ceiling must be a finite number, got %r" % (ceiling,))
        top = max(top, limit)
    if top <= 0:
        return BLOCKS[0] * len(numbers)
    last = len(BLOCKS) - 1
    return "".join(BLOCKS[min(last, max(0, int(number / top * last + 0.5)))] for number in numbers)


def _text(value):
    """A text for SVG element content or an attribute: XML-escaped, quotes included."""
    return escape(_INVALID_XML.sub("", str(value)), {'"': "&quot;"})


def _figure(value):
    """A figure for a label: at most 3 significant digits, no trailing zeros (5, 0.25, 12.5)."""
    return "%g" % float("%.3g" % value)


def _label(value, unit):
    return "%s %s" % (_figure(value), unit) if unit else _figure(value)


def _grid_step(top):
    """The smallest 1, 2 or 5 times a power of ten above top / 3: 2 or 3 gridlines (0 included) fit up to top."""
    wanted = top / 3.0
    power = 10.0 ** math.floor(math.log10(wanted))
    for factor in (1, 2, 5, 10):
        if factor * power > wanted * (1 + 1e-9):
            return factor * power
    return 10 * power


def _time_ticks(first, last):
    """3 to 5 round moments (whole minutes, hours, days) within [first, last], or first, middle and last."""
    for step in TIME_STEPS:
        ticks = [step * index for index in range(int(math.ceil(first / step)), int(math.floor(last / step)) + 1)]
        if 3 <= len(ticks) <= 5:
            return ticks
    return [first, (first + last) / 2.0, last]


def _empty_svg(title, width):
    height = 60
    return ('<svg xmlns="%s" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">'
            '<title>%s</title>'
            '<rect width="%d" height="%d" fill="#ffffff"/>'
            '<text class="title" x="%d" y="18" font-size="13" font-weight="bold">%s</text>'
            '<text class="no-data" x="%d" y="42" fill="#666666">no data</text>'
            '</svg>') % (SVG_NS, width, height, width, height, _text(title), width, height, LEFT, _text(title), LEFT)


def svg_chart(points, title, unit="%", scale=100.0, threshold=None, markers=None, width=640, height=220):
    """A self-contained SVG line chart of points ([[epoch_seconds, value], ...], oldest first).

    The y axis runs from 0 to the highest value or ``threshold``, labelled in value * ``scale`` and ``unit``
    (0.05 -> '5 %'); the x axis has 3 to 5 UTC 'HH:MM' labels. The series is ``<polyline class="series">``
    with one vertex per point; ``threshold`` is a dashed ``<line class="threshold">``; each marker within
    the time range is a vertical ``<line class="marker">`` with its label. No points: a small SVG saying 'no data'."""
    return svg_chart_series([(None, points)], title, unit=unit, scale=scale, threshold=threshold, markers=markers,
                            width=width, height=height)


def svg_chart_series(series, title, unit="%", scale=100.0, threshold=None, markers=None, width=640, height=220):
    """svg_chart of several series on the same axes: ``series`` is ``[(name, points), ...]``, drawn in that order
    in the colours of SERIES_COLOURS, each a ``<polyline class="series" data-series="name">``; named series get a
    legend under the time axis. A series without points is left out of the plot (the legend says 'no data');
    none with points: the 'no data' SVG."""
    width, height, scale = int(width), int(height), float(scale)
    if width - LEFT - RIGHT < 40 or height - TOP - BOTTOM < 40:
        raise ValueError("svg_chart needs at least %dx%d pixels, got %dx%d"
                         % (LEFT + RIGHT + 40, TOP + BOTTOM + 40, width, height))
    if sample_value(scale) is None or scale <= 0:
        raise ValueError("svg_chart scale must be above 0, got %r" % scale)
    if len(series) > len(SERIES_COLOURS):
        raise ValueError("svg_chart draws at most %d series, got %d" % (len(SERIES_COLOURS), len(series)))
    series = [(name, [[float(at), float(value)] for at, value in points or []]) for name, points in series]
    everything = sorted(point for _name, points in series for point in points)
    if not everything:
        return _empty_svg(title, width)
    limit = None
    if threshold is not None:
        limit = sample_value(threshold)
        if limit is None:
            raise ValueError("svg_chart threshold must be a finite number, got %r" % (threshold,))

    legend = any(name is not None for name, _points in series)
    # a legend takes a row under the time labels
    left, right, top, bottom = LEFT, width - RIGHT, TOP, height - BOTTOM - (16 if legend else 0)
    start, end = everything[0][0], everything[-1][0]
    first, last = (start, end) if end > start else (start - 300, start + 300)
    ceiling = max([point[1] for point in everything] + ([limit] if limit is not None else []))
    if ceiling <= 0:
        ceiling = 1.0 / scale        # nothing above 0: an axis up to 1 unit

    def x_of(at):
        return left + (at - first) / (last - first) * (right - left)

    def y_of(value):
        return bottom - value / ceiling * (bottom - top)

    parts = ['<svg xmlns="%s" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">'
             % (SVG_NS, width, height, width, height),
             '<title>%s</title>' % _text(title),
             '<rect width="%d" height="%d" fill="#ffffff"/>' % (width, height),
             '<text class="title" x="%d" y="18" font-size="13" font-weight="bold">%s</text>' % (left, _text(title))]

    step = _grid_step(ceiling * scale)
    index = 0
    while index * step <= ceiling * scale * (1 + 1e-9):
        y = y_of(index * step / scale)
        parts.append('<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#dddddd"/>' % (left, y, right, y))
        parts.append('<text class="y-label" x="%d" y="%.1f" text-anchor="end" fill="#444444">%s</text>'
                     % (left - 6, y + 4, _text(_label(index * step, unit))))
        index += 1

    parts.append('<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888888"/>' % (left, bottom, right, bottom))
    for tick in _time_ticks(first, last):
        parts.append('<text class="x-label" x="%.1f" y="%d" text-anchor="middle" fill="#444444">%s</text>'
                     % (x_of(tick), bottom + 16, time.strftime("%H:%M", time.gmtime(tick))))

    if limit is not None:
        y = y_of(limit)
        parts.append('<line class="threshold" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d62728" stroke-dasharray="6 4"/>'
                     % (left, y, right, y))
        parts.append('<text class="threshold-label" x="%d" y="%.1f" text-anchor="end" fill="#d62728">threshold %s</text>'
                     % (right - 2, y - 4, _text(_label(limit * scale, unit))))

    for number, marker in enumerate(chart_markers(markers, start, end)):
        x = x_of(marker["at"])
        # labels of close markers are staggered over three rows; near the right edge they go left of the line
        anchor, shift = ("end", -3) if x > right - 120 else ("start", 3)
        parts.append('<line class="marker" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#7f7f7f"/>' % (x, top, x, bottom))
        parts.append('<text class="marker-label" x="%.1f" y="%d" text-anchor="%s" fill="#555555">%s</text>'
                     % (x + shift, top + 10 + 12 * (number % 3), anchor, _text(marker["label"])))

    for number, (name, points) in enumerate(series):
        colour = SERIES_COLOURS[number]
        named = '' if name is None else ' data-series="%s"' % _text(name)
        if name is not None:
            x, y = left + 150 * number, height - 6
            parts.append('<line class="legend" x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>'
                         % (x, y - 4, x + 16, y - 4, colour))
            parts.append('<text class="legend-label" x="%d" y="%d" fill="#444444">%s</text>'
                         % (x + 20, y, _text(name if points else '%s: no data' % name)))
        if not points:
            continue
        vertices = " ".join("%.1f,%.1f" % (x_of(at), y_of(value)) for at, value in points)
        parts.append('<polyline class="series"%s points="%s" fill="none" stroke="%s" stroke-width="1.5"/>'
                     % (named, vertices, colour))
        if len(points) == 1:
            parts.append('<circle class="point" cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>'
                         % (x_of(points[0][0]), y_of(points[0][1]), colour))
    parts.append("</svg>")
    return "\n".join(parts)


def series_chart(response, title, threshold=None, markers=None, unit="%", scale=100.0, width=48):
    """The points of a /api/v1/query_range answer with their sparkline and SVG chart.

    {'points', 'markers' (within the range, oldest first, ``at`` in epoch seconds), 'sparkline' (scaled up to
    ``threshold`` when it is above the peak), 'svg', 'peak', 'last', 'start', 'end'}; the last four are None
    without points."""
    if threshold is not None and sample_value(threshold) is None:
        raise ValueError("threshold must be a finite number, got %r" % (threshold,))
    points = matrix_points(response)
    values = [point[1] for point in points]
    start = points[0][0] if points else None
    end = points[-1][0] if points else None
    kept = chart_markers(markers, start, end)
    return {
        "points": points,
        "markers": kept,
        "sparkline": sparkline(values, width=width, ceiling=threshold),
        "svg": svg_chart(points, title, unit=unit, scale=scale, threshold=threshold, markers=kept),
        "peak": max(values) if values else None,
        "last": values[-1] if values else None,
        "start": start,
        "end": end,
    }


def compare_chart(responses, title, threshold=None, markers=None, unit="%", scale=100.0, width=48):
    """Several /api/v1/query_range answers (``responses``: a mapping of name to answer, in the order to draw them,
    such as canary then stable) on one SVG chart, with a sparkline each on a common scale, so the lines and the
    sparklines compare at a glance.

    {'series': {name: {'points', 'sparkline', 'peak', 'last'}}, 'svg', 'markers', 'start', 'end'}; 'start' and
    'end' span every series (None without points), a series without points has an empty sparkline and None for
    'peak' and 'last'."""
    if not isinstance(responses, Mapping) or not responses:
        raise ValueError("compare_chart needs a mapping of series name to range-query answer, got %r" % (responses,))
    if threshold is not None and sample_value(threshold) is None:
        raise ValueError("threshold must be a finite number, got %r" % (threshold,))
    named = [(str(name), matrix_points(response)) for name, response in responses.items()]
    everything = sorted(point for _name, points in named for point in points)
    values = [point[1] for point in everything]
    ceiling = max(values + ([sample_value(threshold)] if threshold is not None else [])) if values else threshold
    start = everything[0][0] if everything else None
    end = everything[-1][0] if everything else None
    kept = chart_markers(markers, start, end)
    return {
        "series": dict((name, {
            "points": points,
            "sparkline": sparkline([point[1] for point in points], width=width, ceiling=ceiling),
            "peak": max(point[1] for point in points) if points else None,
            "last": points[-1][1] if points else None,
        }) for name, points in named),
        "svg": svg_chart_series(named, title, unit=unit, scale=scale, threshold=threshold, markers=kept),
        "markers": kept,
        "start": start,
        "end": end,
    }
