# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/k8s_rollout.py (no API server, no AnsibleModule)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import sys

import pytest

_COLLECTIONS = os.path.join(os.path.dirname(__file__), '..', '..', '.collections')
if os.path.isdir(_COLLECTIONS) and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.clickview.runbook.plugins.module_utils import k8s_rollout as kr  # noqa: E402

UID = 'uid-web'
OWNER = {'uid': UID, 'controller': True, 'kind': 'Deployment', 'name': 'web'}


def template(image, env=None, hash_label=None):
    labels = {'app': 'web'}
    if hash_label:
        labels['pod-template-hash'] = hash_label
    c = {'name': 'web', 'image': image}
    if env:
        c['env'] = env
    return {'metadata': {'labels': labels}, 'spec': {'containers': [c]}}


def rs(revision, image, history=None, cause=None, owner=None, name=None):
    ann = {kr.REVISION: str(revision)}
    if history:
        ann[kr.REVISION_HISTORY] = history
    if cause:
        ann[kr.CHANGE_CAUSE] = cause
    h = name or 'h%s' % image.rsplit(':', 1)[-1].replace('.', '')
    return {'metadata': {'name': 'web-' + h, 'annotations': ann, 'ownerReferences': [owner or OWNER],
                         'creationTimestamp': '2025-01-0%dT00:00:00Z' % min(revision, 9)},
            'spec': {'template': template(image, hash_label=h)}}


def cr(revision, image, owner_uid='uid-db'):
    t = template(image)
    t['$patch'] = 'replace'
    return {'metadata': {'name': 'db-%d' % revision, 'ownerReferences': [{'uid': owner_uid, 'controller': True}]},
            'revision': revision, 'data': {'spec': {'template': t}}}


def deployment(image, annotations=None, rv='100', **spec):
    d = {'metadata': {'name': 'web', 'namespace': 'prod', 'uid': UID, 'resourceVersion': rv, 'generation': 7,
                      'annotations': dict(annotations or {kr.REVISION: '4', 'team': 'platform'})},
         'spec': dict({'replicas': 3, 'selector': {'matchLabels': {'app': 'web'}}, 'template': template(image)}, **spec),
         'status': {'observedGeneration': 7, 'replicas': 3, 'updatedReplicas': 3, 'availableReplicas': 3}}
    return d


# ---- history and revision selection -----------------------------------------------------------

def entries(*objs, **kw):
    owner = kw.get('owner') or deployment('x')
    return kr.history_entries(kw.get('kind', 'Deployment'), owner, list(objs))


def test_history_sorted_by_revision_and_hash_label_stripped():
    es = entries(rs(3, 'app:3'), rs(1, 'app:1'), rs(2, 'app:2'))
    assert [e['revision'] for e in es] == [1, 2, 3]
    assert es[0]['template'] == template('app:1')  # no pod-template-hash
    assert es[2]['images'] == ['app:3']


def test_history_ignores_replicasets_of_other_owners_and_without_revision():
    other = dict(OWNER, uid='someone-else')
    es = entries(rs(1, 'app:1'), rs(2, 'app:2', owner=other), rs(0, 'app:0'))
    assert [e['revision'] for e in es] == [1]


def test_default_target_is_highest_revision_below_current_on_non_contiguous_history():
    # 1..4 released, then two rollbacks: 3 became 5, later 2 became 6, then 4 re-deployed became 7
    es = entries(rs(1, 'app:1'), rs(5, 'app:3', history='3'), rs(6, 'app:2', history='2'),
                 rs(7, 'app:4', history='4'))
    assert kr.select_target(es, 7)['revision'] == 6
    assert kr.select_target(es, 6)['revision'] == 5
    assert kr.select_target(es, 5)['revision'] == 1


def test_default_target_without_known_current_is_the_highest():
    es = entries(rs(1, 'app:1'), rs(2, 'app:2'))
    assert kr.select_target(es, None)['revision'] == 2


