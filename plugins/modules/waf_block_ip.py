#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: waf_block_ip
short_description: Block or unblock IP addresses in AWS WAFv2 IP sets, safely under concurrency
version_added: 0.1.0
description:
  - Adds addresses to (O(state=present), block) or removes them from (O(state=absent), unblock)
    existing AWS WAFv2 IP sets; the runbook's containment step C(waf-block-ip.sh).
  - Only the addresses named are touched; every other entry of the IP set is kept as it is.
  - Any number of addresses costs one read (C(GetIPSet)) and one write (C(UpdateIPSet)) per IP set,
    plus one C(ListIPSets) walk when a set is named by name or id rather than ARN.
  - The write is guarded by the lock token of the read. When another writer changed the set in
    between (C(WAFOptimisticLockException)) the set is read again and only this task's own additions
    and removals are applied again, after a random (jittered) wait, at most O(lock_retries) times.
    Concurrent tasks blocking different addresses therefore all succeed.
  - All input is validated, and protected ranges and the AWS capacity of 10,000 addresses per IP set
    are checked, before anything is written; a refused task changes nothing.
    When the write to a second IP set fails, the change already made to the first is rolled back.
  - Expiries (O(expire_after)) are kept as tags on the IP set itself, see O(expire_after).
author:
  - ClickView Platform Team (@clickview)
requirements:
  - python >= 3.6
  - botocore >= 1.34.0 (boto3 is not needed)
options:
  ip_sets:
    description:
      - The IP sets to change, each given by name, id or ARN.
      - WAF keeps IPv4 and IPv6 addresses in separate IP sets. Name at most one IPv4 and one IPv6 set;
        each address goes to the set of its IP version, found from the set itself.
        A task whose addresses include a version none of the sets has fails before changing anything.
    type: list
    elements: str
    required: true
    aliases: [ip_set]
  scope:
    description:
      - V(REGIONAL) for sets used by regional resources (ALB, API Gateway, ...), V(CLOUDFRONT) for
        CloudFront distributions.
      - V(CLOUDFRONT) sets live in us-east-1; O(region) is then ignored.
    type: str
    choices: [REGIONAL, CLOUDFRONT]
    default: REGIONAL
  addresses:
    description:
      - IPv4 or IPv6 addresses or CIDR blocks, for example V(203.0.113.7), V(198.51.100.0/24), V(2001:db8::1).
      - A single address becomes a V(/32) or V(/128) block.
      - A CIDR with host bits set (V(203.0.113.7/24)) is refused unless O(normalize=true).
      - Hostnames are refused, never resolved. An empty list is refused.
      - Required unless O(purge_expired=true).
    type: list
    elements: str
  state:
    description:
      - V(present) blocks the addresses (adds them to the set), V(absent) unblocks them (removes only them).
    type: str
    choices: [present, absent]
    default: present
  normalize:
    description:
      - Mask a CIDR with host bits set to its network (V(203.0.113.7/24) becomes V(203.0.113.0/24)) instead
        of failing. Each masked input is reported in RV(normalized).
    type: bool
    default: false
  expire_after:
    description:
      - Block only for this long, for example V(30m), V(24h), V(7d), V(1d12h) (units V(w), V(d), V(h), V(m), V(s); at least one minute).
      - The expiry is recorded as tags of the IP set, one group of tags per task, with keys
        C(runbook:expires:<UTC time>:<task id>:<n>) and as value the space-separated blocks that expire then.
        They are written before the addresses, are visible in the console, and are removed by O(purge_expired).
      - Blocking an address again extends its expiry; re-running the same task within a tenth of the
        duration changes nothing. An address already blocked without an expiry keeps its permanent block.
      - AWS allows 50 tags per resource. Every task that blocks with an expiry takes at least one tag
        (a tag holds about 15 IPv4 addresses), and its tags stay until O(purge_expired) removes them after
        the expiry; so one set holds at most about 600 IPv4 addresses with expiries, or about 50 separate
        expiring blocks, at a time. Block many addresses in one task rather than one task each, and run
        O(purge_expired) regularly (an AWX schedule). A task that would need more tags fails before
        changing anything.
      - Only with O(state=present). Without it, a block is permanent.
    type: str
  purge_expired:
    description:
      - Also unblock every address of the named sets whose latest recorded expiry has passed, and remove
        the expired records. May be used with or without O(addresses).
      - Run it on a schedule (cron, AWX schedule) so an incident's blocks do not outlive it.
      - When there is something to unblock, the tags are read again just before the write (one more call), so an
        address another task has blocked again in the meantime stays blocked.
    type: bool
    default: false
  protected:
    description:
      - CIDR ranges that must never be blocked (offices, VPN, health checkers, partners).
      - With O(state=present) any address that overlaps one of them fails the task, naming the overlap.
    type: list
    elements: str
    default: []
  allow_private:
    description:
      - Private, loopback, link-local, carrier-grade NAT and unique-local ranges (10.0.0.0/8, 172.16.0.0/12,
        192.168.0.0/16, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 0.0.0.0/8, fc00::/7, fe80::/10, ::1, ::)
        are protected unless this is V(true).
    type: bool
    default: false
  allow_wide_prefix:
    description:
      - With O(state=present), a network wider than /16 (IPv4) or /32 (IPv6) is refused unless this is V(true).
        V(2000::/3) is every global IPv6 client, V(128.0.0.0/1) half the IPv4 internet.
    type: bool
    default: false
  lock_retries:
    description:
      - How many times to re-read and re-apply after losing a race for the IP set
        (C(WAFOptimisticLockException)), with full-jitter exponential backoff (0.1 s doubling, at most 3 s).
    type: int
    default: 10
