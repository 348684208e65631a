# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the security evidence may be kept on the machine that collects it, or needs an S3 bucket."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.clickview.runbook.plugins.module_utils.security_evidence import evidence_storage as _decide

DOCUMENTATION = r"""
name: evidence_storage
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Decide whether the evidence (or a post-incident review) needs an S3 bucket here, and whether it has one
description:
  - Evidence, reports, the incident record and the post-incident review must stay where the next job can read them. A bundle left on the
    machine that collected it is lost with an AWX job's container and out of reach of the next run elsewhere.
  - A bucket is required when O(environment) is not one of O(local_environments) (an empty environment counts
    as not local, the safe side), and when O(awx_job_id) is set (the run is an AWX job).
  - Where a bucket is required and the input is empty, C(ok) is false and C(msg) names O(variable) and says
    nothing was collected (for O(subject=review), nothing was written); the caller asserts C(ok) before collecting
    or writing anything.
options:
  _input:
    description: The bucket the evidence is uploaded to (empty = none).
    type: str
    required: true
  environment:
    description: The inventory's C(clickview_environment).
    type: str
    required: true
  awx_job_id:
    description: The AWX job id (AWX sets C(awx_job_id)); empty outside AWX.
    type: str
    default: ""
  variable:
    description: The variable holding the bucket, named in the message.
    type: str
    default: security_incident_evidence_s3_bucket
  local_environments:
    description: Environments where keeping the evidence on the collecting machine is allowed.
    type: list
    elements: str
    default: [local]
  subject:
    description: What is kept - the security evidence, or the post-incident review (C(clickview.runbook.post_incident_review)).
    type: str
    choices: [evidence, review]
    default: evidence
"""

EXAMPLES = r"""
- name: Refuse to collect evidence that would not be kept
  vars:
    storage: >-
      {{ security_incident_evidence_s3_bucket | clickview.runbook.evidence_storage(
           environment=clickview_environment | default(''), awx_job_id=awx_job_id | default('')) }}
  ansible.builtin.assert:
    that: storage.ok
    fail_msg: "{{ storage.msg }}"
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    required:
      description: A bucket is required here.
      type: bool
    ok:
      description: The evidence may be collected (a bucket is set, or none is required).
      type: bool
    where:
      description: C(s3://<bucket>), C(local), or empty when refused.
      type: str
    msg:
      description: The decision in words; when refused, names the variable and the fix.
      type: str
"""


def evidence_storage(bucket, environment, awx_job_id="", variable="security_incident_evidence_s3_bucket",
                     local_environments=None, subject="evidence"):
    """{required, ok, where, msg} for the evidence's (or the review's) bucket in this environment."""
    try:
        return _decide(bucket, environment, awx_job_id=awx_job_id, variable=variable, subject=subject,
                       local_environments=("local",) if local_environments is None else tuple(local_environments))
    except ValueError as exc:
        raise AnsibleFilterError("evidence_storage: %s" % exc) from exc


class FilterModule:
    """Evidence storage filters."""

    def filters(self):
        return {"evidence_storage": evidence_storage}
