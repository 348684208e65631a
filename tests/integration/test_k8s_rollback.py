"""clickview.runbook.k8s_rollback against a private Kubernetes API stand-in, compared with kubectl rollout undo.

The stand-in runs on a free port with its own state directory, the seeded clickview namespace and fast
simulated time, so these tests neither disturb nor depend on the shared lab instance. Every test that
changes a workload works in its own namespace or on its own object.
"""
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from conftest import ROOT, run_module

MODULE = "clickview.runbook.k8s_rollback"
SERVER = ROOT / "lab" / "k8s_standin" / "server.py"
KUBECTL = os.environ.get("KUBECTL", str(ROOT / ".tools" / "bin" / "kubectl"))
TIME_SCALE = 40  # simulated seconds per wall-clock second: a 60 s progress deadline passes in 1.5 s
REG = "registry.clickview.lab"


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    d = tmp_path_factory.mktemp("k8s-rollback")
    state, kubeconfig = d / "state", d / "kubeconfig"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(SERVER), "--host", "127.0.0.1", "--port", str(port),
                             "--state-dir", str(state), "--kubeconfig", str(kubeconfig), "--seed",
                             "--time-scale", str(TIME_SCALE)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            ctx = ssl.create_default_context(cafile=str(state / "ca.crt"))
            with urllib.request.urlopen("https://127.0.0.1:%d/readyz" % port, context=ctx, timeout=1) as r:
                if r.status == 200 and kubeconfig.exists():
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the Kubernetes API stand-in did not start")
        time.sleep(0.1)
    yield str(kubeconfig)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def kubectl(standin, tmp_path_factory):
    if not os.access(KUBECTL, os.X_OK):
        pytest.skip("kubectl not found at %s (make kubectl, or set KUBECTL)" % KUBECTL)
    cache = str(tmp_path_factory.mktemp("kubecache"))

    def run(*args, check=True, context=None, stdin=None):
        cmd = [KUBECTL, "--kubeconfig", standin, "--cache-dir", cache] + (["--context", context] if context else [])
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120, input=stdin, check=False)
        if check and p.returncode:
            raise AssertionError("kubectl %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p
    return run


@pytest.fixture
def k(kubectl, standin):
    """kubectl helpers bound to a fresh namespace."""
    ns = "rb-" + uuid.uuid4().hex[:8]
    kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))

    class K:
        namespace = ns

        @staticmethod
        def run(*args, **kw):
            return kubectl("-n", ns, *args, **kw)

        @staticmethod
        def get(kind, name):
            return json.loads(kubectl("-n", ns, "get", kind, name, "-o", "json").stdout)

        @staticmethod
        def items(kind, selector):
            return json.loads(kubectl("-n", ns, "get", kind, "-l", selector, "-o", "json").stdout)["items"]

        @staticmethod
        def deploy(name, images, replicas=2, deadline=600, labels=None, wait=True):
            """A Deployment with one revision per image (change-cause 'release <tag>')."""
            labels = dict(labels or {}, app=name)
            manifest = {"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": name, "labels": labels,
                                     "annotations": {"team": "platform", "runbook.clickview.app/owner": "sre",
                                                     "kubernetes.io/change-cause": "release " + images[0].rsplit(":", 1)[1]}},
                        "spec": {"replicas": replicas, "progressDeadlineSeconds": deadline,
                                 "selector": {"matchLabels": {"app": name}},
                                 "template": {"metadata": {"labels": {"app": name}},
                                              "spec": {"containers": [{"name": "web", "image": images[0],
                                                                       "env": [{"name": "RELEASE", "value": images[0]}]}]}}}}
            kubectl("-n", ns, "apply", "-f", "-", stdin=json.dumps(manifest))
            K.settle("deployment/" + name, wait)
            for image in images[1:]:
                K.set_image(name, image, wait)
            return K.get("deployment", name)

        @staticmethod
        def set_image(name, image, wait=True):
            # one patch, so the change-cause lands on the new ReplicaSet only
            patch = {"metadata": {"annotations": {"kubernetes.io/change-cause": "release " + image.rsplit(":", 1)[1]}},
                     "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}
            kubectl("-n", ns, "patch", "deployment/" + name, "--type", "strategic", "-p", json.dumps(patch))
            K.settle("deployment/" + name, wait)

        @staticmethod
        def settle(ref, wait=True):
            if wait:
                kubectl("-n", ns, "rollout", "status", ref, "--timeout=60s")

        @staticmethod
        def revisions(name):
            """{revision: image} of a Deployment's ReplicaSets, as kubectl rollout history numbers them."""
            return {int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]):
                    r["spec"]["template"]["spec"]["containers"][0]["image"] for r in K.items("replicasets", "app=" + name)}

        @staticmethod
        def rollback(args, **kw):
            return run_module(MODULE, dict({"kubeconfig": standin, "namespace": ns}, **args), **kw)

    return K


