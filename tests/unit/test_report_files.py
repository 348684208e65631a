"""report_files: every entry checked before any write, the same content never rewritten, modes kept."""
import os
import stat

import pytest

from ansible_collections.clickview.runbook.plugins.module_utils import report_files as rf


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_each_file_whole_with_the_mode(tmp_path):
    files = [{'path': str(tmp_path / 'r.md'), 'content': '# report\n'},
             {'path': str(tmp_path / 'r-latest.md'), 'content': '# report\n'},
             {'path': str(tmp_path / 'r.json'), 'content': '{}\n'}]
    planned = rf.plan(files)
    assert [item['changed'] for item in planned] == [True, True, True]
    written = rf.write(planned)
    assert written == [entry['path'] for entry in files]
    assert (tmp_path / 'r-latest.md').read_text() == '# report\n'
    assert mode_of(tmp_path / 'r.json') == 0o640
    assert not [name for name in os.listdir(tmp_path) if name.endswith('.tmp')]


def test_second_run_with_the_same_content_changes_nothing(tmp_path):
    files = [{'path': str(tmp_path / 'r.md'), 'content': 'a'}]
    rf.write(rf.plan(files))
    before = os.stat(tmp_path / 'r.md').st_mtime_ns
    planned = rf.plan(files)
    assert planned[0]['changed'] is False
    assert rf.write(planned) == []
    assert os.stat(tmp_path / 'r.md').st_mtime_ns == before


def test_only_the_mode_is_corrected_when_the_content_is_right(tmp_path):
    path = tmp_path / 'r.md'
    path.write_text('a')
    os.chmod(path, 0o644)
    planned = rf.plan([{'path': str(path), 'content': 'a'}])
    assert planned[0] == {'path': str(path), 'content': 'a', 'before': 'a', 'rewrite': False, 'changed': True}
    assert rf.write(planned) == [str(path)]
    assert mode_of(path) == 0o640
    assert rf.diff(planned) == []


def test_a_bad_entry_fails_before_anything_is_written(tmp_path):
    files = [{'path': str(tmp_path / 'good.md'), 'content': 'a'},
             {'path': 'relative.md', 'content': 'b'}]
    with pytest.raises(rf.ReportFilesError, match=r'files\[1\]\.path: relative\.md is not an absolute path'):
        rf.plan(files)
    assert not (tmp_path / 'good.md').exists()


@pytest.mark.parametrize('entry, message', [
    ('text', r'files\[0\]: expected a mapping'),
    ({'path': '/tmp/x', 'content': 'a', 'dest': 'y'}, r'files\[0\]: unknown key\(s\) dest'),
    ({'content': 'a'}, r'files\[0\]\.path: give the file path'),
    ({'path': '/nonexistent-folder-of-the-test/r.md', 'content': 'a'}, r'the folder /nonexistent-folder-of-the-test does not exist'),
    ({'path': '/tmp/r.md', 'content': 42}, r'files\[0\]\.content: give the text to write'),
    ({'path': '/tmp', 'content': 'a'}, r'is a folder, not a file'),
])
def test_bad_entries_are_named(entry, message):
    with pytest.raises(rf.ReportFilesError, match=message):
        rf.plan([entry])


def test_a_list_of_paths_gets_the_same_content_each(tmp_path):
    files = [{'path': [str(tmp_path / 'r-1.md'), str(tmp_path / 'r-latest.md')], 'content': '# report\n'},
             {'path': str(tmp_path / 'r.json'), 'content': '{}\n'}]
    planned = rf.plan(files)
    assert [item['path'] for item in planned] == [str(tmp_path / n) for n in ('r-1.md', 'r-latest.md', 'r.json')]
    rf.write(planned)
    assert (tmp_path / 'r-1.md').read_text() == (tmp_path / 'r-latest.md').read_text() == '# report\n'


@pytest.mark.parametrize('path, message', [
    ([], r'files\[0\]\.path: give the file path, or a non-empty list'),
    (['/tmp/a.md', 'relative.md'], r'files\[0\]\.path\[1\]: relative\.md is not an absolute path'),
    (['/tmp/a.md', None], r'files\[0\]\.path\[1\]: give the file path'),
])
def test_bad_paths_in_a_list_are_named(path, message):
    with pytest.raises(rf.ReportFilesError, match=message):
        rf.plan([{'path': path, 'content': 'a'}])


def test_a_path_in_a_list_and_alone_with_different_contents_is_refused(tmp_path):
    path = str(tmp_path / 'r.md')
    with pytest.raises(rf.ReportFilesError, match=r'files\[1\]\.path\[0\]: .* given twice with different contents'):
        rf.plan([{'path': path, 'content': 'a'}, {'path': [path, str(tmp_path / 'b.md')], 'content': 'b'}])
    assert not os.listdir(tmp_path)


def test_empty_list_and_conflicting_duplicates_are_refused(tmp_path):
    with pytest.raises(rf.ReportFilesError, match='files: give a non-empty list'):
        rf.plan([])
    path = str(tmp_path / 'r.md')
    with pytest.raises(rf.ReportFilesError, match=r'files\[1\]\.path: .* given twice with different contents'):
        rf.plan([{'path': path, 'content': 'a'}, {'path': path, 'content': 'b'}])
    assert len(rf.plan([{'path': path, 'content': 'a'}, {'path': path, 'content': 'a'}])) == 1


@pytest.mark.parametrize('value, expected', [(None, 0o640), ('0600', 0o600), ('640', 0o640), (0o600, 0o600)])
def test_mode(value, expected):
    assert rf.parse_mode(value) == expected


@pytest.mark.parametrize('value', ['rw-r-----', '01777', True, '0o999'])
def test_bad_mode_is_named(value):
    with pytest.raises(rf.ReportFilesError, match='^mode: '):
        rf.parse_mode(value)


def test_diff_shows_before_and_after(tmp_path):
    path = tmp_path / 'r.md'
    path.write_text('old\n')
    assert rf.diff(rf.plan([{'path': str(path), 'content': 'new\n'}])) == [
        {'before_header': str(path), 'after_header': str(path), 'before': 'old\n', 'after': 'new\n'}]


def test_data_content_is_written_as_json(tmp_path):
    """Ansible before 2.19 hands a JSON-looking templated string over as data."""
    planned = rf.plan([{'path': str(tmp_path / 'r.json'), 'content': {'b': [1], 'a': None}}])
    assert planned[0]['content'] == '{\n    "a": null,\n    "b": [\n        1\n    ]\n}\n'
