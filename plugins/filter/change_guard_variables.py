# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The variables the change guard reads for a destructive procedure.

Its own file so that ansible-doc renders its own page; the function lives beside its sibling
in change_guard.py.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: change_guard_variables
author: ClickView Platform Team
version_added: 0.1.0
short_description: The variables the change guard reads for a destructive procedure
description:
  - The names of the variables P(clickview.runbook.change_guard#filter) decides from for one of the collection's
    destructive playbooks - the incident id variables its role records to, C(change_reference) and the switches that
    make it change something, with the variables those default to (for example C(alert_response_rollback), then
    C(alert_response_remediate), then C(remediate)).
  - Fails for a playbook that is not one of the destructive ones.
options:
  _input:
    description: The playbook's name without C(.yml), for example V(deploy_verify).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: What the guard of deploy_verify.yml reads
  ansible.builtin.debug:
    msg: "{{ 'deploy_verify' | clickview.runbook.change_guard_variables }}"   # ['incident_id', 'change_reference', 'deployment_verify_rollback']
"""

RETURN = r"""
_value:
  description: Variable names.
  type: list
  elements: str
"""

from ansible_collections.clickview.runbook.plugins.filter.change_guard import change_guard_variables


class FilterModule:
    """The change_guard_variables filter."""

    def filters(self):
        return {"change_guard_variables": change_guard_variables}
