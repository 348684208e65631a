"""RBAC in the stand-in: the operator user (clickview-lab-operator) has only what Role/ClusterRole bindings give it,
denials carry the apiserver's 403 message, `kubectl auth can-i` agrees with the enforcement, and the stand-in
grants exactly what extensions/kubernetes/rbac.yaml says."""
import http.client
import json
import os
import stat
import subprocess
import sys
import uuid

import yaml

from conftest import REPO, deployment

OP = "clickview-lab-operator"
OP_CTX = "clickview-lab-operator"
RBAC_YAML = os.path.join(REPO, "extensions", "kubernetes", "rbac.yaml")
GROUP = "rbac.authorization.k8s.io"
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]


def op(kubectl, *args, check=True, ns="clickview"):
    return kubectl("-n", ns, *args, context=OP_CTX, check=check)


def denied(kubectl, *args, ns="clickview"):
    p = op(kubectl, *args, check=False, ns=ns)
    assert p.returncode == 1 and "Error from server (Forbidden): " in p.stderr, (args, p.stdout, p.stderr)
    return p.stderr.strip().split("Error from server (Forbidden): ", 1)[1]


def can_i(kubectl, *args, ns="clickview", context=OP_CTX):
    p = kubectl("-n", ns, "auth", "can-i", *args, context=context, check=False)
    assert p.stdout.strip() in ("yes", "no"), (args, p.stdout, p.stderr)
    assert p.returncode == (0 if p.stdout.strip() == "yes" else 1)
    return p.stdout.strip() == "yes"


def msg(verb, resource, ns, name="", group="", user=OP, sub=""):
    """The apiserver's RBAC denial message."""
    target = resource + ("." + group if group else "") + (' "%s"' % name if name else "")
    where = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
    return '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
        target, user, verb, resource + ("/" + sub if sub else ""), group, where)


