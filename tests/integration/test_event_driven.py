"""Event-driven remediation end to end on the lab (docs/event-driven.md).

The sample backend's error rate is raised; a private Prometheus (scraping the lab's sample app
with the lab's rules, lab/config/rules.yml) fires HighErrorRate; a private Alertmanager posts it
to ansible-rulebook running extensions/eda/rulebooks/alert_remediation.yml with the lab's
event-driven variables (inventory/local/group_vars/all/event_driven.yml); the rulebook runs the
playbook mapped to HighErrorRate (the high-error-rate alert playbook, investigation only: the
lab's remediation is off, as in production), its report appears and its summary reaches the
chat channel (the lab's webhook sink). Alertmanager's re-notifications and a
flap (resolved, then firing again) of the same alert must not run the playbook a second time.

The shared lab's Prometheus and Alertmanager are left alone: the private pair lives in tmp_path
on free ports, for the duration of the test only.
"""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from conftest import ROOT, VENV_BIN, ansible_env

RULEBOOK = ROOT / "extensions" / "eda" / "rulebooks" / "alert_remediation.yml"
# the EDA controller's variant: the same rules, launching AWX workflows (tests/unit/test_eda_controller.py)
CONTROLLER_RULEBOOK = ROOT / "extensions" / "eda" / "rulebooks" / "alert_remediation_controller.yml"
LAB_VARS = ROOT / "inventory" / "local" / "group_vars" / "all" / "event_driven.yml"
PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
TOKEN = "lab-eda-webhook-token"    # lab only, not a secret
LAB_CA = ROOT / "lab" / ".state" / "tls" / "ca.crt"   # signs the certificate the lab's webhook serves


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(url, data=None, headers=None, method=None):
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})},
                                 method=method or ("POST" if data is not None else "GET"))
    # generous: on a loaded machine ansible-rulebook answers its webhook late while it starts a playbook
    context = ssl.create_default_context(cafile=str(LAB_CA)) if url.startswith("https:") else None
    with urllib.request.urlopen(req, timeout=30, context=context) as resp:
        text = resp.read().decode()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def wait_for(predicate, timeout, what, interval=1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def listening(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ready(url):
    try:
        urllib.request.urlopen(url, timeout=2).close()
        return True
    except (urllib.error.URLError, OSError):
        return False


def descendants(pid):
    """Every process below pid. ansible-runner starts each ansible-playbook in a session of its own, so the
    rulebook's process group does not hold them: they are found by parent before the rulebook is stopped."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, encoding="utf-8", errors="replace") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop(proc):
    """Stop a process this test started, its process group, and every process below it (the ansible-playbook
    runs a rulebook started: left behind, one kept acting on the shared lab after the test)."""
    family = descendants(proc.pid)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
    for pid in family:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def lab_inventory(dest):
    """inventory/local with its playbook_dir-relative lab paths made absolute: run_playbook runs a
    copy of the playbook in ansible-runner's private directory, so `playbook_dir | dirname` would
    point there (the staging and production inventories use absolute paths already)."""
    shutil.copytree(ROOT / "inventory" / "local", dest)
    for path in (dest / "group_vars").rglob("*.yml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("{{ playbook_dir | dirname }}", str(ROOT)), encoding="utf-8")
    return dest


def rulebook_runs(log_path, alertname):
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    return re.findall(rf"Running (\S+) for {alertname} \(fingerprint (\w+)\), remediate=(\w+)", text)


def final_report(path):
    """The alert playbook writes its report after the investigation, then again with the resolution."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("phase") == "final" else None


def conditions(*rulebooks):
    for rulebook in rulebooks:
        for ruleset in yaml.safe_load(rulebook.read_text(encoding="utf-8")):
            for rule in ruleset["rules"]:
                yield rule["name"], rule["condition"]


def test_controller_rulebook_has_the_same_conditions():
    assert list(conditions(CONTROLLER_RULEBOOK)) == list(conditions(RULEBOOK))


@pytest.mark.parametrize("name,condition", sorted(set(conditions(RULEBOOK, CONTROLLER_RULEBOOK))))
def test_rulebook_conditions_build_a_well_formed_rule_tree(name, condition):
    """ansible-rulebook 1.3 with pyparsing >= 3.3 (pinned here) turns `and`/`or` into list
    operands that the rule engine rejects (ClassCastException at start-up): keep conditions simple."""
    from ansible_rulebook.condition_parser import parse_condition  # pylint: disable=import-outside-toplevel
    from ansible_rulebook.json_generator import visit_condition  # pylint: disable=import-outside-toplevel

    def walk(node):
        if isinstance(node, list):
            raise AssertionError(f"rule {name!r}: condition {condition!r} has a list operand: {node}")
        if isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(visit_condition(parse_condition(condition), {}))


def test_every_environment_maps_the_runbook_alerts():
    rules = yaml.safe_load((ROOT / "extensions" / "prometheus" / "clickview-runbook-rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    for env in ("local", "staging", "production"):
        data = yaml.safe_load((ROOT / "inventory" / env / "group_vars" / "all" / "event_driven.yml").read_text())
        assert alerts <= set(data["clickview_eda_alert_playbooks"]), (env, alerts - set(data["clickview_eda_alert_playbooks"]))
        assert set(data["clickview_eda_remediate_alerts"]) <= set(data["clickview_eda_alert_playbooks"]), env
        assert "{{" not in json.dumps(data), f"{env}: ansible-rulebook does not template its vars file"
        for alert in alerts:  # each runbook alert runs its own alert-response playbook, in every environment
            playbook = data["clickview_eda_alert_playbooks"][alert]
            assert playbook.startswith("clickview.runbook.alert_"), (env, alert, playbook)
        for playbook in list(data["clickview_eda_alert_playbooks"].values()) + [data["clickview_eda_default_playbook"]]:
            assert (ROOT / "playbooks" / (playbook.split(".")[-1] + ".yml")).is_file(), (env, playbook)
        # the webhook speaks HTTPS only, in every environment
        assert data["clickview_eda_webhook_certfile"] and data["clickview_eda_webhook_keyfile"], env
    for rulebook in (RULEBOOK, CONTROLLER_RULEBOOK):
        rulebook_source = yaml.safe_load(rulebook.read_text())[0]["sources"][0]["eda.builtin.webhook"]
        assert {"token", "certfile", "keyfile"} <= set(rulebook_source), (rulebook.name, rulebook_source)
    production = yaml.safe_load((ROOT / "inventory" / "production" / "group_vars" / "all" / "event_driven.yml").read_text())
    assert production["clickview_eda_remediation_enabled"] is False
    lab = yaml.safe_load(LAB_VARS.read_text(encoding="utf-8"))
    assert lab["clickview_eda_remediation_enabled"] is False, "the lab investigates only unless a drill turns remediation on"


@pytest.fixture
def private_monitoring(tmp_path, lab):
    """ansible-rulebook with the lab's event-driven variables, then a private Alertmanager posting
    to it and a private Prometheus alerting into that; every process stopped afterwards."""
    for binary in (PROMETHEUS, ALERTMANAGER):
        if not os.access(binary, os.X_OK):
            pytest.skip(f"{binary} is not installed (Debian packages prometheus, prometheus-alertmanager)")
    ports = {"rulebook": free_port(), "alertmanager": free_port(), "prometheus": free_port()}
    reports = tmp_path / "reports"
    reports.mkdir()
    inventory = lab_inventory(tmp_path / "inventory")
    (inventory / "group_vars" / "all" / "zz_event_driven_test.yml").write_text(
        yaml.safe_dump({"clickview_report_dir": str(reports), "clickview_incident_dir": str(tmp_path / "incidents")}),
        encoding="utf-8")

    eda_vars = yaml.safe_load(LAB_VARS.read_text(encoding="utf-8"))
    eda_vars["clickview_eda_webhook_port"] = ports["rulebook"]
    (tmp_path / "eda-vars.yml").write_text(yaml.safe_dump(eda_vars), encoding="utf-8")

    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump({
        "route": {"receiver": "eda", "group_by": ["alertname"], "group_wait": "1s",
                  "group_interval": "3s", "repeat_interval": "6s"},
        "receivers": [{"name": "eda", "webhook_configs": [{
            "url": f"https://127.0.0.1:{ports['rulebook']}/alertmanager", "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": TOKEN},
                            "tls_config": {"ca_file": str(LAB_CA)}}}]}],
    }), encoding="utf-8")
    sample_app = f"127.0.0.1:{lab['services']['sample_app']['port']}"
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{ports['alertmanager']}"]}]}]},
        "rule_files": [str(ROOT / "lab" / "config" / "rules.yml")],
        "scrape_configs": [{"job_name": "clickview-backend", "static_configs": [{"targets": [sample_app]}]}],
    }), encoding="utf-8")

    log = tmp_path / "rulebook.log"
    procs = []

    def start(cmd, log_name, **kwargs):
        with open(tmp_path / log_name, "w", encoding="utf-8") as out:
            procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                          **kwargs))  # pylint: disable=consider-using-with

    try:
        start([str(VENV_BIN / "ansible-rulebook"), "-r", str(RULEBOOK), "-i", str(inventory),
               "--vars", str(tmp_path / "eda-vars.yml"), "-E", "CLICKVIEW_EDA_WEBHOOK_TOKEN"],
              log.name, cwd=ROOT, env=ansible_env(CLICKVIEW_EDA_WEBHOOK_TOKEN=TOKEN))
        wait_for(lambda: listening(ports["rulebook"]) or procs[0].poll() is not None, 60, "ansible-rulebook's webhook")
        assert procs[0].poll() is None, log.read_text()
        start([ALERTMANAGER, f"--config.file={tmp_path / 'alertmanager.yml'}", f"--storage.path={tmp_path / 'am-data'}",
               f"--web.listen-address=127.0.0.1:{ports['alertmanager']}", "--cluster.listen-address="],
              "alertmanager.log")
        start([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'prom-data'}",
               f"--web.listen-address=127.0.0.1:{ports['prometheus']}"], "prometheus.log")
        wait_for(lambda: ready(f"http://127.0.0.1:{ports['alertmanager']}/-/ready"), 30, "the private Alertmanager")
        wait_for(lambda: ready(f"http://127.0.0.1:{ports['prometheus']}/-/ready"), 30, "the private Prometheus")
        yield {"ports": ports, "reports": reports, "log": log, "rulebook": procs[0], "incidents": tmp_path / "incidents"}
    finally:
        for proc in reversed(procs):
            stop(proc)


