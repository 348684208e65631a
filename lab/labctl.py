"""Start, stop and inspect the local lab: real services on 127.0.0.1 standing for ClickView.

    labctl.py up                 start every service that is not running (idempotent)
    labctl.py down               stop everything the lab started (by pid) and remove its state
    labctl.py status             every service, its address and whether it is healthy
    labctl.py stop SERVICE...    stop single services (fault injection: replica down, Redis down)
    labctl.py start SERVICE...   start single services again

Ports and lab-only credentials come from lab/lab.yml. All state (data directories, logs,
pid files, kubeconfig) lives under lab/.state, which is git-ignored.
"""
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

LAB = Path(__file__).resolve().parent
ROOT = LAB.parent
CONFIG = yaml.safe_load((LAB / "lab.yml").read_text(encoding="utf-8"))
STATE = ROOT / CONFIG["state_dir"]
HOST = CONFIG["host"]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT = float(os.environ.get("LAB_START_TIMEOUT", "40"))


class LabError(Exception):
    pass


def port_of(name):
    return CONFIG["services"][name]["port"]


def addr(name):
    return f"{HOST}:{port_of(name)}"


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((HOST, port)) == 0


def http_ok(url, timeout=1.0):
    try:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            return resp.status < 500
    except Exception:  # noqa: BLE001 - any failure means "not healthy yet"
        return False