class Reviews:
    """SelfSubjectAccessReviews as one user, on one kept-alive connection."""

    def __init__(self, standin, token):
        port = int(standin.url.rsplit(":", 1)[1])
        self.c = http.client.HTTPSConnection("127.0.0.1", port, context=standin.ctx, timeout=20)
        self.token = token

    def review(self, verb, resource, group="", ns="clickview", name="", sub=""):
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource,
                                                "subresource": sub, "namespace": ns, "name": name}}}
        self.c.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=json.dumps(body),
                       headers={"Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
        r = self.c.getresponse()
        out = json.loads(r.read())
        assert r.status == 201, out
        return out["status"]

    def allowed(self, *args, **kw):
        return self.review(*args, **kw)["allowed"]


# ---------------------------------------------------------------- the operator user

def test_operator_token_user_and_context(standin):
    with open(os.path.join(standin.state_dir, "tokens.json")) as f:
        tokens = json.load(f)
    assert set(tokens) == {"admin", "readonly", "operator"} and tokens["operator"] == standin.operator_token
    assert stat.S_IMODE(os.stat(os.path.join(standin.state_dir, "tokens.json")).st_mode) == 0o600
    with open(standin.kubeconfig) as f:
        cfg = yaml.safe_load(f)
    ctx = {c["name"]: c["context"] for c in cfg["contexts"]}
    assert list(ctx) == ["clickview-lab", "clickview-lab-readonly", OP_CTX]
    assert ctx[OP_CTX] == {"cluster": "clickview-lab-standin", "user": OP, "namespace": "clickview"}
    assert cfg["current-context"] == "clickview-lab"


def test_operator_allowed_verbs(kubectl):
    assert "clickview-backend" in op(kubectl, "get", "deploy").stdout
    pods = json.loads(op(kubectl, "get", "pods", "-l", "app=clickview-backend", "-o", "json").stdout)["items"]
    assert pods
    assert "level=" in op(kubectl, "logs", pods[0]["metadata"]["name"], "--tail=3").stdout
    assert "clickview-backend" in op(kubectl, "top", "pods").stdout
    op(kubectl, "get", "hpa", "clickview-backend")
    op(kubectl, "get", "svc", "clickview-backend")
    op(kubectl, "get", "endpoints", "clickview-backend")
    op(kubectl, "get", "certificates")
    op(kubectl, "get", "secret", "clickview-tls")
    op(kubectl, "get", "events")
    # writes: the server-side dry run is authorized like the real request and changes nothing
    op(kubectl, "annotate", "deploy/clickview-frontend", "runbook.clickview.app/probe=1", "--dry-run=server")
    op(kubectl, "scale", "deploy/clickview-frontend", "--replicas=2", "--dry-run=server")
    op(kubectl, "patch", "svc", "clickview-frontend", "--type=merge", "-p", '{"metadata":{"annotations":{"a":"b"}}}',
       "--dry-run=server")
    op(kubectl, "patch", "hpa", "clickview-backend", "--type=merge", "-p", '{"spec":{"maxReplicas":10}}',
       "--dry-run=server")
    op(kubectl, "delete", "secret", "clickview-tls", "--dry-run=server")
    op(kubectl, "create", "deployment", "clickview-frontend-canary", "--image=registry.clickview.lab/web:1.0",
       "--dry-run=server")


def test_operator_denials_have_the_apiserver_message(kubectl, standin, ns, k8s):
    from kubernetes import client
    client.CoreV1Api(k8s).create_namespaced_secret(ns, {"metadata": {"name": "other"}, "stringData": {"a": "b"}})
    assert denied(kubectl, "delete", "deploy", "clickview-backend") == msg(
        "delete", "deployments", "clickview", "clickview-backend", "apps")
    assert denied(kubectl, "get", "secret", "other", ns=ns) == msg("get", "secrets", ns, "other")
    assert denied(kubectl, "get", "secret", "clickview-payment-keys") == msg(
        "get", "secrets", "clickview", "clickview-payment-keys")
    assert denied(kubectl, "get", "secrets") == msg("list", "secrets", "clickview")
    assert denied(kubectl, "create", "namespace", "t-op-" + uuid.uuid4().hex[:6]) == msg("create", "namespaces", "")
    assert denied(kubectl, "get", "namespace", "clickview") == msg("get", "namespaces", "clickview", "clickview")
    assert denied(kubectl, "get", "node", "standin-node-1") == msg("get", "nodes", "", "standin-node-1")
    assert denied(kubectl, "get", "pods", ns="kube-system") == msg("list", "pods", "kube-system")
    assert denied(kubectl, "get", "configmap", "clickview-config") == msg(
        "get", "configmaps", "clickview", "clickview-config")
    # a subresource is named in the message, not in the qualified resource (kubectl patch reads it first)
    assert denied(kubectl, "patch", "deploy", "clickview-backend", "--subresource=status", "--type=merge",
                  "-p", '{"status":{}}') == msg("get", "deployments", "clickview", "clickview-backend", "apps",
                                                sub="status")
    # the 403 Status object, as the apiserver sends it
    code, body = standin.raw("GET", "/apis/apps/v1/namespaces/clickview/deployments?watch=true", token="operator")
    assert code == 403 and body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": msg("watch", "deployments", "clickview", group="apps"),
        "details": {"group": "apps", "kind": "deployments"}}
    code, body = standin.raw("DELETE", "/apis/apps/v1/namespaces/clickview/deployments/clickview-backend",
                             token="operator")
    assert code == 403 and body["details"] == {"name": "clickview-backend", "group": "apps", "kind": "deployments"}
    code, body = standin.raw("GET", "/api/v1/namespaces/%s/pods/x/log" % ns, token="operator")
    assert code == 403 and body["message"] == msg("get", "pods", ns, "x", sub="log")
    # nothing changed
    assert kubectl("-n", "clickview", "get", "deploy", "clickview-backend", check=False).returncode == 0


