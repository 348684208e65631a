# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Where incident records live: the options of plugins/module_utils/incident_record.py's
    # storage_argument_spec(), shared by the incident and incident_event modules.
    DOCUMENTATION = r"""
notes:
  - The storage options are one decision of the environment. Left out of a task, O(storage), O(incident_dir),
    O(s3_bucket) and O(s3_prefix) come from the inventory variables C(clickview_incident_storage),
    C(clickview_incident_dir), C(clickview_incident_s3_bucket) and C(clickview_incident_s3_prefix), and with
    O(storage=s3) the AWS connection (O(region), O(endpoint_url), O(access_key), O(secret_key)) from
    C(clickview_aws_region), C(clickview_aws_endpoint_url), C(clickview_aws_access_key) and
    C(clickview_aws_secret_key), so every role's events land in the same record. Options given in the task win,
    each on its own - a task that names only O(incident_dir) still follows C(clickview_incident_storage) - and a
    task with its own AWS identity (a profile, a session token or keys) never gets the inventory's keys.
attributes:
  action:
    support: full
    description: An action plugin fills the storage options from the inventory (see the notes).
options:
  storage:
    description:
      - Where the records live - V(file) in O(incident_dir), V(s3) in O(s3_bucket) (with the AWS connection options).
      - Left out, the inventory's C(clickview_incident_storage), else V(file).
    type: str
    choices: [ file, s3 ]
    default: file
  s3_bucket:
    description:
      - Bucket holding the incident records with O(storage=s3). It must exist.
      - Left out, the inventory's C(clickview_incident_s3_bucket).
    type: str
  s3_prefix:
    description:
      - Key prefix of the records in O(s3_bucket) with O(storage=s3).
      - Left out, the inventory's C(clickview_incident_s3_prefix), else V(incidents/).
    type: str
    default: incidents/
"""
