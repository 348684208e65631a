# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The deployment report's rows for a rollout and the rollbacks after it."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils import deployment_rows as dr

DOCUMENTATION = r"""
name: deployment_rows
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The deployment report's rows for a rollout, the rollbacks after it, a blue-green slot and a canary
description:
  - C(rollout) - the input is the outcome of M(clickview.runbook.k8s_rollout_status) (C(rollout)); one row
    C(deploy.rollout), OK once the rollout completed (the seconds it took as its value), FAIL with the conditions, the
    containers that are not ready and the last events otherwise. In check mode it says what would roll out.
  - C(auto_rollback) - the input is the registered M(clickview.runbook.k8s_rollback) run after a failed rollout; one
    row C(deploy.rollback), OK naming what runs now, WARN when it was skipped (C(deployment_rollback_on_failure) false,
    so the failed revision is still deployed), FAIL with the rollback details when it failed.
  - C(verify_rollback) - the input is the registered rollback after a failed post-deploy verification; no row when it
    did not run, else one row C(verify.rollback), OK or FAIL.
  - C(blue_green_health) - the input is the new slot's health (P(clickview.runbook.slot_health#filter)); the row
    C(blue_green.health) (its ready pods as the value), OK when the slot is healthy, and when it is not, FAIL and a
    second row C(blue_green.switch), FAIL, saying the Service still serves the live slot.
  - C(blue_green_switch) - the input is the Service's endpoints after a switch (P(clickview.runbook.slot_endpoints#filter));
    the row C(<check>.endpoints), OK when they are exactly the ready pods of O(name) (their number as the value; in
    check mode it says what would switch), and C(<check>.live_url) when O(live) was checked, OK on HTTP 2xx.
  - C(canary_decision) - the input is the canary's decision (V(promote), V(hold) or V(rollback)); one row
    C(canary.decision), OK when promoted and the promotion rolled out, WARN when held, FAIL when rolled back or the
    promotion's rollout failed, with the number of samples analysed as its value.
options:
  _input:
    description: What the step registered (see the description).
    type: raw
    required: true
  step:
    description: Which row.
    type: str
    required: true
    choices: [rollout, auto_rollback, verify_rollback, blue_green_health, blue_green_switch, canary_decision]
  name:
    description: The Deployment's name (for C(blue_green_health), the new slot's; for C(blue_green_switch), the one the Service must serve).
    type: str
    required: true
  image:
    description: The image deployed (C(rollout)).
    type: str
    default: ''
  image_before:
    description: The image that ran before the deploy (C(rollout), C(auto_rollback)).
    type: str
    default: ''
  changed:
    description: Whether the deploy changed the image (C(rollout)).
    type: bool
    default: true
  check_mode:
    description: Whether the run is in check mode (C(rollout), C(blue_green_switch)).
    type: bool
    default: false
  deadline:
    description: The Deployment's progress deadline in seconds (C(rollout), for the threshold).
    type: raw
    default: 600
  timeout:
    description: The seconds the rollout was watched at most (C(rollout), for the threshold).
    type: raw
    default: 300
  revision_before:
    description: The revision that ran before the deploy (C(auto_rollback), for the threshold).
    type: raw
    default: ''
  live_name:
    description: The live slot's Deployment, which the Service still serves when the new slot is not healthy (C(blue_green_health)).
    type: str
    default: ''
  service:
    description: The Service switched between the slots (C(blue_green_health)).
    type: str
    default: ''
  soak_seconds:
    description: The seconds the new slot soaked before its health was read (C(blue_green_health)).
    type: raw
    default: 0
  preview:
    description: The registered M(ansible.builtin.uri) check of the preview URL, skipped when there is none (C(blue_green_health)).
    type: dict
  check:
    description: The rows' name, C(blue_green.switch) or C(blue_green.switch_back) (C(blue_green_switch)).
    type: str
    default: blue_green.switch
  selector:
    description: The Service's selector after the switch (C(blue_green_switch)).
    type: dict
  want:
    description: How many ready endpoints the Service must have (C(blue_green_switch)).
    type: raw
    default: 1
  live:
    description: The registered M(ansible.builtin.uri) check of the live URL, skipped when there is none (C(blue_green_switch)).
    type: dict
  live_url:
    description: The live URL checked (C(blue_green_switch)).
    type: str
    default: ''
  reason:
    description: Why the canary was decided so, from P(clickview.runbook.canary_verdict#filter) (C(canary_decision)).
    type: str
    default: ''
  promoted:
    description: Whether the promotion's rollout completed (C(canary_decision)).
    type: bool
    default: false
  image_after:
    description: The image the stable Deployment runs after the decision (C(canary_decision)).
    type: str
    default: ''
  samples:
    description: How many samples the canary analysis took (C(canary_decision)).
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Record the rollout
  ansible.builtin.set_fact:
    deployment_checks: >-
      {{ deployment_checks + (deployment_rollout | default({}) | clickview.runbook.deployment_rows('rollout',
           name=deployment_name, image=deployment_image, image_before=deployment_image_before,
           changed=deployment_set_image is changed, check_mode=ansible_check_mode,
           deadline=deployment_found.spec.progressDeadlineSeconds | default(600), timeout=deployment_rollout_timeout)) }}
"""

RETURN = r"""
_value:
  description: The rows (check, target, status, figure, threshold, detail, value, unit); empty when there is none.
  type: list
  elements: dict
"""


def deployment_rows(data, step, name, image="", image_before="", changed=True, check_mode=False, deadline=600, timeout=300,
                    revision_before="", live_name="", service="", soak_seconds=0, preview=None, reason="", promoted=False,
                    image_after="", samples=0, check="blue_green.switch", selector=None, want=1, live=None, live_url=""):
    """The rows of one step (see DOCUMENTATION)."""
    if step == "blue_green_switch":
        return dr.blue_green_switch_rows(data or {}, check, name, service, selector or {}, want, live, live_url, bool(check_mode))
    if step == "blue_green_health":
        return dr.blue_green_health_rows(data or {}, name, live_name, service, soak_seconds, preview)
    if step == "canary_decision":
        try:
            return [dr.canary_decision_row(data, name, image, reason, promoted, image_after, samples)]
        except (TypeError, ValueError) as exc:
            raise AnsibleFilterError("deployment_rows: canary_decision: %s" % exc) from exc
    if step == "rollout":
        return [dr.rollout_row(data or {}, name, image, image_before, bool(changed), bool(check_mode), deadline, timeout)]
    if step == "auto_rollback":
        return [dr.auto_rollback_row(data or {}, name, revision_before, image_before)]
    if step == "verify_rollback":
        return dr.verify_rollback_rows(data or {}, name)
    raise AnsibleFilterError("deployment_rows: step must be one of rollout, auto_rollback, verify_rollback, "
                             "blue_green_health, blue_green_switch, canary_decision; got %r" % (step,))


class FilterModule:
    """Deployment filters."""

    def filters(self):
        return {"deployment_rows": deployment_rows}
