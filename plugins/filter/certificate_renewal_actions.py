# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the forced renewal of one cert-manager Certificate did, as the alert report's resolution steps."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.k8s_errors import api_error, forbidden_hint

DOCUMENTATION = r"""
name: certificate_renewal_actions
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The resolution steps of one forced certificate renewal, decided from what the tasks registered
description:
  - Takes the Certificate being renewed and the registered results of the renewal's tasks and returns its resolution
    steps for P(clickview.runbook.alert_response#role).
  - The renewal step is C(failed) when the secret could not be deleted, C(would) in check mode, C(done) when a new
    certificate was read from the secret and the wait for the new revision did not fail, else C(failed) (no new
    certificate within the time allowed).
  - When a new certificate was read, a second step checks each endpoint serves it (same serial), C(done) when every
    endpoint does, else C(failed); one evidence line per endpoint.
options:
  _input:
    description: The Certificate renewed (C(name), C(namespace), C(endpoints)).
    type: dict
    required: true
  before:
    description: The registered k8s_info result of the Certificate before the renewal.
    type: dict
    required: true
  deleted:
    description: The registered result of the secret's deletion.
    type: dict
    default: {}
  after:
    description: The registered result of the wait for the new revision (may be skipped).
    type: dict
    default: {}
  new_cert:
    description: The registered x509_certificate_info result of the new certificate (C(serial_number), C(not_after)).
    type: dict
    default: {}
  served:
    description: The registered get_certificate loop over the endpoints (C(results)).
    type: dict
    default: {}
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
  issue_timeout:
    description: Seconds allowed for cert-manager to issue the new certificate, for the text.
    type: raw
    default: '?'
  served_timeout:
    description: Seconds allowed for the endpoints to serve it, for the text.
    type: raw
    default: '?'
"""

EXAMPLES = r"""
- name: Record the renewal
  ansible.builtin.include_tasks: common/action.yml
  loop: >-
    {{ renewal | clickview.runbook.certificate_renewal_actions(before, deleted=deleted, after=after, new_cert=new_cert,
         served=served, check_mode=ansible_check_mode, issue_timeout=300, served_timeout=120) }}
  loop_control:
    loop_var: alert_response_action
"""

RETURN = r"""
_value:
  description: The renewal step, then (when a new certificate was read) the step that checks it is served; each with
    C(step), C(status), C(detail) and C(evidence).
  type: list
  elements: dict
"""


def _first(result):
    resources = (result or {}).get("resources")
    if resources is None:
        resources = [{}]
    return resources[0] if resources else {}


def _revision(resource):
    return (resource.get("status") or {}).get("revision", "?")


def certificate_renewal_actions(renewal, before, deleted=None, after=None, new_cert=None, served=None, check_mode=False,
                                issue_timeout="?", served_timeout="?"):
    """The renewal step and, when a new certificate was read, the step checking it is served."""
    deleted, after, new_cert, served = deleted or {}, after or {}, new_cert or {}, served or {}
    name, endpoints = renewal.get("name"), renewal.get("endpoints") or []
    secret = (_first(before).get("spec") or {}).get("secretName")
    renewed = "serial_number" in new_cert and not after.get("failed")
    if deleted.get("failed"):
        error = api_error(deleted.get("msg"))
        status = "failed"
        detail = "secret %s not deleted: %s" % (secret, error["line"] or "no answer")
        if error["code"] == 403:
            detail += " - " + forbidden_hint("get and delete secret %s" % secret)
    elif check_mode:
        status, detail = "would", "would delete the secret; cert-manager would issue a new certificate"
    elif renewed:
        status = "done"
        detail = "re-issued: revision %s -> %s, serial %s, notAfter %s" % (
            _revision(_first(before)), _revision(_first(after)), new_cert["serial_number"], new_cert.get("not_after"))
    else:
        status = "failed"
        detail = "no new certificate within %s s: check cert-manager and the Certificate events" % issue_timeout
    actions = [{"step": "force the renewal of certificate/%s (delete secret %s)" % (name, secret), "status": status,
                "detail": detail, "evidence": []}]
    if "serial_number" not in new_cert:
        return actions
    serial = str(new_cert["serial_number"])
    results = served.get("results") or []
    lines = ["%s:%s serves serial %s (notAfter %s)%s" % (
        (r.get("item") or {}).get("host"), (r.get("item") or {}).get("port", 443), r.get("serial_number", "none"),
        r.get("not_after", "?"), "" if str(r.get("serial_number", "")) == serial else " - not the new one") for r in results]
    all_served = len([r for r in results if "serial_number" in r and str(r["serial_number"]) == serial]) == len(endpoints)
    actions.append({
        "step": "verify the new certificate of %s is served" % name, "status": "done" if all_served else "failed",
        "detail": "%d endpoint(s) %s" % (len(endpoints), "serve the new certificate" if all_served else
                                         "do not all serve the new certificate after %s s (reload the ingress/proxy?)"
                                         % served_timeout),
        "evidence": lines})
    return actions


class FilterModule:
    """Certificate renewal filters."""

    def filters(self):
        return {"certificate_renewal_actions": certificate_renewal_actions}