def test_can_i_agrees_with_enforcement(kubectl):
    cases = [  # (can-i args, the real request (a read, or a server-side dry run), namespace)
        (["get", "deployments.apps"], ["get", "deploy"], "clickview"),
        (["list", "pods"], ["get", "pods"], "clickview"),
        (["list", "pods"], ["get", "pods"], "default"),
        (["get", "secrets/clickview-tls"], ["get", "secret", "clickview-tls"], "clickview"),
        (["get", "secrets/clickview-payment-keys"], ["get", "secret", "clickview-payment-keys"], "clickview"),
        (["delete", "deployments.apps/clickview-backend"],
         ["delete", "deploy", "clickview-backend", "--dry-run=server"], "clickview"),
        (["patch", "deployments.apps", "--subresource=scale"],
         ["scale", "deploy/clickview-frontend", "--replicas=2", "--dry-run=server"], "clickview"),
        (["patch", "services"], ["label", "svc/clickview-frontend", "x=y", "--dry-run=server"], "clickview"),
        (["create", "namespaces"], ["create", "namespace", "t-nope", "--dry-run=server"], "clickview"),
        (["list", "configmaps"], ["get", "configmaps"], "clickview"),
    ]
    answers = []
    for can_args, request, ns in cases:
        yes = can_i(kubectl, *can_args, ns=ns)
        p = op(kubectl, *request, check=False, ns=ns)
        assert (p.returncode == 0) == yes, (can_args, yes, p.stderr)
        assert yes or "Forbidden" in p.stderr
        answers.append(yes)
    assert answers == [True, True, False, True, False, False, True, True, False, False]


def test_access_review_reasons(standin):
    r = Reviews(standin, standin.operator_token)
    assert r.review("list", "pods") == {"allowed": True, "reason": (
        'RBAC: allowed by RoleBinding "clickview-runbook-investigate/clickview" of Role "clickview-runbook-investigate"'
        ' to User "%s"' % OP)}
    assert r.review("delete", "pods") == {"allowed": False}
    assert r.review("create", "selfsubjectaccessreviews", "authorization.k8s.io", ns="")["allowed"] is True


# ---------------------------------------------------------------- RBAC objects applied at runtime

