"""plugins/module_utils/common.py: the duration grammar, the atomic write and fail()."""
import os

import pytest

from ansible_collections.clickview.runbook.plugins.module_utils import common
from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError


@pytest.mark.parametrize('value,seconds', [
    (300, 300), ('300', 300), ('300.5', 300.5), ('90s', 90), ('5m', 300), ('1h30m', 5400),
    ('1d 2h', 93600), ('2w', 1209600), ('1H30M', 5400)])
def test_durations(value, seconds):
    assert common.parse_duration(value, 'wait') == seconds


@pytest.mark.parametrize('value,words', [
    ('5x', 'cannot parse'), ('1h1h', 'a unit appears twice'), ('-5m', 'must not be negative'),
    (True, 'expected a duration'), (None, 'expected a duration'), ([], 'got a list'), (float('nan'), 'finite'),
    ('', 'cannot parse')])
def test_bad_durations_name_the_parameter(value, words):
    with pytest.raises(ClickviewError) as err:
        common.parse_duration(value, 'wait')
    assert err.value.param == 'wait'
    assert str(err.value).startswith('wait: ') and words in str(err.value)


def test_minimum_is_enforced_at_the_boundary():
    assert common.parse_duration('1m', 'expire_after', minimum=60) == 60
    with pytest.raises(ClickviewError, match='shorter than 1 minute'):
        common.parse_duration('59s', 'expire_after', minimum=60)


def test_atomic_write_replaces_whole_with_the_mode(tmp_path):
    path = tmp_path / 'record.json'
    path.write_text('old')
    common.atomic_write(str(path), 'new', mode=0o640)
    assert path.read_text() == 'new'
    assert oct(path.stat().st_mode & 0o777) == '0o640'
    assert os.listdir(tmp_path) == ['record.json']      # no temporary file left


def test_atomic_write_without_overwrite_keeps_the_existing_file(tmp_path):
    path = tmp_path / 'events.jsonl'
    path.write_text('first')
    with pytest.raises(FileExistsError):
        common.atomic_write(str(path), 'second', overwrite=False)
    assert path.read_text() == 'first'
    assert os.listdir(tmp_path) == ['events.jsonl']


class FakeModule:
    def fail_json(self, **result):
        self.result = result


def test_fail_gives_message_parameter_and_partial_result():
    module = FakeModule()
    common.fail(module, ClickviewError('count: too many', param='count', partial={'done': 2}), changed=True)
    assert module.result == {'msg': 'count: too many', 'param': 'count', 'done': 2, 'changed': True}
    common.fail(module, ClickviewError('no single option'))
    assert module.result == {'msg': 'no single option'}


def test_parse_time_reads_the_stamps_the_collection_meets():
    from ansible_collections.clickview.runbook.plugins.module_utils.common import UTC, parse_time
    import datetime
    at = datetime.datetime(2026, 12, 6, 16, 0, 5, tzinfo=UTC)
    assert parse_time("2026-12-06T16:00:05Z") == at                          # Kubernetes, pgBackRest
    assert parse_time("2026-12-06 17:00:05+01:00") == at                     # PostgreSQL's text
    assert parse_time("2026-12-06T16:00:05") == at                           # no zone: UTC
    assert parse_time(at.replace(tzinfo=None)) == at and parse_time(at) is not None
    assert parse_time("2026-12-06T16:00:05.123456Z").tzinfo is not None
    for unreadable in (None, "", "yesterday", "2026-13-06T00:00:00Z"):
        assert parse_time(unreadable) is None
