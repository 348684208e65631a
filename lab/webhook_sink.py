"""Webhook sink for the lab: records every POST (chat channel, pager, status page stand-ins).

    POST /<anything>          recorded with its path, headers and JSON (or text) body
    GET  /_received[?path=P]  the recorded requests, oldest first (optionally only path P)
    DELETE /_received         forget everything recorded

Records are kept in memory and appended to a JSON-lines file so they survive for inspection.

It also stands for the external services' public status pages (ClickUp's, OpenAI's), read-only and in the
Atlassian Statuspage format the High Error Rate alert reads:

    GET /statuspage/<name>/api/v2/status.json
                              {"page": {"id", "name", "url", "time_zone", "updated_at"},
                               "status": {"indicator", "description"}} of service <name>; every name is
                              operational (indicator none, "All Systems Operational") until set
    PUT /_statuspage/<name>   set it: JSON {"indicator": "none|minor|major|critical", "description": "..."}
                              (description defaults to Statuspage's words for the indicator); "http_status": 503
                              makes the page answer that status with a text body instead (an unreadable page)
    GET /_statuspage          what is set, by name
    DELETE /_statuspage[/<name>]  back to operational, for every name (or one)

Status pages are kept in memory only (a restart resets them) and their reads and writes are not recorded.

PagerDuty's Events API v2 on the pager path (POST /pager or /pager/<anything>; recorded as above too):

    202 {"status": "success", "message": "Event processed", "dedup_key"} for a valid event; 400 {"status":
    "invalid event", "errors": [...]} without a routing_key, with an event_action other than trigger, acknowledge
    or resolve, a trigger without payload.summary/source/severity, or an acknowledge/resolve without a dedup_key.
    Each dedup_key is one alert: a trigger opens it (again only once resolved), acknowledge and resolve move it on.
    GET /_pagerduty/<dedup_key>  {"dedup_key", "status": triggered|acknowledged|resolved, "triggers", "incidents",
                              "events": [{"time", "event_action"}]} (404 when never seen); GET /_pagerduty: all

The Statuspage API (v1), for one page and one API key (--statuspage-page, --statuspage-key; lab/lab.yml):

    POST  /statuspage-api/v1/pages/<page>/incidents        {"incident": {"name", "status", "body", "components":
                              {<component id>: <status>}, "component_ids", "impact_override", "metadata"}} -> 201
    PATCH /statuspage-api/v1/pages/<page>/incidents/<id>   the same fields; a status or body adds an incident update
    GET   /statuspage-api/v1/pages/<page>/incidents[/<id>] the incidents, newest first (or one)
    GET   /statuspage-api/v1/pages/<page>/components        the components an incident named, with their status
    Every call needs "Authorization: OAuth <key>" (401 otherwise), an unknown page or incident is 404, an invalid
    incident 422. Calls that change something are recorded as above; the state lives in memory only.

Failures on demand, for retry tests:

    PUT /_fail/<path>         {"times": 2, "status": 503, "retry_after": 0}: the next `times` POST/PUT/PATCH
                              requests to /<path> answer `status` (with Retry-After when given) and are not recorded
    GET /_fail                what is armed; DELETE /_fail[/<path>] disarms
"""
import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# Statuspage's own descriptions of the page's overall indicator
DESCRIPTIONS = {"none": "All Systems Operational", "minor": "Minor Service Outage", "major": "Partial System Outage",
                "critical": "Major System Outage"}
STATUS_JSON = "/api/v2/status.json"


def status_document(name, state, base):
    """Service name's /api/v2/status.json as Atlassian Statuspage writes it."""
    indicator = state.get("indicator", "none")
    return {"page": {"id": name, "name": name, "url": "%s/statuspage/%s" % (base, name), "time_zone": "Etc/UTC",
                     "updated_at": state.get("updated_at") or time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())},
            "status": {"indicator": indicator, "description": state.get("description") or DESCRIPTIONS.get(indicator, "")}}


PD_ACTIONS = ("trigger", "acknowledge", "resolve")
PD_SEVERITIES = ("critical", "error", "warning", "info")
PAGER_PATH = "/pager"
SP_PREFIX = "/statuspage-api/v1/pages/"
SP_STATUSES = ("investigating", "identified", "monitoring", "resolved")
SP_COMPONENT_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
SP_IMPACTS = ("none", "minor", "major", "critical")
# the impact Statuspage derives from the worst component status, when none is given
SP_COMPONENT_IMPACT = {"major_outage": "critical", "partial_outage": "major", "degraded_performance": "minor"}


def iso_now(now=None):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now or time.time())) + ".000Z"


