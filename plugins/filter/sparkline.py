# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A list of numbers as a one-line Unicode sparkline."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.clickview.runbook.plugins.module_utils.charts import sparkline as _sparkline

DOCUMENTATION = r"""
name: sparkline
author: ClickView Platform Team (@clickview)
version_added: 0.3.0
short_description: Draw a list of numbers as a one-line Unicode sparkline
description:
  - Each value becomes one of the eight blocks C(▁▂▃▄▅▆▇█), from the lowest for 0 to the highest for the largest
    value, or for O(ceiling) when that is larger. Values at or below 0 are the lowest block; so are all values
    when none is above 0.
  - More values than O(width) are put into O(width) buckets of consecutive values, each drawn as its largest
    value, so a single spike among many quiet samples still shows.
  - An empty list gives an empty string. A value that is no finite number is an error.
options:
  _input:
    description: The values, oldest first.
    type: list
    elements: float
    required: true
  width:
    description: The most characters of the line.
    type: int
    default: 48
  ceiling:
    description:
      - The value drawn as the highest block when it is above every value, for example an alert threshold, so
        that values well below it stay low.
    type: float
"""

EXAMPLES = r"""
- name: The error ratio's samples as a line
  ansible.builtin.debug:
    msg: "{{ [0, 0.01, 0.02, 0.08, 0.03, 0] | clickview.runbook.sparkline }}"
    # ▁▂▃█▄▁

- name: Scaled up to the threshold, at most 24 characters
  ansible.builtin.debug:
    msg: "{{ error_ratio_values | clickview.runbook.sparkline(width=24, ceiling=0.05) }}"
"""

RETURN = r"""
_value:
  description: The sparkline, one character per value or bucket; empty for no values.
  type: str
"""


def sparkline(values, width=48, ceiling=None):
    """The values as a line of the blocks ▁▂▃▄▅▆▇█ (see DOCUMENTATION)."""
    try:
        return _sparkline(values, width=width, ceiling=ceiling)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("sparkline: %s" % exc) from exc


class FilterModule:
    """Sparkline filter."""

    def filters(self):
        return {"sparkline": sparkline}