def _apply(kubectl, *docs):
    kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def test_runtime_role_and_binding_take_effect(kubectl, standin):
    role = {"apiVersion": GROUP + "/v1", "kind": "Role", "metadata": {"name": "t-config-reader", "namespace": "clickview"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}
    binding = {"apiVersion": GROUP + "/v1", "kind": "RoleBinding",
               "metadata": {"name": "t-config-reader", "namespace": "clickview"},
               "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "t-config-reader"},
               "subjects": [{"kind": "User", "name": OP}]}
    assert not can_i(kubectl, "get", "configmaps/clickview-config")
    _apply(kubectl, role, binding)
    try:
        assert can_i(kubectl, "get", "configmaps/clickview-config")
        out = json.loads(op(kubectl, "get", "configmap", "clickview-config", "-o", "json").stdout)
        assert out["data"]["LOG_LEVEL"] == "info"
        assert denied(kubectl, "get", "configmaps") == msg("list", "configmaps", "clickview")   # get only
        b = json.loads(kubectl("-n", "clickview", "get", "rolebinding", "t-config-reader", "-o", "json").stdout)
        assert b["subjects"] == [{"apiGroup": GROUP, "kind": "User", "name": OP}]   # defaulted apiGroup
        kubectl("-n", "clickview", "delete", "rolebinding", "t-config-reader")
        assert denied(kubectl, "get", "configmap", "clickview-config") == msg(
            "get", "configmaps", "clickview", "clickview-config")
        assert not can_i(kubectl, "get", "configmaps/clickview-config")
    finally:
        kubectl("-n", "clickview", "delete", "role,rolebinding", "t-config-reader", "--ignore-not-found")


def test_rolebinding_to_clusterrole_is_namespaced_and_groups_match(kubectl, ns):
    name = "t-cm-" + ns
    _apply(kubectl, {"apiVersion": GROUP + "/v1", "kind": "ClusterRole", "metadata": {"name": name},
                     "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]},
           {"apiVersion": GROUP + "/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": ns},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": "system:authenticated"}]})
    try:
        op(kubectl, "get", "configmaps", ns=ns)
        assert denied(kubectl, "get", "configmaps") == msg("list", "configmaps", "clickview")
        _apply(kubectl, {"apiVersion": GROUP + "/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
                         "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
                         "subjects": [{"apiGroup": GROUP, "kind": "User", "name": OP}]})
        op(kubectl, "get", "configmaps")
        kubectl("delete", "clusterrolebinding", name)
        denied(kubectl, "get", "configmaps")
        # a binding to a role that does not exist: the apiserver says so after the denial
        _apply(kubectl, {"apiVersion": GROUP + "/v1", "kind": "RoleBinding", "metadata": {"name": "dangling", "namespace": ns},
                         "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "missing"},
                         "subjects": [{"apiGroup": GROUP, "kind": "User", "name": OP}]})
        assert denied(kubectl, "get", "secrets", ns=ns) == msg("list", "secrets", ns) + (
            ': RBAC: role.rbac.authorization.k8s.io "missing" not found')
    finally:
        kubectl("delete", "clusterrole,clusterrolebinding", name, "--ignore-not-found")


def test_rbac_objects_kubectl_create_and_validation(kubectl, standin, ns):
    # kubectl create role/rolebinding send protobuf
    kubectl("-n", ns, "create", "role", "pod-reader", "--verb=get", "--verb=list", "--resource=pods",
            "--resource=deployments.apps", "--resource-name=web")
    kubectl("-n", ns, "create", "rolebinding", "pod-reader", "--role=pod-reader", "--user=alice", "--group=ops")
    role = json.loads(kubectl("-n", ns, "get", "role", "pod-reader", "-o", "json").stdout)
    assert role["rules"] == [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["web"]},
                             {"verbs": ["get", "list"], "apiGroups": ["apps"], "resources": ["deployments"],
                              "resourceNames": ["web"]}]
    rb = json.loads(kubectl("-n", ns, "get", "rolebinding", "pod-reader", "-o", "json").stdout)
    assert rb["roleRef"] == {"apiGroup": GROUP, "kind": "Role", "name": "pod-reader"}
    assert rb["subjects"] == [{"kind": "User", "apiGroup": GROUP, "name": "alice"},
                              {"kind": "Group", "apiGroup": GROUP, "name": "ops"}]
    table = kubectl("-n", ns, "get", "rolebinding", "-o", "wide").stdout.splitlines()
    assert table[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert table[1].split()[:2] == ["pod-reader", "Role/pod-reader"] and table[1].split()[3:5] == ["alice", "ops"]
    # the roleRef of a binding cannot change
    p = kubectl("-n", ns, "patch", "rolebinding", "pod-reader", "--type=merge", "-p", '{"roleRef":{"name":"other"}}',
                check=False)
    assert p.returncode == 1 and ('The RoleBinding "pod-reader" is invalid: roleRef: Invalid value: '
                                  'rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"other"}: '
                                  'cannot change roleRef') in p.stderr
    code, body = standin.raw("POST", "/apis/%s/v1/namespaces/%s/roles" % (GROUP, ns),
                             {"metadata": {"name": "bad"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]})
    assert code == 422 and body["message"] == ('Role.rbac.authorization.k8s.io "bad" is invalid: rules[0].verbs: '
                                               'Required value: verbs must contain at least one value')
    code, body = standin.raw("POST", "/apis/%s/v1/clusterrolebindings" % GROUP, {
        "metadata": {"name": "bad"}, "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "x"},
        "subjects": [{"kind": "Robot", "name": "r"}]})
    assert code == 422 and body["message"] == (
        'ClusterRoleBinding.rbac.authorization.k8s.io "bad" is invalid: [roleRef.kind: Unsupported value: "Role": '
        'supported values: "ClusterRole", subjects[0].kind: Unsupported value: "Robot": supported values: '
        '"ServiceAccount", "User", "Group"]')


# ---------------------------------------------------------------- the built-in users are unchanged

def test_readonly_and_admin_as_before(kubectl, standin):
    ro = "clickview-lab-readonly"
    for what in (["get", "secrets"], ["get", "roles,rolebindings"], ["get", "nodes"], ["get", "namespaces"]):
        kubectl("-n", "clickview", *what, context=ro)
    p = kubectl("-n", "clickview", "delete", "rolebinding", "clickview-runbook-investigate", context=ro, check=False)
    assert p.returncode == 1 and msg("delete", "rolebindings", "clickview", "clickview-runbook-investigate", GROUP,
                                     user=ro) in p.stderr
    reviews = Reviews(standin, standin.readonly_token)
    for verb in VERBS:
        assert reviews.allowed(verb, "secrets") is (verb in ("get", "list", "watch")), verb
    assert reviews.allowed("get", "pods", sub="log") and reviews.allowed("list", "nodes", ns="")
    assert can_i(kubectl, "*", "*", context="clickview-lab")
    admin = Reviews(standin, standin.admin_token)
    assert all(admin.allowed(v, r, g, ns=n) for v in VERBS for r, g in (("secrets", ""), ("deployments", "apps"),
                                                                        ("clusterroles", GROUP)) for n in ("", "x"))


# ---------------------------------------------------------------- extensions/kubernetes/rbac.yaml, exactly

def _manifest():
    with open(RBAC_YAML) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    return [item for d in docs for item in (d.get("items") or [] if d.get("kind") == "List" else [d])]


def _operator_rules(docs):
    """[(namespace or None for everywhere, rule)] the manifest grants the operator."""
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d["rules"]
             for d in docs if d["kind"] in ("Role", "ClusterRole")}
    out = []
    for b in docs:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if {"kind": "User", "name": OP, "apiGroup": GROUP} not in b["subjects"]:
            continue
        ns = b["metadata"].get("namespace")
        ref = b["roleRef"]
        rules = roles[(ref["kind"], ns if ref["kind"] == "Role" else None, ref["name"])]
        out.extend((ns, r) for r in rules)
    return out


def test_rbac_yaml_is_exact_and_bound_to_the_operator():
    docs = _manifest()
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding", "Role", "Role", "Role",
                     "RoleBinding", "RoleBinding", "RoleBinding"]
    names = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs}
    assert ("Role", "clickview", "clickview-runbook-investigate") in names
    assert ("Role", "clickview", "clickview-runbook-remediate") in names
    for d in docs:
        for rule in d.get("rules", []):
            for field in ("verbs", "apiGroups", "resources", "resourceNames"):
                assert not any("*" in v for v in rule.get(field, [])), (d["metadata"]["name"], rule)
    investigate = [r for d in docs if d["kind"] == "Role" and d["metadata"]["name"] == "clickview-runbook-investigate"
                   for r in d["rules"]]
    assert all(set(r["verbs"]) <= {"get", "list"} for r in investigate)   # the read role only reads
    assert len(_operator_rules(docs)) == sum(len(d.get("rules", [])) for d in docs)   # every rule is bound


