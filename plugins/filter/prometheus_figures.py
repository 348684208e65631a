# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The figures of several Prometheus instant queries run in a loop, and whether Prometheus answered."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.prometheus import instant_value, unanswered

DOCUMENTATION = r"""
name: prometheus_figures
author: ClickView Platform Team
version_added: 0.2.0
short_description: Values of instant queries looped over C({name, PromQL}), and why Prometheus did not answer
description:
  - Takes the registered result of an M(ansible.builtin.uri) task looped over C(queries | dict2items) against
    C(/api/v1/query).
  - Each query's value is a number, or V(None) for no data, C(NaN) or an infinity (see P(clickview.runbook.prometheus_value#filter)).
  - C(error) is empty when every query got an HTTP 200 answer; else it names the first failure - the connection error
    or the HTTP status and Prometheus' own error text.
options:
  _input:
    description: The registered loop result (a dictionary with C(results)) or its C(results) list.
    type: raw
    required: true
  url:
    description: The Prometheus URL, for the error text.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Keep the values
  ansible.builtin.set_fact:
    prom: "{{ (prom_raw | clickview.runbook.prometheus_figures(prometheus_url)).figures }}"   # {'error_ratio': 0.063}
    prom_error: "{{ (prom_raw | clickview.runbook.prometheus_figures(prometheus_url)).error }}"
"""

RETURN = r"""
_value:
  description: The values and the error.
  type: dict
  contains:
    figures:
      description: Query name to its value or V(None).
      type: dict
    error:
      description: Empty, or C(Prometheus URL did not answer) and why.
      type: str
"""


def prometheus_figures(registered, url=""):
    """{'figures': {name: float or None}, 'error': '' or why} (see DOCUMENTATION)."""
    results = registered.get("results") if isinstance(registered, dict) else registered
    results = results or []
    figures = {(result.get("item") or {}).get("key"): instant_value(result.get("json") or {}) for result in results}
    # no HTTP answer at all first, then an HTTP error
    failed = ([result for result in results if "status" not in result]
              + [result for result in results if "status" in result and result["status"] != 200])
    error = unanswered("Prometheus %s" % url, failed[0]) if failed else ""
    return {"figures": figures, "error": error}


class FilterModule:
    """Prometheus filters."""

    def filters(self):
        return {"prometheus_figures": prometheus_figures}
