# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kubernetes API access for the collection's Kubernetes modules.

The connection options (doc fragment clickview.runbook.kubernetes) carry kubernetes.core's names, and
the client is created by kubernetes.core's get_api_client, so they and their K8S_AUTH_* environment
variables behave exactly as in the kubernetes.core modules. The options are declared here rather than
imported so that the module's documentation and argument spec do not depend on kubernetes.core being
installed where the documentation is built or checked. On top of that, KubeApi is a small
adapter that speaks plain REST paths and returns plain dicts, which keeps the rollout logic in
k8s_rollout.py free of client objects and testable with a fake.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import signal
import threading
import traceback

from ansible_collections.clickview.runbook.plugins.module_utils.k8s_rollout import K8sApiError

K8S_IMP_ERR = None
try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    HAS_K8S_CORE = True
except ImportError:
    HAS_K8S_CORE = False
    K8S_IMP_ERR = traceback.format_exc()

try:
    from kubernetes.dynamic.exceptions import DynamicApiError
    HAS_KUBERNETES = True
except ImportError:
    HAS_KUBERNETES = False
    K8S_IMP_ERR = K8S_IMP_ERR or traceback.format_exc()

try:
    from urllib3.exceptions import HTTPError as Urllib3Error
except ImportError:  # urllib3 comes with kubernetes; without it HAS_KUBERNETES is False anyway
    Urllib3Error = OSError


def kubernetes_argument_spec():
    """The connection options documented by the clickview.runbook.kubernetes doc fragment.

    Same names, types and aliases as kubernetes.core's AUTH_ARG_SPEC (its proxy_headers and persist_config
    are left out), so kubernetes.core's get_api_client reads them, and their K8S_AUTH_* variables, as its own
    modules do."""
    return dict(
        kubeconfig=dict(type="raw", no_log=True),
        context=dict(type="str"),
        host=dict(type="str"),
        api_key=dict(type="str", no_log=True),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        validate_certs=dict(type="bool", aliases=["verify_ssl"]),
        ca_cert=dict(type="path", aliases=["ssl_ca_cert"]),
        client_cert=dict(type="path", aliases=["cert_file"]),
        client_key=dict(type="path", aliases=["key_file"]),
        proxy=dict(type="str"),
        no_proxy=dict(type="str"),
        impersonate_user=dict(type="str"),
        impersonate_groups=dict(type="list", elements="str"),
        request_timeout=dict(type="int", default=30),
    )


NOT_AUTH_OPTIONS = ("request_timeout",)


def missing_requirements():
    """None when the kubernetes client and kubernetes.core are importable, else (library, traceback)."""
    if not HAS_K8S_CORE:
        return "the kubernetes.core collection", K8S_IMP_ERR
    if not HAS_KUBERNETES:
        return "kubernetes", K8S_IMP_ERR
    return None


def _status_message(body, fallback):
    try:
        status = json.loads(body)
        return status.get("message") or fallback
    except (TypeError, ValueError, AttributeError):
        return fallback


class KubeApi(object):
    """get/list/patch on REST paths; answers are dicts, failures K8sApiError."""

    def __init__(self, dynamic_client, request_timeout=30):
        self._client = dynamic_client
        self.request_timeout = request_timeout

    def request(self, method, path, body=None, content_type=None, label_selector=None, field_selector=None):
        params = {"_request_timeout": self.request_timeout}
        if content_type:
            params["content_type"] = content_type
        if label_selector:
            params["label_selector"] = label_selector
        if field_selector:
            params["field_selector"] = field_selector
        try:
            resp = self._client.request(method, path, body=body, serialize=False, **params)
        except DynamicApiError as e:
            raise K8sApiError(e.status, e.reason, _status_message(e.body, e.reason), method, path)
        except (Urllib3Error, OSError) as e:
            raise K8sApiError(None, "ConnectionError", "cannot reach the Kubernetes API (%s %s, request_timeout %ss): %s"
                              % (method, path, self.request_timeout, e), method, path)
        data = resp.data
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return json.loads(data) if data else {}

    def get(self, path):
        return self.request("GET", path)

    def list(self, path, label_selector=None, field_selector=None):
        return self.request("GET", path, label_selector=label_selector, field_selector=field_selector).get("items") or []

    def json_patch(self, path, ops):
        return self.request("PATCH", path, body=ops, content_type="application/json-patch+json")


class _Deadline(Exception):
    pass


def within(seconds, what, func, *args, **kwargs):
    """Call func, raising K8sApiError (ConnectionError) if it has not returned after ``seconds``.

    For calls that take no timeout of their own. A SIGALRM interrupts the blocking read; it only works in
    the main thread (where a module runs), elsewhere func is called unbounded."""
    if threading.current_thread() is not threading.main_thread():
        return func(*args, **kwargs)

    def expire(signum, frame):
        raise _Deadline()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return func(*args, **kwargs)
    except _Deadline:
        raise K8sApiError(None, "ConnectionError", "cannot reach the Kubernetes API: timed out after %ss %s "
                          "(request_timeout)" % (seconds, what))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def connect(params):
    """A KubeApi for the module's connection options (kubernetes.core semantics, K8S_AUTH_* honoured)."""
    timeout = params.get("request_timeout")
    timeout = 30 if timeout is None else timeout
    if timeout <= 0:
        raise K8sApiError(None, "ConfigError", "request_timeout must be a positive number of seconds, got %s" % timeout)

    auth = dict((k, params.get(k)) for k in kubernetes_argument_spec()
                if params.get(k) is not None and k not in NOT_AUTH_OPTIONS)
    try:
        # the client reads the API's discovery documents while it is created, with no timeout of its own
        client = within(timeout, "reading the Kubernetes API's discovery documents", get_api_client, **auth)
    except K8sApiError:
        raise
    except Exception as e:  # kubeconfig missing or invalid, unreadable certificate files, ...
        raise K8sApiError(None, "ConfigError", "could not create the Kubernetes client: %s" % e, None, None)
    return KubeApi(client.client, timeout)
