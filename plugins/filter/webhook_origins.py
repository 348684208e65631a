# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheme, host and port of each webhook URL, without the path that holds its token."""

from __future__ import annotations

from urllib.parse import urlsplit

DOCUMENTATION = r"""
name: webhook_origins
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Scheme, host and port of each webhook URL, without its path
description:
  - A chat, pager or status-page webhook URL carries its token in its path. This keeps only what a reachability
    check needs, so that a loop over the result prints no token.
  - A URL without a host gives an empty C(hostname) and a null C(port).
options:
  _input:
    description: Webhook name to URL, as C(clickview_webhooks).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Hosts to reach, without the tokens
  ansible.builtin.set_fact:
    hosts: "{{ clickview_webhooks | clickview.runbook.webhook_origins }}"
    # {'chat': {'scheme': 'https', 'hostname': 'hooks.slack.com', 'port': None}, ...}
"""

RETURN = r"""
_value:
  description: Webhook name to C({scheme, hostname, port}).
  type: dict
"""


def webhook_origins(webhooks):
    """{name: {scheme, hostname, port}} of each URL; the path, query and credentials are dropped."""
    out = {}
    for name, url in (webhooks or {}).items():
        parts = urlsplit(str(url or ""))
        out[name] = {"scheme": parts.scheme, "hostname": parts.hostname or "", "port": parts.port}
    return out


class FilterModule:
    """Webhook filters."""

    def filters(self):
        return {"webhook_origins": webhook_origins}
