# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a database login's password may be rotated, and what the rotation would do."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.credential_rotation import RotationError
from ansible_collections.clickview.runbook.plugins.module_utils.credential_rotation import read_errors
from ansible_collections.clickview.runbook.plugins.module_utils.credential_rotation import rotation_plan
from ansible_collections.clickview.runbook.plugins.module_utils.credential_rotation import secret_consumers

DOCUMENTATION = r"""
name: credential_rotation_plan
author: ClickView Platform Team
version_added: 0.2.0
short_description: Decide whether a database login's password may be rotated, and plan the rotation
description:
  - For the role C(clickview.runbook.security_incident) (C(tasks_from=rotate_credentials)), from what it read - the
    login's C(pg_roles) row, the Secret without its data, the Deployments of the Secret's namespace and an attempt to
    log in with the Secret's current password.
  - "Refused (RV(_value.allowed=false), with the reasons in RV(_value.refusals)) - a login that does not exist or cannot
    log in, a superuser, a replication role, a login in O(connecting_logins) (the procedure's own), a Secret that does
    not exist, lacks the password key, or whose login key names another login."
  - The Deployments that read the Secret's password key (P(clickview.runbook.secret_consumers#filter)) are those to
    restart, in RV(_value.restart). None is a C(WARN), not a refusal.
  - RV(_value.act) is true when the rotation is allowed, O(confirm) is on and the run is not in check mode. Otherwise a
    C(rotation.plan) check (C(WARN)) says what would be done.
  - Nothing secret goes in or out - the Secret is described by its keys and its login, never its data.
options:
  _input:
    description: The login's row of C(pg_roles) (C(rolname), C(rolsuper), C(rolreplication), C(rolcanlogin)), empty when there is none.
    type: dict
    required: true
  login:
    description: The login to rotate.
    type: str
    required: true
  connecting_logins:
    description: The logins the procedure connects as (refused as targets).
    type: list
    elements: str
    default: []
  secret_info:
    description: The Secret, without its data - C(namespace), C(name), C(key), C(exists), C(keys), C(login_key), C(login).
    type: dict
    required: true
  deployments:
    description: The Deployments of the Secret's namespace (C(resources) of M(kubernetes.core.k8s_info)).
    type: list
    elements: dict
    default: []
  current_login:
    description:
      - The result of M(community.postgresql.postgresql_ping) as the login with the Secret's current password (or
        V(accepted), V(refused), V(unknown)); left out when not tried.
    type: raw
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
  confirm:
    description: The opt-in, C(security_incident_rotate_confirm).
    type: bool
    default: false
  reads:
    description:
      - The registered results of the reads the decision rests on, by source - V(postgres) (the login's row),
        V(secret_read) (the Secret) and V(deployments) (the Deployments of its namespace), each registered with
        C(ignore_errors) so that a failed read is C(failed).
      - Any failed read is a refusal (C(rotation.read) C(FAIL)) naming the service, a Kubernetes error cut to its status
        line; a Secret whose read failed is said to be unreadable, never missing.
    type: dict
    default: {}
  db_user:
    description: The login the procedure reads PostgreSQL as, named when that read failed.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Plan
  ansible.builtin.set_fact:
    plan: >-
      {{ role_row | clickview.runbook.credential_rotation_plan(
           login='clickview_app', connecting_logins=['clickview_dba'],
           secret_info={'namespace': 'clickview', 'name': 'clickview-db-credentials', 'key': 'password', 'exists': true,
                   'keys': ['password', 'username'], 'login_key': 'username', 'login': 'clickview_app'},
           deployments=deployments.resources, current_login=before, check_mode=ansible_check_mode, confirm=true) }}
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    allowed:
      description: Whether the rotation may run.
      type: bool
    act:
      description: Whether to change anything in this run.
      type: bool
    refusals:
      description: Why it may not.
      type: list
      elements: str
    warnings:
      description: What to know before going on.
      type: list
      elements: str
    identifier:
      description: The login as a quoted SQL identifier (null when refused).
      type: str
    restart:
      description: The Deployments to restart.
      type: list
      elements: str
    consumers:
      description: Every Deployment that refers to the Secret (P(clickview.runbook.secret_consumers#filter)).
      type: list
      elements: dict
    steps:
      description: What the rotation does, in order.
      type: list
      elements: str
    checks:
      description:
        - C(rotation.read) (when something could not be read), C(rotation.login), C(rotation.secret),
          C(rotation.current_password), C(rotation.consumers), and C(rotation.plan) when allowed but not acting.
        - Their C(value) and C(unit) are null (a plan's checks have no number).
      type: list
      elements: dict
    msg:
      description: The plan or the refusal in one line.
      type: str
"""


def credential_rotation_plan(role_row, login, secret_info, connecting_logins=None, deployments=None, current_login=None,
                             check_mode=False, confirm=False, reads=None, db_user=""):
    """The plan (see DOCUMENTATION)."""
    if not isinstance(login, str) or not login.strip():
        raise AnsibleFilterError("credential_rotation_plan: security_incident_rotate_login is required")
    if not isinstance(secret_info, dict):
        raise AnsibleFilterError("credential_rotation_plan: secret_info must be a dictionary")
    secret = secret_info
    if reads is not None and not isinstance(reads, dict):
        raise AnsibleFilterError("credential_rotation_plan: reads must be a dictionary of registered results")
    try:
        errors = read_errors(reads, db_user, secret)
        consumers = secret_consumers(deployments, secret.get("name"), secret.get("key"))
        plan = rotation_plan(login, role_row if isinstance(role_row, dict) else {}, list(connecting_logins or []),
                             secret, consumers, current_login=current_login, check_mode=bool(check_mode),
                             confirm=bool(confirm), errors=errors)
    except RotationError as exc:
        raise AnsibleFilterError("credential_rotation_plan: %s" % exc)
    plan["consumers"] = consumers
    return plan


class FilterModule:
    """Credential rotation plan."""

    def filters(self):
        return {"credential_rotation_plan": credential_rotation_plan}
