# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One place for Redis connection options and client creation.

Every Redis module of the collection extends the ``clickview.runbook.redis`` doc fragment,
uses ``redis_argument_spec()`` (plus the ``REDIS_*`` argument constraints) and calls
``connect()``. Errors come back as ``RedisConnectError`` naming the parameter to fix, so a
module only has to turn them into ``fail_json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError

REDIS_IMPORT_ERROR = None
try:
    import redis
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry
except ImportError:
    HAS_REDIS = False
    REDIS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REDIS = True

URL_SCHEMES = ('redis://', 'rediss://', 'unix://')
CLIENT_NAME = 'clickview.runbook'


def redis_argument_spec():
    """Connection options; documented by the clickview.runbook.redis doc fragment."""
    return dict(
        host=dict(type='str', default='localhost', aliases=['login_host']),
        port=dict(type='int', default=6379, aliases=['login_port']),
        db=dict(type='int', default=0),
        username=dict(type='str', aliases=['login_user']),
        password=dict(type='str', no_log=True, aliases=['login_password']),
        url=dict(type='str', no_log=True),
        unix_socket=dict(type='path'),
        tls=dict(type='bool', default=False),
        validate_certs=dict(type='bool', default=True),
        ca_certs=dict(type='path'),
        client_cert=dict(type='path'),
        client_key=dict(type='path'),
        cluster=dict(type='bool', default=False),
        connect_timeout=dict(type='float', default=10),
    )


# Checked by AnsibleModule on the parameters as given, before defaults are filled in.
REDIS_MUTUALLY_EXCLUSIVE = [
    ('url', 'host'),
    ('url', 'port'),
    ('url', 'unix_socket'),
    ('unix_socket', 'host'),
    ('unix_socket', 'port'),
    ('unix_socket', 'cluster'),
]
REDIS_REQUIRED_BY = {'client_key': 'client_cert'}


class RedisConnectError(ClickviewError):
    """A connection problem, with the parameter(s) the user should look at."""

    def __init__(self, msg, param=None, server=None):
        super(RedisConnectError, self).__init__(msg, param=param, partial={'server': server} if server else None)
        self.server = server


def describe_server(params):
    """Name of the server for messages and results; never contains a secret."""
    if params.get('url'):
        try:
            from urllib.parse import urlsplit
        except ImportError:  # pragma: no cover - Python 2
            from urlparse import urlsplit  # pylint: disable=import-error
        parts = urlsplit(params['url'])
        if parts.scheme == 'unix':
            where = 'unix:' + parts.path
        else:
            where = '%s://%s' % (parts.scheme, parts.hostname or 'localhost')
            if parts.port:
                where += ':%d' % parts.port
        return where
    if params.get('unix_socket'):
        return 'unix:' + params['unix_socket']
    return '%s:%s' % (params.get('host') or 'localhost', params.get('port') or 6379)


def validate_connection_params(params):
    """Raise RedisConnectError for connection options that cannot work; nothing is contacted."""
    port = params.get('port')
    if port is not None and not 0 < port < 65536:
        raise RedisConnectError('port must be between 1 and 65535, got %s' % port, param='port')
    db = params.get('db')
    if db is not None and db < 0:
        raise RedisConnectError('db must be 0 or a positive database number, got %s' % db, param='db')
    if params.get('cluster') and db:
        raise RedisConnectError('db must be 0 with cluster=true: Redis Cluster has only database 0', param='db')
    url = params.get('url')
    if url is not None and not url.startswith(URL_SCHEMES):
        raise RedisConnectError('url must start with redis://, rediss:// or unix://', param='url')
    if url is not None and params.get('cluster') and url.startswith('unix://'):
        raise RedisConnectError('url: a unix:// URL cannot be used with cluster=true', param='url')
    timeout = params.get('connect_timeout')
    if timeout is not None and timeout <= 0:
        raise RedisConnectError('connect_timeout must be a positive number of seconds, got %s' % timeout,
                                param='connect_timeout')


def client_kwargs(params):
    """Keyword arguments for redis.Redis / RedisCluster built from the module parameters."""
    kwargs = dict(
        socket_timeout=params.get('connect_timeout') or 10,
        socket_connect_timeout=params.get('connect_timeout') or 10,
        decode_responses=False,
        client_name=CLIENT_NAME,
    )
    if not params.get('cluster'):
        # a lost connection must surface as an error, not be retried behind our back
        kwargs['retry'] = Retry(NoBackoff(), 0)
        kwargs['db'] = params.get('db') or 0
    if params.get('username'):
        kwargs['username'] = params['username']
    if params.get('password') is not None:
        kwargs['password'] = params['password']
    url = params.get('url') or ''
    if params.get('tls') or url.startswith('rediss://'):
        kwargs.update(
            ssl=True,
            ssl_cert_reqs='required' if params.get('validate_certs', True) else 'none',
            ssl_check_hostname=bool(params.get('validate_certs', True)),
        )
        if params.get('ca_certs'):
            kwargs['ssl_ca_certs'] = params['ca_certs']
        if params.get('client_cert'):
            kwargs['ssl_certfile'] = params['client_cert']
        if params.get('client_key'):
            kwargs['ssl_keyfile'] = params['client_key']
    return kwargs


