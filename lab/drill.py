"""Inject and clear the game-day incident on the local lab (lab-only tooling for the drill).

    drill.py inject    a bad deploy raises the error rate, long queries hold the database's
                       connections, an attacker address replays stolen sessions of one user
                       with a leaked API key
    drill.py clear     put the lab back to healthy, whatever the runbook automation did or not
    drill.py status    what is injected and what of it is still visible on the lab (JSON)

The incident is real on the lab's services: the backend Deployment in the Kubernetes API
stand-in gets an image whose pods log errors, the sample backend's error ratio rises in
Prometheus, a background process holds long-running queries on the PostgreSQL primary, and
the attacker's requests appear in the WAF log group with the victim's sessions in Redis and
the victim's API key in the platform database.

The stand-in's pods are records, not processes, so Prometheus cannot see the bad image go
away: inject also starts a small watcher that plays the real cluster's part and stops the
sample backend's errors as soon as the bad image is no longer deployed (a rollback).
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import yaml

LAB = Path(__file__).resolve().parent
ROOT = LAB.parent
CONFIG = yaml.safe_load((LAB / "lab.yml").read_text(encoding="utf-8"))
STATE = ROOT / CONFIG["state_dir"] / "drill"
HOST = CONFIG["host"]
NAMESPACE = "clickview"
DEPLOYMENT = "clickview-backend"

SCENARIO = {
    "bad_image": "registry.clickview.lab/clickview-backend:1.5.0-errors-40",
    "bad_release": "release 1.5.0 (search rewrite)",
    "error_rate": 0.35,
    "long_queries": 30,
    "long_query_app": "clickview-report-export",
    "attacker_ip": "198.51.100.66",
    "victim_user_id": 1337,
    "victim_sessions": 3,
    "victim_key_id": "ck_drill_victim_1337",
}


def port(name):
    return CONFIG["services"][name]["port"]


def now_iso(epoch=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def kubectl(*args):
    binary = os.environ.get("KUBECTL", str(ROOT / ".tools" / "bin" / "kubectl"))
    cmd = [binary, "--kubeconfig", str(ROOT / CONFIG["state_dir"] / "kubeconfig"), "-n", NAMESPACE, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError("kubectl %s: %s" % (" ".join(args), (proc.stderr or proc.stdout).strip()))
    return proc.stdout


def backend_image():
    return kubectl("get", f"deployment/{DEPLOYMENT}", "-o", "jsonpath={.spec.template.spec.containers[0].image}").strip()


def backend_revision():
    return kubectl("get", f"deployment/{DEPLOYMENT}", "-o",
                   "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}").strip()


def wait_for_new_revision(old, timeout=90):
    """The deployment's revision once it differs from old: the new ReplicaSet exists."""
    deadline = time.time() + timeout
    while True:
        revision = backend_revision()
        if revision and revision != old:
            return revision
        if time.time() > deadline:
            raise RuntimeError(f"deployment/{DEPLOYMENT} still at revision {revision or '(none)'} "
                               f"{timeout} s after the patch: the controller created no new ReplicaSet")
        time.sleep(0.5)


def sample_app_faults(body=None):
    """POST the faults (body) or GET them (None)."""
    url = f"http://{HOST}:{port('sample_app')}/admin/faults"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)


def pg_connect(role="app", dbname=None, application_name=None):
    import psycopg2  # pylint: disable=import-outside-toplevel
    pg = CONFIG["postgres"]
    return psycopg2.connect(host=HOST, port=port("postgres_primary"), dbname=dbname or pg["database"],
                            user=pg[role]["name"], password=pg[role]["password"], connect_timeout=10,
                            application_name=application_name or "clickview-drill",
                            # the lab may be in the runbook's emergency read-only mode (another drill):
                            # the injector's own writes go through regardless
                            options="-c default_transaction_read_only=off")


