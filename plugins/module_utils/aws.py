# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AWS connection for this collection's modules, with botocore's own retry mode, so throttling is
retried by the SDK (standard or adaptive) with the same knobs in every module.

Two ways to connect, with the same options (amazon.aws's, documented by the
``amazon.aws.common.modules`` and ``amazon.aws.region.modules`` doc fragments, plus the
``clickview.runbook.aws`` fragment for the retry options):

* ``client(module, ...)`` for modules built on amazon.aws's AnsibleAWSModule;
* ``aws_argument_spec()`` + ``connect(module, ...)`` for a plain AnsibleModule. It builds the
  client from botocore directly, the way AnsibleAWSModule does (same precedence of options,
  environment variables and profiles), without importing boto3 and amazon.aws's module
  utilities: for a module whose whole task is a couple of API calls, that import is a large
  part of its run time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.basic import env_fallback
from ansible_collections.clickview.runbook.plugins.module_utils.common import ClickviewError

try:
    from ansible.module_utils.ansible_release import __version__ as ANSIBLE_VERSION
except ImportError:  # pragma: no cover
    ANSIBLE_VERSION = 'unknown'

USER_AGENT = 'APN/1.0 Ansible/%s clickview.runbook' % ANSIBLE_VERSION


class AwsConnectError(ClickviewError):
    """A connection problem; ``param`` names the option to look at."""

    def __init__(self, msg, param=None):
        super(AwsConnectError, self).__init__(msg, param=param)


def aws_retry_argument_spec():
    """Options for botocore's retry handler; merge into a module's argument_spec."""
    return dict(
        retry_mode=dict(type="str", default="standard", choices=["standard", "adaptive"]),
        max_attempts=dict(type="int", default=10),
        timeout=dict(type="int", default=30),
    )


def check_timeout(params):
    """Raise AwsConnectError naming ``timeout`` unless it is a positive number of seconds."""
    if params.get("timeout") is None or params["timeout"] <= 0:
        raise AwsConnectError("timeout: must be a positive number of seconds, got %r" % (params.get("timeout"),),
                              param="timeout")