def webhook_notifications(port):
    text = http(f"http://127.0.0.1:{port}/metrics")
    match = re.search(r'^alertmanager_notifications_total\{integration="webhook"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_high_error_rate_runs_its_playbook_once(private_monitoring, lab):
    ports, reports, log = private_monitoring["ports"], private_monitoring["reports"], private_monitoring["log"]
    mapping = yaml.safe_load(LAB_VARS.read_text(encoding="utf-8"))
    playbook = mapping["clickview_eda_alert_playbooks"]["HighErrorRate"]
    faults = f"http://127.0.0.1:{lab['services']['sample_app']['port']}/admin/faults"
    sink = f"http://127.0.0.1:{lab['services']['webhook_sink']['port']}"
    started = time.time()
    try:
        http(faults, {"error_rate": 0.5})
        # Prometheus fires → Alertmanager posts → the rulebook starts the mapped playbook
        runs = wait_for(lambda: rulebook_runs(log, "HighErrorRate"), 90, "the rulebook to run the HighErrorRate playbook")
        assert runs[0][0] == playbook
        assert runs[0][2] == str("HighErrorRate" in mapping["clickview_eda_remediate_alerts"]
                                 and mapping["clickview_eda_remediation_enabled"])

        # the same alert again: Alertmanager's re-notifications (repeat_interval 6s) and a flap
        alert = next(a for a in http(f"http://127.0.0.1:{ports['alertmanager']}/api/v2/alerts?active=true")
                     if a["labels"]["alertname"] == "HighErrorRate")
        assert alert["fingerprint"] == runs[0][1]
        first_notifications = webhook_notifications(ports["alertmanager"])
        for status in ("resolved", "firing"):
            http(f"https://127.0.0.1:{ports['rulebook']}/alertmanager",
                 {"version": "4", "status": status, "receiver": "eda", "groupKey": "flap",
                  "alerts": [{"status": status, "labels": alert["labels"], "annotations": alert["annotations"],
                              "startsAt": alert["startsAt"], "endsAt": alert["endsAt"],
                              "generatorURL": alert["generatorURL"], "fingerprint": alert["fingerprint"]}]},
                 headers={"Authorization": f"Bearer {TOKEN}"})
        wait_for(lambda: webhook_notifications(ports["alertmanager"]) >= first_notifications + 2, 40,
                 "Alertmanager to notify the rulebook again")

        # the playbook's report appears (JSON + markdown, named after the alert), after its resolution phase
        report = reports / "alert-high-error-rate-local-latest.json"
        data = wait_for(lambda: final_report(report), 240, "the playbook's final report")
        time.sleep(3)
        assert len(rulebook_runs(log, "HighErrorRate")) == 1, log.read_text()
        assert "HighErrorRate resolved" in log.read_text()

        # a forged event is refused: no token, a wrong token, or the same request in clear text
        forged = {"version": "4", "status": "firing", "receiver": "eda", "groupKey": "forged",
                  "alerts": [dict(alert, labels=dict(alert["labels"], alertname="HighLatency"))]}
        url = f"https://127.0.0.1:{ports['rulebook']}/alertmanager"
        for headers in ({}, {"Authorization": "Bearer forged-token"}, {"Authorization": f"Basic {TOKEN}"}):
            with pytest.raises(urllib.error.HTTPError) as refused:
                http(url, forged, headers=headers)
            assert refused.value.code == 401
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            http(url.replace("https:", "http:"), forged, headers={"Authorization": f"Bearer {TOKEN}"})
        time.sleep(2)
        assert not rulebook_runs(log, "HighLatency"), log.read_text()
    finally:
        http(faults, {})

    assert data["alert"] == "High Error Rate" and data["remediate"] is False
    findings = {f["check"]: f for f in data["findings"]}
    assert findings["prometheus.error_ratio"]["status"] != "OK", findings["prometheus.error_ratio"]
    # investigation only: the rollback step is reported as not done
    rollback = [a for a in data["actions"] if a["step"].startswith("roll back")]
    assert rollback and all(a["status"] == "skipped" for a in rollback), data["actions"]
    assert (reports / "alert-high-error-rate-local-latest.md").exists()
    # the alert-response playbook also tells the incident channel
    chat = [r for r in http(f"{sink}/_received?path=/chat/incidents") if r["time"] >= started]
    assert any(re.search(r"error rate|higherrorrate", json.dumps(r["body"]).lower()) for r in chat), chat
    assert private_monitoring["rulebook"].poll() is None, "ansible-rulebook stopped"
    assert report.stat().st_mtime >= started
    # the lab's HighErrorRate is P2: the run declared the incident, keyed on the alert's fingerprint
    assert data["incident_decision"]["action"] == "declare", data["incident_decision"]
    record = json.loads((private_monitoring["incidents"] / (data["incident_id"] + ".json")).read_text())
    assert record["severity"] == "P2" and record["alert"] == "HighErrorRate"
    assert record["timeline"][0]["details"]["alert_fingerprint"] == alert["fingerprint"]


def test_labelled_alert_targets_its_workload_and_declares_the_incident(private_monitoring, lab):
    """A P2 memory alert on a frontend pod, as Alertmanager posts it: the playbook investigates the frontend (not the
    inventory's default backend), declares the incident with the alert's fingerprint, and tells the incident channel."""
    from kubernetes import client, config  # the lab's stand-in, read only
    api = config.new_client_from_config(config_file=str(ROOT / "lab" / ".state" / "kubeconfig"))
    frontend = client.AppsV1Api(api).read_namespaced_deployment("clickview-frontend", "clickview")
    selector = ",".join("%s=%s" % kv for kv in frontend.spec.selector.match_labels.items())
    pod = client.CoreV1Api(api).list_namespaced_pod("clickview", label_selector=selector).items[0].metadata.name
    generations = {d.metadata.name: d.metadata.generation
                   for d in client.AppsV1Api(api).list_namespaced_deployment("clickview").items}
    sink = f"http://127.0.0.1:{lab['services']['webhook_sink']['port']}"
    started = time.time()
    labels = {"alertname": "HighMemoryUsage", "severity": "P2", "runbook": "alert_high_memory",
              "namespace": "clickview", "pod": pod, "container": "frontend"}
    alert = {"status": "firing", "labels": labels, "annotations": {"summary": f"{pod}/frontend uses 91% of its memory limit"},
             "startsAt": "2026-12-06T03:00:00.123Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
             "fingerprint": "5e1f00d0c0ffee42"}
    http(f"https://127.0.0.1:{private_monitoring['ports']['rulebook']}/alertmanager",
         {"version": "4", "status": "firing", "receiver": "eda", "groupKey": "memory", "alerts": [alert]},
         headers={"Authorization": f"Bearer {TOKEN}"})
    data = wait_for(lambda: final_report(private_monitoring["reports"] / "alert-high-memory-local-latest.json"), 240,
                    "the memory playbook's final report")

    assert data["target"]["deployment"] == "clickview-frontend" and data["target"]["pod"] == pod, data["target"]
    assert data["fired_alert"]["fingerprint"] == alert["fingerprint"] and data["remediate"] is False
    limits = next(f for f in data["findings"] if f["check"] == "k8s.container_limits")
    assert limits["figure"].startswith("frontend:"), limits          # the frontend's containers, not the backend's
    decision = data["incident_decision"]
    assert decision["action"] == "declare" and data["incident_id"] == decision["incident_id"]
    assert decision["incident_id"] == "INC-20261206-030000-highmemoryusage-5e1f00d0c0ff"
    record = json.loads((private_monitoring["incidents"] / (decision["incident_id"] + ".json")).read_text())
    assert record["severity"] == "P2" and record["declared_at"] == "2026-12-06T03:00:00Z"
    assert record["timeline"][0]["details"]["alert_fingerprint"] == alert["fingerprint"]
    assert any(e["kind"] == "finding" for e in record["timeline"])   # the findings went into its timeline
    chat = [r for r in http(f"{sink}/_received?path=/chat/incidents") if r["time"] >= started]
    assert any(decision["incident_id"] in json.dumps(r["body"]) for r in chat), chat
    assert generations == {d.metadata.name: d.metadata.generation
                           for d in client.AppsV1Api(api).list_namespaced_deployment("clickview").items}


# ---- the EDA controller's variant, against a stand-in AWX API ------------------------------------------------


class FakeAwx(BaseHTTPRequestHandler):
    """Enough of the AWX API for ansible-rulebook's run_workflow_template: the template lookup, the launch (recorded)
    and the job status (successful at once)."""
    workflows, organization, launches = [], "", []

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass

    def do_GET(self):  # pylint: disable=invalid-name
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/api/v2/config/":
            return self._send(200, {"version": "24.6.1"})
        if url.path == "/api/v2/unified_job_templates/":
            name = query.get("name", [""])[0]
            results = [{"id": i, "type": "workflow_job_template", "name": n,
                        "summary_fields": {"organization": {"name": self.organization}},
                        "related": {"launch": f"/api/v2/workflow_job_templates/{i}/launch/"},
                        "ask_limit_on_launch": False, "ask_labels_on_launch": False,
                        "ask_inventory_on_launch": True, "ask_variables_on_launch": False}
                       for i, n in enumerate(self.workflows, start=1) if n == name]
            return self._send(200, {"count": len(results), "next": None, "results": results})
        if url.path == "/api/v2/workflow_jobs/":
            ids = [i for i in query.get("id__in", [""])[0].split(",") if i]
            return self._send(200, {"results": [{"id": int(i), "status": "successful", "created": "2026-01-01T00:00:00Z",
                                                 "artifacts": {}} for i in ids]})
        return self._send(404, {"detail": "not found"})

    def do_POST(self):  # pylint: disable=invalid-name
        url = urllib.parse.urlparse(self.path)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if not url.path.endswith("/launch/"):
            return self._send(404, {"detail": "not found"})
        self.launches.append({"path": url.path, "body": body})
        job = 100 + len(self.launches)
        return self._send(201, {"id": job, "url": f"/api/v2/workflow_jobs/{job}/", "status": "pending",
                                "created": "2026-01-01T00:00:00Z"})


def test_controller_rulebook_launches_the_incident_workflow_with_survey_answers_once(tmp_path):
    """alert_remediation_controller.yml in the real engine, with staging's variables: a firing alert launches its
    incident workflow once per throttle window with the survey's answers only, on the activation's inventory; a
    resolved alert and an alert without a workflow launch nothing, and the rulebook keeps running."""
    staging = yaml.safe_load((ROOT / "inventory" / "staging" / "group_vars" / "all" / "event_driven.yml").read_text())
    ports = {"rulebook": free_port(), "awx": free_port()}
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    (tmp_path / "vars.yml").write_text(yaml.safe_dump(dict(
        staging, clickview_eda_webhook_host="127.0.0.1", clickview_eda_webhook_port=ports["rulebook"],
        clickview_eda_webhook_certfile=str(cert), clickview_eda_webhook_keyfile=str(key), clickview_eda_awx_inventory_id=3)))
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    FakeAwx.workflows, FakeAwx.organization, FakeAwx.launches = list(staging["clickview_eda_alert_workflows"].values()), \
        staging["clickview_eda_awx_organization"], []
    awx = ThreadingHTTPServer(("127.0.0.1", ports["awx"]), FakeAwx)
    threading.Thread(target=awx.serve_forever, daemon=True).start()
    log = tmp_path / "rulebook.log"
    with open(log, "w", encoding="utf-8") as out:
        rulebook = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(VENV_BIN / "ansible-rulebook"), "-r", str(CONTROLLER_RULEBOOK), "-i", str(tmp_path / "inventory.yml"),
             "--vars", str(tmp_path / "vars.yml"), "-E", "CLICKVIEW_EDA_WEBHOOK_TOKEN",
             "--controller-url", f"http://127.0.0.1:{ports['awx']}", "--controller-token", "not-a-secret"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT,
            env=ansible_env(CLICKVIEW_EDA_WEBHOOK_TOKEN=TOKEN))
    context = ssl.create_default_context(cafile=str(cert))

    def post(alert):
        req = urllib.request.Request(
            f"https://127.0.0.1:{ports['rulebook']}/alertmanager",
            data=json.dumps({"version": "4", "status": alert["status"], "receiver": "eda", "groupKey": "g",
                             "externalURL": "", "alerts": [alert]}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            assert resp.status == 200

    try:
        wait_for(lambda: listening(ports["rulebook"]) or rulebook.poll() is not None, 60, "ansible-rulebook's webhook")
        assert rulebook.poll() is None, log.read_text()
        alert = {"status": "firing", "labels": {"alertname": "HighErrorRate", "severity": "P2", "runbook": "alert_high_error_rate"},
                 "annotations": {"summary": "Error rate 7% is above 5 %"}, "startsAt": "2026-12-06T03:04:05.678Z",
                 "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "5e1f00d0c0ffee42"}
        post(alert)
        post(dict(alert, annotations={"summary": "Error rate 9% is above 5 %"}))      # a re-notification: throttled
        post(dict(alert, status="resolved"))
        post(dict(alert, labels=dict(alert["labels"], alertname="NewAlert"), fingerprint="0123456789abcdef"))
        wait_for(lambda: "Undefined jinja variable" in log.read_text(), 60, "the unmapped alert's failed launch")
        time.sleep(3)
        assert rulebook.poll() is None, log.read_text()
    finally:
        stop(rulebook)
        awx.shutdown()
    assert FakeAwx.launches == [{
        "path": "/api/v2/workflow_job_templates/1/launch/",
        "body": {"inventory": 3, "extra_vars": {
            "incident_response_id": "INC-20261206-030405-higherrorrate-5e1f00d0c0ff",
            "incident_response_title": "HighErrorRate firing since 2026-12-06 03:04 UTC",
            "incident_response_severity": "P2",
            "alert_response_remediate": "true"}}}], log.read_text()
    assert staging["clickview_eda_alert_workflows"]["HighErrorRate"] == FakeAwx.workflows[0]
    assert "HighErrorRate resolved" in log.read_text()
