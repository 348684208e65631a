"""k8s_rollout.watch_rollout (the k8s_rollout_status module's wait): one process polls until the rollout completes,
exceeds its deadline, times out or is missing, and says why when it did not complete."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
if os.path.join(ROOT, '.collections') not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, '.collections'))

from ansible_collections.clickview.runbook.plugins.module_utils import k8s_rollout as kr  # noqa: E402


def dep(updated=3, available=3, replicas=3, generation=2, observed=2, deadline=False, image='app:2'):
    conditions = [{'type': 'Progressing', 'status': 'False', 'reason': kr.TIMED_OUT,
                   'message': 'ReplicaSet "web-2" has timed out progressing.'}] if deadline else []
    return {'metadata': {'name': 'web', 'generation': generation},
            'spec': {'replicas': replicas, 'selector': {'matchLabels': {'app': 'web'}},
                     'template': {'spec': {'containers': [{'name': 'app', 'image': image}]}}},
            'status': {'observedGeneration': observed, 'replicas': replicas, 'updatedReplicas': updated,
                       'readyReplicas': available, 'availableReplicas': available, 'conditions': conditions}}


class Clock(object):
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Api(object):
    """Answers each GET of the workload with the next of ``reads`` (a dict, or an exception to raise); the last repeats."""

    def __init__(self, reads, pods=(), events=()):
        self.reads, self.pods, self.events, self.gets, self.lists = list(reads), list(pods), list(events), 0, []

    def get(self, path):
        assert path == '/apis/apps/v1/namespaces/prod/deployments/web'
        self.gets += 1
        read = self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]
        if isinstance(read, Exception):
            raise read
        return copy.deepcopy(read)

    def list(self, path, label_selector=None, field_selector=None):
        self.lists.append((path, label_selector))
        return copy.deepcopy(self.pods if path.endswith('/pods') else self.events)


def watch(api, timeout=60, clock=None, **kw):
    clock = clock or Clock()
    return kr.watch_rollout(api, 'Deployment', 'prod', 'web', timeout, poll_interval=2, sleep=clock.sleep, clock=clock, **kw)


def test_polls_until_complete_and_records_each_poll():
    clock = Clock()
    api = Api([dep(updated=1, available=2), dep(updated=2, available=2), dep()])
    outcome, obj = watch(api, clock=clock)
    assert outcome['state'] == 'complete'
    assert outcome['message'] == 'deployment "web" successfully rolled out'
    assert [s['updated'] for s in outcome['progress']] == [1, 2, 3]
    assert [s['elapsed'] for s in outcome['progress']] == [0.0, 2.0, 4.0]
    assert outcome['seconds'] == 4.0 and clock.sleeps == [2, 2]
    assert outcome['images'] == ['app:2'] and obj['status']['updatedReplicas'] == 3
    assert outcome['pods'] == [] and outcome['events'] == [] and api.lists == []


def test_an_unobserved_generation_is_still_rolling_out():
    outcome, _obj = watch(Api([dep(generation=3, observed=2), dep(generation=3, observed=3)]))
    assert outcome['state'] == 'complete' and len(outcome['progress']) == 2


def test_deadline_exceeded_ends_the_wait_and_says_why():
    pods = [{'metadata': {'name': 'web-2-abc'}, 'status': {'containerStatuses': [
        {'name': 'app', 'ready': False, 'image': 'app:2', 'restartCount': 4,
         'state': {'waiting': {'reason': 'CrashLoopBackOff'}}, 'lastState': {'terminated': {'exitCode': 1}}}]}}]
    events = [{'involvedObject': {'kind': 'Pod', 'name': 'web-2-abc'}, 'type': 'Warning', 'reason': 'BackOff', 'message': 'restarting'},
              {'involvedObject': {'kind': 'Pod', 'name': 'other-1'}, 'type': 'Warning', 'reason': 'BackOff', 'message': 'not ours'}]
    api = Api([dep(updated=1, available=2, deadline=True)], pods=pods, events=events)
    outcome, _obj = watch(api)
    assert outcome['state'] == 'deadline'
    assert outcome['message'] == 'deployment "web" exceeded its progress deadline (1 of 3 updated, 2 available)'
    assert outcome['pods'] == [{'pod': 'web-2-abc', 'container': 'app', 'image': 'app:2', 'reason': 'CrashLoopBackOff',
                                'restarts': 4, 'last_exit_code': 1}]
    assert [e['object'] for e in outcome['events']] == ['Pod/web-2-abc']
    assert ('/api/v1/namespaces/prod/pods', 'app=web') in api.lists
    assert api.gets == 1


def test_timeout_after_the_last_poll_and_never_longer():
    clock = Clock()
    outcome, _obj = watch(Api([dep(updated=1)]), timeout=5, clock=clock)
    assert outcome['state'] == 'timeout'
    assert outcome['message'] == 'deployment "web" still rolling out after 5 s (1 of 3 updated, 3 available)'
    assert sum(clock.sleeps) == 5 and clock.sleeps[-1] == 1
    assert outcome['seconds'] == 5.0 and len(outcome['progress']) == 4


def test_explain_false_reads_no_pods_nor_events():
    api = Api([dep(updated=1)])
    outcome, _obj = watch(api, timeout=0, explain=False)
    assert outcome['state'] == 'timeout' and api.lists == [] and api.gets == 1


def test_missing_ends_at_once():
    api = Api([kr.K8sApiError(404, 'NotFound', 'deployments.apps "web" not found')])
    outcome, obj = watch(api)
    assert obj is None and api.gets == 1
    assert outcome['state'] == 'missing' and outcome['message'].startswith('deployment "web" not found')


def test_a_failed_read_is_polled_again():
    api = Api([kr.K8sApiError(None, 'ConnectionError', 'cannot reach the Kubernetes API'), dep()])
    outcome, _obj = watch(api)
    assert outcome['state'] == 'complete' and 'error' not in outcome and api.gets == 2


def test_reads_that_keep_failing_time_out_with_the_last_error():
    api = Api([kr.K8sApiError(503, 'ServiceUnavailable', 'etcd is down')])
    outcome, obj = watch(api, timeout=4)
    assert obj is None and outcome['state'] == 'timeout'
    assert 'could not be read for 4 s' in outcome['message'] and 'etcd is down' in outcome['error']


@pytest.mark.parametrize('status', [401, 403])
def test_refused_credentials_are_raised_at_once(status):
    api = Api([kr.K8sApiError(status, 'Forbidden', 'deployments.apps "web" is forbidden')])
    with pytest.raises(kr.K8sApiError):
        watch(api)
    assert api.gets == 1


def test_unknown_kind_is_refused():
    with pytest.raises(kr.RolloutError, match='kind must be one of'):
        kr.watch_rollout(Api([dep()]), 'CronJob', 'prod', 'web', 10)


def test_statefulset_counts_and_message():
    sts = {'metadata': {'name': 'db', 'generation': 1},
           'spec': {'replicas': 2, 'template': {'spec': {'containers': [{'name': 'pg', 'image': 'postgres:18'}]}}},
           'status': {'observedGeneration': 1, 'readyReplicas': 2, 'currentRevision': 'db-1', 'updateRevision': 'db-1',
                      'updatedReplicas': 2, 'availableReplicas': 2}}
    out = kr.rollout_outcome([sts], 'db', kind='StatefulSet')
    assert out['state'] == 'complete' and out['message'] == 'statefulset "db" successfully rolled out'
    assert (out['replicas'], out['ready'], out['images']) == (2, 2, ['postgres:18'])


def test_return_after_hands_back_a_progressing_wait_and_the_next_call_goes_on():
    """An until loop of calls shows progress every return_after seconds; the budget counts from the first call."""
    clock = Clock()
    api = Api([dep(updated=1)])
    outcome, _obj = watch(api, timeout=30, clock=clock, return_after=10)
    assert outcome['state'] == 'progressing' and outcome['seconds'] == 10.0
    assert outcome['pods'] == [] and api.lists == []           # not explained: the wait is not over
    outcome, _obj = watch(api, timeout=30, clock=clock, return_after=10, waited=25)
    assert outcome['state'] == 'timeout' and outcome['seconds'] == 30.0
    assert outcome['message'] == 'deployment "web" still rolling out after 30 s (1 of 3 updated, 3 available)'
    assert outcome['progress'][0]['elapsed'] == 25.0 and api.lists


def test_return_after_ends_early_when_the_rollout_completes():
    clock = Clock()
    outcome, _obj = watch(Api([dep(updated=1), dep()]), timeout=300, clock=clock, return_after=10, waited=40)
    assert outcome['state'] == 'complete' and outcome['seconds'] == 42.0 and clock.sleeps == [2]
