"""plugins/filter/rollout_correlation.py: whether an error spike began after the latest rollout, and why (not)."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.rollout_correlation import rollout_correlation, rollout_epoch

ROLLOUT = 1738324800            # 2025-01-31 12:00:00 UTC
ROLLOUT_ISO = '2025-01-31T12:00:00Z'
STEP = 15


def answer(values, start=ROLLOUT - 10 * STEP):
    """A query_range answer with one series, one sample per step from start (values as Prometheus sends: strings)."""
    return {'status': 'success', 'data': {'resultType': 'matrix', 'result': [
        {'metric': {}, 'values': [[start + i * STEP, v] for i, v in enumerate(values)]}]}}


def correlate(values, start=ROLLOUT - 10 * STEP, rollout=ROLLOUT_ISO, window=3600, step='15s'):
    return rollout_correlation(answer(values, start), rollout=rollout, threshold={'warn': 0.05, 'fail': 0.10},
                               window=window, step=step, label='error ratio')


LOW, HIGH = '0.01', '0.35'


def test_spike_after_the_rollout_is_deployment_related():
    out = correlate([LOW] * 12 + [HIGH] * 4)          # crosses at sample 12 = rollout + 2 steps
    assert out['deployment_related'] is True
    assert out['since'] == ROLLOUT + 2 * STEP and out['offset'] == 30 and out['above_now']
    assert out['summary'] == 'error ratio above 5.0 % since 2025-01-31 12:00:30 UTC, 30 s after the rollout'
    assert out['reason'] == ('the error ratio crossed 5.0 % at 2025-01-31 12:00:30 UTC, 30 s after the rollout '
                             'at 2025-01-31 12:00:00 UTC')


def test_spike_stamped_in_the_same_step_as_the_rollout():
    out = correlate([LOW] * 10 + [HIGH] * 3)          # the first high sample is stamped at the rollout second
    assert out['deployment_related'] and out['offset'] == 0
    assert '0 s after the rollout' in out['summary']


def test_spike_within_one_step_before_the_rollout_counts():
    out = correlate([LOW] * 10 + [HIGH] * 3, start=ROLLOUT - 10 * STEP - 12)   # stamped 12 s before it
    assert out['offset'] == -12 and out['deployment_related'] is True
    assert out['reason'].endswith('12 s before the rollout at 2025-01-31 12:00:00 UTC (within one 15 s step of it)')
    assert '12 s before the rollout' in out['summary']


def test_spike_exactly_one_step_before_the_rollout_counts_and_no_more():
    assert correlate([LOW] * 9 + [HIGH] * 4)['deployment_related'] is True      # offset -15 = one step
    out = correlate([LOW] * 9 + [HIGH] * 4, start=ROLLOUT - 10 * STEP - 1)   # offset -16
    assert out['offset'] == -16 and out['deployment_related'] is False
    assert out['reason'] == ('the error ratio crossed 5.0 % at 2025-01-31 11:59:44 UTC, 16 s before the rollout '
                             'at 2025-01-31 12:00:00 UTC (more than one 15 s step before it)')


def test_without_a_step_there_is_no_tolerance():
    out = correlate([LOW] * 10 + [HIGH] * 3, start=ROLLOUT - 10 * STEP - 1, step='')
    assert out['offset'] == -1 and out['deployment_related'] is False
    assert out['reason'].endswith('1 s before the rollout at 2025-01-31 12:00:00 UTC')


def test_spike_long_before_the_rollout_is_not_deployment_related():
    out = correlate([LOW] * 3 + [HIGH] * 13)           # crossed 7 steps (105 s) before the rollout
    assert out['deployment_related'] is False and out['offset'] == -105
    assert 'crossed 5.0 % at 2025-01-31 11:58:15 UTC, 105 s before the rollout' in out['reason']


def test_rollout_older_than_the_window():
    out = correlate([LOW] * 14 + [HIGH] * 2, window=30)   # crossed 60 s after the rollout, window 30 s
    assert out['deployment_related'] is False and out['offset'] == 60
    assert out['reason'].endswith('60 s after the rollout at 2025-01-31 12:00:00 UTC, more than the 30 s the correlation allows')
    assert correlate([LOW] * 14 + [HIGH] * 2, window=60)['deployment_related'] is True     # exactly at the window


def test_above_for_the_whole_lookback_cannot_be_tied_to_the_rollout():
    out = correlate([HIGH] * 16)
    assert out['since_range_start'] and out['deployment_related'] is False
    assert out['summary'] == 'error ratio above 5.0 % since before 2025-01-31 11:57:30 UTC (the whole lookback)'
    assert 'for the whole lookback' in out['reason'] and 'unknown' in out['reason']


def test_rollout_time_unknown():
    out = correlate([LOW] * 12 + [HIGH] * 4, rollout='')
    assert out['deployment_related'] is False and out['rollout_at'] is None
    assert out['summary'] == 'error ratio above 5.0 % since 2025-01-31 12:00:30 UTC, rollout time unknown'
    assert out['reason'].endswith('the rollout time is unknown (no creation time of the running revision in the rollout history)')
    assert 'unreadable' in correlate([LOW] * 12 + [HIGH] * 4, rollout='yesterday')['reason']


def test_below_now_is_not_a_spike():
    out = correlate([HIGH] * 12 + [LOW] * 4)
    assert out['above_now'] is False and out['since'] is None and out['deployment_related'] is False
    assert out['summary'] == 'error ratio below 5.0 % now'
    assert out['reason'] == 'the error ratio was 1.0 % at the last sample (2025-01-31 12:01:15 UTC), below 5.0 %'


@pytest.mark.parametrize('response', [{}, {'status': 'error'}, {'data': {'result': []}}, [], None])
def test_no_data(response):
    out = rollout_correlation(response, rollout=ROLLOUT_ISO, threshold=0.05)
    assert out['samples'] == 0 and out['above_now'] is False and out['deployment_related'] is False
    assert out['summary'] == 'ratio below 5.0 % now' and 'no samples' in out['reason']


def test_one_sample_is_the_whole_lookback():
    out = correlate([HIGH], start=ROLLOUT + 30)
    assert out['samples'] == 1 and out['since_range_start'] and out['deployment_related'] is False
    assert correlate([LOW], start=ROLLOUT + 30)['above_now'] is False


def test_exactly_at_the_threshold_is_part_of_the_spike():
    out = correlate([LOW] * 11 + ['0.05'] * 3)
    assert out['since'] == ROLLOUT + STEP and out['deployment_related']
    assert correlate([LOW] * 11 + ['0.0499'] * 3)['above_now'] is False


@pytest.mark.parametrize('gap', ['NaN', '+Inf', '-Inf'])
def test_nan_inside_the_run_ends_it(gap):
    # high before the rollout, no number (no requests) at the rollout, high again after it: the spike is the run after
    out = correlate([LOW] * 6 + [HIGH] * 4 + [gap] + [HIGH] * 4)
    assert out['since'] == ROLLOUT + STEP and out['offset'] == 15 and out['deployment_related']


def test_nan_as_the_last_sample_is_not_above():
    out = correlate([LOW] * 12 + [HIGH] * 3 + ['NaN'])
    assert out['above_now'] is False and 'no number at the last sample' in out['reason']


def test_only_the_first_series_counts():
    response = answer([LOW] * 12 + [HIGH] * 4)
    response['data']['result'].append({'metric': {'x': '1'}, 'values': [[ROLLOUT, HIGH]]})
    assert rollout_correlation(response, rollout=ROLLOUT, threshold=0.05, step=STEP)['since'] == ROLLOUT + 2 * STEP


@pytest.mark.parametrize('value, expected', [
    ('2025-01-31T12:00:00Z', ROLLOUT), ('2025-01-31T12:00:00.500Z', ROLLOUT + 0.5), ('2025-01-31T13:00:00+01:00', ROLLOUT),
    (ROLLOUT, ROLLOUT), (str(ROLLOUT), ROLLOUT), ('', None), (None, None), ('soon', None)])
def test_rollout_times(value, expected):
    assert rollout_epoch(value) == expected


def test_threshold_is_required():
    with pytest.raises(ValueError):
        rollout_correlation(answer([HIGH]), rollout=ROLLOUT)
