"""plugins/filter/hpa_change_check: is the HPA read back what the temporary maxReplicas change (or its restore) wrote?"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.clickview.runbook.plugins.filter.hpa_change_check import hpa_change_check  # noqa: E402

PREFIX = "runbook.clickview.io"


def hpa(max_replicas, recorded=None, current=4):
    annotations = {PREFIX + "/previous-max-replicas": recorded} if recorded is not None else None
    return {"metadata": {"name": "clickview-backend", "annotations": annotations},
            "spec": {"minReplicas": 2, "maxReplicas": max_replicas}, "status": {"currentReplicas": current}}


def test_raised_with_the_old_value_recorded_is_ok():
    row = hpa_change_check(hpa(20, "10"), "hpa_max", 20, "", 10, PREFIX)
    assert (row["check"], row["target"], row["status"]) == ("hpa.max_replicas", "hpa/clickview-backend", "OK")
    assert row["figure"] == "maxReplicas 20 (min 2, current replicas 4), value to restore recorded: 10"
    assert row["threshold"] == "maxReplicas 20, previous value recorded"
    assert (row["value"], row["unit"]) == (20, "pods")


def test_raised_without_the_record_or_to_another_value_fails():
    assert hpa_change_check(hpa(20), "hpa_max", 20, "", 10, PREFIX)["status"] == "FAIL"        # nothing to restore to
    assert hpa_change_check(hpa(15, "10"), "hpa_max", 20, "", 10, PREFIX)["status"] == "FAIL"  # another writer won


def test_setting_the_value_it_already_has_needs_no_record():
    row = hpa_change_check(hpa(10), "hpa_max", 10, "", 10, PREFIX)
    assert row["status"] == "OK" and row["figure"].endswith(", no temporary change recorded")
    # raised a second time: the first record (the value before any change) is kept, not overwritten
    assert hpa_change_check(hpa(30, "10"), "hpa_max", 30, "10", 20, PREFIX)["status"] == "OK"


def test_restored_with_the_record_removed_is_ok_and_a_left_record_fails():
    assert hpa_change_check(hpa(10), "hpa_restore", 10, "10", 20, PREFIX)["status"] == "OK"
    left = hpa_change_check(hpa(10, "10"), "hpa_restore", 10, "10", 20, PREFIX)
    assert left["status"] == "FAIL" and left["threshold"] == "maxReplicas 10, record removed"


def test_nothing_to_restore_warns_and_says_so():
    row = hpa_change_check(hpa(12), "hpa_restore", 12, "", 12, PREFIX)
    assert row["status"] == "WARN" and row["figure"] == "nothing to restore: no temporary change recorded; maxReplicas stays 12"


def test_check_mode_reports_the_plan_and_no_value():
    row = hpa_change_check(hpa(10), "hpa_max", 20, "", 10, PREFIX, check_mode=True,
                           summary="would set hpa/clickview-backend maxReplicas 10\n→ 20 (value to restore: 10) ")
    assert row["status"] == "OK" and row["figure"].startswith("check mode: would set") and row["value"] is None


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="hpa_max or hpa_restore"):
        hpa_change_check(hpa(10), "hpa_min", 10, "", 10, PREFIX)
