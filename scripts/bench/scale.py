#!/usr/bin/env python3
"""The scale run (`scripts/bench.sh --scale`, not part of the quick or full run): N tenants
(SCALE_TENANTS, default 2000) on the one database server, each figure beside a baseline
measured in the same run. Writes .bench/scale.json and prints a Markdown summary.

  provisioning    N tenants through the control API, 4 at a time, tenants/min;
                  baseline: createdb + psql -f schema, 4 at a time
  disk            pg_database_size of every tenant database (median, total)
  list            GET /v1/tenants (pages, status=, q=) p99 with N rows;
                  baseline: the same requests with 1 row
  memory          app-api VmRSS before and after one request to each tenant (records cached)
  migrate         `control-api tenants migrate` with nothing pending (repeated);
                  baseline: psql over every database reading seaql_migrations, 4 at a time;
                  (and once with SCALE_BEFORE_CONTROL_API, an earlier build, if set);
                  then with one pending migration (a copy of the workspace in /tmp with one
                  extra tenant migration, built for the run, never shipped, deleted after);
                  baseline: psql running the same ALTER TABLE over every database

Every database, role and Redis key it makes carries the run prefix and is dropped at the
end, also when a figure fails or the run is interrupted (SIGINT, SIGTERM, SIGHUP)."""

import concurrent.futures as cf
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import rig as rigmod
from common import OUT_DIR, ROOT, Http, Pg, log, med, pct
from figures_tenants import bare_createdb, summary
from measure import machine
from rig import Rig

GIB = 1024 ** 3
SPARE_GIB = 10
PER_DB_GUESS = 10 * 1024 ** 2
EXTRA_MIGRATION = "m20991231_000001_scale_bench_column"
EXTRA_SQL = "ALTER TABLE users ADD COLUMN IF NOT EXISTS scale_bench integer NOT NULL DEFAULT 0"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def bare_loop(rig, dbs, sql):
    """psql -c SQL over every database, 4 at a time: seconds of wall time."""
    def one(db):
        subprocess.run(["psql", *rig.pg.args(db), "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       env=rig.pg.env, check=True, capture_output=True)
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(4) as pool:
        list(pool.map(one, dbs))
    return time.perf_counter() - t0


def timed_requests(port, auth, path, count):
    client = Http(port)
    client.request("GET", path, headers=auth)  # connection and first-use work not timed
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        status, body = client.request("GET", path, headers=auth)
        times.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body}")
    return {"p50": med(times), "p99": pct(times, 99), "n": count,
            "total": body.get("total") if isinstance(body, dict) else None}


LIST_PATHS = {
    "first page": "/v1/tenants?per_page=100",
    "last page": "/v1/tenants?per_page=100&page={last}",
    "status=active": "/v1/tenants?status=active&per_page=100",
    "status=suspended": "/v1/tenants?status=suspended&per_page=100",
    "q=": "/v1/tenants?q=t-00042&per_page=100",
}


def list_figure(rig, port, rows):
    last = max(1, (rows + 99) // 100)
    return {name: timed_requests(port, rig.auth, path.format(last=last), 200)
            for name, path in LIST_PATHS.items()}


def migrate(rig, binary):
    """One `control-api tenants migrate`: wall seconds and its summary line."""
    t0 = time.perf_counter()
    out = subprocess.run([binary, "tenants", "migrate"], env=rig.env, capture_output=True,
                         text=True)
    wall = time.perf_counter() - t0
    lines = out.stdout.strip().splitlines()
    summary_line = lines[-1] if lines else out.stderr.strip()[-300:]
    m = re.match(r"(\d+) tenants\b[^:]*: (\d+) migrated .* (\d+) failed", summary_line)
    if not m:
        raise RuntimeError(f"tenants migrate: {summary_line}")
    return {"wall": wall, "tenants": int(m[1]), "migrated": int(m[2]), "failed": int(m[3]),
            "summary": summary_line}


def build_extra_binary(rig, workdir):
    """control-api from a copy of the workspace with one extra tenant migration; the copy
    shares this target dir (dependencies already compiled), and the workspace's own
    binary is linked back in place afterwards."""
    log("building control-api with one extra tenant migration (a copy of the workspace in /tmp)")
    ws = os.path.join(workdir, "ws")
    shutil.copytree(ROOT, ws, ignore=shutil.ignore_patterns("target", ".git", ".bench"))
    src = os.path.join(ws, "migrations-tenant", "src")
    with open(os.path.join(src, f"{EXTRA_MIGRATION}.rs"), "w") as f:
        f.write(f"""use sea_orm_migration::prelude::*;
#[derive(DeriveMigrationName)]
pub struct Migration;
#[async_trait::async_trait]
impl MigrationTrait for Migration {{
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {{
        manager.get_connection().execute_unprepared("{EXTRA_SQL}").await?;
        Ok(())
    }}
}}
""")
    lib = os.path.join(src, "lib.rs")
    with open(lib) as f:
        text = f.read()
    text = text.replace("pub struct Migrator;", f"mod {EXTRA_MIGRATION};\npub struct Migrator;")
    text = re.sub(r"(Box::new\(m\d+_\d+_\w+::Migration\),\n)(\s*\]\n)",
                  rf"\1            Box::new({EXTRA_MIGRATION}::Migration),\n\2", text, count=1)
    if EXTRA_MIGRATION + "::Migration" not in text:
        raise RuntimeError("could not add the extra migration to migrations-tenant/src/lib.rs")
    with open(lib, "w") as f:
        f.write(text)
    env = {**os.environ, "CARGO_TARGET_DIR": rig.target}
    try:
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "control-api"], cwd=ws,
                       env=env, check=True)
        binary = os.path.join(workdir, "control-api-extra")
        shutil.copy2(os.path.join(rig.bin, "control-api"), binary)
    finally:
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "control-api"],
                       cwd=ROOT, env=env, check=True)
        shutil.rmtree(ws, ignore_errors=True)
    return binary


