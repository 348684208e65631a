"""The on-call access check against the lab: all ticked with the lab's credentials, and the
precise failures with a read-only Kubernetes token, a PostgreSQL role without
pg_signal_backend, and an IP set the credentials cannot find."""
import json
import uuid

import pytest

from conftest import pg_connect, run_playbook

PLAYBOOK = "playbooks/oncall_access_check.yml"


def run_access_check(tmp_path, **extra):
    rc, output = run_playbook(PLAYBOOK, extra_vars={"on_call_report_dir": str(tmp_path), **extra}, json_output=False)
    report = json.loads((tmp_path / "access-check-local-latest.json").read_text())
    markdown = (tmp_path / "access-check-local-latest.md").read_text()
    return rc, output, report, markdown


def statuses(report):
    return {(c["check"], c["target"]): c for c in report["checks"]}


def test_every_box_ticked_with_the_lab_credentials(tmp_path):
    rc, output, report, markdown = run_access_check(tmp_path)
    assert rc == 0, output
    unticked = [c for c in report["checks"] if c["status"] != "OK"]
    assert not unticked, unticked
    names = {c["check"] for c in report["checks"]}
    assert names >= {"aws.caller_identity", "aws.waf_ip_set_read", "aws.backups_bucket_read", "kubernetes.can_i",
                     "kubernetes.list_pods", "monitoring.api", "webhook.configured", "postgres.connect",
                     "postgres.read_activity", "postgres.signal_backend"}
    assert "- [x] `kubernetes.can_i` patch deployments in clickview: allowed" in markdown
    assert "- [ ]" not in markdown


def test_read_only_token_shows_the_write_verbs_missing(tmp_path):
    rc, _output, report, markdown = run_access_check(tmp_path, clickview_k8s_context="clickview-lab-readonly")
    assert rc != 0, "an unticked box must fail the play"
    checks = statuses(report)
    for verb in ("patch deployments", "patch deployments/scale", "delete secrets clickview-tls"):
        item = checks[("kubernetes.can_i", f"{verb} in clickview")]
        assert (item["status"], item["figure"]) == ("FAIL", "denied")
        assert f"- [ ] `kubernetes.can_i` {verb} in clickview: denied" in markdown
    for verb in ("list pods", "get pods/log"):
        assert checks[("kubernetes.can_i", f"{verb} in clickview")]["status"] == "OK"
    assert checks[("kubernetes.list_pods", "clickview")]["status"] == "OK"


@pytest.fixture
def restricted_role():
    """A login role with no pg_signal_backend and no pg_read_all_stats."""
    name, password = f"oncall_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    conn = pg_connect(application_name="itest-access-check")
    with conn.cursor() as cur:
        cur.execute(f'CREATE ROLE "{name}" LOGIN PASSWORD %s', (password,))
    try:
        yield name, password
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP ROLE "{name}"')
        conn.close()


def test_role_without_pg_signal_backend_is_reported(tmp_path, restricted_role):
    name, password = restricted_role
    rc, _output, report, markdown = run_access_check(
        tmp_path, clickview_postgres_user=name, clickview_postgres_password=password)
    assert rc != 0
    checks = {c["check"]: c for c in report["checks"] if c["check"].startswith("postgres.")}
    assert checks["postgres.connect"]["status"] == "OK"
    assert checks["postgres.signal_backend"]["status"] == "FAIL"
    assert f"GRANT pg_signal_backend TO {name}" in checks["postgres.signal_backend"]["detail"]
    assert checks["postgres.read_activity"]["status"] == "FAIL"      # other roles' queries are hidden from it
    assert password not in markdown and password not in json.dumps(report)


def test_wrong_password_and_missing_ip_set_give_the_exact_error(tmp_path):
    rc, _output, report, _markdown = run_access_check(
        tmp_path, clickview_postgres_password="not-the-password",
        clickview_waf_ip_sets={"ipv4": "no-such-ip-set", "ipv6": "clickview-blocklist-v6"})
    assert rc != 0
    checks = statuses(report)
    connect = checks[("postgres.connect", "clickview_ops@127.0.0.1:15432")]
    assert connect["status"] == "FAIL" and "password authentication failed" in connect["detail"]
    assert "postgres.signal_backend" not in {c["check"] for c in report["checks"]}   # one FAIL, not three
    assert checks[("aws.waf_ip_set_read", "no-such-ip-set")]["status"] == "FAIL"
    assert checks[("aws.waf_ip_set_read", "clickview-blocklist-v6")]["status"] == "OK"


def test_wrong_variable_fails_at_argument_validation_naming_it(tmp_path):
    rc, output = run_playbook(PLAYBOOK, extra_vars={"on_call_report_dir": str(tmp_path), "clickview_waf_scope": "regional"},
                              json_output=False)
    assert rc != 0
    assert "clickview_waf_scope must be one of: REGIONAL, CLOUDFRONT, got: regional" in output
    assert not list(tmp_path.iterdir()), "nothing runs (no report) when the arguments are wrong"


def test_the_lab_operator_login_has_exactly_the_documented_grants():
    """Every procedure's lab test runs as clickview_ops: it has pg_monitor, pg_signal_backend and SELECT on the
    audit trail (docs/security.md), and no other table data; a procedure that needed more would fail its test."""
    from conftest import pg_query  # pylint: disable=import-outside-toplevel
    rows = pg_query(
        "SELECT pg_has_role('clickview_ops', 'pg_monitor', 'member'), pg_has_role('clickview_ops', 'pg_signal_backend', 'member'),"
        " pg_has_role('clickview_ops', 'pg_read_all_data', 'member'), rolsuper, rolreplication, rolcreaterole, rolcreatedb"
        " FROM pg_roles WHERE rolname = 'clickview_ops'")
    assert rows == [(True, True, False, False, False, False, False)]
    readable = pg_query("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                        " AND has_table_privilege('clickview_ops', c.oid, 'SELECT') ORDER BY 1")
    assert readable == [("audit_log",)]
    writable = pg_query("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND (has_table_privilege('clickview_ops', c.oid, 'INSERT')"
                        " OR has_table_privilege('clickview_ops', c.oid, 'UPDATE') OR has_table_privilege('clickview_ops', c.oid, 'DELETE'))")
    assert writable == [(0,)]
