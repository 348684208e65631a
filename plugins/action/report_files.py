# -*- coding: utf-8 -*-

# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of clickview.runbook.report_files: writes a run's report files on the controller.

One task, one step, whatever the number of files: the ansible.builtin.template loops it replaces ran
two modules per file (stat, then copy), about eight seconds per report on a busy two-core runner.
The checks and the writing are plugins/module_utils/report_files.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.clickview.runbook.plugins.module_utils import report_files

ARGUMENT_SPEC = {
    'files': {'type': 'list', 'elements': 'dict', 'required': True},
    'mode': {'type': 'raw', 'default': '0640'},
}


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # not used since Ansible 2.5
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            mode = report_files.parse_mode(args['mode'])
            planned = report_files.plan(args['files'], mode=mode)
        except report_files.ReportFilesError as exc:
            raise AnsibleActionFail('report_files: %s (nothing was written)' % exc)
        if self._task.diff:
            result['diff'] = report_files.diff(planned)
        if self._task.check_mode:
            changed = [item['path'] for item in planned if item['changed']]
        else:
            try:
                changed = report_files.write(planned, mode=mode)
            except OSError as exc:
                raise AnsibleActionFail('report_files: could not write %s: %s' % (exc.filename or 'a file', exc.strerror or exc))
        result.update(changed=bool(changed), files=[item['path'] for item in planned], changed_files=changed)
        return result