def check_disk(pg, n):
    datadir = pg.sql("SHOW data_directory")
    free = shutil.disk_usage(datadir).free
    need = n * PER_DB_GUESS + SPARE_GIB * GIB
    if free < need:
        raise SystemExit(f"{n} tenants need about {n * PER_DB_GUESS / GIB:.0f} GiB and "
                         f"{SPARE_GIB} GiB must stay free; {free / GIB:.0f} GiB free under "
                         f"{datadir}: lower SCALE_TENANTS")
    return free


def run(rig, n, workdir):
    res = rig.results
    res["free_before_gib"] = check_disk(rig.pg, n) / GIB
    extra = build_extra_binary(rig, workdir)
    rig.start_control()
    rig.control_login()
    # The one server holds every tenant of the run: its default capacity (1,000) would
    # refuse the rest with 409.
    rig.pg.sql(f"UPDATE db_servers SET capacity = greatest(capacity, {n}) WHERE name = 'default'",
               db=rig.control_db)

    secs, first = rig.provision("t-00000")
    rig.tenants.append(first)
    log("list with 1 row (baseline)")
    res["list_1"] = list_figure(rig, rigmod.CONTROL_PORT, 1)

    log(f"provisioning {n - 1} more tenants, 4 at a time")
    times, done = [secs], [0]

    def one(i):
        out = rig.provision(f"t-{i:05d}")
        done[0] += 1
        if done[0] % 100 == 0:
            log(f"  {done[0]} provisioned")
        return out
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(4) as pool:
        for s, t in pool.map(one, range(1, n)):
            times.append(s)
            rig.tenants.append(t)
    res["provision"] = summary(times[1:], time.perf_counter() - t0)

    schema = os.path.join(workdir, "tenant-schema.sql")
    with open(schema, "w") as f:
        subprocess.run(["pg_dump", *rig.pg.args(first["db"]), "-s", "--no-owner",
                        "--no-privileges"], env=rig.pg.env, check=True, stdout=f)
    nb = min(100, max(20, n // 20))
    log(f"baseline: createdb + psql -f schema, {nb} databases 4 at a time")
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(4) as pool:
        base = list(pool.map(lambda i: bare_createdb(rig, f"{rig.prefix}bare_{i}", schema),
                             range(nb)))
    res["provision_bare"] = summary(base, time.perf_counter() - t0)

    log("disk per tenant database")
    sizes = [int(x) for x in rig.pg.sql(
        "SELECT pg_database_size(datname) FROM pg_database "
        f"WHERE datname IN ({', '.join(repr(t['db']) for t in rig.tenants)})").split()]
    bare_sizes = [int(x) for x in rig.pg.sql(
        "SELECT pg_database_size(datname) FROM pg_database "
        f"WHERE datname LIKE '{rig.prefix}bare\\_%'").split()]
    res["disk"] = {"median": med(sizes), "min": min(sizes), "max": max(sizes),
                   "total": sum(sizes), "n": len(sizes), "bare_median": med(bare_sizes),
                   "free_now_gib": shutil.disk_usage(rig.pg.sql("SHOW data_directory")).free
                   / GIB}
    for i in range(nb):
        rig.pg.sql(f'DROP DATABASE IF EXISTS "{rig.prefix}bare_{i}"')

    log(f"list with {n} rows")
    res["list_n"] = list_figure(rig, rigmod.CONTROL_PORT, n)
    res["pg_max_connections"] = int(rig.pg.sql("SHOW max_connections"))
    rig.stop(rig.services[0])

    log(f"app-api memory with {n} tenant records cached")
    app = rig.start_app(TENANT_CACHE_TTL_MS=3_600_000)
    client = Http(rigmod.APP_PORT)
    for _ in range(50):
        client.request("GET", "/health")
    idle = app.rss_kib()
    statuses = {}
    for t in rig.tenants:
        status, _ = client.request("GET", "/v1/tickets", headers={"x-tenant-slug": t["slug"]})
        statuses[status] = statuses.get(status, 0) + 1
    cached = app.rss_kib()
    for t in rig.tenants:  # a second round: the records are cached, so nothing should grow
        client.request("GET", "/v1/tickets", headers={"x-tenant-slug": t["slug"]})
    again = app.rss_kib()
    res["memory"] = {"idle": idle, "cached": cached, "again": again, "statuses": statuses,
                     "pools": app.metrics().get("tenant_pools_active", 0)}
    rig.stop(app)

    dbs = [t["db"] for t in rig.tenants]
    check_sql = "SELECT version FROM seaql_migrations ORDER BY version"
    res["migrate_none"], res["migrate_none_bare"] = [], []
    for rep in range(3):
        log(f"tenants migrate, nothing pending, run {rep + 1} of 3 (and the psql loop)")
        res["migrate_none"].append(migrate(rig, os.path.join(rig.bin, "control-api")))
        res["migrate_none_bare"].append(bare_loop(rig, dbs, check_sql))

    before = os.environ.get("SCALE_BEFORE_CONTROL_API")
    if before:
        log(f"tenants migrate, nothing pending, with the build before the change ({before})")
        res["migrate_none_before"] = migrate(rig, before)

    log("tenants migrate with one pending migration (and the same ALTER TABLE by psql)")
    res["migrate_pending"] = migrate(rig, extra)
    res["migrate_pending_bare"] = bare_loop(
        rig, dbs, EXTRA_SQL.replace("scale_bench", "scale_bench_psql"))
    res["migrate_after"] = migrate(rig, extra)


def markdown(saved):
    r, n = saved["results"], saved["n"]
    p, b = r["provision"], r["provision_bare"]
    d = r["disk"]
    mib = 1024 ** 2
    out = [f"N = {n} tenants; {saved['machine']}; {saved['date']}; took {r['elapsed']:.0f} s.",
           "",
           "| figure | value | baseline | ratio |",
           "|---|---|---|---|",
           f"| provisioning, 4 at a time | {p['per_min']:.0f} tenants/min (p50 {p['p50']:.2f} s, "
           f"p99 {p['p99']:.2f} s) | createdb + psql -f schema: {b['per_min']:.0f}/min "
           f"({b['n']} dbs, p50 {b['p50']:.2f} s) | **{p['per_min'] / b['per_min']:.2f}** |",
           f"| disk per tenant database | median {d['median'] / mib:.1f} MiB "
           f"({d['min'] / mib:.1f}–{d['max'] / mib:.1f}), total {d['total'] / GIB:.2f} GiB | "
           f"createdb + schema: {d['bare_median'] / mib:.1f} MiB | "
           f"**{d['median'] / d['bare_median']:.2f}** |"]
    for name in LIST_PATHS:
        a, z = r["list_n"][name], r["list_1"][name]
        out.append(f"| `GET /v1/tenants` {name} (total {a['total']}) | p99 {a['p99']:.1f} ms "
                   f"(p50 {a['p50']:.1f}) | 1 row: p99 {z['p99']:.1f} ms (p50 {z['p50']:.1f}) | "
                   f"**{a['p99'] / z['p99']:.2f}** |")
    m = r["memory"]
    out.append(f"| app-api VmRSS with {n} records cached | {m['cached'] / 1024:.1f} MiB "
               f"(second round {m['again'] / 1024:.1f}); "
               f"{(m['cached'] - m['idle']) / n:.2f} KiB per tenant | "
               f"at rest: {m['idle'] / 1024:.1f} MiB | "
               f"**{m['cached'] / m['idle']:.2f}** |")
    walls = [x["wall"] for x in r["migrate_none"]]
    bare = r["migrate_none_bare"]
    out.append(f"| `tenants migrate`, nothing pending | {med(walls):.1f} s "
               f"({min(walls):.1f}–{max(walls):.1f}, 3 runs; "
               f"failed {sum(x['failed'] for x in r['migrate_none'])}) | psql version check "
               f"loop: {med(bare):.1f} s ({min(bare):.1f}–{max(bare):.1f}) | "
               f"**{med(walls) / med(bare):.2f}** |")
    if "migrate_none_before" in r:
        mb = r["migrate_none_before"]
        out.append(f"| `tenants migrate`, nothing pending, build before the change | "
                   f"{mb['wall']:.1f} s (failed {mb['failed']}) | this build: {med(walls):.1f} s | "
                   f"**{med(walls) / mb['wall']:.2f}** (this / before) |")
    mp = r["migrate_pending"]
    out.append(f"| `tenants migrate`, one pending migration | {mp['wall']:.1f} s, "
               f"{mp['tenants'] / mp['wall']:.0f} tenants/s, {mp['migrated']} migrated, "
               f"{mp['failed']} failed | psql ALTER TABLE loop: "
               f"{r['migrate_pending_bare']:.1f} s, "
               f"{n / r['migrate_pending_bare']:.0f}/s | "
               f"**{(mp['tenants'] / mp['wall']) / (n / r['migrate_pending_bare']):.2f}** |")
    ma = r["migrate_after"]
    out.append(f"| `tenants migrate` again, nothing pending | {ma['wall']:.1f} s "
               f"({ma['migrated']} migrated, {ma['failed']} failed) | | |")
    out += ["", f"Statuses of the memory round: {m['statuses']}."]
    return "\n".join(out)


def main():
    n = int(os.environ.get("SCALE_TENANTS", "2000"))
    pg = Pg(os.environ["PG_SUPERUSER_URL"])
    rig = Rig(False, pg, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    # Free ports, so the run can share the machine with the dev platform or another run.
    rigmod.CONTROL_PORT, rigmod.APP_PORT = free_port(), free_port()
    rig.env["CONTROL_API_ADDR"] = f"127.0.0.1:{rigmod.CONTROL_PORT}"
    rig.env["APP_API_ADDR"] = f"127.0.0.1:{rigmod.APP_PORT}"
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)
    os.makedirs(OUT_DIR, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="scale-bench-", dir="/tmp")
    log(f"scale run: {n} tenants, prefix {rig.prefix}, ports {rigmod.CONTROL_PORT}/"
        f"{rigmod.APP_PORT}")
    started = time.time()
    try:
        run(rig, n, workdir)
        rig.results["elapsed"] = time.time() - started
        saved = {"n": n, "date": datetime.date.today().isoformat(), "machine": machine(pg),
                 "results": rig.results}
        # Saved before the cleanup, which can take long and be interrupted.
        with open(os.path.join(OUT_DIR, "scale.json"), "w") as f:
            json.dump(saved, f, indent=1)
    except BaseException:
        # What was measured before the failure, so a long run is not all lost.
        with open(os.path.join(OUT_DIR, "scale.partial.json"), "w") as f:
            json.dump(rig.results, f, indent=1)
        raise
    finally:
        rig.stop_all()
        if os.environ.get("SCALE_THROWAWAY_CLUSTER") == "1":
            log("dropping the run's Redis keys (bench.sh removes the throwaway cluster)")
            rig.clean(only_own=True, databases=False)
        else:
            log("dropping every database, role and Redis key of the run")
            rig.clean(only_own=True)
        shutil.rmtree(workdir, ignore_errors=True)
    text = markdown(saved)
    with open(os.path.join(OUT_DIR, "scale.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    log(f"done in {rig.results['elapsed']:.0f} s; wrote .bench/scale.json and .bench/scale.md")


if __name__ == "__main__":
    sys.exit(main())
