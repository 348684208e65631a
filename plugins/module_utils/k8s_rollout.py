# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Rollout history, rollback and rollout status of Deployments, StatefulSets and DaemonSets.

Nothing here needs AnsibleModule or the kubernetes client: the API is any object with
get(path), list(path, label_selector=None, field_selector=None) and json_patch(path, ops)
that returns dicts and raises K8sApiError (k8s_client.KubeApi in the module, a fake in the tests).

What is the same as `kubectl rollout undo` / `kubectl rollout status`:
- the history of a Deployment is its ReplicaSets (annotation deployment.kubernetes.io/revision),
  that of a StatefulSet or DaemonSet its ControllerRevisions (field revision);
- without to_revision the target is the highest revision below the current one;
- the pod template of the target is written back without the pod-template-hash label, and the
  controller then renumbers that revision to the highest + 1;
- a rollout is complete under the same conditions kubectl rollout status checks.
What is different: only spec.template and the change-cause annotation are written (every other
annotation and label stays), a paused Deployment is refused before anything is written, the
revision a Deployment's ReplicaSet had before a rollback (deployment.kubernetes.io/revision-history)
still finds it, and a failed rollout is reported with its conditions, pod states and events.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import time

from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError

CHANGE_CAUSE = "kubernetes.io/change-cause"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
POD_TEMPLATE_HASH = "pod-template-hash"
TIMED_OUT = "ProgressDeadlineExceeded"

KINDS = {
    "Deployment": {"plural": "deployments", "history": "replicasets"},
    "StatefulSet": {"plural": "statefulsets", "history": "controllerrevisions"},
    "DaemonSet": {"plural": "daemonsets", "history": "controllerrevisions"},
}


class K8sApiError(ClickviewError):
    """An API request failed: HTTP status (None when the server was not reached) and the server's message."""

    def __init__(self, status, reason, message, method=None, path=None):
        super(K8sApiError, self).__init__(message)
        self.status, self.reason, self.method, self.path = status, reason, method, path

    def __str__(self):
        if self.status is None:
            return self.message
        return "%s %s: %s %s: %s" % (self.method, self.path, self.status, self.reason, self.message)


class RolloutError(ClickviewError):
    """The rollback cannot be done or did not complete; details are data for the task result."""

    def __init__(self, message, **details):
        super(RolloutError, self).__init__(message, partial=details)
        self.details = details


# ---------------------------------------------------------------- paths and selectors
def object_path(kind, namespace, name=None):
    path = "/apis/apps/v1/namespaces/%s/%s" % (namespace, KINDS[kind]["plural"])
    return path + "/" + name if name else path


def history_path(kind, namespace):
    return "/apis/apps/v1/namespaces/%s/%s" % (namespace, KINDS[kind]["history"])


