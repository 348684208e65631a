"""The documented IAM policies (extensions/aws/iam) and the lab's copy of them for moto (lab/moto_iam.py)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))
import moto_iam  # noqa: E402  pylint: disable=wrong-import-position,import-error

PRODUCTION = {"region": "eu-west-1", "account": "111122223333", "incident_bucket": "clickview-production-runbook-incidents",
              "waf_ip_set_v4": "clickview-production-blocklist-v4", "waf_ip_set_v6": "clickview-production-blocklist-v6",
              "waf_log_group": "aws-waf-logs-clickview-production", "evidence_bucket": "clickview-evidence",
              "backup_bucket": "clickview-backups", "repo_path": "/pgbackrest/production"}


def statements(policy):
    return {s["Sid"]: s for s in policy["Statement"]}


def test_the_operator_policy_grants_each_procedures_calls_on_production_names_only():
    policy = statements(moto_iam.render_policy("runbook-operator", PRODUCTION))
    waf = policy["WafBlocklists"]
    assert set(waf["Action"]) == {"wafv2:GetIPSet", "wafv2:UpdateIPSet", "wafv2:ListTagsForResource",
                                  "wafv2:TagResource", "wafv2:UntagResource"}
    assert waf["Resource"] == ["arn:aws:wafv2:eu-west-1:111122223333:regional/ipset/clickview-production-blocklist-v4/*",
                               "arn:aws:wafv2:eu-west-1:111122223333:regional/ipset/clickview-production-blocklist-v6/*"]
    assert policy["PostIncidentReviews"]["Resource"] == "arn:aws:s3:::clickview-production-runbook-incidents/pir/*"
    assert policy["WafFindSets"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    assert not any("Delete" in a or a.endswith("*") for s in policy.values()
                   for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))


def test_pgbackrest_may_delete_only_under_its_repository_path():
    policy = statements(moto_iam.render_policy("pgbackrest-repository", PRODUCTION))
    assert policy["RepoObjects"]["Resource"] == "arn:aws:s3:::clickview-backups/pgbackrest/production/*"
    assert "s3:DeleteObject" in policy["RepoObjects"]["Action"]


def test_the_lab_copy_keeps_s3_scoping_and_widens_only_what_moto_cannot_check():
    lab = statements(moto_iam.for_moto(moto_iam.render_policy("runbook-operator", PRODUCTION)))
    assert lab["WafBlocklists"]["Resource"] == "*" and "Condition" not in lab["WafFindSets"]
    assert lab["WafBlocklists"]["Action"] == statements(moto_iam.render_policy("runbook-operator", PRODUCTION))[
        "WafBlocklists"]["Action"]
    assert lab["IncidentRecordsReadWrite"]["Resource"] == \
        "arn:aws:s3:::clickview-production-runbook-incidents/incidents/*"
    assert lab["IncidentRecordsList"]["Action"] == ["s3:ListBucket", "s3:HeadBucket"]
    assert lab["EvidenceObjects"]["Action"] == ["s3:GetObject", "s3:PutObject", "s3:PutObjectAcl", "s3:GetObjectTagging"]


def test_the_lab_grants_pgbackrest_each_repository_path_with_unique_statement_ids():
    cfg = {"region": "us-east-1", "account": "123456789012", "incident_bucket": "i", "evidence_bucket": "e",
           "waf_ip_sets": {"ipv4": "v4", "ipv6": "v6"}, "waf_log_group": "g", "backup_bucket": "b",
           "pgbackrest": {"repo_paths": ["/pgbackrest/local", "/tests"]}}
    policy = moto_iam.repository_policy(cfg)
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids)) == 4
    assert {s["Resource"] for s in policy["Statement"] if s["Sid"].startswith("RepoObjects")} == \
        {"arn:aws:s3:::b/pgbackrest/local/*", "arn:aws:s3:::b/tests/*"}
