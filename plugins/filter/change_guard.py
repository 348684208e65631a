# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change guard (issue 17, "Production trust"): a destructive procedure in staging or production
runs only under an incident id or a change reference. The decision, for the role clickview.runbook.change_guard
that every destructive playbook runs as its first pre-task."""

from __future__ import annotations

DOCUMENTATION = r"""
name: change_guard
author: ClickView Platform Team
version_added: 0.1.0
short_description: Whether a destructive procedure may run - an incident id or a change reference outside the lab
description:
  - Decides whether the run of one of the collection's destructive playbooks (O(procedure)) may go on, before it changes
    anything. The role C(clickview.runbook.change_guard) gives it the variables named by
    P(clickview.runbook.change_guard_variables#filter) and fails with RV(_value.msg) when RV(_value.allowed) is false.
  - The guard applies when the environment is not the lab's (V(local)) - staging and production, and fail-closed any
    other or an empty name -, the run is not in check mode, and the procedure would change something in this run - always
    for deployments, scaling, read-only mode, restores, backup configuration, security containment and unblocking
    (C(security_unblock_ip)); for the alert playbooks only when one of their resolution steps is on (C(remediate) /
    C(alert_response_remediate) or the step's own switch); for C(db_kill_long_queries) and C(db_terminate_backend) with
    C(database_operations_kill_execute); for C(deploy_verify) with C(deployment_verify_rollback) (on by default); for
    C(scale_read_replica_remove) with C(scaling_read_replica_remove_confirm); for C(security_rotate_credentials) with
    C(security_incident_rotate_confirm).
  - A guarded run needs a non-blank incident id in the variable the procedure's role records to (C(incident_id),
    C(alert_response_incident_id) for the alert playbooks, C(security_incident_id) for containment, unblocking and
    credential rotation) or a non-blank
    C(change_reference) (a change ticket, for example V(CHG-1234)). Blank or white space only counts as none.
  - A switch that is a string counts as off when it is empty or one of V(false), V(no), V(off), V(0) (AWX survey answers
    arrive as strings); any other value counts as on, so an unreadable switch is guarded rather than waved through.
options:
  _input:
    description:
      - The variables of the run named by P(clickview.runbook.change_guard_variables#filter) that are defined, with their
        values. A switch left out takes the value its role would give it (its master switch, else its role default).
    type: dict
    required: true
  procedure:
    description: The playbook's name without C(.yml), for example V(alert_high_error_rate).
    type: str
    required: true
  environment:
    description: The inventory's C(clickview_environment).
    type: str
    required: true
  check_mode:
    description: Whether the run is in check mode (C(ansible_check_mode)); check mode changes nothing and is never guarded.
    type: bool
    default: false
  alert:
    description:
      - The alert that started the run (C(clickview_alert), given by the event-driven rulebook), for the alert playbooks.
      - An alert of a severity in O(alert_severities) with a fingerprint runs under its own incident - the alert playbook
        declares it, or joins the open one of the same alert, before any resolution step (see
        P(clickview.runbook.alert_incident#filter)) - so such a run is allowed without an incident id or a change
        reference, and RV(_value.incident_id) is that incident's. Any other alert, and every other procedure, is
        decided as without it.
    type: dict
  alert_severities:
    description: The severities whose alerts run under an incident (the alert playbooks' C(alert_response_incident_severities)).
    type: list
    elements: str
    default: [P1, P2]
"""

EXAMPLES = r"""
- name: Decide (what the role clickview.runbook.change_guard does)
  ansible.builtin.set_fact:
    decision: >-
      {{ {'remediate': true, 'change_reference': 'CHG-1234'}
         | clickview.runbook.change_guard('alert_high_error_rate', 'production', ansible_check_mode) }}
    # allowed: true, guarded: true, writes: ['alert_response_rollback=true'], change_reference: CHG-1234
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    allowed:
      description: Whether the run may go on.
      type: bool
    guarded:
      description: Whether the guard applied (not the lab, not check mode, and the run would change something).
      type: bool
    procedure:
      description: The O(procedure).
      type: str
    environment:
      description: The O(environment).
      type: str
    writes:
      description: Why the run would change something - V(always), or the switches that are on (C(name=value)); empty when none.
      type: list
      elements: str
    incident_id:
      description: The incident id the run is under, or null.
      type: str
    incident_id_variable:
      description: The variable it came from (V(clickview_alert) for the incident an alert's run declares or joins), or null.
      type: str
    change_reference:
      description: The change reference the run is under, or null.
      type: str
    id_variables:
      description: The incident id variables the procedure accepts.
      type: list
      elements: str
    msg:
      description: The decision in one line; with RV(_value.allowed=false) it names the variables to give.
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.filter.alert_incident import alert_incident

CHANGE_REFERENCE = "change_reference"
EXEMPT_ENVIRONMENTS = ("local",)  # the lab (inventory/local): integration tests and the game day run there
ALWAYS = "always"
_OFF = ("", "false", "no", "off", "0", "n", "f", "none", "null")

# Each destructive playbook: the variables holding the incident id its role records to, and what makes it write -
# ALWAYS, or the switches of its role that turn on a change (any one on: it writes). Kept in step with the playbooks
# and the roles' defaults by tests/unit/test_change_guard.py.
PROCEDURES = {
    "alert_db_connection_pool_exhausted": {"ids": ("alert_response_incident_id",),
                                           "writes": ("alert_response_kill_long_queries", "alert_response_pool_scale_out")},
    "alert_disk_space_low": {"ids": ("alert_response_incident_id",),
                             "writes": ("alert_response_vacuum", "alert_response_vacuum_full")},
    "alert_high_error_rate": {"ids": ("alert_response_incident_id",), "writes": ("alert_response_rollback",)},
    "alert_high_latency": {"ids": ("alert_response_incident_id",), "writes": ("alert_response_scale_out",)},
    "alert_high_memory": {"ids": ("alert_response_incident_id",),
                          "writes": ("alert_response_rollout_restart", "alert_response_memory_limit")},
    "alert_ssl_certificate_expiring": {"ids": ("alert_response_incident_id",), "writes": ("alert_response_cert_renew",)},
    "backup_configure": {"ids": ("incident_id",), "writes": ALWAYS},
    "backup_restore": {"ids": ("incident_id",), "writes": ALWAYS},
    "db_kill_long_queries": {"ids": ("incident_id",), "writes": ("database_operations_kill_execute",)},
    "db_terminate_backend": {"ids": ("incident_id",), "writes": ("database_operations_kill_execute",)},
    "db_read_only_off": {"ids": ("incident_id",), "writes": ALWAYS},
    "db_read_only_on": {"ids": ("incident_id",), "writes": ALWAYS},
    "deploy_blue_green": {"ids": ("incident_id",), "writes": ALWAYS},
    "deploy_blue_green_switch_back": {"ids": ("incident_id",), "writes": ALWAYS},
    "deploy_canary": {"ids": ("incident_id",), "writes": ALWAYS},
    "deploy_image": {"ids": ("incident_id",), "writes": ALWAYS},
    "deploy_rollback": {"ids": ("incident_id",), "writes": ALWAYS},
    "deploy_rollback_to_revision": {"ids": ("incident_id",), "writes": ALWAYS},
    "deploy_verify": {"ids": ("incident_id",), "writes": ("deployment_verify_rollback",)},
    "scale_backend": {"ids": ("incident_id",), "writes": ALWAYS},
    "scale_deployment": {"ids": ("incident_id",), "writes": ALWAYS},
    "scale_frontend": {"ids": ("incident_id",), "writes": ALWAYS},
    "scale_hpa_max": {"ids": ("incident_id",), "writes": ALWAYS},
    "scale_hpa_restore": {"ids": ("incident_id",), "writes": ALWAYS},
    "scale_pgbouncer_pool": {"ids": ("incident_id",), "writes": ALWAYS},
    "scale_read_replica_add": {"ids": ("incident_id",), "writes": ALWAYS},
    "scale_read_replica_remove": {"ids": ("incident_id",), "writes": ("scaling_read_replica_remove_confirm",)},
    "security_containment": {"ids": ("security_incident_id",), "writes": ALWAYS},
    "security_rotate_credentials": {"ids": ("security_incident_id",), "writes": ("security_incident_rotate_confirm",)},
    "security_unblock_ip": {"ids": ("security_incident_id",), "writes": ALWAYS},
}
# A switch that is not set takes the value of another (as its role default does), else a constant (its role default).
FALLBACK = {
    "alert_response_kill_long_queries": "alert_response_remediate",
    "alert_response_vacuum": "alert_response_remediate",
    "alert_response_cert_renew": "alert_response_remediate",
    "alert_response_rollback": "alert_response_remediate",
    "alert_response_scale_out": "alert_response_remediate",
    "alert_response_rollout_restart": "alert_response_remediate",
    "alert_response_remediate": "remediate",
}
DEFAULTS = {
    "remediate": False,
    "alert_response_pool_scale_out": False,
    "alert_response_vacuum_full": False,
    "alert_response_memory_limit": "",
    "database_operations_kill_execute": False,
    "deployment_verify_rollback": True,
    "scaling_read_replica_remove_confirm": False,
    "security_incident_rotate_confirm": False,
}


def _procedure(procedure):
    name = str(procedure or "").strip()
    if name.endswith(".yml"):
        name = name[:-4]
    if name not in PROCEDURES:
        raise AnsibleFilterError("change_guard: unknown procedure %r (one of %s)" % (procedure, ", ".join(sorted(PROCEDURES))))
    return name, PROCEDURES[name]


def _chain(switch):
    names = [switch]
    while names[-1] in FALLBACK:
        names.append(FALLBACK[names[-1]])
    return names


def change_guard_variables(procedure):
    """The variables the decision for procedure reads: its incident id variables, change_reference and its switches
    with the variables they default to."""
    _name, spec = _procedure(procedure)
    names = list(spec["ids"]) + [CHANGE_REFERENCE]
    if spec["writes"] != ALWAYS:
        for switch in spec["writes"]:
            names.extend(name for name in _chain(switch) if name not in names)
    return names


def is_on(value):
    """Whether a switch value turns its step on (strings as AWX surveys give them; unknown text counts as on)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (bytes, str)):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return text.strip().lower() not in _OFF
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return len(value) > 0
    return bool(value)


def _switch_value(values, switch):
    for name in _chain(switch):
        if name in values:
            return values[name]
    return DEFAULTS[_chain(switch)[-1]]


def _text(value):
    if value is None or isinstance(value, (dict, list, tuple, set, bool)):
        return None
    text = str(value).strip()
    return text or None


def _alert_incident(name, alert, severities):
    """The incident an alert-started run of an alert playbook declares or joins, or None."""
    if not name.startswith("alert_") or not isinstance(alert, dict) or not alert:
        return None
    severities = tuple(str(severity).strip().upper() for severity in severities or ())
    decision = alert_incident(alert, [], severities=severities)
    return decision["incident_id"] if decision["action"] == "declare" else None


def change_guard(values, procedure, environment, check_mode=False, alert=None, alert_severities=("P1", "P2")):
    """The decision for one run; see DOCUMENTATION."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise AnsibleFilterError("change_guard: the input must be a dictionary of variables, got %s" % type(values).__name__)
    name, spec = _procedure(procedure)
    env = str(environment or "").strip()
    if spec["writes"] == ALWAYS:
        writes = [ALWAYS]
    else:
        writes = []
        for switch in spec["writes"]:
            value = _switch_value(values, switch)
            if is_on(value):
                writes.append("%s=%s" % (switch, str(value).lower() if isinstance(value, bool) else value))
    incident_id = variable = None
    for candidate in spec["ids"]:
        if _text(values.get(candidate)):
            incident_id, variable = _text(values.get(candidate)), candidate
            break
    change = _text(values.get(CHANGE_REFERENCE))
    if incident_id is None and change is None:
        incident_id = _alert_incident(name, alert, alert_severities)
        variable = "clickview_alert" if incident_id else None
    decision = dict(procedure=name, environment=env, writes=writes, incident_id=incident_id, incident_id_variable=variable,
                    change_reference=change, id_variables=list(spec["ids"]), guarded=False, allowed=True)
    under = ", ".join(part for part in (
        ("the incident %s its alert runs under (declared or joined before any step)" % incident_id
         if variable == "clickview_alert" else "incident %s (%s)" % (incident_id, variable)) if incident_id else "",
        "change %s" % change if change else "") if part)

    if env.lower() in EXEMPT_ENVIRONMENTS:
        decision["msg"] = "change guard: %s runs on the lab (clickview_environment %s): no incident id or change reference needed" % (name, env)
    elif check_mode:
        decision["msg"] = "change guard: check mode changes nothing in %s: no incident id or change reference needed" % (env or "this environment")
    elif not writes:
        decision["msg"] = ("change guard: %s changes nothing in %s in this run (%s off): no incident id or change reference needed"
                           % (name, env or "this environment", ", ".join(spec["writes"])))
    else:
        decision["guarded"] = True
        reason = "always changes the platform" if writes == [ALWAYS] else "would change the platform (%s)" % ", ".join(writes)
        if under:
            decision["msg"] = "change guard: %s %s in %s - under %s" % (name, reason, env or "an unnamed environment", under)
        else:
            decision["allowed"] = False
            ids = " or ".join(spec["ids"])
            decision["msg"] = ("change guard: %s %s and clickview_environment is %s, so it needs the incident it is part of or a "
                               "change ticket: set %s (the incident id) or %s (for example -e %s=CHG-1234). Nothing was changed."
                               % (name, reason, env or "not set", ids, CHANGE_REFERENCE, CHANGE_REFERENCE))
    return decision


class FilterModule:
    """The change guard."""

    def filters(self):
        return {"change_guard": change_guard}