def selector_string(selector):
    """A LabelSelector (matchLabels/matchExpressions) as the labelSelector query string."""
    selector = selector or {}
    terms = ["%s=%s" % (k, v) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        op, key, values = e.get("operator"), e.get("key"), e.get("values") or []
        if op == "In":
            terms.append("%s in (%s)" % (key, ",".join(values)))
        elif op == "NotIn":
            terms.append("%s notin (%s)" % (key, ",".join(values)))
        elif op == "Exists":
            terms.append(key)
        elif op == "DoesNotExist":
            terms.append("!" + key)
    return ",".join(terms)


def _controlled_by(obj, owner):
    uid = owner["metadata"].get("uid")
    return any(ref.get("uid") == uid and ref.get("controller")
               for ref in obj["metadata"].get("ownerReferences") or [])


# ---------------------------------------------------------------- templates
def normalize_template(template):
    """The pod template as the rollback compares and writes it: no pod-template-hash label, no $patch
    marker, no empty or null metadata fields."""
    t = copy.deepcopy(template or {})
    t.pop("$patch", None)
    md = t.get("metadata") or {}
    labels = dict(md.get("labels") or {})
    labels.pop(POD_TEMPLATE_HASH, None)
    md = dict((k, v) for k, v in md.items() if v not in (None, {}, []) and k != "labels")
    if labels:
        md["labels"] = labels
    if md:
        t["metadata"] = md
    else:
        t.pop("metadata", None)
    return t


def images_of(template):
    spec = (template or {}).get("spec") or {}
    return [c.get("image") for c in spec.get("containers") or []]


def _containers(template):
    spec = (template or {}).get("spec") or {}
    out = {}
    for c in spec.get("initContainers") or []:
        out["init:" + c.get("name", "")] = c
    for c in spec.get("containers") or []:
        out[c.get("name", "")] = c
    return out


def template_changes(before, after):
    """What the rollback changes in the pod template, per container and field (image, env, resources,
    command, args, ...), plus pod-level fields; a list of {container, field, before, after}."""
    changes = []
    b, a = _containers(before), _containers(after)
    for name in sorted(set(b) | set(a)):
        cb, ca = b.get(name), a.get(name)
        if cb is None or ca is None:
            changes.append({"container": name, "field": "container", "before": cb, "after": ca})
            continue
        for field in sorted(set(cb) | set(ca)):
            if cb.get(field) != ca.get(field):
                changes.append({"container": name, "field": field, "before": cb.get(field), "after": ca.get(field)})
    bt, at = normalize_template(before), normalize_template(after)
    bspec, aspec = dict(bt.get("spec") or {}), dict(at.get("spec") or {})
    for key in ("containers", "initContainers"):
        bspec.pop(key, None)
        aspec.pop(key, None)
    for field in sorted(set(bspec) | set(aspec)):
        if bspec.get(field) != aspec.get(field):
            changes.append({"container": None, "field": "spec." + field, "before": bspec.get(field), "after": aspec.get(field)})
    for field in ("labels", "annotations"):
        bv, av = (bt.get("metadata") or {}).get(field), (at.get("metadata") or {}).get(field)
        if bv != av:
            changes.append({"container": None, "field": "metadata." + field, "before": bv, "after": av})
    return changes


# ---------------------------------------------------------------- history
def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def history_entries(kind, owner, history_objects):
    """The revisions of an owner from its ReplicaSets or ControllerRevisions, oldest first.

    Each entry: revision, name, template (normalized), images, change_cause, created, and for Deployments
    previous_revisions (the numbers this ReplicaSet had before earlier rollbacks renumbered it)."""
    entries = []
    for obj in history_objects:
        if not _controlled_by(obj, owner):
            continue
        md = obj["metadata"]
        ann = md.get("annotations") or {}
        if kind == "Deployment":
            revision = _int(ann.get(REVISION))
            template = (obj.get("spec") or {}).get("template")
            previous = [_int(x) for x in (ann.get(REVISION_HISTORY) or "").split(",") if x.strip()]
        else:
            revision = _int(obj.get("revision"))
            template = ((obj.get("data") or {}).get("spec") or {}).get("template")
            previous = []
        if revision <= 0:
            continue
        template = normalize_template(template)
        entry = {"revision": revision, "name": md.get("name"), "template": template, "images": images_of(template),
                 "change_cause": ann.get(CHANGE_CAUSE), "created": md.get("creationTimestamp")}
        if kind == "Deployment":
            entry["previous_revisions"] = previous
        entries.append(entry)
    entries.sort(key=lambda e: e["revision"])
    return entries


def current_entry(entries, live_template):
    """The entry whose template is the one the owner runs now (None while the controller has not caught up)."""
    live = normalize_template(live_template)
    matching = [e for e in entries if e["template"] == live]
    return matching[-1] if matching else None


def select_target(entries, current_revision, to_revision=None):
    """The entry to roll back to.

    Without to_revision: the highest revision below the current one (kubectl rollout undo); with no current
    revision known, the highest one. With to_revision: the entry with that revision, or the Deployment
    ReplicaSet that had that number before a rollback renumbered it."""
    available = [e["revision"] for e in entries]
    if not entries:
        raise RolloutError("no rollout history found", available_revisions=available)
    if to_revision is None:
        below = [e for e in entries if current_revision is None or e["revision"] < current_revision]
        if not below:
            raise RolloutError("no revision before the current revision %s to roll back to (available revisions: %s)"
                               % (current_revision, _fmt(available)), available_revisions=available)
        return below[-1]
    for e in entries:
        if e["revision"] == to_revision:
            return e
    for e in reversed(entries):
        if to_revision in (e.get("previous_revisions") or []):
            return e
    raise RolloutError("revision %s not found (available revisions: %s)" % (to_revision, _fmt(available)),
                       available_revisions=available)


def _fmt(revisions):
    return ", ".join(str(r) for r in revisions) or "none"


def history_summary(entries, current_revision):
    out = []
    for e in entries:
        item = dict((k, e[k]) for k in ("revision", "name", "images", "change_cause", "created"))
        item["current"] = e["revision"] == current_revision
        if "previous_revisions" in e:
            item["previous_revisions"] = e["previous_revisions"]
        out.append(item)
    return out


def no_longer_runs(bad, current, live_template):
    """What of the bad release (``{"revision": N, "image": ref}``) the object no longer runs, as text; None when it
    still runs it (or nothing was named). A revision counts as run when the current entry has that number (or had
    it before a renumbering); an image when any container of the live template uses it."""
    bad = bad or {}
    missing = []
    if bad.get("revision") is not None:
        numbers = [current["revision"]] + list(current.get("previous_revisions") or []) if current else []
        if bad["revision"] not in numbers:
            missing.append("revision %s" % bad["revision"])
    if bad.get("image"):
        if bad["image"] not in images_of(live_template):
            missing.append("image %s" % bad["image"])
    return " and ".join(missing) or None


def default_change_cause(target, current, reason=None):
    images = ", ".join(i for i in target["images"] if i)
    text = "rollback to revision %d (%s)" % (target["revision"], images)
    if current is not None:
        text += " from revision %d" % current["revision"]
    if reason:
        text += ": " + reason
    return text


def rollback_patch(obj, template, change_cause):
    """JSON patch: only spec.template and the change-cause annotation, conditional on resourceVersion."""
    ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": obj["metadata"]["resourceVersion"]},
           {"op": "replace", "path": "/spec/template", "value": template}]
    if change_cause:
        if obj["metadata"].get("annotations"):
            ops.append({"op": "add", "path": "/metadata/annotations/" + CHANGE_CAUSE.replace("~", "~0").replace("/", "~1"),
                        "value": change_cause})
        else:
            ops.append({"op": "add", "path": "/metadata/annotations", "value": {CHANGE_CAUSE: change_cause}})
    return ops


