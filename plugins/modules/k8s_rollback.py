#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: k8s_rollback
short_description: Roll a Deployment, StatefulSet or DaemonSet back to an earlier revision and wait for it
version_added: 0.1.0
description:
  - Rolls back like C(kubectl rollout undo [--to-revision=N]) and then waits like C(kubectl rollout status).
  - The revisions of a Deployment are its ReplicaSets, those of a StatefulSet or DaemonSet its ControllerRevisions.
    Without O(to_revision) the target is the highest revision below the one running now, as with kubectl.
  - Only the pod template (without the C(pod-template-hash) label) and the C(kubernetes.io/change-cause) annotation
    are written, in one JSON patch that applies only if the object did not change since it was read.
    Every other annotation and label of the object stays.
    As with kubectl, the controller then renumbers the revision rolled back to as the highest revision + 1.
  - A Deployment's ReplicaSet keeps the numbers it had before such renumbering (annotation
    C(deployment.kubernetes.io/revision-history)), so O(to_revision) still finds it and a second run with the
    same O(to_revision) reports C(changed=false).
  - When the running pod template already equals the target's, nothing is written and C(changed=false).
  - With O(wait=true) the task returns when the rollout is complete (generation observed, every replica updated and
    available) and fails when the Deployment exceeds its progress deadline or O(wait_timeout) passes, returning
    the conditions, the containers that are not ready and the last events.
  - The wait polls once a second and records what each poll saw (replicas updated, ready and available) in
    RV(progress), with the seconds waited in RV(waited), whether the rollout completed or not.
  - With O(history_only=true) nothing is rolled back; the task returns the rollout history
    (C(kubectl rollout history)).
author:
  - ClickView Platform Team (@clickview)
extends_documentation_fragment:
  - clickview.runbook.kubernetes
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the object and its history and returns the revision it would roll back to and the changes; writes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Shows the running pod template and the target revision's pod template.
notes:
  - Two rollbacks of the same release at once never end on the bad release. Each patch applies only to the object
    version it read; the one that loses that race reads the object again and re-applies the revision its first plan
    chose, which is then a no-op (C(already_rolled_back)). A rollback that starts after the other finished needs
    O(from_revision) or O(from_image) to know the bad release is gone.
  - C(changed) and C(rolled_back) are reported only after the API accepted the patch; a refused patch (403, for
    example) fails the task with RV(rollbacks[].outcome=failed) and says nothing was rolled back.
  - A paused Deployment is refused (resume it first), as C(kubectl rollout undo) does; nothing is written.
  - Without O(to_revision) every run rolls back one more revision, as C(kubectl rollout undo) does; give
    O(to_revision) to make the task idempotent.
  - StatefulSets and DaemonSets keep no record of the number a ControllerRevision had before a rollback renumbered
    it; after rolling back to revision N, that revision is found under its new number (see RV(history)).
  - A least-privilege role needs get and patch on the workload, list on C(replicasets) or C(controllerrevisions),
    and (for the failure report) list on C(pods) and C(events).