def image_of(obj):
    return obj["spec"]["template"]["spec"]["containers"][0]["image"]


def img(tag, name="web"):
    return "%s/%s:%s" % (REG, name, tag)


# ---------------------------------------------------------------- Deployments
def test_rollback_after_two_earlier_rollbacks_matches_kubectl_and_keeps_annotations(k):
    images = [img("1.0"), img("1.1"), img("1.2"), img("1.3")]
    for name in ("web", "twin"):
        k.deploy(name, images)
        k.run("rollout", "undo", "deployment/" + name)            # 1.3 -> 1.2 (revision 5)
        k.settle("deployment/" + name)
        k.run("rollout", "undo", "deployment/" + name)            # 1.2 -> 1.3 (revision 6)
        k.settle("deployment/" + name)
    assert k.revisions("web") == {1: img("1.0"), 2: img("1.1"), 5: img("1.2"), 6: img("1.3")}

    r = k.rollback({"name": "web", "reason": "INC-7 error rate"})
    k.run("rollout", "undo", "deployment/twin")
    k.settle("deployment/twin")

    assert not r.get("failed"), r
    assert r["changed"] is True
    assert (r["from_revision"], r["to_revision"]) == (6, 5)
    web, twin = k.get("deployment", "web"), k.get("deployment", "twin")
    assert image_of(web) == image_of(twin) == img("1.2")
    # the controller renumbers the revision rolled back to, as after kubectl rollout undo
    assert k.revisions("web") == k.revisions("twin") == {1: img("1.0"), 2: img("1.1"), 6: img("1.3"), 7: img("1.2")}
    ann = web["metadata"]["annotations"]
    assert ann["deployment.kubernetes.io/revision"] == "7"
    assert ann["team"] == "platform" and ann["runbook.clickview.app/owner"] == "sre"
    assert ann["kubernetes.io/change-cause"] == "rollback to revision 5 (%s) from revision 6: INC-7 error rate" % img("1.2")
    assert web["metadata"]["labels"] == {"app": "web"}
    # the change-cause is what `kubectl rollout history` shows for the new revision
    history = k.run("rollout", "history", "deployment/web").stdout
    assert "7         rollback to revision 5" in history
    # waited: the rollout is complete when the task returns
    st = r["status"]
    assert st["updatedReplicas"] == st["availableReplicas"] == st["replicas"] == 2
    assert st["observedGeneration"] == web["metadata"]["generation"]
    assert r["rollbacks"][0]["rollout"] == 'deployment "web" successfully rolled out'
    # the wait's own progress: one sample per poll, in time order, the last one the completed rollout
    progress = r["progress"]
    assert progress and progress == r["rollbacks"][0]["progress"], r
    assert all(set(p) == {"elapsed", "replicas", "updated", "ready", "available"} for p in progress), progress
    assert [p["elapsed"] for p in progress] == sorted(p["elapsed"] for p in progress)
    assert progress[-1] == dict(progress[-1], replicas=2, updated=2, ready=2, available=2), progress
    assert r["waited"] == r["rollbacks"][0]["waited"] == progress[-1]["elapsed"] >= 0
    assert [h["revision"] for h in r["history"]] == [1, 2, 5, 6]
    assert [h["current"] for h in r["history"]] == [False, False, False, True]
    assert r["history"][2]["images"] == [img("1.2")] and r["history"][2]["change_cause"] == "release 1.2"