def pagerduty_event(alerts, body, now=None):
    """Apply one Events API v2 event to alerts (state by dedup_key): (HTTP status, answer)."""
    if not isinstance(body, dict):
        return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": ["not a JSON object"]}
    errors = []
    if not isinstance(body.get("routing_key"), str) or not body["routing_key"].strip():
        errors.append("'routing_key' is missing or blank")
    action = body.get("event_action")
    if action not in PD_ACTIONS:
        errors.append("'event_action' must be one of %s" % ", ".join(PD_ACTIONS))
    dedup = body.get("dedup_key")
    payload = body.get("payload")
    if action == "trigger":
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
        else:
            errors += ["'payload.%s' is missing or blank" % f for f in ("summary", "source") if not payload.get(f)]
            if payload.get("severity") not in PD_SEVERITIES:
                errors.append("'payload.severity' must be one of %s" % ", ".join(PD_SEVERITIES))
        dedup = dedup or uuid.uuid4().hex
    elif action in PD_ACTIONS and not dedup:
        errors.append("'dedup_key' is required to %s" % action)
    if errors:
        return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    alert = alerts.setdefault(dedup, {"dedup_key": dedup, "status": None, "triggers": 0, "incidents": 0, "events": []})
    if action == "trigger":
        alert["triggers"] += 1
        if alert["status"] in (None, "resolved"):   # an open alert with the same key is deduplicated
            alert.update(status="triggered", incidents=alert["incidents"] + 1, summary=payload["summary"],
                         severity=payload["severity"])
    elif action == "acknowledge" and alert["status"] == "triggered":
        alert["status"] = "acknowledged"
    elif action == "resolve" and alert["status"] in ("triggered", "acknowledged"):
        alert["status"] = "resolved"
    alert["events"].append({"time": now or time.time(), "event_action": action})
    return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup}


def statuspage_fields(fields, creating):
    """Errors of an incident's fields (Statuspage answers 422 with them)."""
    errors = []
    if not isinstance(fields, dict):
        return ["incident must be an object"]
    if creating and not str(fields.get("name") or "").strip():
        errors.append("Name can't be blank")
    if "status" in fields and fields["status"] not in SP_STATUSES:
        errors.append("Status must be one of %s" % ", ".join(SP_STATUSES))
    components = fields.get("components", {})
    if not isinstance(components, dict) or any(v not in SP_COMPONENT_STATUSES for v in components.values()):
        errors.append("Components must map component ids to one of %s" % ", ".join(SP_COMPONENT_STATUSES))
    if not isinstance(fields.get("component_ids", []), list):
        errors.append("Component ids must be a list")
    if fields.get("impact_override") not in (None,) + SP_IMPACTS:
        errors.append("Impact override must be one of %s" % ", ".join(SP_IMPACTS))
    return errors


def statuspage_apply(incident, fields, components, now=None):
    """Apply a create or update of the Statuspage API to incident (and the page's components)."""
    stamp = iso_now(now)
    changed = {}
    for cid, status in (fields.get("components") or {}).items():
        old = components.get(cid, {}).get("status", "operational")
        components[cid] = {"id": cid, "name": cid, "status": status, "updated_at": stamp}
        changed[cid] = (old, status)
    for cid in fields.get("component_ids") or []:
        components.setdefault(cid, {"id": cid, "name": cid, "status": "operational", "updated_at": stamp})
    named = list(dict.fromkeys([c["id"] for c in incident.get("components", [])] + list(fields.get("component_ids") or [])
                               + list(changed)))
    incident["components"] = [dict(components[cid]) for cid in named]
    for key in ("name", "metadata", "impact_override"):
        if key in fields:
            incident[key] = fields[key]
    worst = [SP_COMPONENT_IMPACT.get(c["status"], "none") for c in incident["components"]]
    incident["impact"] = fields.get("impact_override") or incident.get("impact_override") or \
        max(worst or ["none"], key=SP_IMPACTS.index)
    if "status" in fields or fields.get("body"):
        status = fields.get("status", incident["status"])
        incident["status"] = status
        if status == "monitoring" and not incident.get("monitoring_at"):
            incident["monitoring_at"] = stamp
        if status == "resolved" and not incident.get("resolved_at"):
            incident["resolved_at"] = stamp
        incident["incident_updates"].insert(0, {
            "id": uuid.uuid4().hex[:12], "incident_id": incident["id"], "status": status,
            "body": fields.get("body") or "", "created_at": stamp, "updated_at": stamp,
            "affected_components": [{"code": cid, "name": cid, "old_status": old, "new_status": new}
                                    for cid, (old, new) in changed.items()]})
    incident["updated_at"] = stamp
    return incident


