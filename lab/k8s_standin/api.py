"""REST semantics of the stand-in: discovery, CRUD verbs, patches, subresources, watch, logs, metrics."""
import base64
import copy
import json
import random
import string
import time

import rbac
import resources as R
from store import with_typemeta
from util import (ApiError, bad_request, json_merge_patch, json_patch, not_found, parse_field_selector,
                  parse_label_selector, rfc3339, selector_from_label_selector, strategic_merge_patch)

VERSION = {"major": "1", "minor": "33", "emulationMajor": "1", "emulationMinor": "33", "minCompatibilityMajor": "1",
           "minCompatibilityMinor": "32", "gitVersion": "v1.33.0-standin", "gitCommit": "0000000000000000000000000000000000000000",
           "gitTreeState": "clean", "buildDate": "2025-04-23T00:00:00Z", "goVersion": "go1.24.2", "compiler": "gc",
           "platform": "linux/amd64"}

EMPTY_STATUS = {"ReplicaSet": {"replicas": 0}, "StatefulSet": {"replicas": 0, "availableReplicas": 0},
                "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                              "numberReady": 0}, "HorizontalPodAutoscaler": {"desiredReplicas": 0}}


def _rand(n=5):
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def dumps(o):
    return json.dumps(o, separators=(",", ":")).encode()


class Request:
    def __init__(self, method, path, query, headers, body, user):
        self.method, self.path, self.query, self.headers, self.body, self.user = method, path, query, headers, body, user

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[-1] if v else default

    @property
    def dry_run(self):
        return "All" in (self.query.get("dryRun") or [])

    def wants_table(self):
        return "as=Table" in (self.headers.get("Accept") or "")

    def parse_body(self, allow_list=False):
        raw = self.body or b""
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if ctype == "application/vnd.kubernetes.protobuf":
            obj = self._protobuf(raw)
            if isinstance(obj, dict):
                return obj
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                           "media types include: application/json, application/yaml", {})
        if "protobuf" in ctype or "cbor" in ctype:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                           "media types include: application/json, application/yaml, "
                           "application/vnd.kubernetes.protobuf", {})
        if not raw.strip():
            raise bad_request("Object 'Kind' is missing in '%s'" % raw.decode(errors="replace"))
        try:
            if "yaml" in ctype:
                import yaml  # noqa: E402 (loaded on the first YAML body: keeps the start fast)
                try:
                    obj = yaml.safe_load(raw)
                except yaml.YAMLError as e:
                    raise ValueError(str(e)) from None
            else:
                obj = json.loads(raw)
        except ValueError as e:
            raise bad_request("couldn't get version/kind; json parse error: %s" % str(e).splitlines()[0]) from None
        if isinstance(obj, list) and allow_list:
            return obj
        if not isinstance(obj, dict):
            raise bad_request("couldn't get version/kind; json parse error: json: cannot unmarshal %s into Go value "
                              "of type struct" % type(obj).__name__)
        return obj

    @staticmethod
    def _protobuf(raw):
        """Built-in kinds decode to the dict their JSON form would be; custom resources (no protobuf form on
        a real apiserver either) fall through to 415."""
        import k8sproto  # noqa: E402 (loaded on the first protobuf body: keeps the start fast)
        try:
            return k8sproto.decode(raw)
        except k8sproto.ProtoError as e:
            if e.kind == "unsupported":
                return None
            raise bad_request(str(e)) from None