def service_user():
    """PostgreSQL and PgBouncer refuse to run as root: use the postgres account then."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError as exc:
        raise LabError("running as root needs the 'postgres' account (apt-get install postgresql-15)") from exc


def chown_tree(path, user):
    if user is None:
        return
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, user.pw_uid, user.pw_gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), user.pw_uid, user.pw_gid)


def run_as(user, cmd, **kwargs):
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        kwargs.setdefault("env", dict(os.environ, HOME=user.pw_dir))
    return subprocess.run(cmd, check=False, capture_output=True, text=True, **kwargs)


def tail(path, lines=25):
    try:
        return "\n".join(Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def pid_alive(pid, expect):
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return expect in cmdline


class Service:
    """A lab service run as a child process, tracked by a pid file."""

    name = ""
    expect = ""          # substring of the process command line, checked before any kill
    user = None

    def __init__(self):
        self.proc = None     # set when this run launched the process
        self.dir = STATE / self.name
        self.log = STATE / "logs" / f"{self.name}.log"
        self.pidfile = STATE / "run" / f"{self.name}.pid"

    @property
    def port(self):
        return port_of(self.name.replace("-", "_"))

    def pid(self):
        if self.proc is not None:
            return self.proc.pid if self.proc.poll() is None else None
        try:
            pid = int(self.pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid, self.expect) else None

    def running(self):
        return self.pid() is not None

    def healthy(self):
        return port_open(self.port)

    def command(self):
        raise NotImplementedError

    def prepare(self):
        self.dir.mkdir(parents=True, exist_ok=True)

    def launch(self):
        with open(self.log, "ab") as log:
            kwargs = {}
            if self.user is not None:
                kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                         stdin=subprocess.DEVNULL, cwd=self.dir, start_new_session=True, **kwargs)
        self.pidfile.write_text(str(self.proc.pid))

    def seed(self):
        """Load sample data once the service is healthy."""

    def upgrade(self):
        """Bring state seeded by an older lab up to date (idempotent); run at start and by `up` when already up."""

    def start(self):
        self.log.touch()
        if self.user is not None:
            os.chown(self.log, self.user.pw_uid, self.user.pw_gid)
        self.prepare()
        self.launch()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.healthy():
                self.seed()
                self.upgrade()
                return
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise LabError(f"{self.name} did not come up on {HOST}:{self.port} "
                       f"within {START_TIMEOUT:.0f}s; last lines of {self.log}:\n{tail(self.log)}")

    def stop(self):
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not pid_alive(pid, self.expect):
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
        self.pidfile.unlink(missing_ok=True)
        return True


class Postgres(Service):
    expect = "postgres"

    def __init__(self):
        super().__init__()
        self.user = service_user()
        self.data = self.dir / "data"
        self.pidfile = self.data / "postmaster.pid"

    def pg_ctl(self, *args):
        return run_as(self.user, [str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args])

    def healthy(self):
        result = run_as(self.user, [str(PG_BIN / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port)])
        return result.returncode == 0

    def configure(self):
        settings = {
            "port": self.port, "listen_addresses": f"'{HOST}'",
            "unix_socket_directories": f"'{STATE / 'run'}'",
            "max_connections": 100, "shared_buffers": "'64MB'", "wal_level": "replica",
            "max_wal_senders": 10, "hot_standby": "on", "wal_keep_size": "'256MB'",
            "track_io_timing": "on", "track_activity_query_size": 4096,
            "shared_preload_libraries": "'pg_stat_statements'",
            "log_line_prefix": "'%m [%p] %u@%d '", "fsync": "off",
        }
        if self.name == "postgres-primary":
            # WAL archiving needs a restart to switch on; the backups Configure playbook only
            # sets archive_command (pgBackRest) and reloads. Until then, archive to nowhere
            # rather than keep every WAL segment waiting for a command.
            settings.update({"archive_mode": "on", "archive_command": "'/bin/true'"})
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# lab settings\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def launch(self):
        result = self.pg_ctl("-l", str(self.log), "-w", "-t", str(int(START_TIMEOUT)), "start")
        if result.returncode != 0:
            raise LabError(f"{self.name}: pg_ctl start failed: {result.stderr.strip()}\n{tail(self.log)}")

    def stop(self):
        if not self.running():
            return False
        self.pg_ctl("-m", "fast", "-w", "stop")
        return True


class PostgresPrimary(Postgres):
    name = "postgres-primary"

    def prepare(self):
        if (self.data / "PG_VERSION").exists():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        chown_tree(self.dir, self.user)
        result = run_as(self.user, [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                                    "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                                    "--locale=C.UTF-8"])
        if result.returncode != 0:
            raise LabError(f"initdb failed: {result.stderr.strip()}")
        self.configure()
        with open(self.data / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write(f"host replication replicator {HOST}/32 scram-sha-256\n")
        (self.dir / "seed-pending").touch()

    def seed(self):
        marker = self.dir / "seed-pending"
        if not marker.exists():
            return
        pg = CONFIG["postgres"]
        result = run_as(self.user, [
            str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(STATE / "run"),
            "-p", str(self.port), "-U", "postgres", "-d", "postgres",
            "-v", f"app_password={pg['app']['password']}", "-v", f"ops_password={pg['operator']['password']}",
            "-v", f"replicator_password={pg['replicator']['password']}",
            "-v", f"superuser_password={pg['superuser']['password']}",
            "-f", str(LAB / "config" / "seed.sql")])
        if result.returncode != 0:
            raise LabError(f"seeding the clickview database failed: {result.stderr.strip()}")
        marker.unlink()

    def upgrade(self):
        """lab/config/upgrade.sql: a database seeded by an older seed.sql gets the current schema."""
        result = run_as(self.user, [
            str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(STATE / "run"),
            "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-f", str(LAB / "config" / "upgrade.sql")])
        if result.returncode != 0:
            raise LabError(f"upgrading the clickview database failed: {result.stderr.strip()}")


class PostgresReplica(Postgres):
    name = "postgres-replica"

    def prepare(self):
        if (self.data / "PG_VERSION").exists():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        chown_tree(self.dir, self.user)
        pg = CONFIG["postgres"]
        env = dict(os.environ, PGPASSWORD=pg["replicator"]["password"])
        if self.user is not None:
            env["HOME"] = self.user.pw_dir
        result = run_as(self.user, [str(PG_BIN / "pg_basebackup"), "-h", HOST, "-p", str(port_of("postgres_primary")),
                                    "-U", pg["replicator"]["name"], "-D", str(self.data), "-R", "-X", "stream",
                                    "-c", "fast"], env=env)
        if result.returncode != 0:
            raise LabError(f"pg_basebackup for the replica failed: {result.stderr.strip()}")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\n# replica\nport = {self.port}\n")


class PgBouncer(Service):
    name = "pgbouncer"
    expect = "pgbouncer"

    def __init__(self):
        super().__init__()
        self.user = service_user()

    def prepare(self):
        super().prepare()
        pg = CONFIG["postgres"]
        users = [pg[role] for role in ("app", "operator", "superuser")]
        (self.dir / "userlist.txt").write_text(
            "".join(f'"{u["name"]}" "{u["password"]}"\n' for u in users), encoding="utf-8")
        (self.dir / "pgbouncer.ini").write_text(f"""[databases]
{pg['database']} = host={HOST} port={port_of('postgres_primary')} dbname={pg['database']}

