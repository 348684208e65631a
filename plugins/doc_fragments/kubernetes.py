# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by the Kubernetes modules of clickview.runbook.
    # The names, environment variables and behaviour are those of kubernetes.core's k8s_auth_options
    # (the client is created by kubernetes.core); the argument spec is kubernetes_argument_spec()
    # in plugins/module_utils/k8s_client.py.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a dictionary.
      - Without it and without O(host), the pod's service account is used when running in a cluster,
        otherwise C(~/.kube/config) (or the files listed in E(KUBECONFIG)).
      - Environment variable E(K8S_AUTH_KUBECONFIG).
    type: raw
  context:
    description:
      - Context of the kubeconfig to use; default is its current context.
      - Environment variable E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example V(https://k8s.example.com:6443).
      - With O(api_key), O(client_cert) and O(client_key), or O(username) and O(password), the kubeconfig is not read.
      - Environment variable E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token (for example a service account token).
      - Environment variable E(K8S_AUTH_API_KEY).
    type: str
  username:
    description:
      - User name for basic authentication (rarely enabled on clusters).
      - Environment variable E(K8S_AUTH_USERNAME).
    type: str
  password:
    description:
      - Password for basic authentication.
      - Environment variable E(K8S_AUTH_PASSWORD).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's certificate. Default is the kubeconfig's setting, which verifies.
      - Environment variable E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - File with the certificate authority that signed the API server's certificate.
      - Environment variable E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - File with the client certificate for TLS client authentication.
      - Environment variable E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - File with the private key of O(client_cert).
      - Environment variable E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - HTTP proxy to reach the API server through, for example V(http://proxy.example.com:3128).
      - Environment variable E(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains and networks reached without O(proxy).
      - Environment variable E(K8S_AUTH_NO_PROXY).
    type: str
  impersonate_user:
    description:
      - User name to act as (C(Impersonate-User)); the credentials used need the C(impersonate) permission.
      - Environment variable E(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - Groups to act as (C(Impersonate-Group)), together with O(impersonate_user).
      - Environment variable E(K8S_AUTH_IMPERSONATE_GROUPS) (comma-separated).
    type: list
    elements: str
  request_timeout:
    description:
      - Seconds each Kubernetes API request may take to connect and to answer. An API server (or a proxy in front
        of it) that accepts the connection and never answers fails the task after this long, naming the request.
      - Not a kubernetes.core option; its modules take the client's default, which waits forever.
    type: int
    default: 30
requirements:
  - kubernetes >= 24.2.0
  - the kubernetes.core collection (it creates the client)
notes:
  - The connection options behave as those of the kubernetes.core modules.
"""
