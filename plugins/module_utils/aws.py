# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AWS connection for this collection's modules: amazon.aws's AnsibleAWSModule does auth, region,
endpoint and certificates; this adds one thing, botocore's own retry mode, so throttling is retried
by the SDK (standard or adaptive) with the same knobs in every module.

Documented by the ``clickview.runbook.aws`` doc fragment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def aws_retry_argument_spec():
    """Options for botocore's retry handler; merge into a module's argument_spec."""
    return dict(
        retry_mode=dict(type="str", default="standard", choices=["standard", "adaptive"]),
        max_attempts=dict(type="int", default=10),
    )


def botocore_config(params):
    """The ``config`` for AnsibleAWSModule.client(); a user's aws_config still overrides it."""
    return {"retries": {"mode": params["retry_mode"], "total_max_attempts": params["max_attempts"]}}


def client(module, service, region=None):
    """A boto3 client with the retry configuration; ``region`` overrides the module's (e.g. CLOUDFRONT)."""
    extra = dict(config=botocore_config(module.params))
    if region:
        extra["region"] = region
    return module.client(service, **extra)
