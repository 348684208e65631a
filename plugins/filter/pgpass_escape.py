# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One field of a PostgreSQL password file, escaped."""

from __future__ import annotations

DOCUMENTATION = r"""
name: pgpass_escape
author: ClickView Platform Team
version_added: 0.2.0
short_description: Escape a value for one field of a PostgreSQL password file
description:
  - A password file line is C(host:port:database:username:password); inside a field a colon is
    written C(\:) and a backslash C(\\). This filter escapes one field, so a password holding either
    still matches.
  - A password file keeps the password out of command lines and environment variables, where
    Ansible's verbose output and the process table would show it.
options:
  _input:
    description: The value of the field (user name or password).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: A password file line for the replication user
  ansible.builtin.copy:
    dest: "{{ pgpass.path }}"
    content: "*:*:*:{{ user | clickview.runbook.pgpass_escape }}:{{ password | clickview.runbook.pgpass_escape }}\n"
    mode: "0600"
  no_log: true
"""

RETURN = r"""
_value:
  description: The value with each backslash and colon escaped by a backslash.
  type: str
"""


def pgpass_escape(value):
    """``a:b\\c`` -> ``a\\:b\\\\c``; a line break cannot be written in the file and is refused."""
    text = "" if value is None else str(value)
    if "\n" in text or "\r" in text:
        raise ValueError("pgpass_escape: a password file field cannot hold a line break")
    return text.replace("\\", "\\\\").replace(":", "\\:")


class FilterModule:
    """Password file filters."""

    def filters(self):
        return {"pgpass_escape": pgpass_escape}
