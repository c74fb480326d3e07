"""Shared pieces of the benchmark run: paths, logging, statistics, and thin clients for
PostgreSQL (psql), HTTP (keep-alive JSON) and the service processes under test."""

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, ".bench")
RESULTS = os.path.join(OUT_DIR, "results.json")
DOC = os.path.join(ROOT, "docs", "BENCHMARKS.md")

# Other ports when two runs share a machine (BENCH_CONTROL_PORT, BENCH_APP_PORT).
CONTROL_PORT = int(os.environ.get("BENCH_CONTROL_PORT", "3101"))
APP_PORT = int(os.environ.get("BENCH_APP_PORT", "3100"))

T0 = time.time()


def log(msg):
    print(f"\033[1;34m==>\033[0m [{time.time() - T0:5.0f} s] {msg}", file=sys.stderr, flush=True)


def pct(values, p):
    """The p-th percentile (nearest rank) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def med(values):
    return statistics.median(values)


def spread(values, fmt="{:.0f}"):
    return f"{fmt.format(min(values))}–{fmt.format(max(values))}"


class Pg:
    """A superuser connection described by URL; queries go through psql."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.url = url
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 5432
        self.user = urllib.parse.unquote(u.username or "postgres")
        self.password = urllib.parse.unquote(u.password) if u.password else None
        self.env = dict(os.environ)
        if self.password:
            self.env["PGPASSWORD"] = self.password

    def base(self):
        """The superuser URL without a database."""
        return self.url.rsplit("/", 1)[0]

    def args(self, db):
        return ["-h", self.host, "-p", str(self.port), "-U", self.user, "-d", db]

    def sql(self, query, db="postgres"):
        out = subprocess.run(
            ["psql", *self.args(db), "-Atq", "-v", "ON_ERROR_STOP=1", "-c", query],
            env=self.env, check=True, capture_output=True, text=True)
        return out.stdout.strip()


class Http:
    """A keep-alive JSON client, one per thread."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        hdrs = {"content-type": "application/json", **(headers or {})}
        data = json.dumps(body) if body is not None else None
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        payload = json.loads(raw) if raw and raw[:1] in b"[{" else raw
        return resp.status, payload


_local = threading.local()


def http_for(port):
    key = f"h{port}"
    if not hasattr(_local, key):
        setattr(_local, key, Http(port))
    return getattr(_local, key)


def call(port, method, path, body=None, headers=None, expect=None):
    status, payload = http_for(port).request(method, path, body, headers)
    if expect is not None and status != expect:
        raise RuntimeError(f"{method} {path}: {status} {payload}")
    return payload


class Service:
    """A service binary started for the run, healthy before the constructor returns."""

    def __init__(self, name, argv, env, port):
        self.name, self.port = name, port
        os.makedirs(os.path.join(OUT_DIR, "logs"), exist_ok=True)
        self.logfile = open(os.path.join(OUT_DIR, "logs", f"{name}.log"), "ab")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.logfile, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited at start-up; see .bench/logs/{name}.log")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not become healthy")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def metrics(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()
