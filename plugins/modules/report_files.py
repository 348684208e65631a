#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: report_files
short_description: Write a run's report files (markdown, JSON, JUnit, SVG) on the controller in one step
version_added: 0.2.0
description:
  - Writes each file of O(files) whole or not at all (a temporary file in the same folder, then a rename), with mode O(mode).
  - Every entry is checked before any file is written; a bad entry fails the task, names the entry and writes nothing.
  - A file whose content is already right is left alone (only its mode is corrected), so a second run with the same
    content reports no change.
  - Runs on the controller, where the collection writes its reports, whatever the host of the task, like the
    C(clickview.runbook.private_dir) lookup that prepares the report folder. It is an action plugin and needs no
    connection to the host.
  - The roles render each report template once with the P(ansible.builtin.template#lookup) lookup and give it with a
    list of two paths, the run's own file and its C(-latest) copy, so the template is rendered once for both.
author:
  - ClickView Platform Team (@clickview)
attributes:
  check_mode:
    support: full
    description: Nothing is written; RV(changed_files) lists what would change.
  diff_mode:
    support: full
    description: Before and after of each file whose content changes.
  platform:
    support: full
    platforms: posix
    description: Writes on the controller, not on the task's host.
options:
  files:
    description:
      - The files to write, each a mapping of C(path) (absolute, in an existing folder) and C(content) (text).
      - C(path) may be a list of such paths, each written with the same content (a report and its C(-latest) copy).
      - The same path may appear twice only with the same content.
      - A mapping or list as C(content) (what ansible-core before 2.19 makes of a templated JSON text) is written as indented JSON.
    type: list
    elements: dict
    required: true
  mode:
    description:
      - Permission bits of every file written, as an octal string.
    type: raw
    default: '0640'
notes:
  - The folder is not created here; prepare it with the C(clickview.runbook.private_dir) lookup (0750, refused when another
    user controls it).
seealso:
  - plugin: clickview.runbook.private_dir
    plugin_type: lookup
'''

EXAMPLES = r'''
- name: Report | Write markdown, JSON and JUnit
  vars:
    markdown: "{{ lookup('ansible.builtin.template', 'report.md.j2') }}"
    json_text: "{{ lookup('ansible.builtin.template', 'report.json.j2') }}"
  clickview.runbook.report_files:
    files:
      # each template rendered once, written to the run's own file and the -latest copy
      - {path: ["{{ report_base }}.md", "{{ report_latest }}.md"], content: "{{ markdown }}"}
      - {path: ["{{ report_base }}.json", "{{ report_latest }}.json"], content: "{{ json_text }}"}
  check_mode: false   # a report is written even in check mode
  changed_when: false # and is not a change to the platform
'''

RETURN = r'''
files:
  description: The paths of O(files), in order, without repeats.
  returned: always
  type: list
  elements: str
  sample: [/var/lib/clickview/reports/health-check-production-20261207T031500Z.md]
changed_files:
  description: The paths written or whose mode was corrected (in check mode, those that would be).
  returned: always
  type: list
  elements: str
  sample: [/var/lib/clickview/reports/health-check-production-latest.md]
'''
