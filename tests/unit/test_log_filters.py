"""plugins/filter/log_targets.py, container_logs.py, log_groups.py: which logs are read and how their lines are grouped."""
from ansible_collections.clickview.runbook.plugins.filter.container_logs import container_logs
from ansible_collections.clickview.runbook.plugins.filter.log_groups import log_groups, truncate
from ansible_collections.clickview.runbook.plugins.filter.log_targets import log_targets

ERRORS = '(?i)error|fatal|panic|exception'


def pod(name, *statuses):
    return {'metadata': {'name': name}, 'status': {'containerStatuses': list(statuses)}}


def test_a_restarted_container_is_read_twice():
    pods = [pod('b-1', {'name': 'backend', 'restartCount': 2, 'state': {'running': {}}, 'lastState': {'terminated': {}}}),
            pod('b-2', {'name': 'backend', 'restartCount': 0, 'state': {'running': {}}})]
    assert log_targets(pods) == [{'pod': 'b-1', 'container': 'backend', 'previous': False},
                                 {'pod': 'b-1', 'container': 'backend', 'previous': True},
                                 {'pod': 'b-2', 'container': 'backend', 'previous': False}]


def test_crash_looping_container_is_read_both_ways():
    """It may start again between the read of its status and of its log: the current log is then the new run, and
    only --previous has the run that crashed (the OOM line of a leak)."""
    waiting = {'name': 'backend', 'restartCount': 5, 'state': {'waiting': {'reason': 'CrashLoopBackOff'}},
               'lastState': {'terminated': {'reason': 'OOMKilled'}}}
    assert log_targets([pod('b-1', waiting)]) == [{'pod': 'b-1', 'container': 'backend', 'previous': False},
                                                  {'pod': 'b-1', 'container': 'backend', 'previous': True}]


def test_a_previous_log_equal_to_the_current_one_is_not_counted_twice():
    crashed = ['starting', 'fatal error: runtime: out of memory (OOMKilled)']
    item = {'pod': 'b-1', 'container': 'backend'}
    still_waiting = {'results': [{'item': dict(item, previous=False), 'log_lines': crashed},
                                 {'item': dict(item, previous=True), 'log_lines': crashed}]}
    assert container_logs(still_waiting)['logs'] == [dict(item, previous=False, lines=crashed)]
    started_again = {'results': [{'item': dict(item, previous=False), 'log_lines': ['starting']},
                                 {'item': dict(item, previous=True), 'log_lines': crashed}]}
    assert [log['lines'] for log in container_logs(started_again)['logs']] == [['starting'], crashed]


def test_container_never_started_has_no_log():
    assert log_targets([pod('b-1', {'name': 'backend', 'state': {'waiting': {'reason': 'ContainerCreating'}}})]) == []
    assert log_targets([{'metadata': {'name': 'p'}, 'status': {}}]) == []
    assert log_targets(None) == []


def test_lines_kept_and_errors_named():
    raw = {'results': [{'item': {'pod': 'b-1', 'container': 'backend', 'previous': False}, 'log_lines': ['a', '', 'b']},
                       {'item': {'pod': 'b-2', 'container': 'backend', 'previous': True}, 'failed': True,
                        'msg': 'previous terminated container not found'},
                       {'item': {'pod': 'b-3', 'container': 'backend', 'previous': False}}]}
    out = container_logs(raw)
    assert out['logs'] == [{'pod': 'b-1', 'container': 'backend', 'previous': False, 'lines': ['a', 'b']}]
    assert out['errors'] == ['b-2/backend: previous terminated container not found', 'b-3/backend: no log']
    assert container_logs({}) == {'logs': [], 'errors': []}


def logs(*per_pod):
    return [{'pod': name, 'container': 'backend', 'previous': False, 'lines': list(lines)} for name, lines in per_pod]


def test_error_lines_grouped_by_msg_and_err_most_frequent_first():
    timeout = 'level=error msg="request failed" err="upstream timeout: search-svc" id=%d'
    out = log_groups(logs(('b-1', [timeout % 1, 'level=info msg="ok"', timeout % 2, 'level=error msg="db" err="pool"']),
                          ('b-2', [timeout % 3])), ERRORS)
    assert out['lines'] == 5 and len(out['matched']) == 4
    assert [(g['message'], g['count'], g['pods']) for g in out['groups']] == [
        ('msg="request failed" err="upstream timeout: search-svc"', 3, ['b-1', 'b-2']),
        ('msg="db" err="pool"', 1, ['b-1'])]
    assert out['groups'][0]['text'] == '3x msg="request failed" err="upstream timeout: search-svc" (pods: b-1, b-2)'


def test_unstructured_lines_group_without_their_numbers():
    out = log_groups(logs(('b-1', ['ERROR request 17 took 3000 ms', 'ERROR request 4711 took 12 ms'])), ERRORS)
    assert [(g['message'], g['count']) for g in out['groups']] == [('ERROR request N took N ms', 2)]


def test_long_lines_are_cut_like_jinja_truncate():
    line = 'ERROR ' + 'word ' * 60
    message = log_groups(logs(('b-1', [line])), ERRORS)['groups'][0]['message']
    assert len(message) <= 160 and message.endswith('...')
    assert truncate('x' * 165) == 'x' * 165 and truncate('x' * 166) == 'x' * 157 + '...'


def test_ties_are_ordered_by_message():
    out = log_groups(logs(('b-1', ['error msg="b"', 'error msg="a"'])), ERRORS)
    assert [g['message'] for g in out['groups']] == ['msg="a"', 'msg="b"']


def test_no_lines_and_no_matches():
    assert log_groups([], ERRORS) == {'lines': 0, 'matched': [], 'groups': []}
    assert log_groups(logs(('b-1', ['all good'])), ERRORS) == {'lines': 1, 'matched': [], 'groups': []}


def test_memory_lines_keyed_by_message_and_limit_with_the_last_line():
    lines = ['level=warn msg="heap usage high" heap_mb=200 limit_mb=256', 'level=warn msg="heap usage high" heap_mb=250 limit_mb=256',
             'fatal error: out of memory', 'level=info msg="served"']
    out = log_groups(logs(('b-1', lines)), '(?i)memory|heap|oom', keys=['msg="[^"]*"', 'limit_mb=[0-9]+'], with_last=True)
    assert [g['message'] for g in out['groups']] == ['msg="heap usage high" limit_mb=256', 'fatal error: out of memory']
    assert out['groups'][0]['text'] == ('2x msg="heap usage high" limit_mb=256 (pods: b-1); '
                                        'last: level=warn msg="heap usage high" heap_mb=250 limit_mb=256')
    assert out['groups'][0]['last'].endswith('heap_mb=250 limit_mb=256')
