# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When each temporary WAF block expires, read from the IP set's tags (written by waf_block_ip)."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.waf_ipset import latest_expiries, parse_expiry_tags

DOCUMENTATION = r"""
name: waf_block_expiries
author: ClickView Platform Team
version_added: 0.1.0
short_description: Expiry of each temporary block of a WAF IP set
description:
  - M(clickview.runbook.waf_block_ip) records the expiry of temporary blocks as tags of the IP set
    (C(runbook:expires:<UTC time>:<task id>:<n>) = space-separated CIDRs). This filter reads them
    back from the tags dictionary that C(community.aws.wafv2_ip_set_info) returns.
  - Each address is listed once, with its latest recorded expiry (a later block extends an earlier one).
options:
  _input:
    description: The IP set's tags, as a dictionary (key to value).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Blocks of the IPv4 set and when they expire
  ansible.builtin.debug:
    msg: "{{ ip_set_info.tags | clickview.runbook.waf_block_expiries }}"
"""

RETURN = r"""
_value:
  description: One entry per address, soonest expiry first.
  type: list
  elements: dict
  contains:
    address:
      description: The blocked CIDR.
      type: str
    expires:
      description: When the block expires (UTC, ISO 8601).
      type: str
"""


def waf_block_expiries(tags):
    """[{address, expires}] sorted by expiry, from an IP set's tags dictionary."""
    records = parse_expiry_tags([{"Key": key, "Value": value} for key, value in (tags or {}).items()])
    latest = latest_expiries(records)
    return [{"address": address, "expires": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
            for address, moment in sorted(latest.items(), key=lambda item: (item[1], item[0]))]


class FilterModule:
    """WAF expiry filters."""

    def filters(self):
        return {"waf_block_expiries": waf_block_expiries}
