"""split_list: survey answers (one string) and command-line lists give the same items."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.split_list import split_list


@pytest.mark.parametrize("given, items", [
    ("203.0.113.7\n198.51.100.0/24\n", ["203.0.113.7", "198.51.100.0/24"]),
    ("203.0.113.7, 198.51.100.9,2001:db8::1", ["203.0.113.7", "198.51.100.9", "2001:db8::1"]),
    ("  203.0.113.7\r\n\r\n  2001:db8::/32  ", ["203.0.113.7", "2001:db8::/32"]),
    (["203.0.113.7", " 198.51.100.9 "], ["203.0.113.7", "198.51.100.9"]),
    (["203.0.113.7\n198.51.100.9"], ["203.0.113.7", "198.51.100.9"]),  # a textarea answer after list conversion
    ([4711, "42"], ["4711", "42"]),
    (4711, ["4711"]),
    ("", []),
    ([], []),
    ([""], []),  # an empty optional answer after list conversion
    (None, []),
])
def test_items(given, items):
    assert split_list(given) == items
