# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of clickview.runbook.incident (and incident_event, which imports it).

Every role that records an incident event says only which incident and what happened. Where the
record lives - a folder or an S3 bucket - is one decision of the environment, made once in the
inventory (clickview_incident_storage, clickview_incident_dir, clickview_incident_s3_bucket,
clickview_incident_s3_prefix and the clickview_aws_* connection). This plugin fills in each of
those options from the inventory when the task does not give it, then runs the module as usual
(check mode, diff and no_log work as for any module). Options the task gives always win; note that
a task naming only incident_dir still follows the inventory's storage (the folder is used when
that storage is file). A task with its own AWS identity (a profile, a session token or keys) gets
the inventory's region and endpoint only, never its keys.

It also fills the ``actor`` option, when the task does not give one, with who runs the play and from
where (incident_record.actor_from_vars): the AWX user and job id from the job metadata AWX /
Automation Controller adds to the extra variables (awx_user_name, awx_job_id, ... or the legacy
tower_* names), else the OS user on the controller and its host name; with the run's
``change_reference`` when one is given. Every event the module writes carries it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.clickview.runbook.plugins.module_utils.incident_record import ACTOR_VARS, actor_from_vars

try:  # ansible-core 2.19+: a value templated to omit raises this instead of giving a placeholder string
    from ansible.errors import AnsibleValueOmittedError
    OMITTED = (AnsibleValueOmittedError,)
except ImportError:
    OMITTED = ()

# module option -> inventory variable
STORAGE_VARS = (
    ('storage', 'clickview_incident_storage'),
    ('incident_dir', 'clickview_incident_dir'),
    ('s3_bucket', 'clickview_incident_s3_bucket'),
    ('s3_prefix', 'clickview_incident_s3_prefix'),
)
# only with storage=s3: the AWS connection of the environment
AWS_VARS = (
    ('region', 'clickview_aws_region'),
    ('endpoint_url', 'clickview_aws_endpoint_url'),
    ('access_key', 'clickview_aws_access_key'),
    ('secret_key', 'clickview_aws_secret_key'),
)
# a task that names any of these chose its own AWS identity: the inventory's keys are not added
OWN_IDENTITY = ('profile', 'aws_profile', 'session_token', 'aws_session_token', 'access_key', 'aws_access_key_id',
                'aws_access_key', 'secret_key', 'aws_secret_access_key', 'aws_secret_key')
# the option names and aliases a task may already use for them
ALIASES = {
    'region': ('region', 'aws_region'),
    'endpoint_url': ('endpoint_url', 'aws_endpoint_url'),
    'access_key': ('access_key', 'aws_access_key_id', 'aws_access_key'),
    'secret_key': ('secret_key', 'aws_secret_access_key', 'aws_secret_key'),
}


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = False

    def _inventory_value(self, task_vars, name):
        """The templated value of an inventory variable; None when unset, empty or omitted."""
        if name not in task_vars:
            return None
        try:
            value = self._templar.template(task_vars[name])
        except OMITTED:  # e.g. "{{ vault_key | default(omit) }}" with no vault_key (an instance role)
            return None
        omit = task_vars.get('omit')  # before 2.19: the omit placeholder string
        if value is None or value == '' or (omit and isinstance(value, str) and value.startswith(omit)):
            return None
        return value

    def _fill(self, args, task_vars, pairs):
        for option, variable in pairs:
            if any(name in args for name in ALIASES.get(option, (option,))):
                continue
            value = self._inventory_value(task_vars, variable)
            if value is not None:
                args[option] = value

    def _actor(self, task_vars):
        """Who runs this play and from where, computed here on the controller."""
        values = {}
        for name in ACTOR_VARS:
            value = self._inventory_value(task_vars, name)
            if value is not None:
                values[name] = value
        return actor_from_vars(values)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # not used since Ansible 2.5
        args = dict(self._task.args)
        if not args.get('actor'):
            args['actor'] = self._actor(task_vars)
        self._fill(args, task_vars, STORAGE_VARS)
        if args.get('storage') == 's3':
            pairs = AWS_VARS
            if any(name in args for name in OWN_IDENTITY):
                pairs = [pair for pair in AWS_VARS if pair[0] not in ('access_key', 'secret_key')]
            self._fill(args, task_vars, pairs)
        result.update(self._execute_module(module_name=self._task.resolved_action or self._task.action,
                                           module_args=args, task_vars=task_vars))
        return result
