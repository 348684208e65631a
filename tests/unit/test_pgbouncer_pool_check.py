"""pgbouncer_pool_check: the pool procedure's row from SHOW CONFIG and SHOW DATABASES after the change."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.pgbouncer_pool_check import pgbouncer_pool_check

CONFIG = [{"key": "max_client_conn", "value": "1000"}, {"key": "default_pool_size", "value": "40"}]
DATABASES = [{"name": "clickview", "pool_size": 40}, {"name": "pgbouncer", "pool_size": 2}, {"name": "reporting", "pool_size": 10}]


def check(answers, wanted=40, **kwargs):
    return pgbouncer_pool_check(answers, wanted=wanted, before="20", target="pgbouncer 127.0.0.1:16432",
                                bounds={"min": 5, "max": 200}, max_client_conn="1000", **kwargs)


def test_the_size_asked_for_is_ok_with_its_value():
    row = check([CONFIG, DATABASES], diff="-default_pool_size = 20\n+default_pool_size = 40\n")
    assert (row["check"], row["target"], row["status"]) == ("pgbouncer.default_pool_size", "pgbouncer 127.0.0.1:16432", "OK")
    # the admin database is not a pool of the application
    assert row["figure"] == ("SHOW CONFIG default_pool_size 40 (was 20); pool size per database clickview: 40, reporting: 10; "
                             "max_client_conn 1000")
    assert row["threshold"] == "40, within 5..200" and row["detail"].startswith("-default_pool_size = 20")
    assert (row["value"], row["unit"]) == (40, "connections")


def test_a_size_not_taken_fails():
    row = check([CONFIG, DATABASES], wanted=100)
    assert row["status"] == "FAIL" and row["value"] == 40 and row["threshold"].startswith("100,")


@pytest.mark.parametrize("answers", [[], None, [{}, {}], [[{"key": "max_client_conn", "value": "1000"}], []]])
def test_a_console_that_could_not_be_read_fails_without_a_value(answers):
    row = check(answers)
    assert row["status"] == "FAIL" and row["value"] is None
    assert row["figure"].startswith("SHOW CONFIG default_pool_size unreadable (was 20)")


def test_check_mode_says_what_would_be_set():
    row = check([CONFIG, DATABASES], wanted=100, check_mode=True)
    assert row["status"] == "OK" and "(was 20); would set 100 (check mode); pool size per database" in row["figure"]


def test_bounds_must_be_a_dictionary():
    with pytest.raises(AnsibleFilterError, match="bounds must be a dictionary"):
        pgbouncer_pool_check([], wanted=1, before=1, target="t", bounds=None)
