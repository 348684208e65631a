"""Controllers and the scripted workload of the stand-in.

Simulated time ("v" seconds) runs --time-scale times faster than the wall clock; every delay below
(pod start and readiness, crash-loop back-off, memory leak, progress deadline, HPA windows) is in v seconds.
Object timestamps stay on the wall clock.
"""
import base64
import copy
import datetime
import hashlib
import json
import math
import re
import threading
import time
import uuid

import resources as R
from util import (ApiError, int_or_percent, parse_quantity, rfc3339, selector_from_label_selector,
                  template_hash)

POD_START = 1.5          # scheduled -> container running
READY_DELAY = 2.0        # running -> ready (healthy image)
SLOW_READY_DELAY = 30.0  # image tag containing "slow"
CRASH_AFTER = 1.0        # "broken" containers exit this long after starting
LEAK_SECONDS = 180.0     # "leak" containers reach their memory limit this long after starting
LOG_INTERVAL = 2.0       # one request log line per interval
MAX_LOG_LINES = 2000
MAX_EVENTS = 3000
NODES = ["standin-node-1", "standin-node-2", "standin-node-3"]
HASH_LABEL = "pod-template-hash"
REV = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"

T_POD = R.rtype("", "pods")
T_RS = R.rtype("apps", "replicasets")
T_DEP = R.rtype("apps", "deployments")
T_STS = R.rtype("apps", "statefulsets")
T_DS = R.rtype("apps", "daemonsets")
T_CR = R.rtype("apps", "controllerrevisions")
T_EV = R.rtype("", "events")
T_SVC = R.rtype("", "services")
T_EP = R.rtype("", "endpoints")
T_SEC = R.rtype("", "secrets")
T_NS = R.rtype("", "namespaces")
T_NODE = R.rtype("", "nodes")
T_HPA = R.rtype("autoscaling", "horizontalpodautoscalers")
T_CERT = R.rtype("cert-manager.io", "certificates")


def behaviour_of(image):
    """The script a container follows, from its image tag (see README.md)."""
    last = (image or "").rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    tag = tag.split("@")[0].lower()
    b = {"broken": "broken" in tag, "leak": "leak" in tag or "oom" in tag, "slow": "slow" in tag,
         "hot": "hot" in tag, "errors": 0, "tag": tag}
    m = re.search(r"errors?-?(\d+)", tag)
    if m:
        b["errors"] = min(int(m.group(1)), 100)
    elif "error" in tag:
        b["errors"] = 20
    return b


def _h(*parts):
    return int(hashlib.md5("/".join(str(p) for p in parts).encode()).hexdigest()[:8], 16)


class CState:
    """One container's lifecycle."""

    def __init__(self, c, created_v):
        self.name, self.image = c["name"], c.get("image", "")
        self.b = behaviour_of(self.image)
        res = c.get("resources") or {}
        self.mem_limit = parse_quantity((res.get("limits") or {}).get("memory"), 512 * 2 ** 20)
        self.cpu_req = parse_quantity((res.get("requests") or {}).get("cpu"), 0.0)
        self.cpu_limit = parse_quantity((res.get("limits") or {}).get("cpu"), 0.0)
        rp = c.get("readinessProbe") or {}
        delay = SLOW_READY_DELAY if self.b["slow"] else READY_DELAY
        self.ready_delay = max(delay, float(rp.get("initialDelaySeconds") or 0))
        self.start_v = None
        self.next_start_v = created_v + POD_START
        self.restarts = 0
        self.last_term = None
        self.instances = []   # (start_v, end_v, reason) of terminated instances
        self.waiting_reason = "ContainerCreating"

    def end_v(self):
        if self.start_v is None:
            return None
        if self.b["broken"]:
            return self.start_v + CRASH_AFTER
        if self.b["leak"]:
            return self.start_v + LEAK_SECONDS
        return None

    def advance(self, v):
        for _ in range(10000):
            if self.start_v is None:
                if v >= self.next_start_v:
                    self.start_v = self.next_start_v
                    continue
                return
            end = self.end_v()
            if end is not None and v >= end:
                reason, code = ("OOMKilled", 137) if self.b["leak"] else ("Error", 1)
                self.last_term = {"reason": reason, "exitCode": code, "start": self.start_v, "end": end}
                self.instances.append((self.start_v, end, reason))
                self.instances = self.instances[-5:]
                self.restarts += 1
                self.start_v = None
                self.next_start_v = end + min(10 * 2 ** (self.restarts - 1), 300)
                self.waiting_reason = "CrashLoopBackOff"
                continue
            return

    def ready(self, v):
        return self.start_v is not None and not self.b["broken"] and v >= self.start_v + self.ready_delay

    def ready_since(self):
        return None if self.start_v is None else self.start_v + self.ready_delay

    def next_event(self, v):
        cands = [self.next_start_v if self.start_v is None else None, self.end_v()]
        if self.start_v is not None and not self.b["broken"]:
            cands.append(self.start_v + self.ready_delay)
        cands = [c for c in cands if c is not None and c > v]
        return min(cands) if cands else None


class PState:
    def __init__(self, pod, created_v):
        self.uid = pod["metadata"]["uid"]
        self.created_v = created_v
        self.containers = {c["name"]: CState(c, created_v) for c in pod["spec"].get("containers") or []}
        self.next_v = created_v
        self.seen_rv = None
        self.events_done = set()
        self.ready_tt = None
        self.was_ready = None

    def ready(self, v):
        return bool(self.containers) and all(c.ready(v) for c in self.containers.values())

    def ready_since(self):
        rs = [c.ready_since() for c in self.containers.values()]
        return None if not rs or None in rs else max(rs)

    def running(self):
        return any(c.start_v is not None or c.restarts for c in self.containers.values())


