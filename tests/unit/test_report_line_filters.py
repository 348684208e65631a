"""plugins/filter/active_queries.py, rollout_history_lines.py, deployment_rollout.py."""
from ansible_collections.clickview.runbook.plugins.filter.active_queries import active_queries
from ansible_collections.clickview.runbook.plugins.filter.deployment_rollout import deployment_rollout
from ansible_collections.clickview.runbook.plugins.filter.rollout_history_lines import rollout_history_lines


def test_active_queries_longest_first():
    rows = [{'pid': 1, 'usename': 'app', 'application_name': '', 'wait': '', 'seconds': 0.4, 'query': 'SELECT 1'},
            {'pid': 2, 'usename': 'app', 'application_name': 'report', 'wait': 'Lock/relation', 'seconds': 75.5, 'query': 'UPDATE t'}]
    out = active_queries(rows)
    assert [r['pid'] for r in out] == [2, 1]
    assert out[0]['text'] == 'pid 2 app app=report 75.5s waiting Lock/relation: UPDATE t'
    assert out[1]['text'] == 'pid 1 app app=- 0.4s: SELECT 1'
    assert active_queries(None) == []


def test_history_lines():
    history = [{'revision': 4, 'current': False, 'created': '2025-01-30T10:00:00Z', 'images': ['reg/b:1.4.0'], 'change_cause': 'release 1.4.0'},
               {'revision': 5, 'current': True, 'created': '2025-01-31T12:00:00Z', 'images': ['reg/b:1.5.0', 'reg/s:2'], 'change_cause': None}]
    assert rollout_history_lines(history) == [
        'revision 4 created 2025-01-30T10:00:00Z: reg/b:1.4.0 - release 1.4.0',
        'revision 5 (running) created 2025-01-31T12:00:00Z: reg/b:1.5.0, reg/s:2 - no change-cause']
    assert rollout_history_lines([]) == []


def dep(generation=2, observed=2, replicas=3, updated=3, total=3, available=3):
    return {'metadata': {'generation': generation}, 'spec': {'replicas': replicas},
            'status': {'observedGeneration': observed, 'updatedReplicas': updated, 'replicas': total, 'availableReplicas': available}}


def test_rollout_complete():
    out = deployment_rollout([dep()], 'backend', 300)
    assert out['message'] == 'deployment "backend" successfully rolled out: 3 of 3 updated, 3 available'
    assert (out['complete'], out['failed'], out['state']) == (True, False, 'done')


def test_rollout_not_complete():
    assert deployment_rollout([dep(observed=1)])['complete'] is False          # the new generation not yet seen
    assert deployment_rollout([dep(updated=2)])['complete'] is False           # one replica still on the old template
    assert deployment_rollout([dep(total=4)])['complete'] is False             # an old pod still terminating
    out = deployment_rollout([dep(available=2)], 'backend', 300)               # a new pod not yet available
    assert out['message'] == 'deployment "backend" still rolling out after 300 s: 3 of 3 updated, 2 available'
    assert (out['complete'], out['failed'], out['detail']) == (False, False, '2 of 3 updated replicas are available')


def test_rollout_past_its_deadline_has_failed():
    stuck = dep(updated=1, available=2)
    stuck['metadata']['name'] = 'backend'
    stuck['status']['conditions'] = [{'type': 'Progressing', 'status': 'False', 'reason': 'ProgressDeadlineExceeded',
                                      'message': 'ReplicaSet "backend-7f9" has timed out progressing.'}]
    out = deployment_rollout([stuck], 'backend', 300)
    assert (out['complete'], out['failed'], out['state']) == (False, True, 'failed')
    assert out['message'].startswith('deployment "backend" failed to roll out (deployment "backend" exceeded its progress deadline)')


def test_a_generation_not_yet_observed_waits_even_without_one_recorded():
    unobserved = dep()
    del unobserved['metadata']['generation']
    unobserved['status']['observedGeneration'] = 0
    assert deployment_rollout([unobserved])['complete'] is False


def test_missing_deployment_is_not_complete():
    assert deployment_rollout([], 'backend', 60)['complete'] is False
    assert deployment_rollout(None)['complete'] is False
    assert deployment_rollout(dep())['complete'] is True
