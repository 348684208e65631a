"""plugins/filter/series_chart.py, plugins/filter/sparkline.py and module_utils/charts.py: a range query's
points, its sparkline and its SVG chart, markers and escaping included."""
import xml.etree.ElementTree as ET

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.compare_chart import compare_chart as compare_chart_filter
from ansible_collections.clickview.runbook.plugins.filter.series_chart import series_chart as series_chart_filter
from ansible_collections.clickview.runbook.plugins.filter.sparkline import sparkline as sparkline_filter
from ansible_collections.clickview.runbook.plugins.module_utils.charts import (
    BLOCKS, compare_chart, epoch_seconds, matrix_points, series_chart, sparkline, svg_chart, svg_chart_series)

NS = {"svg": "http://www.w3.org/2000/svg"}
START = 1796604000          # 2026-12-07T00:40:00Z


def answer(values):
    return {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}}


def ramp():
    """0.0 at START, then 0.01 more each minute for 10 minutes, 0.1 at the end."""
    return [[START + 60 * index, str(0.01 * index)] for index in range(11)]


def parse(svg):
    return ET.fromstring(svg)


def vertices(root):
    text = root.find("svg:polyline[@class='series']", NS).get("points")
    return [tuple(float(number) for number in vertex.split(",")) for vertex in text.split()]


# matrix_points

def test_matrix_points_are_floats_oldest_first():
    assert matrix_points(answer([[START, "0.01"], [START + 60, "0.25"]])) == [[START, 0.01], [START + 60, 0.25]]


def test_matrix_points_skip_what_is_no_number():
    values = [[START, "0.01"], [START + 60, "NaN"], [START + 120, "+Inf"], [START + 180, "-Inf"],
              [START + 240, "x"], [START + 300, None], [START + 360, "0.02"], ["soon", "0.5"], [START + 420]]
    assert matrix_points(answer(values)) == [[START, 0.01], [START + 360, 0.02]]


@pytest.mark.parametrize("response", [
    None, {}, [],
    {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"},
    {"status": "error", "data": {"result": [{"metric": {}, "values": [[START, "1"]]}]}},
    {"status": "success", "data": {"resultType": "matrix", "result": []}},
    {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [START, "1"]}]}},
])
def test_matrix_points_of_no_series_are_empty(response):
    assert matrix_points(response) == []


def test_only_the_first_series_is_read():
    response = answer([[START, "0.1"]])
    response["data"]["result"].append({"metric": {"pod": "b"}, "values": [[START, "0.9"]]})
    assert matrix_points(response) == [[START, 0.1]]


# sparkline

def test_sparkline_scales_from_zero_to_the_peak():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == BLOCKS
    assert sparkline([0, 0.01, 0.02, 0.08, 0.03, 0]) == "▁▂▃█▄▁"


def test_sparkline_of_nothing_and_of_zeros():
    assert sparkline([]) == ""
    assert sparkline([0, 0, 0]) == "▁▁▁"


def test_a_single_spike_among_500_zeros_survives_bucketing():
    values = [0.0] * 500
    values[317] = 0.4
    line = sparkline(values, width=48)
    assert len(line) == 48
    assert line.count("█") == 1
    assert set(line) == {"▁", "█"}
    assert line.index("█") == 317 * 48 // 500


@pytest.mark.parametrize("count,width,expected", [(500, 48, 48), (49, 48, 48), (48, 48, 48), (10, 48, 10), (500, 1, 1)])
def test_sparkline_width_is_respected(count, width, expected):
    assert len(sparkline([index % 7 for index in range(count)], width=width)) == expected


def test_sparkline_ceiling_above_the_peak_keeps_values_low():
    assert sparkline([0.01, 0.02], ceiling=0.07) == "▂▃"
    assert sparkline([0.035], ceiling=0.07) == "▅"
    assert sparkline([0.07], ceiling=0.07) == "█"


def test_sparkline_ceiling_below_the_peak_changes_nothing():
    assert sparkline([1, 2, 4], ceiling=0.5) == sparkline([1, 2, 4])


