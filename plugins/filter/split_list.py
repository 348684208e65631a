# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A list of words from a list, or from one string as an AWX survey answer gives it."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
name: split_list
author: ClickView Platform Team
version_added: 0.1.0
short_description: A list of items from a list or from one string of them
description:
  - Returns the items of a list, or of a string holding them one per line or separated by commas
    or spaces (an AWX survey C(textarea) or C(text) answer arrives as one such string).
  - Each item is a string without surrounding white space; empty items are dropped, so an
    empty answer is an empty list.
options:
  _input:
    description: A list of items (strings or numbers), a string of them, or null.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Addresses from a survey answer, one per line
  ansible.builtin.debug:
    msg: "{{ '203.0.113.7\n198.51.100.0/24' | clickview.runbook.split_list }}"   # ['203.0.113.7', '198.51.100.0/24']

- name: A list stays a list (numbers become strings)
  ansible.builtin.debug:
    msg: "{{ [4711, ' 42 '] | clickview.runbook.split_list }}"   # ['4711', '42']
"""

RETURN = r"""
_value:
  description: The items, in order.
  type: list
  elements: str
"""

_SEPARATORS = re.compile(r"[\s,]+")


def split_list(value):
    """Items of a list or of a string separated by commas and white space; empty ones dropped."""
    if value is None:
        return []
    items = [value] if isinstance(value, (str, bytes, int, float)) else list(value)
    words = []
    for item in items:
        text = item.decode("utf-8") if isinstance(item, bytes) else str(item)
        words.extend(word for word in _SEPARATORS.split(text) if word)
    return words


class FilterModule:
    """List filters."""

    def filters(self):
        return {"split_list": split_list}
