# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Connection handling shared by the collection's PostgreSQL modules.

One argument spec (documented by the ``clickview.runbook.postgres`` doc fragment) and one
``connect()``: options left unset are not passed to libpq, so its ``PG*`` environment
variables and password file keep working exactly as they do for psql.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError

PSYCOPG2_IMPORT_ERROR = None
try:
    import psycopg2
    import psycopg2.extras
    HAS_PSYCOPG2 = True
except ImportError:  # pragma: no cover - exercised only where psycopg2 is missing
    psycopg2 = None
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

DEFAULT_USER = 'postgres'
DEFAULT_PORT = 5432
DEFAULT_CONNECT_TIMEOUT = 10

# module option -> libpq keyword
_LIBPQ_KEYWORDS = (
    ('login_host', 'host'),
    ('login_port', 'port'),
    ('login_user', 'user'),
    ('login_password', 'password'),
    ('login_db', 'dbname'),
    ('ssl_mode', 'sslmode'),
    ('ca_cert', 'sslrootcert'),
    ('ssl_cert', 'sslcert'),
    ('ssl_key', 'sslkey'),
    ('connect_timeout', 'connect_timeout'),
)


class PostgresConnectionError(ClickviewError):
    """Connecting failed or reached something that is not a PostgreSQL backend."""


def postgres_common_argument_spec():
    """Argument spec of the connection options (see the postgres doc fragment)."""
    return dict(
        login_host=dict(type='str', aliases=['host']),
        login_unix_socket=dict(type='str', aliases=['unix_socket']),
        login_port=dict(type='int', aliases=['port']),
        login_user=dict(type='str', aliases=['login']),
        login_password=dict(type='str', no_log=True),
        login_db=dict(type='str', aliases=['db']),
        ssl_mode=dict(type='str', choices=['allow', 'disable', 'prefer', 'require', 'verify-ca', 'verify-full']),
        ca_cert=dict(type='str', aliases=['ssl_rootcert']),
        ssl_cert=dict(type='path'),
        ssl_key=dict(type='path'),
        connect_timeout=dict(type='int'),
        connect_params=dict(type='dict', default={}),
    )


def connection_kwargs(params, environ=None, application_name=None):
    """Return the keyword arguments for psycopg2.connect().

    Options that are not set are left out so that libpq applies its PG* environment
    variables; only the user and the connect timeout get collection defaults when the
    environment does not provide them either.
    """
    environ = os.environ if environ is None else environ
    kwargs = {}
    for option, keyword in _LIBPQ_KEYWORDS:
        value = params.get(option)
        if value is not None and value != '':
            kwargs[keyword] = value
    socket_dir = params.get('login_unix_socket')
    if socket_dir and kwargs.get('host') in (None, 'localhost'):
        kwargs['host'] = socket_dir
    if 'user' not in kwargs and not environ.get('PGUSER'):
        kwargs['user'] = DEFAULT_USER
    if 'connect_timeout' not in kwargs and not environ.get('PGCONNECT_TIMEOUT'):
        kwargs['connect_timeout'] = DEFAULT_CONNECT_TIMEOUT
    if application_name and not environ.get('PGAPPNAME'):
        kwargs['application_name'] = application_name
    kwargs.update(params.get('connect_params') or {})
    return kwargs


def describe_target(kwargs, environ=None):
    """'user@host:port' as libpq will resolve it, for error messages (never the password)."""
    environ = os.environ if environ is None else environ
    host = kwargs.get('host') or environ.get('PGHOST') or 'local socket'
    port = kwargs.get('port') or environ.get('PGPORT') or DEFAULT_PORT
    user = kwargs.get('user') or environ.get('PGUSER') or DEFAULT_USER
    return '%s@%s:%s' % (user, host, port)


def pooler_problem(announced_pid, server_version, backend_pid):
    """Return why this session is not a direct PostgreSQL session, or None.

    PgBouncer's admin console reports a server_version ending in '/bouncer'. A pooled
    PgBouncer session announces a made-up process id in its BackendKeyData (the key it
    uses to route cancel requests) that differs from the server's pg_backend_pid().
    """
    if server_version and 'bouncer' in server_version.lower():
        return 'this is the PgBouncer admin console (server_version %s)' % server_version
    if backend_pid is not None and announced_pid != backend_pid:
        return ('the session goes through a connection pooler such as PgBouncer: the connection announced '
                'process id %s but the server backend is %s' % (announced_pid, backend_pid))
    return None


def open_connection(params, application_name=None, environ=None):
    """Open an autocommit psycopg2 connection; raise PostgresConnectionError with user@host:port."""
    if not HAS_PSYCOPG2:
        raise PostgresConnectionError(missing_required_lib('psycopg2'))
    kwargs = connection_kwargs(params, environ=environ, application_name=application_name)
    target = describe_target(kwargs, environ=environ)
    try:
        conn = psycopg2.connect(**kwargs)
    except psycopg2.Error as exc:
        raise PostgresConnectionError('unable to connect to PostgreSQL as %s: %s' % (target, to_native(exc).strip()))
    except Exception as exc:  # e.g. invalid connect_params keys
        raise PostgresConnectionError('unable to connect to PostgreSQL as %s: %s' % (target, to_native(exc).strip()))
    conn.autocommit = True
    return conn, target


def check_direct_session(conn, target):
    """Refuse connection poolers; return the server's pg_backend_pid()."""
    server_version = conn.get_parameter_status('server_version') or ''
    problem = pooler_problem(conn.get_backend_pid(), server_version, None)
    backend_pid = None
    if problem is None:
        try:
            with conn.cursor() as cur:
                cur.execute('SELECT pg_catalog.pg_backend_pid()')
                backend_pid = cur.fetchone()[0]
        except psycopg2.Error as exc:
            problem = 'the server does not answer SQL like PostgreSQL (%s)' % to_native(exc).strip()
        else:
            problem = pooler_problem(conn.get_backend_pid(), server_version, backend_pid)
    if problem:
        raise PostgresConnectionError('%s: %s; connect to PostgreSQL directly (its own port), not through '
                                      'PgBouncer or another pooler' % (target, problem))
    return backend_pid


def connect(module, application_name=None, direct_only=False):
    """Connect with the module's connection options, or fail_json naming user@host:port and the cause.

    Returns (connection, target description, backend pid or None).
    """
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib('psycopg2'), exception=PSYCOPG2_IMPORT_ERROR)
    conn = None
    try:
        conn, target = open_connection(module.params, application_name=application_name)
        backend_pid = check_direct_session(conn, target) if direct_only else None
    except PostgresConnectionError as exc:
        if conn is not None:
            conn.close()
        module.fail_json(msg=to_native(exc))
    return conn, target, backend_pid