def test_to_revision_found_by_number_or_by_the_number_it_had_before_a_rollback():
    es = entries(rs(1, 'app:1'), rs(4, 'app:4'), rs(5, 'app:3', history='2,3'))
    assert kr.select_target(es, 5, 4)['images'] == ['app:4']
    assert kr.select_target(es, 5, 3)['revision'] == 5
    assert kr.select_target(es, 5, 2)['revision'] == 5


def test_missing_revision_names_it_and_the_available_ones():
    es = entries(rs(2, 'app:2'), rs(3, 'app:3'), rs(5, 'app:5'))
    with pytest.raises(kr.RolloutError) as e:
        kr.select_target(es, 5, 4)
    assert 'revision 4 not found' in e.value.message
    assert '2, 3, 5' in e.value.message
    assert e.value.details['available_revisions'] == [2, 3, 5]


def test_no_history_and_nothing_below_current():
    with pytest.raises(kr.RolloutError, match='no rollout history'):
        kr.select_target([], None)
    es = entries(rs(1, 'app:1'))
    with pytest.raises(kr.RolloutError, match='no revision before the current revision 1'):
        kr.select_target(es, 1)


def test_controller_revisions_ordered_by_revision_field_and_patch_marker_dropped():
    sts = {'metadata': {'name': 'db', 'uid': 'uid-db'}}
    crs = [cr(4, 'pg:15.6'), cr(2, 'pg:15.5'), cr(3, 'pg:15.4'), cr(9, 'other', owner_uid='x')]
    es = kr.history_entries('StatefulSet', sts, crs)
    assert [e['revision'] for e in es] == [2, 3, 4]
    assert '$patch' not in es[0]['template']
    assert kr.current_entry(es, template('pg:15.6'))['revision'] == 4
    assert kr.select_target(es, 4)['images'] == ['pg:15.4']


def test_current_entry_matches_template_ignoring_hash_and_null_metadata():
    es = entries(rs(1, 'app:1'), rs(2, 'app:2'))
    live = template('app:1')
    live['metadata']['creationTimestamp'] = None
    assert kr.current_entry(es, live)['revision'] == 1
    assert kr.current_entry(es, template('app:9')) is None


# ---- diff ---------------------------------------------------------------------------------------

def test_template_changes_lists_image_env_resources_and_pod_fields():
    before = template('app:2', env=[{'name': 'A', 'value': '1'}])
    before['spec']['containers'][0]['resources'] = {'limits': {'cpu': '1'}}
    before['spec']['serviceAccountName'] = 'web'
    after = template('app:1')
    changes = kr.template_changes(before, after)
    fields = {(c['container'], c['field']) for c in changes}
    assert fields == {('web', 'image'), ('web', 'env'), ('web', 'resources'), (None, 'spec.serviceAccountName')}
    img = [c for c in changes if c['field'] == 'image'][0]
    assert (img['before'], img['after']) == ('app:2', 'app:1')
    assert kr.template_changes(after, copy.deepcopy(after)) == []


def test_selector_string():
    sel = {'matchLabels': {'b': '2', 'a': '1'},
           'matchExpressions': [{'key': 'tier', 'operator': 'In', 'values': ['web', 'api']},
                                {'key': 'legacy', 'operator': 'DoesNotExist'}]}
    assert kr.selector_string(sel) == 'a=1,b=2,tier in (web,api),!legacy'


# ---- patch ----------------------------------------------------------------------------------------

def test_patch_writes_only_template_and_change_cause_with_resource_version_precondition():
    ops = kr.rollback_patch(deployment('app:4'), template('app:3'), 'because')
    assert ops[0] == {'op': 'test', 'path': '/metadata/resourceVersion', 'value': '100'}
    assert ops[1] == {'op': 'replace', 'path': '/spec/template', 'value': template('app:3')}
    assert ops[2] == {'op': 'add', 'path': '/metadata/annotations/kubernetes.io~1change-cause', 'value': 'because'}
    assert len(ops) == 3