class Api:
    def __init__(self, store, sim, server_url):
        self.store, self.sim, self.server_url = store, sim, server_url
        self.authorizer = rbac.Authorizer(store, {p: R.rtype(rbac.GROUP, p) for p in (
            "roles", "rolebindings", "clusterroles", "clusterrolebindings")})

    # ------------------------------------------------------------ discovery
    def discovery(self, path):
        if path == "/version":
            return VERSION
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_url.split("://")[1]}]}
        if path == "/apis":
            gs = []
            for g, v in R.groups():
                gv = {"groupVersion": "%s/%s" % (g, v), "version": v}
                gs.append({"name": g, "versions": [gv], "preferredVersion": gv})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": gs}
        if path == "/openapi/v3":
            return {"paths": {("apis/%s/%s" % gv if gv[0] else "api/v1"): {
                "serverRelativeURL": "/openapi/v3/%s?hash=%s" % ("apis/%s/%s" % gv if gv[0] else "api/v1", "0" * 16)}
                for gv in R.BY_GV}}
        if path.startswith("/openapi/v3/"):
            gvp = path[len("/openapi/v3/"):].split("/")
            gv = ("", "v1") if gvp == ["api", "v1"] else (tuple(gvp[1:3]) if len(gvp) == 3 and gvp[0] == "apis" else None)
            if gv in R.BY_GV:
                return self._openapi_v3(gv)
            return None
        parts = [p for p in path.split("/") if p]
        if parts == ["api", "v1"]:
            return self._resource_list("", "v1")
        if len(parts) == 2 and parts[0] == "apis":
            for g, v in R.groups():
                if g == parts[1]:
                    gv = {"groupVersion": "%s/%s" % (g, v), "version": v}
                    return {"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": [gv], "preferredVersion": gv}
        if len(parts) == 3 and parts[0] == "apis" and (parts[1], parts[2]) in R.BY_GV:
            return self._resource_list(parts[1], parts[2])
        return None

    def _openapi_v3(self, gv):
        """A minimal OpenAPI v3 document: enough for kubectl to see that the server validates fields itself
        (the fieldValidation parameter on PATCH). It carries no schemas."""
        paths = {}
        params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        for t in R.BY_GV[gv].values():
            if t.virtual or "patch" not in t.verbs:
                continue
            prefix = "/apis/%s/%s" % gv if gv[0] else "/api/v1"
            p = prefix + ("/namespaces/{namespace}/" if t.namespaced else "/") + t.plural + "/{name}"
            gvk = {"group": t.group, "version": t.version, "kind": t.kind}
            paths[p] = {"patch": {"operationId": "patch" + t.kind, "parameters": params, "responses": {},
                                  "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk}}
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes API stand-in", "version": VERSION["gitVersion"]},
                "paths": paths, "components": {"schemas": {}}}

    def _resource_list(self, g, v):
        res = []
        for t in R.BY_GV[(g, v)].values():
            res.extend(t.discovery())
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "%s/%s" % (g, v) if g else v,
                "resources": res}

    # ------------------------------------------------------------ routing
    def route(self, path):
        """-> (rtype-or-virtual, namespace, name, subresource, watch_prefix)"""
        parts = [p for p in path.split("/") if p]
        if not parts:
            return None
        if parts[0] == "api" and len(parts) >= 2 and parts[1] == "v1":
            g, v, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            g, v, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        types = R.BY_GV.get((g, v))
        if types is None or not rest:
            return None
        watch = False
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return None
        t = types.get(rest[0])
        if t is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if ns is not None and not t.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        return t, ns, name, sub, watch

    def authorize(self, req, rt, ns, name, sub, watch):
        """403 unless the user may make this request (rbac.py)."""
        a = rbac.request_attributes(req.method, req.query, rt, ns, name, sub, watch)
        allowed, reason = self.authorizer.authorize(req.user, a)
        if not allowed:
            raise R.forbidden_error(req.user["name"], a, reason)

    def handle(self, req):
        """-> (code, body) where body is a dict, bytes (JSON), or ("stream", generator, content_type)."""
        r = self.route(req.path)
        if r is None:
            return 404, ("text", b"404 page not found\n")
        rt, ns, name, sub, watch = r
        self.authorize(req, rt, ns, name, sub, watch)
        m = req.method
        if rt.kind == "SelfSubjectAccessReview":
            if m != "POST":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
            return 201, self.ssar(req)
        if rt.virtual:
            if m != "GET":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
            return 200, self.metrics(req, rt, ns, name)
        if watch or (m == "GET" and name is None and req.q("watch") in ("true", "1")):
            if name:
                req.query["fieldSelector"] = ["metadata.name=%s" % name]
            return 200, ("stream", self.watch(req, rt, ns), "application/json")
        if sub == "log" and rt.kind == "Pod" and m == "GET":
            return self.pod_log(req, ns, name)
        if sub and sub not in rt.subresources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        with self.store.lock:
            if m == "GET":
                if name is None:
                    return 200, self.list(req, rt, ns)
                e = self.store.get(rt, ns, name)
                if e is None:
                    raise not_found(rt, name)
                if sub == "scale":
                    return 200, self.scale_of(rt, e.obj)
                if req.wants_table():
                    return 200, R.table(rt, [e.obj], {"resourceVersion": e.obj["metadata"]["resourceVersion"]},
                                        req.q("includeObject", "Metadata"), rt.api_version)
                return 200, with_typemeta(rt, e.raw())
            if m == "POST" and name is None:
                return 201, self.typed(rt, self.create(req, rt, ns))
            if m == "PUT" and name:
                return 200, self.put(req, rt, ns, name, sub)
            if m == "PATCH" and name:
                return 200, self.patch(req, rt, ns, name, sub)
            if m == "DELETE" and name:
                return 200, self.delete(req, rt, ns, name)
            if m == "DELETE" and name is None:
                return 200, self.delete_collection(req, rt, ns)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})

    def typed(self, rt, obj):
        out = {"kind": rt.kind, "apiVersion": rt.api_version}
        out.update(obj)
        return out

    # ------------------------------------------------------------ list
    def list(self, req, rt, ns):
        lsel = parse_label_selector(req.q("labelSelector"))
        fsel = parse_field_selector(req.q("fieldSelector"))
        entries = self.store.list(rt, ns, lsel, fsel)
        entries.sort(key=lambda e: (e.obj["metadata"].get("namespace", ""), e.obj["metadata"]["name"]))
        meta = {"resourceVersion": str(self.store.rv)}
        cont = req.q("continue")
        if cont:
            try:
                tok = json.loads(base64.urlsafe_b64decode(cont.encode() + b"==="))
                start = tuple(tok["start"])
            except Exception:
                raise bad_request("continue key is not valid: illegal base64 data") from None
            meta["resourceVersion"] = str(tok.get("rv", self.store.rv))
            entries = [e for e in entries if (e.obj["metadata"].get("namespace", ""), e.obj["metadata"]["name"]) > start]
        limit = int(req.q("limit") or 0)
        if limit > 0 and len(entries) > limit:
            last = entries[limit - 1].obj["metadata"]
            meta["continue"] = base64.urlsafe_b64encode(dumps(
                {"rv": int(meta["resourceVersion"]), "start": [last.get("namespace", ""), last["name"]]})).decode().rstrip("=")
            meta["remainingItemCount"] = len(entries) - limit
            entries = entries[:limit]
        if req.wants_table():
            return R.table(rt, [e.obj for e in entries], meta, req.q("includeObject", "Metadata"), rt.api_version)
        raws = [e.raw() for e in entries] if rt.builtin else [with_typemeta(rt, e.raw()) for e in entries]
        head = dumps({"kind": rt.kind + "List", "apiVersion": rt.api_version, "metadata": meta})[:-1]
        return head + b',"items":[' + b",".join(raws) + b"]}"

    # ------------------------------------------------------------ create / update / patch
    def _prepare_meta(self, req, rt, ns, obj):
        R.check_kind(rt, obj)
        md = obj.setdefault("metadata", {}) or {}
        obj["metadata"] = md
        obj.pop("kind", None)
        obj.pop("apiVersion", None)
        if rt.namespaced:
            if md.get("namespace") and ns and md["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            md["namespace"] = ns or md.get("namespace") or "default"
            if self.store.get(R.rtype("", "namespaces"), "", md["namespace"]) is None:
                raise ApiError(404, "NotFound", 'namespaces "%s" not found' % md["namespace"],
                               {"name": md["namespace"], "kind": "namespaces"})
        else:
            md.pop("namespace", None)
        for f in ("uid", "selfLink", "creationTimestamp", "deletionTimestamp", "managedFields"):
            md.pop(f, None)
        if rt.kind == "Secret" and "stringData" in obj:
            data = obj.setdefault("data", {}) or {}
            for k, v in (obj.pop("stringData") or {}).items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data
        return md

    def create(self, req, rt, ns, obj=None):
        obj = obj if obj is not None else req.parse_body()
        md = self._prepare_meta(req, rt, ns, obj)
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = md["generateName"] + _rand()
            else:
                raise R.invalid(rt, "", [("metadata.name", "FieldValueRequired", "name or generateName is required")])
        md.pop("resourceVersion", None)
        if rt.status_sub:   # status starts empty, with the fields the Go types always serialise
            obj["status"] = dict(EMPTY_STATUS.get(rt.kind, {}))
        if rt.kind == "Event":
            obj.setdefault("count", 1)
        R.apply_defaults(rt, obj)
        R.validate(rt, obj)
        self.sim.admit(rt, obj, None)
        out = self.store.create(rt, obj, dry_run=req.dry_run)
        return out

    def _finish_update(self, req, rt, new, old, sub, check_rv=True):
        if rt.status_sub:
            if sub == "status":
                keep = copy.deepcopy(old)
                keep["status"] = new.get("status", {})
                if "metadata" in new:   # status writers may change labels/annotations too
                    for f in ("labels", "annotations"):
                        if f in new["metadata"]:
                            keep["metadata"][f] = new["metadata"][f]
                        else:
                            keep["metadata"].pop(f, None)
                keep["metadata"]["resourceVersion"] = new["metadata"].get("resourceVersion")
                new = keep
            else:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
        R.apply_defaults(rt, new)
        if sub != "status":
            R.validate(rt, new, old)
        self.sim.admit(rt, new, old)
        spec_changed = None
        if rt.kind == "Deployment" and sub != "status" and \
                (new["metadata"].get("annotations") or {}) != (old["metadata"].get("annotations") or {}):
            spec_changed = True  # as the apiserver: annotation updates bump a Deployment's generation
        return self.store.update(rt, new, check_rv=check_rv, dry_run=req.dry_run, spec_changed=spec_changed)

    def put(self, req, rt, ns, name, sub):
        obj = req.parse_body()
        if sub == "scale":
            return self.put_scale(req, rt, ns, name, obj)
        R.check_kind(rt, obj)
        md = obj.get("metadata") or {}
        if md.get("name") and md["name"] != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (md["name"], name))
        old = self.store.get_obj(rt, ns, name)
        if old is None:
            raise not_found(rt, name)
        md["name"] = name
        self._prepare_meta(req, rt, ns, obj)
        return self.typed(rt, self._finish_update(req, rt, obj, old, sub))

    def apply_patch(self, req, rt, doc):
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype == "application/json-patch+json":
            ops = req.parse_body(allow_list=True)
            return json_patch(doc, ops), None
        body = req.parse_body()
        if ctype == "application/merge-patch+json":
            return json_merge_patch(doc, body), body
        if ctype == "application/strategic-merge-patch+json":
            if not rt.builtin:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/apply-patch+yaml", {})
            return strategic_merge_patch(doc, body), body
        if ctype == "application/apply-patch+yaml":
            return strategic_merge_patch(doc, body) if rt.builtin else json_merge_patch(doc, body), body
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                       "media types include: application/json-patch+json, application/merge-patch+json, "
                       "application/apply-patch+yaml, application/strategic-merge-patch+json", {})

    def patch(self, req, rt, ns, name, sub):
        e = self.store.get(rt, ns, name)
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip()
        if e is None:
            if ctype == "application/apply-patch+yaml":  # server-side apply creates
                obj = req.parse_body()
                obj.setdefault("metadata", {})["name"] = name
                return self.typed(rt, self.create(req, rt, ns, obj))
            raise not_found(rt, name)
        if sub == "scale":
            scale = self.scale_of(rt, e.obj)
            new_scale, _ = self.apply_patch(req, rt, scale)
            if isinstance(new_scale, dict):
                new_scale["kind"] = "Scale"   # the patched document is decoded as a Scale whatever it says
            return self.put_scale(req, rt, ns, name, new_scale)
        doc = self.typed(rt, json.loads(e.raw()))
        new, body = self.apply_patch(req, rt, doc)
        if not isinstance(new, dict):
            raise bad_request("the patch produced something that is not an object")
        R.check_kind(rt, new)
        new.pop("kind", None)
        new.pop("apiVersion", None)
        md = new.get("metadata")
        if not isinstance(md, dict):
            raise bad_request("metadata must be an object")
        if md.get("name") != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (md.get("name"), name))
        for f in ("uid", "creationTimestamp"):
            if md.get(f) != e.obj["metadata"].get(f):
                md[f] = e.obj["metadata"].get(f)
        # a resourceVersion in a patch is a precondition; otherwise patches apply to the current object
        patched_rv = md.get("resourceVersion")
        check = patched_rv != e.obj["metadata"]["resourceVersion"]
        if rt.kind == "Secret" and "stringData" in new:
            data = new.setdefault("data", {}) or {}
            for k, v in (new.pop("stringData") or {}).items():
                data[k] = base64.b64encode(str(v).encode()).decode()
        return self.typed(rt, self._finish_update(req, rt, new, e.obj, sub, check_rv=check))

    # ------------------------------------------------------------ scale subresource
    def scale_of(self, rt, obj):
        md = obj["metadata"]
        sel = (obj.get("spec") or {}).get("selector")
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": md["name"], "namespace": md.get("namespace"), "uid": md["uid"],
                             "resourceVersion": md["resourceVersion"], "creationTimestamp": md["creationTimestamp"]},
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                           "selector": str(selector_from_label_selector(sel)) if sel else ""}}

    def put_scale(self, req, rt, ns, name, scale):
        if not isinstance(scale, dict) or (scale.get("kind") not in (None, "Scale")):
            raise bad_request("Scale in version \"v1\" cannot be handled as a Scale")
        e = self.store.get(rt, ns, name)
        if e is None:
            raise not_found(rt, name)
        reps = (scale.get("spec") or {}).get("replicas")
        if not isinstance(reps, int) or isinstance(reps, bool) or reps < 0:
            raise ApiError(422, "Invalid", 'Scale.autoscaling "%s" is invalid: spec.replicas: Invalid value: %s: must be '
                           "greater than or equal to 0" % (name, json.dumps(reps)),
                           {"name": name, "group": "autoscaling", "kind": "Scale", "causes": [
                               {"reason": "FieldValueInvalid", "message": "Invalid value: %s: must be greater than or "
                                "equal to 0" % json.dumps(reps), "field": "spec.replicas"}]})
        new = json.loads(e.raw())
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != e.obj["metadata"]["resourceVersion"]:
            from util import conflict
            raise conflict(rt, name)
        new["spec"]["replicas"] = reps
        out = self._finish_update(req, rt, new, e.obj, None, check_rv=False)
        return self.scale_of(rt, out)

    # ------------------------------------------------------------ delete
    def _delete_options(self, req):
        opts = {}
        if req.body and req.body.strip():
            try:
                opts = json.loads(req.body)
            except ValueError:
                raise bad_request("couldn't get version/kind; json parse error: invalid DeleteOptions body") from None
            if not isinstance(opts, dict):
                opts = {}
        prop = req.q("propagationPolicy") or opts.get("propagationPolicy") or "Background"
        if opts.get("orphanDependents") is True or req.q("orphanDependents") == "true":
            prop = "Orphan"
        if prop not in ("Background", "Foreground", "Orphan"):
            raise ApiError(422, "Invalid", 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported '
                           'value: "%s": supported values: "Foreground", "Background", "Orphan", "nil"' % prop, {})
        pre = opts.get("preconditions") or {}
        return prop, pre

    def delete(self, req, rt, ns, name):
        prop, pre = self._delete_options(req)
        if rt.kind == "Namespace":
            if name in ("default", "kube-system", "kube-public"):
                raise ApiError(403, "Forbidden", 'namespaces "%s" is forbidden: this namespace may not be deleted' % name,
                               {"name": name, "kind": "namespaces"})
            obj = self.store.get_obj(rt, None, name)
            if obj is None:
                raise not_found(rt, name)
            if not req.dry_run:
                for key, d in self.store.data.items():
                    t = R.BY_KEY[key]
                    if t.namespaced:
                        for (ens, ename) in [k for k in d if k[0] == name]:
                            if (ens, ename) in d:
                                self.store.delete(t, ens, ename)
            gone = self.store.delete(rt, None, name, dry_run=req.dry_run)
            out = self.typed(rt, copy.deepcopy(gone))
            out["metadata"]["deletionTimestamp"] = rfc3339()
            out["status"] = {"phase": "Terminating"}
            return out
        gone = self.store.delete(rt, ns, name, dry_run=req.dry_run, propagation=prop,
                                 precondition_rv=pre.get("resourceVersion"), precondition_uid=pre.get("uid"))
        if rt.kind == "Pod":
            out = self.typed(rt, copy.deepcopy(gone))
            out["metadata"]["deletionTimestamp"] = rfc3339()
            out["metadata"]["deletionGracePeriodSeconds"] = 0
            return out
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": rt.group, "kind": rt.plural, "uid": gone["metadata"]["uid"]}}

    def delete_collection(self, req, rt, ns):
        if rt.kind == "Namespace":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
        prop, _ = self._delete_options(req)
        lsel = parse_label_selector(req.q("labelSelector"))
        fsel = parse_field_selector(req.q("fieldSelector"))
        items = []
        for e in self.store.list(rt, ns, lsel, fsel):
            md = e.obj["metadata"]
            items.append(e.obj)
            if not req.dry_run:
                self.store.delete(rt, md.get("namespace"), md["name"], propagation=prop)
        return {"kind": rt.kind + "List", "apiVersion": rt.api_version, "metadata": {"resourceVersion": str(self.store.rv)},
                "items": items}

    # ------------------------------------------------------------ watch
    def watch(self, req, rt, ns):
        lsel = parse_label_selector(req.q("labelSelector"))
        fsel = parse_field_selector(req.q("fieldSelector"))
        timeout = min(float(req.q("timeoutSeconds") or 1800), 1800)
        rv = req.q("resourceVersion")
        table = req.wants_table()
        initial_end = req.q("sendInitialEvents") == "true"
        store = self.store

        def match(obj):
            if obj is None:
                return False
            md = obj["metadata"]
            if ns and md.get("namespace") != ns:
                return False
            if not lsel.empty() and not lsel.matches(md.get("labels")):
                return False
            from util import field_matches
            return not fsel or field_matches(obj, fsel)

        def enc(etype, obj_raw, obj):
            if table:
                t = R.table(rt, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]},
                            req.q("includeObject", "Metadata"), rt.api_version)
                return b'{"type":"' + etype.encode() + b'","object":' + dumps(t) + b"}\n"
            return b'{"type":"' + etype.encode() + b'","object":' + with_typemeta(rt, obj_raw) + b"}\n"

        def gen():
            with store.lock:
                if rv in (None, "", "0") or initial_end:
                    cursor = store.rv
                    initial = [(e.raw(), e.obj) for e in store.list(rt, ns, lsel, fsel)]
                else:
                    try:
                        cursor = int(rv)
                    except ValueError:
                        cursor = -1
                    initial = []
                    if cursor < 0 or store.events_since(cursor) is None:
                        st = ApiError(410, "Expired", "too old resource version: %s (%d)" % (rv, store.oldest_rv)).status()
                        yield b'{"type":"ERROR","object":' + dumps(st) + b"}\n"
                        return
            for raw, obj in initial:
                yield enc("ADDED", raw, obj)
            if initial_end:
                bm = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {
                    "resourceVersion": str(cursor), "annotations": {"k8s.io/initial-events-end": "true"}}}
                yield b'{"type":"BOOKMARK","object":' + dumps(bm) + b"}\n"
            deadline = time.time() + timeout
            while True:
                left = deadline - time.time()
                if left <= 0:
                    return
                with store.cond:
                    evs = store.events_since(cursor)
                    if evs == []:
                        store.cond.wait(min(left, 5.0))
                        evs = store.events_since(cursor)
                if evs is None:
                    st = ApiError(410, "Expired", "too old resource version: %d (%d)" % (cursor, store.oldest_rv)).status()
                    yield b'{"type":"ERROR","object":' + dumps(st) + b"}\n"
                    return
                if not evs:
                    yield b""  # lets the server notice a closed connection
                    continue
                out = []
                for erv, key, etype, entry, old in evs:
                    cursor = erv
                    if key != rt.key:
                        continue
                    now_m = match(entry.obj)
                    if etype == "MODIFIED":
                        was = match(old)
                        if now_m and not was:
                            etype = "ADDED"
                        elif was and not now_m:
                            etype, now_m = "DELETED", True
                    if now_m:
                        out.append(enc(etype, entry.raw(), entry.obj))
                if out:
                    yield b"".join(out)
        return gen()

    # ------------------------------------------------------------ logs, metrics, access reviews
    def pod_log(self, req, ns, name):
        rt = R.rtype("", "pods")
        with self.store.lock:
            pod = self.store.get_obj(rt, ns, name)
            if pod is None:
                raise not_found(rt, name)
            pod = copy.deepcopy(pod)
        names = [c["name"] for c in pod["spec"].get("containers") or []]
        container = req.q("container")
        if not container:
            if len(names) != 1:
                raise bad_request("a container name must be specified for pod %s, choose one of: [%s]" % (name, " ".join(names)))
            container = names[0]
        if container not in names:
            raise bad_request("container %s is not valid for pod %s" % (container, name))
        previous = req.q("previous") == "true"
        lines = self.sim.pod_logs(pod, container, previous)   # raises ApiError 400 when not available
        since = req.q("sinceSeconds")
        if since:
            cut = time.time() - int(since)
            lines = [(t, l) for t, l in lines if t >= cut]
        tail = req.q("tailLines")
        if tail is not None and int(tail) >= 0:
            lines = lines[-int(tail):] if int(tail) else []
        stamps = req.q("timestamps") == "true"
        from util import rfc3339_nano

        def fmt(ls):
            return "".join(("%s %s\n" % (rfc3339_nano(t), l)) if stamps else l + "\n" for t, l in ls).encode()
        body = fmt(lines)
        lb = req.q("limitBytes")
        if lb:
            body = body[:int(lb)]
        if req.q("follow") != "true" or previous:
            return 200, ("text", body)

        def follow():
            yield body
            last = lines[-1][0] if lines else time.time() - 1
            end = time.time() + 3600
            while time.time() < end:
                time.sleep(0.5)
                with self.store.lock:
                    p = self.store.get_obj(rt, ns, name)
                    if p is None or p["metadata"]["uid"] != pod["metadata"]["uid"]:
                        return
                    p = copy.deepcopy(p)
                try:
                    new = [(t, l) for t, l in self.sim.pod_logs(p, container, False) if t > last]
                except ApiError:
                    new = []
                if new:
                    last = new[-1][0]
                    yield fmt(new)
                else:
                    yield b""
        return 200, ("stream", follow(), "text/plain")

    def metrics(self, req, rt, ns, name):
        lsel = parse_label_selector(req.q("labelSelector"))
        with self.store.lock:
            if rt.kind == "PodMetrics":
                pods = [e.obj for e in self.store.list(R.rtype("", "pods"), ns, lsel)]
                items = [m for m in (self.sim.pod_metrics(p) for p in pods) if m]
                if name is not None:
                    items = [m for m in items if m["metadata"]["name"] == name]
                    if not items:
                        raise ApiError(404, "NotFound", 'podmetrics.metrics.k8s.io "%s/%s" not found' % (ns, name),
                                       {"name": name, "group": "metrics.k8s.io", "kind": "pods"})
            else:
                items = self.sim.node_metrics()
                if name is not None:
                    items = [m for m in items if m["metadata"]["name"] == name]
                    if not items:
                        raise ApiError(404, "NotFound", 'nodemetrics.metrics.k8s.io "%s" not found' % name,
                                       {"name": name, "group": "metrics.k8s.io", "kind": "nodes"})
        if name is not None:
            return dict(items[0], kind=rt.kind, apiVersion="metrics.k8s.io/v1beta1")
        return {"kind": rt.kind + "List", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}

    def ssar(self, req):
        """SelfSubjectAccessReview: the answer the authorizer gives the same request (kubectl auth can-i)."""
        obj = req.parse_body()
        spec = obj.get("spec") or {}
        ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (ra is None) == (nra is None):
            raise ApiError(422, "Invalid", 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: '
                           "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be "
                           "specified", {"group": "authorization.k8s.io", "kind": "SelfSubjectAccessReview"})
        if ra is not None:
            a = rbac.Attributes(ra.get("verb", ""), ra.get("group", ""), ra.get("resource", ""), ra.get("subresource"),
                                ra.get("namespace"), ra.get("name"))
            allowed, reason = self.authorizer.authorize(req.user, a)
        else:   # discovery and health paths: every user may read them (system:discovery, system:public-info-viewer)
            path = nra.get("path") or ""
            allowed = nra.get("verb") == "get" and (path in ("/api", "/apis", "/version", "/healthz", "/livez", "/readyz")
                                                    or path.startswith(("/api/", "/apis/", "/openapi/")))
            reason = ""
        obj.setdefault("metadata", {})["creationTimestamp"] = None
        obj["status"] = {"allowed": allowed}
        if reason:
            obj["status"]["reason"] = reason
        obj["kind"], obj["apiVersion"] = "SelfSubjectAccessReview", "authorization.k8s.io/v1"
        return obj