def aws_argument_spec():
    """amazon.aws's connection options (names, aliases, environment fallbacks) plus the retry options."""
    spec = dict(
        access_key=dict(aliases=["aws_access_key_id", "aws_access_key"],
                        fallback=(env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"]), no_log=False),
        secret_key=dict(aliases=["aws_secret_access_key", "aws_secret_key"],
                        fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"]), no_log=True),
        session_token=dict(aliases=["aws_session_token"], fallback=(env_fallback, ["AWS_SESSION_TOKEN"]), no_log=True),
        profile=dict(aliases=["aws_profile"], fallback=(env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])),
        endpoint_url=dict(aliases=["aws_endpoint_url"], fallback=(env_fallback, ["AWS_URL"])),
        validate_certs=dict(type="bool", default=True),
        aws_ca_bundle=dict(type="path", fallback=(env_fallback, ["AWS_CA_BUNDLE"])),
        aws_config=dict(type="dict"),
        debug_botocore_endpoint_logs=dict(type="bool", default=False,
                                          fallback=(env_fallback, ["ANSIBLE_DEBUG_BOTOCORE_LOGS"])),
        region=dict(aliases=["aws_region"], fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"])),
    )
    if _legacy_aliases_documented():
        for name, (aliases, variables) in LEGACY_ALIASES.items():
            spec[name]["aliases"] = spec[name]["aliases"] + aliases
            spec[name]["fallback"] = (env_fallback, spec[name]["fallback"][1] + variables)
    spec.update(aws_retry_argument_spec())
    return spec


# amazon.aws before 10.0.0 (9.x is the last for ansible-core 2.16) still takes, and its
# amazon.aws.common.modules and amazon.aws.region.modules fragments document, these aliases and
# environment variables: option -> (aliases, variables). The options follow the installed amazon.aws,
# so that what ansible-doc shows for a module using aws_argument_spec() is what the module accepts.
LEGACY_ALIASES = dict(
    access_key=(["ec2_access_key"], ["EC2_ACCESS_KEY"]),
    secret_key=(["ec2_secret_key"], ["EC2_SECRET_KEY"]),
    session_token=(["security_token", "access_token", "aws_security_token"], ["AWS_SECURITY_TOKEN", "EC2_SECURITY_TOKEN"]),
    endpoint_url=(["ec2_url", "s3_url"], ["EC2_URL", "S3_URL"]),
    region=(["ec2_region"], ["EC2_REGION"]),
)


def _legacy_aliases_documented():
    try:  # amazon.aws's module_utils/common.py holds constants only: importing it costs nothing
        from ansible_collections.amazon.aws.plugins.module_utils.common import AMAZON_AWS_COLLECTION_VERSION
    except ImportError:
        return False
    try:
        return int(AMAZON_AWS_COLLECTION_VERSION.split(".", maxsplit=1)[0]) < 10
    except (AttributeError, ValueError):
        return False


def botocore_config(params):
    """The ``config`` for AnsibleAWSModule.client(); a user's aws_config still overrides it."""
    timeout = params.get("timeout") or 30
    return {"retries": {"mode": params["retry_mode"], "total_max_attempts": params["max_attempts"]},
            "connect_timeout": timeout, "read_timeout": timeout}


def bound_calls(conn, service, timeout, clock=time.monotonic):
    """No retry once a call's attempts have taken ``timeout`` seconds: botocore then raises the last error
    (or returns the last answer) instead of trying again up to max_attempts times the read timeout, so a
    peer that accepts the connection and never answers costs about one ``timeout``, not minutes."""
    started = {}

    def start(**kwargs):
        started["at"] = clock()

    def give_up(**kwargs):
        if clock() - started.get("at", clock()) >= timeout:
            return False  # a non-None answer ends botocore's needs-retry chain: no retry, no sleep
        return None

    conn.meta.events.register("before-call.%s" % service, start)
    conn.meta.events.register_first("needs-retry.%s" % service, give_up)
    return conn


def client(module, service, region=None):
    """A boto3 client with the retry configuration and time bound; ``region`` overrides the module's (e.g.
    CLOUDFRONT)."""
    if module.params.get("timeout") is not None and module.params["timeout"] <= 0:
        module.fail_json(msg="timeout: must be a positive number of seconds, got %r" % module.params["timeout"])
    extra = dict(config=botocore_config(module.params))
    if region:
        extra["region"] = region
    conn = module.client(service, **extra)
    return bound_calls(conn, conn.meta.service_model.service_id.hyphenize(), module.params.get("timeout") or 30)


def connect(params, service, region=None, module_name=None):
    """A botocore client for ``service`` from aws_argument_spec() parameters; ``region`` overrides theirs.

    Returns ``(client, region)``. Raises AwsConnectError naming the option at fault; botocore must
    be importable (the caller checks first).
    """
    import botocore.config
    import botocore.exceptions
    import botocore.session

    access_key = params.get("access_key") or None
    secret_key = params.get("secret_key") or None
    session_token = params.get("session_token") or None
    profile = params.get("profile") or None
    if profile and (access_key or secret_key or session_token):
        raise AwsConnectError("Passing both a profile and access tokens is not supported.", param="profile")
    try:
        session = botocore.session.Session(profile=profile)
        region = region or params.get("region") or session.get_config_variable("region")
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsConnectError("Couldn't connect to AWS: %s" % exc, param="profile")
    if not region:
        raise AwsConnectError("The %s module requires a region and none was found in configuration, environment "
                              "variables or module parameters" % (module_name or "AWS"), param="region")
    verify = params.get("validate_certs", True)
    if verify and params.get("aws_ca_bundle"):
        verify = params["aws_ca_bundle"]
    check_timeout(params)
    config = botocore.config.Config(user_agent_extra=USER_AGENT, connect_timeout=params["timeout"],
                                    read_timeout=params["timeout"],
                                    retries={"mode": params.get("retry_mode") or "standard",
                                             "total_max_attempts": params.get("max_attempts") or 10})
    if params.get("aws_config"):
        try:
            config = config.merge(botocore.config.Config(**params["aws_config"]))
        except TypeError as exc:
            raise AwsConnectError("aws_config: %s" % exc, param="aws_config")
    try:
        conn = session.create_client(service, region_name=region, endpoint_url=params.get("endpoint_url") or None,
                                     verify=verify, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                     aws_session_token=session_token, config=config)
    except ValueError as exc:
        raise AwsConnectError("Couldn't connect to AWS: %s" % exc, param="endpoint_url")
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsConnectError("Couldn't connect to AWS: %s" % exc)
    return bound_calls(conn, conn.meta.service_model.service_id.hyphenize(), params["timeout"]), region


def record_actions(conn, service):
    """Collect ``service:Operation`` for every API call the client makes (debug_botocore_endpoint_logs)."""
    actions = []

    def note(model=None, **kwargs):
        if model is not None:
            actions.append("%s:%s" % (service, model.name))

    conn.meta.events.register("before-call.%s" % service, note)
    return actions