def test_patch_creates_annotations_when_there_are_none_and_skips_empty_cause():
    d = deployment('app:4')
    d['metadata'].pop('annotations')
    assert kr.rollback_patch(d, template('a'), 'x')[-1] == {'op': 'add', 'path': '/metadata/annotations',
                                                            'value': {kr.CHANGE_CAUSE: 'x'}}
    assert len(kr.rollback_patch(d, template('a'), '')) == 2


# ---- rollout status -----------------------------------------------------------------------------

def test_deployment_status():
    d = deployment('a')
    assert kr.rollout_state('Deployment', d)[0] == 'done'
    d['metadata']['generation'] = 8
    assert kr.rollout_state('Deployment', d)[0] == 'waiting'
    d['status'].update(observedGeneration=8, updatedReplicas=1, replicas=4)
    assert kr.rollout_state('Deployment', d) == ('waiting', '1 out of 3 new replicas have been updated')
    d['status'].update(updatedReplicas=3, availableReplicas=2)
    assert kr.rollout_state('Deployment', d)[1] == '1 old replicas are pending termination'


def test_deployment_deadline_counts_only_for_the_target_replicaset():
    d = deployment('a')
    d['status']['updatedReplicas'] = 0
    d['status']['conditions'] = [{'type': 'Progressing', 'status': 'False', 'reason': 'ProgressDeadlineExceeded',
                                  'message': 'ReplicaSet "web-broken" has timed out progressing.'}]
    assert kr.rollout_state('Deployment', d, 'web-good')[0] == 'waiting'
    assert kr.rollout_state('Deployment', d, 'web-broken')[0] == 'failed'


def test_statefulset_and_daemonset_status():
    sts = {'metadata': {'name': 'db', 'generation': 2},
           'spec': {'replicas': 2, 'updateStrategy': {'type': 'RollingUpdate'}},
           'status': {'observedGeneration': 2, 'readyReplicas': 2, 'updateRevision': 'db-2', 'currentRevision': 'db-1'}}
    assert kr.rollout_state('StatefulSet', sts)[0] == 'waiting'
    sts['status']['currentRevision'] = 'db-2'
    assert kr.rollout_state('StatefulSet', sts)[0] == 'done'
    ds = {'metadata': {'name': 'ship', 'generation': 3},
          'status': {'observedGeneration': 3, 'desiredNumberScheduled': 3, 'updatedNumberScheduled': 3, 'numberAvailable': 2}}
    assert kr.rollout_state('DaemonSet', ds)[0] == 'waiting'
    ds['status']['numberAvailable'] = 3
    assert kr.rollout_state('DaemonSet', ds)[0] == 'done'


# ---- the rollback flow against a fake API --------------------------------------------------------

class FakeApi(object):
    """Holds one Deployment and its ReplicaSets; JSON patches are applied to the Deployment."""

    def __init__(self, dep, replicasets, fail_patch=None):
        self.dep, self.rss, self.patches, self.fail_patch = dep, replicasets, [], list(fail_patch or [])

    def get(self, path):
        if path.endswith('/deployments/web'):
            return copy.deepcopy(self.dep)
        raise kr.K8sApiError(404, 'NotFound', 'not found', 'GET', path)

    def list(self, path, label_selector=None, field_selector=None):
        if path.endswith('/replicasets'):
            assert label_selector == 'app=web'
            return copy.deepcopy(self.rss)
        if path.endswith('/deployments'):
            return [copy.deepcopy(self.dep)]
        return []

    def json_patch(self, path, ops):
        self.patches.append(ops)
        if self.fail_patch:
            raise self.fail_patch.pop(0)
        for op in ops:
            if op['op'] == 'test':
                assert self.dep['metadata']['resourceVersion'] == op['value']
            elif op['path'] == '/spec/template':
                self.dep['spec']['template'] = op['value']
            else:
                self.dep['metadata']['annotations'][kr.CHANGE_CAUSE] = op['value']
        self.dep['metadata']['generation'] += 1
        return copy.deepcopy(self.dep)


def history():
    return [rs(1, 'app:1', cause='release 1'), rs(2, 'app:2', cause='release 2'), rs(3, 'app:3', cause='release 3'),
            rs(4, 'app:4', cause='release 4')]


