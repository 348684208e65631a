"""The resource types the stand-in serves: discovery data, defaulting, validation and kubectl tables."""
import copy
import time

from util import (LABEL_VALUE, ApiError, bad_request, go_value, human_duration, int_or_percent, invalid, name_error,
                  parse_ts, selector_from_label_selector)

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
READ_VERBS = ["get", "list", "watch"]


class RType:
    def __init__(self, group, version, plural, kind, namespaced=True, short=(), singular=None, subresources=(),
                 categories=(), verbs=ALL_VERBS, virtual=False, builtin=True, generation=False,
                 status_sub=False, name_rule="subdomain"):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced, self.short, self.subresources, self.categories = namespaced, list(short), subresources, list(categories)
        self.singular = singular or kind.lower()
        self.verbs, self.virtual, self.builtin = list(verbs), virtual, builtin
        self.generation, self.status_sub, self.name_rule = generation, status_sub, name_rule
        self.api_version = "%s/%s" % (group, version) if group else version
        self.key = (group, plural)

    def discovery(self):
        out = [{"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced, "kind": self.kind,
                "verbs": self.verbs}]
        if self.short:
            out[0]["shortNames"] = self.short
        if self.categories:
            out[0]["categories"] = self.categories
        for sub in self.subresources:
            if sub == "scale":
                out.append({"name": self.plural + "/scale", "singularName": "", "namespaced": self.namespaced,
                            "group": "autoscaling", "version": "v1", "kind": "Scale",
                            "verbs": ["get", "patch", "update"]})
            elif sub == "status":
                out.append({"name": self.plural + "/status", "singularName": "", "namespaced": self.namespaced,
                            "kind": self.kind, "verbs": ["get", "patch", "update"]})
            elif sub == "log":
                out.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                            "verbs": ["get"]})
        return out


TYPES = [
    RType("", "v1", "namespaces", "Namespace", namespaced=False, short=["ns"], subresources=("status",),
          verbs=["create", "delete", "get", "list", "patch", "update", "watch"], name_rule="label"),
    RType("", "v1", "nodes", "Node", namespaced=False, short=["no"], subresources=("status",), verbs=READ_VERBS),
    RType("", "v1", "pods", "Pod", short=["po"], categories=["all"], subresources=("log", "status"), status_sub=True),
    RType("", "v1", "services", "Service", short=["svc"], categories=["all"], subresources=("status",),
          status_sub=True, name_rule="1035"),
    RType("", "v1", "endpoints", "Endpoints", short=["ep"]),
    RType("", "v1", "secrets", "Secret"),
    RType("", "v1", "configmaps", "ConfigMap", short=["cm"]),
    RType("", "v1", "events", "Event", short=["ev"]),
    RType("", "v1", "serviceaccounts", "ServiceAccount", short=["sa"]),
    RType("apps", "v1", "deployments", "Deployment", short=["deploy"], categories=["all"],
          subresources=("scale", "status"), generation=True, status_sub=True),
    RType("apps", "v1", "replicasets", "ReplicaSet", short=["rs"], categories=["all"],
          subresources=("scale", "status"), generation=True, status_sub=True),
    RType("apps", "v1", "statefulsets", "StatefulSet", short=["sts"], categories=["all"],
          subresources=("scale", "status"), generation=True, status_sub=True),
    RType("apps", "v1", "daemonsets", "DaemonSet", short=["ds"], categories=["all"], subresources=("status",),
          generation=True, status_sub=True),
    RType("apps", "v1", "controllerrevisions", "ControllerRevision"),
    RType("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short=["hpa"],
          categories=["all"], subresources=("status",), generation=True, status_sub=True),
    RType("cert-manager.io", "v1", "certificates", "Certificate", short=["cert", "certs"],
          categories=["cert-manager"], subresources=("status",), builtin=False, generation=True, status_sub=True),
    RType("cert-manager.io", "v1", "issuers", "Issuer", categories=["cert-manager"], builtin=False,
          generation=True),
    RType("cert-manager.io", "v1", "clusterissuers", "ClusterIssuer", namespaced=False,
          categories=["cert-manager"], builtin=False, generation=True),
    RType("rbac.authorization.k8s.io", "v1", "roles", "Role", name_rule="path"),
    RType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", name_rule="path"),
    RType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False, name_rule="path"),
    RType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False,
          name_rule="path"),
    RType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", verbs=["get", "list"], virtual=True),
    RType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", namespaced=False, verbs=["get", "list"],
          virtual=True),
    RType("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", namespaced=False,
          verbs=["create"], virtual=True),
]