def test_standin_enforces_exactly_rbac_yaml(kubectl, standin):
    docs = _manifest()
    created_cm_ns = kubectl("get", "namespace", "cert-manager", check=False).returncode != 0
    if created_cm_ns:
        kubectl("create", "namespace", "cert-manager")
    try:
        out = kubectl("apply", "-f", RBAC_YAML).stdout   # every kind applies (the seed skipped cert-manager)
        assert out.count("\n") == len(docs)
        granted = _operator_rules(docs)
        # one `kubectl auth can-i` per rule: yes
        for ns, rule in granted:
            res, _sep, sub = rule["resources"][0].partition("/")
            group = rule["apiGroups"][0]
            target = res + ("." + group if group else "") + ("/" + rule["resourceNames"][0] if "resourceNames" in rule else "")
            args = [rule["verbs"][0], target] + (["--subresource=" + sub] if sub else [])
            assert can_i(kubectl, *args, ns=ns or "clickview"), (ns, rule)
        # ... and a few pairs the file does not grant: no
        for args, ns in ((["delete", "deployments.apps"], "clickview"), (["get", "secrets"], "clickview"),
                         (["get", "secrets/clickview-payment-keys"], "clickview"),
                         (["watch", "deployments.apps"], "clickview"), (["update", "deployments.apps"], "clickview"),
                         (["delete", "pods"], "clickview"), (["create", "pods", "--subresource=exec"], "clickview"),
                         (["list", "statefulsets.apps"], "clickview"), (["get", "pods/x"], "cert-manager"),
                         (["list", "pods"], "kube-system"), (["get", "nodes"], "clickview")):
            assert not can_i(kubectl, *args, ns=ns), (args, ns)
        # every verb on every resource the file names (and a few it does not), in every namespace it names:
        # allowed exactly when a bound rule lists the group, resource, verb and (if it has names) the name
        resources = {(g, r) for _ns, rule in granted for g in rule["apiGroups"] for r in rule["resources"]}
        resources |= {("", "secrets"), ("", "configmaps"), ("", "pods/exec"), ("apps", "statefulsets"),
                      ("apps", "daemonsets"), ("apps", "controllerrevisions"), ("apps", "deployments/status"),
                      (GROUP, "roles"), ("", "nodes"), ("", "namespaces")}
        names = sorted({""} | {"other"} | {n for _ns, rule in granted for n in rule.get("resourceNames", [])})
        reviews = Reviews(standin, standin.operator_token)
        checked = 0
        for ns in ("clickview", "cert-manager", "default"):
            for group, resource in sorted(resources):
                res, _sep, sub = resource.partition("/")
                for verb in VERBS:
                    for name in names:
                        want = any((rule_ns in (None, ns)) and group in rule["apiGroups"] and resource in rule["resources"]
                                   and verb in rule["verbs"] and (not rule.get("resourceNames") or name in rule["resourceNames"])
                                   for rule_ns, rule in granted)
                        got = reviews.allowed(verb, res, group, ns=ns, name=name, sub=sub)
                        assert got is want, (ns, group, resource, verb, name)
                        checked += 1
        assert checked > 1000
    finally:
        if created_cm_ns:
            kubectl("delete", "namespace", "cert-manager")


