# -*- coding: utf-8 -*-

# Copyright (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Who acted: the option the incident modules share, filled by their action plugin (plugins/action/incident.py).
    DOCUMENTATION = r"""
options:
  actor:
    description:
      - Who made the change and from where, kept with every timeline event this call adds.
      - Left out (the usual case), the collection's action plugin fills it on the controller - under AWX or Automation
        Controller from the job's metadata (C(awx_user_name), C(awx_job_id), C(awx_job_template_name),
        C(awx_job_launch_type), C(awx_workflow_job_id), C(awx_user_email), C(awx_execution_node), or their legacy
        C(tower_*) names) as C({user, via=awx, job, host, job_template, launch_type, workflow_job, email}); else as
        C({user, via=cli, job=null, host}) with the OS user and the host name of the controller. A scheduled AWX job has
        no user; its user is then C(schedule:<schedule name>).
      - When the play has a non-empty C(change_reference) variable (for example V(CHG-1234)), the actor carries it as
        C(change_reference).
      - Given, it must be a dictionary with at least C(user).
    type: dict
"""
