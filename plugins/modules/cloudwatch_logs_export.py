#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: cloudwatch_logs_export
short_description: Export the events of a CloudWatch Logs group for a time window to a JSON-lines file
version_added: 0.1.0
description:
  - The runbook's C(export-waf-logs.sh --last-hour) for evidence collection. Reads the events of O(log_group) from
    O(start_time) to O(end_time) with C(FilterLogEvents) (all pages, every stream) and writes them, oldest first, to
    O(dest), one JSON object per line (C(timestamp), C(log_stream), C(event_id), C(message)).
  - Read-only against AWS - nothing is deleted, expired or re-configured ("preserve evidence"). An existing O(dest) is
    never overwritten.
  - A reversed or empty window, or one that ends in the future, fails before any AWS call.
attributes:
  check_mode:
    support: full
    description: The events are read and counted; O(dest) is not written.
  diff_mode:
    support: none
    description: No diff is returned.
options:
  log_group:
    description: Name of the log group, for example C(aws-waf-logs-clickview) (WAF logging requires the C(aws-waf-logs-) prefix).
    type: str
    required: true
  start_time:
    description: Start of the window, ISO 8601 UTC (C(2025-01-31T13:20:00Z)).
    type: str
    required: true
  end_time:
    description: End of the window, ISO 8601 UTC; at most a minute in the future (clock skew).
    type: str
    required: true
  filter_pattern:
    description: CloudWatch Logs filter pattern, for example C({ $.action = "BLOCK" }). All events when omitted.
    type: str
  dest:
    description: File to write on the host the module runs on. Its folder must exist; the file must not.
    type: path
    required: true
  max_events:
    description: At most this many events are written; RV(truncated) tells when the window held more.
    type: int
    default: 100000
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - clickview.runbook.aws
seealso:
  - module: clickview.runbook.evidence_manifest
author:
  - ClickView Platform Team (@clickview)
'''

EXAMPLES = r'''
- name: Export the last hour of WAF logs into the evidence bundle
  clickview.runbook.cloudwatch_logs_export:
    log_group: aws-waf-logs-clickview
    start_time: "2025-01-31T13:20:00Z"
    end_time: "2025-01-31T14:20:00Z"
    dest: /var/lib/clickview-runbook/evidence/INC-1/waf-logs.jsonl
    region: us-east-1
'''

RETURN = r'''
count:
  description: Number of events written (would be, in check mode).
  returned: success
  type: int
  sample: 1234
truncated:
  description: Whether the window held more than O(max_events) events.
  returned: success
  type: bool
  sample: false
dest:
  description: The file written.
  returned: success
  type: str
  sample: /var/lib/clickview-runbook/evidence/INC-1/waf-logs.jsonl
window:
  description: The window read, as given.
  returned: success
  type: dict
  sample: {"start": "2025-01-31T13:20:00Z", "end": "2025-01-31T14:20:00Z"}
streams:
  description: Names of the log streams the events came from.
  returned: success
  type: list
  elements: str
  sample: ["waf-eu-west-1"]
error_code:
  description: The AWS error code when AWS refused the call (for example C(ResourceNotFoundException)).
  returned: failure, when AWS answered with an error
  type: str
  sample: ResourceNotFoundException
'''

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.clickview.runbook.plugins.module_utils import cloudwatch_logs as cw
from ansible_collections.clickview.runbook.plugins.module_utils.aws import aws_retry_argument_spec
from ansible_collections.clickview.runbook.plugins.module_utils.aws import client as aws_client
from ansible_collections.clickview.runbook.plugins.module_utils.common import fail


def main():
    argument_spec = dict(
        log_group=dict(type='str', required=True),
        start_time=dict(type='str', required=True),
        end_time=dict(type='str', required=True),
        filter_pattern=dict(type='str'),
        dest=dict(type='path', required=True),
        max_events=dict(type='int', default=100000),
    )
    argument_spec.update(aws_retry_argument_spec())
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    window = dict(start=params['start_time'], end=params['end_time'])
    try:
        begin, finish = cw.check_window(params['start_time'], params['end_time'])
        if params['max_events'] < 1:
            raise cw.WindowError('max_events: must be at least 1')
        events, truncated = cw.fetch(aws_client(module, 'logs'), params['log_group'], begin, finish,
                                     filter_pattern=params['filter_pattern'], max_events=params['max_events'])
        if not module.check_mode:
            cw.write_jsonl(params['dest'], events)
    except cw.WindowError as exc:
        fail(module, exc, window=window)
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get('Error', {}).get('Code') if isinstance(exc, ClientError) else exc.__class__.__name__
        module.fail_json(msg='%s: cannot read log group %s: %s' % (code, params['log_group'], to_native(exc)),
                         error_code=code, window=window)
    except (IOError, OSError) as exc:
        module.fail_json(msg='dest: cannot write %s: %s' % (params['dest'], to_native(exc)), window=window)

    done = 'would be written' if module.check_mode else 'written'
    module.exit_json(changed=not module.check_mode, count=len(events), truncated=truncated, dest=params['dest'],
                     window=window, streams=sorted(set(e['log_stream'] for e in events if e['log_stream'])),
                     msg='%d events of %s %s' % (len(events), params['log_group'], done))


if __name__ == '__main__':
    main()
