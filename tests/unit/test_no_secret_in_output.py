"""No secret in any output (issue 17): a static check of the roles' task files.

Ansible prints a task's module arguments (the result's `invocation`, at -vvv and in every AWX job
event) and its result (at -v and in every AWX job event). Collection modules hide the arguments
their argument spec marks no_log (login_password, secret_key, ...); the builtin modules below do
not know which of their arguments are secret, so a task of theirs that templates a secret must have
`no_log: true`. A loop's items are part of every item result, whatever the module. The data of a
Kubernetes Secret, pod log lines and audit_log rows are secrets too, once registered.

The test walks every task (blocks, rescue and always included) of roles/*/tasks/**/*.yml and
fails for each task that
  1. is one of OUTPUT_BLIND_MODULES and whose arguments (plus the task's `args:` and `vars:`)
     reference a secret-like name;
  2. whatever its module, loops over (`loop`, `with_*`, or a `loop_control.label`) a secret-like
     name;
  3. reads a Kubernetes Secret (k8s_info with kind Secret), pod logs (k8s_log) or the audit trail
     (postgresql_query ... FROM audit_log, or FROM {{ <the configured audit table> }}): their results
     are secret-like from then on (see SAFE_RESULT_ATTRS for the fields of such a result that may
     be read without no_log);
  4. loops over the registered results of a task of rules 1-3 (no_log or not: no_log hides the
     output, the registered results keep each item, and a uri result its url and arguments);
and has no `no_log: true` of its own or from an enclosing block (literally true: a template can be
false, and ansible-lint cannot see through it either); and for each task whose name templates a
secret-like name (a task's name is printed whatever no_log says).

Secret-like names (SECRET_NAME, matched against each name of a Jinja expression, split at the
dots, and against quoted keys such as 'tls.key' and the YAML keys of the arguments):
  * a name whose last word is password, passwd, passphrase, secret, token, webhook(s),
    routing_key, api_key(s), secret_key, cipher_pass, private_key or authorization:
    clickview_postgres_password, alert_response_prometheus_token, incident_response_webhooks.chat,
    item.token, backups_cipher_pass, headers: {Authorization: ...}, body: {routing_key: ...};
  * a name that starts with vault_ (anything from the vault);
  * the key tls.key.
Not secret-like, on purpose (no false positives): names that only end there, such as
incident_response_webhook_timeout, on_call_webhook_access (a result without the URLs),
alert_response_secret_deleted, spec.secretName (the name of a Secret, not its data),
clickview_postgres_password_file; and plain text outside {{ }} (SQL such as FROM api_keys,
messages such as "delete the TLS secret").
`environment:` is not checked: a module's arguments do not show it (but note that the connection's
EXEC line at -vvv does, no_log or not).
"""
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"

# Builtin modules that print what they are given (module args, result, message or file diff).
OUTPUT_BLIND_MODULES = {
    "uri", "command", "shell", "raw", "script", "set_fact", "set_stats", "debug", "assert", "fail",
    "template", "copy", "lineinfile", "blockinfile", "replace", "get_url",
}
BUILTIN_PREFIXES = ("ansible.builtin.", "ansible.legacy.")

SECRET_WORDS = (
    "password", "passwd", "passphrase", "secret", "token", "webhook", "webhooks", "routing_key",
    "api_key", "api_keys", "secret_key", "cipher_pass", "private_key", "authorization",
)
SECRET_NAME = re.compile(
    r"(?:^|[_\-])(?:" + "|".join(SECRET_WORDS) + r")$"   # ends with one of the words
    r"|^vault_"                                          # from the vault
    r"|^tls\.key$",                                      # the private key of a TLS Secret
    re.IGNORECASE,
)

# Reading these fields of a sensitive result (rule 3), or of a result with a secret-like name,
# prints no secret.
SAFE_RESULT_ATTRS = {"rowcount", "count", "failed", "changed", "skipped", "msg", "status", "rc", "attempts"}

# Playbook keywords of a task (everything else is the module).
TASK_KEYWORDS = {
    "name", "when", "register", "loop", "loop_control", "vars", "no_log", "tags", "become", "become_user",
    "become_method", "become_flags", "become_exe", "delegate_to", "delegate_facts", "changed_when", "failed_when",
    "until", "retries", "delay", "check_mode", "diff", "environment", "ignore_errors", "ignore_unreachable",
    "notify", "listen", "module_defaults", "run_once", "args", "any_errors_fatal", "throttle", "timeout",
    "collections", "connection", "debugger", "port", "remote_user", "async", "poll", "action", "local_action",
    "block", "rescue", "always",
}

