#!/usr/bin/env python3
"""Runs every benchmark figure against a release build on this machine's PostgreSQL and
Redis and writes docs/BENCHMARKS.md. Called by scripts/bench.sh, which builds the binaries
and installs the tools; see that script for usage.

Every figure is a ratio against a baseline taken in the same run. Everything this run
creates (a control database, tenant databases and roles, Redis keys) carries a random
run prefix and is dropped at the end, so it can run beside the dev platform or the tests.
"""

import argparse
import concurrent.futures as cf
import datetime
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, ".bench")
DOC = os.path.join(ROOT, "docs", "BENCHMARKS.md")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

CONTROL_PORT, APP_PORT = 3101, 3100
LEFTOVER = re.compile(r"^bench[0-9a-f]{4}_")


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


# --------------------------------------------------------------------------- PostgreSQL


class Pg:
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


# --------------------------------------------------------------------------- HTTP


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


# --------------------------------------------------------------------------- services


class Service:
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


# --------------------------------------------------------------------------- load tools


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url, conns, secs, headers=None, script=None):
    """One wrk run: requests/s, p50 and p99 in ms, and errors (non-2xx plus socket errors)."""
    argv = ["wrk", "-t", str(min(2, conns)), "-c", str(conns), "-d", f"{secs}s", "--latency", "--timeout", "5s"]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    if script:
        argv += ["-s", script]
    argv.append(url)
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
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
    return {"rps": rps, "p50": ms(lat["50"]), "p99": ms(lat["99"]), "errors": errors}


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


