# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VACUUM of the bloated tables, as a resolution step of the disk space alert."""

from __future__ import annotations

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import rows

DOCUMENTATION = r"""
name: vacuum_action
author: ClickView Platform Team (@clickview)
version_added: 0.2.0
short_description: The resolution step of vacuuming the bloated tables, decided from the dead tuples left
description:
  - Takes the registered loop results of the VACUUM (one per table, each with its C(item) - the bloat row with
    C(name), C(n_dead_tup), C(total), C(owner)) and the dead tuples measured again afterwards, and returns the
    C(VACUUM (mode)) step of P(clickview.runbook.alert_response#role).
  - A table is reclaimed when its VACUUM did not fail, answered, and it now has fewer dead tuples than before. The step
    is C(done) when every table was reclaimed, else C(failed); one evidence line per table, saying why one was not
    (the error, or that VACUUM needs the table's owner or an old transaction still sees the dead tuples).
options:
  _input:
    description: The C(results) of the registered VACUUM loop.
    type: list
    elements: dict
    required: true
  after:
    description: The registered postgresql_query result of the dead tuples afterwards (C(name), C(n_dead_tup), C(total)).
    type: dict
    default: {}
  mode:
    description: The VACUUM options, C(ANALYZE) or C(FULL, ANALYZE).
    type: str
    default: ANALYZE
  targets:
    description: How many tables were to be vacuumed.
    type: int
    default: 0
  full:
    description: Whether it was a VACUUM FULL (the detail says each table was locked).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Record the VACUUM
  ansible.builtin.include_tasks: common/action.yml
  vars:
    alert_response_action: >-
      {{ vacuumed.results | clickview.runbook.vacuum_action(after=after_vacuum, mode='ANALYZE', targets=2) }}
    # {'step': 'VACUUM (ANALYZE)', 'status': 'done', 'detail': '2 of 2 table(s) reclaimed',
    #  'evidence': ['public.events: 12000 dead tuples -> 0, size 9 MB -> 9 MB', ...]}
"""

RETURN = r"""
_value:
  description: The step, with C(step), C(status), C(detail) and C(evidence).
  type: dict
"""


def vacuum_action(results, after=None, mode="ANALYZE", targets=0, full=False):
    """{step, status, detail, evidence} of the VACUUM."""
    measured = rows(after or {})
    left_by_name = dict((r.get("name"), r.get("n_dead_tup")) for r in measured)
    size_by_name = dict((r.get("name"), r.get("total")) for r in measured)
    reclaimed, evidence = 0, []
    for result in results or []:
        table = result.get("item") or {}
        name = table.get("name")
        left = left_by_name.get(name)
        ok = (not result.get("failed") and "query_result" in result and left is not None
              and int(left) < int(table.get("n_dead_tup") or 0))
        reclaimed += 1 if ok else 0
        why = "" if ok else " - NOT reclaimed: " + str(result.get(
            "msg", "dead tuples unchanged (VACUUM needs the table owner %s, or an old transaction still sees them)"
            % table.get("owner")))
        evidence.append("%s: %s dead tuples -> %s, size %s -> %s%s" % (name, table.get("n_dead_tup"), left, table.get("total"),
                                                                       size_by_name.get(name, "?"), why))
    return {"step": "VACUUM (%s)" % str(mode).strip(), "status": "done" if reclaimed == len(evidence) else "failed",
            "detail": "%s of %s table(s) reclaimed%s" % (reclaimed, targets, " (VACUUM FULL: each table was locked "
                                                         "exclusively while rewritten)" if full else ""),
            "evidence": evidence}


class FilterModule:
    """Disk space filters."""

    def filters(self):
        return {"vacuum_action": vacuum_action}
