"""The kubernetes Python client (typed and dynamic) and raw REST calls: verbs, Status errors, bad input."""
import threading
import time

import pytest
from kubernetes import client, dynamic, watch
from kubernetes.client.rest import ApiException

from conftest import deployment, wait_for


def status_of(exc):
    import json
    return json.loads(exc.body)


def test_typed_crud_and_status_errors(k8s, ns):
    core = client.CoreV1Api(k8s)
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "cfg", "labels": {"tier": "a"}},
                                                "data": {"k": "v"}})
    rv1 = cm.metadata.resource_version
    assert cm.metadata.uid and rv1
    # 409 AlreadyExists
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "cfg"}})
    st = status_of(e.value)
    assert e.value.status == 409 and st["kind"] == "Status" and st["reason"] == "AlreadyExists"
    assert st["message"] == 'configmaps "cfg" already exists'
    assert st["details"] == {"name": "cfg", "kind": "configmaps", "group": ""}
    # update bumps resourceVersion; a stale resourceVersion is a 409 Conflict
    cm.data = {"k": "v2"}
    cm2 = core.replace_namespaced_config_map("cfg", ns, cm)
    assert int(cm2.metadata.resource_version) > int(rv1)
    cm.metadata.resource_version = rv1
    cm.data = {"k": "v3"}
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("cfg", ns, cm)
    st = status_of(e.value)
    assert e.value.status == 409 and st["reason"] == "Conflict"
    assert "the object has been modified; please apply your changes to the latest version" in st["message"]
    assert core.read_namespaced_config_map("cfg", ns).data == {"k": "v2"}
    # 404
    with pytest.raises(ApiException) as e:
        core.read_namespaced_secret("nope", ns)
    assert e.value.status == 404 and status_of(e.value)["reason"] == "NotFound"
    assert status_of(e.value)["message"] == 'secrets "nope" not found'
    # 422 invalid name
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "Bad_Name"}})
    st = status_of(e.value)
    assert e.value.status == 422 and st["reason"] == "Invalid"
    assert st["details"]["causes"][0]["field"] == "metadata.name"
    assert st["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"')
    # delete answers a Status, then 404
    out = core.delete_namespaced_config_map("cfg", ns)
    assert (out["status"] if isinstance(out, dict) else out.status) == "Success"
    with pytest.raises(ApiException) as e:
        core.delete_namespaced_config_map("cfg", ns)
    assert e.value.status == 404


def test_deployment_validation_and_immutable_selector(k8s, ns):
    apps = client.AppsV1Api(k8s)
    bad = deployment("d")
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(ApiException) as e:
        apps.create_namespaced_deployment(ns, bad)
    st = status_of(e.value)
    assert e.value.status == 422 and "`selector` does not match template `labels`" in st["message"]
    apps.create_namespaced_deployment(ns, deployment("d", replicas=1))
    patch = {"spec": {"selector": {"matchLabels": {"app": "d", "x": "y"}},
                      "template": {"metadata": {"labels": {"app": "d", "x": "y"}}}}}
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment("d", ns, patch)
    st = status_of(e.value)
    assert e.value.status == 422 and st["details"]["causes"][0]["field"] == "spec.selector"
    assert "field is immutable" in st["message"]
    d = apps.read_namespaced_deployment("d", ns)
    assert d.spec.selector.match_labels == {"app": "d"}
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment("d", ns, {"spec": {"replicas": -1}})
    assert e.value.status == 422
    # defaults the apiserver applies
    assert d.spec.strategy.type == "RollingUpdate" and d.spec.strategy.rolling_update.max_surge == "25%"
    assert d.spec.revision_history_limit == 10 and d.spec.progress_deadline_seconds == 600
    c = d.spec.template.spec.containers[0]
    assert c.image_pull_policy == "IfNotPresent" and c.termination_message_path == "/dev/termination-log"
    assert d.metadata.generation == 1


def test_patch_types_and_generation(k8s, ns):
    apps = client.AppsV1Api(k8s)
    apps.create_namespaced_deployment(ns, deployment("g", replicas=1))
    # strategic merge (the client's default for dict bodies): containers merge by name
    d = apps.patch_namespaced_deployment("g", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "registry.clickview.lab/sidecar:1"}]}}}})
    assert [c.name for c in d.spec.template.spec.containers] == ["web", "sidecar"]
    assert d.metadata.generation == 2
    d = apps.patch_namespaced_deployment("g", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "$patch": "delete"}]}}}})
    assert [c.name for c in d.spec.template.spec.containers] == ["web"]
    # json patch (list body)
    d = apps.patch_namespaced_deployment("g", ns, [{"op": "replace", "path": "/spec/replicas", "value": 2},
                                                   {"op": "add", "path": "/metadata/labels/team", "value": "video"}])
    assert d.spec.replicas == 2 and d.metadata.labels["team"] == "video"
    # merge patch replaces lists
    d = apps.patch_namespaced_deployment("g", ns, {"metadata": {"labels": {"team": None}}},
                                         _content_type="application/merge-patch+json")
    assert "team" not in d.metadata.labels
    # status is a subresource: spec writes ignore it
    d = apps.patch_namespaced_deployment("g", ns, {"status": {"replicas": 99}})
    assert d.status.replicas != 99
    # a failing json-patch test operation
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment("g", ns, [{"op": "test", "path": "/spec/replicas", "value": 7}])
    assert e.value.status == 422


