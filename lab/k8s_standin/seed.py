"""Objects the stand-in starts with: system namespaces and nodes, and (with --seed) the clickview namespace and
the RBAC objects of extensions/kubernetes/rbac.yaml."""
import json

import resources as R
from api import Request
from controllers import NODES
from rbac import ALL

ADMIN = {"name": "system:seed", "rules": [ALL], "grants": "all verbs", "groups": ["system:masters"]}
REGISTRY = "registry.clickview.lab"


def call(api, method, path, body=None, ctype="application/json"):
    req = Request(method, path, {}, {"Content-Type": ctype}, json.dumps(body).encode() if body is not None else b"", ADMIN)
    return api.handle(req)


def system(api, store):
    from controllers import T_NODE
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        call(api, "POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    with store.lock:
        for i, n in enumerate(NODES):
            store.create(T_NODE, {
                "metadata": {"name": n, "labels": {"kubernetes.io/hostname": n, "kubernetes.io/os": "linux",
                                                   "kubernetes.io/arch": "amd64"}},
                "spec": {"podCIDR": "10.244.%d.0/24" % i},
                "status": {"capacity": {"cpu": "4", "memory": "16374376Ki", "pods": "110"},
                           "allocatable": {"cpu": "4", "memory": "16271976Ki", "pods": "110"},
                           "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                           "message": "kubelet is posting ready status"}],
                           "addresses": [{"type": "InternalIP", "address": "192.168.50.%d" % (i + 11)},
                                         {"type": "Hostname", "address": n}],
                           "nodeInfo": {"kubeletVersion": "v1.33.0", "containerRuntimeVersion": "containerd://1.7.27",
                                        "osImage": "Kubernetes API stand-in (simulated node)", "operatingSystem": "linux",
                                        "architecture": "amd64"}}})
    call(api, "POST", "/api/v1/namespaces/default/services", {
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}})


def _container(name, image, port, cpu="100m", mem="128Mi", cpu_l="500m", mem_l="256Mi", env=None):
    c = {"name": name, "image": image, "ports": [{"name": "http", "containerPort": port}],
         "resources": {"requests": {"cpu": cpu, "memory": mem}, "limits": {"cpu": cpu_l, "memory": mem_l}},
         "readinessProbe": {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 5}}
    if env:
        c["env"] = env
    return c


def deployment(name, tier, image, replicas, port=8080, cause=None):
    labels = {"app": name, "tier": tier}
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": name, "labels": dict(labels, **{"app.kubernetes.io/part-of": "clickview"})},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                  "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [_container(name.split("-", 1)[1], image, port, env=[
                                   {"name": "DATABASE_HOST", "value": "postgres"},
                                   {"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {
                                       "name": "clickview-db-credentials", "key": "password"}}}])]}}}}
    if cause:
        d["metadata"]["annotations"] = {"kubernetes.io/change-cause": cause}
    return d


def set_image(api, sim, ns, name, container, image, cause):
    call(api, "PATCH", "/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name), {
        "metadata": {"annotations": {"kubernetes.io/change-cause": cause}},
        "spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}},
        "application/strategic-merge-patch+json")
    sim.settle(step=2.0)


