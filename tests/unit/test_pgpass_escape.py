"""plugins/filter/pgpass_escape.py: a password with colons and backslashes still matches its line."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.pgpass_escape import pgpass_escape


def test_colon_and_backslash_are_escaped():
    assert pgpass_escape('p:a\\ss') == 'p\\:a\\\\ss'


def test_plain_values_are_unchanged():
    assert pgpass_escape('replicator') == 'replicator'
    assert pgpass_escape(None) == ''


def test_a_line_break_is_refused():
    with pytest.raises(ValueError, match='line break'):
        pgpass_escape('pass\nword')
