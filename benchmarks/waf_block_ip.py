#!/usr/bin/env python
# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Blocking N addresses in a WAFv2 IP set, side by side, against a moto server of its own.

  * script loop      - one boto3 process, per address GetIPSet + UpdateIPSet (what waf-block-ip.sh does)
  * wafv2_ip_set     - community.aws.wafv2_ip_set, one `ansible` process, the whole list passed in
  * waf_block_ip     - clickview.runbook.waf_block_ip, one `ansible` process
  * ansible -m ping  - the same `ansible` command running ping: Ansible's own share of the wall time

Each round runs every approach once, in turn, on a fresh IP set; the table gives the median and the
spread (min-max) over the rounds, and the load average before and after.  Then K parallel
`ansible` runs, each adding its own address, with each module: how many land.
API calls are counted by a counting proxy in front of moto (every HTTP request, retries included).
moto runs on a free port of 127.0.0.1, started here, so other users of the machine's moto neither
slow these runs nor are slowed by them.  Prints a table; it is a measurement, not a test.  Usage:

  .venv/bin/python benchmarks/waf_block_ip.py [--addresses 1000] [--repeat 5] [--parallel 10]
"""
import argparse
import atexit
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
ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
MOTO = ["127.0.0.1", 0]  # set by start_moto()
CREDS = dict(region_name="us-east-1", aws_access_key_id="AKIDBENCHMARK0000000", aws_secret_access_key="bench-secret-key")


def start_moto():
    """A moto server of our own on a free port; stopped when the benchmark exits."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        MOTO[1] = sock.getsockname()[1]
    log = tempfile.TemporaryFile()  # pylint: disable=consider-using-with
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", MOTO[0], "-p", str(MOTO[1])],  # pylint: disable=consider-using-with
                            stdout=log, stderr=log)
    atexit.register(lambda: (proc.terminate(), proc.wait(timeout=30)))
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(tuple(MOTO), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("moto_server did not start on port %d" % MOTO[1])


def loadavg():
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            return " ".join(handle.read().split()[:3])
    except OSError:
        return "unknown"


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


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
        upstream = http.client.HTTPConnection(MOTO[0], MOTO[1], timeout=60)
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
    return len(client("http://%s:%d" % tuple(MOTO)).get_ip_set(Name=name, Scope="REGIONAL", Id=set_id)["IPSet"]["Addresses"])


def delete(name, set_id):
    waf = client("http://%s:%d" % tuple(MOTO))
    token = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=set_id)["LockToken"]
    waf.delete_ip_set(Name=name, Scope="REGIONAL", Id=set_id, LockToken=token)


def script_loop(endpoint, name, set_id, addresses):
    waf = client(endpoint)
    for address in addresses:
        got = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=set_id)
        current = got["IPSet"]["Addresses"]
        if address not in current:
            waf.update_ip_set(Name=name, Scope="REGIONAL", Id=set_id, Addresses=current + [address], LockToken=got["LockToken"])


def adhoc(module, args):
    """One `ansible localhost -m module` process; returns (seconds, result)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
               ANSIBLE_PYTHON_INTERPRETER=str(BIN / "python"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", PATH="%s:%s" % (BIN, os.environ.get("PATH", "")))
    cmd = [str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", module]
    if args is not None:
        cmd += ["-a", json.dumps(args)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
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
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the single-batch comparison")
    parser.add_argument("--parallel", type=int, default=10, help="parallel runs (0: skip)")
    opts = parser.parse_args()
    addresses = ["198.%d.%d.%d/32" % (18 + i // 65536, (i // 256) % 256, i % 256) for i in range(opts.addresses)]
    load_before = loadavg()
    start_moto()
    direct = "http://%s:%d" % tuple(MOTO)
    proxy = CountingProxy()
    approaches = [
        ("script loop: get+update per address (boto3)", lambda e, n, i: script_loop(e, n, i, addresses)),
        ("community.aws.wafv2_ip_set (ansible)",
         lambda e, n, i: adhoc("community.aws.wafv2_ip_set", community_args(e, n, addresses))[1].get("failed")),
        ("clickview.runbook.waf_block_ip (ansible)",
         lambda e, n, i: adhoc("clickview.runbook.waf_block_ip", ours_args(e, n, addresses))[1].get("failed")),
    ]

    def once(func, endpoint):
        name, set_id = new_set(direct)
        proxy.count = 0
        start = time.perf_counter()
        failed = func(endpoint, name, set_id)
        seconds = time.perf_counter() - start
        landed = count(name, set_id)
        delete(name, set_id)
        return seconds, proxy.count, landed, failed

    times = dict((label, []) for label, dummy in approaches)
    landed_ok = dict((label, True) for label, dummy in approaches)
    pings = []
    for dummy in range(opts.repeat):
        pings.append(adhoc("ansible.builtin.ping", None)[0])
        for label, func in approaches:  # timed straight against moto
            seconds, dummy, landed, failed = once(func, direct)
            times[label].append(seconds)
            landed_ok[label] = landed_ok[label] and landed == opts.addresses and not failed
    rows = [("ansible -m ping (Ansible alone)", "0", "%.2f" % median(pings), "%.2f-%.2f" % (min(pings), max(pings)), "0", "")]
    for label, func in approaches:  # once more through the proxy, to count the calls
        dummy, calls, landed, failed = once(func, proxy.url)
        ok = landed_ok[label] and landed == opts.addresses and not failed
        rows.append((label, "%d" % opts.addresses, "%.2f" % median(times[label]),
                     "%.2f-%.2f" % (min(times[label]), max(times[label])), "%d" % calls,
                     "%d/%d landed in every run" % (opts.addresses, opts.addresses) if ok else "NOT ALL LANDED"))

    for label, module, build in [("community.aws.wafv2_ip_set", "community.aws.wafv2_ip_set", community_args),
                                 ("clickview.runbook.waf_block_ip", "clickview.runbook.waf_block_ip", ours_args)]:
        if not opts.parallel:
            break
        name, set_id = new_set(proxy.url)
        proxy.count = 0
        results = [None] * opts.parallel

        def one(k, module=module, build=build, name=name):
            results[k] = adhoc(module, build(proxy.url, name, ["203.0.113.%d/32" % (k + 1)]))[1]

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
                     "", "%d" % proxy.count, "%d/%d landed, %d failed%s" % (count(name, set_id), opts.parallel, failed,
                                                                            ", %d lock retries" % retries if "runbook" in module else "")))
        delete(name, set_id)

    headers = ("approach", "addresses", "wall s median", "min-max", "API calls", "result")
    print("\n%d rounds; load average %s before, %s after; moto_server of its own at %s"
          % (opts.repeat, load_before, loadavg(), direct))
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for dummy in headers) + "|")
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |")
    print("\nSingle-batch rows: wall time of the whole process (for the modules: the whole `ansible` process, "
          "Ansible's start-up included), straight against moto; API calls counted on one more run through a counting "
          "proxy. Parallel rows: once, through the proxy.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