options:
  kind:
    description:
      - Kind of the workload.
    type: str
    choices: [Deployment, StatefulSet, DaemonSet]
    default: Deployment
  name:
    description:
      - Name of the workload.
      - Exactly one of O(name) and O(label_selectors) is required.
    type: str
  namespace:
    description:
      - Namespace of the workload(s).
    type: str
    required: true
  label_selectors:
    description:
      - Roll back every workload of O(kind) in O(namespace) that matches all these label selectors
        (for example V(app.kubernetes.io/part-of=clickview)).
      - Each workload is rolled back on its own history; they are patched one after the other, then waited for together.
    type: list
    elements: str
  to_revision:
    description:
      - Revision to roll back to, as listed by C(kubectl rollout history) (or in RV(history)).
      - Default is the highest revision below the one running now.
      - A revision that does not exist fails the task with the list of available revisions; nothing is changed.
    type: int
  change_cause:
    description:
      - Text recorded in the C(kubernetes.io/change-cause) annotation, which the history shows for the new revision.
      - Default says which revision (and images) it rolled back to, from which revision, and O(reason) when given.
      - An empty string leaves the annotation as it is.
    type: str
  reason:
    description:
      - Why the rollback is done (for example an incident reference); added to the default O(change_cause).
    type: str
  wait:
    description:
      - Wait until the rollout is complete, and fail if it does not complete.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for the rollout with O(wait=true).
    type: int
    default: 300
  history_only:
    description:
      - Only return the rollout history (and what a rollback would change); write nothing.
    type: bool
    default: false
  from_revision:
    description:
      - The revision judged bad, as the rollout history numbers it (for example the revision the alert or the failed
        deploy saw running). When the workload no longer runs it, nothing is written and the result says
        C(already_rolled_back) (RV(rollbacks[].outcome)).
      - Give it (or O(from_image)) whenever more than one responder may roll back the same release (an event-driven
        remediation and a person, a CI verify stage and on-call). Without it, the second of two rollbacks would roll
        back the good release, back to the bad one, as C(kubectl rollout undo) does.
    type: int
  from_image:
    description:
      - The image judged bad, exactly as the pod template names it (for example the image a failed deploy set).
        When no container of the workload runs it any more, nothing is written (C(already_rolled_back)).
    type: str
"""

EXAMPLES = r"""
- name: Quick rollback to the last revision and wait for it
  clickview.runbook.k8s_rollback:
    name: clickview-backend
    namespace: clickview
    reason: "INC-1234 error rate after release 1.4.0"

- name: Roll back the release the alert judged bad (a no-op if another responder already did)
  clickview.runbook.k8s_rollback:
    name: clickview-backend
    namespace: clickview
    from_image: registry.clickview.lab/clickview-backend:1.5.0
    reason: "INC-1234 error rate after release 1.5.0"

- name: Roll back to revision 5
  clickview.runbook.k8s_rollback:
    name: clickview-backend
    namespace: clickview
    to_revision: 5
    wait_timeout: 600
  register: rollback

- name: Show which image runs now
  ansible.builtin.debug:
    msg: "revision {{ rollback.from_revision }} -> {{ rollback.to_revision }}: {{ rollback.rollbacks[0].images_after }}"

- name: Roll back the postgres StatefulSet to its previous revision
  clickview.runbook.k8s_rollback:
    kind: StatefulSet
    name: postgres
    namespace: clickview

- name: Roll back every Deployment of the product, each to its previous revision
  clickview.runbook.k8s_rollback:
    namespace: clickview
    label_selectors:
      - app.kubernetes.io/part-of=clickview

- name: Rollout history (kubectl rollout history)
  clickview.runbook.k8s_rollback:
    name: clickview-backend
    namespace: clickview
    history_only: true
  register: history

- name: Connect with a token instead of the kubeconfig
  clickview.runbook.k8s_rollback:
    host: https://k8s.example.com:6443
    api_key: "{{ k8s_token }}"
    ca_cert: /etc/ssl/k8s-ca.crt
    name: clickview-backend
    namespace: clickview
    to_revision: 3
"""

RETURN = r"""
msg:
  description: What was done (or would be done), one sentence per workload.
  returned: always
  type: str
  sample: deployment/clickview-backend rolled back from revision 4 to revision 3
from_revision:
  description: Revision running before the rollback (null if the controller had not created it yet). Only for one workload.
  returned: success, when one workload was handled
  type: int
  sample: 4
to_revision:
  description:
    - Revision rolled back to, with the number it had before the rollback (the controller renumbers it afterwards).
    - Only for one workload.
  returned: success, when one workload was handled
  type: int
  sample: 3