BY_GV = {}
for _t in TYPES:
    BY_GV.setdefault((_t.group, _t.version), {})[_t.plural] = _t
BY_KEY = {t.key: t for t in TYPES if not t.virtual}
BY_KIND = {(t.group, t.kind): t for t in TYPES if not t.virtual}


def rtype(group, plural):
    return BY_KEY[(group, plural)]


def groups():
    seen = []
    for t in TYPES:
        if t.group and t.group not in [g for g, _ in seen]:
            seen.append((t.group, t.version))
    return seen


# ---------------------------------------------------------------- defaulting

def default_container(c):
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    img = c.get("image") or ""
    tag = img.rsplit(":", 1)[1] if ":" in img.rsplit("/", 1)[-1] else ""
    c.setdefault("imagePullPolicy", "Always" if tag in ("", "latest") else "IfNotPresent")
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        p.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        pr = c.get(probe)
        if isinstance(pr, dict):
            pr.setdefault("timeoutSeconds", 1)
            pr.setdefault("periodSeconds", 10)
            pr.setdefault("successThreshold", 1)
            pr.setdefault("failureThreshold", 3)
            if isinstance(pr.get("httpGet"), dict):
                pr["httpGet"].setdefault("path", "/")
                pr["httpGet"].setdefault("scheme", "HTTP")


def default_pod_spec(spec):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if isinstance(c, dict):
            default_container(c)


def default_template(t):
    if not isinstance(t, dict):
        return
    t.setdefault("metadata", {})
    if isinstance(t.get("spec"), dict):
        default_pod_spec(t["spec"])
    t["metadata"].pop("creationTimestamp", None)


