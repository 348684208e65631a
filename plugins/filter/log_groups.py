# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Log lines that match a pattern, grouped by message, most frequent first."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
name: log_groups
author: ClickView Platform Team
version_added: 0.2.0
short_description: Select log lines by a pattern and group them by message
description:
  - Selects the lines of container logs that match O(pattern) (a regular expression searched anywhere in the line,
    C((?i)) for case-insensitive) and groups them by message.
  - The message of a line is what the O(keys) expressions find in it, joined by a space (for logfmt lines,
    C(msg="...") and C(err="...")). A line where none of them is found is grouped by its text with every number
    replaced by C(N), cut to 160 characters, so lines that differ only in ids, durations or counts fall together.
  - Groups are ordered by the number of lines, most first; groups with as many lines by message.
options:
  _input:
    description: Container logs, a list of C({pod, container, previous, lines}) (see P(clickview.runbook.container_logs#filter)).
    type: list
    elements: dict
    required: true
  pattern:
    description: Lines to select.
    type: str
    required: true
  keys:
    description: Regular expressions whose first match in a line makes up its message.
    type: list
    elements: str
    default: ['msg="[^"]*"', 'err="[^"]*"']
  with_last:
    description: Whether each group's C(text) ends with the last line of the group (cut to 160 characters).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Error lines grouped by message
  ansible.builtin.set_fact:
    errors: "{{ logs | clickview.runbook.log_groups('(?i)error|fatal|panic|exception') }}"
    # errors.groups[0].text: 12x msg="request failed" err="upstream timeout: search-svc" (pods: backend-1, backend-2)

- name: Memory lines, keyed by message and limit
  ansible.builtin.set_fact:
    memory: "{{ logs | clickview.runbook.log_groups('(?i)memory|heap|oom', keys=['msg=\"[^\"]*\"', 'limit_mb=[0-9]+'], with_last=true) }}"
"""

RETURN = r"""
_value:
  description: The lines read, the lines selected and their groups.
  type: dict
  contains:
    lines:
      description: Number of lines read.
      type: int
    matched:
      description: The selected lines, each C({pod, container, previous, line}), in log order.
      type: list
      elements: dict
    groups:
      description: >-
        One C({message, count, pods, last, text}) per message: C(pods) the pod names in order of first appearance,
        C(last) the last line of the group, C(text) e.g. C(12x msg="request failed" (pods: backend-1, backend-2)).
      type: list
      elements: dict
"""

DEFAULT_KEYS = ('msg="[^"]*"', 'err="[^"]*"')


def truncate(text, length=160, end="...", leeway=5):
    """Cut text at a word boundary, as Jinja's truncate filter does (kept whole up to length + leeway)."""
    if len(text) <= length + leeway:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end


def message_of(line, keys=DEFAULT_KEYS):
    """What the key expressions find in the line, or the line with numbers as N, cut to 160 characters."""
    found = [match.group(0) for match in (re.search(key, line) for key in keys) if match]
    return " ".join(found).strip() or truncate(re.sub("[0-9]+", "N", line))


def log_groups(logs, pattern, keys=DEFAULT_KEYS, with_last=False):
    """{'lines': read, 'matched': [...], 'groups': [...]} (see DOCUMENTATION)."""
    selector = re.compile(pattern)
    read, matched, groups = 0, [], {}
    for log in logs or []:
        for line in log.get("lines") or []:
            read += 1
            if not selector.search(line):
                continue
            matched.append({"pod": log.get("pod"), "container": log.get("container"), "previous": log.get("previous"),
                            "line": line})
            group = groups.setdefault(message_of(line, keys), {"count": 0, "pods": [], "last": ""})
            group["count"] += 1
            group["last"] = line
            if log.get("pod") not in group["pods"]:
                group["pods"].append(log.get("pod"))
    out = []
    for message, group in sorted(groups.items(), key=lambda kv: (-kv[1]["count"], kv[0].lower(), kv[0])):
        text = "%dx %s (pods: %s)" % (group["count"], message, ", ".join(group["pods"]))
        if with_last:
            text += "; last: " + truncate(group["last"])
        out.append(dict(group, message=message, text=text))
    return {"lines": read, "matched": matched, "groups": out}


class FilterModule:
    """Log filters."""

    def filters(self):
        return {"log_groups": log_groups}
