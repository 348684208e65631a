# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WAF IP sets as a security incident's evidence bundle keeps them."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.filter.waf_block_expiries import waf_block_expiries

DOCUMENTATION = r"""
name: waf_ip_set_evidence
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The evidence entry of each WAF IP set read in a loop
description:
  - Takes the C(results) of C(community.aws.wafv2_ip_set_info) run in a loop over IP set names and gives, for
    each set, its name, ARN, IP version, addresses and the expiry of its temporary blocks
    (see P(clickview.runbook.waf_block_expiries#filter)).
  - A set that could not be read (no C(name) in its result) is listed under the loop item's name, with an
    empty ARN and version and no addresses or expiries, so the evidence shows it was asked for.
options:
  _input:
    description: The loop's C(results).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Read the WAF IP sets
  community.aws.wafv2_ip_set_info:
    name: "{{ item }}"
    scope: REGIONAL
  loop: [blocked-v4, blocked-v6]
  register: ipsets

- name: Write them into the bundle
  ansible.builtin.copy:
    content: "{{ ipsets.results | clickview.runbook.waf_ip_set_evidence | to_nice_json }}"
    dest: bundle/waf-ip-sets.json
    mode: "0640"
"""

RETURN = r"""
_value:
  description: One entry per loop result, in the loop's order.
  type: list
  elements: dict
  contains:
    name:
      description: The IP set's name (the loop item when the set could not be read).
      type: str
    arn:
      description: Its ARN, empty when unknown.
      type: str
    ip_address_version:
      description: C(IPV4) or C(IPV6), empty when unknown.
      type: str
    addresses:
      description: The CIDRs in the set.
      type: list
      elements: str
    expiries:
      description: The temporary blocks, C({address, expires}), soonest first.
      type: list
      elements: dict
"""


def waf_ip_set_evidence(results):
    """[{name, arn, ip_address_version, addresses, expiries}] from wafv2_ip_set_info loop results."""
    return [{"name": result.get("name", result.get("item")),
             "arn": result.get("arn", ""),
             "ip_address_version": result.get("ip_address_version", ""),
             "addresses": result.get("addresses", []),
             "expiries": waf_block_expiries(result.get("tags", {}))}
            for result in results or []]


class FilterModule:
    """WAF evidence filters."""

    def filters(self):
        return {"waf_ip_set_evidence": waf_ip_set_evidence}
