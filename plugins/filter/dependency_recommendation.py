# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The High Error Rate alert's advice when the spike is not deployment-related: which dependency looks at fault."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.dependency_findings import dependency_recommendation

DOCUMENTATION = r"""
name: dependency_recommendation
author: ClickView Platform Team
version_added: 0.3.0
short_description: Name the dependency that looks at fault, from the database and status page findings
description:
  - Takes findings (any list; only C(postgres.connectivity) and C(external.status_page) rows are read, as
    P(clickview.runbook.postgres_connectivity_findings#filter) and P(clickview.runbook.status_page_findings#filter)
    return them) and returns the recommendation of the error ratio when its spike is not deployment-related.
  - >-
    Every C(FAIL) row is named (an unreachable database endpoint, a service whose status page reports a major or
    critical outage), then every status page with minor trouble, as C(Not deployment-related: the dependency at
    fault looks like ...).
  - An unreadable status page is not named as the cause. When nothing is at fault the sentence says what was
    found healthy and points at the database's queries and the grouped log errors.
  - Without any such row the runbook's generic advice is returned (check the database and the external APIs).
options:
  _input:
    description: The findings.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: The advice when the spike did not follow a rollout
  ansible.builtin.debug:
    msg: "{{ (db_rows + page_rows) | clickview.runbook.dependency_recommendation }}"
    # Not deployment-related: the dependency at fault looks like OpenAI (its status page: Partial outage
    # (indicator major)) - start there; the grouped log errors show which requests fail.
"""

RETURN = r"""
_value:
  description: The recommendation, one sentence.
  type: str
"""


class FilterModule:
    """The dependency_recommendation filter."""

    def filters(self):
        return {"dependency_recommendation": dependency_recommendation}