# ---------------------------------------------------------------- rollout status (kubectl rollout status)
def rollout_state(kind, obj, target_name=None):
    """('done' | 'waiting' | 'failed', message) for the owner's current rollout, as kubectl rollout status sees it.

    For a Deployment a ProgressDeadlineExceeded condition counts only when it names target_name (the
    ReplicaSet rolled back to), so the timed-out rollout that caused the rollback is not mistaken for
    the rollback failing."""
    md, spec, st = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    name = md.get("name")
    if md.get("generation", 0) > st.get("observedGeneration", 0):
        return "waiting", "waiting for the %s controller to observe the new generation" % kind
    if kind == "Deployment":
        for c in st.get("conditions") or []:
            if c.get("type") == "Progressing" and c.get("reason") == TIMED_OUT and (
                    target_name is None or '"%s"' % target_name in (c.get("message") or "")):
                return "failed", 'deployment "%s" exceeded its progress deadline' % name
        replicas = spec.get("replicas", 1)
        updated = st.get("updatedReplicas", 0)
        if updated < replicas:
            return "waiting", "%d out of %d new replicas have been updated" % (updated, replicas)
        if st.get("replicas", 0) > updated:
            return "waiting", "%d old replicas are pending termination" % (st.get("replicas", 0) - updated)
        if st.get("availableReplicas", 0) < updated:
            return "waiting", "%d of %d updated replicas are available" % (st.get("availableReplicas", 0), updated)
        return "done", 'deployment "%s" successfully rolled out' % name
    if kind == "StatefulSet":
        strategy = spec.get("updateStrategy") or {}
        replicas = spec.get("replicas", 1)
        if st.get("readyReplicas", 0) < replicas:
            return "waiting", "%d of %d pods are ready" % (st.get("readyReplicas", 0), replicas)
        partition = (strategy.get("rollingUpdate") or {}).get("partition") or 0
        if strategy.get("type", "RollingUpdate") == "RollingUpdate" and partition:
            if st.get("updatedReplicas", 0) < replicas - partition:
                return "waiting", "%d of %d pods (partition %d) are updated" % (st.get("updatedReplicas", 0), replicas - partition, partition)
            return "done", "partitioned roll out complete: %d new pods have been updated" % st.get("updatedReplicas", 0)
        if st.get("updateRevision") != st.get("currentRevision"):
            return "waiting", "%d pods at revision %s" % (st.get("updatedReplicas", 0), st.get("updateRevision"))
        return "done", "statefulset rolling update complete %d pods at revision %s" % (st.get("currentReplicas", replicas), st.get("currentRevision"))
    desired = st.get("desiredNumberScheduled", 0)
    if st.get("updatedNumberScheduled", 0) < desired:
        return "waiting", "%d out of %d new pods have been updated" % (st.get("updatedNumberScheduled", 0), desired)
    if st.get("numberAvailable", 0) < desired:
        return "waiting", "%d of %d updated pods are available" % (st.get("numberAvailable", 0), desired)
    return "done", 'daemon set "%s" successfully rolled out' % name