def test_revision_history_is_pruned_to_the_limit(k8s, ns):
    """revisionHistoryLimit: old ReplicaSets beyond it are deleted, the newest ones and the current stay."""
    apps = client.AppsV1Api(k8s)
    apps.create_namespaced_deployment(ns, deployment("h", replicas=1, revisionHistoryLimit=2))
    for tag in ("1.1", "1.2", "1.3", "1.4"):
        apps.patch_namespaced_deployment("h", ns, {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "registry.clickview.lab/web:%s" % tag}]}}}})
        wait_for(lambda: apps.read_namespaced_deployment("h", ns).status.updated_replicas == 1, msg="rolled out")

    def revisions():
        return sorted(int(rs.metadata.annotations["deployment.kubernetes.io/revision"])
                      for rs in apps.list_namespaced_replica_set(ns, label_selector="app=h").items)
    wait_for(lambda: revisions() == [3, 4, 5], msg="revisions 3, 4 and 5 only (the current and 2 old ones)")
    current = [rs for rs in apps.list_namespaced_replica_set(ns, label_selector="app=h").items
               if rs.metadata.annotations["deployment.kubernetes.io/revision"] == "5"]
    assert current[0].spec.template.spec.containers[0].image == "registry.clickview.lab/web:1.4"


def test_scale_subresource_and_wait_ready(k8s, ns):
    apps = client.AppsV1Api(k8s)
    apps.create_namespaced_deployment(ns, deployment("s", replicas=1))
    sc = apps.read_namespaced_deployment_scale("s", ns)
    assert sc.spec.replicas == 1 and sc.status.selector == "app=s"
    apps.patch_namespaced_deployment_scale("s", ns, {"spec": {"replicas": 4}})
    wait_for(lambda: (apps.read_namespaced_deployment("s", ns).status.ready_replicas or 0) == 4, msg="4 ready")
    rs = client.AppsV1Api(k8s).list_namespaced_replica_set(ns, label_selector="app=s").items
    assert len(rs) == 1 and rs[0].spec.replicas == 4
    assert rs[0].metadata.owner_references[0].kind == "Deployment"
    pods = client.CoreV1Api(k8s).list_namespaced_pod(ns, label_selector="app=s").items
    assert len(pods) == 4 and all(p.status.phase == "Running" for p in pods)
    assert all(p.metadata.owner_references[0].name == rs[0].metadata.name for p in pods)
    # deleting the Deployment garbage-collects its ReplicaSets and pods
    apps.delete_namespaced_deployment("s", ns)
    wait_for(lambda: not client.CoreV1Api(k8s).list_namespaced_pod(ns, label_selector="app=s").items, msg="GC")
    assert not apps.list_namespaced_replica_set(ns, label_selector="app=s").items


