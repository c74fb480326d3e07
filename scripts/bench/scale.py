#!/usr/bin/env python3
"""The scale run (`scripts/bench.sh --scale`, not part of the quick or full run): many
tenants on this one database server. Prints one JSON document and saves it to
.bench/scale.json:

- provisioning SCALE_TENANTS (default 2000) tenants through the API, 8 at a time:
  tenants/min, p50 and p99 to `active`;
- disk per tenant database (pg_database_size, mean and max);
- control API `GET /v1/tenants` pages and a status filter over that many rows: p50, p99;
- app-api memory with every tenant's record cached (one resolution per tenant);
- `control-api tenants migrate` over every tenant with nothing pending (target: under a
  minute), then with one real pending migration, from a control-api built for this run
  with an extra tenant migration (`ALTER TABLE tickets ADD COLUMN bench_probe`, never
  committed): tenants/s and failures.

Everything created carries the run prefix and is dropped at the end; the extra migration
is removed from the tree and control-api rebuilt without it, whatever fails.
"""

import concurrent.futures as cf
import json
import os
import re
import shutil
import statistics
import subprocess
import time

from common import APP_PORT, CONTROL_PORT, OUT_DIR, ROOT, Http, Pg, call, log, pct
from rig import Rig

PROBE = "m20991231_000001_bench_probe"
PROBE_RS = f"""use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {{
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {{
        m.get_connection()
            .execute_unprepared("ALTER TABLE tickets ADD COLUMN IF NOT EXISTS bench_probe boolean")
            .await
            .map(drop)
    }}
}}
"""


def timed_get(path, auth, n):
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        call(CONTROL_PORT, "GET", path(i), headers=auth, expect=200)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": statistics.median(times), "p99_ms": pct(times, 99), "n": n}


def migrate(rig, binary):
    t0 = time.perf_counter()
    out = subprocess.run([binary, "tenants", "migrate", "--concurrency", "8"], env=rig.env,
                         capture_output=True, text=True)
    secs = time.perf_counter() - t0
    summary = (out.stdout.strip().splitlines() or [""])[-1]
    m = re.search(r"(\d+) tenants: (\d+) migrated .* (\d+) failed", out.stdout + out.stderr)
    total, changed, failed = (int(x) for x in m.groups()) if m else (0, 0, -1)
    return {"secs": secs, "tenants": total, "migrated": changed, "failed": failed,
            "tenants_per_s": total / secs if secs else 0, "summary": summary}


def build_with_probe(rig):
    """A control-api with one extra tenant migration, copied aside; the tree is restored."""
    src = os.path.join(ROOT, "migrations-tenant", "src")
    lib = os.path.join(src, "lib.rs")
    with open(lib) as f:
        original = f.read()
    probe_file = os.path.join(src, f"{PROBE}.rs")
    try:
        with open(probe_file, "w") as f:
            f.write(PROBE_RS)
        patched = original.replace("mod m20261123_000001_create_users;",
                                   f"mod {PROBE};\nmod m20261123_000001_create_users;", 1)
        patched = re.sub(r"(\n\s*)\]\n(\s*)\}\n\}", rf"\1    Box::new({PROBE}::Migration),\1]\n\2}}\n}}",
                         patched, count=1)
        with open(lib, "w") as f:
            f.write(patched)
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "control-api"], cwd=ROOT,
                       check=True)
        dest = os.path.join(OUT_DIR, "control-api-probe")
        shutil.copy(os.path.join(rig.bin, "control-api"), dest)
        return dest
    finally:
        with open(lib, "w") as f:
            f.write(original)
        if os.path.exists(probe_file):
            os.remove(probe_file)
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "control-api"], cwd=ROOT,
                       check=True)


def main():
    count = int(os.environ.get("SCALE_TENANTS", "2000"))
    pg = Pg(os.environ["PG_SUPERUSER_URL"])
    rig = Rig(False, pg, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    os.makedirs(OUT_DIR, exist_ok=True)
    probe = build_with_probe(rig)
    out = {"tenants": count}
    try:
        rig.start_control()
        rig.control_login()
        log(f"scale: provisioning {count} tenants, 8 at a time")
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(8) as pool:
            done = list(pool.map(lambda i: rig.provision(f"scale-{i:05d}"), range(count)))
        wall = time.perf_counter() - t0
        secs = [s for s, _ in done]
        out["provisioning"] = {"per_min": 60 * count / wall, "p50_s": statistics.median(secs),
                               "p99_s": pct(secs, 99), "wall_s": wall}
        sizes = [int(x) for x in pg.sql(
            "SELECT pg_database_size(datname) FROM pg_database "
            f"WHERE datname LIKE '{rig.prefix}scale%'").split()]
        out["disk"] = {"mean_mib": statistics.mean(sizes) / 2**20, "max_mib": max(sizes) / 2**20,
                       "databases": len(sizes)}
        log("scale: control API list and filter")
        pages = max(1, count // 100)
        out["list"] = timed_get(lambda i: f"/v1/tenants?page={i % pages + 1}&per_page=100",
                                rig.auth, 200)
        out["filter"] = timed_get(
            lambda i: f"/v1/tenants?status=active&page={i % pages + 1}&per_page=100", rig.auth,
            200)
        log("scale: tenants migrate, nothing pending")
        out["migrate_noop"] = migrate(rig, os.path.join(rig.bin, "control-api"))
        log("scale: tenants migrate, one pending migration")
        out["migrate_pending"] = migrate(rig, probe)
        rig.stop(rig.services[0])
        log("scale: app-api memory with every record cached")
        app = rig.start_app(TENANT_CACHE_TTL_MS=3600000)
        client = Http(APP_PORT)
        for _ in range(20):
            client.request("GET", "/health")
        idle = app.rss_kib()
        for _, t in done:
            status, _ = client.request("GET", "/v1/tickets", headers={"x-tenant-slug": t["slug"]})
            assert status == 401, status
        cached = app.rss_kib()
        out["memory"] = {"idle_mib": idle / 1024, "cached_mib": cached / 1024,
                         "per_record_kib": (cached - idle) / count}
    finally:
        rig.stop_all()
        rig.clean(only_own=True)
    with open(os.path.join(OUT_DIR, "scale.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