class ConnSampler(threading.Thread):
    """Polls pg_stat_activity for app-api's connections to this run's databases."""

    def __init__(self, pg, prefix):
        super().__init__(daemon=True)
        self.pg, self.prefix = pg, prefix
        self.peak, self.samples = 0, 0
        self.halt = threading.Event()

    def run(self):
        query = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'app-api' "
                 f"AND datname LIKE '{self.prefix}%'")
        proc = subprocess.Popen(["psql", *self.pg.args("postgres"), "-Atq"], env=self.pg.env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        while not self.halt.is_set():
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


# --------------------------------------------------------------------------- the run


class Bench:
    def __init__(self, args, pg, redis_url):
        self.quick = args.quick
        self.pg = pg
        self.redis_url = redis_url
        self.run_id = secrets.token_hex(2)
        self.prefix = f"bench{self.run_id}_"
        self.control_db = f"{self.prefix}control"
        self.redis_prefix = f"bench-{self.run_id}"
        self.bin = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                "release")
        self.services = []
        self.results = {}
        self.commands = {}
        n = {True: dict(runs=3, secs=3, seq=10, par=12, base=10, tenants=100, cold=50),
             False: dict(runs=5, secs=10, seq=50, par=50, base=30, tenants=200, cold=100)}
        self.n = n[self.quick]
        b64 = lambda k: __import__("base64").b64encode(secrets.token_bytes(k)).decode()  # noqa: E731
        self.env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
            "CONTROL_DATABASE_URL": f"{pg.base()}/{self.control_db}",
            "TENANT_DB_ADMIN_URL": f"{pg.base()}/postgres",
            "TENANT_DB_HOST": pg.host,
            "TENANT_DB_PORT": str(pg.port),
            "TENANT_DB_PREFIX": self.prefix,
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": self.redis_prefix,
            "MASTER_KEY": b64(32),
            "CONTROL_JWT_SECRET": b64(48),
            "APP_JWT_SECRET": b64(48),
            "CONTROL_API_ADDR": f"127.0.0.1:{CONTROL_PORT}",
            "APP_API_ADDR": f"127.0.0.1:{APP_PORT}",
            "CONTROL_TOKEN_TTL_SECS": "7200",
            "RUST_LOG": "warn",
        }
        self.tenants = []  # dicts: slug, id, db, token, ticket

    # ---------------------------------------------------------------- set-up and clean-up

    def clean(self, only_own):
        """Drops this run's databases, roles and keys (or every earlier bench run's)."""
        rows = self.pg.sql("SELECT datname FROM pg_database WHERE datname LIKE 'bench%'")
        for db in rows.splitlines():
            if (db.startswith(self.prefix) if only_own else LEFTOVER.match(db)):
                self.pg.sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        rows = self.pg.sql("SELECT rolname FROM pg_roles WHERE rolname LIKE 'bench%'")
        for role in rows.splitlines():
            if (role.startswith(self.prefix) if only_own else LEFTOVER.match(role)):
                self.pg.sql(f'DROP ROLE IF EXISTS "{role}"')
        if shutil.which("redis-cli"):
            pattern = f"{self.redis_prefix}*" if only_own else "bench-*"
            u = urllib.parse.urlparse(self.redis_url)
            cli = ["redis-cli", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 6379)]
            keys = subprocess.run(cli + ["--scan", "--pattern", pattern], capture_output=True,
                                  text=True).stdout.split()
            for i in range(0, len(keys), 500):
                subprocess.run(cli + ["del", *keys[i:i + 500]], capture_output=True)
            # apalis-redis lists every queue's workers key in one global set, outside any prefix.
            queues = subprocess.run(cli + ["zrange", "core:apalis:queues:list", "0", "-1"],
                                    capture_output=True, text=True).stdout.split()
            ours = [q for q in queues if q.startswith(pattern.rstrip("*"))]
            if ours:
                subprocess.run(cli + ["zrem", "core:apalis:queues:list", *ours],
                               capture_output=True)

    def start_control(self):
        subprocess.run([os.path.join(self.bin, "control-api"), "migrate"], env=self.env,
                       check=True, capture_output=True)
        svc = Service("control-api", [os.path.join(self.bin, "control-api")], self.env,
                      CONTROL_PORT)
        self.services.append(svc)
        return svc

    def start_app(self, name="app-api", **overrides):
        env = {**self.env, **{k: str(v) for k, v in overrides.items()}}
        svc = Service(name, [os.path.join(self.bin, "app-api")], env, APP_PORT)
        self.services.append(svc)
        return svc

    def stop(self, svc):
        svc.stop()
        self.services.remove(svc)

    def control_login(self):
        email, password = "bench@localhost.dev", secrets.token_urlsafe(18)
        subprocess.run([os.path.join(self.bin, "control-api"), "admin", "create", "--email", email,
                        "--password-stdin"], input=password, text=True, env=self.env, check=True,
                       capture_output=True)
        token = call(CONTROL_PORT, "POST", "/v1/auth/login",
                     {"email": email, "password": password}, expect=200)["access_token"]
        self.auth = {"authorization": f"Bearer {token}"}

    # ---------------------------------------------------------------- figure 5: provisioning

    def provision(self, slug, plan="pro"):
        """Creates a tenant through the API and waits for `active`: seconds, and the tenant."""
        t0 = time.perf_counter()
        body = {"slug": slug, "name": slug.title(), "plan": plan,
                "admin_email": f"owner@{slug}.test", "admin_password": f"{slug}-owner-pw"}
        created = call(CONTROL_PORT, "POST", "/v1/tenants", body, self.auth, expect=202)
        deadline = t0 + 60
        while True:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{slug} not active after 60 s; see .bench/logs/control-api.log")
            t = call(CONTROL_PORT, "GET", f"/v1/tenants/{slug}", headers=self.auth, expect=200)
            if t["status"] == "active":
                break
            if t["status"] == "failed":
                raise RuntimeError(f"provisioning {slug} failed")
            time.sleep(0.01)
        elapsed = time.perf_counter() - t0
        return elapsed, {"slug": slug, "id": created["id"], "db": t["db_name"]}

    def bare_createdb(self, name, schema):
        t0 = time.perf_counter()
        subprocess.run(["createdb", "-h", self.pg.host, "-p", str(self.pg.port), "-U",
                        self.pg.user, name], env=self.pg.env, check=True)
        subprocess.run(["psql", *self.pg.args(name), "-q", "-v", "ON_ERROR_STOP=1", "-f", schema],
                       env=self.pg.env, check=True, capture_output=True)
        return time.perf_counter() - t0

    def figure_provisioning(self):
        n = self.n
        log(f"figure 5: provisioning {n['seq']} tenants one at a time, {n['par']} four at a time")
        seq = []
        t0 = time.perf_counter()
        for i in range(n["seq"]):
            secs, tenant = self.provision(f"seq-{i:03d}", plan="enterprise" if i == 0 else "pro")
            seq.append(secs)
            self.tenants.append(tenant)
        seq_wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(4) as pool:
            par = list(pool.map(self.provision, [f"par-{i:03d}" for i in range(n["par"])]))
        par_wall = time.perf_counter() - t0
        self.tenants += [t for _, t in par]
        par = [s for s, _ in par]

        # The baseline: the same schema, dumped from a provisioned tenant, applied with psql
        # to a database made with createdb.
        schema = os.path.join(OUT_DIR, "tenant-schema.sql")
        with open(schema, "w") as f:
            subprocess.run(["pg_dump", *self.pg.args(self.tenants[0]["db"]), "-s", "--no-owner",
                            "--no-privileges"], env=self.pg.env, check=True, stdout=f)
        log(f"figure 5: baseline, createdb + psql -f schema ({n['base']} sequential, 4 at a time)")
        t0 = time.perf_counter()
        base_seq = [self.bare_createdb(f"{self.prefix}base_s{i}", schema) for i in range(n["base"])]
        base_seq_wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(4) as pool:
            base_par = list(pool.map(lambda i: self.bare_createdb(f"{self.prefix}base_p{i}", schema),
                                     range(n["base"])))
        base_par_wall = time.perf_counter() - t0
        self.results["provisioning"] = {
            "api_seq": {"p50": med(seq), "p99": pct(seq, 99), "per_min": 60 * len(seq) / seq_wall,
                        "n": len(seq)},
            "api_par": {"p50": med(par), "p99": pct(par, 99), "per_min": 60 * len(par) / par_wall,
                        "n": len(par)},
            "base_seq": {"p50": med(base_seq), "p99": pct(base_seq, 99),
                         "per_min": 60 * len(base_seq) / base_seq_wall, "n": len(base_seq)},
            "base_par": {"p50": med(base_par), "p99": pct(base_par, 99),
                         "per_min": 60 * len(base_par) / base_par_wall, "n": len(base_par)},
        }
        self.commands["provisioning"] = [
            "POST /v1/tenants, then GET /v1/tenants/{slug} every 10 ms until `active`",
            "createdb -h 127.0.0.1 -U postgres NAME && psql -d NAME -v ON_ERROR_STOP=1 "
            "-f tenant-schema.sql   # schema: pg_dump -s of a provisioned tenant",
        ]

    def provision_rest(self):
        missing = self.n["tenants"] - len(self.tenants)
        if missing <= 0:
            return
        log(f"provisioning {missing} more tenants for figures 3, 4 and 6")
        with cf.ThreadPoolExecutor(4) as pool:
            done = list(pool.map(self.provision, [f"many-{i:03d}" for i in range(missing)]))
        self.tenants += [t for _, t in done]

    def prepare_tenants(self):
        """Logs in each tenant's admin and opens a ticket in each (hot tenant: 200 tickets)."""
        log(f"logging in {len(self.tenants)} tenant admins and opening tickets")
        app = self.start_app("app-api-setup")

        def prepare(t):
            h = {"x-tenant-slug": t["slug"]}
            login = call(APP_PORT, "POST", "/v1/auth/login",
                         {"email": f"owner@{t['slug']}.test", "password": f"{t['slug']}-owner-pw"},
                         h, expect=200)
            t["token"] = login["access_token"]
            h["authorization"] = f"Bearer {t['token']}"
            count = 200 if t is self.tenants[0] else 1
            for i in range(count):
                ticket = call(APP_PORT, "POST", "/v1/tickets",
                              {"title": f"Ticket {i}", "description": "Benchmark ticket " * 8,
                               "priority": "high"}, h, expect=201)
            t["ticket"] = ticket["id"]

        with cf.ThreadPoolExecutor(4) as pool:
            list(pool.map(prepare, self.tenants))
        self.stop(app)

    def headers(self, t):
        return {"x-tenant-slug": t["slug"], "authorization": f"Bearer {t['token']}"}

    # ---------------------------------------------------------------- figure 1: hot path

    def figure_hot_path(self):
        hot = self.tenants[0]
        n = self.n
        log(f"figure 1: hot path vs pgbench, {n['runs']} runs of {n['secs']} s per setting")
        app = self.start_app(POOL_MAX_PER_TENANT=10)
        url = f"http://127.0.0.1:{APP_PORT}/v1/tickets/{hot['ticket']}"
        wrk(url, 16, 1, self.headers(hot))  # warm-up: pool, caches, prepared statements
        select = os.path.join(OUT_DIR, "select.sql")
        with open(select, "w") as f:
            f.write("SELECT id, title, description, status, priority, requester_id, assignee_id, "
                    f"created_at, updated_at FROM tickets WHERE id = '{hot['ticket']}' "
                    "AND (NULL::uuid IS NULL OR requester_id = NULL::uuid);\n")
        runs = {(k, c): [] for k in ("app", "pgbench") for c in (16, 64)}
        single = []
        for _ in range(n["runs"]):
            for c in (16, 64):
                runs[("app", c)].append(wrk(url, c, n["secs"], self.headers(hot)))
                runs[("pgbench", c)].append(pgbench(self.pg, hot["db"], select, c, n["secs"]))
            single.append(wrk(url, 1, max(2, n["secs"] // 2), self.headers(hot)))
        self.stop(app)
        self.results["hot_path"] = {f"{k}_{c}": v for (k, c), v in runs.items()}
        self.results["single"] = single
        self.commands["hot_path"] = [
            f"wrk -t 2 -c {{16,64}} -d {n['secs']}s --latency -H 'x-tenant-slug: {hot['slug']}' "
            "-H 'authorization: Bearer …' http://127.0.0.1:3100/v1/tickets/{id}",
            f"pgbench -n -M prepared -c {{16,64}} -j 2 -T {n['secs']} -f select.sql -l "
            f"{hot['db']}   # select.sql: the app's SELECT for the same ticket",
            f"wrk -t 2 -c 1 -d {max(2, n['secs'] // 2)}s --latency …   # one connection, for figure 2",
        ]

    # ---------------------------------------------------------------- figure 2: criterion

    def figure_micro(self):
        log("figure 2: criterion micro-benchmarks of the tenancy layer")
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        times = ["--warm-up-time", "1", "--measurement-time", "2"] if self.quick else \
            ["--warm-up-time", "2", "--measurement-time", "5"]
        subprocess.run(["cargo", "bench", "--quiet", "-p", "app-api", "--bench", "tenancy", "--",
                        "--noplot", *times], cwd=ROOT, check=True, capture_output=True)
        micro = {}
        for name in ("slug_validation", "resolution_cache_hit", "pool_factory_hit",
                     "jwt_verification"):
            with open(os.path.join(target, "criterion", name, "new", "estimates.json")) as f:
                est = json.load(f)
            micro[name] = {"median": est["median"]["point_estimate"],
                           "lo": est["median"]["confidence_interval"]["lower_bound"],
                           "hi": est["median"]["confidence_interval"]["upper_bound"]}
        self.results["micro"] = micro
        self.commands["micro"] = [
            f"cargo bench -p app-api --bench tenancy -- --noplot {' '.join(times)}"]

    # ---------------------------------------------------------------- figure 3: many tenants

    def figure_many_tenants(self):
        # The figure asked for: more tenants than POOL_MAX_TENANTS. Beside it, the same load
        # over as many tenants as fit the cap, which separates the cost of pool churn from the
        # cost of spreading load over many databases.
        self.results["many"] = []
        self.results["many"].append(self.round_robin(self.tenants, "all"))
        self.results["many"].append(self.round_robin(self.tenants[:50], "fits"))
        self.commands["many"] = [
            f"POOL_MAX_TENANTS=50 POOL_MAX_TOTAL=100 app-api; wrk -t 2 -c 64 -d {self.n['secs']}s "
            "--latency -s round-robin.lua http://127.0.0.1:3100/",
            "psql: SELECT count(*) FROM pg_stat_activity WHERE application_name = 'app-api' "
            "AND datname LIKE 'bench…_%'   # every 20 ms during the runs",
        ]

    def round_robin(self, tenants, label):
        n = self.n
        count = len(tenants)
        log(f"figure 3: round-robin over {count} tenants, POOL_MAX_TENANTS=50, POOL_MAX_TOTAL=100")
        script = os.path.join(OUT_DIR, f"round-robin-{label}.lua")
        with open(script, "w") as f:
            f.write("local tenants = {\n")
            for t in tenants:
                f.write(f'  {{"{t["slug"]}", "Bearer {t["token"]}", "/v1/tickets/{t["ticket"]}"}},\n')
            f.write("}\nlocal n = #tenants\nlocal started = 0\n"
                    "function setup(thread)\n  thread:set('offset', started * 97)\n"
                    "  started = started + 1\nend\n"
                    "local i = 0\nfunction init(args) i = offset end\n"
                    "function request()\n  i = i % n + 1\n  local t = tenants[i]\n"
                    "  return wrk.format('GET', t[3], {['X-Tenant-Slug'] = t[1], "
                    "['Authorization'] = t[2]})\nend\n")
        app = self.start_app(POOL_MAX_TENANTS=50, POOL_MAX_TOTAL=100)
        runs = []
        sampler = ConnSampler(self.pg, self.prefix)
        sampler.start()
        before = app.metrics()
        for _ in range(n["runs"]):
            runs.append(wrk(f"http://127.0.0.1:{APP_PORT}/", 64, n["secs"], script=script))
        after = app.metrics()
        sampler.stop()
        self.stop(app)

        def delta(prefix):
            return sum(v for k, v in after.items() if k.startswith(prefix)) - \
                sum(v for k, v in before.items() if k.startswith(prefix))

        return {
            "label": label, "runs": runs, "tenants": count, "peak_connections": sampler.peak,
            "samples": sampler.samples, "pools_created": delta("tenant_pool_created_total"),
            "pools_evicted": delta("tenant_pool_evicted_total"),
            "evicted_by_reason": {k: after[k] - before.get(k, 0) for k in after
                                  if k.startswith("tenant_pool_evicted_total")},
            "limit_rejections": delta("tenant_pool_limit_rejections_total"),
        }

    # ---------------------------------------------------------------- figure 4: cold tenant

    def figure_cold(self):
        tenants = self.tenants[: self.n["cold"]]
        log(f"figure 4: first request to {len(tenants)} tenants with no pool, vs psql connect")
        app = self.start_app()
        client = Http(APP_PORT)
        client.request("GET", "/health")  # the TCP connection is not what we time
        cold, warm = [], []
        for t in tenants:
            path = f"/v1/tickets/{t['ticket']}"
            t0 = time.perf_counter()
            status, _ = client.request("GET", path, headers=self.headers(t))
            cold.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                raise RuntimeError(f"cold request to {t['slug']}: {status}")
            t0 = time.perf_counter()
            client.request("GET", path, headers=self.headers(t))
            warm.append((time.perf_counter() - t0) * 1000)
        created = app.metrics().get("tenant_pool_created_total", 0)
        self.stop(app)
        psql = []
        for t in tenants:
            t0 = time.perf_counter()
            subprocess.run(["psql", *self.pg.args(t["db"]), "-Atqc", "SELECT 1"], env=self.pg.env,
                           check=True, capture_output=True)
            psql.append((time.perf_counter() - t0) * 1000)
        self.results["cold"] = {"cold": cold, "warm": warm, "psql": psql, "pools": created}
        self.commands["cold"] = [
            "a fresh app-api; per tenant one GET /v1/tickets/{id} on a kept-alive connection, "
            "then a second one",
            "psql -h 127.0.0.1 -U postgres -d TENANT_DB -Atqc 'SELECT 1'   # per tenant",
        ]

    # ---------------------------------------------------------------- figure 6: memory

    def figure_memory(self):
        real = self.tenants[:100]
        ghosts = 1000 - len(real)
        log(f"figure 6: app-api memory with 1000 tenant records cached and {len(real)} pools open")
        # Records beyond the provisioned tenants: suspended tenants (no database), which the
        # directory caches exactly like active ones.
        self.pg.sql(
            "INSERT INTO tenants (id, slug, name, plan, status, db_name, db_role) "
            f"SELECT gen_random_uuid(), 'ghost-' || i, 'Ghost ' || i, 'pro', 'suspended', "
            f"'{self.prefix}ghost_' || i, '{self.prefix}ghost_' || i "
            f"FROM generate_series(1, {ghosts}) i", db=self.control_db)
        app = self.start_app(TENANT_CACHE_TTL_MS=600000, POOL_IDLE_SECS=3600)
        client = Http(APP_PORT)
        for _ in range(50):
            client.request("GET", "/health")
        idle = app.rss_kib()
        for i in range(1, ghosts + 1):
            status, _ = client.request("GET", "/v1/tickets", headers={"x-tenant-slug": f"ghost-{i}"})
            assert status == 403, status
        records = app.rss_kib()
        for t in real:
            status, _ = client.request("GET", f"/v1/tickets/{t['ticket']}", headers=self.headers(t))
            assert status == 200, status
        m = app.metrics()
        pools = app.rss_kib()
        self.stop(app)
        self.results["memory"] = {"idle": idle, "records": records, "pools": pools,
                                  "pools_open": m.get("tenant_pools_active", 0),
                                  "connections": m.get("tenant_pool_connections", 0),
                                  "ghosts": ghosts, "real": len(real)}
        self.commands["memory"] = [
            "VmRSS of app-api from /proc/PID/status: at rest; after one request to each of 1000 "
            "tenants (records cached); after one ticket read in each of 100 tenants (pools open)"]

    # ---------------------------------------------------------------- the whole run

    def run(self):
        os.makedirs(OUT_DIR, exist_ok=True)
        started = time.time()
        self.clean(only_own=False)
        try:
            self.figure_micro()
            self.start_control()
            self.control_login()
            self.figure_provisioning()
            self.provision_rest()
            self.prepare_tenants()
            # The control plane's work is done: stop it so it takes no CPU or connections.
            self.stop(self.services[0])
            self.figure_hot_path()
            self.figure_many_tenants()
            self.figure_cold()
            self.figure_memory()
        finally:
            for svc in list(self.services):
                self.stop(svc)
            self.clean(only_own=True)
        self.results["elapsed"] = time.time() - started
        with open(os.path.join(OUT_DIR, "results.json"), "w") as f:
            json.dump({"results": self.results, "commands": self.commands}, f, indent=1)
        write_doc(self)
        log(f"done in {self.results['elapsed']:.0f} s; wrote docs/BENCHMARKS.md")


# --------------------------------------------------------------------------- the report


def machine(pg):
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    version = pg.sql("SHOW server_version")
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip() or "?"
    return (f"{os.cpu_count()} cores ({cpu}), {mem} memory, PostgreSQL {version}, "
            f"Linux {platform.release()}, commit {rev}")


def fence(add, lines):
    add("```")
    add("\n".join(lines))
    add("```")
    add("")


def write_doc(b):
    r, c = b.results, b.commands
    L = []
    add = L.append
    mode = "quick" if b.quick else "full"
    add(f"_Generated by `scripts/bench.sh{' --quick' if b.quick else ''}` ({mode} mode) on "
        f"{datetime.date.today().isoformat()}; {machine(b.pg)}. Took {r['elapsed']:.0f} s._")
    add("")
    add("Medians over runs, spread = min–max over runs. Every ratio divides by a baseline "
        "measured in the same run.")
    add("")

    hp = r["hot_path"]
    add("### 1. Hot path vs. database ceiling")
    add("")
    add(f"`GET /v1/tickets/{{id}}` on one warm tenant vs. `pgbench` running the same SELECT "
        f"on the same database; {len(hp['app_16'])} runs each.")
    add("")
    add("| clients | app req/s | spread | app p50 ms | app p99 ms | pgbench tps | spread | "
        "pgbench p50 ms | pgbench p99 ms | app/pgbench | app errors |")
    add("|---|---|---|---|---|---|---|---|---|---|---|")
    for conns in (16, 64):
        a, p = hp[f"app_{conns}"], hp[f"pgbench_{conns}"]
        ar, pr = [x["rps"] for x in a], [x["rps"] for x in p]
        add(f"| {conns} | {med(ar):.0f} | {spread(ar)} | {med([x['p50'] for x in a]):.2f} | "
            f"{med([x['p99'] for x in a]):.2f} | {med(pr):.0f} | {spread(pr)} | "
            f"{med([x['p50'] for x in p]):.2f} | {med([x['p99'] for x in p]):.2f} | "
            f"**{med(ar) / med(pr):.2f}** | {sum(x['errors'] for x in a)} |")
    add("")
    fence(add, c["hot_path"])

    mi = r["micro"]
    single_p50 = med([x["p50"] for x in r["single"]]) * 1e6  # ns
    total = sum(v["median"] for v in mi.values())
    add("### 2. Tenancy layer cost")
    add("")
    add("criterion, in-process, no I/O. Share = the part's time over the p50 of a whole "
        f"request on one connection ({single_p50 / 1000:.0f} µs, wrk -c 1 in the same run).")
    add("")
    add("| part | ns/op (median) | 95% CI | share of one request |")
    add("|---|---|---|---|")
    for name, v in mi.items():
        add(f"| {name.replace('_', ' ')} | {v['median']:.0f} | {v['lo']:.0f}–{v['hi']:.0f} | "
            f"{100 * v['median'] / single_p50:.2f} % |")
    add(f"| **all four** | **{total:.0f}** | | **{100 * total / single_p50:.2f} %** |")
    add("")
    fence(add, c["micro"])

    hot64 = med([x["rps"] for x in hp["app_64"]])
    add("### 3. Many tenants")
    add("")
    add(f"The same request round-robin over {r['many'][0]['tenants']} tenants with "
        "`POOL_MAX_TENANTS=50`, `POOL_MAX_TOTAL=100`, 64 connections, "
        f"{len(r['many'][0]['runs'])} runs. The second row spreads the same load over only as "
        "many tenants as the pool cache holds.")
    add("")
    add("| tenants | req/s | spread | p50 ms | p99 ms | vs. figure 1 (64 clients) | errors | peak "
        "connections (cap 100) | pools created | pools evicted | budget rejections |")
    add("|---|---|---|---|---|---|---|---|---|---|---|")
    for many in r["many"]:
        mr = [x["rps"] for x in many["runs"]]
        add(f"| {many['tenants']} | {med(mr):.0f} | {spread(mr)} | "
            f"{med([x['p50'] for x in many['runs']]):.2f} | "
            f"{med([x['p99'] for x in many['runs']]):.2f} | **{med(mr) / hot64:.2f}** | "
            f"{sum(x['errors'] for x in many['runs'])} | {many['peak_connections']} "
            f"({many['samples']} samples) | {many['pools_created']:.0f} | "
            f"{many['pools_evicted']:.0f} | {many['limit_rejections']:.0f} |")
    add("")
    fence(add, c["many"])

    cold = r["cold"]
    add("### 4. Cold tenant")
    add("")
    add(f"First request to each of {len(cold['cold'])} tenants on a fresh app-api (directory "
        "miss, pool built, connection opened, user read, ticket read), against `psql` "
        "opening a connection to the same database and running `SELECT 1`.")
    add("")
    add("| | p50 ms | p99 ms |")
    add("|---|---|---|")
    add(f"| first request (no pool) | {med(cold['cold']):.2f} | {pct(cold['cold'], 99):.2f} |")
    add(f"| second request (warm) | {med(cold['warm']):.2f} | {pct(cold['warm'], 99):.2f} |")
    add(f"| psql connect + SELECT 1 | {med(cold['psql']):.2f} | {pct(cold['psql'], 99):.2f} |")
    add(f"| **first request / psql** | **{med(cold['cold']) / med(cold['psql']):.2f}** | "
        f"{pct(cold['cold'], 99) / pct(cold['psql'], 99):.2f} |")
    add("")
    fence(add, c["cold"])

    pv = r["provisioning"]
    add("### 5. Provisioning")
    add("")
    add("Through the API to `active` (role, database, REVOKE, migrations, seeded admin, "
        "bookkeeping), against a bare `createdb` plus the same schema applied with `psql`.")
    add("")
    add("| | tenants | tenants/min | p50 s | p99 s |")
    add("|---|---|---|---|---|")
    for key, label in (("api_seq", "API, one at a time"), ("api_par", "API, 4 at a time"),
                       ("base_seq", "createdb + psql, one at a time"),
                       ("base_par", "createdb + psql, 4 at a time")):
        v = pv[key]
        add(f"| {label} | {v['n']} | {v['per_min']:.0f} | {v['p50']:.3f} | {v['p99']:.3f} |")
    add(f"| **API / bare, p50 one at a time** | | | "
        f"**{pv['api_seq']['p50'] / pv['base_seq']['p50']:.2f}** | |")
    add(f"| **API / bare, tenants/min 4 at a time** | | "
        f"**{pv['api_par']['per_min'] / pv['base_par']['per_min']:.2f}** | | |")
    add("")
    fence(add, c["provisioning"])

    mem = r["memory"]
    add("### 6. Memory")
    add("")
    add("| app-api state | RSS MiB |")
    add("|---|---|")
    add(f"| at rest | {mem['idle'] / 1024:.1f} |")
    add(f"| {mem['ghosts']} tenant records cached (suspended tenants) | "
        f"{mem['records'] / 1024:.1f} |")
    add(f"| + {mem['real']} active tenants' records and pools open ({mem['pools_open']:.0f} pools, "
        f"{mem['connections']:.0f} connections) | {mem['pools'] / 1024:.1f} |")
    add(f"| per cached record | {(mem['records'] - mem['idle']) / mem['ghosts']:.2f} KiB |")
    add(f"| per active tenant (record, pool, one connection) | "
        f"{(mem['pools'] - mem['records']) / max(1, mem['real']):.1f} KiB |")
    add("")
    add("```")
    add("\n".join(c["memory"]))
    add("```")

    generated = "\n".join(L)
    os.makedirs(os.path.dirname(DOC), exist_ok=True)
    if os.path.exists(DOC):
        with open(DOC) as f:
            doc = f.read()
    else:
        doc = f"# Benchmarks\n\nRun `scripts/bench.sh` (or `--quick`).\n\n{BEGIN}\n{END}\n"
    if BEGIN not in doc:
        doc += f"\n{BEGIN}\n{END}\n"
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1] if END in rest else ""
    with open(DOC, "w") as f:
        f.write(f"{head}{BEGIN}\n{generated}\n{END}{tail}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter runs (under 3 minutes)")
    args = ap.parse_args()
    pg = Pg(os.environ["PG_SUPERUSER_URL"])
    Bench(args, pg, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")).run()


if __name__ == "__main__":
    main()