def test_to_revision_rolls_back_and_second_run_is_unchanged(k):
    k.deploy("web", [img("1.0"), img("1.1"), img("1.2")])
    r = k.rollback({"name": "web", "to_revision": 1})
    assert r["changed"] is True and (r["from_revision"], r["to_revision"]) == (3, 1), r
    dep = k.get("deployment", "web")
    assert image_of(dep) == img("1.0")
    assert dep["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "RELEASE", "value": img("1.0")}]
    assert "pod-template-hash" not in dep["spec"]["template"]["metadata"]["labels"]
    rv = dep["metadata"]["resourceVersion"]

    # revision 1 is now revision 4; the same task again finds it and changes nothing
    again = k.rollback({"name": "web", "to_revision": 1})
    assert again["changed"] is False, again
    assert "already runs revision 4" in again["msg"]
    assert k.get("deployment", "web")["metadata"]["resourceVersion"] == rv


def test_missing_revision_fails_listing_the_available_ones_and_changes_nothing(k):
    dep = k.deploy("web", [img("1.0"), img("1.1"), img("1.2")])
    rv = dep["metadata"]["resourceVersion"]
    r = k.rollback({"name": "web", "to_revision": 42})
    assert r["failed"] and r["changed"] is False
    assert "deployment/web: revision 42 not found (available revisions: 1, 2, 3)" in r["msg"]
    assert r["available_revisions"] == [1, 2, 3]
    assert "Traceback" not in json.dumps(r)
    assert k.get("deployment", "web")["metadata"]["resourceVersion"] == rv


@pytest.mark.parametrize("args, words", [
    ({"name": "web", "to_revision": 0}, ["to_revision", "positive", "got 0"]),
    ({"name": "web", "to_revision": -3}, ["to_revision", "positive"]),
    ({"name": "web", "kind": "ReplicaSet"}, ["kind", "Deployment", "StatefulSet", "DaemonSet"]),
    ({"name": "nope"}, ['Deployment "nope" not found in namespace']),
    ({"label_selectors": ["app=nothing-here"]}, ['no Deployment in namespace', '"app=nothing-here"']),
    ({"name": "web", "label_selectors": ["app=web"]}, ["mutually exclusive", "name", "label_selectors"]),
    ({"name": "web", "wait_timeout": 0}, ["wait_timeout"]),
])
def test_bad_input_fails_naming_it_and_changes_nothing(k, args, words):
    rv = k.deploy("web", [img("1.0"), img("1.1")])["metadata"]["resourceVersion"]
    r = k.rollback(args)
    assert r["failed"] and not r.get("changed"), r
    for w in words:
        assert w in r["msg"], r["msg"]
    assert "Traceback" not in json.dumps(r)
    assert k.get("deployment", "web")["metadata"]["resourceVersion"] == rv


def test_no_history_fails_naming_the_object(k):
    rv = k.deploy("web", [img("1.0")])["metadata"]["resourceVersion"]
    r = k.rollback({"name": "web"})
    assert r["failed"]
    assert "deployment/web: no revision before the current revision 1 to roll back to (available revisions: 1)" in r["msg"]
    assert k.get("deployment", "web")["metadata"]["resourceVersion"] == rv


def test_paused_deployment_is_refused(k):
    k.deploy("web", [img("1.0"), img("1.1")])
    k.run("rollout", "pause", "deployment/web")
    rv = k.get("deployment", "web")["metadata"]["resourceVersion"]
    r = k.rollback({"name": "web"})
    assert r["failed"] and "paused" in r["msg"]
    assert k.get("deployment", "web")["metadata"]["resourceVersion"] == rv


def test_check_mode_and_diff_change_nothing(k):
    dep = k.deploy("web", [img("1.0"), img("1.1")])
    r = k.rollback({"name": "web"}, check=True, diff=True)
    assert r["changed"] is True and (r["from_revision"], r["to_revision"]) == (2, 1), r
    assert "would be rolled back from revision 2 to revision 1" in r["msg"]
    after = k.get("deployment", "web")
    assert after["metadata"]["resourceVersion"] == dep["metadata"]["resourceVersion"]
    assert image_of(after) == img("1.1")
    (diff,) = r["diff"]
    assert "image: %s" % img("1.1") in diff["before"] and "image: %s" % img("1.0") in diff["after"]
    assert "revision 2" in diff["before_header"] and "revision 1" in diff["after_header"]
    fields = {(c["container"], c["field"]) for c in r["rollbacks"][0]["changes"]}
    assert fields == {("web", "image")}


def test_history_only_returns_history_and_changes_nothing(k):
    dep = k.deploy("web", [img("1.0"), img("1.1"), img("1.2")])
    r = k.rollback({"name": "web", "history_only": True})
    assert r["changed"] is False and not r.get("failed"), r
    assert "progress" not in r and "waited" not in r   # nothing was waited for
    assert [(h["revision"], h["images"], h["change_cause"], h["current"]) for h in r["history"]] == [
        (1, [img("1.0")], "release 1.0", False), (2, [img("1.1")], "release 1.1", False),
        (3, [img("1.2")], "release 1.2", True)]
    assert all(h["created"] for h in r["history"])
    assert k.get("deployment", "web")["metadata"]["resourceVersion"] == dep["metadata"]["resourceVersion"]


def test_rollback_from_a_timed_out_broken_release_succeeds(k):
    k.deploy("web", [img("1.0")], deadline=30)
    k.set_image("web", img("1.1-broken"), wait=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:   # the broken release exceeds its progress deadline
        conds = k.get("deployment", "web")["status"].get("conditions") or []
        if any(c.get("reason") == "ProgressDeadlineExceeded" for c in conds):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the broken release never exceeded its progress deadline")
    r = k.rollback({"name": "web", "wait_timeout": 60})
    assert not r.get("failed"), r
    assert image_of(k.get("deployment", "web")) == img("1.0")
    assert r["status"]["availableReplicas"] == 2


def test_rollback_to_a_broken_revision_fails_with_the_reason(k):
    k.deploy("web", [img("1.0")], deadline=30)
    k.set_image("web", img("1.1-broken"), wait=False)
    k.set_image("web", img("1.2"))
    started = time.monotonic()
    r = k.rollback({"name": "web", "to_revision": 2, "wait_timeout": 60})
    assert r["failed"], r
    assert time.monotonic() - started < 40   # failed on the progress deadline, not on wait_timeout
    assert r["changed"] is True
    assert "rollback of deployment/web did not complete" in r["msg"]
    assert 'exceeded its progress deadline' in r["msg"] and "CrashLoopBackOff" in r["msg"]
    rb = r["rollbacks"][0]
    assert any(c["reason"] == "ProgressDeadlineExceeded" for c in rb["conditions"])
    assert rb["pods"] and all(p["image"] == img("1.1-broken") for p in rb["pods"])
    assert any(e["reason"] == "ProgressDeadlineExceeded" for e in rb["events"])
    assert image_of(k.get("deployment", "web")) == img("1.1-broken")
    # what the wait saw until the deadline: never all replicas available on the broken revision
    assert rb["progress"] and r["progress"] == rb["progress"], r
    assert all(p["available"] < p["replicas"] or p["updated"] < p["replicas"] for p in rb["progress"]), rb["progress"]
    assert r["waited"] == rb["progress"][-1]["elapsed"] > 0


def test_label_selector_rolls_back_each_deployment_to_its_previous_revision(k):
    k.deploy("api", [img("1.0", "api"), img("1.1", "api")], labels={"group": "backend"})
    k.deploy("worker", [img("3.0", "worker"), img("3.1", "worker"), img("3.2", "worker")], labels={"group": "backend"})
    k.deploy("front", [img("5.0", "front"), img("5.1", "front")], labels={"group": "frontend"})
    r = k.rollback({"label_selectors": ["group=backend"]})
    assert r["changed"] is True and not r.get("failed"), r
    assert [(x["name"], x["from_revision"], x["to_revision"]) for x in r["rollbacks"]] == [("api", 2, 1), ("worker", 3, 2)]
    assert image_of(k.get("deployment", "api")) == img("1.0", "api")
    assert image_of(k.get("deployment", "worker")) == img("3.1", "worker")
    assert image_of(k.get("deployment", "front")) == img("5.1", "front")
    assert all(x["rollout"].endswith("successfully rolled out") for x in r["rollbacks"])
    # each workload's wait has its own progress; the task's waited is the longest
    assert all(x["progress"] and x["progress"][-1]["available"] == 2 for x in r["rollbacks"]), r["rollbacks"]
    assert "progress" not in r and r["waited"] == max(x["waited"] for x in r["rollbacks"])


def test_read_only_token_gets_a_clear_403_and_nothing_changes(k):
    rv = k.deploy("web", [img("1.0"), img("1.1")])["metadata"]["resourceVersion"]
    r = k.rollback({"name": "web", "context": "clickview-lab-readonly"})
    assert r["failed"]
    assert "permission denied" in r["msg"] and "403" in r["msg"] and "patch" in r["msg"]
    assert k.get("deployment", "web")["metadata"]["resourceVersion"] == rv
    # the result never says a rollback happened that did not (the role records it in the incident timeline)
    assert r["changed"] is False and r["rollbacks"][0]["outcome"] == "failed", r
    assert "was NOT rolled back" in r["rollbacks"][0]["msg"] and not r["rollbacks"][0]["changed"]
    # reading is enough for check mode and the history
    r = k.rollback({"name": "web", "context": "clickview-lab-readonly"}, check=True)
    assert r["changed"] is True and not r.get("failed"), r


@pytest.mark.parametrize("how", [{"from_image": img("1.2")}, {"to_revision": 2}, {"from_revision": 3}],
                         ids=["from_image", "to_revision", "from_revision"])
def test_two_responders_rolling_back_at_once_never_restore_the_bad_release(k, how):
    """EDA remediation and on-call (or CI verify and on-call) both roll back the bad release 1.2, five times
    over: the end state is always 1.1, the release before it, and the results say who did what."""
    from concurrent.futures import ThreadPoolExecutor
    for round_ in range(5):
        name = "race%d" % round_
        k.deploy(name, [img("1.0"), img("1.1"), img("1.2")], replicas=1)
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda dummy: k.rollback(dict({"name": name, "wait": False}, **how)), range(2)))
        assert image_of(k.get("deployment", name)) == img("1.1"), (round_, results)
        assert all("rollbacks" in r for r in results), [(r.get("msg"), r.get("module_stderr"), r.get("module_stdout")) for r in results]
        outcomes = [r["rollbacks"][0]["outcome"] for r in results]
        assert outcomes.count("rolled_back") == 1, (round_, outcomes)
        assert set(outcomes) - {"rolled_back"} <= {"already_rolled_back", "unchanged"}, (round_, outcomes)
        assert [r["changed"] for r in results].count(True) == 1, results
        # a third responder, late, changes nothing either
        late = k.rollback(dict({"name": name, "wait": False}, **how))
        assert late["changed"] is False and image_of(k.get("deployment", name)) == img("1.1"), late


