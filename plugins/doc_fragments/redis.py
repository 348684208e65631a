# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every Redis module of clickview.runbook.
    # The argument spec lives in plugins/module_utils/redis_client.py (redis_argument_spec).
    DOCUMENTATION = r"""
options:
  host:
    description:
      - Host name or address of the Redis server.
      - With O(cluster=true), any node of the cluster; the other nodes are discovered from it.
      - Mutually exclusive with O(unix_socket) and O(url).
    type: str
    default: localhost
    aliases: [login_host]
  port:
    description:
      - TCP port of the Redis server.
    type: int
    default: 6379
    aliases: [login_port]
  db:
    description:
      - Number of the logical database to use.
      - Must be V(0) with O(cluster=true) (Redis Cluster has only database 0).
    type: int
    default: 0
  username:
    description:
      - ACL user name to authenticate as (Redis 6 or later).
      - When omitted and O(password) is set, the C(default) user (or C(requirepass)) is used.
    type: str
    aliases: [login_user]
  password:
    description:
      - Password for O(username), or the C(requirepass) password of the server.
    type: str
    aliases: [login_password]
  url:
    description:
      - Connection URL, for example V(redis://user:secret@cache.internal:6379/0),
        V(rediss://cache.internal:6380/0) (TLS) or V(unix:///run/redis/redis.sock?db=0).
      - Replaces O(host), O(port) and O(unix_socket); O(db), O(username) and O(password) still apply
        when the URL does not carry them.
      - The URL may contain a password, so it is never logged.
    type: str
  unix_socket:
    description:
      - Path of the server's unix domain socket, instead of O(host) and O(port).
    type: path
  tls:
    description:
      - Use TLS for the connection.
      - Implied by a V(rediss://) O(url).
    type: bool
    default: false
  validate_certs:
    description:
      - Verify the server certificate and its host name when O(tls=true).
      - Only turn this off for a lab or a server reached through a trusted tunnel.
    type: bool
    default: true
  ca_certs:
    description:
      - Path of a PEM file with the certificate authorities trusted for the server certificate.
      - When omitted, the system trust store is used.
    type: path
  client_cert:
    description:
      - Path of a PEM client certificate, for servers that require mutual TLS (C(tls-auth-clients yes)).
    type: path
  client_key:
    description:
      - Path of the private key of O(client_cert).
    type: path
  cluster:
    description:
      - Connect to a Redis Cluster. The module discovers the cluster's nodes from the one given
        and works on every primary node.
    type: bool
    default: false
  connect_timeout:
    description:
      - Seconds to wait for a connection, and for each reply of the server.
    type: float
    default: 10
requirements:
  - redis (Python library, version 4.1 or later) on the host that runs the module
notes:
  - The C(redis) Python library must be installed where the module runs (usually the controller with
    C(delegate_to=localhost) or C(connection=local)), for example with C(pip install redis).
"""
