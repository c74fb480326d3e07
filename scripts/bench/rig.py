"""The platform under test for one benchmark run: a random run prefix, the environment of
both services, starting and stopping them, provisioning and preparing tenants, and dropping
everything the run created (databases, roles, Redis keys) at the end."""

import base64
import concurrent.futures as cf
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.parse

from common import APP_PORT, CONTROL_PORT, ROOT, Service, call, log

LEFTOVER = re.compile(r"^bench[0-9a-f]{4}_")


def b64(nbytes):
    return base64.b64encode(secrets.token_bytes(nbytes)).decode()


class Rig:
    def __init__(self, quick, pg, redis_url):
        self.quick = quick
        self.pg = pg
        self.redis_url = redis_url
        self.run_id = secrets.token_hex(2)
        self.prefix = f"bench{self.run_id}_"
        self.control_db = f"{self.prefix}control"
        self.redis_prefix = f"bench-{self.run_id}"
        self.target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        self.bin = os.path.join(self.target, "release")
        self.services = []
        self.results = {}
        self.commands = {}
        # tenants: figure 3 (round-robin through half as many connections); zipf: figure 3b
        # (ten times as many tenants as connections).
        n = {True: dict(runs=3, secs=3, seq=10, par=12, base=10, tenants=100, zipf=100,
                        cold=50),
             False: dict(runs=5, secs=10, seq=50, par=50, base=30, tenants=200, zipf=1000,
                         cold=100)}
        self.n = n[quick]
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
            # One tenant takes thousands of requests a second here; the limiter still runs.
            "RATE_LIMIT_SCALE": "1000",
        }
        self.tenants = []  # dicts: slug, id, db, token, ticket

    # ---------------------------------------------------------------- set-up and clean-up

    def clean(self, only_own, databases=True):
        """Drops this run's databases, roles and keys (or every earlier bench run's)."""
        rows = self.pg.sql("SELECT datname FROM pg_database WHERE datname LIKE 'bench%'")
        for db in rows.splitlines() if databases else []:
            if (db.startswith(self.prefix) if only_own else LEFTOVER.match(db)):
                # The provisioner's migrated template cannot be dropped while it is one.
                self.pg.sql(f'ALTER DATABASE "{db}" WITH IS_TEMPLATE false')
                self.pg.sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        rows = self.pg.sql("SELECT rolname FROM pg_roles WHERE rolname LIKE 'bench%'")
        for role in rows.splitlines() if databases else []:
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

    def stop_all(self):
        for svc in list(self.services):
            self.stop(svc)

    def control_login(self):
        email, password = "bench@localhost.dev", secrets.token_urlsafe(18)
        subprocess.run([os.path.join(self.bin, "control-api"), "admin", "create", "--email", email,
                        "--password-stdin"], input=password, text=True, env=self.env, check=True,
                       capture_output=True)
        token = call(CONTROL_PORT, "POST", "/v1/auth/login",
                     {"email": email, "password": password}, expect=200)["access_token"]
        self.auth = {"authorization": f"Bearer {token}"}

    # ---------------------------------------------------------------- tenants

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

    def provision_rest(self):
        """Tops the tenant list up to the count figures 3, 4 and 6 need."""
        missing = max(self.n["tenants"], self.n["zipf"]) - len(self.tenants)
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
