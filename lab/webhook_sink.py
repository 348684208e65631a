"""Webhook sink for the lab: records every POST (chat channel, pager, status page stand-ins).

    POST /<anything>          recorded with its path, headers and JSON (or text) body
    GET  /_received[?path=P]  the recorded requests, oldest first (optionally only path P)
    DELETE /_received         forget everything recorded

Records are kept in memory and appended to a JSON-lines file so they survive for inspection.
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def make_handler(records, lock, log_path):
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

        do_PUT = do_POST

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/_received":
                wanted = parse_qs(url.query).get("path", [None])[0]
                with lock:
                    out = [r for r in records if wanted is None or r["path"] == wanted]
                self.reply(200, out)
            elif url.path == "/health":
                self.reply(200, {"status": "ok"})
            else:
                self.reply(404, {"error": "not found"})

        def do_DELETE(self):
            if urlparse(self.path).path == "/_received":
                with lock:
                    records.clear()
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