def test_plan_rolls_back_to_previous_and_keeps_other_annotations():
    api = FakeApi(deployment('app:4'), history())
    rb = kr.Rollback(api, 'Deployment', 'prod')
    result, patched = rb.apply(api.get('/apis/apps/v1/namespaces/prod/deployments/web'), reason='INC-1')
    assert result['changed'] and (result['from_revision'], result['to_revision']) == (4, 3)
    assert api.dep['spec']['template'] == template('app:3')
    assert api.dep['metadata']['annotations']['team'] == 'platform'
    assert api.dep['metadata']['annotations'][kr.CHANGE_CAUSE] == 'rollback to revision 3 (app:3) from revision 4: INC-1'
    assert [h['current'] for h in result['history']] == [False, False, False, True]
    assert result['images_before'] == ['app:4'] and result['images_after'] == ['app:3']


def test_plan_already_at_target_changes_nothing():
    api = FakeApi(deployment('app:3'), history())
    result, ops = kr.Rollback(api, 'Deployment', 'prod').plan(api.dep, to_revision=3)
    assert ops is None and result['changed'] is False and 'already runs revision 3' in result['msg']


def test_plan_refuses_bad_revision_and_paused_deployment_without_patching():
    api = FakeApi(deployment('app:4'), history())
    rb = kr.Rollback(api, 'Deployment', 'prod')
    with pytest.raises(kr.RolloutError) as e:
        rb.plan(api.dep, to_revision=9)
    assert 'deployment/web: revision 9 not found (available revisions: 1, 2, 3, 4)' == e.value.message
    with pytest.raises(kr.RolloutError, match='positive'):
        rb.plan(api.dep, to_revision=0)
    api.dep['spec']['paused'] = True
    with pytest.raises(kr.RolloutError, match='paused'):
        rb.plan(api.dep)
    assert api.patches == []


def test_apply_retries_when_the_object_changed_in_between():
    api = FakeApi(deployment('app:4'), history(),
                  fail_patch=[kr.K8sApiError(422, 'Invalid', 'testing value /metadata/resourceVersion failed')])
    result = kr.Rollback(api, 'Deployment', 'prod').apply(copy.deepcopy(api.dep), to_revision=2)[0]
    assert result['to_revision'] == 2
    assert len(api.patches) == 2 and api.dep['spec']['template'] == template('app:2')


def test_apply_does_not_retry_forbidden():
    api = FakeApi(deployment('app:4'), history(), fail_patch=[kr.K8sApiError(403, 'Forbidden', 'nope')])
    with pytest.raises(kr.K8sApiError):
        kr.Rollback(api, 'Deployment', 'prod').apply(copy.deepcopy(api.dep))
    assert len(api.patches) == 1


class RacingApi(FakeApi):
    """Another responder's rollback to app:3 lands between this task's read and its patch: the patch's
    resourceVersion test fails (409) and the controller has renumbered revision 3 as 5."""

    def json_patch(self, path, ops):
        if not self.patches:
            self.patches.append(ops)
            self.dep['spec']['template'] = template('app:3')
            self.dep['metadata']['resourceVersion'] = '101'
            self.rss = [r for r in self.rss if r['spec']['template']['spec']['containers'][0]['image'] != 'app:3']
            self.rss.append(rs(5, 'app:3', history='3'))
            raise kr.K8sApiError(409, 'Conflict', 'the object has been modified')
        return FakeApi.json_patch(self, path, ops)


def test_losing_the_race_to_another_rollback_never_restores_the_bad_release():
    api = RacingApi(deployment('app:4'), history())
    result, dummy = kr.Rollback(api, 'Deployment', 'prod').apply(copy.deepcopy(api.dep))
    # re-planning "the revision before" the new state would pick revision 4, the bad release
    assert api.dep['spec']['template'] == template('app:3')
    assert len(api.patches) == 1
    assert result['changed'] is False and result['outcome'] == 'already_rolled_back'
    assert 'by another writer' in result['msg']


