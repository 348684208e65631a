# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing one run's report files (markdown, JSON, JUnit, SVG) on the controller, in one step.

The action plugin clickview.runbook.report_files calls plan() to check every file before any is
written, then write() for the files whose content differs. A report is usually the same content
twice (the run's own file and the ``-latest`` copy); one task writes both.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.clickview.runbook.plugins.module_utils.common import atomic_write

DEFAULT_MODE = 0o640


class ReportFilesError(ValueError):
    """Bad input: the message names the parameter; nothing was written."""


def parse_mode(value):
    """The file mode, from an octal string (V(0640)) or an int; only permission bits, never beyond 0o777."""
    if value is None or value == '':
        return DEFAULT_MODE
    if isinstance(value, bool):
        raise ReportFilesError('mode: give an octal string such as 0640, not %r' % (value,))
    if isinstance(value, int):
        mode = value
    else:
        text = str(value).strip()
        try:
            mode = int(text, 8)
        except ValueError:
            raise ReportFilesError('mode: %r is not an octal mode such as 0640' % (value,)) from None
    if mode < 0 or mode > 0o777:
        raise ReportFilesError('mode: %s is not a file permission (0000-0777)' % oct(mode))
    return mode


def _read(path):
    """(text, permission bits) of ``path``; (None, None) when missing, unreadable or not text."""
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read(), os.fstat(handle.fileno()).st_mode & 0o777
    except (OSError, UnicodeDecodeError):
        return None, None  # rewritten whole


def plan(files, mode=DEFAULT_MODE, read=_read):
    """Check ``files`` (a list of {path, content}; ``path`` may be a list of paths for the same content) and say
    what each write would do.

    A mapping or list given as content (what Ansible before 2.19 makes of a JSON text) is written as
    indented JSON. Returns a list of {path, content, before, changed, rewrite}: ``before`` is the file's current text
    (None when missing), ``rewrite`` whether its content must be written, ``changed`` whether the
    content or the mode (``mode``) differs. Raises ReportFilesError, naming the entry, for anything that is not an absolute
    path of a file in an existing folder with text content; a path given twice with different
    contents is refused too. Nothing is written here.
    """
    if not isinstance(files, list) or not files:
        raise ReportFilesError('files: give a non-empty list of {path, content}')
    seen = {}
    out = []
    for index, entry in enumerate(files):
        where = 'files[%d]' % index
        if not isinstance(entry, dict):
            raise ReportFilesError('%s: expected a mapping with path and content, got %s' % (where, type(entry).__name__))
        unknown = sorted(set(entry) - {'path', 'content'})
        if unknown:
            raise ReportFilesError('%s: unknown key(s) %s; only path and content' % (where, ', '.join(unknown)))
        content = entry.get('content')
        if isinstance(content, (dict, list)):
            # Ansible before 2.19 turns a templated string that looks like JSON into data: write it back as JSON
            content = json.dumps(content, indent=4, sort_keys=True) + '\n'
        if not isinstance(content, str):
            raise ReportFilesError('%s.content: give the text to write (a string), got %s' % (where, type(content).__name__))
        for path, named in _paths(entry.get('path'), where):
            if path in seen:
                if seen[path] != content:
                    raise ReportFilesError('%s: %s is given twice with different contents' % (named, path))
                continue
            seen[path] = content
            before, before_mode = read(path)
            rewrite = before != content
            out.append({'path': path, 'content': content, 'before': before, 'rewrite': rewrite,
                        'changed': rewrite or before_mode != mode})
    return out


def _paths(value, where):
    """[(absolute path, its name in messages)] of an entry's ``path``: one path, or a list of paths that get the same
    content (a report and its -latest copy, rendered once)."""
    many = isinstance(value, list)
    values = value if many else [value]
    if many and not value:
        raise ReportFilesError('%s.path: give the file path, or a non-empty list of paths' % where)
    found = []
    for number, path in enumerate(values):
        named = '%s.path[%d]' % (where, number) if many else '%s.path' % where
        if not isinstance(path, str) or not path.strip():
            raise ReportFilesError('%s: give the file path' % named)
        path = os.path.expanduser(path)
        if not os.path.isabs(path):
            raise ReportFilesError('%s: %s is not an absolute path' % (named, path))
        if path.endswith('/') or os.path.isdir(path):
            raise ReportFilesError('%s: %s is a folder, not a file' % (named, path))
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            raise ReportFilesError('%s: the folder %s does not exist' % (named, folder))
        found.append((path, named))
    return found


def write(planned, mode=DEFAULT_MODE, writer=atomic_write):
    """Write each planned file whose content changed (whole or not at all) and set the mode of those
    whose content is already right; return the paths changed."""
    changed = []
    for item in planned:
        if item['rewrite']:
            writer(item['path'], item['content'], mode=mode)
        elif item['changed']:
            os.chmod(item['path'], mode)
        else:
            continue
        changed.append(item['path'])
    return changed


def diff(planned):
    """Ansible's diff list: before and after of each file that changes."""
    return [{'before_header': item['path'], 'after_header': item['path'],
             'before': item['before'] or '', 'after': item['content']}
            for item in planned if item['rewrite']]
