#!/usr/bin/env python
# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Blocking N addresses in a WAFv2 IP set, side by side, against the lab's moto server.

  * script loop      - one boto3 process, per address GetIPSet + UpdateIPSet (what waf-block-ip.sh does)
  * wafv2_ip_set     - community.aws.wafv2_ip_set, one ansible-playbook process, the whole list passed in
  * waf_block_ip     - clickview.runbook.waf_block_ip, one ansible-playbook process

Then K parallel ansible-playbook runs, each adding its own address, with each module: how many land.
API calls are counted by a counting proxy in front of moto (every HTTP request, retries included).
Prints a table; it is a measurement, not a test.  Usage:

  .venv/bin/python benchmarks/waf_block_ip.py [--addresses 1000] [--parallel 10]
"""
import argparse
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
LAB = yaml.safe_load((ROOT / "lab" / "lab.yml").read_text(encoding="utf-8"))
MOTO = (LAB["host"], LAB["services"]["moto"]["port"])
CREDS = dict(region_name=LAB["aws"]["region"], aws_access_key_id=LAB["aws"]["access_key"],
             aws_secret_access_key=LAB["aws"]["secret_key"])


class CountingProxy(http.server.ThreadingHTTPServer):
    """Forwards every request to moto and counts them."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_port


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):  # noqa: N802  pylint: disable=invalid-name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.count += 1
        upstream = http.client.HTTPConnection(*MOTO, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request("POST", self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


def client(endpoint):
    return boto3.client("wafv2", endpoint_url=endpoint, **CREDS)


def new_set(endpoint):
    name = "bench-%s" % uuid.uuid4().hex[:10]
    summary = client(endpoint).create_ip_set(Name=name, Scope="REGIONAL", IPAddressVersion="IPV4", Addresses=[])["Summary"]
    return name, summary["Id"]


def count(name, set_id):
    return len(client("http://%s:%d" % MOTO).get_ip_set(Name=name, Scope="REGIONAL", Id=set_id)["IPSet"]["Addresses"])


def delete(name, set_id):
    waf = client("http://%s:%d" % MOTO)
    token = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=set_id)["LockToken"]
    waf.delete_ip_set(Name=name, Scope="REGIONAL", Id=set_id, LockToken=token)


def script_loop(endpoint, name, set_id, addresses):
    waf = client(endpoint)
    for address in addresses:
        got = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=set_id)
        current = got["IPSet"]["Addresses"]
        if address not in current:
            waf.update_ip_set(Name=name, Scope="REGIONAL", Id=set_id, Addresses=current + [address], LockToken=got["LockToken"])


def playbook(module, args):
    """One ansible-playbook process running one task; returns (seconds, ok)."""
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": [{"name": "bench", module: args}]}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        yaml.safe_dump(play, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
               ANSIBLE_PYTHON_INTERPRETER=str(BIN / "python"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               PATH="%s:%s" % (BIN, os.environ.get("PATH", "")))
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", handle.name], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    os.unlink(handle.name)
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        result = {"failed": True, "msg": proc.stdout[-300:] + proc.stderr[-300:]}
    return seconds, result


def conn(endpoint):
    return dict(region=CREDS["region_name"], endpoint_url=endpoint, access_key=CREDS["aws_access_key_id"],
                secret_key=CREDS["aws_secret_access_key"])


def community_args(endpoint, name, addresses):
    return dict(conn(endpoint), name=name, scope="REGIONAL", state="present", ip_address_version="IPV4",
                addresses=addresses, purge_addresses=False)


def ours_args(endpoint, name, addresses):
    return dict(conn(endpoint), ip_sets=[name], addresses=addresses)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--addresses", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=10)
    opts = parser.parse_args()
    addresses = ["198.%d.%d.%d/32" % (18 + i // 65536, (i // 256) % 256, i % 256) for i in range(opts.addresses)]
    proxy = CountingProxy()
    rows = []

    direct = "http://%s:%d" % MOTO

    def measure(label, func):
        """Timed straight against moto; run again on a fresh set through the proxy to count the calls."""
        outcome = {}
        for endpoint in (direct, proxy.url):
            name, set_id = new_set(direct)
            proxy.count = 0
            start = time.perf_counter()
            failed = func(endpoint, name, set_id)
            outcome[endpoint] = (time.perf_counter() - start, proxy.count, count(name, set_id), failed)
            delete(name, set_id)
        seconds, landed, failed = outcome[direct][0], outcome[direct][2], outcome[direct][3]
        calls = outcome[proxy.url][1]
        rows.append((label, "%d" % opts.addresses, "%.2f" % seconds, "%d" % calls,
                     "%d/%d landed%s" % (landed, opts.addresses, " FAILED" if failed else "")))

    measure("script loop: get+update per address (boto3)", lambda e, n, i: script_loop(e, n, i, addresses))
    measure("community.aws.wafv2_ip_set (ansible-playbook)",
            lambda e, n, i: playbook("community.aws.wafv2_ip_set", community_args(e, n, addresses))[1].get("failed"))
    measure("clickview.runbook.waf_block_ip (ansible-playbook)",
            lambda e, n, i: playbook("clickview.runbook.waf_block_ip", ours_args(e, n, addresses))[1].get("failed"))

    for label, module, build in [("community.aws.wafv2_ip_set", "community.aws.wafv2_ip_set", community_args),
                                 ("clickview.runbook.waf_block_ip", "clickview.runbook.waf_block_ip", ours_args)]:
        name, set_id = new_set(proxy.url)
        proxy.count = 0
        results = [None] * opts.parallel

        def one(k, module=module, build=build, name=name):
            results[k] = playbook(module, build(proxy.url, name, ["203.0.113.%d/32" % (k + 1)]))[1]

        threads = [threading.Thread(target=one, args=(k,)) for k in range(opts.parallel)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - start
        failed = sum(1 for r in results if r.get("failed"))
        retries = sum(r.get("lock_retries", 0) for r in results if not r.get("failed"))
        rows.append(("%d parallel runs, 1 address each: %s" % (opts.parallel, label), "%d" % opts.parallel, "%.2f" % seconds,
                     "%d" % proxy.count, "%d/%d landed, %d failed%s" % (count(name, set_id), opts.parallel, failed,
                                                                        ", %d lock retries" % retries if "runbook" in module else "")))
        delete(name, set_id)

    headers = ("approach", "addresses", "wall s", "API calls", "result")
    widths = [max(len(str(r[c])) for r in rows + [headers]) for c in range(len(headers))]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    print("\nmoto at http://%s:%d. Single-batch rows: wall s measured straight against moto, API calls counted on a second run"
          " through a counting proxy. Parallel rows: through the proxy. Ansible rows time the whole ansible-playbook process." % MOTO)
    return 0


if __name__ == "__main__":
    sys.exit(main())
