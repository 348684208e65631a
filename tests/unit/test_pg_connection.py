# -*- coding: utf-8 -*-
# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/postgres.py and the module's argument spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

_COLLECTIONS = os.path.join(os.path.dirname(__file__), '..', '..', '.collections')
if os.path.isdir(_COLLECTIONS) and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.clickview.runbook.plugins.module_utils import postgres as pg  # noqa: E402
from ansible_collections.clickview.runbook.plugins.modules import pg_terminate_long_queries as mod  # noqa: E402


def params(**kw):
    base = dict((name, spec.get('default')) for name, spec in pg.postgres_common_argument_spec().items())
    base.update(kw)
    return base


def test_unset_options_are_left_to_libpq_environment():
    kwargs = pg.connection_kwargs(params(), environ={'PGUSER': 'ops', 'PGCONNECT_TIMEOUT': '3', 'PGHOST': 'db'})
    assert kwargs == {}


def test_collection_defaults_without_environment():
    assert pg.connection_kwargs(params(), environ={}) == {'user': 'postgres', 'connect_timeout': 10}


def test_options_map_to_libpq_keywords():
    kwargs = pg.connection_kwargs(params(login_host='db', login_port=6543, login_user='ops', login_password='s3cret',
                                         login_db='clickview', ssl_mode='require', ca_cert='/ca.pem',
                                         connect_timeout=4), environ={}, application_name='me')
    assert kwargs == {'host': 'db', 'port': 6543, 'user': 'ops', 'password': 's3cret', 'dbname': 'clickview',
                      'sslmode': 'require', 'sslrootcert': '/ca.pem', 'connect_timeout': 4, 'application_name': 'me'}


def test_unix_socket_used_when_no_host_or_localhost():
    assert pg.connection_kwargs(params(login_unix_socket='/run/pg'), environ={})['host'] == '/run/pg'
    assert pg.connection_kwargs(params(login_host='localhost', login_unix_socket='/run/pg'), environ={})['host'] == '/run/pg'
    assert pg.connection_kwargs(params(login_host='db', login_unix_socket='/run/pg'), environ={})['host'] == 'db'


def test_connect_params_take_precedence():
    kwargs = pg.connection_kwargs(params(login_user='a', connect_params={'user': 'b', 'application_name': 'x'}),
                                  environ={}, application_name='me')
    assert kwargs['user'] == 'b' and kwargs['application_name'] == 'x'


def test_describe_target_never_shows_password_and_uses_environment():
    kwargs = {'host': 'db', 'port': 6543, 'user': 'ops', 'password': 's3cret'}
    assert pg.describe_target(kwargs, environ={}) == 'ops@db:6543'
    assert pg.describe_target({}, environ={'PGHOST': 'h', 'PGPORT': '7', 'PGUSER': 'u'}) == 'u@h:7'
    assert pg.describe_target({}, environ={}) == 'postgres@local socket:5432'


def test_pooler_detection():
    assert pg.pooler_problem(42, '15.4', 42) is None
    assert 'admin console' in pg.pooler_problem(1234, '1.18.0/bouncer', None)
    assert 'pooler' in pg.pooler_problem(-1238745193, '15.4', 6665)


def test_password_is_no_log():
    spec = mod.argument_spec()
    assert spec['login_password']['no_log'] is True
    assert all(not s.get('no_log') for name, s in spec.items() if name != 'login_password')


def test_module_spec_matches_module_utils_choices():
    spec = mod.argument_spec()
    assert spec['states']['choices'] == list(mod.STATES)
    assert spec['action']['choices'] == list(mod.ACTIONS)
    for kind in ('users', 'databases', 'applications', 'client_addresses'):
        assert spec['include_' + kind]['type'] == 'list' and spec['exclude_' + kind]['elements'] == 'str'


@pytest.mark.skipif(not pg.HAS_PSYCOPG2, reason='psycopg2 missing')
def test_unreachable_host_names_host_and_port():
    with pytest.raises(pg.PostgresConnectionError) as info:
        pg.open_connection(params(login_host='127.0.0.1', login_port=1, login_user='ops', connect_timeout=2), environ={})
    assert 'ops@127.0.0.1:1' in str(info.value)