def test_a_retry_reapplies_the_target_the_first_plan_chose():
    api = FakeApi(deployment('app:4'), history())

    def other_writer_then_conflict(path, ops, original=api.json_patch):
        api.json_patch = original
        api.dep['spec']['template'] = template('app:4', env=[{'name': 'X', 'value': '1'}])  # e.g. kubectl set env
        api.dep['metadata']['resourceVersion'] = '101'
        api.rss.append(rs(5, 'app:4', name='h4env'))
        api.rss[-1]['spec']['template'] = template('app:4', env=[{'name': 'X', 'value': '1'}], hash_label='h4env')
        api.patches.append(ops)
        raise kr.K8sApiError(409, 'Conflict', 'the object has been modified')
    api.json_patch = other_writer_then_conflict
    result, dummy = kr.Rollback(api, 'Deployment', 'prod').apply(copy.deepcopy(api.dep))
    # the new state's "previous" is revision 4; the first plan chose revision 3, and that is what runs
    assert api.dep['spec']['template'] == template('app:3')
    assert result['outcome'] == 'rolled_back' and result['to_revision'] == 3


@pytest.mark.parametrize('bad', [{'image': 'app:4'}, {'revision': 4}, {'revision': 4, 'image': 'app:4'}])
def test_a_release_no_longer_running_is_not_rolled_back_again(bad):
    dep = deployment('app:3')
    rss = [r for r in history() if r['metadata']['name'] != 'web-h3'] + [rs(5, 'app:3', history='3')]
    api = FakeApi(dep, rss)
    result, ops = kr.Rollback(api, 'Deployment', 'prod').plan(api.dep, bad=bad)
    assert ops is None and result['outcome'] == 'already_rolled_back' and not result['changed']
    assert 'no longer runs' in result['msg'] and 'app:3' in result['msg']
    # the bad release still running: rolled back as usual
    api = FakeApi(deployment('app:4'), history())
    result, dummy = kr.Rollback(api, 'Deployment', 'prod').apply(copy.deepcopy(api.dep), bad=bad)
    assert result['outcome'] == 'rolled_back' and api.dep['spec']['template'] == template('app:3')


def test_a_plan_says_would_and_only_an_accepted_patch_says_rolled_back():
    api = FakeApi(deployment('app:4'), history(), fail_patch=[kr.K8sApiError(403, 'Forbidden', 'nope')])
    rb = kr.Rollback(api, 'Deployment', 'prod')
    result, ops = rb.plan(api.dep)
    assert result['outcome'] == 'planned' and result['msg'].startswith('deployment/web would be rolled back')
    with pytest.raises(kr.K8sApiError):
        rb.apply(copy.deepcopy(api.dep))
    assert api.dep['spec']['template'] == template('app:4')


def test_missing_object_and_empty_selector():
    api = FakeApi(deployment('app:4'), history())
    rb = kr.Rollback(api, 'Deployment', 'prod')
    with pytest.raises(kr.RolloutError, match='Deployment "nope" not found in namespace "prod"'):
        rb.objects(name='nope')
    api.list = lambda path, label_selector=None, field_selector=None: []
    with pytest.raises(kr.RolloutError, match='matches the label selector "app=x"'):
        rb.objects(label_selector='app=x')


def test_wait_times_out_with_explanation():
    api = FakeApi(deployment('app:4'), history())
    api.dep['metadata']['generation'] = 9
    now = [0.0]
    rb = kr.Rollback(api, 'Deployment', 'prod', sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0])
    failed = rb.wait([({'target_name': 'web-h3'}, api.dep)], timeout=5)
    assert len(failed) == 1 and failed[0]['rollout'].startswith('timed out after 5s')
    assert failed[0]['events'] == [] and failed[0]['pods'] == []


