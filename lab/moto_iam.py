#!/usr/bin/env python3
"""The lab's moto server, with IAM enforced as AWS enforces it.

moto_server accepts any key unless IAM enforcement is on; with it on, a request must be signed with the
key of an IAM user that moto knows, and the user's policies must allow the action. This launcher creates
the lab's users with fixed keys (lab/lab.yml, ``aws``) inside the moto process, turns enforcement on for
every request after that, and serves as ``moto_server`` does:

- the admin (``aws.access_key``): every action; the lab's own set-up and the tests' set-up and checks;
- the operator (``aws.operator``): the runbook's identity, with exactly the documented policy
  ``extensions/aws/iam/runbook-operator.json`` filled in with the lab's names; the lab inventory runs the
  procedures with this key, so a permission the policy lacks fails a test;
- pgBackRest (``aws.pgbackrest``): ``extensions/aws/iam/pgbackrest-repository.json``.

What moto cannot check, and how the lab's copy of a policy is adapted (docs/security.md, section 7):
moto checks the resource of S3 requests only (every other service's request is checked against the
resource ``*``), it supplies no condition keys (``aws:RequestedRegion``), and it checks HeadBucket as
``s3:HeadBucket`` where AWS checks ``s3:ListBucket``. So the lab's copy widens the resource of a non-S3
statement to ``*`` and drops its conditions (its actions are still checked), and grants ``s3:HeadBucket``
wherever the policy grants ``s3:ListBucket``.
"""
import json
import string
import sys
from pathlib import Path

import yaml

LAB = Path(__file__).resolve().parent
POLICIES = LAB.parent / "extensions" / "aws" / "iam"


def render_policy(name, values):
    """The policy template ``extensions/aws/iam/<name>.json`` with its ``${...}`` names filled in."""
    text = (POLICIES / f"{name}.json").read_text(encoding="utf-8")
    return json.loads(string.Template(text).substitute(values))


def _as_list(value):
    return value if isinstance(value, list) else [value]


def for_moto(policy):
    """The lab's copy of a policy: what moto can check of it checked, nothing granted that AWS would refuse
    beyond the resource and condition of non-S3 statements (see the module's docstring)."""
    statements = []
    for statement in policy["Statement"]:
        statement = dict(statement)
        actions = _as_list(statement["Action"])
        if not all(action.startswith("s3:") for action in actions):
            statement["Resource"] = "*"
            statement.pop("Condition", None)
        if "s3:ListBucket" in actions:
            statement["Action"] = actions + ["s3:HeadBucket"]
        statements.append(statement)
    return {"Version": policy["Version"], "Statement": statements}


def lab_values(aws):
    """The names the policy templates take, for the lab (lab/lab.yml ``aws``)."""
    return {
        "region": aws["region"], "account": aws["account"], "incident_bucket": aws["incident_bucket"],
        "waf_ip_set_v4": aws["waf_ip_sets"]["ipv4"], "waf_ip_set_v6": aws["waf_ip_sets"]["ipv6"],
        "waf_log_group": aws["waf_log_group"], "evidence_bucket": aws["evidence_bucket"],
        "backup_bucket": aws["backup_bucket"],
    }


def repository_policy(aws):
    """pgBackRest's policy for each of the lab's repository paths (the inventory's, and the tests' own)."""
    statements = []
    for number, path in enumerate(aws["pgbackrest"]["repo_paths"]):
        for statement in render_policy("pgbackrest-repository", dict(lab_values(aws), repo_path=path))["Statement"]:
            statements.append(dict(statement, Sid=f"{statement['Sid']}{number}"))   # Sids are unique in a policy
    return {"Version": "2012-10-17", "Statement": statements}


def create_users(aws):
    """Create the lab's IAM users, keys and inline policies in this process's moto backend."""
    from moto.iam.models import iam_backends  # pylint: disable=import-outside-toplevel

    backend = iam_backends[aws["account"]]["aws"]
    values = lab_values(aws)
    users = [
        ("clickview-lab-admin", aws["access_key"], aws["secret_key"],
         {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        (aws["operator"]["user"], aws["operator"]["access_key"], aws["operator"]["secret_key"],
         for_moto(render_policy("runbook-operator", values))),
        (aws["pgbackrest"]["user"], aws["pgbackrest"]["access_key"], aws["pgbackrest"]["secret_key"],
         for_moto(repository_policy(aws))),
    ]
    for user, key_id, secret, policy in users:
        backend.create_user(region_name=aws["region"], user_name=user)
        key = backend.create_access_key(user)
        del backend.access_keys[key.access_key_id]
        key.access_key_id, key.secret_access_key = key_id, secret
        backend.access_keys[key_id] = key
        backend.put_user_policy(user, "lab", json.dumps(policy))


def main(argv):
    from moto import server, settings  # pylint: disable=import-outside-toplevel

    aws = yaml.safe_load((LAB / "lab.yml").read_text(encoding="utf-8"))["aws"]
    create_users(aws)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0   # every request from now on is authenticated and authorised
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