def clickview(api, sim):
    ns = "clickview"
    call(api, "POST", "/api/v1/namespaces", {"metadata": {"name": ns, "labels": {"app.kubernetes.io/part-of": "clickview"}}})
    call(api, "POST", "/api/v1/namespaces/%s/secrets" % ns, {
        "metadata": {"name": "clickview-db-credentials"}, "type": "Opaque",
        "stringData": {"username": "clickview_app", "password": "lab-app-password"}})
    call(api, "POST", "/api/v1/namespaces/%s/configmaps" % ns, {
        "metadata": {"name": "clickview-config"}, "data": {"LOG_LEVEL": "info", "FEATURE_SEARCH_V2": "false"}})
    # backend: four revisions of history, the current one healthy
    releases = ["1.2.0", "1.3.0", "1.3.1", "1.4.0"]
    call(api, "POST", "/apis/apps/v1/namespaces/%s/deployments" % ns,
         deployment("clickview-backend", "backend", "%s/clickview-backend:%s" % (REGISTRY, releases[0]), 3,
                    cause="release %s" % releases[0]))
    sim.settle(step=2.0)
    for r in releases[1:]:
        set_image(api, sim, ns, "clickview-backend", "backend", "%s/clickview-backend:%s" % (REGISTRY, r), "release %s" % r)
    call(api, "POST", "/apis/apps/v1/namespaces/%s/deployments" % ns,
         deployment("clickview-frontend", "frontend", "%s/clickview-frontend:2.0.3" % REGISTRY, 2, port=3000,
                    cause="release 2.0.3"))
    sim.settle(step=2.0)
    set_image(api, sim, ns, "clickview-frontend", "frontend", "%s/clickview-frontend:2.1.0" % REGISTRY, "release 2.1.0")
    for name, port, sel in (("clickview-backend", 8080, "clickview-backend"), ("clickview-frontend", 80, "clickview-frontend")):
        call(api, "POST", "/api/v1/namespaces/%s/services" % ns, {
            "metadata": {"name": name, "labels": {"app": sel}},
            "spec": {"selector": {"app": sel}, "ports": [{"name": "http", "port": port, "targetPort": "http"}]}})
    call(api, "POST", "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers" % ns, {
        "metadata": {"name": "clickview-backend"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "clickview-backend"},
                 "minReplicas": 3, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 70}}}]}})
    # postgres StatefulSet (two revisions) with its headless service
    call(api, "POST", "/api/v1/namespaces/%s/services" % ns, {
        "metadata": {"name": "postgres", "labels": {"app": "postgres"}},
        "spec": {"clusterIP": "None", "selector": {"app": "postgres"}, "ports": [{"name": "pg", "port": 5432}]}})
    sts = {"metadata": {"name": "postgres", "labels": {"app": "postgres"}},
           "spec": {"replicas": 1, "serviceName": "postgres", "selector": {"matchLabels": {"app": "postgres"}},
                    "template": {"metadata": {"labels": {"app": "postgres"}},
                                 "spec": {"containers": [_container("postgres", "docker.io/library/postgres:15.5", 5432,
                                                                    cpu="250m", mem="512Mi", cpu_l="1", mem_l="1Gi")]}}}}
    call(api, "POST", "/apis/apps/v1/namespaces/%s/statefulsets" % ns, sts)
    sim.settle(step=2.0)
    call(api, "PATCH", "/apis/apps/v1/namespaces/%s/statefulsets/postgres" % ns, {
        "spec": {"template": {"spec": {"containers": [{"name": "postgres", "image": "docker.io/library/postgres:15.6"}]}}}},
        "application/strategic-merge-patch+json")
    sim.settle(step=2.0)
    # a log shipper DaemonSet
    call(api, "POST", "/apis/apps/v1/namespaces/%s/daemonsets" % ns, {
        "metadata": {"name": "clickview-log-shipper", "labels": {"app": "clickview-log-shipper"}},
        "spec": {"selector": {"matchLabels": {"app": "clickview-log-shipper"}},
                 "template": {"metadata": {"labels": {"app": "clickview-log-shipper"}},
                              "spec": {"containers": [_container("shipper", "docker.io/fluent/fluent-bit:3.0.4", 2020,
                                                                 cpu="50m", mem="64Mi", cpu_l="200m", mem_l="128Mi")]}}}})
    # cert-manager: its controller's pods (the SSL alert checks they run), an issuer and the site certificate
    call(api, "POST", "/api/v1/namespaces", {"metadata": {"name": "cert-manager"}})
    call(api, "POST", "/apis/apps/v1/namespaces/cert-manager/deployments", {
        "metadata": {"name": "cert-manager", "labels": {"app": "cert-manager"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "cert-manager"}},
                 "template": {"metadata": {"labels": {"app": "cert-manager"}},
                              "spec": {"containers": [_container("controller", "quay.io/jetstack/cert-manager-controller:v1.15.3",
                                                                 9402, cpu="10m", mem="32Mi", cpu_l="100m", mem_l="128Mi")]}}}})
    call(api, "POST", "/apis/cert-manager.io/v1/clusterissuers", {
        "apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "clickview-lab-ca"},
        "spec": {"ca": {"secretName": "clickview-lab-ca"}}})
    call(api, "POST", "/apis/cert-manager.io/v1/namespaces/%s/certificates" % ns, {
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "clickview-tls"},
        "spec": {"secretName": "clickview-tls", "commonName": "clickview.lab",
                 "dnsNames": ["clickview.lab", "www.clickview.lab", "api.clickview.lab"],
                 "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "clickview-lab-ca"},
                 "duration": "2160h0m0s", "renewBefore": "360h0m0s"}})
    sim.settle(step=2.0)


def rbac(api, store, path):
    """Create the objects of an RBAC manifest (extensions/kubernetes/rbac.yaml) that do not exist yet, at every
    start with --seed (a state saved before the file existed gets them too; existing objects are left as they
    are). Objects in a namespace that does not exist are skipped, as `kubectl apply` would fail them.
    -> ["<namespace>/<kind>/<name>", ...] skipped"""
    import yaml  # noqa: E402 (only with --seed)
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    docs = [item for d in docs for item in (d.get("items") or [] if d.get("kind") == "List" else [d])]
    skipped = []
    for d in docs:
        group, _sep, version = d["apiVersion"].rpartition("/")
        rt = R.BY_KIND[(group, d["kind"])]
        md = d["metadata"]
        ns = md.get("namespace") if rt.namespaced else None
        if ns and store.get(R.rtype("", "namespaces"), "", ns) is None:
            skipped.append("%s/%s/%s" % (ns, d["kind"], md["name"]))
            continue
        if store.get(rt, ns, md["name"]) is None:
            prefix = "/apis/%s/%s" % (rt.group, version) if rt.group else "/api/%s" % version
            path_ = "%s/namespaces/%s/%s" % (prefix, ns, rt.plural) if ns else "%s/%s" % (prefix, rt.plural)
            code, body = call(api, "POST", path_, d)
            if code >= 300:
                raise RuntimeError("%s %s: %s" % (d["kind"], md["name"], body))
    return skipped