# ---------------------------------------------------------------- StatefulSet and DaemonSet (seeded objects)
def controller_revisions(kubectl, selector):
    items = json.loads(kubectl("-n", "clickview", "get", "controllerrevisions", "-l", selector, "-o", "json").stdout)["items"]
    return {c["revision"]: c["data"]["spec"]["template"]["spec"]["containers"][0]["image"] for c in items}


def test_statefulset_rollback_via_controller_revisions(kubectl, standin):
    assert controller_revisions(kubectl, "app=postgres") == {1: "docker.io/library/postgres:15.5",
                                                             2: "docker.io/library/postgres:15.6"}
    r = run_module(MODULE, {"kubeconfig": standin, "namespace": "clickview", "kind": "StatefulSet",
                            "name": "postgres", "wait_timeout": 120})
    assert r["changed"] is True and not r.get("failed"), r
    assert (r["from_revision"], r["to_revision"]) == (2, 1)
    sts = json.loads(kubectl("-n", "clickview", "get", "statefulset", "postgres", "-o", "json").stdout)
    assert image_of(sts) == "docker.io/library/postgres:15.5"
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
    assert sts["status"]["readyReplicas"] == 1
    assert controller_revisions(kubectl, "app=postgres") == {3: "docker.io/library/postgres:15.5",
                                                             2: "docker.io/library/postgres:15.6"}
    again = run_module(MODULE, {"kubeconfig": standin, "namespace": "clickview", "kind": "StatefulSet",
                                "name": "postgres", "to_revision": 3})
    assert again["changed"] is False, again


