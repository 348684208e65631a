# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks, the action and the timeline event of a credential rotation."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.deployment_rollout import deployment_rollout
from ansible_collections.clickview.runbook.plugins.module_utils.credential_rotation import rotation_report

DOCUMENTATION = r"""
name: credential_rotation_report
author: ClickView Platform Team
version_added: 0.2.0
short_description: Grade a credential rotation - each step, the rollouts and the proofs
description:
  - From the plan (P(clickview.runbook.credential_rotation_plan#filter)) and the results of the steps, the checks for
    P(clickview.runbook.report#role), the action and the incident timeline event.
  - When the plan did not act (refused, not confirmed, check mode) the plan's checks are the report.
  - "Otherwise - C(rotation.postgres) (the password changed in PostgreSQL), C(rotation.secret_updated) (the Secret read
    back holds the new password), one C(rotation.rollout) per restarted Deployment, C(rotation.old_password_refused)
    (a connection with the old password fails with an authentication error; another error proves nothing and is a
    C(FAIL)) and C(rotation.new_password_accepted)."
  - A step that failed or was never reached is a C(FAIL), saying what state it leaves - for example a password changed
    in PostgreSQL but not in the Secret, which new pods then cannot use.
  - The timeline event's C(details.step) is V(rotate_credentials), with C(details.failed) when a check is C(FAIL).
  - Nothing secret goes in or out.
options:
  _input:
    description: The plan.
    type: dict
    required: true
  login:
    description: The login.
    type: str
    required: true
  secret_ref:
    description: The Secret as C(namespace/name).
    type: str
    required: true
  postgres:
    description: The result of the ALTER ROLE task (C(failed), C(skipped) are read).
    type: dict
    default: {}
  secret_updated:
    description: Whether the Secret read back holds the new password; null when not read.
    type: bool
  restarts:
    description:
      - The results of the rollout restart patches - the C(results) of the looped task (each with its C(item), the
        Deployment's name), or a dictionary of name to result.
    type: raw
    default: []
  rollouts:
    description:
      - The Deployments after the wait - the C(results) of the looped M(clickview.runbook.k8s_rollout_status) task (each
        with its C(item) and C(resource)) or M(kubernetes.core.k8s_info) task (C(resources)), or a dictionary of name to
        a P(clickview.runbook.deployment_rollout#filter) state.
    type: raw
    default: []
  rollout_timeout:
    description: Seconds waited for the rollouts, for the message of one that did not complete.
    type: raw
    default: ''
  old_login:
    description: The M(community.postgresql.postgresql_ping) result with the old password after the change.
    type: raw
  new_login:
    description: The M(community.postgresql.postgresql_ping) result with the new password after the change.
    type: raw
  failed_step:
    description: The name of the task that failed, if one did.
    type: str
"""

EXAMPLES = r"""
- name: Grade
  ansible.builtin.set_fact:
    outcome: >-
      {{ plan | clickview.runbook.credential_rotation_report('clickview_app', 'clickview/clickview-db-credentials',
           postgres=altered, secret_updated=true, restarts={'clickview-backend': patched},
           rollouts={'clickview-backend': rollout}, old_login=old_ping, new_login=new_ping) }}
"""

RETURN = r"""
_value:
  description: The grading.
  type: dict
  contains:
    checks:
      description: The report's checks (C(value) and C(unit) are null, a rotation's steps have no number).
      type: list
      elements: dict
    actions:
      description: Empty, or one C(rotate_credentials) action (login, Secret, Deployments restarted, proof).
      type: list
      elements: dict
    event:
      description: The timeline event (C(event), C(details)), or null when nothing was attempted.
      type: dict
    failed:
      description: Whether a check is C(FAIL).
      type: bool
    changed:
      description: Whether the password changed in PostgreSQL.
      type: bool
"""


def _by_item(results):
    if isinstance(results, dict):
        return dict(results)
    return {str(r.get("item")): r for r in results or [] if isinstance(r, dict) and "item" in r}


def credential_rotation_report(plan, login, secret_ref, postgres=None, secret_updated=None, restarts=None, rollouts=None,
                               rollout_timeout="", old_login=None, new_login=None, failed_step=None):
    """The grading (see DOCUMENTATION)."""
    if not isinstance(plan, dict):
        raise AnsibleFilterError("credential_rotation_report: the plan must be a dictionary")
    if not isinstance(restarts, (dict, list, type(None))) or not isinstance(rollouts, (dict, list, type(None))):
        raise AnsibleFilterError("credential_rotation_report: restarts and rollouts are loop results or dictionaries")
    states = {}
    for name, result in _by_item(rollouts).items():
        if isinstance(result, dict) and "complete" in result:
            states[name] = result
        elif isinstance(result, dict) and not result.get("skipped"):
            # a k8s_rollout_status result holds the Deployment as last read (resource), a k8s_info one its resources
            read = result.get("resources") or ([result["resource"]] if result.get("resource") else [])
            states[name] = deployment_rollout(read, name, rollout_timeout)
    return rotation_report(plan, login, secret_ref, postgres=postgres or None, secret_updated=secret_updated,
                           restarts=_by_item(restarts), rollouts=states, old_login=old_login, new_login=new_login,
                           failed_step=failed_step or None)


class FilterModule:
    """Credential rotation report."""

    def filters(self):
        return {"credential_rotation_report": credential_rotation_report}