def test_selectors_and_pagination(k8s, ns):
    core = client.CoreV1Api(k8s)
    for i in range(7):
        core.create_namespaced_config_map(ns, {"metadata": {"name": "c%d" % i, "labels": {
            "idx": str(i), "parity": "even" if i % 2 == 0 else "odd"}}})

    def names(items):
        return [i.metadata.name for i in items]

    assert names(core.list_namespaced_config_map(ns, label_selector="parity=odd").items) == ["c1", "c3", "c5"]
    assert names(core.list_namespaced_config_map(ns, label_selector="idx in (1,2),parity!=odd").items) == ["c2"]
    assert names(core.list_namespaced_config_map(ns, label_selector="idx notin (0,1,2,3,4,5)").items) == ["c6"]
    assert names(core.list_namespaced_config_map(ns, label_selector="!nolabel,idx").items)[:2] == ["c0", "c1"]
    assert names(core.list_namespaced_config_map(ns, field_selector="metadata.name=c4").items) == ["c4"]
    everywhere = core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=%s" % ns).items
    assert names(everywhere) == ["c%d" % i for i in range(7)] and {i.metadata.namespace for i in everywhere} == {ns}
    assert names(core.list_config_map_for_all_namespaces(
        field_selector="metadata.namespace=%s,metadata.name!=c0" % ns).items) == ["c%d" % i for i in range(1, 7)]
    got, cont = [], None
    while True:
        page = core.list_namespaced_config_map(ns, limit=3, _continue=cont, label_selector="idx")
        got += names(page.items)
        cont = page.metadata._continue
        if not cont:
            break
        assert page.metadata.remaining_item_count > 0
    assert got == ["c%d" % i for i in range(7)]
    with pytest.raises(ApiException) as e:
        core.list_namespaced_config_map(ns, label_selector="a in (")
    assert e.value.status == 400


def test_watch_sees_rollout(k8s, ns):
    apps = client.AppsV1Api(k8s)
    events = []

    def run():
        w = watch.Watch()
        for ev in w.stream(apps.list_namespaced_deployment, ns, field_selector="metadata.name=wt", timeout_seconds=20):
            events.append((ev["type"], ev["object"].status.ready_replicas))
            if ev["object"].status.ready_replicas == 2:
                w.stop()
    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)
    apps.create_namespaced_deployment(ns, deployment("wt", replicas=2))
    t.join(25)
    assert events[0][0] == "ADDED" and events[-1] == ("MODIFIED", 2)
    # a resourceVersion older than the event log answers 410 Expired in the stream
    code, body = None, None
    w = watch.Watch()
    with pytest.raises(ApiException) as e:
        for _event in w.stream(apps.list_namespaced_deployment, ns, resource_version="1", timeout_seconds=2):
            pass
    assert e.value.status == 410


def test_dynamic_client(k8s, ns):
    dyn = dynamic.DynamicClient(k8s)
    deploys = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    deploys.create(body=deployment("dy", replicas=1), namespace=ns)
    wait_for(lambda: deploys.get(name="dy", namespace=ns).status.availableReplicas == 1, msg="available")
    certs = dyn.resources.get(api_version="cert-manager.io/v1", kind="Certificate")
    lst = certs.get(namespace="clickview")
    assert [c.metadata.name for c in lst.items] == ["clickview-tls"]
    assert lst.items[0].kind == "Certificate"   # custom resources carry their kind in lists
    metrics = dyn.resources.get(api_version="metrics.k8s.io/v1beta1", kind="PodMetrics")
    m = metrics.get(namespace=ns)
    assert len(m.items) == 1 and m.items[0].containers[0].usage.cpu.endswith("n")
    hpa = dyn.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler")
    h = hpa.get(name="clickview-backend", namespace="clickview")
    assert h.status.currentMetrics[0].resource.current.averageUtilization > 0


