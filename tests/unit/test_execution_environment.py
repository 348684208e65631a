"""The execution environment's build context carries what the collection's code imports.

`ansible-builder create` runs here (no container engine is needed for it); the test builds the
collection tarball, creates the context, and checks that every third-party module imported by
plugins/ is installed by the context's Python requirements, and the system packages are there.
"""
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

# import name -> distribution name, where they differ
DISTRIBUTIONS = {"psycopg2": "psycopg2-binary", "yaml": "PyYAML", "botocore": "botocore", "kubernetes": "kubernetes"}
PROVIDED = {"ansible", "ansible_collections", "__future__"}


def imports_outside_fallbacks(tree):
    """Import nodes, except those in `except ImportError:` handlers (fallbacks for old Pythons)."""
    fallback = set()
    for handler in ast.walk(tree):
        if isinstance(handler, ast.ExceptHandler):
            fallback.update(id(node) for stmt in handler.body for node in ast.walk(stmt))
    return [node for node in ast.walk(tree) if id(node) not in fallback]


def third_party_imports():
    stdlib = set(sys.stdlib_module_names)
    found = set()
    for path in (ROOT / "plugins").rglob("*.py"):
        for node in imports_outside_fallbacks(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top not in PROVIDED:
                    found.add(top)
    return found


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    work = tmp_path_factory.mktemp("ee")
    dist = ROOT / "dist"
    dist.mkdir(exist_ok=True)
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    proc = subprocess.run([str(VENV_BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", str(work / "context")],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work / "context"


def requirement_names(text):
    names = set()
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower())
    return names


def test_context_installs_every_third_party_import(context):
    wanted = {DISTRIBUTIONS.get(name, name).lower() for name in third_party_imports()}
    assert wanted, "the modules import third-party packages; finding none means the scan is broken"
    provided = requirement_names((context / "_build" / "requirements.txt").read_text())
    assert wanted <= provided, f"missing from the EE's Python requirements: {sorted(wanted - provided)}"


def test_context_has_the_system_packages_and_collections(context):
    bindep = (context / "_build" / "bindep.txt").read_text()
    assert "postgresql-client" in bindep and "pgbackrest" in bindep
    galaxy = (context / "_build" / "requirements.yml").read_text()
    for collection in ("kubernetes.core", "community.postgresql", "amazon.aws", "community.general"):
        assert collection in galaxy
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    assert "ansible-galaxy collection install /build/collections/clickview-runbook-" in containerfile
    assert list((context / "_build" / "collections").glob("clickview-runbook-*.tar.gz")), "the collection tarball is in the context"


def test_every_stage_has_the_build_files_it_uses(context):
    """A RUN that reads /build/... works only in a stage that copied the build files there first."""
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    stages = re.split(r"^FROM ", containerfile, flags=re.M)[1:]
    users = 0
    for stage in stages:
        copied = False
        for line in stage.splitlines():
            if re.match(r"COPY\s+_build\S*\s+/build", line):
                copied = True
            elif line.startswith("RUN") and "/build/" in line:
                users += 1
                assert copied, "stage %r runs %r without copying the build files to /build first" % (
                    stage.split("\n", 1)[0], line)
    assert users, "the collection tarball is installed from /build in some stage"
