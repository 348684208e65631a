# -*- coding: utf-8 -*-
# Copyright: ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's "4. RESOLVE - Confirm service restored": the health check's rows of the affected area
decide whether an incident may be resolved.

An area names the health check's checks by prefix (api.health, postgres.connections, ...). The incident
is confirmed restored when at least one check of its area ran and none of them is FAIL (WARN does not
hold a resolution back). Otherwise it is refused, unless forced with a reason; the decision keeps the
reason and the failing checks for the record. Checks about the past (alerts.overnight) or about backups
belong to no area: they say nothing about the service now.
"""

from __future__ import annotations

# area: the check-name prefixes it covers (a prefix ending with "." is a family, else one check)
AREAS = {
    "api": ("api.", "ingress.", "app."),
    "database": ("postgres.", "pgbouncer.", "replication."),
    "cache": ("redis.",),
    "kubernetes": ("kubernetes.",),
    "monitoring": ("prometheus.", "alerts.firing"),
}
ALL = "all"


class RestoreCheckError(ValueError):
    """Bad input; the message names the option."""


def areas():
    """The areas a caller may name, "all" first."""
    return [ALL] + sorted(AREAS)


def prefixes(area):
    """The check-name prefixes of an area ("all": every area's)."""
    if area == ALL:
        return tuple(prefix for name in sorted(AREAS) for prefix in AREAS[name])
    if area not in AREAS:
        raise RestoreCheckError("area: must be one of %s, got %r" % (", ".join(areas()), area))
    return AREAS[area]


def in_area(check_name, area):
    """Whether a health-check row (by its check name) belongs to the area."""
    name = str(check_name or "")
    return any(name.startswith(prefix) if prefix.endswith(".") else name == prefix for prefix in prefixes(area))


def decide(checks, area=ALL, force=False, force_reason="", report=""):
    """Whether the incident may be resolved now, from the health check's rows (``{check, target, status, figure}``,
    ``value`` and ``unit`` carried into ``failing`` when given).

    Returns ``{area, restored, allowed, forced, force_reason, checked, counts, failing, warnings, report, summary}``:
    restored when a check of the area ran and none is FAIL; allowed when restored, or when forced with a
    non-empty reason (then ``forced`` is true and the reason and the failing checks are kept)."""
    area = str(area or ALL).strip().lower()
    prefixes(area)  # validates
    reason = str(force_reason or "").strip()
    if force and not reason:
        raise RestoreCheckError("force_reason: must say why the incident is resolved while the health check of area %s "
                                "is not OK (it goes into the record)" % area)
    rows = [row for row in checks or [] if isinstance(row, dict) and in_area(row.get("check"), area)]
    counts = {"OK": 0, "WARN": 0, "FAIL": 0}
    for row in rows:
        status = str(row.get("status") or "FAIL").upper()
        counts[status if status in counts else "FAIL"] += 1
    failing = [{"check": row.get("check"), "target": row.get("target"), "figure": row.get("figure"),
                "value": row.get("value"), "unit": row.get("unit")}
               for row in rows if str(row.get("status") or "FAIL").upper() not in ("OK", "WARN")]
    warnings = [row.get("check") for row in rows if str(row.get("status") or "").upper() == "WARN"]
    restored = bool(rows) and not failing
    forced = bool(force) and not restored
    if restored:
        summary = "service restored in area %s: %d check(s), none FAIL%s" % (
            area, len(rows), " (%d WARN: %s)" % (len(warnings), ", ".join(warnings)) if warnings else "")
    elif not rows:
        summary = "service restored not confirmed in area %s: no check of that area ran" % area
    else:
        summary = "service not restored in area %s: %s" % (area, "; ".join(
            "%s %s (%s)" % (row["check"], row["target"], row["figure"]) for row in failing))
    if forced:
        summary += "; resolved anyway (force): %s" % reason
    return {
        "area": area, "restored": restored, "allowed": restored or forced, "forced": forced,
        "force_reason": reason if forced else None, "checked": len(rows), "counts": counts,
        "failing": failing, "warnings": warnings, "report": report or None, "summary": summary,
    }
