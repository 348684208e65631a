# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The deployment procedures' report rows for the rollout of a new image and the rollbacks after it.

``rollout`` grades the watch of a deploy (k8s_rollout_status's outcome); ``auto_rollback`` the rollback a
failed rollout triggers (k8s_rollback's result, or skipped when deployment_rollback_on_failure is off);
``verify_rollback`` the rollback a failed post-deploy verification triggers. Rows in the shape of
alert_findings.check_row, with the seconds the rollout took as its value.
"""

from __future__ import annotations

import json

from ansible_collections.clickview.runbook.plugins.module_utils.alert_findings import check_row


def _images(result):
    rollbacks = (result or {}).get("rollbacks") or [{}]
    return list((rollbacks[0] or {}).get("images_after") or [])


def rollout_row(rollout, name, image, image_before, changed, check_mode=False, deadline=600, timeout=300):
    """deploy.rollout: OK once the new image rolled out (or in check mode, said so), FAIL otherwise with the
    conditions, pods and events that say why."""
    target = "deployment/%s" % name
    threshold = "rollout complete within the progress deadline (%s s) and %s s" % (deadline, timeout)
    if check_mode:
        figure = ("not watched (check mode): would roll out %s over %s" % (image, image_before) if changed
                  else "check mode: already running %s" % image)
        return check_row("deploy.rollout", target, "OK", figure, threshold)
    rollout = rollout or {}
    complete = rollout.get("state") == "complete"
    note = "" if changed else " (already running, nothing to change)"
    figure = "%s in %s s, image %s%s" % (rollout.get("message", "not watched"), rollout.get("seconds", "?"), image, note)
    detail = "" if complete else {"conditions": rollout.get("conditions") or [], "pods": rollout.get("pods") or [],
                                  "events": rollout.get("events") or []}
    seconds = rollout.get("seconds")
    return check_row("deploy.rollout", target, "OK" if complete else "FAIL", figure, threshold, detail,
                     value=seconds if isinstance(seconds, (int, float)) else None, unit="s")


def auto_rollback_row(result, name, revision_before, image_before):
    """deploy.rollback after a failed rollout: OK when rolled back, WARN when switched off, FAIL when it failed."""
    result = result or {}
    threshold = "back on revision %s (%s) and rolled out" % (revision_before, image_before)
    target = "deployment/%s" % name
    if result.get("skipped") or not result:
        return check_row("deploy.rollback", target, "WARN",
                         "not rolled back (deployment_rollback_on_failure is false): the failed revision is still deployed",
                         threshold)
    if result.get("failed"):
        return check_row("deploy.rollback", target, "FAIL", result.get("msg", "the rollback failed"), threshold,
                         ((result.get("rollbacks") or [{}])[0]) or {})
    running = _images(result)
    return check_row("deploy.rollback", target, "OK", result.get("msg", "") + (", running " + ", ".join(running) if running else ""),
                     threshold)


def verify_rollback_rows(result, name):
    """verify.rollback: [] when no rollback ran; else OK (running what) or FAIL (conditions and pods)."""
    if not result or result.get("skipped"):
        return []
    target = "deployment/%s" % name
    threshold = "the revision before the deploy running and rolled out"
    if result.get("failed"):
        return [check_row("verify.rollback", target, "FAIL", result.get("msg", ""), threshold,
                          {"conditions": result.get("conditions") or [], "pods": result.get("pods") or []})]
    running = _images(result)
    return [check_row("verify.rollback", target, "OK",
                      result.get("msg", "") + (", running " + ", ".join(running) if running else ""), threshold)]


def blue_green_health_rows(slot, idle_name, live_name, service, soak_seconds, preview=None):
    """blue_green.health of the new slot after the soak (the slot_health filter's result; its ready pods as the value),
    and when it is not healthy the blue_green.switch row that says the Service was not switched."""
    slot, preview = slot or {}, preview or {}
    previewed = bool(preview) and not preview.get("skipped")
    figure = "%s of %s pods ready, %s container restart(s) after %s s" % (
        slot.get("ready", 0), slot.get("want", "?"), slot.get("restarts", 0), soak_seconds)
    if previewed:
        figure += ", preview HTTP %s" % preview.get("status", "unreachable")
    healthy = bool(slot.get("healthy"))
    rows = [check_row("blue_green.health", "deployment/%s" % idle_name, "OK" if healthy else "FAIL", figure,
                      "all pods ready, no restarts" + (", preview 2xx" if previewed else ""),
                      value=slot.get("ready"), unit="pods")]
    if not healthy:
        rows.append(check_row("blue_green.switch", "service/%s" % service, "FAIL",
                              "not switched: deployment/%s is not ready and healthy; service/%s still serves deployment/%s"
                              % (idle_name, service, live_name),
                              "switch only to a ready and healthy slot"))
    return rows


CANARY_DECISIONS = ("promote", "hold", "rollback")


def canary_decision_row(decision, name, image, reason, promoted=False, image_after="", samples=0):
    """canary.decision: OK when promoted and the promotion rolled out, WARN when held (auto-promotion off), FAIL when
    rolled back or the promotion's rollout failed; the number of samples analysed as its value."""
    if decision not in CANARY_DECISIONS:
        raise ValueError("decision must be one of %s, got %r" % (", ".join(CANARY_DECISIONS), decision))
    promoted = decision == "promote" and bool(promoted)
    if decision == "promote":
        figure = "promoted: %s now runs on deployment/%s" % (image, name)
        if not promoted:
            figure += " — but the promotion rollout failed, see deploy.rollout"
    elif decision == "hold":
        figure = "analysis passed, not promoted (deployment_canary_auto_promote is false): the canary keeps running"
    else:
        figure = "rolled back: canary removed, deployment/%s still runs %s" % (name, image_after)
    status = "OK" if promoted else ("WARN" if decision == "hold" else "FAIL")
    return check_row("canary.decision", "deployment/%s" % name, status, "%s — %s" % (figure, reason),
                     "promote when no sample crosses a FAIL threshold", value=int(samples), unit="count")


# the answers of a live or preview URL that count as up (the slot_health filter's too)
HTTP_OK = (200, 201, 202, 203, 204)


def blue_green_switch_rows(endpoints, check, expect, service, selector, want, live=None, live_url="", check_mode=False):
    """<check>.endpoints after a switch of the Service (the slot_endpoints filter's result: the ready endpoints of
    deployment/<expect> as the value), and <check>.live_url when the live URL was checked (the registered uri).
    ``check`` is blue_green.switch or blue_green.switch_back; the switch holds when every row is OK."""
    endpoints, live = endpoints or {}, live or {}
    chosen = json.dumps(selector, sort_keys=True)
    if check_mode:
        figure, ok, value = "check mode: would switch the selector to %s" % chosen, True, None
    else:
        addresses, foreign = list(endpoints.get("addresses") or []), list(endpoints.get("foreign") or [])
        value = len(addresses) - len(foreign)
        figure = "%d ready endpoint(s), %d of deployment/%s%s; selector %s" % (
            len(addresses), value, expect, (", foreign: " + ", ".join(foreign)) if foreign else "", chosen)
        ok = bool(endpoints.get("ok"))
    rows = [check_row(check + ".endpoints", "service/%s" % service, "OK" if ok else "FAIL", figure,
                      "%s ready endpoint(s), all of deployment/%s" % (want, expect), value=value, unit="pods")]
    if live and not live.get("skipped"):
        live_ok = live.get("status", 0) in HTTP_OK
        rows.append(check_row(check + ".live_url", live_url, "OK" if live_ok else "FAIL",
                              "HTTP %s after %s attempt(s)" % (live.get("status", "unreachable"), live.get("attempts", 1)),
                              "HTTP 2xx", "" if live_ok else live.get("msg", "")))
    return rows
