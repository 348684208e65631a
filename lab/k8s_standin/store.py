"""In-memory object store with resourceVersions, a watch event log and an owner index."""
import collections
import json
import threading
import time
import uuid

from resources import BY_KEY
from util import already_exists, conflict, field_matches, not_found, rfc3339

EVENT_LOG = 50000  # watch events kept; an older resourceVersion gets 410 Expired


class Entry:
    __slots__ = ("obj", "_raw")

    def __init__(self, obj):
        self.obj = obj
        self._raw = None

    def raw(self):
        """The object's JSON without apiVersion/kind (as list items of built-in types are served)."""
        if self._raw is None:
            self._raw = json.dumps(self.obj, separators=(",", ":")).encode()
        return self._raw


def with_typemeta(rt, raw):
    head = ('{"kind":"%s","apiVersion":"%s"' % (rt.kind, rt.api_version)).encode()
    return head + (b"," + raw[1:] if len(raw) > 2 else b"}")


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 1000
        self.data = {k: {} for k in BY_KEY}           # key -> {(ns, name): Entry}
        self.by_uid = {}                                # uid -> (key, ns, name)
        self.children = collections.defaultdict(set)   # owner uid -> {(key, ns, name)}
        self.events = collections.deque(maxlen=EVENT_LOG)  # (rv, key, type, entry, old_obj)
        self.oldest_rv = self.rv
        self.listeners = []   # callables(key, type, obj) run under the lock (controllers' kick)
        self.touched = {}     # owner uid -> resourceVersion of the last write to one of its dependents

    # -------------------------------------------------------------- reads
    def get(self, rt, ns, name):
        e = self.data[rt.key].get((ns or "", name))
        return e

    def get_obj(self, rt, ns, name):
        e = self.get(rt, ns, name)
        return e.obj if e else None

    def list(self, rt, ns=None, label_sel=None, field_sel=None):
        out = []
        for (ens, _name), e in self.data[rt.key].items():
            if ns and ens != ns:
                continue
            if label_sel is not None and not label_sel.empty() and not label_sel.matches(e.obj["metadata"].get("labels")):
                continue
            if field_sel and not field_matches(e.obj, field_sel):
                continue
            out.append(e)
        return out

    def owned(self, owner_uid, rt=None):
        out = []
        for key, ns, name in list(self.children.get(owner_uid, ())):
            if rt is not None and key != rt.key:
                continue
            e = self.data[key].get((ns, name))
            if e:
                out.append(e.obj)
        return out

    # -------------------------------------------------------------- writes (callers hold self.lock)
    def _next_rv(self):
        self.rv += 1
        return self.rv

    def _index(self, key, obj, add):
        md = obj["metadata"]
        ident = (key, md.get("namespace", ""), md["name"])
        for ref in md.get("ownerReferences") or []:
            if add:
                self.children[ref.get("uid")].add(ident)
            else:
                s = self.children.get(ref.get("uid"))
                if s is not None:
                    s.discard(ident)
                    if not s:
                        del self.children[ref.get("uid")]

    def _emit(self, rt, etype, entry, old_obj):
        self.events.append((self.rv, rt.key, etype, entry, old_obj))
        for o in (entry.obj, old_obj):
            for ref in (o or {}).get("metadata", {}).get("ownerReferences") or ():
                self.touched[ref.get("uid")] = self.rv
        if len(self.events) == self.events.maxlen:
            self.oldest_rv = self.events[0][0]
        for fn in self.listeners:
            fn(rt.key, etype, entry.obj)
        self.cond.notify_all()

    def create(self, rt, obj, dry_run=False):
        md = obj["metadata"]
        ns = md.get("namespace", "") if rt.namespaced else ""
        k = (ns, md["name"])
        if k in self.data[rt.key]:
            raise already_exists(rt, md["name"])
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = rfc3339()
        if rt.generation:
            md["generation"] = 1
        md.pop("deletionTimestamp", None)
        if dry_run:
            md["resourceVersion"] = str(self.rv)
            return obj
        md["resourceVersion"] = str(self._next_rv())
        e = Entry(obj)
        self.data[rt.key][k] = e
        self.by_uid[md["uid"]] = (rt.key, ns, md["name"])
        self._index(rt.key, obj, True)
        self._emit(rt, "ADDED", e, None)
        return obj

    def update(self, rt, obj, check_rv=True, dry_run=False, spec_changed=None):
        """Replace an object. obj must be a fresh dict (stored objects are never mutated in place)."""
        md = obj["metadata"]
        ns = md.get("namespace", "") if rt.namespaced else ""
        k = (ns, md["name"])
        cur = self.data[rt.key].get(k)
        if cur is None:
            raise not_found(rt, md["name"])
        cmd = cur.obj["metadata"]
        if check_rv and md.get("resourceVersion") and md["resourceVersion"] != cmd["resourceVersion"]:
            raise conflict(rt, md["name"])
        md["uid"] = cmd["uid"]
        md["creationTimestamp"] = cmd["creationTimestamp"]
        if rt.generation:
            changed = spec_changed if spec_changed is not None else (obj.get("spec") != cur.obj.get("spec"))
            md["generation"] = cmd.get("generation", 1) + (1 if changed else 0)
        if "deletionTimestamp" in cmd:
            md["deletionTimestamp"] = cmd["deletionTimestamp"]
        md["resourceVersion"] = cmd["resourceVersion"]
        if obj == cur.obj:
            return cur.obj  # no-op updates keep the resourceVersion, as the apiserver does
        if dry_run:
            return obj
        md["resourceVersion"] = str(self._next_rv())
        e = Entry(obj)
        self.data[rt.key][k] = e
        self._index(rt.key, cur.obj, False)
        self._index(rt.key, obj, True)
        self._emit(rt, "MODIFIED", e, cur.obj)
        return obj

    def delete(self, rt, ns, name, dry_run=False, propagation="Background", precondition_rv=None,
               precondition_uid=None):
        from util import ApiError
        k = (ns or "" if rt.namespaced else "", name)
        cur = self.data[rt.key].get(k)
        if cur is None:
            raise not_found(rt, name)
        cmd = cur.obj["metadata"]
        if precondition_uid and precondition_uid != cmd["uid"]:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": Precondition failed: UID in '
                           'precondition: %s, UID in object meta: %s' % (rt.plural, name, precondition_uid, cmd["uid"]),
                           {"name": name, "group": rt.group, "kind": rt.plural})
        if precondition_rv and precondition_rv != cmd["resourceVersion"]:
            raise conflict(rt, name)
        if dry_run:
            return cur.obj
        uid = cmd["uid"]
        del self.data[rt.key][k]
        self.by_uid.pop(uid, None)
        self._index(rt.key, cur.obj, False)
        self._next_rv()
        gone = dict(cur.obj)
        gone["metadata"] = dict(cmd, resourceVersion=str(self.rv))
        self._emit(rt, "DELETED", Entry(gone), cur.obj)
        # garbage collection of dependents
        deps = list(self.children.get(uid, ()))
        for key, dns, dname in deps:
            drt = BY_KEY[key]
            e = self.data[key].get((dns, dname))
            if e is None:
                continue
            if propagation == "Orphan":
                o = json.loads(e.raw())
                o["metadata"]["ownerReferences"] = [r for r in o["metadata"].get("ownerReferences") or []
                                                    if r.get("uid") != uid]
                if not o["metadata"]["ownerReferences"]:
                    del o["metadata"]["ownerReferences"]
                self.update(drt, o, check_rv=False)
            else:
                self.delete(drt, dns, dname)
        self.children.pop(uid, None)
        return gone

    # -------------------------------------------------------------- watch
    def events_since(self, rv):
        """Events with resourceVersion > rv; None if rv is older than the log keeps."""
        if rv < self.oldest_rv - 1 and self.events and self.events[0][0] > rv + 1:
            return None
        if not self.events or self.events[-1][0] <= rv:
            return []
        # events are in rv order; scan from the end
        out = []
        for ev in reversed(self.events):
            if ev[0] <= rv:
                break
            out.append(ev)
        out.reverse()
        return out

    # -------------------------------------------------------------- persistence
    def snapshot(self):
        with self.lock:
            return {"rv": self.rv, "objects": {"%s/%s" % k: [e.obj for e in d.values()] for k, d in self.data.items()}}

    def restore(self, snap):
        with self.lock:
            self.rv = snap.get("rv", self.rv)
            self.oldest_rv = self.rv
            for ks, objs in snap.get("objects", {}).items():
                g, p = ks.split("/", 1)
                key = (g, p)
                if key not in self.data:
                    continue
                for o in objs:
                    md = o["metadata"]
                    e = Entry(o)
                    self.data[key][(md.get("namespace", ""), md["name"])] = e
                    self.by_uid[md["uid"]] = (key, md.get("namespace", ""), md["name"])
                    self._index(key, o, True)


def now():
    return time.time()