JINJA = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)
STRING = re.compile(r"'([^'\\]*)'|\"([^\"\\]*)\"")
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*")
KEYISH = re.compile(r"^[\w.\-]+$")


def task_files():
    return sorted(p for p in ROLES.glob("*/tasks/**/*.yml") if p.is_file())


def walk(tasks, inherited_no_log=False):
    """Every task of a list, with whether an enclosing block sets no_log: true."""
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        no_log = inherited_no_log or task.get("no_log") is True
        if "block" in task:
            for section in ("block", "rescue", "always"):
                yield from walk(task.get(section), no_log)
        else:
            yield task, no_log


def module_of(task):
    for key in task:
        if key not in TASK_KEYWORDS and not key.startswith("with_"):
            return key, task[key]
    for key in ("action", "local_action"):
        if key in task:
            value = task[key]
            if isinstance(value, dict):
                return value.get("module", ""), value
            name, _sep, rest = str(value).partition(" ")
            return name, rest
    return "", None


def short(module):
    for prefix in BUILTIN_PREFIXES:
        if module.startswith(prefix):
            return module[len(prefix):]
    return module


def strings_and_keys(node, keys):
    """The strings of a YAML value; the mapping keys whose value is templated go to `keys`."""
    if isinstance(node, dict):
        for key, value in node.items():
            texts = list(strings_and_keys(value, keys))
            if any("{{" in t or "{%" in t for t in texts):
                keys.append(str(key))
            yield from texts
    elif isinstance(node, list):
        for value in node:
            yield from strings_and_keys(value, keys)
    elif node is not None:
        yield str(node)


def expressions(text, bare=False):
    """The Jinja expressions of a string (the whole string when it is a bare expression)."""
    found = [a or b for a, b in JINJA.findall(text)]
    if bare and not found:
        found = [text]
    return found


def secret_refs(node, sensitive_results, bare_keys=()):
    """Secret-like names a YAML value references in its templates."""
    hits = []
    keys = []
    if isinstance(node, dict):
        texts = []
        for key, value in node.items():
            sub = list(strings_and_keys(value, keys))
            if key in bare_keys:
                texts += [(t, True) for t in sub]
            else:
                texts += [(t, False) for t in sub]
            if any("{{" in t or "{%" in t for t in sub) or key in bare_keys:
                keys.append(str(key))
    else:
        texts = [(t, False) for t in strings_and_keys(node, keys)]
    hits += [f"key {k}" for k in keys if SECRET_NAME.search(k)]
    for text, bare in texts:
        for expr in expressions(text, bare):
            for match in STRING.finditer(expr):
                literal = match.group(1) if match.group(1) is not None else match.group(2)
                if KEYISH.match(literal) and SECRET_NAME.search(literal):
                    hits.append(f"'{literal}'")
            code = STRING.sub("''", expr)
            for match in DOTTED.finditer(code):
                parts = [p.strip() for p in match.group(0).split(".")]
                # a result's msg or status is not its secret: some_secret_result.msg is fine
                hits += [p for i, p in enumerate(parts) if SECRET_NAME.search(p)
                         and not (i + 1 < len(parts) and parts[i + 1] in SAFE_RESULT_ATTRS)]
                if parts[0] in sensitive_results:
                    after = code[match.end():]
                    safe = (len(parts) > 1 and parts[1] in SAFE_RESULT_ATTRS) or (
                        len(parts) == 1 and re.match(r"\s+is\s", after))
                    if not safe:
                        hits.append(match.group(0))
    return sorted(set(hits))


def sensitive_source(module, args):
    """Why a task reads secret data (rule 3), or None."""
    module = module.split(".")[-1]
    if not isinstance(args, dict):
        return None
    if module == "k8s_info" and str(args.get("kind", "")).lower() == "secret":
        return "reads a Kubernetes Secret"
    if module == "k8s_log":
        return "reads pod logs"
    if module == "postgresql_query" and re.search(r"\bFROM\s+(?:audit_log\b|\{\{[^}]*audit)", str(args.get("query", "")), re.I):
        return "reads audit_log rows"
    return None


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def all_tasks():
    for path in task_files():
        for task, no_log in walk(load(path)):
            yield path, task, no_log


