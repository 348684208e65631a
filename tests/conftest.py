"""Shared test helpers: the lab's configuration and running modules/playbooks for real."""
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# the virtualenv running the tests: .venv, or .venv-oldest when tests/run-all.sh runs the unit tests
# on the oldest supported ansible-core; its ansible-playbook and Python run the playbooks
VENV_BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")

# make `ansible_collections.clickview.runbook.plugins...` importable for unit tests
# (.collections/ansible_collections/clickview/runbook is a link to this checkout: make collection)
if str(ROOT / ".collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".collections"))


def lab_config():
    with open(ROOT / "lab" / "lab.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def ansible_env(**extra):
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
        PATH=f"{VENV_BIN}:{ROOT / '.tools' / 'bin'}:{env.get('PATH', '')}",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=str(VENV_BIN / "python"),
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_playbook(playbook, inventory="inventory/local", extra_vars=None, check=False,
                 diff=False, json_output=True, env=None, timeout=600):
    """Run ansible-playbook from the repo root; returns (returncode, parsed json or text)."""
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", inventory, str(playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    extra_env = dict(env or {})
    if json_output:
        extra_env.update(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(**extra_env), capture_output=True,
                          text=True, timeout=timeout, check=False)
    if not json_output:
        return proc.returncode, proc.stdout + proc.stderr
    try:
        return proc.returncode, json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}") from None


def run_tasks(tasks, check=False, diff=False, env=None):
    """Run several task dicts on localhost in one ansible-playbook (one start-up instead of one per
    task); return each task's result dict, in order. Give each task ignore_errors: true when later
    tasks must run after it fails."""
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}]
    with tempfile.NamedTemporaryFile("w", prefix="clickview-test-", suffix=".yml", delete=False) as handle:
        yaml.safe_dump(play, handle)
        path = handle.name
    try:
        _rc, out = run_playbook(path, inventory="localhost,", check=check, diff=diff, env=env)
    finally:
        os.unlink(path)
    results = [task["hosts"]["localhost"] for task in out["plays"][0]["tasks"]]
    assert len(results) == len(tasks), f"only {len(results)} of {len(tasks)} tasks ran: {results[-1:]}"
    return results


def run_module(module, args, check=False, diff=False, env=None):
    """Run one module task on localhost through ansible-playbook; return its result dict."""
    return run_tasks([{"name": "module under test", module: args, "ignore_errors": True}],
                     check=check, diff=diff, env=env)[0]


@pytest.fixture(scope="session")
def lab():
    return lab_config()


# ---- a private PostgreSQL cluster, for tests that must not touch the lab's ----------------------

def free_port(start):
    for port in range(start, start + 200):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0 and not Path(f"/tmp/.s.PGSQL.{port}").exists():
                return port
    raise RuntimeError("no free port")


class Cluster:
    """A private PostgreSQL cluster run as the account the lab uses; by default Debian's PostgreSQL 15,
    or the binaries of bin_dir (servers.pg18_bin() for PostgreSQL 18)."""

    def __init__(self, base, port, bin_dir=PG_BIN):
        self.base, self.port, self.bin = base, port, Path(bin_dir)
        self.data = base / "data"
        self.user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    def run(self, argv, check=True, **kwargs):
        if self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
            kwargs["env"] = dict(os.environ, HOME=self.user.pw_dir)
        return subprocess.run(argv, check=check, capture_output=True, text=True, cwd="/", **kwargs)

    def sql(self, query, port=None, socket_dir=None, database="clickview"):
        out = self.run([str(self.bin / "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", str(socket_dir or self.base), "-p", str(port or self.port), "-U", "postgres",
                        "-d", database, "-c", query])
        return out.stdout.strip()

    def pg_ctl(self, *args, data=None):
        return self.run([str(self.bin / "pg_ctl"), "-D", str(data or self.data), *args], check=False)

    def create(self, conf):
        """initdb (superuser postgres, local trust), append conf to postgresql.conf, start; clickview database."""
        if self.user is not None:
            os.chown(self.base, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.base, 0o755)
        self.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                  "-E", "UTF8", "--locale=C.UTF-8"])
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as handle:
            handle.write(f"port = {self.port}\nunix_socket_directories = '{self.base}'\nfsync = off\n"
                         f"shared_buffers = '32MB'\n{conf}")
        assert self.pg_ctl("-l", str(self.base / "server.log"), "-w", "start").returncode == 0
        self.sql("CREATE DATABASE clickview", database="postgres")

    def destroy(self):
        self.pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)


# ---- the lab's services, for tests that check outcomes directly ------------------------------
# One place for the lab's ports and credentials (lab/lab.yml), so test files do not re-derive them.

LAB = lab_config()
LAB_HOST = LAB["host"]
PG_ROLES = {"superuser": LAB["postgres"]["superuser"], "operator": LAB["postgres"]["operator"],
            "app": LAB["postgres"]["app"], "replicator": LAB["postgres"]["replicator"]}


def lab_port(service):
    """The port of a lab service by its lab.yml name (postgres_primary, redis, moto, ...)."""
    return LAB["services"][service]["port"]


def lab_url(service, path=""):
    return f"http://{LAB_HOST}:{lab_port(service)}{path}"


def pg_connect(role="superuser", port="postgres_primary", dbname=None, application_name="clickview-tests",
               autocommit=True, host=None):
    """A psycopg2 connection as one of the lab's roles (superuser, operator, app, replicator) to the
    primary, or to another lab service by name (postgres_replica, pgbouncer) or port number."""
    import psycopg2  # pylint: disable=import-outside-toplevel
    login = PG_ROLES[role] if isinstance(role, str) else role
    extra = {"application_name": application_name} if application_name else {}
    conn = psycopg2.connect(host=host or LAB_HOST, port=lab_port(port) if isinstance(port, str) else port,
                            user=login["name"], password=login["password"], dbname=dbname or LAB["postgres"]["database"],
                            connect_timeout=5, **extra)
    conn.autocommit = autocommit
    return conn