def test_daemonset_rollback_via_controller_revisions(kubectl, standin):
    ds_ref = "daemonset/clickview-log-shipper"
    kubectl("-n", "clickview", "set", "image", ds_ref, "shipper=docker.io/fluent/fluent-bit:3.1.0")
    kubectl("-n", "clickview", "rollout", "status", ds_ref, "--timeout=60s")
    r = run_module(MODULE, {"kubeconfig": standin, "namespace": "clickview", "kind": "DaemonSet",
                            "name": "clickview-log-shipper", "change_cause": "INC-9 fluent-bit 3.1 drops logs"})
    assert r["changed"] is True and not r.get("failed"), r
    assert (r["from_revision"], r["to_revision"]) == (2, 1)
    ds = json.loads(kubectl("-n", "clickview", "get", ds_ref, "-o", "json").stdout)
    assert image_of(ds) == "docker.io/fluent/fluent-bit:3.0.4"
    assert ds["metadata"]["annotations"]["kubernetes.io/change-cause"] == "INC-9 fluent-bit 3.1 drops logs"
    assert ds["status"]["updatedNumberScheduled"] == ds["status"]["numberAvailable"] == ds["status"]["desiredNumberScheduled"] > 0
    assert controller_revisions(kubectl, "app=clickview-log-shipper") == {
        2: "docker.io/fluent/fluent-bit:3.1.0", 3: "docker.io/fluent/fluent-bit:3.0.4"}


def test_token_connection_without_kubeconfig_and_the_token_stays_out_of_the_result(k, standin):
    import yaml
    with open(standin) as f:
        cfg = yaml.safe_load(f)
    token = next(u["user"]["token"] for u in cfg["users"] if u["name"] == "clickview-lab-admin")
    server = cfg["clusters"][0]["cluster"]["server"]
    ca = os.path.join(os.path.dirname(standin), "state", "ca.crt")
    k.deploy("web", [img("1.0"), img("1.1")])
    r = run_module(MODULE, {"host": server, "api_key": token, "ca_cert": ca, "namespace": k.namespace,
                            "name": "web", "to_revision": 1}, env={"KUBECONFIG": "/nonexistent"})
    assert r["changed"] is True and not r.get("failed"), r
    assert image_of(k.get("deployment", "web")) == img("1.0")
    assert token not in json.dumps(r)
    # a wrong token is refused with a message that says so
    r = run_module(MODULE, {"host": server, "api_key": "not-a-token", "ca_cert": ca, "namespace": k.namespace,
                            "name": "web"}, env={"KUBECONFIG": "/nonexistent"})
    assert r["failed"] and "not-a-token" not in r["msg"]
    assert "401" in r["msg"] or "credentials" in r["msg"], r["msg"]