[pgbouncer]
listen_addr = {HOST}
listen_port = {self.port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {self.dir / 'userlist.txt'}
admin_users = {pg['operator']['name']}, {pg['superuser']['name']}
stats_users = {pg['operator']['name']}
pool_mode = transaction
default_pool_size = 20
max_client_conn = 200
ignore_startup_parameters = extra_float_digits,options
""", encoding="utf-8")
        os.chmod(self.dir / "userlist.txt", 0o600)
        chown_tree(self.dir, self.user)

    def command(self):
        return ["/usr/sbin/pgbouncer", str(self.dir / "pgbouncer.ini")]


class Redis(Service):
    name = "redis"
    expect = "redis-server"

    def command(self):
        return ["/usr/bin/redis-server", "--bind", HOST, "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.dir), "--requirepass", CONFIG["redis"]["password"],
                "--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru"]

    def seed(self):
        import redis  # pylint: disable=import-outside-toplevel
        client = redis.Redis(host=HOST, port=self.port, password=CONFIG["redis"]["password"])
        if client.exists("lab:seeded"):
            return
        pipe = client.pipeline(transaction=False)
        for i in range(2000):
            user = 1 + i % 400
            pipe.set(f"session:{i:06d}-{user}", json.dumps({"user_id": user, "ip": "203.0.113.7"}), ex=86400)
            pipe.sadd(f"user_sessions:{user}", f"session:{i:06d}-{user}")
        for i in range(1000):
            pipe.set(f"cache:video:{i}", f"payload-{i}", ex=3600)
        for i in range(200):
            pipe.set(f"ratelimit:api:203.0.113.{i % 250}", i, ex=60)
        pipe.set("lab:seeded", "1")
        pipe.execute()
        # a realistic cache hit rate (about 90 %) for the health check to read
        for i in range(900):
            pipe.get(f"cache:video:{i}")
        for i in range(100):
            pipe.get(f"cache:video:miss-{i}")
        pipe.execute()


class VenvScript(Service):
    script = ""

    def command(self):
        return [sys.executable, str(LAB / self.script), "--host", HOST, "--port", str(self.port)]


class SampleApp(VenvScript):
    name = "sample-app"
    expect = "sample_app.py"
    script = "sample_app.py"

    def command(self):
        # also the kubelet stand-in of the database claim's volume stats: the primary's data directory
        return super().command() + ["--claim-dir", str(STATE / "postgres-primary" / "data")]

    def healthy(self):
        return http_ok(f"http://{addr('sample_app')}/metrics")


class WebhookSink(VenvScript):
    name = "webhook-sink"
    expect = "webhook_sink.py"
    script = "webhook_sink.py"

    def command(self):
        statuspage = CONFIG.get("statuspage") or {}
        return super().command() + ["--log", str(self.dir / "received.jsonl"),
                                    "--statuspage-page", str(statuspage.get("page_id", "")),
                                    "--statuspage-key", str(statuspage.get("api_key", ""))]

    def healthy(self):
        return http_ok(f"http://{addr('webhook_sink')}/health")


class SmtpSink(VenvScript):
    """aiosmtpd standing for the SMTP relay: every message accepted goes to messages.jsonl (lab/smtp_sink.py)."""

    name = "smtp-sink"
    expect = "smtp_sink.py"
    script = "smtp_sink.py"

    def command(self):
        return super().command() + ["--log", str(self.dir / "messages.jsonl")]


class Moto(Service):
    name = "moto"
    expect = "moto_iam.py"

    def command(self):
        # moto_server with IAM enforced and the lab's users (lab/moto_iam.py)
        return [str(VENV_BIN / "python"), str(LAB / "moto_iam.py"), "-H", HOST, "-p", str(self.port)]

    def healthy(self):
        return http_ok(f"http://{addr('moto')}/moto-api/")

    def seed(self):
        import boto3  # pylint: disable=import-outside-toplevel
        aws = CONFIG["aws"]
        session = boto3.session.Session(aws_access_key_id=aws["access_key"], aws_secret_access_key=aws["secret_key"],
                                        region_name=aws["region"])
        endpoint = f"http://{addr('moto')}"
        waf = session.client("wafv2", endpoint_url=endpoint)
        existing = {s["Name"] for s in waf.list_ip_sets(Scope="REGIONAL")["IPSets"]}
        for version, name in aws["waf_ip_sets"].items():
            if name not in existing:
                waf.create_ip_set(Name=name, Scope="REGIONAL", IPAddressVersion=version.upper(), Addresses=[],
                                  Description="Addresses blocked by the on-call runbook")
        s3 = session.client("s3", endpoint_url=endpoint)
        buckets = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket in (aws["backup_bucket"], aws["incident_bucket"]):   # backups and evidence; incident records, PIRs
            if bucket not in buckets:
                s3.create_bucket(Bucket=bucket)
        logs = session.client("logs", endpoint_url=endpoint)
        groups = logs.describe_log_groups(logGroupNamePrefix=aws["waf_log_group"])["logGroups"]
        if not groups:
            logs.create_log_group(logGroupName=aws["waf_log_group"])


class MotoTLS(Service):
    """nginx terminating TLS (lab CA, certificate for DNS:localhost) in front of moto's plain HTTP.

    pgBackRest's S3 client speaks TLS only, moto's own TLS mode breaks its uploads, and
    pgBackRest 2.45 ignores IP subjectAltNames: clients use https://localhost:<port> and trust
    lab/.state/tls/ca.crt.
    """

    name = "moto-tls"
    expect = "nginx"

    def __init__(self):
        super().__init__()
        self.user = service_user()

    def certificates(self):
        """Lab CA and server certificate (subjectAltName DNS:localhost, IP:127.0.0.1), made once."""
        # pylint: disable=import-outside-toplevel
        import datetime
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        import ipaddress
        tls = STATE / "tls"
        if (tls / "ca.crt").exists() and (self.dir / "server.crt").exists():
            return
        tls.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clickview lab CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=825))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False, data_encipherment=False,
                                           key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=825))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                            x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        pem = serialization.Encoding.PEM
        (tls / "ca.crt").write_bytes(ca.public_bytes(pem))
        os.chmod(tls / "ca.crt", 0o644)
        (self.dir / "server.crt").write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
        (self.dir / "server.key").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                                serialization.NoEncryption()))
        os.chmod(self.dir / "server.key", 0o600)

    def prepare(self):
        super().prepare()
        self.certificates()
        for sub in ("tmp",):
            (self.dir / sub).mkdir(exist_ok=True)
        tmp = self.dir / "tmp"
        (self.dir / "nginx.conf").write_text(f"""worker_processes 1;
pid {self.dir / 'nginx.pid'};
error_log {self.dir / 'error.log'} warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen {HOST}:{self.port} ssl;
        server_name localhost;
        ssl_certificate {self.dir / 'server.crt'};
        ssl_certificate_key {self.dir / 'server.key'};
        client_max_body_size 0;
        location / {{
            proxy_pass http://{addr('moto')};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
""", encoding="utf-8")
        chown_tree(self.dir, self.user)

    def command(self):
        return ["/usr/sbin/nginx", "-e", str(self.dir / "error.log"), "-p", str(self.dir),
                "-c", str(self.dir / "nginx.conf"), "-g", "daemon off;"]

    def healthy(self):
        return http_ok(f"https://{addr('moto_tls')}/moto-api/")


class Prometheus(Service):
    name = "prometheus"
    expect = "prometheus"

    def prepare(self):
        super().prepare()
        text = (LAB / "config" / "prometheus.yml").read_text(encoding="utf-8")
        for key in ("sample_app", "alertmanager", "prometheus"):
            text = text.replace(f"@{key.upper()}@", addr(key))
        (self.dir / "prometheus.yml").write_text(text, encoding="utf-8")
        shutil.copy(LAB / "config" / "rules.yml", self.dir / "rules.yml")

    def command(self):
        return ["/usr/bin/prometheus", f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}", f"--web.listen-address={addr('prometheus')}",
                "--storage.tsdb.retention.time=1d"]

    def healthy(self):
        return http_ok(f"http://{addr('prometheus')}/-/ready")

    def seed(self):
        """Up means rates can be computed: wait until two scrapes of the sample app give a rate."""
        query = urllib.parse.quote("sum(rate(http_requests_total[1m]))")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{addr('prometheus')}/api/v1/query?query={query}", timeout=2) as resp:
                    if json.load(resp)["data"]["result"]:
                        return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        raise LabError("Prometheus has no rate for the sample app yet; last lines of its log:\n" + tail(self.log))


class Alertmanager(Service):
    name = "alertmanager"
    expect = "alertmanager"

    def prepare(self):
        super().prepare()
        text = (LAB / "config" / "alertmanager.yml").read_text(encoding="utf-8")
        (self.dir / "alertmanager.yml").write_text(text.replace("@WEBHOOK_SINK@", addr("webhook_sink")),
                                                   encoding="utf-8")

    def command(self):
        return ["/usr/bin/prometheus-alertmanager", f"--config.file={self.dir / 'alertmanager.yml'}",
                f"--storage.path={self.dir / 'data'}", f"--web.listen-address={addr('alertmanager')}",
                "--cluster.listen-address="]

    def healthy(self):
        return http_ok(f"http://{addr('alertmanager')}/-/ready")


class K8sStandin(Service):
    """The Kubernetes API stand-in (lab/k8s_standin): not a cluster, an API double for tests."""

    name = "k8s-standin"
    expect = "k8s_standin"

    def command(self):
        return [sys.executable, str(LAB / "k8s_standin" / "server.py"), "--host", HOST, "--port", str(self.port),
                "--state-dir", str(self.dir), "--kubeconfig", str(STATE / "kubeconfig"), "--seed"]

    def healthy(self):
        return http_ok(f"https://{addr('k8s_standin')}/readyz") and (STATE / "kubeconfig").exists()


class Ingress(VenvScript):
    """The stand-in for the cluster's ingress (lab/ingress.py): HTTPS with the certificate the stand-in's secret
    clickview/clickview-tls holds now, /healthz, everything else passed to the sample backend. Started after
    the k8s-standin, whose cert-manager issues that secret."""

    name = "ingress"
    expect = "ingress.py"
    script = "ingress.py"

    def command(self):
        return super().command() + ["--kubeconfig", str(STATE / "kubeconfig"), "--state-dir", str(self.dir),
                                    "--backend", f"http://{addr('sample_app')}"]

    def healthy(self):
        return http_ok(f"https://{addr('ingress')}/healthz")


def services():
    found = [PostgresPrimary(), PostgresReplica(), PgBouncer(), Redis(), Moto(), MotoTLS(), SampleApp(),
             WebhookSink(), SmtpSink(), Alertmanager(), Prometheus()]
    if (LAB / "k8s_standin" / "server.py").exists():
        found += [K8sStandin(), Ingress()]
    return found


def select(names):
    table = {s.name: s for s in services()}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise LabError(f"unknown service(s) {unknown}; known: {sorted(table)}")
    return [table[n] for n in names]


def up(chosen=None):
    for sub in ("logs", "run"):
        (STATE / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(STATE, 0o755)
    os.chmod(STATE / "run", 0o1777)     # PostgreSQL's socket directory, written as postgres
    started = []
    try:
        for svc in chosen or services():
            if svc.running() and svc.healthy():
                svc.upgrade()
                print(f"  {svc.name:<18} already up on {HOST}:{svc.port}")
                continue
            if not svc.running() and port_open(svc.port):
                raise LabError(f"port {svc.port} for {svc.name} is already in use by another process; "
                               f"free it or change services.{svc.name.replace('-', '_')}.port in lab/lab.yml")
            begun = time.monotonic()
            started.append(svc)
            svc.start()
            print(f"  {svc.name:<18} up on {HOST}:{svc.port} ({time.monotonic() - begun:.1f}s)")
    except LabError:
        for svc in reversed(started):
            svc.stop()
        raise


def down(chosen=None, keep_state=False):
    for svc in reversed(chosen or services()):
        if svc.stop():
            print(f"  {svc.name:<18} stopped")
    if chosen is None and not keep_state and STATE.exists():
        shutil.rmtree(STATE)
        print(f"  removed {STATE.relative_to(ROOT)}")


def status():
    bad = 0
    print(f"  {'service':<18} {'address':<22} state")
    for svc in services():
        running, healthy = svc.running(), svc.healthy()
        state = "healthy" if running and healthy else ("running, not healthy" if running else "down")
        bad += state != "healthy"
        print(f"  {svc.name:<18} {HOST + ':' + str(svc.port):<22} {state}")
    return 1 if bad else 0


def main(argv):
    if not argv or argv[0] not in ("up", "down", "status", "start", "stop"):
        print(__doc__)
        return 2
    try:
        if argv[0] == "up":
            up()
        elif argv[0] == "down":
            down(keep_state="--keep-state" in argv)
        elif argv[0] == "status":
            return status()
        elif argv[0] == "start":
            up(select(argv[1:]))
        else:
            down(select(argv[1:]))
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