def pg_query(sql, params=None, **connect):
    """Run one statement in a new connection (pg_connect's arguments); its rows, or None."""
    conn = pg_connect(**connect)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def redis_client(db=0):
    import redis  # pylint: disable=import-outside-toplevel
    return redis.Redis(host=LAB_HOST, port=lab_port("redis"), password=LAB["redis"]["password"], db=db)


def aws_client(service):
    """A boto3 client of the lab's AWS (moto), e.g. aws_client("wafv2"), aws_client("s3")."""
    import boto3  # pylint: disable=import-outside-toplevel
    aws = LAB["aws"]
    return boto3.client(service, region_name=aws["region"], aws_access_key_id=aws["access_key"],
                        aws_secret_access_key=aws["secret_key"], endpoint_url=lab_url("moto"))


def http_json(url, data=None, method=None, timeout=10):
    """GET (or POST data as JSON) and return the decoded answer."""
    import urllib.request  # pylint: disable=import-outside-toplevel
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method or ("POST" if body is not None else "GET"),
                                 headers={"Content-Type": "application/json"} if body is not None else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw.strip() else None


def set_sample_app_faults(**faults):
    """Set the lab sample backend's faults (error_rate, latency_ms, healthy, ...); none resets them."""
    return http_json(lab_url("sample_app", "/admin/faults"), faults, method="POST")


def webhook_received(path=None, since=None):
    """Requests recorded by the lab's webhook sink (oldest first), optionally only those to path
    and those received at or after the epoch time since."""
    import urllib.parse  # pylint: disable=import-outside-toplevel
    query = "?path=" + urllib.parse.quote(path) if path else ""
    records = http_json(lab_url("webhook_sink", "/_received" + query))
    return [r for r in records if since is None or r["time"] >= since]


def active_alerts():
    """Names of the alerts Alertmanager has active."""
    return [a["labels"].get("alertname") for a in http_json(lab_url("alertmanager", "/api/v2/alerts?active=true"))]


def wait_until(predicate, timeout, what, interval=0.5):
    """Poll predicate until it returns something true (returned); fail naming what after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def sample_app_faults():
    """Set the sample backend's faults (set(error_rate=0.3)); they are reset when the test ends."""
    yield set_sample_app_faults
    set_sample_app_faults()


@pytest.fixture
def webhook_messages():
    """messages(path): bodies the webhook sink received at path since the test started."""
    started = time.time()
    return lambda path: [r["body"] for r in webhook_received(path, since=started)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    """In `make test` (CLICKVIEW_STRICT_SKIPS=1) a skipped test is a failure: a test that did
    not run must not be counted as passing (for example because a lab service was down)."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CLICKVIEW_STRICT_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped during make test, which must run every test: {reason}"


def wait_for_quiet_lab(timeout=150):
    """Reset the sample backend's faults and wait until Prometheus's 1-minute error ratio is
    back under 2 % and Alertmanager has no active alert: earlier tests raise faults on purpose,
    and a test of the healthy lab must start from a healthy lab."""
    import urllib.parse  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel
    cfg = lab_config()["services"]
    req = urllib.request.Request(f"http://127.0.0.1:{cfg['sample_app']['port']}/admin/faults", data=b"{}", method="POST")
    urllib.request.urlopen(req, timeout=5).close()
    query = 'sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))'
    prom = f"http://127.0.0.1:{cfg['prometheus']['port']}/api/v1/query?query={urllib.parse.quote(query)}"
    # the newest scrape of the backend: a ratio from before this call does not yet count what a test just did
    scraped = f"http://127.0.0.1:{cfg['prometheus']['port']}/api/v1/query?query=" + urllib.parse.quote(
        'max(timestamp(http_requests_total))')
    alerts = f"http://127.0.0.1:{cfg['alertmanager']['port']}/api/v2/alerts?active=true"
    called = time.time()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(scraped, timeout=5) as resp:
            newest = json.load(resp)["data"]["result"]
        with urllib.request.urlopen(prom, timeout=5) as resp:
            result = json.load(resp)["data"]["result"]
        with urllib.request.urlopen(alerts, timeout=5) as resp:
            firing = json.load(resp)
        fresh = newest and float(newest[0]["value"][1]) > called
        if fresh and result and float(result[0]["value"][1]) < 0.02 and not firing:
            return
        time.sleep(2)
    raise AssertionError("the lab did not become healthy again within %ss (error ratio %s, alerts %s)"
                         % (timeout, result, [a["labels"].get("alertname") for a in firing]))


@pytest.fixture
def quiet_lab():
    wait_for_quiet_lab()


def grant_the_operator(api, namespace):
    """The Roles and RoleBindings extensions/kubernetes/rbac.yaml gives the operator user in the clickview namespace,
    created in a test's own namespace: the procedure runs there as the inventory's operator with exactly those grants."""
    from kubernetes import client  # pylint: disable=import-outside-toplevel
    rbac = client.RbacAuthorizationV1Api(api)
    for doc in yaml.safe_load_all((ROOT / "extensions" / "kubernetes" / "rbac.yaml").read_text()):
        if not doc or doc["metadata"].get("namespace") != "clickview":
            continue
        doc["metadata"]["namespace"] = namespace
        if doc["kind"] == "Role":
            rbac.create_namespaced_role(namespace, doc)
        elif doc["kind"] == "RoleBinding":
            rbac.create_namespaced_role_binding(namespace, doc)
