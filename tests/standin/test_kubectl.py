"""A real kubectl (v1.33) against the stand-in: the runbook's Kubernetes steps, asserting documented behaviour."""
import base64
import datetime
import json
import time

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import deployment, wait_for

REV = "deployment.kubernetes.io/revision"


def apply(kubectl, ns, obj):
    return kubectl("-n", ns, "apply", "-f", "-", input=yaml.safe_dump(obj))


def get(kubectl, ns, *what):
    return json.loads(kubectl("-n", ns, "get", *what, "-o", "json").stdout)


def history(kubectl, ns, name, kind="deployment"):
    out = kubectl("-n", ns, "rollout", "history", "%s/%s" % (kind, name)).stdout.splitlines()
    rows = [l.split(None, 1) for l in out[2:] if l.strip()]
    return [(int(r[0]), r[1].strip() if len(r) > 1 else "") for r in rows]


def owned_rs(kubectl, ns, name):
    items = get(kubectl, ns, "rs", "-l", "app=" + name)["items"]
    return {rs["metadata"]["name"]: rs for rs in items}


def test_version_and_discovery(kubectl, standin):
    out = json.loads(kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["minor"] == "33"
    res = kubectl("api-resources", "--no-headers").stdout
    for r in ("deployments", "replicasets", "statefulsets", "daemonsets", "controllerrevisions", "pods",
              "horizontalpodautoscalers", "certificates", "secrets", "configmaps", "events", "services"):
        assert r in res
    assert standin.startup < 5


def test_seeded_namespace(kubectl):
    h = history(kubectl, "clickview", "clickview-backend")
    assert [r for r, _cause in h] == [1, 2, 3, 4]
    assert h[-1][1] == "release 1.4.0"
    d = get(kubectl, "clickview", "deploy", "clickview-backend")
    assert d["metadata"]["annotations"][REV] == "4"
    assert d["status"]["availableReplicas"] == 3
    names = kubectl("-n", "clickview", "get", "deploy,sts,hpa,svc,certificates", "-o", "name").stdout.split()
    for n in ("deployment.apps/clickview-frontend", "statefulset.apps/postgres",
              "horizontalpodautoscaler.autoscaling/clickview-backend", "service/clickview-backend",
              "certificate.cert-manager.io/clickview-tls"):
        assert n in names
    table = kubectl("-n", "clickview", "get", "pods").stdout
    assert table.splitlines()[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert "Running" in table


def test_rollout_set_image_history_undo(kubectl, ns):
    apply(kubectl, ns, deployment("web", "registry.clickview.lab/web:1.0"))
    kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s")
    kubectl("-n", ns, "set", "image", "deploy/web", "web=registry.clickview.lab/web:1.1")
    # the controller copies the Deployment's change-cause onto its current (new) ReplicaSet
    kubectl("-n", ns, "annotate", "deploy/web", "kubernetes.io/change-cause=release 1.1")
    out = kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s").stdout
    assert 'deployment "web" successfully rolled out' in out
    kubectl("-n", ns, "set", "image", "deploy/web", "web=registry.clickview.lab/web:1.2")
    kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s")
    h = history(kubectl, ns, "web")
    assert [r for r, _cause in h] == [1, 2, 3]
    assert h[0][1] == "<none>" and h[1][1] == "release 1.1"
    assert h[2][1] == "release 1.1"   # a new ReplicaSet inherits the Deployment's annotation, as upstream
    rss = owned_rs(kubectl, ns, "web")
    assert len(rss) == 3
    for rs in rss.values():   # every ReplicaSet carries the pod-template-hash in its name, selector and labels
        h_ = rs["metadata"]["labels"]["pod-template-hash"]
        assert rs["metadata"]["name"] == "web-" + h_
        assert rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] == h_
    # undo: back to revision 2, which becomes revision 4 (re-using its ReplicaSet); revision 2 disappears
    rev2 = [n for n, rs in rss.items() if rs["metadata"]["annotations"][REV] == "2"][0]
    kubectl("-n", ns, "rollout", "undo", "deploy/web")
    kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s")
    assert [r for r, _cause in history(kubectl, ns, "web")] == [1, 3, 4]
    rss = owned_rs(kubectl, ns, "web")
    assert len(rss) == 3, "undo re-uses the old ReplicaSet instead of creating one"
    assert rss[rev2]["metadata"]["annotations"][REV] == "4"
    assert rss[rev2]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "2"
    assert rss[rev2]["spec"]["replicas"] == 3
    d = get(kubectl, ns, "deploy", "web")
    assert d["metadata"]["annotations"][REV] == "4"
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.clickview.lab/web:1.1"
    # undo --to-revision=1
    kubectl("-n", ns, "rollout", "undo", "deploy/web", "--to-revision=1")
    kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s")
    assert [r for r, _cause in history(kubectl, ns, "web")] == [3, 4, 5]
    d = get(kubectl, ns, "deploy", "web")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.clickview.lab/web:1.0"
    # a revision that does not exist
    p = kubectl("-n", ns, "rollout", "undo", "deploy/web", "--to-revision=42", check=False)
    assert p.returncode != 0 and "unable to find specified revision 42" in p.stderr
    # rolling back to the current template is skipped
    p = kubectl("-n", ns, "rollout", "undo", "deploy/web", "--to-revision=5")
    assert "skipped rollback" in p.stdout + p.stderr
    out = kubectl("-n", ns, "rollout", "history", "deploy/web", "--revision=4").stdout
    assert "registry.clickview.lab/web:1.1" in out and "pod-template-hash=" in out


def test_rollout_status_fails_on_broken_image_then_undo(kubectl, ns):
    apply(kubectl, ns, deployment("api", "registry.clickview.lab/api:2.0", progressDeadlineSeconds=30))
    kubectl("-n", ns, "rollout", "status", "deploy/api", "--timeout=60s")
    kubectl("-n", ns, "set", "image", "deploy/api", "web=registry.clickview.lab/api:2.1-broken")
    t0 = time.time()
    p = kubectl("-n", ns, "rollout", "status", "deploy/api", "--timeout=60s", check=False)
    assert p.returncode == 1
    assert 'deployment "api" exceeded its progress deadline' in p.stderr
    assert time.time() - t0 < 30
    d = get(kubectl, ns, "deploy", "api")
    prog = [c for c in d["status"]["conditions"] if c["type"] == "Progressing"][0]
    assert (prog["status"], prog["reason"]) == ("False", "ProgressDeadlineExceeded")
    avail = [c for c in d["status"]["conditions"] if c["type"] == "Available"][0]
    assert avail["status"] == "True"   # maxUnavailable 25% of 3 = 0: the old pods keep serving
    assert d["status"]["availableReplicas"] == 3 and d["status"]["updatedReplicas"] == 1
    pods = get(kubectl, ns, "pods", "-l", "app=api")["items"]
    bad = [p for p in pods if p["spec"]["containers"][0]["image"].endswith("broken")]
    assert len(bad) == 1
    st = bad[0]["status"]["containerStatuses"][0]
    assert not st["ready"] and st["restartCount"] >= 1
    assert st["lastState"]["terminated"]["exitCode"] == 1
    logs = kubectl("-n", ns, "logs", bad[0]["metadata"]["name"], "--previous").stdout
    assert "fatal" in logs
    kubectl("-n", ns, "rollout", "undo", "deploy/api")
    kubectl("-n", ns, "rollout", "status", "deploy/api", "--timeout=60s")
    d = get(kubectl, ns, "deploy", "api")
    prog = [c for c in d["status"]["conditions"] if c["type"] == "Progressing"][0]
    assert prog["reason"] == "NewReplicaSetAvailable"
    assert d["metadata"]["annotations"][REV] == "3"
    assert not [p for p in get(kubectl, ns, "pods", "-l", "app=api")["items"]
                if p["spec"]["containers"][0]["image"].endswith("broken")]


def test_scale_restart_and_recreate(kubectl, ns):
    apply(kubectl, ns, deployment("w", replicas=2))
    kubectl("-n", ns, "rollout", "status", "deploy/w", "--timeout=60s")
    kubectl("-n", ns, "scale", "deploy/w", "--replicas=5")
    kubectl("-n", ns, "rollout", "status", "deploy/w", "--timeout=60s")
    d = get(kubectl, ns, "deploy", "w")
    assert d["status"]["readyReplicas"] == 5 and d["metadata"]["annotations"][REV] == "1"
    assert len(get(kubectl, ns, "pods", "-l", "app=w")["items"]) == 5
    p = kubectl("-n", ns, "scale", "deploy/w", "--replicas=3", "--current-replicas=4", check=False)
    assert p.returncode != 0 and "Expected replicas to be 4, was 5" in p.stderr
    kubectl("-n", ns, "rollout", "restart", "deploy/w")
    kubectl("-n", ns, "rollout", "status", "deploy/w", "--timeout=60s")
    d = get(kubectl, ns, "deploy", "w")
    assert "kubectl.kubernetes.io/restartedAt" in d["spec"]["template"]["metadata"]["annotations"]
    assert d["metadata"]["annotations"][REV] == "2"
    pods = get(kubectl, ns, "pods", "-l", "app=w")["items"]
    assert len(pods) == 5 and all("kubectl.kubernetes.io/restartedAt" in p["metadata"].get("annotations", {}) for p in pods)
    kubectl("-n", ns, "patch", "deploy/w", "-p", '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}')
    kubectl("-n", ns, "set", "image", "deploy/w", "web=registry.clickview.lab/web:2.0")
    kubectl("-n", ns, "rollout", "status", "deploy/w", "--timeout=60s")
    assert get(kubectl, ns, "deploy", "w")["status"]["updatedReplicas"] == 5


def test_pause_resume(kubectl, ns):
    apply(kubectl, ns, deployment("p", replicas=1))
    kubectl("-n", ns, "rollout", "status", "deploy/p", "--timeout=60s")
    kubectl("-n", ns, "rollout", "pause", "deploy/p")
    kubectl("-n", ns, "set", "image", "deploy/p", "web=registry.clickview.lab/web:9")
    time.sleep(0.5)
    assert len(owned_rs(kubectl, ns, "p")) == 1, "a paused Deployment does not roll out"
    kubectl("-n", ns, "rollout", "resume", "deploy/p")
    kubectl("-n", ns, "rollout", "status", "deploy/p", "--timeout=60s")
    assert len(owned_rs(kubectl, ns, "p")) == 2


def test_service_selector_switch_blue_green(kubectl, ns):
    for colour in ("blue", "green"):
        d = deployment("app-" + colour, replicas=2)
        d["spec"]["template"]["metadata"]["labels"]["colour"] = colour
        apply(kubectl, ns, d)
    apply(kubectl, ns, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app"},
                        "spec": {"selector": {"app": "app-blue"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    for colour in ("blue", "green"):
        kubectl("-n", ns, "rollout", "status", "deploy/app-" + colour, "--timeout=60s")

    def endpoint_pods():
        ep = get(kubectl, ns, "endpoints", "app")
        return sorted(a["targetRef"]["name"] for s in ep.get("subsets") or [] for a in s.get("addresses") or [])
    blue = sorted(p["metadata"]["name"] for p in get(kubectl, ns, "pods", "-l", "app=app-blue")["items"])
    green = sorted(p["metadata"]["name"] for p in get(kubectl, ns, "pods", "-l", "app=app-green")["items"])
    wait_for(lambda: endpoint_pods() == blue, msg="blue endpoints")
    svc = get(kubectl, ns, "svc", "app")
    ip = svc["spec"]["clusterIP"]
    kubectl("-n", ns, "patch", "svc", "app", "-p", '{"spec":{"selector":{"app":"app-green"}}}')
    wait_for(lambda: endpoint_pods() == green, msg="green endpoints")
    svc = get(kubectl, ns, "svc", "app")
    assert svc["spec"]["selector"] == {"app": "app-green"} and svc["spec"]["clusterIP"] == ip
    p = kubectl("-n", ns, "patch", "svc", "app", "-p", '{"spec":{"clusterIP":"10.96.99.99"}}', check=False)
    assert p.returncode != 0 and "Invalid" in p.stderr


def test_certificate_reissued_after_secret_delete(kubectl, ns):
    from cryptography import x509
    kubectl("-n", ns, "apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "site"},
        "spec": {"secretName": "site-tls", "dnsNames": ["site.clickview.lab"], "duration": "720h",
                 "issuerRef": {"name": "clickview-lab-ca", "kind": "ClusterIssuer"}}}))

    def secret():
        p = kubectl("-n", ns, "get", "secret", "site-tls", "-o", "json", check=False)
        return json.loads(p.stdout) if p.returncode == 0 else None
    s1 = wait_for(secret, msg="issued secret")
    assert s1["type"] == "kubernetes.io/tls"
    c1 = x509.load_pem_x509_certificate(base64.b64decode(s1["data"]["tls.crt"]))
    cert = get(kubectl, ns, "certificate", "site")
    assert cert["status"]["conditions"][0]["type"] == "Ready" and cert["status"]["revision"] == 1
    time.sleep(1.1)   # not-after has a one-second resolution
    kubectl("-n", ns, "delete", "secret", "site-tls")
    s2 = wait_for(secret, msg="re-issued secret")
    c2 = x509.load_pem_x509_certificate(base64.b64decode(s2["data"]["tls.crt"]))
    assert c2.not_valid_after_utc > c1.not_valid_after_utc
    assert c2.serial_number != c1.serial_number
    assert [e.value for e in c2.extensions if isinstance(e.value, x509.SubjectAlternativeName)][0].get_values_for_type(
        x509.DNSName) == ["site.clickview.lab"]

    def reissued():
        found = get(kubectl, ns, "certificate", "site")
        return found if found["status"].get("revision") == 2 else None

    cert = wait_for(reissued)
    assert cert["status"]["notAfter"] == c2.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    # custom resources do not take strategic merge patches, as on a real API server
    p = kubectl("-n", ns, "patch", "certificate", "site", "-p", '{"spec":{"duration":"24h"}}', check=False)
    assert p.returncode != 0
    assert "strategic-merge-patch+json is not supported by cert-manager.io/v1, Kind=Certificate" in p.stderr
    kubectl("-n", ns, "patch", "certificate", "site", "--type=merge", "-p", '{"spec":{"duration":"24h"}}')


def test_auth_readonly_and_unauthenticated(kubectl, standin):
    p = kubectl("-n", "clickview", "get", "deploy", context="clickview-lab-readonly")
    assert "clickview-backend" in p.stdout
    p = kubectl("-n", "clickview", "scale", "deploy/clickview-frontend", "--replicas=1",
                context="clickview-lab-readonly", check=False)
    assert p.returncode == 1 and "Forbidden" in p.stderr and 'User "clickview-lab-readonly" cannot patch' in p.stderr
    p = kubectl("-n", "clickview", "delete", "secret", "clickview-db-credentials", context="clickview-lab-readonly",
                check=False)
    assert p.returncode == 1 and "forbidden" in p.stderr
    p = kubectl("--token", "not-a-token", "get", "pods", check=False)
    assert p.returncode == 1 and "Unauthorized" in p.stderr


def test_statefulset_and_daemonset_history_undo(kubectl, ns):
    tmpl = {"metadata": {"labels": {"app": "db"}},
            "spec": {"containers": [{"name": "db", "image": "docker.io/library/postgres:15.5"}]}}
    apply(kubectl, ns, {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                        "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                                 "template": tmpl}})
    kubectl("-n", ns, "rollout", "status", "sts/db", "--timeout=60s")
    assert sorted(p["metadata"]["name"] for p in get(kubectl, ns, "pods", "-l", "app=db")["items"]) == ["db-0", "db-1"]
    kubectl("-n", ns, "set", "image", "sts/db", "db=docker.io/library/postgres:15.6")
    kubectl("-n", ns, "rollout", "status", "sts/db", "--timeout=60s")
    assert [r for r, _cause in history(kubectl, ns, "db", "statefulset")] == [1, 2]
    kubectl("-n", ns, "rollout", "undo", "sts/db")
    kubectl("-n", ns, "rollout", "status", "sts/db", "--timeout=60s")
    assert [r for r, _cause in history(kubectl, ns, "db", "statefulset")] == [2, 3]
    sts = get(kubectl, ns, "sts", "db")
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"].endswith("15.5")
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
    crs = get(kubectl, ns, "controllerrevisions")["items"]
    assert len(crs) == 2 and max(c["revision"] for c in crs) == 3
    ds_tmpl = {"metadata": {"labels": {"app": "agent"}},
               "spec": {"containers": [{"name": "agent", "image": "docker.io/fluent/fluent-bit:3.0"}]}}
    apply(kubectl, ns, {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
                        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": ds_tmpl}})
    kubectl("-n", ns, "rollout", "status", "ds/agent", "--timeout=60s")
    kubectl("-n", ns, "set", "image", "ds/agent", "agent=docker.io/fluent/fluent-bit:3.1")
    kubectl("-n", ns, "rollout", "status", "ds/agent", "--timeout=60s")
    assert [r for r, _cause in history(kubectl, ns, "agent", "daemonset")] == [1, 2]
    kubectl("-n", ns, "rollout", "undo", "ds/agent", "--to-revision=1")
    kubectl("-n", ns, "rollout", "status", "ds/agent", "--timeout=60s")
    pods = get(kubectl, ns, "pods", "-l", "app=agent")["items"]
    assert len(pods) == 3 and all(p["spec"]["containers"][0]["image"].endswith(":3.0") for p in pods)


def test_logs_top_and_describe(kubectl, ns):
    apply(kubectl, ns, deployment("err", "registry.clickview.lab/web:3.0-errors-50", replicas=1))
    kubectl("-n", ns, "rollout", "status", "deploy/err", "--timeout=60s")
    time.sleep(0.5)
    logs = kubectl("-n", ns, "logs", "deploy/err", "--tail=40").stdout.splitlines()
    assert 0 < len(logs) <= 40
    errors = [l for l in logs if "level=error" in l]
    assert errors and len(errors) < len(logs)
    ts = kubectl("-n", ns, "logs", "deploy/err", "--tail=1", "--timestamps").stdout
    assert ts[:4].isdigit() and "T" in ts.split()[0]
    top = kubectl("-n", ns, "top", "pod").stdout
    assert top.split()[:3] == ["NAME", "CPU(cores)", "MEMORY(bytes)"] and "err-" in top
    desc = kubectl("-n", ns, "describe", "deploy", "err").stdout
    assert "ScalingReplicaSet" in desc and "NewReplicaSetAvailable" in desc
    p = kubectl("-n", ns, "logs", "deploy/err", "--previous", check=False)
    assert p.returncode != 0 and "previous terminated container" in p.stderr


def test_logs_previous_of_a_crashed_container_with_since_and_timestamps(kubectl, ns):
    """kubectl logs --previous: the last terminated container's log, stamped with wall-clock times like any other
    log, so --since and --timestamps work on it (an evidence run reads it that way); a container that never
    restarted has none: 400 "previous terminated container ... not found"."""
    apply(kubectl, ns, deployment("crash", "registry.clickview.lab/web:1.0-broken", replicas=1))
    apply(kubectl, ns, deployment("fine", "registry.clickview.lab/web:1.0", replicas=1))

    def restarted():
        pods = get(kubectl, ns, "pods", "-l", "app=crash")["items"]
        statuses = pods[0]["status"].get("containerStatuses") or [] if pods else []
        return statuses and statuses[0]["restartCount"] >= 1 and pods[0]["metadata"]["name"]
    pod = wait_for(restarted, timeout=30, interval=0.2, msg="a restart")
    before = datetime.datetime.now(datetime.timezone.utc)
    stamped = kubectl("-n", ns, "logs", pod, "--previous", "--timestamps").stdout.splitlines()
    assert stamped and "level=fatal" in stamped[-1]
    for line in stamped:
        at = datetime.datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00")[:26] + "+00:00")
        assert before - datetime.timedelta(minutes=5) < at <= before + datetime.timedelta(seconds=5), line
    recent = kubectl("-n", ns, "logs", pod, "--previous", "--since=10m").stdout
    assert "level=fatal" in recent and "schema mismatch" in recent
    kubectl("-n", ns, "rollout", "status", "deploy/fine", "--timeout=60s")
    p = kubectl("-n", ns, "logs", "deploy/fine", "--previous", "--since=10m", check=False)
    assert p.returncode != 0 and "previous terminated container" in p.stderr and "not found" in p.stderr


def _comparable(obj, name):
    """An object as the server stored it, without what differs between two creations under two names."""
    text = json.dumps(obj).replace(name, "NAME")
    o = json.loads(text)
    md = o.get("metadata", {})
    for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
        md.pop(k, None)
    for k in ("clusterIP", "clusterIPs"):
        o.get("spec", {}).pop(k, None)
    o.pop("status", None)
    return o


def test_builtin_generators_send_protobuf_and_store_what_json_would(kubectl, ns, tmp_path):
    """kubectl's generators (create secret/configmap/deployment/…, autoscale, auth can-i) send protobuf
    bodies; the stand-in decodes them like the apiserver: the stored object equals the one created from
    the same generator's JSON output (`--dry-run=client -o json | kubectl create -f -`)."""
    p = kubectl("-n", ns, "create", "configmap", "probe", "--from-literal=a=b", "-v=8")
    assert "Content-Type: application/vnd.kubernetes.protobuf" in p.stderr
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    k = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe.clickview.lab")])
    now = datetime.datetime.now(datetime.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(k.public_key())
         .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(k, hashes.SHA256()))
    cert.write_bytes(c.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    (tmp_path / "app.conf").write_text("listen 8080\n")
    kubectl("-n", ns, "create", "deployment", "target", "--image=registry.clickview.lab/web:1.0")
    generators = [
        ("secret", ["create", "secret", "generic", "{}", "--from-literal=password=s3cr3t", "--from-literal=empty=",
                    "--from-file=%s" % (tmp_path / "app.conf"), "--type=clickview.lab/opaque"]),
        ("secret", ["create", "secret", "tls", "{}", "--cert=%s" % cert, "--key=%s" % key]),
        ("secret", ["create", "secret", "docker-registry", "{}", "--docker-server=registry.clickview.lab",
                    "--docker-username=ci", "--docker-password=pw"]),
        ("configmap", ["create", "configmap", "{}", "--from-literal=LOG_LEVEL=info",
                       "--from-file=%s" % (tmp_path / "app.conf")]),
        ("deployment", ["create", "deployment", "{}", "--image=registry.clickview.lab/web:2.0",
                        "--image=registry.clickview.lab/sidecar:1.0", "--replicas=0", "--port=8080"]),
        ("service", ["create", "service", "clusterip", "{}", "--tcp=80:8080", "--tcp=9090"]),
        ("serviceaccount", ["create", "serviceaccount", "{}"]),
        ("hpa", ["autoscale", "deployment", "target", "--name={}", "--min=2", "--max=7", "--cpu-percent=65"]),
    ]
    for i, (kind, args) in enumerate(generators):
        pb, js = "pb%d-%s" % (i, kind), "js%d-%s" % (i, kind)
        kubectl("-n", ns, *[a.format(pb) for a in args])
        manifest = kubectl("-n", ns, *[a.format(js) for a in args], "--dry-run=client", "-o", "json").stdout
        kubectl("-n", ns, "create", "-f", "-", input=manifest)
        a = _comparable(get(kubectl, ns, kind, pb), pb)
        b = _comparable(get(kubectl, ns, kind, js), js)
        assert a == b, (args, a, b)
    s = get(kubectl, ns, "secret", "pb0-secret")
    assert s["type"] == "clickview.lab/opaque" and base64.b64decode(s["data"]["password"]) == b"s3cr3t"
    assert s["data"]["empty"] == "" and base64.b64decode(s["data"]["app.conf"]) == b"listen 8080\n"
    assert get(kubectl, ns, "secret", "pb1-secret")["type"] == "kubernetes.io/tls"
    d = get(kubectl, ns, "deployment", "pb4-deployment")
    assert d["spec"]["replicas"] == 0   # a pointer field: its zero value is kept, not defaulted to 1
    assert [c["image"] for c in d["spec"]["template"]["spec"]["containers"]] == [
        "registry.clickview.lab/web:2.0", "registry.clickview.lab/sidecar:1.0"]
    svc = get(kubectl, ns, "service", "pb5-service")
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(80, 8080), (9090, 9090)]
    hpa = get(kubectl, ns, "hpa", "pb7-hpa")
    assert hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 7
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 65
    nsname = "pb-" + ns
    kubectl("create", "namespace", nsname)
    n = get(kubectl, "default", "namespace", nsname)
    assert n["status"]["phase"] == "Active" and n["spec"]["finalizers"] == ["kubernetes"]
    assert n["metadata"]["labels"]["kubernetes.io/metadata.name"] == nsname
    kubectl("delete", "namespace", nsname)
    # auth can-i posts a SelfSubjectAccessReview as protobuf; exit code 0 = yes, 1 = no
    assert kubectl("-n", ns, "auth", "can-i", "patch", "deployments").stdout.strip() == "yes"
    p = kubectl("-n", ns, "auth", "can-i", "patch", "deployments", context="clickview-lab-readonly", check=False)
    assert p.returncode == 1 and p.stdout.strip() == "no"
    assert kubectl("-n", ns, "auth", "can-i", "list", "pods", context="clickview-lab-readonly").stdout.strip() == "yes"
    # the read-only user is refused the protobuf create like any other write
    p = kubectl("-n", ns, "create", "secret", "generic", "ro", "--from-literal=a=b", context="clickview-lab-readonly",
                check=False)
    assert p.returncode == 1 and 'User "clickview-lab-readonly" cannot create resource "secrets"' in p.stderr