notes:
  - Supports check mode (reads only) and diff mode (the address list of each changed set, before and after).
  - Needs C(wafv2:ListIPSets), C(wafv2:GetIPSet) and C(wafv2:UpdateIPSet); expiries also C(wafv2:ListTagsForResource),
    C(wafv2:TagResource) and C(wafv2:UntagResource) (also used on unblock, to drop records of unblocked addresses).
  - An address removed from the set outside this module keeps its expiry record until it expires and is purged.
seealso:
  - module: community.aws.wafv2_ip_set
    description: Creates and deletes IP sets and replaces their whole address list.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - clickview.runbook.aws
attributes:
  check_mode:
    support: full
    description: Reads the sets and reports exactly what would be added, removed and purged; writes nothing.
  diff_mode:
    support: full
    description: The address list of each changed IP set before and after.
"""

EXAMPLES = r"""
- name: Block the attacking addresses for a day (IPv4 and IPv6 go to their own sets)
  clickview.runbook.waf_block_ip:
    region: us-east-1
    ip_sets: [clickview-blocklist-v4, clickview-blocklist-v6]
    addresses:
      - 192.0.2.44
      - 198.51.100.0/24
      - 2001:db8:beef::7
    expire_after: 24h
    protected: "{{ office_and_vpn_ranges }}"
  register: blocked

- name: Block a CIDR taken from a log line with host bits set
  clickview.runbook.waf_block_ip:
    ip_set: arn:aws:wafv2:us-east-1:123456789012:regional/ipset/clickview-blocklist-v4/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111
    addresses: [203.0.113.77/24]
    normalize: true

- name: Unblock an address once the incident is over
  clickview.runbook.waf_block_ip:
    ip_sets: [clickview-blocklist-v4]
    addresses: [192.0.2.44]
    state: absent

- name: Unblock everything whose time is up (scheduled job)
  clickview.runbook.waf_block_ip:
    ip_sets: [clickview-blocklist-v4, clickview-blocklist-v6]
    purge_expired: true

- name: Block in a CloudFront-scoped set, with adaptive client-side throttling
  clickview.runbook.waf_block_ip:
    scope: CLOUDFRONT
    ip_sets: [clickview-edge-blocklist]
    addresses: "{{ offenders }}"
    retry_mode: adaptive
"""

RETURN = r"""
ip_sets:
  description: The IP sets touched, after the change.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Name of the IP set.
      type: str
      sample: clickview-blocklist-v4
    id:
      description: Id of the IP set.
      type: str
      sample: a1b2c3d4-5678-90ab-cdef-EXAMPLE11111
    arn:
      description: ARN of the IP set.
      type: str
      sample: arn:aws:wafv2:us-east-1:123456789012:regional/ipset/clickview-blocklist-v4/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111
    scope:
      description: REGIONAL or CLOUDFRONT.
      type: str
      sample: REGIONAL
    ip_address_version:
      description: IPV4 or IPV6.
      type: str
      sample: IPV4
    address_count:
      description: Number of entries in the set after the change (would be, in check mode).
      type: int
      sample: 42
added:
  description: Blocks added by this task (in check mode, that would be added).
  returned: success
  type: list
  elements: str
  sample: [192.0.2.44/32, 2001:db8:beef::7/128]
removed:
  description: Blocks removed by this task, unblocked and purged ones together.
  returned: success
  type: list
  elements: str
  sample: [192.0.2.45/32]
already_present:
  description: Addresses to block that were already blocked (nothing done for them).
  returned: success
  type: list
  elements: str
  sample: [198.51.100.0/24]
not_present:
  description: Addresses to unblock that were not blocked (nothing done for them).
  returned: success
  type: list
  elements: str
  sample: []
