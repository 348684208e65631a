"""plugins/filter/evidence_storage.py (module_utils/security_evidence.evidence_storage): outside the lab, and
under AWX, the security evidence needs an S3 bucket; in the lab an empty bucket stays allowed."""
import pytest

from ansible_collections.clickview.runbook.plugins.filter.evidence_storage import evidence_storage

VAR = "security_incident_evidence_s3_bucket"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_staging_and_production_refuse_an_empty_bucket_naming_the_variable(environment):
    got = evidence_storage("", environment)
    assert got["required"] and not got["ok"] and got["where"] == ""
    assert got["msg"].startswith(VAR + " is empty") and "clickview_environment is %s" % environment in got["msg"]
    assert "Nothing was collected" in got["msg"]


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_staging_and_production_with_a_bucket(environment):
    got = evidence_storage("clickview-evidence-%s" % environment, environment)
    assert got == {"required": True, "ok": True, "where": "s3://clickview-evidence-%s" % environment,
                   "msg": "evidence kept in s3://clickview-evidence-%s" % environment}


def test_the_lab_allows_an_empty_bucket():
    got = evidence_storage("", "local")
    assert got["ok"] and not got["required"] and got["where"] == "local"
    assert VAR in got["msg"]


def test_the_lab_with_a_bucket_uploads():
    assert evidence_storage("clickview-backups", "local") == {
        "required": False, "ok": True, "where": "s3://clickview-backups", "msg": "evidence kept in s3://clickview-backups"}


@pytest.mark.parametrize("bucket", ["", "   ", None])
def test_an_unset_environment_counts_as_not_local(bucket):
    got = evidence_storage(bucket, "")
    assert got["required"] and not got["ok"] and "clickview_environment is not set" in got["msg"]
    assert not evidence_storage(bucket, None)["ok"]


def test_any_other_environment_needs_a_bucket():
    assert not evidence_storage("", "dev")["ok"]
    assert evidence_storage("b", "dev")["ok"]


def test_under_awx_even_the_lab_needs_a_bucket():
    got = evidence_storage("", "local", awx_job_id="1234")
    assert got["required"] and not got["ok"] and "AWX job 1234" in got["msg"]
    assert evidence_storage("clickview-backups", "local", awx_job_id=1234)["ok"]
    assert evidence_storage("", "local", awx_job_id="")["ok"]


def test_the_local_environments_and_the_variable_can_be_named():
    assert evidence_storage("", "drill", local_environments=["local", "drill"])["ok"]
    assert not evidence_storage("", "local", local_environments=[])["ok"]
    got = evidence_storage("", "staging", variable="pir_s3_bucket")
    assert got["msg"].startswith("pir_s3_bucket is empty")


def test_a_review_without_a_bucket_in_production_is_refused_naming_its_variable():
    got = evidence_storage("", "production", variable="post_incident_review_s3_bucket", subject="review")
    assert got["required"] and not got["ok"]
    assert got["msg"].startswith("post_incident_review_s3_bucket is empty, and clickview_environment is production")
    assert "post-incident review must be kept" in got["msg"] and got["msg"].endswith("Nothing was written.")
    assert "evidence" not in got["msg"]


def test_a_review_with_a_bucket_is_kept_there():
    got = evidence_storage("clickview-production-runbook-incidents", "production", subject="review")
    assert got["ok"] and got["msg"] == "review kept in s3://clickview-production-runbook-incidents"


def test_an_unknown_subject_is_refused_naming_it():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="subject must be one of evidence, review, not 'pir'"):
        evidence_storage("b", "local", subject="pir")