def sensitive_results():
    """Registered results of the tasks of rule 3 (their names are role-prefixed: global is fine)."""
    out = set()
    for _path, task, _parents in all_tasks():
        module, args = module_of(task)
        if sensitive_source(module, args) and task.get("register"):
            out.add(task["register"])
    return out


def reasons_of(task, sensitive, secret_items):
    """Why a task can print a secret, if it is not no_log (an empty list: it cannot)."""
    module, args = module_of(task)
    reasons = []
    name_refs = secret_refs({"name": task.get("name")}, sensitive)
    if name_refs:   # the task's name is printed at every verbosity, no_log or not
        reasons.append(f"its name templates {', '.join(name_refs)}")
    why = sensitive_source(module, args)
    if why:
        reasons.append(why)
    if short(module) in OUTPUT_BLIND_MODULES:
        bare = ("var",) if short(module) == "debug" else ()
        shown = args if isinstance(args, dict) else {"_raw": args}
        if short(module) == "assert":   # `that` is evaluated, never printed (only its source is)
            shown = {k: v for k, v in shown.items() if k != "that"}
        refs = secret_refs(shown, sensitive, bare)
        refs += secret_refs({"args": task.get("args"), "vars": task.get("vars")}, sensitive)
        if refs:
            reasons.append(f"{short(module)} templates {', '.join(sorted(set(refs)))}")
    loop_nodes = {k: v for k, v in task.items() if k == "loop" or k.startswith("with_")}
    label = (task.get("loop_control") or {}).get("label")
    in_items = sensitive | secret_items
    loop_refs = secret_refs(loop_nodes, in_items, bare_keys=tuple(k for k in loop_nodes if k.startswith("with_")))
    loop_refs += secret_refs({"label": label}, in_items)
    if loop_nodes:
        # a loop over a task-level var: the var's value is the items
        loop_text = " ".join(str(v) for v in loop_nodes.values())
        for name, value in (task.get("vars") or {}).items():
            if re.search(rf"\b{re.escape(name)}\b", loop_text):
                loop_refs += secret_refs({name: value}, in_items)
    if loop_refs:
        reasons.append(f"loop items carry {', '.join(sorted(set(loop_refs)))}")
    return reasons


def violations():
    sensitive = sensitive_results()
    tasks = list(all_tasks())
    # The results of a task that templates a secret keep it (a uri result its url, each loop
    # result its item and its module arguments), no_log or not: a later loop over them prints it.
    secret_items = set()
    while True:
        more = {task["register"] for _path, task, _parents in tasks
                if task.get("register") and reasons_of(task, sensitive, secret_items)} - sensitive
        if more <= secret_items:
            break
        secret_items |= more
    found = []
    for path, task, no_log in tasks:
        reasons = reasons_of(task, sensitive, secret_items)
        if no_log:
            reasons = [r for r in reasons if r.startswith("its name")]
        if reasons:
            module, _args = module_of(task)
            found.append(f"{path.relative_to(ROOT)}: {task.get('name', module)!r}: {'; '.join(reasons)}"
                         + ("" if no_log else " without no_log: true"))
    return found


def test_the_check_sees_the_task_files():
    files = task_files()
    assert len(files) > 50
    assert sum(1 for _task in all_tasks()) > 500


