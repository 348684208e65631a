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
  timeout:
    description:
      - Seconds each AWS request may take to connect and to answer (botocore's C(connect_timeout) and
        C(read_timeout)).
      - A call whose attempts have together taken this long is not retried again; the task fails with the
        last error. So an endpoint that accepts the connection and never answers fails the task after about
        this many seconds, not after O(max_attempts) read timeouts.
      - A C(connect_timeout) or C(read_timeout) in O(aws_config) overrides this per request.
    type: int
    default: 30
"""
