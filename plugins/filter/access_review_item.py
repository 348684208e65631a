# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One access-checklist line from a SelfSubjectAccessReview answer.

Its own file so that ansible-doc renders its own page; the function lives beside its sibling
in access_item.py.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: access_review_item
author: ClickView Platform Team
version_added: 0.1.0
short_description: One access-checklist line from a SelfSubjectAccessReview answer
description:
  - Turns one item of a registered C(kubernetes.core.k8s) loop that created
    C(SelfSubjectAccessReview) objects (the loop item holding C(verb), C(resource) and
    optionally C(subresource)) into the record the runbook's reports use.
  - C(OK) when the API server answered C(allowed), C(FAIL) with its reason otherwise.
options:
  _input:
    description: One element of the registered loop's C(results).
    type: dict
    required: true
  namespace:
    description: The namespace the review was about (shown in the target).
    type: str
"""

EXAMPLES = r"""
- name: Record the reviews
  ansible.builtin.set_fact:
    checks: "{{ reviews.results | map('clickview.runbook.access_review_item', namespace='clickview') | list }}"
"""

RETURN = r"""
_value:
  description: The checklist record (check, target, status, figure, threshold, detail, and value and unit, always
    null since an access review has no number).
  type: dict
"""

from ansible_collections.clickview.runbook.plugins.filter.access_item import access_review_item


class FilterModule:
    """The access_review_item filter."""

    def filters(self):
        return {"access_review_item": access_review_item}