def statuspage_api(state, method, path, headers, body, now=None):
    """One call of the Statuspage API stand-in: (HTTP status, answer, changed). state: page_id, api_key,
    incidents (by id), components (by id)."""
    auth = str(headers.get("Authorization") or "")
    scheme, _sep, key = auth.partition(" ")
    if scheme.lower() != "oauth" or not state.get("api_key") or key.strip() != state["api_key"]:
        return 401, {"error": "Could not authenticate"}, False
    parts = path[len(SP_PREFIX):].strip("/").split("/")
    if parts[0] != state.get("page_id") or len(parts) < 2 or parts[1] not in ("incidents", "components") or len(parts) > 3:
        return 404, {"error": "Not found"}, False
    if parts[1] == "components":
        if method != "GET" or len(parts) != 2:
            return 405, {"error": "Method not allowed"}, False
        return 200, sorted(state["components"].values(), key=lambda c: c["id"]), False
    incidents = state["incidents"]
    if len(parts) == 2:
        if method == "GET":
            return 200, sorted(incidents.values(), key=lambda i: i["_seq"], reverse=True), False
        if method != "POST":
            return 405, {"error": "Method not allowed"}, False
        fields = (body or {}).get("incident") if isinstance(body, dict) else None
        errors = statuspage_fields(fields, creating=True)
        if errors:
            return 422, {"error": errors}, False
        stamp = iso_now(now)
        incident_id = uuid.uuid4().hex[:12]
        incident = {"id": incident_id, "page_id": state["page_id"], "name": "", "status": "investigating",
                    "impact": "none", "created_at": stamp, "updated_at": stamp, "monitoring_at": None,
                    "resolved_at": None, "shortlink": "http://stspg.io/%s" % incident_id, "metadata": {},
                    "components": [], "incident_updates": [], "_seq": len(incidents)}
        statuspage_apply(incident, dict(fields, status=fields.get("status") or "investigating"), state["components"], now)
        incidents[incident_id] = incident
        return 201, incident, True
    incident = incidents.get(parts[2])
    if incident is None:
        return 404, {"error": "Not found"}, False
    if method == "GET":
        return 200, incident, False
    if method not in ("PATCH", "PUT"):
        return 405, {"error": "Method not allowed"}, False
    fields = (body or {}).get("incident") if isinstance(body, dict) else None
    errors = statuspage_fields(fields, creating=False)
    if errors:
        return 422, {"error": errors}, False
    return 200, statuspage_apply(incident, fields, state["components"], now), True


def public(answer):
    """A copy of an answer of the Statuspage stand-in without its private keys (_seq)."""
    if isinstance(answer, list):
        return [public(item) for item in answer]
    if isinstance(answer, dict):
        return {k: public(v) for k, v in answer.items() if not k.startswith("_")}
    return answer


