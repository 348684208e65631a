# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a registered task result into one line of the on-call access checklist."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row

DOCUMENTATION = r"""
name: access_item
author: ClickView Platform Team
version_added: 0.1.0
short_description: One access-checklist line from a registered task result
description:
  - Builds the record the runbook's reports use (C(check), C(target), C(status), C(figure),
    C(threshold), C(detail), C(value), C(unit)) from the result of a read-only task that exercised an access.
  - The access is C(OK) when the task did not fail and, if O(ok_when) is given, the result has
    that key; otherwise C(FAIL) with the task's own error message as the detail, so the
    checklist shows the exact error.
options:
  _input:
    description: A registered task result (or one item of a loop's C(results)).
    type: dict
    required: true
  check:
    description: Name of the checklist item.
    type: str
    required: true
  target:
    description: What was accessed (shown in the report).
    type: str
  target_attr:
    description: Dotted path in the result to read the target from, when O(target) is not given (for loop items, e.g. C(item.value)).
    type: str
  ok_when:
    description: Key that must be present in the result for the access to count as working.
    type: str
  figure_attr:
    description: Dotted path in the result whose value is shown as evidence (lists are shown by their length).
    type: str
  threshold:
    description: What "ticked" means for this item.
    type: str
    default: access works
"""

EXAMPLES = r"""
- name: Record the STS identity check
  ansible.builtin.set_fact:
    checks: "{{ checks + [sts_result | clickview.runbook.access_item(check='aws.caller_identity', figure_attr='arn')] }}"
"""

RETURN = r"""
_value:
  description: The checklist record.
  type: dict
  contains:
    value:
      description: How many items the O(figure_attr) list or dict has (the C(N item(s)) of the figure), else null.
      type: int
    unit:
      description: C(count) when there is a value, else null.
      type: str
"""

_MISSING = object()


def _dig(data, path):
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


def _evidence(value):
    """(figure, number of items or None) of the value shown as evidence."""
    if value is _MISSING or value is None:
        return "ok", None
    if isinstance(value, (list, tuple, dict)):
        return "%d item(s)" % len(value), len(value)
    return str(value), None


def _error(result):
    message = result.get("msg") or result.get("stderr") or ""
    if not message and result.get("failed") is False:
        return ""
    return " ".join(str(message).split())[:500] or "no detail given by the task"


def access_item(result, check, target=None, target_attr=None, ok_when=None, figure_attr=None, threshold="access works"):
    """Record for one access-checklist line."""
    result = result or {}
    failed = bool(result.get("failed") or result.get("unreachable"))
    missing = ok_when is not None and _dig(result, ok_when) is _MISSING
    if target is None and target_attr:
        found = _dig(result, target_attr)
        target = "" if found is _MISSING else str(found)
    ok = not failed and not missing
    if ok:
        detail = ""
        figure, items = _evidence(_dig(result, figure_attr) if figure_attr else _MISSING)
    else:
        detail = _error(result) if failed else "%s not in the answer: not found or not readable with these credentials" % ok_when
        figure, items = "no access", None
    return check_row(check, target or "", "OK" if ok else "FAIL", figure, threshold, detail,
                     value=items, unit="count")


def access_review_item(result, namespace=""):
    """Record for one SelfSubjectAccessReview answer (a registered kubernetes.core.k8s loop item)."""
    result = result or {}
    attrs = (result.get("item") or {})
    what = "%s %s%s%s" % (attrs.get("verb", "?"), attrs.get("resource", "?"),
                          "/" + attrs["subresource"] if attrs.get("subresource") else "",
                          " " + attrs["name"] if attrs.get("name") else "")
    status = ((result.get("result") or {}).get("status") or {})
    if result.get("failed"):
        ok, figure, detail = False, "review failed", _error(result)
    else:
        ok = bool(status.get("allowed"))
        figure = "allowed" if ok else "denied"
        detail = status.get("reason") or status.get("evaluationError") or ("" if ok else "not allowed by RBAC")
    return check_row("kubernetes.can_i", "%s in %s" % (what, namespace), "OK" if ok else "FAIL", figure, "allowed", detail)


class FilterModule:
    """Access checklist filters."""

    def filters(self):
        return {"access_item": access_item}