def pg_query(sql, args=(), role="app", dbname=None):
    conn = pg_connect(role, dbname)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def redis_client():
    import redis  # pylint: disable=import-outside-toplevel
    return redis.Redis(host=HOST, port=port("redis"), password=CONFIG["redis"]["password"])


def aws(service):
    import boto3  # pylint: disable=import-outside-toplevel
    cfg = CONFIG["aws"]
    return boto3.client(service, region_name=cfg["region"], aws_access_key_id=cfg["access_key"],
                        aws_secret_access_key=cfg["secret_key"], endpoint_url=f"http://{HOST}:{port('moto')}")


def session_keys():
    user = SCENARIO["victim_user_id"]
    return [f"session:drill{index:03d}-{user}" for index in range(SCENARIO["victim_sessions"])]


# ---- background processes: the long queries, and the watcher of the bad image ------------

def hold_queries(count):
    """Run detached: `count` connections each running a query that never ends by itself.
    Exits when every query has ended (the runbook terminated them) or on SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # pylint: disable=protected-access

    def run(conn):
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM page_views, pg_sleep(3600)")
        except Exception:  # noqa: BLE001  pylint: disable=broad-except - terminated by the runbook: the point
            pass

    threads = []
    for _index in range(count):
        conn = pg_connect(application_name=SCENARIO["long_query_app"])
        thread = threading.Thread(target=run, args=(conn,), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    print(f"{now_iso()} all {count} long queries ended", flush=True)


def watch_rollout(bad_image, error_rate):
    """Run detached: play the cluster's part. While the bad image is deployed its errors go on
    (the sample backend's error fault is put back if something reset it); once it is no longer
    deployed (rolled back), they stop: the fault is cleared and the watcher ends."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # pylint: disable=protected-access
    deadline, seen = time.time() + 3 * 3600, 0
    while time.time() < deadline:
        try:
            image = backend_image()
            # another image, read twice in a row (not an empty or passing answer)
            seen = seen + 1 if image and image != bad_image else 0
            if seen >= 2:
                sample_app_faults({})
                print(f"{now_iso()} deployment/{DEPLOYMENT} runs {image}, {bad_image} is gone: "
                      "the sample backend's errors stop", flush=True)
                return
            if image == bad_image and sample_app_faults()["error_rate"] != error_rate:
                sample_app_faults({"error_rate": error_rate})
                print(f"{now_iso()} {bad_image} still deployed: its errors go on", flush=True)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            print(f"{now_iso()} watcher: {exc}", flush=True)
        time.sleep(0.5)


def spawn(name, *args):
    with open(STATE / f"{name}.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, __file__, *args],  # pylint: disable=consider-using-with
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    (STATE / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def live_pid(name):
    try:
        pid = int((STATE / f"{name}.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:  # a zombie or a reused pid is not ours
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        if "drill.py" not in cmdline or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return None
    except OSError:
        pass
    return pid


def stop(name):
    pid = live_pid(name)
    if pid:
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
    (STATE / f"{name}.pid").unlink(missing_ok=True)
    return pid


def long_query_pids():
    rows = pg_query("SELECT pid FROM pg_stat_activity WHERE application_name = %s AND state = 'active' "
                    "AND backend_type = 'client backend'", (SCENARIO["long_query_app"],), role="operator")
    return [r[0] for r in rows]


# ---- inject / clear / status --------------------------------------------------------------

def inject():
    """Inject the incident. Injecting again while injected changes nothing and returns the record."""
    STATE.mkdir(parents=True, exist_ok=True)
    record_path = STATE / "injected.json"
    if record_path.exists():
        return json.loads(record_path.read_text())
    epoch = time.time()
    injected = {"started": now_iso(epoch), "epoch": epoch, **SCENARIO}
    # 1. the bad deploy: the backend's new pods log errors; Prometheus sees the ratio rise
    current = backend_image()
    if current == SCENARIO["bad_image"]:
        raise RuntimeError(f"deployment/{DEPLOYMENT} already runs {current} with no drill recorded: "
                           "roll it back (or run drill.py clear) first")
    injected["good_image"], injected["good_revision"] = current, backend_revision()
    record_path.write_text(json.dumps(injected, indent=2))   # from here on, clear knows what to undo
    # the image and a pod-template annotation of this injection in one change: a new ReplicaSet
    # created now (an identical template would bring back the one of an earlier drill, with its
    # old creation time, and the error-rate alert compares the spike with that time)
    template = {"metadata": {"annotations": {"lab.clickview.app/drill-injected": injected["started"]}},
                "spec": {"containers": [{"name": "backend", "image": SCENARIO["bad_image"]}]}}
    kubectl("patch", f"deployment/{DEPLOYMENT}", "--type=strategic", "-p", json.dumps({"spec": {"template": template}}))
    kubectl("annotate", f"deployment/{DEPLOYMENT}", "--overwrite", f"kubernetes.io/change-cause={SCENARIO['bad_release']}")
    # the errors start once the controller has created the new ReplicaSet (the rollout time the
    # error-rate alert compares the spike with), never before it: a busy controller may lag the patch
    injected["bad_revision"] = wait_for_new_revision(injected["good_revision"])
    sample_app_faults({"error_rate": SCENARIO["error_rate"]})
    injected["watcher_pid"] = spawn("watcher", "watch-rollout", SCENARIO["bad_image"], str(SCENARIO["error_rate"]))
    # 2. long-running queries holding connections
    injected["holder_pid"] = spawn("holder", "hold-queries", str(SCENARIO["long_queries"]))
    # 3. the attacker: stolen sessions of one user, a leaked API key, requests in the WAF log
    user = SCENARIO["victim_user_id"]
    client = redis_client()
    for key in session_keys():
        client.set(key, json.dumps({"user_id": user, "ip": SCENARIO["attacker_ip"]}), ex=86400)
        client.sadd(f"user_sessions:{user}", key)
    pg_query("INSERT INTO api_keys (key_id, user_id, label) VALUES (%s, %s, 'leaked in drill') "
             "ON CONFLICT (key_id) DO UPDATE SET revoked_at = NULL, revoked_by = NULL",
             (SCENARIO["victim_key_id"], user))
    logs = aws("logs")
    group, stream = CONFIG["aws"]["waf_log_group"], "drill"
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    now_ms = int(epoch * 1000)
    events = [{"timestamp": now_ms - (60 - i) * 1000,
               "message": json.dumps({"httpRequest": {"clientIp": SCENARIO["attacker_ip"], "uri": "/api/v1/account",
                                                      "httpMethod": "GET"}, "action": "ALLOW",
                                      "session": f"session:drill{i % SCENARIO['victim_sessions']:03d}-{user}",
                                      "apiKey": SCENARIO["victim_key_id"]})} for i in range(60)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    record_path.write_text(json.dumps(injected, indent=2))
    # the long queries are running before inject returns
    deadline = time.time() + 30
    while len(long_query_pids()) < SCENARIO["long_queries"] and time.time() < deadline:
        time.sleep(0.2)
    injected["long_queries_running"] = len(long_query_pids())
    return injected


def unblock_attacker():
    """Remove the attacker from the WAF IP set, with the expiry tags waf_block_ip wrote."""
    collections = ROOT / ".collections"
    if str(collections) not in sys.path:
        sys.path.insert(0, str(collections))
    from ansible_collections.clickview.runbook.plugins.module_utils import waf_ipset  # pylint: disable=import-outside-toplevel
    result = waf_ipset.run(aws("wafv2"), {"ip_sets": [CONFIG["aws"]["waf_ip_sets"]["ipv4"]], "scope": "REGIONAL",
                                          "addresses": [SCENARIO["attacker_ip"]], "state": "absent"})
    return result["removed"]


def clear():
    """Put the lab back to healthy, whatever the drill's remediation did or did not do. Every
    step is tried; a step that fails is reported (and the command fails) after the others ran."""
    record_path = STATE / "injected.json"
    injected = json.loads(record_path.read_text()) if record_path.exists() else {}
    done, errors = {}, []
    user = SCENARIO["victim_user_id"]

    def step(name, action):
        try:
            done[name] = action()
        except Exception as exc:  # noqa: BLE001  pylint: disable=broad-except - reported below, the others still run
            errors.append(f"{name}: {type(exc).__name__}: {exc}")

    def rollback():
        if backend_image() != SCENARIO["bad_image"]:
            return False
        revision = injected.get("good_revision")
        kubectl("rollout", "undo", f"deployment/{DEPLOYMENT}", *([f"--to-revision={revision}"] if revision else []))
        kubectl("rollout", "status", f"deployment/{DEPLOYMENT}", "--timeout=120s")
        return True

    def sessions():
        client = redis_client()
        deleted = client.unlink(*session_keys())
        client.srem(f"user_sessions:{user}", *session_keys())
        return deleted

    step("processes_stopped", lambda: [name for name in ("holder", "watcher") if stop(name)])
    step("queries_terminated", lambda: len([r for r in pg_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()",
        (SCENARIO["long_query_app"],), role="superuser", dbname="postgres") if r[0]]))
    step("faults_reset", lambda: sample_app_faults({}) and True)
    step("rolled_back", rollback)
    step("sessions_deleted", sessions)
    step("key_deleted", lambda: bool(pg_query("DELETE FROM api_keys WHERE key_id = %s RETURNING key_id",
                                              (SCENARIO["victim_key_id"],))))
    step("unblocked", unblock_attacker)
    if errors:
        raise RuntimeError("; ".join(errors) + " (the other steps were done; run clear again)")
    record_path.unlink(missing_ok=True)
    return {"cleared": True, **done}


def status():
    """What is injected (the record) and what of it the lab still shows."""
    record_path = STATE / "injected.json"
    client = redis_client()
    key = pg_query("SELECT revoked_at::text FROM api_keys WHERE key_id = %s", (SCENARIO["victim_key_id"],))
    waf = aws("wafv2")
    name = CONFIG["aws"]["waf_ip_sets"]["ipv4"]
    summary = next((s for s in waf.list_ip_sets(Scope="REGIONAL")["IPSets"] if s["Name"] == name), None)
    addresses = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=summary["Id"])["IPSet"]["Addresses"] if summary else []
    visible = {
        "bad_image_deployed": backend_image() == SCENARIO["bad_image"],
        "sample_app_error_rate": sample_app_faults()["error_rate"],
        "long_queries": len(long_query_pids()),
        "victim_sessions": sum(client.exists(k) for k in session_keys()),
        "leaked_key": "absent" if not key else ("revoked" if key[0][0] else "active"),
        "attacker_blocked": SCENARIO["attacker_ip"] + "/32" in addresses,
    }
    symptoms = [k for k in ("bad_image_deployed", "long_queries", "victim_sessions") if visible[k]]
    if visible["sample_app_error_rate"] >= 0.05:
        symptoms.append("sample_app_error_rate")
    if visible["leaked_key"] == "active":
        symptoms.append("leaked_key")
    return {"injected": json.loads(record_path.read_text()) if record_path.exists() else None,
            "holder_pid": live_pid("holder"), "watcher_pid": live_pid("watcher"),
            "visible": visible, "symptoms": symptoms, "healthy": not symptoms}


def main(argv):
    if argv[:1] == ["hold-queries"]:
        hold_queries(int(argv[1]))
        return 0
    if argv[:1] == ["watch-rollout"]:
        watch_rollout(argv[1], float(argv[2]))
        return 0
    actions = {"inject": inject, "clear": clear, "status": status}
    if len(argv) != 1 or argv[0] not in actions:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(json.dumps(actions[argv[0]]()))
    except Exception as exc:  # noqa: BLE001  pylint: disable=broad-except - one line for the playbook and the user
        print(json.dumps({"failed": True, "action": argv[0], "msg": f"{type(exc).__name__}: {exc}"}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
