# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Side-by-side benchmark of clearing stuck PostgreSQL backends (issue 4).

Starts its own PostgreSQL 15 cluster in a temporary directory on a free port (never the lab;
max_connections=400 so that 300 stuck backends fit), then for each round opens N connections
running ``SELECT pg_sleep(600)`` and clears them with:

  * psql       - the runbook's one-liner, corrected (pg_stat_activity has no duration column):
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE state = 'active' AND now() - query_start > interval '1 second' ...
  * module     - ``ansible localhost -m clickview.runbook.pg_terminate_long_queries`` (action=terminate;
                 it also waits until the backends have left pg_stat_activity)
  * default    - the same module with its default action, cancel_then_terminate (grace period 5 s): it
                 cancels, polls the cancelled backends and terminates only those still running, so when
                 every cancel works it costs no more than terminate
  * ping       - ``ansible localhost -m ping``: Ansible's own start-up, for reference

It prints wall times (median of --repeat rounds), checks that every stuck backend ended, and
compares with the target, for each action: module <= psql + ping + 0.2 s, and <= 2 s in all, at 30 and at
300 stuck backends. Not a timed test.

Run from the repository (after ``make venv collection``):

    .venv/bin/python benchmarks/pg_terminate_long_queries.py
    .venv/bin/python benchmarks/pg_terminate_long_queries.py --backends 300 --repeat 5
    .venv/bin/python benchmarks/pg_terminate_long_queries.py --backends 30 300