purged:
  description: Blocks removed by O(purge_expired) because their expiry had passed.
  returned: success
  type: list
  elements: str
  sample: [192.0.2.10/32]
normalized:
  description: Each input CIDR that had host bits set and was masked (O(normalize=true)), mapped to the block used.
  returned: success
  type: dict
  sample: {"203.0.113.77/24": "203.0.113.0/24"}
expiries:
  description:
    - For each address of the task, when its block expires (UTC, minute precision), or null when it is permanent.
    - Empty with O(state=absent).
  returned: success
  type: dict
  sample: {"192.0.2.44/32": "2025-11-29T14:05Z", "198.51.100.0/24": null}
lock_retries:
  description: How many times the write lost a race (WAFOptimisticLockException) and was re-applied.
  returned: success
  type: int
  sample: 0
api_calls:
  description: HTTP requests sent to AWS by this task, botocore retries included.
  returned: success
  type: int
  sample: 3
resource_actions:
  description: The distinct AWS actions called, with O(debug_botocore_endpoint_logs=true).
  returned: when O(debug_botocore_endpoint_logs=true)
  type: list
  elements: str
  sample: ["wafv2:GetIPSet", "wafv2:ListIPSets", "wafv2:UpdateIPSet"]
error_code:
  description: The AWS error code when AWS refused the task (for example C(WAFNonexistentItemException), C(ThrottlingException)).
  returned: failure, when AWS answered with an error
  type: str
  sample: ThrottlingException
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

BOTOCORE_IMPORT_ERROR = None
try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    BOTOCORE_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.clickview.runbook.plugins.module_utils.aws import AwsConnectError
from ansible_collections.clickview.runbook.plugins.module_utils.aws import aws_argument_spec
from ansible_collections.clickview.runbook.plugins.module_utils.aws import connect
from ansible_collections.clickview.runbook.plugins.module_utils.aws import record_actions
from ansible_collections.clickview.runbook.plugins.module_utils.waf_ipset import WafIpSetError
from ansible_collections.clickview.runbook.plugins.module_utils.waf_ipset import error_code
from ansible_collections.clickview.runbook.plugins.module_utils.waf_ipset import error_message
from ansible_collections.clickview.runbook.plugins.module_utils.waf_ipset import run


def main():
    argument_spec = aws_argument_spec()
    argument_spec.update(
        ip_sets=dict(type="list", elements="str", required=True, aliases=["ip_set"]),
        scope=dict(type="str", default="REGIONAL", choices=["REGIONAL", "CLOUDFRONT"]),
        addresses=dict(type="list", elements="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        normalize=dict(type="bool", default=False),
        expire_after=dict(type="str"),
        purge_expired=dict(type="bool", default=False),
        protected=dict(type="list", elements="str", default=[]),
        allow_private=dict(type="bool", default=False),
        allow_wide_prefix=dict(type="bool", default=False),
        lock_retries=dict(type="int", default=10),
    )
    # The AWS connection is made from botocore directly (module_utils/aws.py), not through boto3 and
    # AnsibleAWSModule: same options, a much shorter start-up for a task of two or three API calls.
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if BOTOCORE_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("botocore"), exception=BOTOCORE_IMPORT_ERROR)

    params = dict(module.params)
    calls, actions = [], []

    def report(**fields):
        """Fields every result carries: API calls made, and the actions called when debugging."""
        fields["api_calls"] = len(calls)
        if params["debug_botocore_endpoint_logs"]:
            fields["resource_actions"] = sorted(set(actions))
        return fields

    try:
        if params["scope"] == "CLOUDFRONT":
            # CLOUDFRONT sets are managed from us-east-1, whatever the region
            client, dummy = connect(params, "wafv2", region="us-east-1", module_name="waf_block_ip")
            params["region"] = None
        else:
            client, params["region"] = connect(params, "wafv2", module_name="waf_block_ip")
        client.meta.events.register("before-send.wafv2", lambda **kwargs: calls.append(1))
        if params["debug_botocore_endpoint_logs"]:
            actions = record_actions(client, "wafv2")
        result = run(client, params, check_mode=module.check_mode)
    except AwsConnectError as exc:
        module.fail_json(**report(msg=exc.msg, param=exc.param))
    except WafIpSetError as exc:
        failure = report(msg=exc.msg)
        if exc.code:
            failure["error_code"] = exc.code
        module.fail_json(**failure)
    except (ClientError, BotoCoreError) as exc:
        code = error_code(exc)
        module.fail_json(**report(msg="%s%s; nothing changed" % ("%s: " % code if code else "", error_message(exc)),
                                  error_code=code or exc.__class__.__name__))

    diff = result.pop("diff")
    result = report(**result)
    if module._diff and diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
