"""The deployment role (deploy, rollback, canary, blue-green) against a private Kubernetes API stand-in.

The stand-in (seeded clickview namespace, 40 simulated seconds per second, so a 600 s progress deadline passes in
15 s) is started by the `standin` fixture of test_k8s_rollback on a free port with its own state. The canary's
metrics come from a private copy of the lab's sample backend scraped by a private Prometheus: the stand-in's pods
are records that nothing can scrape, so, as in the lab, the sample backend's series stand in for the canary track
and its faults (error rate, latency) play a bad canary. Nothing here touches the shared lab.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from kubernetes import client, config

from conftest import ROOT, run_playbook
from test_k8s_rollback import standin  # noqa: F401  pylint: disable=unused-import  # a module-scoped fixture

NS = "clickview"
REG = "registry.clickview.lab"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
# the canary track's figures over the canary's 5 s window
ERROR_RATIO = ('sum(rate(http_requests_total{track="canary",status=~"5.."}[5s]))'
               ' / sum(rate(http_requests_total{track="canary"}[5s]))')
LATENCY_P95 = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{track="canary"}[5s])))'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    pytest.fail("%s did not come up" % url)


@pytest.fixture(scope="module")
def metrics(tmp_path_factory):
    """Two private sample backends scraped every second by a private Prometheus: the canary track (faults settable)
    and the stable track (always healthy), told apart by their track label."""
    if not os.access(PROMETHEUS, os.X_OK):
        pytest.skip("prometheus not installed (make apt)")
    d = tmp_path_factory.mktemp("canary-metrics")
    app_port, stable_port, prom_port = free_port(), free_port(), free_port()
    app, stable = (subprocess.Popen([sys.executable, str(ROOT / "lab" / "sample_app.py"), "--port", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for port in (app_port, stable_port))
    (d / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: clickview-backend\n"
        "    static_configs:\n"
        "      - {targets: ['127.0.0.1:%d'], labels: {app: clickview, component: backend, track: canary}}\n"
        "      - {targets: ['127.0.0.1:%d'], labels: {app: clickview, component: backend, track: stable}}\n"
        % (app_port, stable_port))
    prom = subprocess.Popen([PROMETHEUS, "--config.file=%s" % (d / "prometheus.yml"), "--storage.tsdb.path=%s" % (d / "data"),
                             "--web.listen-address=127.0.0.1:%d" % prom_port],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    app_url, prom_url = "http://127.0.0.1:%d" % app_port, "http://127.0.0.1:%d" % prom_port
    wait_http(app_url + "/health", app)
    wait_http("http://127.0.0.1:%d/health" % stable_port, stable)
    wait_http(prom_url + "/-/ready", prom)

    def faults(**wanted):
        req = urllib.request.Request(app_url + "/admin/faults", data=json.dumps(wanted).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    def figures():
        """The error ratio and P95 latency over the canary's 5 s window, None until there is data."""
        values = []
        for query in (ERROR_RATIO, LATENCY_P95):
            url = prom_url + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
            with urllib.request.urlopen(url, timeout=5) as r:
                result = json.load(r)["data"]["result"]
            values.append(float(result[0]["value"][1]) if result else None)
        return None if None in values else tuple(values)

    def wait_for_window(predicate, what):
        """Wait until the figures over the 5 s window are what the faults make them (polling the scrapes)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = figures()
            if now is not None and predicate(*now):
                return
            time.sleep(0.5)
        pytest.fail("the private Prometheus did not see %s (error ratio, p95: %s)" % (what, figures()))

    wait_for_window(lambda error_ratio, p95: True, "rate data")  # a few scrapes: rate() over the window has data
    yield {"prometheus": prom_url, "app": app_url, "faults": faults, "wait_for_window": wait_for_window}
    for proc in (prom, app, stable):
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def api(standin):  # noqa: F811  pylint: disable=redefined-outer-name
    return config.new_client_from_config(config_file=standin, context="clickview-lab")


@pytest.fixture(scope="module", autouse=True)
def short_deadlines(api):
    """A 120 s progress deadline (3 s at 40x) instead of the default 600 s, to keep the failed rollouts short."""
    for name in ("clickview-backend", "clickview-frontend"):
        client.AppsV1Api(api).patch_namespaced_deployment(name, NS, {"spec": {"progressDeadlineSeconds": 120}})


@pytest.fixture
def play(standin, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    def run(playbook, check=False, **extra):
        extra_vars = {"clickview_k8s_kubeconfig": standin, "clickview_report_dir": str(tmp_path),
                      "deployment_poll_interval": 1, "deployment_rollout_timeout": 120}
        extra_vars.update(extra)
        return run_playbook("playbooks/" + playbook, extra_vars=extra_vars, check=check, json_output=False)
    run.report = lambda kind: json.loads((tmp_path / ("deploy-%s-local-latest.json" % kind)).read_text())
    run.markdown = lambda kind: (tmp_path / ("deploy-%s-local-latest.md" % kind)).read_text(encoding="utf-8")
    run.dir = tmp_path
    return run


def dep(api, name):
    return client.AppsV1Api(api).read_namespaced_deployment(name, NS)


def image(api, name):
    return dep(api, name).spec.template.spec.containers[0].image


def pod_images(api, selector):
    pods = client.CoreV1Api(api).list_namespaced_pod(NS, label_selector=selector).items
    return sorted({p.spec.containers[0].image for p in pods})


def versions(api):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    return ({d.metadata.name: d.metadata.resource_version for d in apps.list_namespaced_deployment(NS).items},
            {s.metadata.name: s.metadata.resource_version for s in core.list_namespaced_service(NS).items})


def test_deploy_image_rolls_out_and_reports_history(api, play):
    rc, out = play("deploy_image.yml", deployment_name="clickview-frontend", deployment_image=REG + "/clickview-frontend:2.2.0")
    assert rc == 0, out
    assert image(api, "clickview-frontend") == REG + "/clickview-frontend:2.2.0"
    assert pod_images(api, "app=clickview-frontend") == [REG + "/clickview-frontend:2.2.0"]
    report = play.report("deploy-image")
    assert report["overall"] == "OK"
    assert report["checks"][0]["check"] == "deploy.rollout" and "successfully rolled out" in report["checks"][0]["figure"]
    current = [h for h in report["details"]["history"] if h["current"]]
    assert current[0]["images"] == [REG + "/clickview-frontend:2.2.0"]
    assert current[0]["revision"] == report["details"]["revision_before"] + 1


def test_broken_image_detected_and_rolled_back(api, play):
    before = image(api, "clickview-backend")
    rc, out = play("deploy_image.yml", deployment_image=REG + "/clickview-backend:1.5.0-broken")
    assert rc != 0
    report = play.report("deploy-image")
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["deploy.rollout"]["status"] == "FAIL"
    assert "exceeded its progress deadline" in checks["deploy.rollout"]["figure"]
    assert any(p["reason"] == "CrashLoopBackOff" for p in checks["deploy.rollout"]["detail"]["pods"])
    assert checks["deploy.rollback"]["status"] == "OK"
    assert image(api, "clickview-backend") == before
    assert pod_images(api, "app=clickview-backend") == [before]
    assert "deploy.rollout" in out  # the play's failure names the failed check


def test_broken_image_left_when_rollback_disabled(api, play):
    before = image(api, "clickview-frontend")
    rc, _out = play("deploy_image.yml", deployment_name="clickview-frontend", deployment_rollback_on_failure=False,
                    deployment_image=REG + "/clickview-frontend:2.3.0-broken")
    assert rc != 0
    checks = {c["check"]: c for c in play.report("deploy-image")["checks"]}
    assert checks["deploy.rollback"]["status"] == "WARN"
    assert image(api, "clickview-frontend") == REG + "/clickview-frontend:2.3.0-broken"
    broken = REG + "/clickview-frontend:2.3.0-broken"
    rc, out = play("deploy_rollback.yml", deployment_name="clickview-frontend",  # quick rollback repairs it
                   deployment_rollback_from_image=broken)
    assert rc == 0, out
    assert image(api, "clickview-frontend") == before
    assert dep(api, "clickview-frontend").status.ready_replicas == 2
    assert play.report("rollback")["actions"][0]["images_after"] == [before]
    # a second responder launching the same quick rollback of the broken image changes nothing
    rv = dep(api, "clickview-frontend").metadata.resource_version
    rc, out = play("deploy_rollback.yml", deployment_name="clickview-frontend", deployment_rollback_from_image=broken)
    assert rc == 0, out
    assert image(api, "clickview-frontend") == before
    assert dep(api, "clickview-frontend").metadata.resource_version == rv
    assert "already rolled back" in out


def test_rollback_to_revision_runs_that_revisions_image(api, play):
    rc, out = play("deploy_rollback_to_revision.yml", deployment_revision=2)
    assert rc == 0, out
    report = play.report("rollback-to-revision")
    wanted = REG + "/clickview-backend:1.3.0"  # seeded revision 2 = release 1.3.0
    assert report["details"]["images_after"] == [wanted]
    assert image(api, "clickview-backend") == wanted
    assert pod_images(api, "app=clickview-backend") == [wanted]
    # idempotent: revision 2 (renumbered by the controller) is found again, nothing written
    rv = dep(api, "clickview-backend").metadata.resource_version
    rc, out = play("deploy_rollback_to_revision.yml", deployment_revision=2)
    assert rc == 0, out
    assert dep(api, "clickview-backend").metadata.resource_version == rv


def test_bad_input_fails_naming_it_before_anything_changes(api, play):
    before = versions(api)
    rc, out = play("deploy_rollback_to_revision.yml", deployment_revision=99)
    assert rc != 0 and "revision 99 not found" in out and "available revisions" in out, out
    rc, out = play("deploy_image.yml", deployment_name="clickview-nope", deployment_image=REG + "/x:1")
    assert rc != 0 and "Deployment 'clickview-nope' does not exist" in out, out
    rc, out = play("deploy_rollback.yml", deployment_name="clickview-nope")
    assert rc != 0 and "clickview-nope" in out, out
    rc, out = play("deploy_image.yml", deployment_container="nope", deployment_image=REG + "/x:1")
    assert rc != 0 and "has no container 'nope'" in out, out
    rc, out = play("deploy_image.yml")  # no image: the argument spec refuses
    assert rc != 0 and "deployment_image" in out, out
    assert versions(api) == before


def test_check_mode_changes_nothing(api, play):
    before = versions(api)
    rc, out = play("deploy_image.yml", check=True, deployment_image=REG + "/clickview-backend:9.9.9")
    assert rc == 0, out
    rc, out = play("deploy_rollback_to_revision.yml", check=True, deployment_revision=1)
    assert rc == 0, out
    assert "would be rolled back" in out
    rc, out = play("deploy_canary.yml", check=True, deployment_image=REG + "/clickview-backend:9.9.9")
    assert rc == 0, out
    rc, out = play("deploy_blue_green.yml", check=True, deployment_image=REG + "/clickview-backend:9.9.9")
    assert rc == 0, out
    assert versions(api) == before


CANARY = {"deployment_canary_analysis_seconds": 4, "deployment_canary_sample_interval": 2,
          "deployment_canary_rate_window": "5s", "deployment_canary_share_percent": 25,
          "deployment_canary_selectors": {"canary": 'track="canary"', "stable": 'track="stable"'}}


def canary_chart(play, report):
    """The canary-against-stable chart: each track's peak and last from the report's JSON, after checking that the
    SVG beside the report draws both tracks and that the markdown shows it."""
    chart = report["details"]["chart"]["series"]
    assert list(chart) == ["canary", "stable"], report["details"]["chart"]
    markdown = play.markdown("canary")
    svg_name = markdown.split("](")[-1].split(")")[0]
    assert svg_name.endswith("-canary.svg") and "## Charts" in markdown, markdown
    root = ET.fromstring((play.dir / svg_name).read_text(encoding="utf-8"))
    lines = root.findall("{http://www.w3.org/2000/svg}polyline[@class='series']")
    assert [line.get("data-series") for line in lines] == ["canary", "stable"]
    for name, series in chart.items():
        assert series["points"] and series["sparkline"], (name, series)
        assert "- %s: `%s`" % (name, series["sparkline"]) in markdown
    return {name: (series["peak"], series["last"]) for name, series in chart.items()}


def test_canary_promoted_on_good_metrics(api, play, metrics):
    metrics["faults"]()  # healthy: 0.5 % errors, ~80 ms
    metrics["wait_for_window"](lambda error_ratio, p95: error_ratio < 0.02 and p95 < 0.4, "healthy figures")
    new = REG + "/clickview-backend:1.6.0"
    rc, out = play("deploy_canary.yml", deployment_image=new, deployment_prometheus_url=metrics["prometheus"], **CANARY)
    assert rc == 0, out
    report = play.report("canary")
    assert report["details"]["decision"] == "promote"
    assert report["details"]["canary_replicas"] == 1 and report["details"]["canary_share_percent"] == 25.0
    samples = report["details"]["canary_samples"]
    assert len(samples) == 2 and all(s["error_ratio"] < 0.05 and s["latency_p95_seconds"] < 0.5 for s in samples)
    # both tracks healthy on the chart
    assert all(peak < 0.05 for peak, _last in canary_chart(play, report).values())
    assert image(api, "clickview-backend") == new
    assert pod_images(api, "app=clickview-backend") == [new]
    names = [d.metadata.name for d in client.AppsV1Api(api).list_namespaced_deployment(NS).items]
    assert "clickview-backend-canary" not in names


def test_a_chart_that_cannot_be_drawn_never_stops_the_decision(api, play, metrics):
    metrics["faults"]()
    metrics["wait_for_window"](lambda error_ratio, p95: error_ratio < 0.02 and p95 < 0.4, "healthy figures")
    new = REG + "/clickview-backend:1.6.1"
    # four tracks: more series than the chart draws, so drawing it fails
    selectors = dict(CANARY["deployment_canary_selectors"], blue='track="blue"', green='track="green"')
    rc, out = play("deploy_canary.yml", deployment_image=new, deployment_prometheus_url=metrics["prometheus"],
                   **dict(CANARY, deployment_canary_selectors=selectors))
    assert rc == 0, out
    report = play.report("canary")
    assert report["details"]["decision"] == "promote" and image(api, "clickview-backend") == new
    assert report["details"]["chart"] == {} and "## Charts" not in play.markdown("canary")
    assert not list(play.dir.glob("*-canary.svg"))


def test_canary_rolled_back_on_bad_metrics(api, play, metrics):
    before = image(api, "clickview-backend")
    metrics["faults"](error_rate=0.3, latency_ms=900)
    metrics["wait_for_window"](lambda error_ratio, p95: error_ratio > 0.1 and p95 > 0.5, "the bad figures")
    try:
        rc, out = play("deploy_canary.yml", deployment_image=REG + "/clickview-backend:1.7.0",
                       deployment_prometheus_url=metrics["prometheus"], **CANARY)
    finally:
        metrics["faults"]()
    assert rc != 0
    report = play.report("canary")
    assert report["details"]["decision"] == "rollback"
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["canary.error_ratio"]["status"] == "FAIL" and checks["canary.latency_p95_seconds"]["status"] == "FAIL"
    assert checks["canary.decision"]["status"] == "FAIL" and "rolled back" in checks["canary.decision"]["figure"]
    assert len(report["details"]["canary_samples"]) == 1  # rolled back at the first bad sample
    assert report["details"]["canary_samples"][0]["error_ratio"] > 0.1
    # the chart shows the canary above the threshold and the stable track under it
    chart = canary_chart(play, report)
    assert chart["canary"][0] > 0.1 and chart["stable"][0] < 0.05, chart
    assert image(api, "clickview-backend") == before
    assert pod_images(api, "app=clickview-backend") == [before]
    names = [d.metadata.name for d in client.AppsV1Api(api).list_namespaced_deployment(NS).items]
    assert "clickview-backend-canary" not in names


def endpoints(api, service="clickview-backend"):
    ep = client.CoreV1Api(api).read_namespaced_endpoints(service, NS)
    return sorted(a.target_ref.name for s in ep.subsets or [] for a in s.addresses or [])


def test_blue_green_switch_and_switch_back_on_request(api, play):
    live = image(api, "clickview-backend")
    new = REG + "/clickview-backend:2.0.0"
    rc, out = play("deploy_blue_green.yml", deployment_image=new, deployment_blue_green_soak_seconds=1)
    assert rc == 0, out
    svc = client.CoreV1Api(api).read_namespaced_service("clickview-backend", NS)
    assert svc.spec.selector == {"app": "clickview-backend", "slot": "green"}
    assert json.loads(svc.metadata.annotations["runbook.clickview.app/previous-selector"]) == {"app": "clickview-backend"}
    eps = endpoints(api)
    assert len(eps) == 3 and all(n.startswith("clickview-backend-green-") for n in eps)
    assert image(api, "clickview-backend-green") == new
    assert image(api, "clickview-backend") == live  # blue keeps running for a quick switch back
    checks = {c["check"]: c for c in play.report("blue-green")["checks"]}
    assert {name: (checks[name]["status"], checks[name]["value"], checks[name]["unit"])
            for name in ("blue_green.health", "blue_green.switch.endpoints")} == {
        "blue_green.health": ("OK", 3, "pods"), "blue_green.switch.endpoints": ("OK", 3, "pods")}

    rc, out = play("deploy_blue_green_switch_back.yml")
    assert rc == 0, out
    svc = client.CoreV1Api(api).read_namespaced_service("clickview-backend", NS)
    assert svc.spec.selector == {"app": "clickview-backend"}
    eps = endpoints(api)
    assert len(eps) == 3 and not any(n.startswith("clickview-backend-green-") for n in eps)
    assert dep(api, "clickview-backend-green").spec.replicas == 0  # the old selector matches green's pods too

    rv = client.CoreV1Api(api).read_namespaced_service("clickview-backend", NS).metadata.resource_version
    rc, out = play("deploy_blue_green_switch_back.yml")  # already back: nothing to do
    assert rc == 0, out
    assert client.CoreV1Api(api).read_namespaced_service("clickview-backend", NS).metadata.resource_version == rv


def test_blue_green_not_switched_to_a_broken_slot(api, play):
    before = client.CoreV1Api(api).read_namespaced_service("clickview-backend", NS).spec.selector
    rc, _out = play("deploy_blue_green.yml", deployment_image=REG + "/clickview-backend:2.1.0-broken",
                    deployment_blue_green_soak_seconds=0)
    assert rc != 0
    checks = {c["check"]: c for c in play.report("blue-green")["checks"]}
    assert checks["blue_green.rollout"]["status"] == "FAIL" and checks["blue_green.switch"]["status"] == "FAIL"
    assert client.CoreV1Api(api).read_namespaced_service("clickview-backend", NS).spec.selector == before


def test_blue_green_switched_back_when_the_live_check_fails(api, play, metrics):
    metrics["faults"](healthy=False)  # the "public endpoint" answers 503 after the switch
    try:
        rc, _out = play("deploy_blue_green.yml", deployment_image=REG + "/clickview-backend:2.2.0",
                        deployment_blue_green_soak_seconds=0, deployment_blue_green_live_retries=2,
                        deployment_blue_green_live_url=metrics["app"] + "/health")
    finally:
        metrics["faults"]()
    assert rc != 0
    checks = {c["check"]: c for c in play.report("blue-green")["checks"]}
    assert checks["blue_green.switch.endpoints"]["status"] == "OK"
    assert checks["blue_green.switch.live_url"]["status"] == "FAIL" and "503" in checks["blue_green.switch.live_url"]["figure"]
    assert checks["blue_green.switch_back.endpoints"]["status"] == "OK"
    svc = client.CoreV1Api(api).read_namespaced_service("clickview-backend", NS)
    assert svc.spec.selector == {"app": "clickview-backend"}
    assert not any(n.startswith("clickview-backend-green-") for n in endpoints(api))
