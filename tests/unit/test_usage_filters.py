"""plugins/filter/container_usage.py, usage_rows.py, container_resources.py: containers against their limits."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.container_resources import container_resources
from ansible_collections.clickview.runbook.plugins.filter.container_usage import container_usage, cpu_millicores, memory_bytes
from ansible_collections.clickview.runbook.plugins.filter.usage_rows import usage_rows

MI = 1048576
RESOURCES = {'limits': {'memory': '256Mi', 'cpu': '500m'}, 'requests': {'memory': '128Mi', 'cpu': '100m'}}


def pod(name, status=None, resources=None):
    return {'metadata': {'name': name},
            'spec': {'containers': [{'name': 'backend', 'image': 'reg/backend:1.4.0', 'resources': resources or RESOURCES}]},
            'status': {'containerStatuses': [status or {'name': 'backend', 'ready': True, 'restartCount': 0,
                                                        'state': {'running': {'startedAt': 'x'}}}]}}


def metric(name, cpu='250m', memory='128Mi'):
    return {'metadata': {'name': name}, 'containers': [{'name': 'backend', 'usage': {'cpu': cpu, 'memory': memory}}]}


@pytest.mark.parametrize('quantity, expected', [('250m', 250), ('1', 1000), ('0.5', 500), ('120000000n', 120), ('5000u', 5)])
def test_cpu(quantity, expected):
    assert cpu_millicores(quantity) == expected


@pytest.mark.parametrize('quantity, expected', [('256Mi', 256 * MI), ('1Gi', 1024 * MI), ('1G', 10 ** 9), ('134217728', 134217728),
                                                ('512k', 512000), ('1.5Mi', int(1.5 * MI)), ('lots', 0)])
def test_memory(quantity, expected):
    assert memory_bytes(quantity) == expected


def test_a_measured_running_container():
    row, = container_usage([pod('b-1')], [metric('b-1', cpu='120000000n', memory='200Mi')])
    assert row['cpu_m'] == 120 and row['cpu_limit_m'] == 500 and row['cpu_request_m'] == 100
    assert row['mem_b'] == 200 * MI and row['mem_limit_b'] == 256 * MI and row['mem_request_b'] == 128 * MI
    assert row['has_metrics'] and row['ready'] and row['state'] == 'running' and row['restarts'] == 0
    assert row['last_run'] == '' and row['last_exit_code'] is None


def test_a_restarted_oomkilled_container():
    status = {'name': 'backend', 'ready': False, 'restartCount': 3, 'state': {'waiting': {'reason': 'CrashLoopBackOff'}},
              'lastState': {'terminated': {'reason': 'OOMKilled', 'exitCode': 137, 'finishedAt': '2025-01-31T12:00:00Z'}}}
    row, = container_usage([pod('b-1', status)], [])
    assert row['has_metrics'] is False and row['cpu_m'] is None and row['mem_b'] is None
    assert row['last_reason'] == 'OOMKilled' and row['restarts'] == 3 and row['state'] == 'waiting'
    assert row['last_run'] == 'b-1/backend: OOMKilled (exit 137) at 2025-01-31T12:00:00Z, 3 restarts, now CrashLoopBackOff'


def test_no_pods_no_rows():
    assert container_usage([], []) == [] and container_usage(None) == []


def rows(*pods_and_metrics):
    return container_usage([p for p, m in pods_and_metrics], [m for p, m in pods_and_metrics if m])


def test_memory_rows_highest_first_without_unlimited_or_unmeasured():
    usage = rows((pod('b-1'), metric('b-1', memory='128Mi')), (pod('b-2'), metric('b-2', memory='243.2Mi')),
                 (pod('b-3', resources={'requests': {'memory': '64Mi'}}), metric('b-3')), (pod('b-4'), None))
    out = usage_rows(usage, 'memory')
    assert [(r['pod'], r['pct']) for r in out] == [('b-2', 95.0), ('b-1', 50.0)]
    assert out[0]['text'] == 'b-2/backend: memory 243.2 MiB of 256.0 MiB (95.0 %)'
    assert out[0]['detail'] == 'b-2/backend: memory 243.2 MiB of limit 256.0 MiB (95.0 %), request 128.0 MiB, ready'


def test_memory_row_of_a_not_ready_container_without_request():
    status = {'name': 'backend', 'ready': False, 'restartCount': 1, 'state': {'waiting': {'reason': 'CrashLoopBackOff'}}}
    out = usage_rows(rows((pod('b-1', status, {'limits': {'memory': '256Mi'}}), metric('b-1'))), 'memory')
    assert out[0]['detail'].endswith('(50.0 %), request none, not ready (CrashLoopBackOff)')


def test_cpu_rows_against_the_limit_else_the_request():
    usage = rows((pod('b-1'), metric('b-1', cpu='450m')), (pod('b-2', resources={'requests': {'cpu': '200m'}}), metric('b-2', cpu='50m')),
                 (pod('b-3', resources={'limits': {'memory': '1Gi'}}), metric('b-3')))
    out = usage_rows(usage, 'cpu')
    assert [(r['pod'], r['pct'], r['of']) for r in out] == [('b-1', 90.0, 'limit'), ('b-2', 25.0, 'request')]
    assert out[0]['text'] == 'b-1/backend: cpu 450m of 500m limit (90.0 %), 0 restarts'


def test_usage_exactly_at_the_limit_is_100_percent():
    out = usage_rows(rows((pod('b-1'), metric('b-1', cpu='500m', memory='256Mi'))), 'cpu')
    assert out[0]['pct'] == 100.0
    assert usage_rows(rows((pod('b-1'), metric('b-1', memory='256Mi'))), 'memory')[0]['pct'] == 100.0


def test_rows_with_nothing_measured():
    assert usage_rows([], 'cpu') == [] and usage_rows(None) == []
    with pytest.raises(ValueError):
        usage_rows([], 'disk')


def test_container_resources():
    out = container_resources([{'name': 'backend', 'resources': RESOURCES}, {'name': 'sidecar', 'resources': {}}, {'name': 'init'}])
    assert out['lines'] == ['backend: limits memory 256Mi, cpu 500m; requests memory 128Mi, cpu 100m',
                            'sidecar: limits memory none, cpu none; requests memory none, cpu none',
                            'init: limits memory none, cpu none; requests memory none, cpu none']
    assert out['no_memory_limit'] == ['sidecar', 'init']
    assert container_resources(None) == {'lines': [], 'no_memory_limit': []}


def test_a_cpu_limit_is_no_memory_limit():
    out = container_resources([{'name': 'backend', 'resources': {'limits': {'cpu': '500m'}}}])
    assert out['no_memory_limit'] == ['backend']
