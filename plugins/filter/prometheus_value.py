# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The number in a Prometheus instant query's answer."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.prometheus import instant_value

DOCUMENTATION = r"""
name: prometheus_value
author: ClickView Platform Team
version_added: 0.2.0
short_description: The value of the first series of a Prometheus instant query's answer
description:
  - Reads C(data.result[0].value[1]) of an C(/api/v1/query) answer as a number.
  - No series (no data), C(NaN) (such as 0/0 when there were no requests), C(+Inf), C(-Inf), or a failed answer give V(None).
options:
  _input:
    description: The answer (the C(json) of M(ansible.builtin.uri)), or its C(data.result) list.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: The error ratio now
  ansible.builtin.debug:
    msg: "{{ answer.json | default({}) | clickview.runbook.prometheus_value }}"   # 0.063, or None
"""

RETURN = r"""
_value:
  description: The value, or V(None).
  type: float
"""


def prometheus_value(response):
    """float or None (see DOCUMENTATION)."""
    return instant_value(response)


class FilterModule:
    """Prometheus filters."""

    def filters(self):
        return {"prometheus_value": prometheus_value}
