# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Side-by-side benchmark of purging session keys from Redis (issue 5).

Starts its own redis-server on a free port in a temporary directory (never the lab), fills
it with N ``session:*`` keys among 2N keys, and for each method measures:

  * wall time of the whole command (for the module: Ansible start-up included),
  * the worst server-side stall (``latency-monitor-threshold 1`` then ``LATENCY LATEST``),
  * the longest PING round trip seen by a client pinging in a loop meanwhile,
  * the peak RSS of the largest process the command ran (for the module: Ansible's
    controller process and the module process, whichever is larger),
  * whether every session key is gone and every other key is still there.

Methods: the runbook's ``redis-cli KEYS | xargs redis-cli DEL``, ``redis-cli --scan | xargs
redis-cli UNLINK``, and ``ansible localhost -m clickview.runbook.session_purge``.

Run from the repository (after ``make venv collection``):

    .venv/bin/python benchmarks/session_purge.py              # 1M sessions among 2M keys
    .venv/bin/python benchmarks/session_purge.py --sessions 100000 --repeat 3
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Server(object):
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix='session-purge-bench-')
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, '--port', str(self.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
             '--dir', self.dir, '--enable-debug-command', 'yes', '--daemonize', 'no'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = redis.Redis(port=self.port, socket_timeout=120)
        for dummy in range(100):
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


class Pinger(threading.Thread):
    """PINGs in a loop on its own connection and remembers the slowest answer."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.client = redis.Redis(port=port, socket_timeout=60)
        self.stop_flag = threading.Event()
        self.worst = 0.0
        self.count = 0

    def run(self):
        while not self.stop_flag.is_set():
            start = time.perf_counter()
            self.client.ping()
            self.worst = max(self.worst, time.perf_counter() - start)
            self.count += 1
            time.sleep(0.0005)

    def stop(self):
        self.stop_flag.set()
        self.join()


def seed(client, sessions, others):
    client.flushall()
    # DEBUG POPULATE creates "<prefix>:<n>" string keys inside the server, in seconds
    client.execute_command('DEBUG', 'POPULATE', sessions, 'session', 64)
    client.execute_command('DEBUG', 'POPULATE', others, 'cache', 64)
    # neighbours that must survive
    client.mset({'sessions:1': 'x', 'session': 'x', 'cache:session:1': 'x', 'Session:1': 'x'})
    assert client.dbsize() == sessions + others + 4


def run_measured(cmd, env, shell=False):
    """Run cmd in a wrapper that reports the peak RSS (KiB) of its largest descendant."""
    wrapper = ('import resource, subprocess, sys, json\n'
               'rc = subprocess.call(json.loads(sys.argv[1]), shell=%r)\n'
               'sys.stderr.write("\\nPEAK_RSS_KIB=%%d\\n" %% resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n'
               'sys.exit(rc)\n' % shell)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, '-c', wrapper, json.dumps(cmd)], env=env, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    peak = 0
    for line in proc.stderr.splitlines():
        if line.startswith('PEAK_RSS_KIB='):
            peak = int(line.split('=', 1)[1])
    if proc.returncode != 0:
        sys.stderr.write('command failed (rc=%d): %s\n%s\n%s\n'
                         % (proc.returncode, cmd, proc.stdout[-3000:], proc.stderr[-3000:]))
    return wall, peak, proc


def methods(port, batch_size, cli):
    module_args = json.dumps(dict(host='127.0.0.1', port=port, pattern='session:*', batch_size=batch_size))
    return [
        ('runbook: KEYS | xargs DEL',
         "%s -p %d KEYS 'session:*' | xargs %s -p %d DEL > /dev/null" % (cli, port, cli, port), True),
        ('redis-cli --scan | xargs UNLINK',
         "%s -p %d --scan --pattern 'session:*' | xargs %s -p %d UNLINK > /dev/null" % (cli, port, cli, port), True),
        ('ansible -m session_purge (batch %d)' % batch_size,
         [str(BIN / 'ansible'), 'localhost', '-i', 'localhost,', '-c', 'local', '-o',
          '-e', 'ansible_python_interpreter=%s' % sys.executable,
          '-m', 'clickview.runbook.session_purge', '-a', module_args], False),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sessions', type=int, default=1000000, help='session:* keys (as many other keys are added)')
    parser.add_argument('--batch-size', type=int, default=1000, help='batch_size given to the module')
    parser.add_argument('--repeat', type=int, default=1, help='runs of each method (the best wall time is shown)')
    parser.add_argument('--redis-server', default=shutil.which('redis-server') or '/usr/bin/redis-server')
    parser.add_argument('--redis-cli', default=shutil.which('redis-cli') or '/usr/bin/redis-cli')
    args = parser.parse_args()

    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(ROOT / '.collections'), ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'),
               ANSIBLE_NOCOLOR='1', PATH='%s:%s' % (BIN, env.get('PATH', '')))
    if not (ROOT / '.collections' / 'ansible_collections' / 'clickview' / 'runbook').exists():
        sys.exit('run `make collection` first: .collections/ansible_collections/clickview/runbook is missing')

    server = Server(args.redis_server)
    rows = []
    try:
        client = server.client
        baseline = time.perf_counter()
        subprocess.run([str(BIN / 'ansible'), 'localhost', '-i', 'localhost,', '-c', 'local', '-o', '-m', 'ping',
                        '-e', 'ansible_python_interpreter=%s' % sys.executable], env=env, capture_output=True, check=True)
        ansible_ping = time.perf_counter() - baseline
        for name, cmd, shell in methods(server.port, args.batch_size, args.redis_cli):
            best = None
            for dummy in range(args.repeat):
                seed(client, args.sessions, args.sessions)
                client.config_set('latency-monitor-threshold', 1)
                client.execute_command('LATENCY', 'RESET')
                pinger = Pinger(server.port)
                pinger.start()
                wall, peak, proc = run_measured(cmd, env, shell=shell)
                pinger.stop()
                latest = client.execute_command('LATENCY', 'LATEST') or []
                stall = max([int(event[3]) for event in latest] or [0])
                left = sum(1 for dummy in client.scan_iter(match='session:*', count=10000))
                survivors = client.dbsize() - left
                ok = proc.returncode == 0 and left == 0 and survivors == args.sessions + 4
                row = dict(name=name, wall=wall, stall=stall, ping=pinger.worst * 1000, pings=pinger.count,
                           rss=peak / 1024.0, ok=ok)
                if best is None or row['wall'] < best['wall']:
                    best = row
            rows.append(best)
    finally:
        server.stop()

    print()
    print('%d session:* keys among %d keys, redis-server on 127.0.0.1:%d (own instance); '
          '`ansible localhost -m ping` takes %.2f s' % (args.sessions, 2 * args.sessions + 4, server.port, ansible_ping))
    print()
    header = ('method', 'wall s', 'vs runbook', 'worst stall ms', 'worst PING ms', 'peak RSS MB', 'result')
    print('| %-36s | %7s | %10s | %14s | %13s | %11s | %-6s |' % header)
    print('|%s|' % '|'.join('-' * (len(h) + 2) if i else '-' * 38 for i, h in enumerate(
        ['x' * 36, 'x' * 7, 'x' * 10, 'x' * 14, 'x' * 13, 'x' * 11, 'x' * 6])))
    reference = rows[0]['wall']
    for row in rows:
        print('| %-36s | %7.2f | %9.2fx | %14d | %13.1f | %11.0f | %-6s |' % (
            row['name'], row['wall'], row['wall'] / reference, row['stall'], row['ping'], row['rss'],
            'ok' if row['ok'] else 'WRONG'))
    print()
    print('worst stall: LATENCY LATEST after each run (latency-monitor-threshold 1 ms); '
          'worst PING: slowest reply seen by a client pinging meanwhile; '
          'result ok = every session:* key gone, every other key (neighbours included) still there.')
    return 0 if all(row['ok'] for row in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
