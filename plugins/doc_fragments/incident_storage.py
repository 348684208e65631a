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
options:
  storage:
    description:
      - Where the records live - V(file) in O(incident_dir), V(s3) in O(s3_bucket) (with the AWS connection options).
    type: str
    choices: [ file, s3 ]
    default: file
  s3_bucket:
    description:
      - Bucket holding the incident records with O(storage=s3). It must exist.
    type: str
  s3_prefix:
    description:
      - Key prefix of the records in O(s3_bucket) with O(storage=s3).
    type: str
    default: incidents/
"""
