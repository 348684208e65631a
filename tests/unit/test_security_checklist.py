"""plugins/filter/security_checklist.py: the post-incident checklist's state, step by step."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.security_checklist import security_checklist

STEPS = [{"key": key, "text": key.replace("_", " ")} for key in (
    "preserve_evidence", "rotate_credentials", "audit_access_logs", "notify_affected_users", "document_timeline",
    "forensic_analysis", "additional_controls")]


def states(**kwargs):
    return {row["key"]: row["state"] for row in security_checklist(STEPS, **kwargs)}


def step(name, failed=False):
    details = {"step": name}
    if failed:
        details["failed"] = True
    return {"kind": "action", "event": name, "details": details}


def test_nothing_done_yet():
    assert states() == {"preserve_evidence": "open", "rotate_credentials": "open", "audit_access_logs": "open",
                        "notify_affected_users": "not_applicable", "document_timeline": "in_progress",
                        "forensic_analysis": "open", "additional_controls": "open"}


def test_numbers_keys_and_texts_in_order():
    rows = security_checklist(STEPS[:2])
    assert rows == [{"number": 1, "key": "preserve_evidence", "step": "preserve evidence", "state": "open"},
                    {"number": 2, "key": "rotate_credentials", "step": "rotate credentials", "state": "open"}]
    assert security_checklist([]) == []


def test_evidence_and_revoke_done():
    got = states(timeline=[step("evidence"), step("revoke"), {"kind": "note", "event": "no details"}])
    assert got["preserve_evidence"] == "done"
    assert got["audit_access_logs"] == "in_progress"
    assert got["rotate_credentials"] == "in_progress"


def test_a_failed_step_is_not_done():
    got = states(timeline=[step("evidence", failed=True), step("revoke", failed=True)])
    assert (got["preserve_evidence"], got["audit_access_logs"], got["rotate_credentials"]) == ("open", "open", "open")


@pytest.mark.parametrize("incident_type, public_impact, expected", [
    ("data_breach", False, "open"), ("credential_compromise", False, "open"), ("ddos", "True", "open"),
    ("ddos", False, "not_applicable"), ("", "false", "not_applicable"), ("malware", None, "not_applicable"),
])
def test_affected_users_are_notified_for_breaches_and_public_impact(incident_type, public_impact, expected):
    assert states(incident_type=incident_type, public_impact=public_impact)["notify_affected_users"] == expected


def test_the_timeline_is_documented_once_resolved():
    assert states(status="resolved")["document_timeline"] == "done"
    assert states(status="monitoring")["document_timeline"] == "in_progress"


def test_overrides_win_and_are_trimmed():
    got = states(timeline=[step("evidence")], overrides={"preserve_evidence": "open ", "forensic_analysis": "done"})
    assert (got["preserve_evidence"], got["forensic_analysis"]) == ("open", "done")


def test_a_step_without_a_state_is_an_error_unless_overridden():
    extra = STEPS + [{"key": "brief_the_board", "text": "Brief the board"}]
    with pytest.raises(AnsibleFilterError, match="brief_the_board"):
        security_checklist(extra)
    assert security_checklist(extra, overrides={"brief_the_board": "done"})[-1]["state"] == "done"


def test_each_step_counts_only_for_its_own_items():
    revoked = states(timeline=[step("revoke")])
    assert (revoked["rotate_credentials"], revoked["preserve_evidence"], revoked["audit_access_logs"]) == \
        ("in_progress", "open", "open")
    assert states(timeline=[step("evidence")])["rotate_credentials"] == "open"


def test_a_rotated_login_puts_rotation_in_progress():
    """One login rotated (security_rotate_credentials.yml) is progress, not "all credentials": never done by itself."""
    assert states(timeline=[step("rotate_credentials")])["rotate_credentials"] == "in_progress"
    assert states(timeline=[step("rotate_credentials", failed=True)])["rotate_credentials"] == "open"
    assert states(timeline=[step("unblock")])["rotate_credentials"] == "open"