def test_hpa_scales_up_hot_pods(k8s, ns):
    apps, auto = client.AppsV1Api(k8s), client.AutoscalingV2Api(k8s)
    apps.create_namespaced_deployment(ns, deployment("hot", "registry.clickview.lab/web:1.0-hot", replicas=1))
    auto.create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "hot"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hot"},
                 "minReplicas": 1, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 50}}}]}})
    wait_for(lambda: apps.read_namespaced_deployment("hot", ns).spec.replicas > 1, msg="HPA scale-up")

    def hpa_with_metrics():
        found = auto.read_namespaced_horizontal_pod_autoscaler("hot", ns)
        return found if found.status.current_metrics else None

    h = wait_for(hpa_with_metrics, msg="hpa metrics")
    assert h.status.current_metrics[0].resource.current.average_utilization > 50
    assert any(c.type == "ScalingActive" and c.status == "True" for c in h.status.conditions)


def test_memory_leak_image_is_oomkilled(k8s, ns):
    core = client.CoreV1Api(k8s)
    client.AppsV1Api(k8s).create_namespaced_deployment(ns, deployment("leak", "registry.clickview.lab/web:1.0-leak", replicas=1))

    def restarted():
        pods = core.list_namespaced_pod(ns, label_selector="app=leak").items
        return pods and pods[0].status.container_statuses and pods[0].status.container_statuses[0].restart_count >= 1 and pods[0]
    pod = wait_for(restarted, timeout=30, msg="OOM restart")
    cs = pod.status.container_statuses[0]
    assert cs.last_state.terminated.reason == "OOMKilled" and cs.last_state.terminated.exit_code == 137
    prev = core.read_namespaced_pod_log(pod.metadata.name, ns, previous=True)
    assert "out of memory" in prev and "heap usage high" in prev


def test_auth_401_403_raw(standin, ns):
    code, body = standin.raw("GET", "/api/v1/namespaces/%s/pods" % ns, token=None)
    assert code == 401 and body["reason"] == "Unauthorized"
    code, body = standin.raw("GET", "/api/v1/namespaces/%s/pods" % ns, token="wrong")
    assert code == 401
    code, body = standin.raw("GET", "/version", token=None)
    assert code == 200 and body["major"] == "1"
    code, body = standin.raw("GET", "/readyz", token=None)
    assert code == 200
    code, body = standin.raw("GET", "/api/v1/namespaces/%s/pods" % ns, token="readonly")
    assert code == 200 and body["kind"] == "PodList"
    code, body = standin.raw("POST", "/api/v1/namespaces/%s/configmaps" % ns, {"metadata": {"name": "x"}}, token="readonly")
    assert code == 403 and body["reason"] == "Forbidden"
    assert body["message"] == ('configmaps is forbidden: User "clickview-lab-readonly" cannot create resource '
                               '"configmaps" in API group "" in the namespace "%s"' % ns)
    code, body = standin.raw("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                             {"spec": {"resourceAttributes": {"verb": "patch", "resource": "deployments",
                                                              "group": "apps", "namespace": ns}}}, token="readonly")
    assert code == 201 and body["status"]["allowed"] is False


