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
"""
import argparse
import json
import threading
import time
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


def make_handler(records, lock, log_path, pages=None):
    pages = {} if pages is None else pages

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            return

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = raw.decode("utf-8", "replace")
            record = {"time": time.time(), "path": urlparse(self.path).path, "body": body,
                      "content_type": self.headers.get("Content-Type")}
            with lock:
                records.append(record)
                with open(log_path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")
            self.reply(200, {"ok": True})

        def do_PUT(self):
            path = urlparse(self.path).path
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
            else:
                self.reply(404, {"error": "not found"})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18099)
    parser.add_argument("--log", default="webhook-sink.jsonl")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), make_handler([], threading.Lock(), args.log))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