"""

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
APP = 'bench-stuck'
MODULE = 'clickview.runbook.pg_terminate_long_queries'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    candidate = Path('/usr/lib/postgresql/15/bin') / name
    if candidate.exists():
        return str(candidate)
    sys.exit('%s not found (install postgresql-15)' % name)


class Cluster(object):
    """A throwaway cluster; as root it runs as the postgres account (PostgreSQL refuses root)."""

    def __init__(self, max_connections):
        self.dir = Path(tempfile.mkdtemp(prefix='bench-pg-'))
        self.port = free_port()
        self.max_connections = max_connections
        self.user = pwd.getpwnam('postgres') if os.geteuid() == 0 else None

    def _run(self, cmd):
        kwargs = {}
        if self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
        if result.returncode != 0:
            sys.exit('%s failed:\n%s%s' % (cmd[0], result.stdout, result.stderr))

    def start(self):
        if self.user is not None:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        data = self.dir / 'data'
        self._run([pg_bin('initdb'), '-D', str(data), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'])
        self._run([pg_bin('pg_ctl'), '-D', str(data), '-l', str(self.dir / 'log'), '-w', 'start', '-o',
                   '-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=%d -c shared_buffers=64MB'
                   % (self.port, self.dir, self.max_connections)])
        with connect(self.port, 'bench-setup', user='postgres') as conn, conn.cursor() as cur:
            cur.execute('CREATE ROLE bench_app LOGIN')  # stuck backends must not be superuser ones

    def stop(self):
        self._run([pg_bin('pg_ctl'), '-D', str(self.dir / 'data'), '-m', 'immediate', 'stop'])
        shutil.rmtree(self.dir, ignore_errors=True)


def connect(port, app, user='postgres'):
    conn = psycopg2.connect(host='127.0.0.1', port=port, user=user, dbname='postgres', application_name=app)
    conn.autocommit = True
    return conn


def stuck_backends(port, count):
    """Open ``count`` connections each running pg_sleep(600); return once all are active."""
    conns = [connect(port, APP, user='bench_app') for _index in range(count)]

    def sleep_on(conn):
        try:
            with conn.cursor() as cur:
                cur.execute('SELECT pg_sleep(600)')
        except psycopg2.Error:
            pass

    threads = [threading.Thread(target=sleep_on, args=(conn,), daemon=True) for conn in conns]
    for thread in threads:
        thread.start()
    while remaining(port) < count:
        time.sleep(0.05)
    time.sleep(1.1)  # older than the 1 s threshold used by every method
    return conns, threads


def clear(port):
    with connect(port, 'bench-observer') as conn, conn.cursor() as cur:
        cur.execute('SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s', (APP,))


def remaining(port):
    with connect(port, 'bench-observer') as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND state = 'active'", (APP,))
        return cur.fetchone()[0]


def left_stuck(port, settle=2.0):
    """Backends still running the stuck query once a signalled process had ``settle`` seconds to exit (the psql
    one-liner returns as soon as it has signalled; counting at once would count processes on their way out)."""
    deadline = time.monotonic() + settle
    while True:
        count = remaining(port)
        if not count or time.monotonic() >= deadline:
            return count
        time.sleep(0.05)


def ansible_env():
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=str(ROOT / 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=str(ROOT / '.collections'),
               ANSIBLE_PYTHON_INTERPRETER=str(BIN / 'python'), PATH='%s:%s' % (BIN, env.get('PATH', '')),
               ANSIBLE_NOCOLOR='1')
    return env


def timed(cmd, env=None):
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit('command failed (%s):\n%s%s' % (' '.join(cmd[:4]), result.stdout, result.stderr))
    return wall


def psql_oneliner(port):
    sql = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE state = 'active' "
           "AND now() - query_start > interval '1 second' AND pid <> pg_backend_pid() "
           "AND backend_type = 'client backend' AND application_name = '%s'" % APP)
    return [pg_bin('psql'), '-X', '-h', '127.0.0.1', '-p', str(port), '-U', 'postgres', '-d', 'postgres', '-Atc', sql]


def module_command(port, count, action='terminate'):
    args = dict(login_host='127.0.0.1', login_port=port, login_user='postgres', login_db='postgres', min_duration='1s',
                include_applications=[APP], action=action, max_backends=count)
    return [str(BIN / 'ansible'), 'localhost', '-i', 'localhost,', '-c', 'local', '-m', MODULE, '-a', json.dumps(args)]


METHODS = (('psql', 'psql one-liner (corrected runbook SQL)'), ('module', 'module, action=terminate'),
           ('default', 'module, default cancel_then_terminate'))


def measure(cluster, count, repeat, env):
    """{method: median wall}, {method: most backends left stuck} for ``count`` stuck backends."""
    commands = {'psql': psql_oneliner(cluster.port), 'module': module_command(cluster.port, count),
                'default': module_command(cluster.port, count, 'cancel_then_terminate')}
    walls = dict((method, []) for method in list(commands) + ['ping'])
    left = dict((method, 0) for method in commands)
    for _round in range(repeat):
        for method, cmd in commands.items():
            conns, threads = stuck_backends(cluster.port, count)
            walls[method].append(timed(cmd, env=env))
            left[method] = max(left[method], left_stuck(cluster.port))
            clear(cluster.port)
            for thread in threads:
                thread.join(timeout=10)
            for conn in conns:
                conn.close()
        walls['ping'].append(timed([str(BIN / 'ansible'), 'localhost', '-i', 'localhost,', '-c', 'local', '-m', 'ping'], env=env))
    return dict((method, statistics.median(values)) for method, values in walls.items()), left


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backends', type=int, nargs='+', default=[30, 300])
    parser.add_argument('--repeat', type=int, default=3)
    opts = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_args: sys.exit('terminated'))  # still stop the cluster
    cluster = Cluster(max_connections=max(opts.backends) + 50)
    cluster.start()
    env = ansible_env()
    results = []
    try:
        for count in opts.backends:
            results.append((count,) + measure(cluster, count, opts.repeat, env))
    finally:
        cluster.stop()

    ok = True
    print('median of %d round(s); target: module <= psql + ping + 0.2 s and <= 2 s' % opts.repeat)
    print('%8s  %-40s %10s %12s %10s' % ('backends', 'method', 'wall (s)', 'left stuck', 'target'))
    for count, median, left in results:
        budget = min(median['psql'] + median['ping'] + 0.2, 2.0)
        for method, label in METHODS:
            verdict = '-' if method == 'psql' else ('met' if median[method] <= budget and not left[method] else 'NOT met')
            ok = ok and verdict != 'NOT met'
            print('%8d  %-40s %10.2f %12d %10s' % (count, label, median[method], left[method], verdict))
        print('%8d  %-40s %10.2f %12s %10s' % (count, 'ansible -m ping (start-up only)', median['ping'], '-', '%.2f s' % budget))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
