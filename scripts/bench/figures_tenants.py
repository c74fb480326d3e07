"""Figures about tenants as units: 5 (provisioning against createdb + psql), 4 (the first
request to a tenant with no pool, against an in-process connect and the same SELECT) and 6
(app-api memory). Each stores raw numbers in rig.results and the commands it ran in
rig.commands."""

import concurrent.futures as cf
import os
import subprocess
import time

from common import APP_PORT, OUT_DIR, Http, log, med, pct


def bare_createdb(rig, name, schema):
    t0 = time.perf_counter()
    subprocess.run(["createdb", "-h", rig.pg.host, "-p", str(rig.pg.port), "-U",
                    rig.pg.user, name], env=rig.pg.env, check=True)
    subprocess.run(["psql", *rig.pg.args(name), "-q", "-v", "ON_ERROR_STOP=1", "-f", schema],
                   env=rig.pg.env, check=True, capture_output=True)
    return time.perf_counter() - t0


def summary(times, wall):
    return {"p50": med(times), "p99": pct(times, 99), "per_min": 60 * len(times) / wall,
            "n": len(times)}


def figure_provisioning(rig):
    n = rig.n
    log(f"figure 5: provisioning {n['seq']} tenants one at a time, {n['par']} four at a time")
    seq = []
    t0 = time.perf_counter()
    for i in range(n["seq"]):
        secs, tenant = rig.provision(f"seq-{i:03d}", plan="enterprise" if i == 0 else "pro")
        seq.append(secs)
        rig.tenants.append(tenant)
    seq_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(4) as pool:
        par = list(pool.map(rig.provision, [f"par-{i:03d}" for i in range(n["par"])]))
    par_wall = time.perf_counter() - t0
    rig.tenants += [t for _, t in par]
    par = [s for s, _ in par]

    # The baseline: the same schema, dumped from a provisioned tenant, applied with psql
    # to a database made with createdb.
    schema = os.path.join(OUT_DIR, "tenant-schema.sql")
    with open(schema, "w") as f:
        subprocess.run(["pg_dump", *rig.pg.args(rig.tenants[0]["db"]), "-s", "--no-owner",
                        "--no-privileges"], env=rig.pg.env, check=True, stdout=f)
    log(f"figure 5: baseline, createdb + psql -f schema ({n['base']} sequential, 4 at a time)")
    t0 = time.perf_counter()
    base_seq = [bare_createdb(rig, f"{rig.prefix}base_s{i}", schema) for i in range(n["base"])]
    base_seq_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(4) as pool:
        base_par = list(pool.map(lambda i: bare_createdb(rig, f"{rig.prefix}base_p{i}", schema),
                                 range(n["base"])))
    base_par_wall = time.perf_counter() - t0
    rig.results["provisioning"] = {
        "api_seq": summary(seq, seq_wall),
        "api_par": summary(par, par_wall),
        "base_seq": summary(base_seq, base_seq_wall),
        "base_par": summary(base_par, base_par_wall),
    }
    rig.commands["provisioning"] = [
        "POST /v1/tenants, then GET /v1/tenants/{slug} every 10 ms until `active`",
        "createdb -h 127.0.0.1 -U postgres NAME && psql -d NAME -v ON_ERROR_STOP=1 "
        "-f tenant-schema.sql   # schema: pg_dump -s of a provisioned tenant",
    ]


def figure_cold(rig):
    tenants = rig.tenants[: rig.n["cold"]]
    log(f"figure 4: first request to {len(tenants)} tenants with no pool, vs a bare connect")
    app = rig.start_app()
    client = Http(APP_PORT)
    client.request("GET", "/health")  # the TCP connection is not what we time
    cold, warm = [], []
    for t in tenants:
        path = f"/v1/tickets/{t['ticket']}"
        t0 = time.perf_counter()
        status, _ = client.request("GET", path, headers=rig.headers(t))
        cold.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise RuntimeError(f"cold request to {t['slug']}: {status}")
        t0 = time.perf_counter()
        client.request("GET", path, headers=rig.headers(t))
        warm.append((time.perf_counter() - t0) * 1000)
    created = app.metrics().get("tenant_pool_created_total", 0)
    rig.stop(app)
    # The baseline in-process: a tokio-postgres connect, prepare and the same SELECT.
    lines = "".join(f"{t['db']} {t['ticket']}\n" for t in tenants)
    out = subprocess.run([os.path.join(rig.bin, "examples", "cold_connect"), rig.pg.base()],
                         input=lines, env=rig.pg.env, check=True, capture_output=True,
                         text=True).stdout
    bare = [float(x) for x in out.split()]
    rig.results["cold"] = {"cold": cold, "warm": warm, "bare": bare, "pools": created}
    rig.commands["cold"] = [
        "a fresh app-api; per tenant one GET /v1/tickets/{id} on a kept-alive connection, "
        "then a second one",
        "target/release/examples/cold_connect SUPERUSER_URL < 'TENANT_DB TICKET' lines   "
        "# in-process: tokio-postgres connect, prepare, the same SELECT, per tenant",
    ]


def figure_memory(rig):
    real = rig.tenants[:100]
    ghosts = 1000 - len(real)
    log(f"figure 6: app-api memory with 1000 tenant records cached and {len(real)} pools open")
    # Records beyond the provisioned tenants: suspended tenants (no database), which the
    # directory caches exactly like active ones.
    rig.pg.sql(
        "INSERT INTO tenants (id, slug, name, plan, status, db_name, db_role) "
        f"SELECT gen_random_uuid(), 'ghost-' || i, 'Ghost ' || i, 'pro', 'suspended', "
        f"'{rig.prefix}ghost_' || i, '{rig.prefix}ghost_' || i "
        f"FROM generate_series(1, {ghosts}) i", db=rig.control_db)
    app = rig.start_app(TENANT_CACHE_TTL_MS=600000, POOL_IDLE_SECS=3600)
    client = Http(APP_PORT)
    for _ in range(50):
        client.request("GET", "/health")
    idle = app.rss_kib()
    for i in range(1, ghosts + 1):
        status, _ = client.request("GET", "/v1/tickets", headers={"x-tenant-slug": f"ghost-{i}"})
        assert status == 403, status
    records = app.rss_kib()
    for t in real:
        status, _ = client.request("GET", f"/v1/tickets/{t['ticket']}", headers=rig.headers(t))
        assert status == 200, status
    m = app.metrics()
    pools = app.rss_kib()
    rig.stop(app)
    rig.results["memory"] = {"idle": idle, "records": records, "pools": pools,
                             "pools_open": m.get("tenant_pools_active", 0),
                             "connections": m.get("tenant_pool_connections", 0),
                             "ghosts": ghosts, "real": len(real)}
    rig.commands["memory"] = [
        "VmRSS of app-api from /proc/PID/status: at rest; after one request to each of 1000 "
        "tenants (records cached); after one ticket read in each of 100 tenants (pools open)"]