# ---------------------------------------------------------------- progress of the wait
PROGRESS_LIMIT = 60


def progress_sample(kind, obj, elapsed):
    """One poll of the wait: seconds since the wait began and the replicas wanted, updated, ready and available
    (for a DaemonSet the pods it should schedule, updated, ready and available)."""
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "DaemonSet":
        sample = {"replicas": st.get("desiredNumberScheduled", 0), "updated": st.get("updatedNumberScheduled", 0),
                  "ready": st.get("numberReady", 0), "available": st.get("numberAvailable", 0)}
    else:
        sample = {"replicas": spec.get("replicas", 1), "updated": st.get("updatedReplicas", 0),
                  "ready": st.get("readyReplicas", 0), "available": st.get("availableReplicas", 0)}
    sample["elapsed"] = round(max(elapsed, 0.0), 1)
    return sample


def add_sample(samples, sample, limit=PROGRESS_LIMIT):
    """Append a sample, keeping at most ``limit``: the first one and the latest ``limit - 1``."""
    samples.append(sample)
    while len(samples) > max(limit, 2):
        del samples[1]
    return samples


# ---------------------------------------------------------------- how a rollout ended, and why (reports)
_OUTCOMES = {"done": "complete", "failed": "deadline", "waiting": "progressing"}
_OUTCOME_MESSAGES = {"complete": '%s "%s" successfully rolled out',
                     "deadline": '%s "%s" exceeded its progress deadline',
                     "missing": '%s "%s" not found',
                     "timeout": '%s "%s" still rolling out after %s s',
                     "progressing": '%s "%s" still rolling out'}


def read_state(kind, obj):
    """rollout_state of an object as a read returned it, one without metadata.generation taken as generation 1
    (so that a status without observedGeneration counts as not observed yet)."""
    return rollout_state(kind, dict(obj, metadata=dict({"generation": 1}, **(obj.get("metadata") or {}))))


