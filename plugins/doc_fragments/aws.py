# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # AWS options this collection adds to amazon.aws.common.modules and amazon.aws.region.modules
    # (which document access_key, secret_key, session_token, profile, region, endpoint_url,
    # validate_certs, aws_ca_bundle and aws_config). Used with plugins/module_utils/aws.py.
    DOCUMENTATION = r"""
options:
  retry_mode:
    description:
      - How botocore retries throttling and transient errors (C(ThrottlingException), HTTP 5xx, connection errors).
      - V(standard) retries with exponential backoff and jitter.
      - V(adaptive) also rate-limits this client on the client side once AWS starts throttling.
      - A C(retries) entry in O(aws_config) overrides this.
    type: str
    choices: [standard, adaptive]
    default: standard
  max_attempts:
    description:
      - Total attempts per AWS call, the first one included, before botocore gives up and the task
        fails naming the AWS error code.
    type: int
    default: 10
"""