def make_handler(records, lock, log_path, pages=None, statuspage=None):
    pages = {} if pages is None else pages
    statuspage = dict(statuspage or {}, incidents={}, components={})
    alerts = {}      # PagerDuty, by dedup_key
    failures = {}    # path -> {"times", "status", "retry_after"}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            return

        def reply(self, code, body, headers=None):
            data = json.dumps(body, default=str).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def read_body(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                return json.loads(raw or b"null")
            except ValueError:
                return raw.decode("utf-8", "replace")

        def record(self, path, body):
            record = {"time": time.time(), "method": self.command, "path": path, "body": body,
                      "content_type": self.headers.get("Content-Type")}
            with lock:
                records.append(record)
                with open(log_path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")

        def injected_failure(self, path):
            """Answer with an armed failure of path (PUT /_fail/<path>); True when it did."""
            with lock:
                armed = failures.get(path)
                if not armed:
                    return False
                armed["times"] -= 1
                if armed["times"] <= 0:
                    failures.pop(path, None)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            extra = {"Retry-After": str(armed["retry_after"])} if armed.get("retry_after") is not None else {}
            self.reply(int(armed["status"]), {"error": "failure injected by the lab"}, extra)
            return True

        def do_POST(self):
            path = urlparse(self.path).path
            if self.injected_failure(path):
                return
            body = self.read_body()
            if path.startswith(SP_PREFIX):
                with lock:
                    code, answer, changed = statuspage_api(statuspage, self.command, path, self.headers, body)
                    answer = public(answer)
                if changed:
                    self.record(path, body)
                self.reply(code, answer)
                return
            self.record(path, body)
            if path == PAGER_PATH or path.startswith(PAGER_PATH + "/"):
                with lock:
                    code, answer = pagerduty_event(alerts, body)
                self.reply(code, answer)
                return
            self.reply(200, {"ok": True})

        def do_PATCH(self):
            self.do_POST()

        def arm_failure(self, path):
            body = self.read_body()
            target = "/" + path[len("/_fail/"):].strip("/")
            try:
                armed = {"times": int(body.get("times", 1)), "status": int(body.get("status", 503)),
                         "retry_after": body.get("retry_after")}
            except (AttributeError, TypeError, ValueError):
                self.reply(400, {"error": 'PUT /_fail/<path> with {"times": N, "status": S, "retry_after": s}'})
                return
            with lock:
                failures[target] = armed
            self.reply(200, dict(armed, path=target))

        def do_PUT(self):
            path = urlparse(self.path).path
            if path.startswith("/_fail/"):
                self.arm_failure(path)
                return
            if not path.startswith("/_statuspage/"):
                self.do_POST()
                return
            name = path[len("/_statuspage/"):].strip("/")
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            if not name or "/" in name or not isinstance(body, dict):
                self.reply(400, {"error": "PUT /_statuspage/<name> with a JSON object"})
                return
            state = {"indicator": str(body.get("indicator") or "none"), "description": body.get("description"),
                     "http_status": body.get("http_status"),
                     "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
            with lock:
                pages[name] = state
            self.reply(200, dict(state, name=name))

        def status_page(self, path):
            name = path[len("/statuspage/"):-len(STATUS_JSON)].strip("/")
            if not name or "/" in name:
                self.reply(404, {"error": "not found"})
                return
            with lock:
                state = dict(pages.get(name) or {})
            if state.get("http_status"):
                data = b"status page unavailable\n"
                self.send_response(int(state["http_status"]))
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            host, port = self.server.server_address[:2]
            self.reply(200, status_document(name, state, "http://%s:%s" % (host, port)))

        def do_GET(self):
            url = urlparse(self.path)
            if url.path.startswith("/statuspage/") and url.path.endswith(STATUS_JSON):
                self.status_page(url.path)
            elif url.path == "/_statuspage":
                with lock:
                    self.reply(200, dict(pages))
            elif url.path == "/_received":
                wanted = parse_qs(url.query).get("path", [None])[0]
                with lock:
                    out = [r for r in records if wanted is None or r["path"] == wanted]
                self.reply(200, out)
            elif url.path == "/health":
                self.reply(200, {"status": "ok"})
            elif url.path.startswith(SP_PREFIX):
                with lock:
                    code, answer, _changed = statuspage_api(statuspage, "GET", url.path, self.headers, None)
                    answer = public(answer)
                self.reply(code, answer)
            elif url.path.rstrip("/") == "/_pagerduty":
                with lock:
                    self.reply(200, json.loads(json.dumps(alerts)))
            elif url.path.startswith("/_pagerduty/"):
                with lock:
                    alert = json.loads(json.dumps(alerts.get(url.path[len("/_pagerduty/"):])))
                self.reply(200 if alert else 404, alert or {"error": "no event with this dedup_key"})
            elif url.path.rstrip("/") == "/_fail":
                with lock:
                    self.reply(200, dict(failures))
            else:
                self.reply(404, {"error": "not found"})

        def do_DELETE(self):
            path = urlparse(self.path).path
            if path == "/_received":
                with lock:
                    records.clear()
                self.reply(200, {"ok": True})
            elif path.rstrip("/") == "/_statuspage":
                with lock:
                    pages.clear()
                self.reply(200, {"ok": True})
            elif path.startswith("/_statuspage/"):
                with lock:
                    pages.pop(path[len("/_statuspage/"):].strip("/"), None)
                self.reply(200, {"ok": True})
            elif path.rstrip("/") == "/_fail":
                with lock:
                    failures.clear()
                self.reply(200, {"ok": True})
            elif path.startswith("/_fail/"):
                with lock:
                    failures.pop("/" + path[len("/_fail/"):].strip("/"), None)
                self.reply(200, {"ok": True})
            else:
                self.reply(404, {"error": "not found"})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18099)
    parser.add_argument("--log", default="webhook-sink.jsonl")
    parser.add_argument("--statuspage-page", default="", help="the page id the Statuspage API stand-in serves")
    parser.add_argument("--statuspage-key", default="", help="its API key (Authorization: OAuth <key>)")
    args = parser.parse_args()
    statuspage = {"page_id": args.statuspage_page, "api_key": args.statuspage_key}
    server = ThreadingHTTPServer((args.host, args.port),
                                 make_handler([], threading.Lock(), args.log, statuspage=statuspage))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
