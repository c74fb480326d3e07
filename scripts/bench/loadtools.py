"""The load generators and samplers a figure runs: wrk, pgbench, and a poller of
pg_stat_activity. Each returns plain numbers; nothing here knows about the report."""

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

from common import pct

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url, conns, secs, headers=None, script=None):
    """One wrk run: requests/s, p50 and p99 in ms, and errors (non-2xx plus socket errors)."""
    argv = ["wrk", "-t", str(min(2, conns)), "-c", str(conns), "-d", f"{secs}s", "--latency",
            "--timeout", "5s"]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    if script:
        argv += ["-s", script]
    argv.append(url)
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))

    def ms(v):
        m = re.match(r"([\d.]+)(\w+)", v)
        return float(m.group(1)) * UNIT[m.group(2)]

    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    return {"rps": rps, "p50": ms(lat["50"]), "p99": ms(lat["99"]), "errors": errors,
            "requests": requests}


def pgbench(pg, db, sql_file, conns, secs):
    """One pgbench run of a custom script, prepared statements: tps, p50 and p99 in ms."""
    logdir = tempfile.mkdtemp(prefix="pgbench-")
    try:
        argv = ["pgbench", "-n", "-M", "prepared", "-c", str(conns), "-j", "2", "-T", str(secs),
                "-f", sql_file, "-l", "--log-prefix", os.path.join(logdir, "tx"),
                "-h", pg.host, "-p", str(pg.port), "-U", pg.user, db]
        out = subprocess.run(argv, check=True, capture_output=True, text=True, env=pg.env).stdout
        tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
        lat = []
        for name in os.listdir(logdir):
            with open(os.path.join(logdir, name)) as f:
                lat += [int(line.split()[2]) / 1000 for line in f if line.strip()]
        return {"rps": tps, "p50": pct(lat, 50), "p99": pct(lat, 99), "errors": 0}
    finally:
        shutil.rmtree(logdir, ignore_errors=True)


def pgbench_connect(pg, jobs, secs):
    """The physical ceiling of a request that needs a new backend: one `pgbench -C` (a new
    connection per transaction) per job `(database, script)`, all at once, one client each.
    Total tps including the reconnections, and failed transactions."""
    procs = []
    for db, sql_file in jobs:
        argv = ["pgbench", "-n", "-C", "-M", "prepared", "-c", "1", "-j", "1", "-T", str(secs),
                "-f", sql_file, "-h", pg.host, "-p", str(pg.port), "-U", pg.user, db]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=pg.env))
    tps, failed = 0.0, 0
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"pgbench -C failed: {err.strip()}")
        tps += float(re.search(r"tps = ([\d.]+)", out).group(1))
        m = re.search(r"number of failed transactions: (\d+)", out)
        failed += int(m.group(1)) if m else 0
    return {"rps": tps, "errors": failed}


class ConnSampler(threading.Thread):
    """Polls pg_stat_activity for app-api's connections to this run's databases."""

    def __init__(self, pg, prefix):
        super().__init__(daemon=True)
        self.pg, self.prefix = pg, prefix
        self.peak, self.samples = 0, 0
        # Set while something else (a baseline) runs between the app's runs.
        self.paused = False
        self.halt = threading.Event()

    def run(self):
        query = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'app-api' "
                 f"AND datname LIKE '{self.prefix}%'")
        proc = subprocess.Popen(["psql", *self.pg.args("postgres"), "-Atq"], env=self.pg.env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        while not self.halt.is_set():
            if self.paused:
                time.sleep(0.02)
                continue
            proc.stdin.write(query + ";\n")
            proc.stdin.flush()
            n = int(proc.stdout.readline().strip())
            self.peak, self.samples = max(self.peak, n), self.samples + 1
            time.sleep(0.02)
        proc.stdin.close()
        proc.wait()

    def stop(self):
        self.halt.set()
        self.join()