history:
  description: Rollout history of the workload as read before the rollback, oldest first. Only for one workload.
  returned: success, when one workload was handled
  type: list
  elements: dict
  contains:
    revision:
      description: Revision number.
      type: int
    name:
      description: Name of the ReplicaSet or ControllerRevision.
      type: str
    images:
      description: Container images of that revision's pod template.
      type: list
      elements: str
    change_cause:
      description: The C(kubernetes.io/change-cause) annotation of the revision.
      type: str
    created:
      description: Creation time of the ReplicaSet or ControllerRevision.
      type: str
    current:
      description: Whether this is the revision running before the rollback.
      type: bool
    previous_revisions:
      description: Numbers this Deployment revision had before earlier rollbacks renumbered it (Deployments only).
      type: list
      elements: int
status:
  description: The workload's C(status) after the rollout (after the rollback without O(wait)). Only for one workload.
  returned: success, when one workload was handled
  type: dict
progress:
  description:
    - What each poll of the wait saw, oldest first (one poll a second); as RV(rollbacks[].progress). Only for one workload.
    - At most 60 samples are kept, the first and the last 59.
  returned: when the task waited for one workload's rollout
  type: list
  elements: dict
  version_added: 0.3.0
  sample: [{"elapsed": 0.0, "replicas": 3, "updated": 1, "ready": 0, "available": 0},
           {"elapsed": 2.0, "replicas": 3, "updated": 3, "ready": 3, "available": 3}]
  contains:
    elapsed:
      description: Seconds since the wait began.
      type: float
    replicas:
      description: Replicas the workload wants (C(spec.replicas); for a DaemonSet the pods it should schedule).
      type: int
    updated:
      description: Replicas (pods) running the pod template rolled back to.
      type: int
    ready:
      description: Replicas (pods) ready.
      type: int
    available:
      description: Replicas (pods) available.
      type: int
waited:
  description:
    - Seconds the task waited for the rollout (the longest of them with several workloads).
  returned: when the task waited for a rollout
  type: float
  version_added: 0.3.0
  sample: 14.2
rollbacks:
  description: One entry per workload.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: Kind of the workload.
      type: str
    name:
      description: Name of the workload.
      type: str
    namespace:
      description: Namespace of the workload.
      type: str
    changed:
      description: Whether its pod template was (or in check mode would be) written.
      type: bool
    outcome:
      description:
        - V(rolled_back) (the API accepted the patch), V(already_rolled_back) (it no longer runs O(from_revision) or
          O(from_image), or another writer rolled it back to the same revision while this task ran), V(unchanged)
          (it already runs the target), V(would_roll_back) (check mode), V(planned) (O(history_only)), V(failed)
          (the patch was refused; nothing written) or V(not_attempted) (an earlier workload failed).
      type: str
      sample: rolled_back
    msg:
      description: What was done to it.
      type: str
    from_revision:
      description: Revision running before the rollback.
      type: int
    to_revision:
      description: Revision rolled back to (its number before the rollback).
      type: int
    requested_revision:
      description: O(to_revision) as given, or the revision chosen by default.
      type: int
    target_name:
      description: Name of the ReplicaSet or ControllerRevision rolled back to.
      type: str
    images_before:
      description: Container images before the rollback.
      type: list
      elements: str
    images_after:
      description: Container images of the target revision.
      type: list
      elements: str
    changes:
      description: Differences between the running and the target pod template, per container and field
        (C(image), C(env), C(resources), C(command), ...) and per pod-level field (C(container) is null).
      type: list
      elements: dict
      sample: [{"container": "backend", "field": "image", "before": "registry.clickview.lab/clickview-backend:1.4.0",
                "after": "registry.clickview.lab/clickview-backend:1.3.1"}]
    change_cause:
      description: The change-cause recorded (null when nothing was written or O(change_cause) was empty).
      type: str
    history:
      description: Rollout history, as RV(history).
      type: list
      elements: dict
    status:
      description: The workload's C(status) after waiting.
      type: dict
    progress:
      description:
        - What each poll of the wait saw, oldest first, as RV(progress) (C(elapsed), C(replicas), C(updated), C(ready),
          C(available)); at most 60 samples, the first and the last 59.
        - Only when the task waited for this workload.
      type: list
      elements: dict
      version_added: 0.3.0
    waited:
      description: Seconds waited until this workload's rollout completed, failed or timed out.
      type: float
      version_added: 0.3.0
    rollout:
      description: Last rollout status message, as C(kubectl rollout status) prints it.
      type: str
      sample: deployment "clickview-backend" successfully rolled out
    conditions:
      description: The workload's conditions when the rollout failed or timed out.
      type: list
      elements: dict
    pods:
      description: Containers that were not ready when the rollout failed (pod, container, image, waiting reason,
        restarts, last exit code).
      type: list
      elements: dict
    events:
      description: The last events of the workload, the target ReplicaSet and its failing pods when the rollout failed.
      type: list
      elements: dict