def rollout_outcome(resources, name="", timeout="", final=False, kind="Deployment"):
    """{name, state, message, replicas, ready, updated, available, images, conditions, pods, events} of a rollout.

    state is complete, deadline (progress deadline exceeded), progressing, timeout (still progressing on the
    last poll, ``final``) or missing (no object), by rollout_state's rule. ``resources`` is a list holding the
    object (k8s_info's resources) or the object itself. pods and events are left empty (rollout_problems)."""
    if isinstance(resources, dict):
        resources = [resources]
    obj = (resources or [{}])[0] or {}
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    if obj:
        state = _OUTCOMES[read_state(kind, obj)[0]]
    else:
        state = "missing"
    if final and state == "progressing":
        state = "timeout"
    counts = progress_sample(kind, obj, 0) if obj else {"replicas": 0, "updated": 0, "ready": 0, "available": 0}
    if kind != "DaemonSet":
        counts["replicas"] = spec.get("replicas", 0) if obj else 0
    label = kind.lower()
    message = _OUTCOME_MESSAGES[state] % ((label, name, timeout) if state == "timeout" else (label, name))
    if state != "complete":
        message += " (%s of %s updated, %s available)" % (counts["updated"], counts["replicas"], counts["available"])
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return {"name": name, "state": state, "message": message, "replicas": counts["replicas"],
            "ready": counts["ready"], "updated": counts["updated"], "available": counts["available"],
            "images": [c.get("image") for c in containers], "conditions": status.get("conditions") or [],
            "pods": [], "events": []}


def _unready(pods):
    out = []
    for pod in pods or []:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            if cs.get("ready"):
                continue
            state = cs.get("state") or {}
            waiting = state.get("waiting") or {}
            reason = waiting["reason"] if "reason" in waiting else next(iter(state), "")
            out.append({"pod": (pod.get("metadata") or {}).get("name"), "container": cs.get("name"), "image": cs.get("image"),
                        "reason": reason, "restarts": cs.get("restartCount", 0),
                        "last_exit_code": ((cs.get("lastState") or {}).get("terminated") or {}).get("exitCode")})
    return out


def _relevant(event, name):
    obj = event.get("involvedObject") or {}
    own = obj.get("name", "")
    return own == name or (own.startswith(name + "-") and obj.get("kind") in ("ReplicaSet", "Pod")
                           and event.get("type", "") == "Warning")


def rollout_problems(pods, events=None, name="", limit=10):
    """{'pods': [...], 'events': [...]}: the containers that are not ready, and the workload's own events with the
    Warning events of its ReplicaSets and pods (objects named <name>-...), the last ``limit`` as listed."""
    kept = [{"object": "%s/%s" % ((e.get("involvedObject") or {}).get("kind"), (e.get("involvedObject") or {}).get("name")),
             "type": e.get("type", ""), "reason": e.get("reason", ""), "message": e.get("message", ""), "count": e.get("count", 1)}
            for e in events or [] if _relevant(e, name)]
    return {"pods": _unready(pods), "events": kept[-int(limit):] if int(limit) > 0 else []}