class Sim:
    def __init__(self, store, time_scale=1.0, ca=None):
        self.store, self.scale, self.ca = store, float(time_scale), ca
        self.real0 = time.time()
        self.offset = 0.0
        self.pods = {}
        self.progress = {}        # deployment uid -> v time of last progress
        self.hpa_low = {}         # hpa uid -> (v since, desired)
        self.event_keys = {}      # (uid, reason, message) -> (ns, name)
        self.kick = threading.Event()
        self.stop = threading.Event()
        self.ip_next = 10
        self.svc_ip_next = 10
        self.ep_dirty = True
        self.node_idx = 0
        self.quiet = {}           # uid of a settled Deployment/ReplicaSet -> fingerprint when it settled
        self.pods_synced_rv = None  # store.rv after the last pass over the pods
        self.pods_next_v = None     # earliest time a pod's containers change state on their own

    # ------------------------------------------------------------ clock
    def vnow(self):
        return (time.time() - self.real0) * self.scale + self.offset

    def real_of(self, v):
        return self.real0 + (v - self.offset) / self.scale

    def ts(self, v):
        return rfc3339(min(self.real_of(v), time.time()))

    # ------------------------------------------------------------ loop
    def run(self):
        while not self.stop.is_set():
            self.kick.wait(0.1)
            self.kick.clear()
            try:
                with self.store.lock:
                    self.tick()
            except Exception:  # a controller bug must not take the API down
                import traceback
                traceback.print_exc()
                time.sleep(0.5)

    def settle(self, step=1.0, rounds=400, idle=6):
        """Advance simulated time in steps until nothing changes for a while (used to seed instantly)."""
        with self.store.lock:
            quiet = 0
            for _ in range(rounds):
                before = self.store.rv
                self.offset += step
                self.tick()
                quiet = quiet + 1 if self.store.rv == before else 0
                if quiet >= idle:
                    return

    def tick(self):
        v = self.vnow()
        quiet = {}
        for e in list(self.store.data[T_DEP.key].values()):
            self._sync_unless_quiet(T_DEP, e.obj, v, quiet)
        for e in list(self.store.data[T_RS.key].values()):
            self._sync_unless_quiet(T_RS, e.obj, v, quiet)
        self.quiet = quiet
        for e in list(self.store.data[T_STS.key].values()):
            self.sync_statefulset(e.obj, v)
        for e in list(self.store.data[T_DS.key].values()):
            self.sync_daemonset(e.obj, v)
        self.sync_pods(v)
        for e in list(self.store.data[T_HPA.key].values()):
            self.sync_hpa(e.obj, v)
        for e in list(self.store.data[T_CERT.key].values()):
            self.sync_certificate(e.obj)
        if self.ep_dirty:
            self.ep_dirty = False
            for e in list(self.store.data[T_SVC.key].values()):
                self.sync_endpoints(e.obj)
        self.trim_events()

    # ------------------------------------------------------------ skipping settled objects
    # A Deployment or ReplicaSet whose rollout is complete only needs its controller again when it, one of its
    # dependents (ReplicaSets, pods) or one of theirs is written: pod readiness and restarts are pod writes,
    # and nothing time-based is pending once every replica is available. Skipping them keeps the controller
    # loop (and the store lock) short with hundreds of settled Deployments.
    def _fingerprint(self, rt, obj):
        uid = obj["metadata"]["uid"]
        fp = (obj["metadata"].get("resourceVersion"), self.store.touched.get(uid))
        if rt is T_DEP:
            fp += tuple(sorted((r["metadata"]["uid"], self.store.touched.get(r["metadata"]["uid"]))
                               for r in self.store.owned(uid, T_RS)))
        return fp

    @staticmethod
    def _settled(rt, obj):
        spec, st, md = obj.get("spec") or {}, obj.get("status") or {}, obj["metadata"]
        n = spec.get("replicas", 1)
        if st.get("observedGeneration", 0) != md.get("generation", 1) or spec.get("paused"):
            return False
        counts = ("replicas", "readyReplicas", "availableReplicas") + (("updatedReplicas",) if rt is T_DEP else ())
        if any(st.get(k, 0) != n for k in counts):
            return False
        if rt is T_DEP:
            prog = next((c for c in st.get("conditions") or [] if c.get("type") == "Progressing"), None)
            return prog is not None and prog.get("reason") == "NewReplicaSetAvailable"
        return True

    def _sync_unless_quiet(self, rt, obj, v, quiet):
        uid = obj["metadata"]["uid"]
        fp = self.quiet.get(uid)
        if fp is not None and fp == self._fingerprint(rt, obj):
            quiet[uid] = fp
            return
        (self.sync_deployment if rt is T_DEP else self.sync_replicaset)(obj, v)
        cur = self.store.get_obj(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if cur is not None and cur["metadata"]["uid"] == uid and self._settled(rt, cur):
            quiet[uid] = self._fingerprint(rt, cur)

    # ------------------------------------------------------------ admission hook (API writes)
    def admit(self, rt, obj, old):
        if rt.kind == "Service":
            spec = obj.setdefault("spec", {})
            if old is not None and old.get("spec", {}).get("clusterIP"):
                spec.setdefault("clusterIP", old["spec"]["clusterIP"])
                if not spec.get("clusterIP"):
                    spec["clusterIP"] = old["spec"]["clusterIP"]
            if spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
                self.svc_ip_next += 1
                spec["clusterIP"] = "10.96.%d.%d" % (self.svc_ip_next // 250, self.svc_ip_next % 250 + 1)
            if spec.get("clusterIP"):
                spec["clusterIPs"] = [spec["clusterIP"]] if spec["clusterIP"] != "None" else ["None"]
            obj.setdefault("status", {"loadBalancer": {}})
            self.ep_dirty = True
        elif rt.kind == "Pod" and old is None:
            obj["status"] = {"phase": "Pending", "qosClass": self._qos(obj["spec"])}
            if not obj["spec"].get("nodeName"):
                obj["spec"]["nodeName"] = self._node()
        self.kick.set()

    def _node(self):
        self.node_idx += 1
        return NODES[self.node_idx % len(NODES)]

    @staticmethod
    def _qos(spec):
        res = [c.get("resources") or {} for c in spec.get("containers") or []]
        if not any(r.get("requests") or r.get("limits") for r in res):
            return "BestEffort"
        if all(r.get("limits", {}).get("cpu") and r.get("limits", {}).get("memory") and
               r.get("requests", r.get("limits")) == r.get("limits") for r in res):
            return "Guaranteed"
        return "Burstable"

    # ------------------------------------------------------------ writes
    def _update(self, rt, obj):
        return self.store.update(rt, obj, check_rv=False)

    def event(self, rt, obj, etype, reason, message, component):
        md = obj["metadata"]
        ns = md.get("namespace") or "default"
        key = (md["uid"], reason, message)
        now = rfc3339()
        known = self.event_keys.get(key)
        if known:
            cur = self.store.get_obj(T_EV, known[0], known[1])
            if cur is not None:
                new = copy.deepcopy(cur)
                new["count"] = cur.get("count", 1) + 1
                new["lastTimestamp"] = now
                self._update(T_EV, new)
                return
        name = "%s.%016x" % (md["name"], uuid.uuid4().int >> 64)
        ev = {"metadata": {"name": name, "namespace": ns},
              "involvedObject": {"kind": rt.kind, "namespace": md.get("namespace"), "name": md["name"], "uid": md["uid"],
                                 "apiVersion": rt.api_version, "resourceVersion": md.get("resourceVersion")},
              "reason": reason, "message": message, "source": {"component": component},
              "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": etype, "eventTime": None,
              "reportingComponent": component, "reportingInstance": ""}
        if not md.get("namespace"):
            del ev["involvedObject"]["namespace"]
        if self.store.get(T_NS, "", ns) is None:
            return
        self.store.create(T_EV, ev)
        self.event_keys[key] = (ns, name)

    def trim_events(self):
        evs = self.store.data[T_EV.key]
        if len(evs) <= MAX_EVENTS:
            return
        olds = sorted(evs.values(), key=lambda e: int(e.obj["metadata"]["resourceVersion"]))[:len(evs) - MAX_EVENTS + 200]
        for e in olds:
            md = e.obj["metadata"]
            self.store.delete(T_EV, md["namespace"], md["name"])
        live = set(evs.keys())
        self.event_keys = {k: v for k, v in self.event_keys.items() if v in live}

    # ------------------------------------------------------------ pods
    def pstate(self, pod):
        uid = pod["metadata"]["uid"]
        st = self.pods.get(uid)
        if st is None:
            st = PState(pod, self.vnow())
            # a pod restored from saved state, or reported running, continues as running
            if (pod.get("status") or {}).get("phase") == "Running":
                for c in st.containers.values():
                    c.start_v = st.created_v - 3600
                    c.next_start_v = c.start_v
            self.pods[uid] = st
        return st

    def sync_pods(self, v):
        # nothing written since the last pass and no pod due: every pod would be skipped below
        if self.store.rv == self.pods_synced_rv and (self.pods_next_v is None or v < self.pods_next_v):
            return
        live = set()
        next_v = None
        for e in list(self.store.data[T_POD.key].values()):
            pod = e.obj
            uid = pod["metadata"]["uid"]
            live.add(uid)
            st = self.pstate(pod)
            rv = pod["metadata"]["resourceVersion"]
            if st.seen_rv == rv and (st.next_v is None or v < st.next_v):
                if st.next_v is not None and (next_v is None or st.next_v < next_v):
                    next_v = st.next_v
                continue
            # image changes on a pod restart that container
            for c in pod["spec"].get("containers") or []:
                cs = st.containers.get(c["name"])
                if cs is not None and cs.image != c.get("image"):
                    new = CState(c, v - POD_START)
                    new.restarts = cs.restarts + 1
                    st.containers[c["name"]] = new
            for cs in st.containers.values():
                cs.advance(v)
            status = self.pod_status(pod, st, v)
            if status != pod.get("status"):
                new = dict(pod)
                new["status"] = status
                pod = self._update(T_POD, new)
                self.ep_dirty = True
            self.pod_events(pod, st, v)
            st.seen_rv = pod["metadata"]["resourceVersion"]
            nxt = [c.next_event(v) for c in st.containers.values()]
            nxt = [n for n in nxt if n is not None]
            st.next_v = min(nxt) if nxt else None
            if st.next_v is not None and (next_v is None or st.next_v < next_v):
                next_v = st.next_v
        for uid in [u for u in self.pods if u not in live]:
            del self.pods[uid]
        self.pods_next_v, self.pods_synced_rv = next_v, self.store.rv

    def pod_events(self, pod, st, v):
        comp = "kubelet"
        if "sched" not in st.events_done:
            st.events_done.add("sched")
            self.event(T_POD, pod, "Normal", "Scheduled", "Successfully assigned %s/%s to %s" % (
                pod["metadata"]["namespace"], pod["metadata"]["name"], pod["spec"].get("nodeName")), "default-scheduler")
        for cs in st.containers.values():
            if cs.start_v is not None and ("started", cs.name, cs.restarts) not in st.events_done:
                st.events_done.add(("started", cs.name, cs.restarts))
                if cs.restarts == 0:
                    self.event(T_POD, pod, "Normal", "Pulled", 'Container image "%s" already present on machine' % cs.image, comp)
                    self.event(T_POD, pod, "Normal", "Created", "Created container: %s" % cs.name, comp)
                    self.event(T_POD, pod, "Normal", "Started", "Started container %s" % cs.name, comp)
            if cs.start_v is None and cs.restarts and ("backoff", cs.name, cs.restarts) not in st.events_done:
                st.events_done.add(("backoff", cs.name, cs.restarts))
                self.event(T_POD, pod, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)" % (
                    cs.name, pod["metadata"]["name"], pod["metadata"]["namespace"], pod["metadata"]["uid"]), comp)

    def pod_status(self, pod, st, v):
        md = pod["metadata"]
        old = pod.get("status") or {}
        ip = old.get("podIP")
        if not ip:
            self.ip_next += 1
            ip = "10.244.%d.%d" % (self.ip_next // 250 % 250, self.ip_next % 250 + 1)
        node = pod["spec"].get("nodeName") or NODES[0]
        host_ip = "192.168.50.%d" % (NODES.index(node) + 11 if node in NODES else 11)
        created = self.ts(st.created_v)
        css = []
        for c in pod["spec"].get("containers") or []:
            cs = st.containers.get(c["name"])
            if cs is None:
                continue
            d = {"name": cs.name, "image": cs.image, "imageID": "", "ready": cs.ready(v), "restartCount": cs.restarts,
                 "started": cs.start_v is not None, "lastState": {}}
            digest = hashlib.sha256(cs.image.encode()).hexdigest()
            if cs.start_v is not None or cs.restarts:
                d["imageID"] = "%s@sha256:%s" % (cs.image.split(":")[0], digest)
                d["containerID"] = "containerd://" + hashlib.sha256(("%s%s%d" % (md["uid"], cs.name, cs.restarts)).encode()).hexdigest()
            if cs.start_v is not None:
                d["state"] = {"running": {"startedAt": self.ts(cs.start_v)}}
            elif cs.restarts:
                lt = cs.last_term
                d["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off %ds restarting failed container=%s pod=%s_%s(%s)" % (
                    min(10 * 2 ** (cs.restarts - 1), 300), cs.name, md["name"], md.get("namespace"), md["uid"])}}
            else:
                d["state"] = {"waiting": {"reason": "ContainerCreating"}}
            if cs.last_term:
                lt = cs.last_term
                d["lastState"] = {"terminated": {"exitCode": lt["exitCode"], "reason": lt["reason"],
                                                 "startedAt": self.ts(lt["start"]), "finishedAt": self.ts(lt["end"]),
                                                 "containerID": "containerd://" + hashlib.sha256(("%s%s%d" % (md["uid"], cs.name, cs.restarts - 1)).encode()).hexdigest()}}
            css.append(d)
        ready = st.ready(v)
        if st.was_ready is None or st.was_ready != ready:
            st.was_ready = ready
            st.ready_tt = self.ts(st.ready_since() if ready else v)
        running = st.running()
        not_ready = [c["name"] for c in css if not c["ready"]]
        cond_ready = {"type": "Ready", "status": "True" if ready else "False", "lastProbeTime": None,
                      "lastTransitionTime": st.ready_tt}
        cond_cready = dict(cond_ready, type="ContainersReady")
        if not ready:
            for cnd in (cond_ready, cond_cready):
                cnd["reason"] = "ContainersNotReady"
                cnd["message"] = "containers with unready status: [%s]" % " ".join(not_ready)
        status = {
            "phase": "Running" if running else "Pending",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": created},
                {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": created},
                cond_ready, cond_cready,
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": created}],
            "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": created, "containerStatuses": css, "qosClass": old.get("qosClass") or self._qos(pod["spec"]),
        }
        return status

    def pod_available(self, pod, v, min_ready):
        st = self.pods.get(pod["metadata"]["uid"])
        if st is None or not st.ready(v):
            return False
        since = st.ready_since()
        return since is not None and v >= since + (min_ready or 0)

    def pod_ready(self, pod, v):
        st = self.pods.get(pod["metadata"]["uid"])
        return st is not None and st.ready(v)

    def make_pod(self, owner_rt, owner, template, name, extra_labels=None, node=None):
        md = owner["metadata"]
        tm = template.get("metadata") or {}
        labels = dict(tm.get("labels") or {})
        labels.update(extra_labels or {})
        pod = {"metadata": {"name": name, "namespace": md["namespace"], "labels": labels,
                            "ownerReferences": [{"apiVersion": owner_rt.api_version, "kind": owner_rt.kind,
                                                 "name": md["name"], "uid": md["uid"], "controller": True,
                                                 "blockOwnerDeletion": True}]},
               "spec": copy.deepcopy(template.get("spec") or {})}
        if owner_rt.kind == "ReplicaSet":
            pod["metadata"]["generateName"] = md["name"] + "-"
        if tm.get("annotations"):
            pod["metadata"]["annotations"] = dict(tm["annotations"])
        R.apply_defaults(T_POD, pod)
        pod["spec"]["nodeName"] = node or self._node()
        pod["spec"].setdefault("tolerations", [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}])
        pod["status"] = {"phase": "Pending", "qosClass": self._qos(pod["spec"])}
        pod = self.store.create(T_POD, pod)
        st = PState(pod, self.vnow())
        self.pods[pod["metadata"]["uid"]] = st
        self.ep_dirty = True
        return pod

    # ------------------------------------------------------------ replicasets
    def _rs_pods(self, rs):
        return [p for p in self.store.owned(rs["metadata"]["uid"], T_POD)]

    def sync_replicaset(self, rs, v):
        spec = rs.get("spec") or {}
        want = spec.get("replicas", 1)
        pods = self._rs_pods(rs)
        diff = len(pods) - want
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        if diff < 0:
            for i in range(min(-diff, 500)):
                name = "%s-%s" % (rs["metadata"]["name"], "".join(alphabet[_h(rs["metadata"]["uid"], time.time(), i, len(pods), j) % 27] for j in range(5)))
                if self.store.get(T_POD, rs["metadata"]["namespace"], name) is not None:
                    continue
                pods.append(self.make_pod(T_RS, rs, spec.get("template") or {}, name))
                self.event(T_RS, rs, "Normal", "SuccessfulCreate", "Created pod: %s" % name, "replicaset-controller")
        elif diff > 0:
            def rank(p):
                st = self.pods.get(p["metadata"]["uid"])
                return (0 if st is None or not st.running() else 1, 1 if self.pod_ready(p, v) else 0,
                        -(st.created_v if st else 0))
            pods.sort(key=rank)
            for p in pods[:diff]:
                self.store.delete(T_POD, p["metadata"]["namespace"], p["metadata"]["name"])
                self.event(T_RS, rs, "Normal", "SuccessfulDelete", "Deleted pod: %s" % p["metadata"]["name"], "replicaset-controller")
                self.ep_dirty = True
            pods = pods[diff:]
        mrs = spec.get("minReadySeconds", 0)
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods),
                  "readyReplicas": sum(1 for p in pods if self.pod_ready(p, v)),
                  "availableReplicas": sum(1 for p in pods if self.pod_available(p, v, mrs)),
                  "observedGeneration": rs["metadata"].get("generation", 1)}
        for k in ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
            if not status[k]:
                del status[k]
        if status != rs.get("status"):
            new = dict(rs)
            new["status"] = status
            self._update(T_RS, new)

    # ------------------------------------------------------------ deployments
    @staticmethod
    def _strip_hash(t):
        t = dict(t or {})
        md = dict(t.get("metadata") or {})
        labels = dict(md.get("labels") or {})
        labels.pop(HASH_LABEL, None)
        md["labels"] = labels
        t["metadata"] = md
        return t

    @staticmethod
    def _rev(rs):
        try:
            return int((rs["metadata"].get("annotations") or {}).get(REV, "0"))
        except ValueError:
            return 0

    def _counts(self, rs, v):
        pods = self._rs_pods(rs)
        mrs = (rs.get("spec") or {}).get("minReadySeconds", 0)
        ready = sum(1 for p in pods if self.pod_ready(p, v))
        avail = sum(1 for p in pods if self.pod_available(p, v, mrs))
        return len(pods), ready, avail

    def _scale_rs(self, d, rs, n, surge):
        old_n = rs["spec"].get("replicas", 0)
        new = copy.deepcopy(rs)
        new["spec"]["replicas"] = n
        ann = new["metadata"].setdefault("annotations", {})
        ann["deployment.kubernetes.io/desired-replicas"] = str(d["spec"].get("replicas", 1))
        ann["deployment.kubernetes.io/max-replicas"] = str(d["spec"].get("replicas", 1) + surge)
        out = self._update(T_RS, new)
        if n != old_n:
            self.event(T_DEP, d, "Normal", "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d" % (
                "up" if n > old_n else "down", rs["metadata"]["name"], old_n, n), "deployment-controller")
        return out

    def sync_deployment(self, d, v):
        md, spec = d["metadata"], d.get("spec") or {}
        uid = md["uid"]
        replicas = spec.get("replicas", 1)
        strategy = spec.get("strategy") or {}
        ru = strategy.get("rollingUpdate") or {}
        if strategy.get("type") == "Recreate":
            surge, unavail = 0, replicas
        else:
            surge = int_or_percent(ru.get("maxSurge", "25%"), replicas, True)
            unavail = int_or_percent(ru.get("maxUnavailable", "25%"), replicas, False)
            if surge == 0 and unavail == 0:
                unavail = 1
        rss = sorted(self.store.owned(uid, T_RS), key=lambda r: (r["metadata"]["creationTimestamp"], r["metadata"]["name"]))
        template = spec.get("template") or {}
        tmpl_cmp = self._strip_hash(template)
        new_rs = next((r for r in rss if self._strip_hash(r["spec"].get("template")) == tmpl_cmp), None)
        paused = bool(spec.get("paused"))
        old_rss = [r for r in rss if r is not new_rs]
        conds = copy.deepcopy((d.get("status") or {}).get("conditions") or [])
        created_new = False
        if not paused:
            max_old = max([self._rev(r) for r in old_rss] or [0])
            new_rev = max_old + 1
            if new_rs is None:
                h = template_hash(tmpl_cmp, (d.get("status") or {}).get("collisionCount", 0))
                name = "%s-%s" % (md["name"], h)
                t = copy.deepcopy(template)
                t.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
                sel = copy.deepcopy(spec.get("selector") or {})
                sel.setdefault("matchLabels", {})[HASH_LABEL] = h
                ann = {k: val for k, val in (md.get("annotations") or {}).items()
                       if k not in (REV, "kubectl.kubernetes.io/last-applied-configuration",
                                    "deployment.kubernetes.io/revision-history")}
                ann.update({REV: str(new_rev), "deployment.kubernetes.io/desired-replicas": str(replicas),
                            "deployment.kubernetes.io/max-replicas": str(replicas + surge)})
                rs = {"metadata": {"name": name, "namespace": md["namespace"], "labels": dict(t["metadata"]["labels"]),
                                   "annotations": ann, "ownerReferences": [{
                                       "apiVersion": "apps/v1", "kind": "Deployment", "name": md["name"], "uid": uid,
                                       "controller": True, "blockOwnerDeletion": True}]},
                      "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds", 0), "selector": sel,
                               "template": t}}
                if not rs["spec"]["minReadySeconds"]:
                    del rs["spec"]["minReadySeconds"]
                if self.store.get(T_RS, md["namespace"], name) is not None:
                    return  # hash collision with a foreign ReplicaSet: leave it (rare)
                rs["status"] = {"replicas": 0}
                new_rs = self.store.create(T_RS, rs)
                created_new = True
                self._set_cond(conds, "Progressing", "True", "NewReplicaSetCreated", 'Created new replica set "%s"' % name)
                self.progress[uid] = v
            else:
                cur_rev = self._rev(new_rs)
                ann = dict(new_rs["metadata"].get("annotations") or {})
                changed = False
                if cur_rev < new_rev:
                    ann[REV] = str(new_rev)
                    if cur_rev:
                        hist = [x for x in ann.get("deployment.kubernetes.io/revision-history", "").split(",") if x]
                        ann["deployment.kubernetes.io/revision-history"] = ",".join(hist + [str(cur_rev)])
                    changed = True
                cc = (md.get("annotations") or {}).get(CHANGE_CAUSE)
                if cc is not None and ann.get(CHANGE_CAUSE) != cc:
                    ann[CHANGE_CAUSE] = cc
                    changed = True
                if changed:
                    nrs = copy.deepcopy(new_rs)
                    nrs["metadata"]["annotations"] = ann
                    new_rs = self._update(T_RS, nrs)
                if not any(c.get("type") == "Progressing" for c in conds):
                    self._set_cond(conds, "Progressing", "True", "FoundNewReplicaSet", 'Found new replica set "%s"' % new_rs["metadata"]["name"])
                    self.progress[uid] = v
            # the Deployment carries its new ReplicaSet's revision
            want_rev = (new_rs["metadata"].get("annotations") or {}).get(REV)
            if (md.get("annotations") or {}).get(REV) != want_rev:
                nd = copy.deepcopy(d)
                nd["metadata"].setdefault("annotations", {})[REV] = want_rev
                d = self._update(T_DEP, nd)
                md = d["metadata"]
        # scaling / rollout
        by_name = {r["metadata"]["name"]: r for r in ([new_rs] if new_rs else []) + old_rss}

        def cur(r):
            return by_name[r["metadata"]["name"]]

        def scale(r, n):
            if cur(r)["spec"].get("replicas", 0) != n or (cur(r)["metadata"].get("annotations") or {}).get(
                    "deployment.kubernetes.io/desired-replicas") != str(replicas):
                by_name[r["metadata"]["name"]] = self._scale_rs(d, cur(r), n, surge)

        counts = {n: self._counts(r, v) for n, r in by_name.items()}
        if paused or new_rs is None:
            active = [r for r in by_name.values() if r["spec"].get("replicas", 0) > 0]
            if len(active) == 1 and active[0]["spec"]["replicas"] != replicas:
                scale(active[0], replicas)
            elif not active and new_rs is not None:
                scale(new_rs, replicas)
        elif strategy.get("type") == "Recreate":
            if any(cur(r)["spec"].get("replicas", 0) > 0 for r in old_rss):
                for r in old_rss:
                    if cur(r)["spec"].get("replicas", 0) > 0:
                        scale(r, 0)
            elif not any(counts[r["metadata"]["name"]][0] for r in old_rss):
                scale(new_rs, replicas)
        else:
            total = sum(cur(r)["spec"].get("replicas", 0) for r in by_name.values())
            nr = cur(new_rs)["spec"].get("replicas", 0)
            if nr > replicas:
                target = replicas
            elif total < replicas + surge:
                target = min(replicas, nr + (replicas + surge - total))
            else:
                target = nr
            active_old = [r for r in old_rss if cur(r)["spec"].get("replicas", 0) > 0]
            if not active_old and nr < replicas:
                target = replicas  # no old replicas: a plain scale-up
            if target != nr or created_new:
                scale(new_rs, target)
            min_avail = replicas - unavail
            n_spec = cur(new_rs)["spec"].get("replicas", 0)
            new_unavail = max(n_spec - counts[new_rs["metadata"]["name"]][2], 0)
            all_pods = sum(cur(r)["spec"].get("replicas", 0) for r in by_name.values())
            max_cleanup = all_pods - min_avail - new_unavail
            for r in old_rss:   # oldest first: scale down unhealthy old replicas
                if max_cleanup <= 0:
                    break
                rsn = cur(r)["spec"].get("replicas", 0)
                avail = min(counts[r["metadata"]["name"]][2], rsn)
                if rsn == 0 or rsn == avail:
                    continue
                k = min(max_cleanup, rsn - avail)
                scale(r, rsn - k)
                max_cleanup -= k
            available = sum(min(counts[n][2], by_name[n]["spec"].get("replicas", 0)) for n in by_name)
            if available > min_avail:
                todo = available - min_avail
                for r in old_rss:
                    if todo <= 0:
                        break
                    rsn = cur(r)["spec"].get("replicas", 0)
                    if rsn == 0:
                        continue
                    k = min(rsn, todo)
                    scale(r, rsn - k)
                    todo -= k
        # history clean-up
        limit = spec.get("revisionHistoryLimit", 10)
        cleanable = [cur(r) for r in old_rss if cur(r)["spec"].get("replicas", 0) == 0 and not counts[r["metadata"]["name"]][0]]
        if len(cleanable) > limit:
            cleanable.sort(key=self._rev)
            for r in cleanable[:len(cleanable) - limit]:
                self.store.delete(T_RS, r["metadata"]["namespace"], r["metadata"]["name"])
                by_name.pop(r["metadata"]["name"], None)
        # status
        old_status = d.get("status") or {}
        tot = sum(counts.get(n, (0, 0, 0))[0] for n in by_name)
        ready = sum(counts.get(n, (0, 0, 0))[1] for n in by_name)
        avail = sum(counts.get(n, (0, 0, 0))[2] for n in by_name)
        upd = counts.get(new_rs["metadata"]["name"], (0, 0, 0))[0] if new_rs is not None else 0
        status = {"observedGeneration": md.get("generation", 1), "replicas": tot, "updatedReplicas": upd,
                  "readyReplicas": ready, "availableReplicas": avail}
        if replicas - avail > 0:
            status["unavailableReplicas"] = replicas - avail
        if old_status.get("collisionCount"):
            status["collisionCount"] = old_status["collisionCount"]
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
            if not status[k]:
                del status[k]
        if avail >= replicas - unavail:
            self._set_cond(conds, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            self._set_cond(conds, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        rsname = new_rs["metadata"]["name"] if new_rs is not None else None
        pcond = next((c for c in conds if c.get("type") == "Progressing"), None)
        if paused:
            self._set_cond(conds, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
        elif pcond is not None and pcond.get("reason") == "DeploymentPaused":
            self._set_cond(conds, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed")
            self.progress[uid] = v
        elif upd == replicas and tot == replicas and avail == replicas and new_rs is not None:
            self._set_cond(conds, "Progressing", "True", "NewReplicaSetAvailable", 'ReplicaSet "%s" has successfully progressed.' % rsname)
        elif (upd > old_status.get("updatedReplicas", 0) or (tot - upd) < (old_status.get("replicas", 0) - old_status.get("updatedReplicas", 0))
              or ready > old_status.get("readyReplicas", 0) or avail > old_status.get("availableReplicas", 0)):
            was_true = pcond is not None and pcond.get("status") == "True"
            tt = pcond.get("lastTransitionTime") if was_true else rfc3339()
            conds[:] = [c for c in conds if c.get("type") != "Progressing"]
            conds.append({"type": "Progressing", "status": "True", "lastUpdateTime": rfc3339(), "lastTransitionTime": tt,
                          "reason": "ReplicaSetUpdated", "message": 'ReplicaSet "%s" is progressing.' % rsname})
            self.progress[uid] = v
        elif pcond is not None and pcond.get("reason") not in ("NewReplicaSetAvailable", "ProgressDeadlineExceeded"):
            deadline = spec.get("progressDeadlineSeconds")
            since = self.progress.setdefault(uid, v)
            if deadline is not None and v - since > deadline:
                self._set_cond(conds, "Progressing", "False", "ProgressDeadlineExceeded", 'ReplicaSet "%s" has timed out progressing.' % rsname)
                self.event(T_DEP, d, "Warning", "ProgressDeadlineExceeded", 'Deployment "%s" has timed out progressing.' % md["name"], "deployment-controller")
        status["conditions"] = conds
        if status != old_status:
            nd = dict(d)
            nd["status"] = status
            self._update(T_DEP, nd)

    @staticmethod
    def _set_cond(conds, ctype, status, reason, message):
        now = rfc3339()
        for i, c in enumerate(conds):
            if c.get("type") == ctype:
                if c.get("status") == status and c.get("reason") == reason:
                    return
                tt = c.get("lastTransitionTime") if c.get("status") == status else now
                conds.pop(i)
                break
        else:
            tt = now
        conds.append({"type": ctype, "status": status, "lastUpdateTime": now, "lastTransitionTime": tt,
                      "reason": reason, "message": message})

    # ------------------------------------------------------------ controller revisions (statefulsets, daemonsets)
    def _revisions(self, owner_rt, owner, generation_annotation=False):
        """Find or create the ControllerRevision of the owner's current template; returns (update_cr, all_crs)."""
        md = owner["metadata"]
        tmpl = owner["spec"].get("template") or {}
        data = {"spec": {"template": dict(copy.deepcopy(tmpl), **{"$patch": "replace"})}}
        crs = sorted(self.store.owned(md["uid"], T_CR), key=lambda c: c.get("revision", 0))
        match = next((c for c in crs if c.get("data") == data), None)
        max_rev = max([c.get("revision", 0) for c in crs] or [0])
        if match is not None:
            if match.get("revision", 0) < max_rev:   # rolled back to an older template: it becomes the newest
                nc = copy.deepcopy(match)
                nc["revision"] = max_rev + 1
                if generation_annotation:
                    nc["metadata"].setdefault("annotations", {})["deprecated.daemonset.template.generation"] = str(md.get("generation", 1))
                match = self._update(T_CR, nc)
            return match, crs
        h = template_hash(tmpl)
        labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
        labels["controller-revision-hash" if owner_rt.kind == "DaemonSet" else "controller.kubernetes.io/hash"] = h
        ann = {k: v for k, v in (md.get("annotations") or {}).items() if k != "kubectl.kubernetes.io/last-applied-configuration"}
        if generation_annotation:
            ann["deprecated.daemonset.template.generation"] = str(md.get("generation", 1))
        cr = {"metadata": {"name": "%s-%s" % (md["name"], h), "namespace": md["namespace"], "labels": labels,
                           "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_rt.kind, "name": md["name"],
                                                "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}]},
              "data": data, "revision": max_rev + 1}
        if ann:
            cr["metadata"]["annotations"] = ann
        if self.store.get(T_CR, md["namespace"], cr["metadata"]["name"]) is not None:
            self.store.delete(T_CR, md["namespace"], cr["metadata"]["name"])
        cr = self.store.create(T_CR, cr)
        crs.append(cr)
        return cr, crs

    def _prune_revisions(self, owner, crs, keep_names):
        limit = owner["spec"].get("revisionHistoryLimit", 10)
        olds = [c for c in crs if c["metadata"]["name"] not in keep_names]
        olds.sort(key=lambda c: c.get("revision", 0))
        for c in olds[:max(len(olds) - limit, 0)]:
            if self.store.get(T_CR, c["metadata"]["namespace"], c["metadata"]["name"]) is not None:
                self.store.delete(T_CR, c["metadata"]["namespace"], c["metadata"]["name"])

    def sync_statefulset(self, sts, v):
        md, spec = sts["metadata"], sts["spec"]
        upd_cr, crs = self._revisions(T_STS, sts)
        upd = upd_cr["metadata"]["name"]
        replicas = spec.get("replicas", 1)
        status0 = sts.get("status") or {}
        current = status0.get("currentRevision") or upd
        pods = {p["metadata"]["name"]: p for p in self.store.owned(md["uid"], T_POD)}
        partition = ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition", 0)
        parallel = spec.get("podManagementPolicy") == "Parallel"
        tmpl = spec.get("template") or {}
        for i in range(replicas):
            name = "%s-%d" % (md["name"], i)
            if name in pods:
                continue
            if not parallel and not all(self.pod_ready(pods.get("%s-%d" % (md["name"], j)) or {"metadata": {"uid": ""}}, v) for j in range(i)):
                break
            rev = upd if i >= partition else current
            cr = next((c for c in crs if c["metadata"]["name"] == rev), upd_cr)
            t = cr["data"]["spec"]["template"]
            t = {k: val for k, val in t.items() if k != "$patch"}
            pods[name] = self.make_pod(T_STS, sts, t, name, {"controller-revision-hash": rev,
                                                             "statefulset.kubernetes.io/pod-name": name,
                                                             "apps.kubernetes.io/pod-index": str(i)})
            self.event(T_STS, sts, "Normal", "SuccessfulCreate", "create Pod %s in StatefulSet %s successful" % (name, md["name"]), "statefulset-controller")
            if not parallel:
                break
        ordinals = sorted((int(n.rsplit("-", 1)[1]), n) for n in pods if n.rsplit("-", 1)[1].isdigit())
        extra = [n for i, n in ordinals if i >= replicas]
        if extra and (parallel or all(self.pod_ready(p, v) for p in pods.values())):
            for n in (extra if parallel else extra[-1:]):
                self.store.delete(T_POD, md["namespace"], n)
                self.event(T_STS, sts, "Normal", "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful" % (n, md["name"]), "statefulset-controller")
                pods.pop(n)
        elif (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            live = [(i, n) for i, n in ordinals if i < replicas]
            if len(live) == replicas and all(self.pod_ready(pods[n], v) for _, n in live):
                for i, n in reversed(live):
                    if i >= partition and pods[n]["metadata"]["labels"].get("controller-revision-hash") != upd:
                        self.store.delete(T_POD, md["namespace"], n)
                        self.event(T_STS, sts, "Normal", "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful" % (n, md["name"]), "statefulset-controller")
                        pods.pop(n)
                        break
        live = [p for p in pods.values()]
        n_upd = sum(1 for p in live if p["metadata"]["labels"].get("controller-revision-hash") == upd)
        n_cur = sum(1 for p in live if p["metadata"]["labels"].get("controller-revision-hash") == current)
        ready = sum(1 for p in live if self.pod_ready(p, v))
        if n_upd == replicas and ready == replicas and len(live) == replicas:
            current, n_cur = upd, n_upd
        status = {"observedGeneration": md.get("generation", 1), "replicas": len(live), "readyReplicas": ready,
                  "currentReplicas": n_cur, "updatedReplicas": n_upd, "availableReplicas": ready,
                  "currentRevision": current, "updateRevision": upd, "collisionCount": 0}
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not status[k]:
                del status[k]
        self._prune_revisions(sts, crs, {upd, current})
        if status != status0:
            ns = dict(sts)
            ns["status"] = status
            self._update(T_STS, ns)

    def sync_daemonset(self, ds, v):
        md, spec = ds["metadata"], ds["spec"]
        upd_cr, crs = self._revisions(T_DS, ds, generation_annotation=True)
        upd = upd_cr["metadata"]["name"].rsplit("-", 1)[1]
        pods = list(self.store.owned(md["uid"], T_POD))
        by_node = {}
        for p in pods:
            by_node.setdefault(p["spec"].get("nodeName"), []).append(p)
        tmpl = {k: val for k, val in upd_cr["data"]["spec"]["template"].items() if k != "$patch"}
        for node in NODES:
            if not by_node.get(node):
                name = "%s-%s" % (md["name"], "".join("bcdfghjklmnpqrstvwxz2456789"[_h(md["uid"], node, time.time(), j) % 27] for j in range(5)))
                by_node[node] = [self.make_pod(T_DS, ds, tmpl, name, {"controller-revision-hash": upd,
                                                                      "pod-template-generation": str(md.get("generation", 1))}, node=node)]
                self.event(T_DS, ds, "Normal", "SuccessfulCreate", "Created pod: %s" % name, "daemonset-controller")
        all_pods = [p for ps in by_node.values() for p in ps]
        if all(self.pod_ready(p, v) for p in all_pods):
            for p in all_pods:
                if p["metadata"]["labels"].get("controller-revision-hash") != upd:
                    self.store.delete(T_POD, md["namespace"], p["metadata"]["name"])
                    self.event(T_DS, ds, "Normal", "SuccessfulDelete", "Deleted pod: %s" % p["metadata"]["name"], "daemonset-controller")
                    all_pods.remove(p)
                    break
        n_upd = sum(1 for p in all_pods if p["metadata"]["labels"].get("controller-revision-hash") == upd)
        ready = sum(1 for p in all_pods if self.pod_ready(p, v))
        status = {"currentNumberScheduled": len(all_pods), "desiredNumberScheduled": len(NODES),
                  "numberMisscheduled": 0, "numberReady": ready, "observedGeneration": md.get("generation", 1),
                  "updatedNumberScheduled": n_upd, "numberAvailable": ready}
        if len(NODES) - ready:
            status["numberUnavailable"] = len(NODES) - ready
        if not ready:
            del status["numberAvailable"]
        self._prune_revisions(ds, crs, {upd_cr["metadata"]["name"]})
        if status != (ds.get("status") or {}):
            nd = dict(ds)
            nd["status"] = status
            self._update(T_DS, nd)

    # ------------------------------------------------------------ metrics
    def _usage(self, pod, cs, v):
        if cs.start_v is None:
            return 0.0, 0.0
        b = cs.b
        wob = 1 + 0.08 * math.sin(_h(pod["metadata"]["uid"], cs.name) % 100 + int(v // 15))
        base_cpu = cs.cpu_req or 0.1
        cpu = base_cpu * (0.9 if b["hot"] else (0.45 if b["errors"] else 0.25)) * wob
        if b["hot"] and cs.cpu_limit:
            cpu = min(cs.cpu_limit * 0.95, max(cpu, base_cpu * 0.9))
        if b["leak"]:
            frac = min((v - cs.start_v) / LEAK_SECONDS, 1.0)
            mem = cs.mem_limit * (0.2 + 0.8 * frac)
        else:
            mem = min(cs.mem_limit * 0.4, 180 * 2 ** 20) * wob
        return cpu, mem

    def pod_metrics(self, pod):
        st = self.pods.get(pod["metadata"]["uid"])
        if st is None or not st.running():
            return None
        v = self.vnow()
        cs_list = []
        for cs in st.containers.values():
            cpu, mem = self._usage(pod, cs, v)
            cs_list.append({"name": cs.name, "usage": {"cpu": "%dn" % int(cpu * 1e9), "memory": "%dKi" % int(mem / 1024)}})
        md = pod["metadata"]
        return {"metadata": {"name": md["name"], "namespace": md["namespace"], "creationTimestamp": rfc3339(),
                             "labels": md.get("labels") or {}},
                "timestamp": rfc3339(), "window": "15s", "containers": cs_list}

    def node_metrics(self):
        v = self.vnow()
        usage = {n: [0.25, 600 * 2 ** 20] for n in NODES}
        for e in self.store.data[T_POD.key].values():
            st = self.pods.get(e.obj["metadata"]["uid"])
            node = e.obj["spec"].get("nodeName")
            if st is None or node not in usage:
                continue
            for cs in st.containers.values():
                c, m = self._usage(e.obj, cs, v)
                usage[node][0] += c
                usage[node][1] += m
        return [{"metadata": {"name": n, "creationTimestamp": rfc3339(), "labels": {"kubernetes.io/hostname": n}},
                 "timestamp": rfc3339(), "window": "20s",
                 "usage": {"cpu": "%dn" % int(c * 1e9), "memory": "%dKi" % int(m / 1024)}} for n, (c, m) in usage.items()]

    # ------------------------------------------------------------ logs
    def pod_logs(self, pod, container, previous):
        st = self.pods.get(pod["metadata"]["uid"])
        cs = st.containers.get(container) if st else None
        name = pod["metadata"]["name"]
        if cs is None:
            raise ApiError(400, "BadRequest", 'container "%s" in pod "%s" is waiting to start: ContainerCreating' % (container, name))
        v = self.vnow()
        cs.advance(v)
        if previous:
            if not cs.instances:
                raise ApiError(400, "BadRequest", 'previous terminated container "%s" in pod "%s" not found' % (container, name))
            start, end, reason = cs.instances[-1]
            return self._lines(pod, cs, start, end, reason, len(cs.instances) - 1)
        if cs.start_v is None:
            if not cs.instances:
                raise ApiError(400, "BadRequest", 'container "%s" in pod "%s" is waiting to start: ContainerCreating' % (container, name))
            start, end, reason = cs.instances[-1]   # a crash-looping container shows its last run
            return self._lines(pod, cs, start, end, reason, len(cs.instances) - 1)
        return self._lines(pod, cs, cs.start_v, min(v, cs.end_v() or v), None, cs.restarts)

    def _lines(self, pod, cs, start, end, reason, run):
        b = cs.b
        app = pod["metadata"].get("labels", {}).get("app") or pod["metadata"]["name"].rsplit("-", 2)[0]
        out = [(start, 'level=info msg="starting %s" version=%s' % (app, b["tag"])),
               (start + 0.1, 'level=info msg="connected to database" host=postgres pool_size=10')]
        if b["broken"]:
            out.append((start + 0.2, 'level=error msg="migration check failed" err="relation \\"videos_v2\\" does not exist"'))
            out.append((min(end, start + CRASH_AFTER), 'level=fatal msg="cannot start: schema mismatch" exit_code=1'))
            return [(self.real_of(t), line) for t, line in out]   # wall-clock times, as every other log
        out.append((start + 0.2, 'level=info msg="listening" addr=:8080'))
        n_total = int((end - start - 1) // LOG_INTERVAL)
        first = max(0, n_total - MAX_LOG_LINES)
        paths = ["/api/videos", "/api/videos/search", "/api/playlists", "/api/users/me", "/healthz"]
        uid = pod["metadata"]["uid"]
        for i in range(first, max(n_total, 0)):
            t = start + 1 + i * LOG_INTERVAL
            h = _h(uid, run, i)
            path = paths[h % len(paths)]
            if b["errors"] and h % 100 < b["errors"]:
                out.append((t, 'level=error msg="request failed" method=GET path=%s status=500 duration_ms=%d err="upstream timeout: search-svc"' % (path, 900 + h % 600)))
            else:
                out.append((t, 'level=info msg="request" method=GET path=%s status=200 duration_ms=%d' % (path, 5 + h % 60)))
            if b["leak"] and i % 10 == 9:
                frac = min((t - start) / LEAK_SECONDS, 1.0)
                out.append((t, 'level=warn msg="heap usage high" heap_mb=%d limit_mb=%d' % (
                    cs.mem_limit * (0.2 + 0.8 * frac) / 2 ** 20, cs.mem_limit / 2 ** 20)))
        if reason == "OOMKilled":
            out.append((end - 0.01, 'level=error msg="allocation failed" heap_mb=%d limit_mb=%d' % (cs.mem_limit / 2 ** 20, cs.mem_limit / 2 ** 20)))
            out.append((end, "fatal error: runtime: out of memory (OOMKilled)"))
        return [(self.real_of(t), line) for t, line in out]

    # ------------------------------------------------------------ HPA
    def sync_hpa(self, h, v):
        md, spec = h["metadata"], h["spec"]
        ref = spec.get("scaleTargetRef") or {}
        trt = {"Deployment": T_DEP, "StatefulSet": T_STS, "ReplicaSet": T_RS}.get(ref.get("kind"))
        target = self.store.get_obj(trt, md["namespace"], ref.get("name")) if trt else None
        old = h.get("status") or {}
        status = {"currentReplicas": old.get("currentReplicas", 0), "desiredReplicas": old.get("desiredReplicas", 0),
                  "observedGeneration": md.get("generation", 1)}
        if old.get("lastScaleTime"):
            status["lastScaleTime"] = old["lastScaleTime"]
        conds = copy.deepcopy(old.get("conditions") or [])
        if target is None:
            self._set_hcond(conds, "AbleToScale", "False", "FailedGetScale",
                            'the HPA controller was unable to get the target\'s current scale: %s "%s" not found' % (
                                (trt.plural + "." + trt.group) if trt else ref.get("kind"), ref.get("name")))
            status["conditions"] = conds
            return self._write_hpa(h, status)
        cur = target["spec"].get("replicas", 1)
        status["currentReplicas"] = (target.get("status") or {}).get("replicas", 0)
        self._set_hcond(conds, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
        sel = selector_from_label_selector(target["spec"].get("selector"))
        pods = [p for p in self.store.owned_pods_matching(md["namespace"], sel)] if hasattr(self.store, "owned_pods_matching") else \
            [e.obj for e in self.store.list(T_POD, md["namespace"], sel)]
        util_pct, metrics = None, []
        for m in spec.get("metrics") or []:
            if m.get("type") != "Resource" or (m.get("resource") or {}).get("name") != "cpu":
                continue
            tgt = m["resource"].get("target", {}).get("averageUtilization")
            used = req = 0.0
            n = 0
            for p in pods:
                st = self.pods.get(p["metadata"]["uid"])
                if st is None or not st.ready(v):
                    continue
                for cs in st.containers.values():
                    c, _m = self._usage(p, cs, v)
                    used += c
                    req += cs.cpu_req
                n += 1
            if not n or not req:
                self._set_hcond(conds, "ScalingActive", "False", "FailedGetResourceMetric",
                                "the HPA was unable to compute the replica count: failed to get cpu utilization: "
                                + ("missing request for cpu" if n else "did not receive metrics for targeted pods (pods might be unready)"))
                status["currentMetrics"] = None
                break
            util_pct = int(round(used * 100 / req))
            metrics.append({"type": "Resource", "resource": {"name": "cpu", "current": {
                "averageUtilization": util_pct, "averageValue": "%dm" % int(used * 1000 / n)}}})
            ratio = util_pct / float(tgt or 80)
            desired = cur if abs(ratio - 1) <= 0.1 else int(math.ceil(ratio * max(n, 1)))
            lo, hi = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
            limited = desired > hi or desired < lo
            desired = max(lo, min(hi, desired))
            self._set_hcond(conds, "ScalingActive", "True", "ValidMetricFound",
                            "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)")
            if limited:
                self._set_hcond(conds, "ScalingLimited", "True", "TooManyReplicas" if desired == hi else "TooFewReplicas",
                                "the desired replica count is %s than the maximum replica count" % ("more" if desired == hi else "less"))
            else:
                self._set_hcond(conds, "ScalingLimited", "False", "DesiredWithinRange",
                                "the desired count is within the acceptable range")
            status["desiredReplicas"] = desired
            status["currentMetrics"] = metrics
            apply = False
            if desired > cur:
                apply = True
                self.hpa_low.pop(md["uid"], None)
            elif desired < cur:
                since, _d = self.hpa_low.setdefault(md["uid"], (v, desired))
                apply = v - since >= 300   # default scale-down stabilization window
            else:
                self.hpa_low.pop(md["uid"], None)
            if apply:
                nt = copy.deepcopy(target)
                nt["spec"]["replicas"] = desired
                self._update(trt, nt)
                self.hpa_low.pop(md["uid"], None)
                status["lastScaleTime"] = rfc3339()
                self.event(T_HPA, h, "Normal", "SuccessfulRescale", "New size: %d; reason: cpu resource utilization "
                           "(percentage of request) %s target" % (desired, "above" if desired > cur else "below"),
                           "horizontal-pod-autoscaler")
            break
        if status.get("currentMetrics") is None:
            status.pop("currentMetrics", None)
        status["conditions"] = conds
        self._write_hpa(h, status)

    def _write_hpa(self, h, status):
        if status != h.get("status"):
            nh = dict(h)
            nh["status"] = status
            self._update(T_HPA, nh)

    @staticmethod
    def _set_hcond(conds, ctype, status, reason, message):
        for c in conds:
            if c.get("type") == ctype:
                if (c.get("status"), c.get("reason"), c.get("message")) == (status, reason, message):
                    return
                if c.get("status") != status:
                    c["lastTransitionTime"] = rfc3339()
                c.update(status=status, reason=reason, message=message)
                return
        conds.append({"type": ctype, "status": status, "lastTransitionTime": rfc3339(), "reason": reason, "message": message})

    # ------------------------------------------------------------ cert-manager Certificates
    @staticmethod
    def _go_duration(s, default):
        if not s:
            return default
        total, ok = 0.0, False
        for num, unit in re.findall(r"([0-9.]+)(h|ms|m|s)", s):
            ok = True
            total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
        return total if ok else default

    def sync_certificate(self, c):
        md, spec = c["metadata"], c.get("spec") or {}
        ns = md["namespace"]
        sname = spec.get("secretName")
        if not sname or self.ca is None:
            return
        secret = self.store.get_obj(T_SEC, ns, sname)
        spec_hash = template_hash({k: spec.get(k) for k in ("dnsNames", "commonName", "duration", "issuerRef", "secretName")})
        ann = (secret or {}).get("metadata", {}).get("annotations") or {}
        status = c.get("status") or {}
        due = False
        na = status.get("renewalTime")
        if na:
            from util import parse_ts
            t = parse_ts(na)
            due = t is not None and time.time() >= t
        if secret is not None and ann.get("cert-manager.io/certificate-name") == md["name"] and \
                ann.get("cert-manager.io/spec-hash") == spec_hash and not due and status.get("notAfter"):
            return
        dns = spec.get("dnsNames") or []
        cn = spec.get("commonName") or (dns[0] if dns else md["name"])
        duration = self._go_duration(spec.get("duration"), 90 * 86400)
        renew_before = self._go_duration(spec.get("renewBefore"), duration / 3)
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        not_after = now + datetime.timedelta(seconds=duration)
        crt, key, _ = self.ca.issue(cn, dns, (), not_before=now, not_after=not_after)
        issuer = spec.get("issuerRef") or {}
        sec = {"metadata": {"name": sname, "namespace": ns, "annotations": {
            "cert-manager.io/alt-names": ",".join(dns), "cert-manager.io/certificate-name": md["name"],
            "cert-manager.io/common-name": cn, "cert-manager.io/ip-sans": "", "cert-manager.io/uri-sans": "",
            "cert-manager.io/issuer-group": issuer.get("group", "cert-manager.io"),
            "cert-manager.io/issuer-kind": issuer.get("kind", "Issuer"), "cert-manager.io/issuer-name": issuer.get("name", ""),
            "cert-manager.io/spec-hash": spec_hash},
            "labels": {"controller.cert-manager.io/fao": "true"}},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode(),
                     "ca.crt": base64.b64encode(self.ca.cert_pem).decode()}}
        if secret is None:
            self.store.create(T_SEC, sec)
        else:
            ns_ = copy.deepcopy(secret)
            ns_["metadata"]["annotations"] = dict(ns_["metadata"].get("annotations") or {}, **sec["metadata"]["annotations"])
            ns_["metadata"]["labels"] = dict(ns_["metadata"].get("labels") or {}, **sec["metadata"]["labels"])
            ns_["data"], ns_["type"] = sec["data"], "kubernetes.io/tls"
            self._update(T_SEC, ns_)
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        st = {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                              "message": "Certificate is up to date and has not expired",
                              "lastTransitionTime": rfc3339(), "observedGeneration": md.get("generation", 1)}],
              "notBefore": now.strftime(fmt), "notAfter": not_after.strftime(fmt),
              "renewalTime": (not_after - datetime.timedelta(seconds=renew_before)).strftime(fmt),
              "revision": status.get("revision", 0) + 1}
        nc = dict(c)
        nc["status"] = st
        self._update(T_CERT, nc)
        self.event(T_CERT, c, "Normal", "Issuing", "The certificate has been successfully issued", "cert-manager-certificates-issuing")

    # ------------------------------------------------------------ endpoints
    def sync_endpoints(self, svc):
        md, spec = svc["metadata"], svc.get("spec") or {}
        sel = spec.get("selector")
        if not sel:
            return
        from util import Selector
        s = Selector([(k, "=", [val]) for k, val in sorted(sel.items())])
        v = self.vnow()
        ready, not_ready = [], []
        for e in self.store.list(T_POD, md["namespace"], s):
            p = e.obj
            ip = (p.get("status") or {}).get("podIP")
            if not ip:
                continue
            addr = {"ip": ip, "nodeName": p["spec"].get("nodeName"),
                    "targetRef": {"kind": "Pod", "namespace": md["namespace"], "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}}
            (ready if self.pod_ready(p, v) else not_ready).append(addr)
        ports = []
        for p in spec.get("ports") or []:
            tp = p.get("targetPort", p.get("port"))
            port = {"port": tp if isinstance(tp, int) else p.get("port"), "protocol": p.get("protocol", "TCP")}
            if p.get("name"):
                port["name"] = p["name"]
            ports.append(port)
        subset = {}
        if ready:
            subset["addresses"] = sorted(ready, key=lambda a: a["ip"])
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: a["ip"])
        ep = {"metadata": {"name": md["name"], "namespace": md["namespace"], "labels": dict(md.get("labels") or {})}}
        if subset:
            subset["ports"] = ports
            ep["subsets"] = [subset]
        cur = self.store.get_obj(T_EP, md["namespace"], md["name"])
        if cur is None:
            self.store.create(T_EP, ep)
        elif cur.get("subsets") != ep.get("subsets") or cur["metadata"].get("labels") != ep["metadata"]["labels"]:
            n = copy.deepcopy(cur)
            n["metadata"]["labels"] = ep["metadata"]["labels"]
            if "subsets" in ep:
                n["subsets"] = ep["subsets"]
            else:
                n.pop("subsets", None)
            self._update(T_EP, n)
