"""plugins/filter/prometheus_*.py and module_utils/prometheus.py: what a Prometheus answer says, NaN and +Inf included."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.prometheus_duration import prometheus_duration
from ansible_collections.clickview.runbook.plugins.filter.prometheus_figures import prometheus_figures
from ansible_collections.clickview.runbook.plugins.filter.prometheus_value import prometheus_value


def instant(value):
    return {'status': 'success', 'data': {'resultType': 'vector', 'result': [{'metric': {}, 'value': [1738324800.1, value]}]}}


@pytest.mark.parametrize('value, expected', [('0.063', 0.063), ('0', 0.0), ('1e-3', 0.001), ('NaN', None), ('+Inf', None),
                                             ('-Inf', None), ('', None)])
def test_instant_value(value, expected):
    assert prometheus_value(instant(value)) == expected


@pytest.mark.parametrize('response', [{}, {'data': {'result': []}}, None, [], {'status': 'error', 'error': 'bad query'}])
def test_no_data_is_none(response):
    assert prometheus_value(response) is None


def test_result_list_is_accepted():
    assert prometheus_value(instant('0.5')['data']['result']) == 0.5


def loop_result(key, status=200, json=None, **more):
    result = {'item': {'key': key, 'value': 'q'}, 'status': status, 'json': json or {}}
    result.update(more)
    return result


def test_figures_of_a_loop():
    out = prometheus_figures({'results': [loop_result('error_ratio', json=instant('0.2')),
                                          loop_result('latency_p95', json=instant('NaN')),
                                          loop_result('empty', json={'data': {'result': []}})]}, 'http://prom:9090')
    assert out == {'figures': {'error_ratio': 0.2, 'latency_p95': None, 'empty': None}, 'error': ''}


def test_unreachable_prometheus_is_named():
    out = prometheus_figures([loop_result('error_ratio', status=-1, msg='Status code was -1 and not [200]: Connection refused')],
                             'http://127.0.0.1:9')
    assert out['figures'] == {'error_ratio': None}
    assert out['error'] == 'Prometheus http://127.0.0.1:9 did not answer: Status code was -1 and not [200]: Connection refused'


def test_http_error_carries_prometheus_own_text():
    out = prometheus_figures([loop_result('a', json=instant('1')),
                              loop_result('b', status=400, json={'status': 'error', 'error': 'parse error at char 3'})], 'http://p')
    assert out['error'] == 'Prometheus http://p did not answer: HTTP 400 parse error at char 3'


def test_no_answer_at_all_is_named_before_an_http_error():
    out = prometheus_figures([loop_result('a', status=500), {'item': {'key': 'b'}, 'msg': 'timed out'}], 'http://p')
    assert out['error'] == 'Prometheus http://p did not answer: timed out'


@pytest.mark.parametrize('text, expected', [('15s', 15), ('10m', 600), ('1h', 3600), ('1h30m', 5400), ('2d', 172800),
                                            ('1w', 604800), ('500ms', 0.5), ('90', 90), (30, 30), (' 5m ', 300)])
def test_durations(text, expected):
    assert prometheus_duration(text) == expected


@pytest.mark.parametrize('text', ['', None, '0s', 'soon', '5 minutes', '10x', -5, 0])
def test_unreadable_durations_give_the_default(text):
    assert prometheus_duration(text, default=3600) == 3600