def watch_rollout(api, kind, namespace, name, timeout, poll_interval=2.0, explain=True, sleep=time.sleep, clock=time.monotonic,
                  waited=0.0, return_after=0):
    """Wait like kubectl rollout status for one workload; return (outcome, last object read or None).

    outcome is rollout_outcome's with ``seconds`` waited and ``progress`` (progress_sample at each poll, at most
    PROGRESS_LIMIT); when the rollout did not complete and ``explain``, also the containers that are not ready and
    the last events (rollout_problems). A missing object ends the wait at once (state missing). A read that fails
    for another reason than 401/403 (raised: waiting cannot mend credentials) is polled again until the timeout;
    the outcome's ``error`` then says what the last failed read answered.

    ``waited`` is the seconds an earlier call of the same wait already spent (the time budget ``timeout`` counts
    from there); with ``return_after`` > 0 the call returns after that many seconds with state ``progressing``
    when the rollout is still going and time is left, so that an until loop of calls can show its progress."""
    if kind not in KINDS:
        raise RolloutError("kind must be one of %s, got %r" % (", ".join(sorted(KINDS)), kind))
    started = clock() - max(waited, 0.0)
    deadline = started + timeout
    call_ends = clock() + return_after if return_after > 0 else None
    progress, obj, error, state = [], None, None, "waiting"
    while True:
        try:
            obj, error = api.get(object_path(kind, namespace, name)), None
        except K8sApiError as e:
            if e.status in (401, 403):
                raise
            if e.status == 404:
                obj, error = None, None
                break
            error = str(e)
        if error is None:
            add_sample(progress, progress_sample(kind, obj, clock() - started))
            state = read_state(kind, obj)[0]
            if state != "waiting":
                break
        remaining = deadline - clock()
        if remaining <= 0 or (call_ends is not None and clock() >= call_ends):
            break
        sleep(min(poll_interval, remaining))
    final = clock() >= deadline or state != "waiting" or (obj is None and error is None)
    outcome = rollout_outcome([obj] if obj else [], name, timeout, final=final, kind=kind)
    if obj is None and error is not None:
        outcome.update(state="timeout" if final else "progressing",
                       message='%s "%s" could not be read for %s s: %s' % (kind.lower(), name, round(clock() - started), error))
    if error is not None:
        outcome["error"] = error
    outcome.update(seconds=round(max(clock() - started, 0.0), 1), progress=progress)
    if explain and obj is not None and outcome["state"] in ("deadline", "timeout"):
        try:
            pods = api.list("/api/v1/namespaces/%s/pods" % namespace, label_selector=selector_string(obj["spec"].get("selector")))
            events = api.list("/api/v1/namespaces/%s/events" % namespace)
        except K8sApiError:
            pods, events = [], []
        outcome.update(rollout_problems(pods, events, name))
    return outcome, obj