def test_sparkline_filter_refuses_what_is_no_number():
    with pytest.raises(AnsibleFilterError, match="sparkline: .*'abc'"):
        sparkline_filter([1, "abc"])
    with pytest.raises(AnsibleFilterError, match="sparkline: .*width"):
        sparkline_filter([1], width=0)
    assert sparkline_filter(["0", "1"]) == "▁█"


# svg_chart

def test_svg_is_self_contained_and_has_one_vertex_per_point():
    points = matrix_points(answer(ramp()))
    svg = svg_chart(points, "Error ratio")
    root = parse(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<script" not in svg and "href" not in svg
    assert len(vertices(root)) == len(points)
    assert root.find("svg:text[@class='title']", NS).text == "Error ratio"


def test_higher_value_is_higher_on_the_chart():
    ys = [vertex[1] for vertex in vertices(parse(svg_chart(matrix_points(answer(ramp())), "Error ratio")))]
    assert all(later < earlier for earlier, later in zip(ys, ys[1:]))      # SVG y grows downward
    xs = [vertex[0] for vertex in vertices(parse(svg_chart(matrix_points(answer(ramp())), "Error ratio")))]
    assert all(later > earlier for earlier, later in zip(xs, xs[1:]))


def test_axis_labels_are_scaled_with_the_unit():
    root = parse(svg_chart(matrix_points(answer(ramp())), "Error ratio"))
    y_labels = [text.text for text in root.findall("svg:text[@class='y-label']", NS)]
    assert 2 <= len(y_labels) <= 3
    assert y_labels[0] == "0 %"
    assert "5 %" in y_labels
    x_labels = [text.text for text in root.findall("svg:text[@class='x-label']", NS)]
    assert 3 <= len(x_labels) <= 5
    assert x_labels[0] == "00:40" and all(len(label) == 5 and label[2] == ":" for label in x_labels)


def test_threshold_line_is_at_the_threshold_on_the_value_scale():
    points = matrix_points(answer(ramp()))                     # 0 to 0.1
    root = parse(svg_chart(points, "Error ratio", threshold=0.05))
    ys = [vertex[1] for vertex in vertices(root)]
    line = root.find("svg:line[@class='threshold']", NS)
    assert line.get("stroke-dasharray")
    assert float(line.get("y1")) == float(line.get("y2")) == pytest.approx(ys[5], abs=0.1)   # 0.05 is the 6th point
    assert root.find("svg:text[@class='threshold-label']", NS).text == "threshold 5 %"


def test_a_threshold_above_the_peak_is_the_top_of_the_axis():
    points = matrix_points(answer(ramp()))                     # peak 0.1
    root = parse(svg_chart(points, "Error ratio", threshold=0.2))
    ys = [vertex[1] for vertex in vertices(root)]
    threshold_y = float(root.find("svg:line[@class='threshold']", NS).get("y1"))
    assert threshold_y < ys[-1]
    assert ys[0] - ys[-1] == pytest.approx((ys[0] - threshold_y) / 2, abs=0.1)


def test_a_marker_is_between_its_neighbouring_points():
    points = matrix_points(answer(ramp()))
    root = parse(svg_chart(points, "Error ratio", markers=[{"at": START + 150, "label": "rollout rev 5"}]))
    xs = [vertex[0] for vertex in vertices(root)]
    marker = root.find("svg:line[@class='marker']", NS)
    assert xs[2] < float(marker.get("x1")) == float(marker.get("x2")) < xs[3]
    assert float(marker.get("x1")) == pytest.approx((xs[2] + xs[3]) / 2, abs=0.1)
    assert root.find("svg:text[@class='marker-label']", NS).text == "rollout rev 5"


def test_texts_are_escaped_and_round_trip():
    label = '<b>&"x"'
    svg = svg_chart(matrix_points(answer(ramp())), "Errors " + label, unit="<%>", threshold=0.05,
                    markers=[{"at": START + 60, "label": label}])
    root = parse(svg)
    assert root.find("svg:text[@class='title']", NS).text == "Errors " + label
    assert root.find("svg:title", NS).text == "Errors " + label
    assert root.find("svg:text[@class='marker-label']", NS).text == label
    assert root.find("svg:text[@class='threshold-label']", NS).text == "threshold 5 <%>"
    assert "<b>" not in svg


def test_no_points_is_a_small_svg_saying_no_data():
    root = parse(svg_chart([], "Error <ratio>"))
    assert root.find("svg:text[@class='no-data']", NS).text == "no data"
    assert root.find("svg:text[@class='title']", NS).text == "Error <ratio>"
    assert root.find("svg:polyline", NS) is None
    assert int(root.get("height")) < 220


def test_a_single_point_still_draws():
    root = parse(svg_chart([[START, 0.02]], "Error ratio", threshold=0.05))
    assert len(vertices(root)) == 1
    assert root.find("svg:circle[@class='point']", NS) is not None


# series_chart

def test_series_chart_figures():
    chart = series_chart(answer(ramp() + [[START + 660, "NaN"]]), "Error ratio", threshold=0.05)
    assert len(chart["points"]) == 11
    assert chart["peak"] == pytest.approx(0.1)
    assert chart["last"] == pytest.approx(0.1)
    assert chart["start"] == START and chart["end"] == START + 600
    assert chart["sparkline"] == sparkline([0.01 * index for index in range(11)], ceiling=0.05)
    assert len(vertices(parse(chart["svg"]))) == 11


def test_series_chart_keeps_markers_in_range_sorted_and_parses_timestamps():
    markers = [
        {"at": "2026-12-07T00:48:20Z", "label": "rollback"},            # START + 500
        {"at": START + 100, "label": "rollout rev 5"},
        {"at": str(START + 200), "label": "numeric string"},
        {"at": "2026-12-07T01:46:40+01:00", "label": "offset"},         # START + 400
        {"at": "2026-12-07T00:53:20Z", "label": "after the end"},       # START + 800
        {"at": START - 1, "label": "before the start"},
        {"at": "yesterday", "label": "unreadable"},
        {"label": "no time"},
    ]
    chart = series_chart(answer(ramp()), "Error ratio", markers=markers)
    assert [(marker["at"], marker["label"]) for marker in chart["markers"]] == [
        (START + 100, "rollout rev 5"), (START + 200, "numeric string"), (START + 400, "offset"), (START + 500, "rollback")]
    labels = [text.text for text in parse(chart["svg"]).findall("svg:text[@class='marker-label']", NS)]
    assert labels == ["rollout rev 5", "numeric string", "offset", "rollback"]


def test_series_chart_of_an_error_answer():
    chart = series_chart({"status": "error", "error": "bad query"}, "Error ratio", threshold=0.05,
                         markers=[{"at": START, "label": "rollout"}])
    assert chart["points"] == [] and chart["markers"] == [] and chart["sparkline"] == ""
    assert chart["peak"] is None and chart["last"] is None and chart["start"] is None and chart["end"] is None
    assert parse(chart["svg"]).find("svg:text[@class='no-data']", NS) is not None


def test_epoch_seconds():
    assert epoch_seconds("2026-12-07T00:40:00Z") == START
    assert epoch_seconds("2026-12-07T00:40:00") == START
    assert epoch_seconds("2026-12-07T00:40:00.500+00:00") == START + 0.5
    assert epoch_seconds(" %d " % START) == START
    assert [epoch_seconds(value) for value in (True, None, "", "NaN", "+Inf", "soon")] == [None] * 6


def test_series_chart_filter_names_itself_in_errors():
    with pytest.raises(AnsibleFilterError, match="series_chart: .*threshold"):
        series_chart_filter(answer(ramp()), "Error ratio", threshold="high")
    with pytest.raises(AnsibleFilterError, match="series_chart: markers"):
        series_chart_filter(answer(ramp()), "Error ratio", markers="rollout")
    assert series_chart_filter(answer(ramp()), "Error ratio")["peak"] == pytest.approx(0.1)


# several series: compare_chart and svg_chart_series

def flat(value, count=11):
    return [[START + 60 * index, str(value)] for index in range(count)]


def test_compare_chart_draws_each_series_in_order_with_a_legend():
    chart = compare_chart({"canary": answer(ramp()), "stable": answer(flat(0.01))}, "Error ratio", threshold=0.05)
    root = parse(chart["svg"])
    lines = root.findall("svg:polyline[@class='series']", NS)
    assert [line.get("data-series") for line in lines] == ["canary", "stable"]
    assert lines[0].get("stroke") != lines[1].get("stroke")
    assert [text.text for text in root.findall("svg:text[@class='legend-label']", NS)] == ["canary", "stable"]
    # same axes: the stable line (flat 0.01) lies below the canary's last point (0.1)
    canary_y = [float(v.split(",")[1]) for v in lines[0].get("points").split()]
    stable_y = [float(v.split(",")[1]) for v in lines[1].get("points").split()]
    assert len(canary_y) == len(stable_y) == 11 and len(set(stable_y)) == 1
    assert canary_y[-1] < stable_y[0] < canary_y[0]          # y grows downwards
    assert chart["series"]["canary"]["peak"] == pytest.approx(0.1) and chart["series"]["stable"]["last"] == 0.01
    assert (chart["start"], chart["end"]) == (START, START + 600)


def test_compare_chart_sparklines_share_one_scale():
    chart = compare_chart({"canary": answer(flat(0.2)), "stable": answer(flat(0.02))}, "t", width=11)
    assert chart["series"]["canary"]["sparkline"] == BLOCKS[-1] * 11
    # 0.02 of a 0.2 top is a tenth: the lowest block but one, not the top (each alone would be all top blocks)
    assert chart["series"]["stable"]["sparkline"] == BLOCKS[1] * 11
    # a threshold above both raises the common top
    raised = compare_chart({"canary": answer(flat(0.2)), "stable": answer(flat(0.02))}, "t", threshold=0.4, width=3)
    assert raised["series"]["canary"]["sparkline"] == BLOCKS[4] * 3


def test_compare_chart_with_a_series_without_data_names_it_and_draws_the_other():
    chart = compare_chart({"canary": answer(ramp()), "stable": {"status": "error", "error": "bad query"}}, "t")
    root = parse(chart["svg"])
    assert [line.get("data-series") for line in root.findall("svg:polyline[@class='series']", NS)] == ["canary"]
    assert [text.text for text in root.findall("svg:text[@class='legend-label']", NS)] == ["canary", "stable: no data"]
    assert chart["series"]["stable"] == {"points": [], "sparkline": "", "peak": None, "last": None}


def test_compare_chart_of_nothing_says_no_data():
    chart = compare_chart({"canary": None, "stable": answer([[START, "NaN"]])}, "t", threshold=0.05)
    assert parse(chart["svg"]).find("svg:text[@class='no-data']", NS) is not None
    assert chart["start"] is None and chart["end"] is None and chart["markers"] == []


def test_compare_chart_keeps_markers_within_all_series():
    early, late = answer([[START, "0.01"], [START + 60, "0.01"]]), answer([[START + 540, "0.02"], [START + 600, "0.03"]])
    markers = [{"at": START + 300, "label": "promoted"}, {"at": START + 900, "label": "later"}]
    chart = compare_chart({"a": early, "b": late}, "t", markers=markers)
    assert [m["label"] for m in chart["markers"]] == ["promoted"]


@pytest.mark.parametrize("responses", [{}, None, [answer(ramp())]])
def test_compare_chart_filter_refuses_what_is_no_mapping(responses):
    with pytest.raises(AnsibleFilterError, match="^compare_chart: .*mapping"):
        compare_chart_filter(responses, "t")


def test_compare_chart_filter_refuses_more_series_than_colours():
    with pytest.raises(AnsibleFilterError, match="at most 3 series"):
        compare_chart_filter(dict((str(n), answer(ramp())) for n in range(4)), "t")


def test_one_series_svg_is_unchanged_by_the_series_core():
    points = [[START, 0.01], [START + 60, 0.02]]
    assert svg_chart(points, "t") == svg_chart_series([(None, points)], "t")
    assert "data-series" not in svg_chart(points, "t") and "legend" not in svg_chart(points, "t")