# ---------------------------------------------------------------- kubernetes.core modules as the operator

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/kubernetes.core.k8s: {context: clickview-lab-operator}
  tasks:
    - name: Deployments, pods, HPAs, the Certificate (investigate)
      kubernetes.core.k8s_info: {api_version: "{{ item.v }}", kind: "{{ item.k }}", namespace: clickview}
      loop:
        - {v: apps/v1, k: Deployment}
        - {v: v1, k: Pod}
        - {v: autoscaling/v2, k: HorizontalPodAutoscaler}
        - {v: cert-manager.io/v1, k: Certificate}
        - {v: metrics.k8s.io/v1beta1, k: PodMetrics}
      register: reads
    - name: Can I patch deployments? (the access check)
      kubernetes.core.k8s:
        state: present
        definition:
          apiVersion: authorization.k8s.io/v1
          kind: SelfSubjectAccessReview
          spec: {resourceAttributes: {namespace: clickview, verb: patch, group: apps, resource: deployments}}
      register: review
    - name: Canary track (create)
      kubernetes.core.k8s: {state: present, namespace: clickview, definition: "{{ canary }}"}
    - name: Scale it (deployments/scale)
      kubernetes.core.k8s_scale: {api_version: apps/v1, kind: Deployment, name: clickview-frontend-canary,
                                  namespace: clickview, replicas: 2, wait: true, wait_timeout: 60, wait_sleep: 1}
    - name: HPA minReplicas (patch)
      kubernetes.core.k8s:
        state: patched
        kind: HorizontalPodAutoscaler
        api_version: autoscaling/v2
        name: clickview-backend
        namespace: clickview
        merge_type: merge
        definition: {metadata: {annotations: {runbook.clickview.app/probe: "1"}}}
    - name: Force the certificate's renewal (dry run)
      kubernetes.core.k8s: {state: absent, kind: Secret, name: clickview-tls, namespace: clickview}
      check_mode: true
      register: renew
    - name: Remove the canary track (delete by name)
      kubernetes.core.k8s: {state: absent, api_version: apps/v1, kind: Deployment, name: clickview-frontend-canary,
                            namespace: clickview, wait: true, wait_timeout: 60}
    - name: The database credentials (not granted)
      kubernetes.core.k8s_info: {kind: Secret, name: clickview-payment-keys, namespace: clickview}
      register: secret
      failed_when: false
    - name: Write results
      ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ {'reads': reads, 'review': review, 'renew': renew, 'secret': secret} | to_json }}"
"""


def test_kubernetes_core_modules_as_the_operator(standin, tmp_path):
    (tmp_path / "play.yml").write_text(PLAY)
    out = tmp_path / "out.json"
    canary = deployment("clickview-frontend-canary", "registry.clickview.lab/web:1.0", replicas=1)
    extra = {"out": str(out), "canary": canary}
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               K8S_AUTH_KUBECONFIG=standin.kubeconfig)
    env.pop("ANSIBLE_CONFIG", None)
    p = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c",
                        "local", "play.yml", "-e", json.dumps(extra)], capture_output=True, text=True, timeout=150,
                       env=env, cwd=str(tmp_path), check=False)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    r = json.loads(out.read_text())
    assert all(x["resources"] for x in r["reads"]["results"])
    assert r["review"]["result"]["status"]["allowed"] is True
    assert r["renew"]["changed"] is True
    assert "resources" not in r["secret"] and "Forbidden" in r["secret"]["msg"] and "403" in r["secret"]["msg"]