def apply_defaults(rt, obj):
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
    k = rt.kind
    if k == "Deployment" and spec is not None:
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        st = spec.setdefault("strategy", {})
        st.setdefault("type", "RollingUpdate")
        if st["type"] == "RollingUpdate":
            ru = st.setdefault("rollingUpdate", {})
            ru.setdefault("maxSurge", "25%")
            ru.setdefault("maxUnavailable", "25%")
        default_template(spec.get("template"))
    elif k == "ReplicaSet" and spec is not None:
        spec.setdefault("replicas", 1)
        default_template(spec.get("template"))
    elif k == "StatefulSet" and spec is not None:
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        us = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if us.get("type") == "RollingUpdate":
            us.setdefault("rollingUpdate", {"partition": 0})
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        default_template(spec.get("template"))
    elif k == "DaemonSet" and spec is not None:
        spec.setdefault("revisionHistoryLimit", 10)
        us = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if us.get("type") == "RollingUpdate":
            us.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})
        default_template(spec.get("template"))
    elif k == "Pod" and spec is not None:
        default_pod_spec(spec)
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
    elif k == "Service" and spec is not None:
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if p.get("targetPort") in (None, 0, ""):   # upstream: an unset (zero) targetPort is the port
                    p["targetPort"] = p.get("port")
    elif k == "Secret":
        obj.setdefault("type", "Opaque")
    elif k == "HorizontalPodAutoscaler" and spec is not None:
        spec.setdefault("minReplicas", 1)
        spec.setdefault("metrics", [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
    elif k in ("RoleBinding", "ClusterRoleBinding"):
        for sub in obj.get("subjects") or []:
            if isinstance(sub, dict) and not sub.get("apiGroup") and sub.get("kind") in ("User", "Group"):
                sub["apiGroup"] = RBAC_GROUP
    elif k == "Namespace":
        if not isinstance(obj.get("spec"), dict) or not obj["spec"].get("finalizers"):
            obj["spec"] = dict(obj.get("spec") or {}, finalizers=["kubernetes"])
        if not isinstance(obj.get("status"), dict) or not obj["status"].get("phase"):
            obj["status"] = dict(obj.get("status") or {}, phase="Active")
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


# ---------------------------------------------------------------- validation

def _validate_template(rt, name, spec, causes, prefix="spec.template"):
    t = spec.get("template")
    if not isinstance(t, dict):
        causes.append((prefix + ".spec.containers", "FieldValueRequired", "Required value"))
        return
    ps = t.get("spec") if isinstance(t.get("spec"), dict) else {}
    cs = ps.get("containers")
    if not cs:
        causes.append((prefix + ".spec.containers", "FieldValueRequired", "Required value"))
    for i, c in enumerate(cs or []):
        if not isinstance(c, dict):
            causes.append(("%s.spec.containers[%d]" % (prefix, i), "FieldValueInvalid", "Invalid value"))
            continue
        if not c.get("name"):
            causes.append(("%s.spec.containers[%d].name" % (prefix, i), "FieldValueRequired", "Required value"))
        elif name_error(c["name"], "label"):
            causes.append(("%s.spec.containers[%d].name" % (prefix, i), "FieldValueInvalid",
                           "Invalid value: %s: %s" % (go_value(c["name"]), name_error(c["name"], "label"))))
        if not c.get("image"):
            causes.append(("%s.spec.containers[%d].image" % (prefix, i), "FieldValueRequired", "Required value"))


RBAC_GROUP = "rbac.authorization.k8s.io"


def _not_supported(value, supported):
    return "Unsupported value: %s: supported values: %s" % (go_value(value or ""), ", ".join(go_value(v) for v in supported))


def _validate_rule(rule, namespaced, path, causes):
    if not rule.get("verbs"):
        causes.append((path + ".verbs", "FieldValueRequired", "Required value: verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs")
    if urls:
        value = "[]string{%s}" % ", ".join(go_value(u) for u in urls)
        if namespaced:
            causes.append((path + ".nonResourceURLs", "FieldValueInvalid",
                           "Invalid value: %s: namespaced rules cannot apply to non-resource URLs" % value))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            causes.append((path + ".nonResourceURLs", "FieldValueInvalid", "Invalid value: %s: rules cannot apply to "
                           "both regular resources and non-resource URLs" % value))
        return
    if not rule.get("apiGroups"):
        causes.append((path + ".apiGroups", "FieldValueRequired",
                       "Required value: resource rules must supply at least one api group"))
    if not rule.get("resources"):
        causes.append((path + ".resources", "FieldValueRequired",
                       "Required value: resource rules must supply at least one resource"))


def _validate_binding(rt, obj, old, causes):
    ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
    if ref.get("apiGroup") and ref["apiGroup"] != RBAC_GROUP:
        causes.append(("roleRef.apiGroup", "FieldValueNotSupported", _not_supported(ref["apiGroup"], [RBAC_GROUP])))
    kinds = ["Role", "ClusterRole"] if rt.namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        causes.append(("roleRef.kind", "FieldValueNotSupported", _not_supported(ref.get("kind"), kinds)))
    if not ref.get("name"):
        causes.append(("roleRef.name", "FieldValueRequired", "Required value"))
    for i, sub in enumerate(obj.get("subjects") or []):
        sub, path = sub if isinstance(sub, dict) else {}, "subjects[%d]" % i
        if not sub.get("name"):
            causes.append((path + ".name", "FieldValueRequired", "Required value"))
        if sub.get("kind") == "ServiceAccount":
            if sub.get("apiGroup"):
                causes.append((path + ".apiGroup", "FieldValueNotSupported", _not_supported(sub["apiGroup"], [""])))
            if not rt.namespaced and not sub.get("namespace"):
                causes.append((path + ".namespace", "FieldValueRequired", "Required value"))
        elif sub.get("kind") in ("User", "Group"):
            if sub.get("apiGroup") != RBAC_GROUP:
                causes.append((path + ".apiGroup", "FieldValueNotSupported", _not_supported(sub.get("apiGroup"), [RBAC_GROUP])))
        else:
            causes.append((path + ".kind", "FieldValueNotSupported",
                           _not_supported(sub.get("kind"), ["ServiceAccount", "User", "Group"])))
    if old is not None and (old.get("roleRef") or {}) != ref:
        causes.append(("roleRef", "FieldValueInvalid", 'Invalid value: rbac.RoleRef{APIGroup:%s, Kind:%s, Name:%s}: '
                       "cannot change roleRef" % tuple(go_value(ref.get(f) or "") for f in ("apiGroup", "kind", "name"))))


def validate(rt, obj, old=None):
    """Raise 422 Invalid for what the apiserver's validation would reject (the subset the stand-in knows)."""
    md = obj.get("metadata") or {}
    name = md.get("name") or ""
    causes = []
    err = name_error(name, rt.name_rule) if name else None
    if err:
        causes.append(("metadata.name", "FieldValueInvalid", "Invalid value: %s: %s" % (go_value(name), err)))
    for k, v in (md.get("labels") or {}).items():
        if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
            causes.append(("metadata.labels", "FieldValueInvalid", "Invalid value: %s: a valid label must be an "
                           "empty string or consist of alphanumeric characters, '-', '_' or '.'" % go_value(v)))
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if rt.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        sel = spec.get("selector")
        if not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
            causes.append(("spec.selector", "FieldValueRequired", "Required value"))
        else:
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if not selector_from_label_selector(sel).matches(labels):
                causes.append(("spec.template.metadata.labels", "FieldValueInvalid",
                               "Invalid value: %s: `selector` does not match template `labels`" % go_value(labels)))
            if old is not None and old.get("spec", {}).get("selector") != sel:
                causes.append(("spec.selector", "FieldValueInvalid",
                               "Invalid value: v1.LabelSelector{MatchLabels:%s, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
                               % go_value(sel.get("matchLabels") or {})))
        _validate_template(rt, name, spec, causes)
        r = spec.get("replicas")
        if r is not None and (not isinstance(r, int) or isinstance(r, bool) or r < 0):
            causes.append(("spec.replicas", "FieldValueInvalid",
                           "Invalid value: %s: must be greater than or equal to 0" % go_value(r)))
        if rt.kind == "Deployment":
            st = spec.get("strategy") or {}
            if st.get("type") not in ("RollingUpdate", "Recreate"):
                causes.append(("spec.strategy.type", "FieldValueNotSupported",
                               'Unsupported value: %s: supported values: "Recreate", "RollingUpdate"' % go_value(st.get("type"))))
            elif st.get("type") == "RollingUpdate":
                ru = st.get("rollingUpdate") or {}
                if int_or_percent(ru.get("maxSurge"), 100, True) == 0 and int_or_percent(ru.get("maxUnavailable"), 100, False) == 0:
                    causes.append(("spec.strategy.rollingUpdate.maxUnavailable", "FieldValueInvalid",
                                   "Invalid value: 0: may not be 0 when `maxSurge` is 0"))
        if rt.kind == "StatefulSet" and old is not None:
            for f in ("serviceName", "podManagementPolicy", "volumeClaimTemplates"):
                if old.get("spec", {}).get(f) != spec.get(f):
                    causes.append(("spec", "FieldValueForbidden", "Forbidden: updates to statefulset spec for fields "
                                   "other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
                                   "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
                    break
    elif rt.kind == "Pod":
        cs = spec.get("containers")
        if not cs:
            causes.append(("spec.containers", "FieldValueRequired", "Required value"))
        if old is not None:
            o, n = copy.deepcopy(old.get("spec") or {}), copy.deepcopy(spec)
            for s in (o, n):
                for c in s.get("containers") or []:
                    if isinstance(c, dict):
                        c.pop("image", None)
                s.pop("activeDeadlineSeconds", None)
                s.pop("tolerations", None)
            if o != n:
                causes.append(("spec", "FieldValueForbidden", "Forbidden: pod updates may not change fields other "
                               "than `spec.containers[*].image`,`spec.initContainers[*].image`,"
                               "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
                               "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it "
                               "was previously negative)"))
    elif rt.kind == "Service":
        if old is not None:
            oc = old.get("spec", {}).get("clusterIP")
            if spec.get("clusterIP") not in (None, "", oc):
                causes.append(("spec.clusterIPs[0]", "FieldValueInvalid",
                               "Invalid value: []string{%s}: may not change once set" % go_value(spec.get("clusterIP"))))
        ports = spec.get("ports") or []
        if spec.get("type", "ClusterIP") != "ExternalName" and not ports:
            causes.append(("spec.ports", "FieldValueRequired", "Required value"))
        for i, p in enumerate(ports):
            port = p.get("port") if isinstance(p, dict) else None
            if not isinstance(port, int) or not 0 < port < 65536:
                causes.append(("spec.ports[%d].port" % i, "FieldValueInvalid",
                               "Invalid value: %s: must be between 1 and 65535, inclusive" % go_value(port)))
    elif rt.kind == "Secret":
        import base64
        for k, v in (obj.get("data") or {}).items():
            try:
                base64.b64decode(v, validate=True)
            except Exception:
                raise bad_request("illegal base64 data at input byte 0") from None
        if obj.get("type") == "kubernetes.io/tls":
            for k in ("tls.crt", "tls.key"):
                if k not in (obj.get("data") or {}):
                    causes.append(("data[%s]" % k, "FieldValueRequired", "Required value"))
        if old is not None and old.get("type") != obj.get("type"):
            causes.append(("type", "FieldValueInvalid", "Invalid value: %s: field is immutable" % go_value(obj.get("type"))))
        if old is not None and old.get("immutable") and (old.get("data") != obj.get("data")):
            causes.append(("data", "FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set"))
    elif rt.kind == "HorizontalPodAutoscaler":
        ref = spec.get("scaleTargetRef") or {}
        if not ref.get("kind") or not ref.get("name"):
            causes.append(("spec.scaleTargetRef.name", "FieldValueRequired", "Required value"))
        mx = spec.get("maxReplicas")
        if not isinstance(mx, int) or mx < 1:
            causes.append(("spec.maxReplicas", "FieldValueInvalid", "Invalid value: %s: must be greater than 0" % go_value(mx)))
        elif isinstance(spec.get("minReplicas"), int) and spec["minReplicas"] > mx:
            causes.append(("spec.maxReplicas", "FieldValueInvalid",
                           "Invalid value: %d: must be greater than or equal to `minReplicas`" % mx))
    elif rt.kind in ("Role", "ClusterRole"):
        for i, rule in enumerate(obj.get("rules") or []):
            _validate_rule(rule if isinstance(rule, dict) else {}, rt.namespaced, "rules[%d]" % i, causes)
    elif rt.kind in ("RoleBinding", "ClusterRoleBinding"):
        _validate_binding(rt, obj, old, causes)
    elif rt.kind == "Certificate":
        if not spec.get("secretName"):
            causes.append(("spec.secretName", "FieldValueRequired", "Required value"))
        from controllers import Sim
        dur = Sim._go_duration(spec.get("duration"), 90 * 86400)
        rb = Sim._go_duration(spec.get("renewBefore"), dur / 3)
        if rb >= dur:
            causes.append(("spec.renewBefore", "FieldValueInvalid", "Invalid value: %s: certificate duration %s must be "
                           "greater than renewBefore %s" % (go_value(spec.get("renewBefore")), spec.get("duration") or "2160h0m0s",
                                                            spec.get("renewBefore"))))
        if not (spec.get("issuerRef") or {}).get("name"):
            causes.append(("spec.issuerRef.name", "FieldValueRequired", "Required value"))
    if causes:
        raise invalid(rt, name, causes)


# ---------------------------------------------------------------- tables (kubectl get, server-side printing)

def _age(obj, now):
    ts = parse_ts((obj.get("metadata") or {}).get("creationTimestamp"))
    return human_duration(now - ts) if ts else "<unknown>"


def _since(ts_str, now):
    ts = parse_ts(ts_str)
    return human_duration(now - ts) if ts else "<unknown>"


def _sel_str(ls):
    if not ls:
        return "<none>"
    s = str(selector_from_label_selector(ls))
    return s or "<none>"


def _containers(o):
    cs = ((((o.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def pod_status_reason(p):
    st = p.get("status") or {}
    if (p.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    reason = st.get("reason") or st.get("phase") or "Unknown"
    for cs in st.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    return reason


def _pod_row(p, now):
    st = p.get("status") or {}
    css = st.get("containerStatuses") or []
    total = len((p.get("spec") or {}).get("containers") or [])
    ready = sum(1 for c in css if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in css)
    rstr = str(restarts)
    last = [c.get("lastState", {}).get("terminated", {}).get("finishedAt") for c in css]
    last = [x for x in last if x]
    if restarts and last:
        rstr = "%d (%s ago)" % (restarts, _since(max(last), now))
    return ["%d/%d" % (ready, total), pod_status_reason(p), rstr, _age(p, now), st.get("podIP") or "<none>",
            (p.get("spec") or {}).get("nodeName") or "<none>", "<none>", "<none>"]


def _svc_ports(s):
    out = []
    for p in (s.get("spec") or {}).get("ports") or []:
        x = "%s/%s" % (p.get("port"), p.get("protocol", "TCP"))
        if p.get("nodePort"):
            x = "%s:%s/%s" % (p.get("port"), p.get("nodePort"), p.get("protocol", "TCP"))
        out.append(x)
    return ",".join(out) or "<none>"


def _hpa_targets(h):
    out = []
    cur = {m.get("resource", {}).get("name"): m for m in (h.get("status") or {}).get("currentMetrics") or []}
    for m in (h.get("spec") or {}).get("metrics") or []:
        if m.get("type") != "Resource":
            continue
        rn = m["resource"].get("name")
        tgt = m["resource"].get("target", {}).get("averageUtilization")
        c = cur.get(rn, {}).get("resource", {}).get("current", {}).get("averageUtilization")
        out.append("%s: %s/%s%%" % (rn, ("%d%%" % c) if c is not None else "<unknown>", tgt))
    return ", ".join(out) or "<none>"


def _cond(o, t):
    for c in (o.get("status") or {}).get("conditions") or []:
        if c.get("type") == t:
            return c
    return {}


def _binding_row(o, now):
    ref = o.get("roleRef") or {}
    subs = o.get("subjects") or []

    def names(kind):
        return ", ".join((s.get("namespace", "") + "/" if kind == "ServiceAccount" else "") + s.get("name", "")
                         for s in subs if s.get("kind") == kind)
    return ["%s/%s" % (ref.get("kind"), ref.get("name")), _age(o, now), names("User"), names("Group"),
            names("ServiceAccount")]


def _col(name, typ="string", priority=0, fmt="", desc=""):
    return {"name": name, "type": typ, "format": fmt, "description": desc or name, "priority": priority}


NAME = _col("Name", fmt="name", desc="Name must be unique within a namespace.")
AGE = _col("Age", desc="CreationTimestamp is a timestamp representing the server time when this object was created.")

TABLES = {
    "Pod": ([NAME, _col("Ready"), _col("Status"), _col("Restarts"), AGE, _col("IP", priority=1),
             _col("Node", priority=1), _col("Nominated Node", priority=1), _col("Readiness Gates", priority=1)],
            _pod_row),
    "Deployment": ([NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE,
                    _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)],
                   lambda o, now: ["%d/%d" % ((o.get("status") or {}).get("readyReplicas", 0), o["spec"].get("replicas", 0)),
                                   (o.get("status") or {}).get("updatedReplicas", 0),
                                   (o.get("status") or {}).get("availableReplicas", 0), _age(o, now),
                                   *_containers(o), _sel_str(o["spec"].get("selector"))]),
    "ReplicaSet": ([NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"), AGE,
                    _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)],
                   lambda o, now: [o["spec"].get("replicas", 0), (o.get("status") or {}).get("replicas", 0),
                                   (o.get("status") or {}).get("readyReplicas", 0), _age(o, now), *_containers(o),
                                   _sel_str(o["spec"].get("selector"))]),
    "StatefulSet": ([NAME, _col("Ready"), AGE, _col("Containers", priority=1), _col("Images", priority=1)],
                    lambda o, now: ["%d/%d" % ((o.get("status") or {}).get("readyReplicas", 0), o["spec"].get("replicas", 0)),
                                    _age(o, now), *_containers(o)]),
    "DaemonSet": ([NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"),
                   _col("Up-to-date", "integer"), _col("Available", "integer"), _col("Node Selector"), AGE,
                   _col("Containers", priority=1), _col("Images", priority=1), _col("Selector", priority=1)],
                  lambda o, now: [(o.get("status") or {}).get(k, 0) for k in (
                      "desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled",
                      "numberAvailable")] + [",".join("%s=%s" % kv for kv in ((o["spec"].get("template", {}).get("spec") or {}).get("nodeSelector") or {}).items()) or "<none>",
                                             _age(o, now), *_containers(o), _sel_str(o["spec"].get("selector"))]),
    "Service": ([NAME, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), AGE,
                 _col("Selector", priority=1)],
                lambda o, now: [o["spec"].get("type"), o["spec"].get("clusterIP") or "<none>",
                                ",".join(o["spec"].get("externalIPs") or []) or "<none>", _svc_ports(o), _age(o, now),
                                ",".join("%s=%s" % kv for kv in sorted((o["spec"].get("selector") or {}).items())) or "<none>"]),
    "Endpoints": ([NAME, _col("Endpoints"), AGE],
                  lambda o, now: [",".join("%s:%s" % (a.get("ip"), (s.get("ports") or [{}])[0].get("port", ""))
                                           for s in o.get("subsets") or [] for a in s.get("addresses") or []) or "<none>",
                                  _age(o, now)]),
    "Secret": ([NAME, _col("Type"), _col("Data", "integer"), AGE],
               lambda o, now: [o.get("type"), len(o.get("data") or {}), _age(o, now)]),
    "ConfigMap": ([NAME, _col("Data", "integer"), AGE], lambda o, now: [len(o.get("data") or {}) + len(o.get("binaryData") or {}), _age(o, now)]),
    "ServiceAccount": ([NAME, _col("Secrets", "integer"), AGE], lambda o, now: [len(o.get("secrets") or []), _age(o, now)]),
    "Namespace": ([NAME, _col("Status"), AGE], lambda o, now: [(o.get("status") or {}).get("phase", "Active"), _age(o, now)]),
    "Node": ([NAME, _col("Status"), _col("Roles"), AGE, _col("Version")],
             lambda o, now: ["Ready", "<none>", _age(o, now), o.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")]),
    "Event": ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
              lambda o, now: [_since(o.get("lastTimestamp") or o.get("eventTime"), now), o.get("type"), o.get("reason"),
                              "%s/%s" % (o.get("involvedObject", {}).get("kind", "").lower(), o.get("involvedObject", {}).get("name")),
                              o.get("message")]),
    "ControllerRevision": ([NAME, _col("Controller"), _col("Revision", "integer"), AGE],
                           lambda o, now: ["%s/%s" % ((o["metadata"].get("ownerReferences") or [{}])[0].get("kind", "").lower() + ".apps",
                                                      (o["metadata"].get("ownerReferences") or [{}])[0].get("name", "")),
                                           o.get("revision"), _age(o, now)]),
    "HorizontalPodAutoscaler": ([NAME, _col("Reference"), _col("Targets"), _col("MinPods", "integer"),
                                 _col("MaxPods", "integer"), _col("Replicas", "integer"), AGE],
                                lambda o, now: ["%s/%s" % (o["spec"].get("scaleTargetRef", {}).get("kind"), o["spec"].get("scaleTargetRef", {}).get("name")),
                                                _hpa_targets(o), o["spec"].get("minReplicas", 1), o["spec"].get("maxReplicas"),
                                                (o.get("status") or {}).get("currentReplicas", 0), _age(o, now)]),
    "Role": ([NAME, _col("Created At", "date")], lambda o, now: [o["metadata"].get("creationTimestamp")]),
    "ClusterRole": ([NAME, _col("Created At", "date")], lambda o, now: [o["metadata"].get("creationTimestamp")]),
    "RoleBinding": ([NAME, _col("Role"), AGE, _col("Users", priority=1), _col("Groups", priority=1),
                     _col("ServiceAccounts", priority=1)], lambda o, now: _binding_row(o, now)),
    "ClusterRoleBinding": ([NAME, _col("Role"), AGE, _col("Users", priority=1), _col("Groups", priority=1),
                            _col("ServiceAccounts", priority=1)], lambda o, now: _binding_row(o, now)),
    "Certificate": ([NAME, _col("Ready"), _col("Secret"), AGE],
                    lambda o, now: [_cond(o, "Ready").get("status", ""), o["spec"].get("secretName"), _age(o, now)]),
}


def table(rt, items, list_meta, include_object, api_version_of_items):
    cols, rowf = TABLES.get(rt.kind, ([NAME, AGE], lambda o, now: [_age(o, now)]))
    now = time.time()
    rows = []
    for o in items:
        try:
            cells = [o["metadata"]["name"]] + list(rowf(o, now)) if cols[0] is NAME else list(rowf(o, now))
        except Exception:  # never fail a listing over a malformed object
            cells = [o["metadata"].get("name")] + ["<error>"] * (len(cols) - 1)
        row = {"cells": cells}
        if include_object == "Object":
            full = {"kind": rt.kind, "apiVersion": api_version_of_items}
            full.update(o)
            row["object"] = full
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "columnDefinitions": cols,
            "rows": rows}


def check_kind(rt, obj):
    """The body's apiVersion/kind must be the endpoint's (or empty)."""
    if not isinstance(obj, dict):
        raise bad_request("the object provided is unrecognized (must be of type %s)" % rt.kind)
    kind, av = obj.get("kind"), obj.get("apiVersion")
    if kind and kind != rt.kind:
        raise bad_request("%s in version \"%s\" cannot be handled as a %s: the object provided is unrecognized "
                          "(must be of type %s)" % (kind, rt.version, rt.kind, rt.kind))
    if av and av != rt.api_version:
        raise bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                          % (av, rt.api_version))
    if not isinstance(obj.get("metadata", {}), dict):
        raise bad_request("%s in version \"%s\" cannot be handled as a %s: json: cannot unmarshal into "
                          "Go struct field .metadata of type v1.ObjectMeta" % (rt.kind, rt.version, rt.kind))


def forbidden_error(user, a, reason=""):
    """403 as the apiserver answers a request its authorizer did not allow (a: rbac.Attributes)."""
    res = a.resource + ("/" + a.subresource if a.subresource else "")
    msg = 'User "%s" cannot %s resource "%s" in API group "%s"' % (user, a.verb, res, a.group)
    msg += ' in the namespace "%s"' % a.namespace if a.namespace else " at the cluster scope"
    if reason:
        msg += ": " + reason
    qualified = a.resource + ("." + a.group if a.group else "")   # without the subresource, as upstream
    target = '%s "%s"' % (qualified, a.name) if a.name else qualified
    return ApiError(403, "Forbidden", "%s is forbidden: %s" % (target, msg),
                    {"name": a.name, "group": a.group, "kind": a.resource} if a.name else
                    {"group": a.group, "kind": a.resource})
