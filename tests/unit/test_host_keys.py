"""SSH host keys stay checked (issue 17, "Production trust"), statically:

* ansible.cfg does not turn host key checking off;
* in every role, each task delegated to a host other than the controller comes, in the execution
  order of each of the role's entry points, after the role's known-hosts step (tasks known_hosts.yml:
  refuses to connect when the inventory lists no host key, and writes the inventory's keys to the
  file ssh reads);
* the staging and production inventories define clickview_ssh_known_hosts and make ssh read only
  that file with StrictHostKeyChecking=yes; nothing in an inventory turns checking off;
* the lab inventory needs no SSH at all (local connection, delegates on the controller).
"""
import configparser
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
KNOWN_HOSTS = "known_hosts.yml"
INCLUDES = ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "include_tasks", "import_tasks")


class Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """safe_load that accepts an inline `!vault |` value."""


Loader.add_constructor("!vault", lambda loader, node: "<vault-encrypted value>")


def uncommented(text):
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", ";")))


def load(path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506 - a SafeLoader


def test_ansible_cfg_keeps_host_key_checking_on():
    text = (ROOT / "ansible.cfg").read_text(encoding="utf-8")
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(text)
    for section in cfg.sections():
        value = cfg[section].get("host_key_checking")
        assert value is None or value.strip().lower() in ("true", "yes", "1", "on"), \
            f"ansible.cfg [{section}] host_key_checking = {value}"
    assert not re.search(r"StrictHostKeyChecking\s*=\s*(no|off|accept-new)", uncommented(text), re.I)


# ---- roles: the known-hosts step before any task on another host ---------------------------

def delegated_elsewhere(task):
    target = task.get("delegate_to")
    return target is not None and str(target).strip() not in LOCAL_NAMES


def include_of(task):
    for key in INCLUDES:
        if key in task:
            value = task[key]
            return value.get("file") if isinstance(value, dict) else value
    return None


def resolve(role_tasks, including_file, name):
    for base in (including_file.parent, role_tasks):
        if (base / name).is_file():
            return base / name
    raise AssertionError(f"{including_file}: cannot resolve include {name!r} (a templated name cannot be checked)")


def walk(role_tasks, path, state, stack=()):
    """Follow the tasks of path in execution order (blocks, then rescue, then always; includes
    inline). state: {'trusted': bool, 'late': [...]}, where late lists delegated tasks met before the
    known-hosts step."""
    assert path not in stack, f"include loop: {stack}"
    for task in load(path) or []:
        walk_task(role_tasks, path, task, state, stack + (path,))


def walk_task(role_tasks, path, task, state, stack):
    if delegated_elsewhere(task) and not state["trusted"]:
        state["late"].append(f"{path.relative_to(ROOT)}: {task.get('name')}")
    included = include_of(task)
    if included is not None:
        if Path(included).name == KNOWN_HOSTS:
            state["trusted"] = True
        else:
            walk(role_tasks, resolve(role_tasks, path, included), state, stack)
    for section in ("block", "rescue", "always"):
        for sub in task.get(section) or []:
            # a block's delegate_to applies to the tasks in it
            if "delegate_to" in task and "delegate_to" not in sub:
                sub = dict(sub, delegate_to=task["delegate_to"])
            walk_task(role_tasks, path, sub, state, stack)


def entry_points(role):
    specs = role / "meta" / "argument_specs.yml"
    names = set(load(specs)["argument_specs"]) if specs.is_file() else set()
    names |= {"main"} if (role / "tasks" / "main.yml").is_file() else set()
    return sorted(names)


def roles_that_delegate():
    found = []
    for role in sorted(p for p in ROLES.iterdir() if (p / "tasks").is_dir()):
        for path in (role / "tasks").rglob("*.yml"):
            if path.name == KNOWN_HOSTS:
                continue
            targets = re.findall(r"^\s*delegate_to:\s*(.+?)\s*$", path.read_text(encoding="utf-8"), re.M)
            if any(t.strip("'\"") not in LOCAL_NAMES for t in targets):
                found.append(role)
                break
    return found


def test_backups_and_scaling_are_the_roles_that_reach_other_hosts():
    assert {r.name for r in roles_that_delegate()} >= {"backups", "scaling"}


@pytest.mark.parametrize("role", roles_that_delegate(), ids=lambda r: r.name)
def test_every_task_on_another_host_comes_after_the_known_hosts_step(role):
    tasks = role / "tasks"
    known = list(tasks.rglob(KNOWN_HOSTS))
    assert len(known) == 1, f"{role.name}: one tasks/**/{KNOWN_HOSTS}"
    for entry in entry_points(role):
        state = {"trusted": False, "late": []}
        walk(tasks, tasks / f"{entry}.yml", state)
        assert not state["late"], f"{role.name} {entry}: delegated before the known-hosts step: {state['late']}"


@pytest.mark.parametrize("role", roles_that_delegate(), ids=lambda r: r.name)
def test_the_known_hosts_step_refuses_an_empty_list_and_writes_the_file(role):
    path = next((role / "tasks").rglob(KNOWN_HOSTS))
    text = path.read_text(encoding="utf-8")
    [block] = load(path)
    assert block["delegate_to"] == "localhost" and block["become"] is False, "written on the controller, as its user"
    assert "ansible_connection | default('ssh') == 'local'" in block["when"], "skipped only for a local connection"
    steps = block["block"]
    check = steps[0]["ansible.builtin.assert"]
    assert "clickview_ssh_known_hosts | default([]) | length > 0" in check["that"], "an empty list fails first"
    assert any("StrictHostKeyChecking=yes" in c for c in check["that"])
    assert "trusted on first use" in check["fail_msg"]
    write = steps[-1]["ansible.builtin.copy"]
    assert write["dest"] == "{{ clickview_ssh_known_hosts_file }}"
    assert "clickview_ssh_known_hosts" in write["content"]
    assert all(step.get("check_mode") is False for step in steps[1:]), "the file is written in check mode too"
    assert "ssh-keyscan" not in text


# ---- inventories ---------------------------------------------------------------------------

def group_vars(env):
    merged = {}
    for path in sorted((ROOT / "inventory" / env / "group_vars").rglob("*.yml")):
        merged.update(load(path) or {})
    return merged


@pytest.mark.parametrize("env", ["staging", "production"])
def test_inventory_lists_known_hosts_and_makes_ssh_check_them(env):
    data = group_vars(env)
    assert isinstance(data.get("clickview_ssh_known_hosts"), list), "clickview_ssh_known_hosts: a list (empty by default)"
    assert data.get("clickview_ssh_known_hosts_file", "").startswith("{{"), "an absolute path, per environment"
    assert env in data["clickview_ssh_known_hosts_file"]
    args = data.get("ansible_ssh_common_args", "")
    assert "-o StrictHostKeyChecking=yes" in args
    assert "-o UserKnownHostsFile={{ clickview_ssh_known_hosts_file }}" in args
    assert "-o GlobalKnownHostsFile=/dev/null" in args, "only the inventory's keys"
    assert data.get("ansible_ssh_host_key_checking") is True


@pytest.mark.parametrize("env", ["local", "staging", "production"])
def test_nothing_in_an_inventory_turns_host_key_checking_off(env):
    for path in (ROOT / "inventory" / env).rglob("*"):
        if not path.is_file():
            continue
        text = uncommented(path.read_text(encoding="utf-8"))
        assert not re.search(r"StrictHostKeyChecking\s*=\s*(no|off|accept-new)", text, re.I), path
        assert not re.search(r"host_key_checking\s*[:=]\s*['\"]?(false|no|off|0)\b", text, re.I), path
        assert "UserKnownHostsFile=/dev/null" not in text, path


def test_the_lab_needs_no_ssh():
    """inventory/local: every host uses the local connection and every delegate is the controller,
    so host key checking on costs the lab nothing."""
    hosts = load(ROOT / "inventory" / "local" / "hosts.yml")

    def all_hosts(group):
        yield from (group.get("hosts") or {}).items()
        for child in (group.get("children") or {}).values():
            yield from all_hosts(child or {})

    found = list(all_hosts(hosts["all"]))
    assert found and all(v.get("ansible_connection") == "local" for _name, v in found)
    data = group_vars("local")
    delegates = {k: v for k, v in data.items() if k.endswith(("_delegate", "_db_host"))}
    assert delegates and all(v in LOCAL_NAMES for v in delegates.values()), delegates
