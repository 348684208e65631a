# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Connection options shared by every PostgreSQL module of the collection.
    # Names follow community.postgresql so playbooks can switch between them.
    DOCUMENTATION = r'''
options:
  login_host:
    description:
      - Host name or IP address of the PostgreSQL server.
      - When neither this nor O(login_unix_socket) is set, the E(PGHOST) environment variable of the managed host
        is used, and without it libpq's default Unix socket.
      - If you have connection issues when using V(localhost), try V(127.0.0.1) instead.
    type: str
    aliases: [ host ]
  login_unix_socket:
    description:
      - Directory of the Unix domain socket for local connections.
      - Used only when O(login_host) is not set or is V(localhost).
    type: str
    aliases: [ unix_socket ]
  login_port:
    description:
      - Database port to connect to.
      - Defaults to the E(PGPORT) environment variable, then to V(5432).
    type: int
    aliases: [ port ]
  login_user:
    description:
      - The role this module uses to establish its PostgreSQL session.
      - Defaults to the E(PGUSER) environment variable, then to V(postgres).
    type: str
    aliases: [ login ]
  login_password:
    description:
      - The password of O(login_user).
      - When not set, libpq uses E(PGPASSWORD) or the password file (E(PGPASSFILE), C(~/.pgpass)).
    type: str
  login_db:
    description:
      - Name of the database to connect to.
      - Defaults to the E(PGDATABASE) environment variable, then to libpq's default (the role name).
    type: str
    aliases: [ db ]
  ssl_mode:
    description:
      - Whether or with what priority a secure SSL TCP/IP connection is negotiated with the server.
      - See U(https://www.postgresql.org/docs/current/libpq-ssl.html) for the modes.
      - Defaults to the E(PGSSLMODE) environment variable, then to libpq's default V(prefer).
    type: str
    choices: [ allow, disable, prefer, require, verify-ca, verify-full ]
  ca_cert:
    description:
      - File containing the SSL certificate authority (CA) certificate(s).
      - If the file exists, the server's certificate is verified to be signed by one of these authorities.
    type: str
    aliases: [ ssl_rootcert ]
  ssl_cert:
    description:
      - File name of the client SSL certificate.
    type: path
  ssl_key:
    description:
      - Location of the secret key used for the client certificate.
    type: path
  connect_timeout:
    description:
      - Seconds to wait for the connection to be established before giving up.
      - Defaults to the E(PGCONNECT_TIMEOUT) environment variable, then to V(10).
    type: int
  connect_params:
    description:
      - Any additional libpq connection parameters, for example C(application_name) or C(target_session_attrs).
      - These take precedence over the options above.
    type: dict
    default: {}

notes:
  - Every connection option left unset falls back to the matching libpq E(PG*) environment variable on the managed host
    (E(PGHOST), E(PGPORT), E(PGUSER), E(PGPASSWORD), E(PGDATABASE), E(PGSSLMODE), E(PGSSLROOTCERT), E(PGCONNECT_TIMEOUT)).
  - The module runs where the task runs; with C(delegate_to) or C(connection=local) that is the controller.

requirements:
  - psycopg2 >= 2.8 (C(psycopg2) or C(psycopg2-binary)) on the host that runs the module.
'''