def test_connection_options_match_kubernetes_core():
    """The doc fragment's options are kubernetes.core's, so its get_api_client reads them as its own modules do."""
    args_common = pytest.importorskip('ansible_collections.kubernetes.core.plugins.module_utils.args_common')
    from ansible_collections.clickview.runbook.plugins.module_utils.k8s_client import kubernetes_argument_spec
    from ansible_collections.clickview.runbook.plugins.module_utils.k8s_client import NOT_AUTH_OPTIONS
    ours = dict((k, v) for k, v in kubernetes_argument_spec().items() if k not in NOT_AUTH_OPTIONS)
    for name, spec in ours.items():
        theirs = dict(args_common.AUTH_ARG_SPEC[name])
        theirs.setdefault('type', 'str')
        assert spec == theirs, name
    assert set(args_common.AUTH_ARG_SPEC) - set(ours) == {'proxy_headers', 'persist_config'}


# ---- progress of the wait ------------------------------------------------------------------------

class RollingApi(FakeApi):
    """The Deployment's status moves one step on each read: (updated, ready, available) per poll."""

    def __init__(self, dep, steps):
        super(RollingApi, self).__init__(dep, history())
        self.steps = list(steps)

    def get(self, path):
        if self.steps:
            updated, ready, available = self.steps.pop(0)
            self.dep['status'].update(updatedReplicas=updated, readyReplicas=ready, availableReplicas=available,
                                      replicas=max(updated, 3))
        return super(RollingApi, self).get(path)


def clocked(api, kind='Deployment', interval=2.0):
    now = [100.0]
    return kr.Rollback(api, kind, 'prod', sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0],
                       poll_interval=interval)


def test_wait_records_the_progress_of_each_poll_and_the_time_waited():
    api = RollingApi(deployment('app:4'), [(1, 0, 0), (2, 1, 1), (3, 3, 3)])
    result = {'target_name': 'web-h3'}
    failed = clocked(api).wait([(result, api.dep)], timeout=60)
    assert failed == []
    assert result['progress'] == [
        {'elapsed': 0.0, 'replicas': 3, 'updated': 1, 'ready': 0, 'available': 0},
        {'elapsed': 2.0, 'replicas': 3, 'updated': 2, 'ready': 1, 'available': 1},
        {'elapsed': 4.0, 'replicas': 3, 'updated': 3, 'ready': 3, 'available': 3}]
    assert result['waited'] == 4.0
    assert result['rollout'] == 'deployment "web" successfully rolled out'


def test_a_timed_out_wait_keeps_the_first_and_the_latest_samples():
    api = RollingApi(deployment('app:4'), [(1, 0, 0)] + [(2, 1, 1)] * 200)
    result = {'target_name': 'web-h3'}
    failed = clocked(api, interval=1.0).wait([(result, api.dep)], timeout=150)
    assert failed == [result] and result['rollout'].startswith('timed out after 150s')
    progress = result['progress']
    assert len(progress) == kr.PROGRESS_LIMIT == 60
    assert progress[0] == {'elapsed': 0.0, 'replicas': 3, 'updated': 1, 'ready': 0, 'available': 0}
    assert [p['elapsed'] for p in progress[1:]] == [float(s) for s in range(92, 151)]
    assert result['waited'] == 150.0


def test_progress_sample_of_each_kind():
    sts = {'spec': {'replicas': 2}, 'status': {'updatedReplicas': 1, 'readyReplicas': 2, 'availableReplicas': 2}}
    assert kr.progress_sample('StatefulSet', sts, 1.26) == dict(elapsed=1.3, replicas=2, updated=1, ready=2, available=2)
    ds = {'status': {'desiredNumberScheduled': 4, 'updatedNumberScheduled': 3, 'numberReady': 2, 'numberAvailable': 1}}
    assert kr.progress_sample('DaemonSet', ds, 0) == dict(elapsed=0.0, replicas=4, updated=3, ready=2, available=1)
    # a Deployment the controller has not reported on yet
    assert kr.progress_sample('Deployment', {'spec': {}}, -1) == dict(elapsed=0.0, replicas=1, updated=0, ready=0, available=0)


def test_add_sample_caps_the_list():
    samples = []
    for i in range(10):
        kr.add_sample(samples, {'elapsed': float(i)}, limit=4)
    assert [s['elapsed'] for s in samples] == [0.0, 7.0, 8.0, 9.0]
