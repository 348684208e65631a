# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A folder for reports, records or evidence that only its owner (and group) can read."""

from __future__ import annotations

DOCUMENTATION = r"""
name: private_dir
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: Create a folder with mode 0750 on the controller, refusing one another user controls
description:
  - Returns each path after making sure it is a folder the user running Ansible owns, that no one else may write
    to, and that is not readable by everyone. A missing folder is created (and its missing parents) with mode 0750.
  - Refuses, with the reason, a path that is a symbolic link, is not a folder, is owned by another user, or is
    writable by its group or by everyone. Such a folder under a shared temporary directory could have been
    prepared by someone else to read or replace the reports, records and evidence written into it.
  - An existing folder of the right owner that is readable by everyone is narrowed to 0750.
  - Runs on the controller, where the collection writes its reports, whatever the host of the task.
options:
  _terms:
    description: Paths of folders.
    type: list
    elements: path
    required: true
"""

EXAMPLES = r"""
- name: The report folder, 0750 and ours
  ansible.builtin.set_fact:
    report_dir_ready: "{{ lookup('clickview.runbook.private_dir', report_dir) }}"
"""

RETURN = r"""
_raw:
  description: The absolute paths, in order.
  type: list
  elements: path
"""

import os
import stat

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

MODE = 0o750


def problem(path, uid=None):
    """Why ``path`` must not hold private files (a string), or None. Missing is not a problem."""
    uid = os.getuid() if uid is None else uid
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return "%s is a symbolic link; give the real folder" % path
    if not stat.S_ISDIR(info.st_mode):
        return "%s exists and is not a folder" % path
    if info.st_uid != uid:
        return "%s is owned by another user (uid %d); use a folder of your own" % (path, info.st_uid)
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "%s is writable by %s; make it 0750 or use another folder" % (
            path, "everyone" if info.st_mode & stat.S_IWOTH else "its group")
    return None


def ensure(path, uid=None):
    """Create or check ``path``; return its absolute path or raise ValueError with the reason."""
    path = os.path.abspath(os.path.expanduser(path))
    why = problem(path, uid)
    if why:
        raise ValueError(why)
    if not os.path.isdir(path):
        missing = []
        head = path
        while not os.path.isdir(head):
            missing.append(head)
            head = os.path.dirname(head)
        for folder in reversed(missing):
            os.mkdir(folder, MODE)
            os.chmod(folder, MODE)  # mkdir's mode is filtered by the umask
    elif os.stat(path).st_mode & stat.S_IROTH:
        os.chmod(path, os.stat(path).st_mode & 0o7750)
    return path


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        out = []
        for term in terms:
            if not term or not str(term).strip():
                raise AnsibleLookupError("private_dir: empty path")
            try:
                out.append(ensure(str(term)))
            except (ValueError, OSError) as exc:
                raise AnsibleLookupError("private_dir: refusing to write there: %s" % exc)
        return out