def test_bad_input_never_breaks_state(standin, ns):
    base = "/api/v1/namespaces/%s/configmaps" % ns
    code, body = standin.raw("POST", base, b"{not json")
    assert code == 400 and body["reason"] == "BadRequest"
    code, body = standin.raw("POST", base, b"kind: [unterminated", ctype="application/yaml")
    assert code == 400
    code, body = standin.raw("POST", base, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    assert code == 400 and "cannot be handled as a ConfigMap" in body["message"]
    code, body = standin.raw("POST", "/api/v1/namespaces/%s/widgets" % ns, {"metadata": {"name": "x"}})
    assert code == 404 and body["reason"] == "NotFound"
    code, body = standin.raw("GET", "/apis/nosuch.group/v1/things")
    assert code == 404
    code, body = standin.raw("POST", "/api/v1/namespaces/does-not-exist/configmaps", {"metadata": {"name": "x"}})
    assert code == 404 and body["message"] == 'namespaces "does-not-exist" not found'
    code, body = standin.raw("POST", base, {"metadata": {"name": "ok"}, "data": {"a": "b"}},
                             ctype="application/yaml")
    assert code == 201
    code, body = standin.raw("PATCH", base + "/ok", b"[{bad", ctype="application/json-patch+json")
    assert code == 400
    code, body = standin.raw("PATCH", base + "/ok", {"data": {"a": "c"}}, ctype="text/plain")
    assert code == 415 and body["reason"] == "UnsupportedMediaType"
    code, body = standin.raw("PUT", base + "/ok", {"metadata": {"name": "other"}})
    assert code == 400 and "does not match the name on the URL" in body["message"]
    code, body = standin.raw("POST", "/api/v1/namespaces/%s/secrets" % ns,
                             {"metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {}})
    assert code == 422 and body["details"]["causes"][0]["field"] == "data[tls.crt]"
    code, body = standin.raw("GET", base + "/ok")
    assert code == 200 and body["data"] == {"a": "b"}
    code, body = standin.raw("GET", "/readyz")
    assert code == 200


def _pb_field(num, payload):
    """One length-delimited protobuf field (payload shorter than 128 bytes)."""
    return bytes([num << 3 | 2, len(payload)]) + payload


def _pb_envelope(api_version, kind, raw=b""):
    type_meta = _pb_field(1, api_version.encode()) + _pb_field(2, kind.encode())
    return b"k8s\x00" + _pb_field(1, type_meta) + _pb_field(2, raw)


def test_protobuf_bodies_raw(standin, ns):
    pb = "application/vnd.kubernetes.protobuf"
    base = "/api/v1/namespaces/%s/configmaps" % ns
    # ConfigMap{metadata: {name: "pbcm"}, data: {"k": "v"}}, hand-encoded
    cm = _pb_field(1, _pb_field(1, b"pbcm")) + _pb_field(2, _pb_field(1, b"k") + _pb_field(2, b"v"))
    code, body = standin.raw("POST", base, _pb_envelope("v1", "ConfigMap", cm), ctype=pb)
    assert code == 201 and body["metadata"]["name"] == "pbcm" and body["data"] == {"k": "v"}
    code, body = standin.raw("POST", base, b"not a protobuf message", ctype=pb)
    assert code == 400 and body["reason"] == "BadRequest" and "expected prefix" in body["message"]
    code, body = standin.raw("POST", base, b"k8s\x00\x0a\x7f\x0a", ctype=pb)   # truncated
    assert code == 400 and body["reason"] == "BadRequest"
    # custom resources have no protobuf form: 415, as from a real API server
    code, body = standin.raw("POST", "/apis/cert-manager.io/v1/namespaces/%s/certificates" % ns,
                             _pb_envelope("cert-manager.io/v1", "Certificate", _pb_field(1, _pb_field(1, b"c"))),
                             ctype=pb)
    assert code == 415 and body["reason"] == "UnsupportedMediaType"
    code, body = standin.raw("POST", base, b"\xd9\xd9\xf7\xa0", ctype="application/cbor")
    assert code == 415 and body["reason"] == "UnsupportedMediaType"
    # a protobuf ConfigMap sent to the secrets endpoint is refused like its JSON form
    code, body = standin.raw("POST", "/api/v1/namespaces/%s/secrets" % ns, _pb_envelope("v1", "ConfigMap", cm), ctype=pb)
    assert code == 400
    code, body = standin.raw("GET", base)
    assert code == 200 and [c["metadata"]["name"] for c in body["items"]] == ["pbcm"]