def fake_role(monkeypatch, tmp_path, tasks):
    """Point the check at one role of its own, with these tasks."""
    folder = tmp_path / "roles" / "r" / "tasks"
    folder.mkdir(parents=True)
    (folder / "main.yml").write_text(yaml.safe_dump(tasks), encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    monkeypatch.setitem(globals(), "ROLES", tmp_path / "roles")


@pytest.mark.parametrize("snippet, flagged", [
    ({"ansible.builtin.uri": {"url": "{{ incident_response_webhooks.chat }}"}}, True),
    ({"ansible.builtin.uri": {"url": "{{ u }}", "headers": {"Authorization": "Bearer {{ t }}"}}}, True),
    ({"ansible.builtin.uri": {"url": "{{ u }}", "body": {"routing_key": "{{ k }}"}}}, True),
    ({"ansible.builtin.uri": {"url": "{{ u }}", "timeout": "{{ incident_response_webhook_timeout }}"}}, False),
    ({"ansible.builtin.uri": {"url": "{{ item.url }}"}, "loop": "{{ apis }}", "vars": {"apis": [{"token": "{{ x }}"}]}}, True),
    ({"ansible.builtin.debug": {"var": "vault_db_password"}}, True),
    ({"ansible.builtin.assert": {"that": "backups_s3_key_secret | length > 0"}}, False),
    ({"ansible.builtin.assert": {"that": "x", "fail_msg": "bad {{ vault_db_password }}"}}, True),
    ({"ansible.builtin.debug": {"msg": "delete the secret {{ cert.spec.secretName }}"}}, False),
    ({"ansible.builtin.command": {"argv": ["psql", "password={{ clickview_postgres_password }}"]}}, True),
    ({"ansible.builtin.command": "pgbackrest --repo1-cipher-pass={{ backups_cipher_pass }} check"}, True),
    ({"ansible.builtin.set_fact": {"crt": "{{ s.resources[0].data['tls.key'] }}"}}, True),
    ({"ansible.builtin.fail": {"msg": "read failed: {{ alert_response_new_secret.msg }}"}}, False),
    ({"ansible.builtin.fail": {"msg": "read failed: {{ alert_response_new_secret.resources }}"}}, True),
    ({"community.postgresql.postgresql_query": {"login_password": "{{ clickview_postgres_password }}"}}, False),
    ({"community.aws.wafv2_ip_set_info": {"name": "{{ item.value }}"}, "loop": "{{ clickview_webhooks | dict2items }}"}, True),
    ({"kubernetes.core.k8s_info": {"kind": "Secret", "name": "x"}}, True),
    ({"community.postgresql.postgresql_query": {"query": "SELECT * FROM audit_log"}}, True),
    ({"community.postgresql.postgresql_query": {"query": "SELECT * FROM {{ security_incident_audit_sql.table }} t"}}, True),
    ({"community.postgresql.postgresql_query": {"query": "SELECT * FROM {{ security_incident_audit_sql.table }} t"},
      "no_log": True}, False),
    ({"kubernetes.core.k8s_info": {"kind": "Secret", "name": "x"}, "no_log": True}, False),
    ({"kubernetes.core.k8s_info": {"kind": "Secret", "name": "x"}, "no_log": "{{ true }}"}, True),
    ({"name": "Log in with {{ vault_db_password }}", "community.postgresql.postgresql_ping": {}, "no_log": True}, True),
    ({"block": [{"ansible.builtin.uri": {"url": "{{ clickview_webhooks.chat }}"}}], "no_log": True}, False),
    ({"block": [{"ansible.builtin.debug": {"msg": "x"}}],
      "rescue": [{"ansible.builtin.debug": {"msg": "{{ on_call_prometheus_token }}"}}]}, True),
])
def test_the_rules(snippet, flagged, monkeypatch, tmp_path):
    fake_role(monkeypatch, tmp_path, [snippet])
    assert bool(violations()) is flagged, violations()


def test_sensitive_results_are_secret_until_reduced(monkeypatch, tmp_path):
    fake_role(monkeypatch, tmp_path, [
        {"name": "logs", "kubernetes.core.k8s_log": {"name": "p"}, "register": "pod_logs", "no_log": True},
        {"name": "write", "ansible.builtin.copy": {"content": "{{ pod_logs.log }}", "dest": "/x"}},
        {"name": "count", "ansible.builtin.set_fact": {"n": "{{ pod_logs.failed }}"}},
        {"name": "test", "ansible.builtin.debug": {"msg": "{{ 'x' if pod_logs is failed else 'y' }}"}},
    ])
    assert [v.split(": ")[1] for v in violations()] == ["'write'"]


def test_a_loop_over_results_that_carry_a_secret(monkeypatch, tmp_path):
    fake_role(monkeypatch, tmp_path, [
        {"name": "reach", "ansible.builtin.wait_for": {"host": "{{ item.value | urlsplit('hostname') }}"},
         "loop": "{{ clickview_webhooks | dict2items }}", "register": "reached", "no_log": True},
        {"name": "record", "ansible.builtin.set_fact": {"n": "{{ item.failed }}"}, "loop": "{{ reached.results }}"},
        {"name": "count", "ansible.builtin.set_fact": {"n": "{{ reached.results | length }}"}},
    ])
    assert [v.split(": ")[1] for v in violations()] == ["'record'"]


def test_no_secret_in_output():
    found = violations()
    assert not found, f"{len(found)} task(s) can print a secret:\n" + "\n".join(found)