available_revisions:
  description: Revisions that exist, when the requested revision does not exist or there is none to roll back to.
  returned: failure
  type: list
  elements: int
  sample: [2, 3, 5]
"""

import json

try:
    import yaml
    HAS_YAML = True
except ImportError:  # the diff falls back to JSON
    HAS_YAML = False

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.clickview.runbook.plugins.module_utils.k8s_client import (
    connect,
    kubernetes_argument_spec,
    missing_requirements,
)
from ansible_collections.clickview.runbook.plugins.module_utils.k8s_rollout import (
    KINDS,
    K8sApiError,
    Rollback,
    RolloutError,
)


def argument_spec():
    spec = kubernetes_argument_spec()
    spec.update(
        kind=dict(type="str", choices=sorted(KINDS), default="Deployment"),
        name=dict(type="str"),
        namespace=dict(type="str", required=True),
        label_selectors=dict(type="list", elements="str"),
        to_revision=dict(type="int"),
        change_cause=dict(type="str"),
        reason=dict(type="str"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
        history_only=dict(type="bool", default=False),
        from_revision=dict(type="int"),
        from_image=dict(type="str"),
    )
    return spec


def validate(module):
    p = module.params
    if p["to_revision"] is not None and p["to_revision"] <= 0:
        module.fail_json(msg="to_revision must be a positive revision number (see the rollout history), got %d; "
                             "leave it out to roll back to the previous revision" % p["to_revision"], rollbacks=[])
    if p["from_revision"] is not None and p["from_revision"] <= 0:
        module.fail_json(msg="from_revision must be a positive revision number (the revision judged bad), got %d"
                             % p["from_revision"], rollbacks=[])
    if p["from_image"] is not None and not p["from_image"].strip():
        module.fail_json(msg="from_image must not be empty (the image judged bad, as the pod template names it)",
                         rollbacks=[])
    if p["wait_timeout"] <= 0:
        module.fail_json(msg="wait_timeout must be a positive number of seconds, got %d" % p["wait_timeout"], rollbacks=[])
    if p["name"] is not None and not p["name"].strip():
        module.fail_json(msg="name must not be empty", rollbacks=[])
    if p["label_selectors"] is not None and not [s for s in p["label_selectors"] if s and s.strip()]:
        module.fail_json(msg="label_selectors must contain at least one selector such as app=clickview-backend", rollbacks=[])


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("name", "label_selectors")],
        required_one_of=[("name", "label_selectors")],
        supports_check_mode=True,
    )
    missing = missing_requirements()
    if missing:
        module.fail_json(msg=missing_required_lib(missing[0]), exception=missing[1])
    validate(module)
    p = module.params
    dry = module.check_mode or p["history_only"]
    bad = dict(revision=p["from_revision"], image=p["from_image"]) if p["from_revision"] or p["from_image"] else None
    results = []
    try:
        rb = Rollback(connect(p), p["kind"], p["namespace"])
        selector = ",".join(s.strip() for s in p["label_selectors"] or [] if s and s.strip()) or None
        objects = rb.objects(name=p["name"], label_selector=selector)
        # plan everything first: a bad to_revision on any workload fails before anything is written
        plans = [rb.plan(obj, p["to_revision"], p["change_cause"], p["reason"], bad=bad) for obj in objects]
        results = [result for result, dummy in plans]
        applied = []
        for index, (obj, (result, ops)) in enumerate(zip(objects, plans)):
            if dry or ops is None:
                result["status"] = obj.get("status") or {}
                if result["outcome"] == "planned" and module.check_mode and not p["history_only"]:
                    result["outcome"] = "would_roll_back"
                continue
            try:
                result, patched = rb.apply(obj, p["to_revision"], p["change_cause"], p["reason"], bad=bad)
            except (K8sApiError, RolloutError) as e:
                # nothing was written to this workload, nor to the ones after it
                results[index].update(changed=False, outcome="failed",
                                      msg="%s was NOT rolled back: %s" % (rb.ref(obj), _api_failure(e, p)))
                for later in results[index + 1:]:
                    later.update(changed=False, outcome="not_attempted",
                                 msg="%s/%s was not rolled back: an earlier workload failed" % (later["kind"].lower(), later["name"]))
                raise
            results[index] = result
            if result["outcome"] == "rolled_back":
                applied.append((result, patched))
            else:
                result["status"] = patched.get("status") or {}
        failed = rb.wait(applied, p["wait_timeout"]) if p["wait"] and applied else []
    except RolloutError as e:
        module.fail_json(msg=e.message, changed=any(r.get("outcome") == "rolled_back" for r in results),
                         rollbacks=[_public(r) for r in results], **_public(e.details))
    except K8sApiError as e:
        module.fail_json(msg=_api_failure(e, p), changed=any(r.get("outcome") == "rolled_back" for r in results),
                         rollbacks=[_public(r) for r in results])

    changed = any(r["changed"] for r in results) and not p["history_only"]
    out = dict(changed=changed, rollbacks=[_public(r) for r in results])
    if module._diff:
        out["diff"] = [dict(before=_yaml(r["diff"]["before"]), after=_yaml(r["diff"]["after"]),
                            before_header=r["diff"]["before_header"], after_header=r["diff"]["after_header"])
                       for r in results if r["changed"]]
    if len(results) == 1:
        r = results[0]
        out.update(from_revision=r["from_revision"], to_revision=r["to_revision"], history=r["history"], status=r.get("status"))
        if "progress" in r:
            out.update(progress=r["progress"], waited=r["waited"])
    elif any("waited" in r for r in results):
        out["waited"] = max(r.get("waited", 0.0) for r in results)
    msgs = [r["msg"] for r in results]
    if p["history_only"]:
        msgs = ["%s: rollout history of %d revisions" % (r["name"], len(r["history"])) for r in results]
    if failed:
        names = ", ".join("%s/%s" % (r["kind"].lower(), r["name"]) for r in failed)
        reasons = "; ".join("%s/%s: %s%s" % (r["kind"].lower(), r["name"], r["rollout"], _why(r)) for r in failed)
        module.fail_json(msg="rollback of %s did not complete: %s" % (names, reasons), **out)
    out["msg"] = "; ".join(msgs)
    module.exit_json(**out)


def _yaml(data):
    if not HAS_YAML:
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=True)


def _why(result):
    reasons = sorted(set("%s %s" % (p["container"], p["reason"]) for p in result.get("pods") or [] if p.get("reason")))
    return " (%s)" % ", ".join(reasons) if reasons else ""


def _public(data):
    data = dict(data)
    data.pop("diff", None)
    return data


def _api_failure(e, p):
    if isinstance(e, RolloutError):
        return e.message
    if e.status == 403:
        return ("permission denied by the Kubernetes API (%s); the credentials used need get and patch on %s and list on "
                "their revisions in namespace %s" % (e, p["kind"].lower() + "s", p["namespace"]))
    if e.status == 401:
        return "the Kubernetes API did not accept the credentials (check api_key, kubeconfig and context): %s" % e
    return "Kubernetes API request failed: %s" % e


if __name__ == "__main__":
    main()