def explain_error(exc, params):
    """Turn a redis-py exception into a RedisConnectError naming the parameter to fix."""
    server = describe_server(params)
    text = str(exc) or exc.__class__.__name__
    lowered = text.lower()
    if HAS_REDIS and isinstance(exc, redis.AuthenticationError) or 'wrongpass' in lowered \
            or 'invalid password' in lowered or 'invalid username-password' in lowered:
        return RedisConnectError('%s rejected the credentials (check username/password): %s' % (server, text),
                                 param='password', server=server)
    if 'noauth' in lowered or 'authentication required' in lowered:
        return RedisConnectError('%s requires a password (set password, and username for an ACL user): %s'
                                 % (server, text), param='password', server=server)
    if 'db index is out of range' in lowered or 'invalid db index' in lowered:
        return RedisConnectError('db=%s does not exist on %s: %s' % (params.get('db'), server, text),
                                 param='db', server=server)
    if 'certificate' in lowered or 'ssl' in lowered or 'tls' in lowered:
        return RedisConnectError('TLS connection to %s failed (check tls, ca_certs, client_cert, client_key, '
                                 'validate_certs): %s' % (server, text), param='tls', server=server)
    if HAS_REDIS and isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
        which = 'url' if params.get('url') else 'unix_socket' if params.get('unix_socket') else 'host/port'
        return RedisConnectError('cannot connect to %s (check %s): %s' % (server, which, text),
                                 param=which, server=server)
    if HAS_REDIS and isinstance(exc, redis.ResponseError) and ('noperm' in lowered or 'no permissions' in lowered):
        return RedisConnectError('the user has no permission for this on %s (check username and its ACL): %s'
                                 % (server, text), param='username', server=server)
    if isinstance(exc, ValueError) and params.get('url'):
        return RedisConnectError('url is not a valid Redis URL: %s' % text, param='url', server=server)
    return RedisConnectError('%s: %s' % (server, text), server=server)


class RedisTarget(object):
    """A connected server or cluster; ``nodes()`` lists the servers to work on."""

    def __init__(self, client, params, is_cluster):
        self.client = client
        self.params = params
        self.is_cluster = is_cluster

    @property
    def name(self):
        return describe_server(self.params)

    def nodes(self):
        """[(name, redis.Redis)] - the server itself, or every primary of the cluster."""
        if not self.is_cluster:
            return [(self.name, self.client)]
        found = []
        for node in sorted(self.client.get_primaries(), key=lambda n: (n.host, n.port)):
            conn = self.client.get_redis_connection(node)
            found.append(('%s:%s' % (node.host, node.port), conn))
        return found

    def close(self):
        try:
            self.client.close()
        except Exception:  # pylint: disable=broad-except
            pass


def connect(params):
    """Connect (and PING) according to the module parameters; return a RedisTarget.

    Raises RedisConnectError; the redis library must be importable (check HAS_REDIS first).
    """
    validate_connection_params(params)
    kwargs = client_kwargs(params)
    url = params.get('url')
    try:
        if params.get('cluster'):
            if url:
                client = RedisCluster.from_url(url, **kwargs)
            else:
                client = RedisCluster(host=params.get('host') or 'localhost', port=params.get('port') or 6379, **kwargs)
        elif url:
            if url.startswith('unix://') and params.get('db') and 'db=' not in url:
                kwargs['db'] = params['db']
            elif not params.get('db'):
                kwargs.pop('db', None)  # let a /N in the URL choose the database
            client = redis.Redis.from_url(url, **kwargs)
        elif params.get('unix_socket'):
            client = redis.Redis(unix_socket_path=params['unix_socket'], **kwargs)
        else:
            client = redis.Redis(host=params.get('host') or 'localhost', port=params.get('port') or 6379, **kwargs)
        target = RedisTarget(client, params, bool(params.get('cluster')))
        for dummy, node in target.nodes():
            node.ping()
    except RedisConnectError:
        raise
    except Exception as exc:  # pylint: disable=broad-except
        raise explain_error(exc, params)
    return target
