"""Inject and clear the game-day incident on the local lab (lab-only tooling for the drill).

    drill.py inject    a bad deploy raises the error rate, long queries hold the database's
                       connections, an attacker address replays stolen sessions of one user
    drill.py clear     undo everything inject did that the runbook automation did not
    drill.py status    what is injected right now (JSON)

The incident is real on the lab's services: the backend Deployment in the Kubernetes API
stand-in gets an image whose pods log errors, the sample backend's error ratio rises in
Prometheus, a background process holds long-running queries on the PostgreSQL primary, and
the attacker's requests appear in the WAF log group with the victim's sessions in Redis.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

LAB = Path(__file__).resolve().parent
ROOT = LAB.parent
CONFIG = yaml.safe_load((LAB / "lab.yml").read_text(encoding="utf-8"))
STATE = ROOT / CONFIG["state_dir"] / "drill"
HOST = CONFIG["host"]

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


def kubectl(*args, stdin=None):
    binary = os.environ.get("KUBECTL", str(ROOT / ".tools" / "bin" / "kubectl"))
    cmd = [binary, "--kubeconfig", str(ROOT / CONFIG["state_dir"] / "kubeconfig"), "-n", "clickview", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=True).stdout


def sample_app_faults(body):
    req = urllib.request.Request(f"http://{HOST}:{port('sample_app')}/admin/faults", data=json.dumps(body).encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)


def pg_connect(role="app", dbname=None):
    import psycopg2  # pylint: disable=import-outside-toplevel
    pg = CONFIG["postgres"]
    return psycopg2.connect(host=HOST, port=port("postgres_primary"), dbname=dbname or pg["database"],
                            user=pg[role]["name"], password=pg[role]["password"],
                            application_name=SCENARIO["long_query_app"])


def redis_client():
    import redis  # pylint: disable=import-outside-toplevel
    return redis.Redis(host=HOST, port=port("redis"), password=CONFIG["redis"]["password"])


def aws(service):
    import boto3  # pylint: disable=import-outside-toplevel
    cfg = CONFIG["aws"]
    return boto3.client(service, region_name=cfg["region"], aws_access_key_id=cfg["access_key"],
                        aws_secret_access_key=cfg["secret_key"], endpoint_url=f"http://{HOST}:{port('moto')}")


# ---- long queries, held by a detached process ---------------------------------------------

def hold_queries(count):
    """Run in the background: `count` connections each running a query that never ends."""
    import threading  # pylint: disable=import-outside-toplevel
    conns = []

    def run(conn):
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM page_views, pg_sleep(3600)")
        except Exception:  # noqa: BLE001 - terminated by the runbook: that is the point
            pass

    for _index in range(count):
        conn = pg_connect()
        conns.append(conn)
        threading.Thread(target=run, args=(conn,), daemon=True).start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


def holder_pid():
    try:
        pid = int((STATE / "holder.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


# ---- inject / clear ---------------------------------------------------------------------

def inject():
    STATE.mkdir(parents=True, exist_ok=True)
    injected = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "epoch": time.time(), **SCENARIO}
    # 1. the bad deploy: the backend's new pods log errors; Prometheus sees the ratio rise
    kubectl("annotate", "deployment/clickview-backend", "--overwrite",
            f"kubernetes.io/change-cause={SCENARIO['bad_release']}")
    kubectl("set", "image", "deployment/clickview-backend", f"backend={SCENARIO['bad_image']}")
    sample_app_faults({"error_rate": SCENARIO["error_rate"]})
    # 2. long-running queries holding connections
    if holder_pid() is None:
        with open(STATE / "holder.log", "ab") as log:
            proc = subprocess.Popen([sys.executable, __file__, "hold-queries", str(SCENARIO["long_queries"])],  # pylint: disable=consider-using-with
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        (STATE / "holder.pid").write_text(str(proc.pid))
    # 3. the attacker: stolen sessions of one user, a leaked API key, requests in the WAF log
    user = SCENARIO["victim_user_id"]
    client = redis_client()
    for index in range(SCENARIO["victim_sessions"]):
        key = f"session:drill{index:03d}-{user}"
        client.set(key, json.dumps({"user_id": user, "ip": SCENARIO["attacker_ip"]}), ex=86400)
        client.sadd(f"user_sessions:{user}", key)
    with pg_connect() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO api_keys (key_id, user_id, label) VALUES (%s, %s, 'leaked in drill') "
                    "ON CONFLICT (key_id) DO UPDATE SET revoked_at = NULL, revoked_by = NULL",
                    (SCENARIO["victim_key_id"], user))
    logs = aws("logs")
    group, stream = CONFIG["aws"]["waf_log_group"], "drill"
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    now_ms = int(time.time() * 1000)
    events = [{"timestamp": now_ms - (60 - i) * 1000,
               "message": json.dumps({"httpRequest": {"clientIp": SCENARIO["attacker_ip"], "uri": "/api/v1/account",
                                                      "httpMethod": "GET"}, "action": "ALLOW",
                                      "session": f"session:drill{i % 3:03d}-{user}"})} for i in range(60)]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    (STATE / "injected.json").write_text(json.dumps(injected, indent=2))
    return injected


def clear():
    """Put the lab back to healthy, whatever the drill's remediation did or did not do."""
    pid = holder_pid()
    if pid:
        os.killpg(pid, signal.SIGTERM)
    with pg_connect("superuser", dbname="postgres") as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                    "AND pid <> pg_backend_pid()", (SCENARIO["long_query_app"],))
    sample_app_faults({})
    images = kubectl("get", "deployment/clickview-backend", "-o", "jsonpath={.spec.template.spec.containers[*].image}")
    if "errors" in images:
        kubectl("rollout", "undo", "deployment/clickview-backend")
    client = redis_client()
    user = SCENARIO["victim_user_id"]
    for key in client.smembers(f"user_sessions:{user}"):
        client.unlink(key)
    client.unlink(f"user_sessions:{user}")
    waf = aws("wafv2")
    name = CONFIG["aws"]["waf_ip_sets"]["ipv4"]
    summary = next(s for s in waf.list_ip_sets(Scope="REGIONAL")["IPSets"] if s["Name"] == name)
    current = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=summary["Id"])
    addresses = [a for a in current["IPSet"]["Addresses"] if a != SCENARIO["attacker_ip"] + "/32"]
    if addresses != current["IPSet"]["Addresses"]:
        waf.update_ip_set(Name=name, Scope="REGIONAL", Id=summary["Id"], Addresses=addresses, LockToken=current["LockToken"])
    for path in (STATE / "injected.json", STATE / "holder.pid"):
        path.unlink(missing_ok=True)
    return {"cleared": True}


def status():
    path = STATE / "injected.json"
    return {"injected": json.loads(path.read_text()) if path.exists() else None, "holder_pid": holder_pid()}


def main(argv):
    if argv[:1] == ["hold-queries"]:
        hold_queries(int(argv[1]))
        return 0
    actions = {"inject": inject, "clear": clear, "status": status}
    if not argv or argv[0] not in actions:
        print(__doc__)
        return 2
    print(json.dumps(actions[argv[0]]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
