# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PromQL templates with their selector and rate window filled in."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.release_checks import fill_queries

DOCUMENTATION = r"""
name: promql_queries
author: ClickView Platform Team
version_added: 0.2.0
short_description: Fill the selector and the rate window into PromQL templates
description:
  - Replaces C($selector) and C($window) in each query (as in C(deployment_canary_queries)) and trims the result.
options:
  _input:
    description: Figure to PromQL template.
    type: dict
    required: true
  selector:
    description: The label selector, such as C(job="backend",track="canary").
    type: str
    required: true
  window:
    description: The rate window, such as C(1m).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The canary's queries
  ansible.builtin.set_fact:
    promql: "{{ deployment_canary_queries | clickview.runbook.promql_queries('job=\"backend\"', '1m') }}"
"""

RETURN = r"""
_value:
  description: Figure to PromQL, ready to send.
  type: dict
"""


def promql_queries(queries, selector, window):
    """{figure: PromQL} (see DOCUMENTATION)."""
    return fill_queries(queries, selector, window)


class FilterModule:
    """Release analysis filters."""

    def filters(self):
        return {"promql_queries": promql_queries}