# ---------------------------------------------------------------- the rollback
class Rollback(object):
    """Plan, apply and wait for the rollback of one or more objects of one kind in one namespace."""

    def __init__(self, api, kind, namespace, sleep=time.sleep, clock=time.monotonic, poll_interval=1.0):
        if kind not in KINDS:
            raise RolloutError("kind must be one of %s, got %r" % (", ".join(sorted(KINDS)), kind))
        self.api, self.kind, self.namespace = api, kind, namespace
        self.sleep, self.clock, self.poll_interval = sleep, clock, poll_interval

    def ref(self, obj):
        return "%s/%s" % (self.kind.lower(), obj["metadata"]["name"])

    # ---- reading
    def objects(self, name=None, label_selector=None):
        if name:
            try:
                return [self.api.get(object_path(self.kind, self.namespace, name))]
            except K8sApiError as e:
                if e.status == 404:
                    raise RolloutError('%s "%s" not found in namespace "%s"' % (self.kind, name, self.namespace))
                raise
        found = self.api.list(object_path(self.kind, self.namespace), label_selector=label_selector)
        if not found:
            raise RolloutError('no %s in namespace "%s" matches the label selector "%s"' % (self.kind, self.namespace, label_selector))
        return sorted(found, key=lambda o: o["metadata"]["name"])

    def history(self, obj):
        objs = self.api.list(history_path(self.kind, self.namespace), label_selector=selector_string(obj["spec"].get("selector")))
        entries = history_entries(self.kind, obj, objs)
        current = current_entry(entries, obj["spec"].get("template"))
        return entries, current

    # ---- planning
    def plan(self, obj, to_revision=None, change_cause=None, reason=None, bad=None, target_name=None):
        """What the rollback of one object would do: a dict with changed, outcome, from/to revision, history, diff.

        ``bad`` names the release the responder judged bad ({"revision": N} and/or {"image": ref}): when the
        object no longer runs it, nothing is planned (outcome already_rolled_back). ``target_name`` pins the
        target to one ReplicaSet/ControllerRevision (a retry re-applies what the first plan chose)."""
        if to_revision is not None and to_revision <= 0:
            raise RolloutError("to_revision must be a positive revision number, got %s" % to_revision)
        entries, current = self.history(obj)
        current_rev = current["revision"] if current else None
        result = {"kind": self.kind, "name": obj["metadata"]["name"], "namespace": self.namespace,
                  "from_revision": current_rev, "history": history_summary(entries, current_rev)}
        if self.kind == "Deployment" and (obj.get("spec") or {}).get("paused"):
            raise RolloutError("%s is paused; resume it before rolling back (nothing was changed)" % self.ref(obj),
                               available_revisions=[e["revision"] for e in entries], **result)
        live = normalize_template(obj["spec"].get("template"))
        gone = no_longer_runs(bad, current, live)
        if gone:
            result.update(changed=False, outcome="already_rolled_back", to_revision=current_rev,
                          requested_revision=to_revision, target_name=current["name"] if current else None,
                          images_before=images_of(live), images_after=images_of(live), changes=[],
                          msg="%s already rolled back: it no longer runs %s (runs revision %s: %s)"
                              % (self.ref(obj), gone, current_rev, ", ".join(i for i in images_of(live) if i)))
            return result, None
        try:
            if target_name is not None:
                target = next((e for e in entries if e["name"] == target_name), None)
                if target is None:
                    raise RolloutError("the revision chosen first (%s) no longer exists" % target_name,
                                       available_revisions=[e["revision"] for e in entries])
            else:
                target = select_target(entries, current_rev, to_revision)
        except RolloutError as e:
            raise RolloutError("%s: %s" % (self.ref(obj), e.message), **dict(result, **e.details))
        result.update(
            to_revision=target["revision"], requested_revision=to_revision if to_revision is not None else target["revision"],
            target_name=target["name"], images_before=images_of(live), images_after=target["images"],
            changes=template_changes(live, target["template"]),
            diff={"before_header": "%s pod template (revision %s)" % (self.ref(obj), current_rev),
                  "after_header": "%s pod template (revision %s)" % (self.ref(obj), target["revision"]),
                  "before": live, "after": target["template"]})
        if live == target["template"]:
            result.update(changed=False, outcome="unchanged",
                          msg="%s already runs revision %d" % (self.ref(obj), target["revision"]))
            return result, None
        if change_cause is None:
            change_cause = default_change_cause(target, current, reason)
        result.update(changed=True, outcome="planned", change_cause=change_cause or None,
                      msg="%s would be rolled back from revision %s to revision %d"
                          % (self.ref(obj), current_rev, target["revision"]))
        return result, rollback_patch(obj, target["template"], change_cause)

    # ---- writing
    def apply(self, obj, to_revision=None, change_cause=None, reason=None, bad=None, attempts=3):
        """Patch one object. The patch applies only to the resourceVersion read; when someone else wrote the
        object in between (409/422), it is read again and the target the first plan chose is applied again (not
        "the revision before" the new state, which after another responder's rollback is the bad release):
        a no-op when the object already runs that target or no longer runs the bad release.

        Returns (result, patched object). The result says what really happened: outcome rolled_back only after
        the API accepted the patch. A failed patch raises K8sApiError; the caller reports the plan as failed."""
        result, ops = self.plan(obj, to_revision, change_cause, reason, bad=bad)
        if ops is None:
            return result, obj
        first = result
        for attempt in range(attempts):
            try:
                patched = self.api.json_patch(object_path(self.kind, self.namespace, obj["metadata"]["name"]), ops)
            except K8sApiError as e:
                conflict = e.status == 409 or (e.status == 422 and "resourceVersion" in (e.message or ""))
                if not conflict or attempt == attempts - 1:
                    raise
                obj = self.api.get(object_path(self.kind, self.namespace, obj["metadata"]["name"]))
                result, ops = self.plan(obj, to_revision, change_cause, reason, bad=bad, target_name=first["target_name"])
                if ops is None:
                    if result["outcome"] == "unchanged":
                        result.update(outcome="already_rolled_back",
                                      msg="%s already rolled back to revision %s by another writer while this task ran"
                                          % (self.ref(obj), first["to_revision"]))
                    return result, obj
                continue
            result.update(outcome="rolled_back",
                          msg="%s rolled back from revision %s to revision %d"
                              % (self.ref(obj), result["from_revision"], result["to_revision"]))
            return result, patched
        raise RolloutError("unreachable")  # pragma: no cover

    # ---- waiting
    def wait(self, items, timeout):
        """Wait for every (result, object) to finish rolling out. Fills result['status'] / ['rollout'], the
        progress seen at each poll (result['progress'], see progress_sample; at most PROGRESS_LIMIT samples) and
        the seconds waited for it (result['waited']); returns the results that failed or timed out (with
        conditions, pod problems and events)."""
        started = self.clock()
        deadline = started + timeout
        pending = list(items)
        failed = []
        for result, obj in pending:
            result["progress"], result["waited"] = [], 0.0
        while True:
            still = []
            for result, obj in pending:
                obj = self.api.get(object_path(self.kind, self.namespace, obj["metadata"]["name"]))
                elapsed = self.clock() - started
                state, message = rollout_state(self.kind, obj, result.get("target_name") if self.kind == "Deployment" else None)
                result["status"], result["rollout"] = obj.get("status") or {}, message
                add_sample(result["progress"], progress_sample(self.kind, obj, elapsed))
                result["waited"] = round(max(elapsed, 0.0), 1)
                if state == "done":
                    continue
                if state == "failed":
                    failed.append(self._explain(result, obj, message))
                else:
                    still.append((result, obj))
            pending = still
            if not pending:
                return failed
            if self.clock() >= deadline:
                for result, obj in pending:
                    failed.append(self._explain(result, obj, "timed out after %ss: %s" % (timeout, result["rollout"])))
                return failed
            self.sleep(self.poll_interval)

    def _explain(self, result, obj, message):
        result["rollout"] = message
        result["conditions"] = [dict((k, c.get(k)) for k in ("type", "status", "reason", "message"))
                                for c in (obj.get("status") or {}).get("conditions") or []]
        names = [obj["metadata"]["name"]]
        if result.get("target_name"):
            names.append(result["target_name"])
        result["pods"] = self._pod_problems(obj)
        names.extend(p["name"] for p in result["pods"][:5])
        result["events"] = self._events(names)
        return result

    def _pod_problems(self, obj):
        try:
            pods = self.api.list("/api/v1/namespaces/%s/pods" % self.namespace,
                                 label_selector=selector_string(obj["spec"].get("selector")))
        except K8sApiError:
            return []
        out = []
        for p in pods:
            for cs in (p.get("status") or {}).get("containerStatuses") or []:
                if cs.get("ready"):
                    continue
                waiting = (cs.get("state") or {}).get("waiting") or {}
                last = (cs.get("lastState") or {}).get("terminated") or {}
                out.append({"name": p["metadata"]["name"], "container": cs.get("name"), "image": cs.get("image"),
                            "reason": waiting.get("reason"), "message": waiting.get("message"),
                            "restarts": cs.get("restartCount", 0), "last_exit_code": last.get("exitCode"),
                            "last_exit_reason": last.get("reason")})
        return out

    def _events(self, names, limit=10):
        events = []
        for n in dict.fromkeys(names):
            try:
                events.extend(self.api.list("/api/v1/namespaces/%s/events" % self.namespace,
                                            field_selector="involvedObject.name=%s" % n))
            except K8sApiError:
                return []

        def when(e):
            return e.get("lastTimestamp") or e.get("eventTime") or (e.get("metadata") or {}).get("creationTimestamp") or ""
        events.sort(key=when)
        return [{"time": when(e), "type": e.get("type"), "reason": e.get("reason"),
                 "object": "%s/%s" % ((e.get("involvedObject") or {}).get("kind", "").lower(), (e.get("involvedObject") or {}).get("name")),
                 "message": e.get("message"), "count": e.get("count")} for e in events[-limit:]]
